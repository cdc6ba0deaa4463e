"""The member's own report from the phone pages, with its daily limit.

Why a limit: a self-report pages the police and the school at once, and a member signs in without a
password, so one person (or whoever holds their sign-in) could page them again and again. One person
files at most ``FANZHA_SELF_REPORTS_PER_DAY`` (default 3) self-reports in 24 hours. They are counted
from the person's self-reported cases in the database, so the count survives restarts and every
worker sees it; the person's row is locked while counting, so two reports sent at once cannot both
slip under the limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.org.models import Person

from .. import actions, queries
from ..intake import CaseInput
from ..models import Case, ReportedVia

WINDOW = timedelta(hours=24)


def reports_left(person: Person, now: datetime | None = None) -> int:
    """How many more self-reports the person may file now (0: the page refuses calmly)."""
    now = now or timezone.now()
    filed = queries.self_reports_since(person, now - WINDOW).count()
    return max(settings.FANZHA_SELF_REPORTS_PER_DAY - filed, 0)


@transaction.atomic
def report_own_case(
    data: CaseInput, person: Person, submit_token: str = "", now: datetime | None = None
) -> Case:
    """``actions.report_case`` for the signed-in member, refused with ``code="too_many"`` beyond the
    daily limit. The same form sent twice returns the first case, never a refusal."""
    now = now or timezone.now()
    if submit_token:
        existing = Case.objects.filter(submit_token=submit_token, victim=person).first()
        if existing is not None:
            return existing
    Person.objects.select_for_update().filter(pk=person.pk).first()  # one report of a person at a time
    if reports_left(person, now) <= 0:
        raise ValidationError(_("你今天已经报告过多次，不能再在手机上提交新的报告。"), code="too_many")
    return actions.report_case(
        data, None, via=ReportedVia.SELF, reporter=person, submit_token=submit_token, now=now
    )
