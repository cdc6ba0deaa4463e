"""Personal sign-in codes: issue one, issue a class's, revoke, and check a typed one.

Why: a member used to sign in on the phone pages (class link, activity check-in) with their number
and the last four digits of their phone, and every masked phone on staff pages, exports and API
answers shows exactly those digits, so anyone with read access could act as any student. A member
now proves who they are with a secret of their own: ten digits (10^10 codes; the phone's number
pad, nothing to confuse such as O/0 or l/1), given once by their counsellor on a page or a printed
slip. Only a salted keyed hash is kept (``SignInCode``); the code is never stored, logged, audited
or shown again. Issuing again replaces it (the old one stops working at once).

Guessing is limited in the store that every worker shares (``core.ratelimit``): 5 failures per
typed number and 10 per address in 10 minutes (the pages count these, ``member_buckets``), and a
person whose code was missed 5 times is locked for 15 minutes (``check_code``), whichever page the
tries come from. Who may issue is decided by the caller (``org.scope``, ``Cap.EDIT_PEOPLE``).
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core import crypto, ratelimit
from fanzha.core.models import AuditRecord

from ..models import Membership, Person, PersonKind, SignInCode, Unit, User

CODE_LENGTH = 10
GROUP = 5  # shown as two groups of five: "48213 90576"
MAX_BATCH = 300  # slips for more people at once: print class by class

WINDOW = 600  # seconds
NUMBER_LIMIT = ratelimit.Limit("member-number", 5, WINDOW)
ADDRESS_LIMIT = ratelimit.Limit("member-address", 10, WINDOW)
PERSON_LIMIT = ratelimit.Limit("member-person", 5, 900)


class Check(StrEnum):
    """What a typed code proved: the person, nothing, or nothing because the person is locked."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class IssuedCode:
    """A code just issued: for the page or slip that shows it once; nothing else keeps it."""

    person: Person
    code: str

    @property
    def display(self) -> str:
        return f"{self.code[:GROUP]} {self.code[GROUP:]}"


def normalize(code: str) -> str:
    """The digits of a typed code: spaces and dashes dropped, full-width digits made plain."""
    text = unicodedata.normalize("NFKC", code or "")
    return "".join(ch for ch in text if ch not in " -\t")


def _hash(salt: str, person_pk: int, code: str) -> str:
    return crypto.keyed_hash(f"signin-code:{salt}:{person_pk}:{code}")


def _new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))


def may_have_code(person: Person) -> bool:
    """Whether the person signs in with a number and a code (parents sign in by phone and SMS)."""
    return person.is_active and person.kind != PersonKind.PARENT and bool(person.external_number)


def _refuse_unless_may(person: Person) -> None:
    if not person.is_active:
        raise ValidationError(_("%(name)s 不在册，不能发放登录码。") % {"name": person.name}, code="inactive")
    if person.kind == PersonKind.PARENT:
        raise ValidationError(_("家长用手机号和短信验证码登录，无需登录码。"), code="parent")
    if not person.external_number:
        raise ValidationError(
            _("%(name)s 没有学号/工号，请先填写学号/工号再发放登录码。") % {"name": person.name},
            code="no_number",
        )


def _expiry(now: datetime, valid_days: int | None) -> datetime | None:
    days = settings.FANZHA_MEMBER_CODE_DAYS if valid_days is None else valid_days
    return now + timedelta(days=days) if days and days > 0 else None


def _row(
    person: Person, code: str, actor: User | None, now: datetime, expires: datetime | None
) -> SignInCode:
    salt = secrets.token_hex(16)
    return SignInCode(
        person=person,
        salt=salt,
        code_hash=_hash(salt, person.pk, code),
        issued_at=now,
        issued_by=actor,
        expires_at=expires,
    )


def _audit(actor: User, action: str, people: list[Person], detail: str = "") -> None:
    AuditRecord.objects.bulk_create(
        [
            AuditRecord(actor=actor, action=action, object_type="person", object_id=str(p.pk), detail=detail)
            for p in people
        ]
    )


def _store(person: Person, code: str, actor: User, now: datetime, expires: datetime | None) -> IssuedCode:
    """Replace the person's code row (the old code stops working) and audit it, without the code."""
    row = _row(person, code, actor, now, expires)
    SignInCode.objects.update_or_create(
        person=person,
        defaults={f: getattr(row, f) for f in ("salt", "code_hash", "issued_at", "issued_by", "expires_at")},
    )
    _audit(actor, AuditRecord.Action.ISSUE_CODE, [person])
    return IssuedCode(person, code)


@transaction.atomic
def issue_code(
    person: Person, actor: User, valid_days: int | None = None, now: datetime | None = None
) -> IssuedCode:
    """Give ``person`` a new code (the old one stops working); returns it, to be shown once."""
    _refuse_unless_may(person)
    now = now or timezone.now()
    return _store(person, _new_code(), actor, now, _expiry(now, valid_days))


