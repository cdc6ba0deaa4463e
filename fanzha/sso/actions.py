"""The writes of single sign-on: matching an identity to a person's account (opening one for a
student or teacher), and the CAS tickets of single sign-out.

Why the rules (docs/deployment.md "Single sign-on"):
- The organisation is the one configured for the provider, never one the provider names: a CAS server
  of one university cannot sign anyone into another.
- The match is by the person's number, spelled as the password sign-in takes it (``org.auth``).
- A student or teacher (``FANZHA_SSO_ACCOUNT_KINDS``) with no account gets one at the first sign-in,
  with no usable password: the school's sign-in vouches for them, and they have no role, so the account
  shows them only their own record and tasks. Staff, police and bank staff are refused ("请联系管理员开通
  账号"): their accounts carry roles, which an administrator grants when opening them.
- A superuser never signs in through a provider: one compromised outside account must not open the
  Django admin.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from fanzha.org import actions as org_actions
from fanzha.org.auth import login_variants
from fanzha.org.models import Person, Unit, User

from .identity import Identity, Reason, Refusal
from .models import CasTicket, ExternalIdentity

log = logging.getLogger(__name__)


def _organisation(code: str) -> Unit:
    root = Unit.objects.filter(depth=1, code=code, is_active=True).first()
    if root is None:
        log.error("single sign-on: the configured organisation %r is not a root unit", code)
        raise Refusal("misconfigured", Reason.MISCONFIGURED, status=503)
    return root


def _username(person: Person, root: Unit) -> str | None:
    """The usual ``<code>:<number>``, or ``<code>:p<pk>`` when an old account already holds it."""
    usual = f"{root.code}:{person.external_number or person.pk}"[:150]
    if not User.objects.filter(username=usual).exists():
        return None  # create_account's own default
    return f"{root.code}:p{person.pk}"[:150]


@transaction.atomic
def account_for(identity: Identity) -> User:
    """The account ``identity`` signs in as, opened now for a student or teacher who has none;
    ``Refusal`` (and nothing written) when the number names nobody of the organisation, a person no
    longer on the roll, a staff member with no account, or a deactivated or superuser account."""
    root = _organisation(identity.organisation)
    variants = login_variants(identity.number)
    if not variants:
        raise Refusal("no_number", Reason.NO_NUMBER)
    found = {
        p.external_number: p
        for p in Person.objects.select_for_update().filter(root=root, external_number__in=variants)
    }
    person = next((found[v] for v in variants if v in found), None)
    if person is None:
        raise Refusal("unknown", Reason.UNKNOWN, organisation=root.name, number=variants[0])
    if not person.is_active:
        raise Refusal("not_on_roll", Reason.NOT_ON_ROLL, number=person.external_number)
    opened = False
    if person.user_id:
        user = User.objects.get(pk=person.user_id)
        if not user.is_active:
            raise Refusal("disabled", Reason.DISABLED)
    elif person.kind in settings.FANZHA_SSO_ACCOUNT_KINDS:
        user = org_actions.create_account(person, None, username=_username(person, root))
        opened = True
    else:
        raise Refusal("no_account", Reason.NO_ACCOUNT)
    if user.is_superuser:
        raise Refusal("superuser", Reason.SUPERUSER)
    now = timezone.now()
    record, created = ExternalIdentity.objects.get_or_create(
        provider=identity.provider,
        subject=identity.subject[:255],
        defaults={"person": person, "user": user, "opened_account": opened, "last_at": now},
    )
    if not created:
        record.person, record.user, record.last_at = person, user, now
        record.opened_account = record.opened_account or opened
        record.save(update_fields=["person", "user", "last_at", "opened_account"])
    return user


@transaction.atomic
def remember_cas_ticket(ticket: str, session_key: str) -> None:
    """Keep the ticket a session began with, for the CAS server's single sign-out; drop rows older than
    any session can be."""
    oldest = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    CasTicket.objects.filter(created_at__lt=oldest).delete()
    CasTicket.objects.create(ticket=ticket[:255], session_key=session_key)


@transaction.atomic
def cas_single_sign_out(tickets: list[str]) -> int:
    """End the sessions begun with ``tickets`` (the CAS server's ``logoutRequest``); how many ended."""
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for row in CasTicket.objects.filter(ticket__in=[t for t in tickets if t]):
        store(session_key=row.session_key).delete()
        row.delete()
        ended += 1
    return ended
