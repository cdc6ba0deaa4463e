"""Who may record results: the police side of the case ledger. The figures are read in
``stats.results`` (the statistics page shows them; the bulletin reads them from there)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from fanzha.org.models import Unit
from fanzha.org.scope import Cap, in_scope

from .. import queries
from ..models import Case


def can_record(user: Any, unit: Unit) -> bool:
    """Results are the police side's work on the case ledger (acknowledge, file, investigate, close):
    ``Cap.CASE_POLICE`` at the unit, which the police roles hold and school or bank roles do not."""
    return in_scope(user, unit, Cap.CASE_POLICE)


def police_cases(user: Any) -> QuerySet[Case]:
    """Cases the user may act on as the police (a gang is linked to these only)."""
    return queries.cases_for(user, Cap.CASE_POLICE)