@transaction.atomic
def issue_chosen_code(person: Person, code: str, actor: User) -> IssuedCode:
    """Give ``person`` a code chosen in advance. For the demo world only, whose student's code is
    printed with the demo logins (a real code is always drawn at random by ``issue_code``)."""
    _refuse_unless_may(person)
    code = normalize(code)
    if len(code) != CODE_LENGTH or not code.isdigit():
        raise ValueError("a sign-in code is ten digits")
    return _store(person, code, actor, timezone.now(), None)


def class_students(unit: Unit) -> QuerySet[Person]:
    """The active students of ``unit`` (and below) who sign in by number, in number order."""
    in_unit = Membership.objects.filter(person=OuterRef("pk"), unit__path__startswith=unit.path)
    return (
        Person.objects.filter(
            Exists(in_unit), root__path=unit.root_path, kind=PersonKind.STUDENT, is_active=True
        )
        .exclude(external_number="")
        .order_by("external_number", "pk")
    )


def holds_code_q(now: datetime | None = None) -> Q:
    """People whose code is issued and not expired."""
    now = now or timezone.now()
    return Q(signin_code__isnull=False) & (
        Q(signin_code__expires_at__isnull=True) | Q(signin_code__expires_at__gt=now)
    )


@transaction.atomic
def issue_codes(
    unit: Unit,
    actor: User,
    only_missing: bool = False,
    valid_days: int | None = None,
    now: datetime | None = None,
) -> list[IssuedCode]:
    """A new code for every student of ``unit`` (only those without one, with ``only_missing``), for
    the slips; everyone's previous code stops working. Returns the codes once, in number order."""
    now = now or timezone.now()
    people = class_students(unit)
    if only_missing:
        people = people.exclude(holds_code_q(now))
    chosen = list(people[: MAX_BATCH + 1])
    if len(chosen) > MAX_BATCH:
        raise ValidationError(
            _("一次最多为 %(max)s 人打印登录码，请按班级分别打印。") % {"max": MAX_BATCH}, code="too_many"
        )
    expires = _expiry(now, valid_days)
    issued = [IssuedCode(p, _new_code()) for p in chosen]
    SignInCode.objects.filter(person__in=chosen).delete()
    SignInCode.objects.bulk_create([_row(i.person, i.code, actor, now, expires) for i in issued])
    _audit(actor, AuditRecord.Action.ISSUE_CODE, chosen, detail=f"unit:{unit.pk}")
    return issued


@transaction.atomic
def revoke_code(person: Person, actor: User) -> bool:
    """Withdraw the person's code (lost slip, left school); whether there was one."""
    removed = SignInCode.objects.filter(person=person).delete()[0] > 0
    if removed:
        _audit(actor, AuditRecord.Action.REVOKE_CODE, [person])
    return removed


def current_code(person: Person) -> SignInCode | None:
    """The person's code row (issued when, by whom, until when); never the code itself."""
    return SignInCode.objects.filter(person=person).select_related("issued_by").first()


# Checking a typed code -----------------------------------------------------------------------------


def number_bucket(root_path: str, number: str) -> ratelimit.Bucket:
    """The counter of a typed number (known or not) within an organisation, on every page."""
    return NUMBER_LIMIT.bucket(root_path, "n:" + number.strip())


def member_buckets(root_path: str, number: str, address: str) -> list[ratelimit.Bucket]:
    """The counters of one sign-in or check-in try: the typed number and the address. Pages check
    them first and count a failure in both."""
    return [number_bucket(root_path, number), ADDRESS_LIMIT.bucket(address)]


def check_code(person: Person | None, code: str, now: datetime | None = None) -> Check:
    """Whether ``code`` is ``person``'s current code; a miss counts towards the person's lock.

    Not atomic on purpose: the miss must be counted even when the caller's page then refuses, and
    ``person=None`` (an unknown number) costs the same hash as a known one.
    """
    now = now or timezone.now()
    typed = normalize(code)
    if person is None:
        _hash("-", 0, typed)
        return Check.WRONG
    bucket = PERSON_LIMIT.bucket(str(person.pk))
    missed = ratelimit.counts(bucket)[0]
    if missed >= PERSON_LIMIT.limit:
        return Check.LOCKED
    row = SignInCode.objects.filter(person=person).first()
    ok = (
        row is not None
        and (row.expires_at is None or row.expires_at > now)
        and len(typed) == CODE_LENGTH
        and typed.isdigit()
        and hmac.compare_digest(row.code_hash, _hash(row.salt, person.pk, typed))
    )
    if ok:
        if missed:
            ratelimit.reset(bucket)  # a success forgives earlier misses (no write when there were none)
        return Check.OK
    ratelimit.hit(bucket)
    return Check.WRONG
