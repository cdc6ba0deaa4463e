"""Every cast member against every operation of the case ledger, through the API and the pages.

Four cases: one in CS2301 (reported by its counsellor), one in the other school (by its
administrator), one at the county's police station (by its officer) and one in the county's middle
school M01 (by its class teacher), which lies in that station's jurisdiction (辖区) and in a bank
outlet's; each raised an alert. The
cast includes the county (``county_cast``): a role of every level. The rules, as for the organisation
grid: outside your subtree (or absent) → 404, and lists leave it out; visible but your role may not
change it → 403; a create whose unit you cannot see → 400, as for a unit that does not exist; no
token → 401 (API) or the sign-in page (pages). Every read and every refused write leaves the
database as it was.

Pages are looked up by url name when the test runs, so the matrix grows with the ledger's pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from fanzha.cases import actions
from fanzha.cases.models import (
    AccountabilityAction,
    Alert,
    AlertRecipient,
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    FollowUp,
    FollowUpSession,
    Indicator,
    TraceBack,
    Transfer,
)
from fanzha.core.models import AuditRecord
from fanzha.notify.models import Outbox
from fanzha.org import actions as org_actions
from fanzha.org.models import Jurisdiction, Role
from tests.api.conftest import API, client_for
from tests.api.conftest import snapshot as org_snapshot
from tests.cases.conftest import intake
from tests.cases.test_api import body
from tests.conftest import COUNTY_ROLES, Cast, make_staff

pytestmark = pytest.mark.django_db

WHO = [
    "school_admin",
    "college_admin",
    "counsellor",
    "police_liaison",
    "auditor",
    "student",
    "parent",
    "outsider",
    *COUNTY_ROLES,
]
# Who holds a case capability on CS2301 (all of the university: the school's roles; CS only: the
# college admin; the class: its counsellor).
INSIDE = {"school_admin", "college_admin", "counsellor", "police_liaison", "auditor", "security_officer"}
# No case capability anywhere: a dormitory's manager, a bank's branch and outlet.
NO_LEDGER = {"student", "parent", "dorm_manager", "branch_manager", "outlet_manager"}
# Who sees the police station's case: the police of the county (the liaison is granted there too).
AT_STATION = {"police_liaison", "police_admin", "police_officer"}
# Who may record a case somewhere, but not in CS2301: the outsider, the class teachers, the county police.
EDITS_ELSEWHERE = {"outsider", "class_teacher", "kg_teacher", "police_admin", "police_officer"}
# Who sees the M01 case: its class teacher (own tree) and, through the station's jurisdiction, the
# county's police. Nobody else: not the other station's grid, not the bank outlet M01 is assigned to
# (a bank holds no case capability; its side of a case is the freeze requests).
JURISDICTION = {"class_teacher", *AT_STATION}
MISSING = 987654


@dataclass
class World:
    cast: Cast
    inside: Case  # CS2301
    outside: Case  # the other school
    station: Case  # the county's police station
    school: Case  # M0701, in the station's jurisdiction

    @property
    def alert_in(self) -> Alert:
        return self.inside.alert

    @property
    def alert_out(self) -> Alert:
        return self.outside.alert

    @property
    def alert_station(self) -> Alert:
        return self.station.alert


@pytest.fixture
def world(county_cast) -> World:
    cast = county_cast
    inside = actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    outside = actions.report_case(intake(cast.oc01, cast.other_student), cast.outsider)
    station = actions.report_case(intake(cast.community), cast.police_officer)
    bureau_admin = make_staff(cast.county, "T1999", "教育局管理员", Role.BUREAU_ADMIN, cast.county)
    org_actions.assign_jurisdiction(cast.m01, cast.station, bureau_admin)
    org_actions.assign_jurisdiction(cast.m01, cast.outlet, bureau_admin)
    school = actions.report_case(intake(cast.m0701, cast.pupil), cast.class_teacher)
    assert Alert.objects.filter(case__in=[inside, outside, station, school]).count() == 4
    return World(cast, inside, outside, station, school)


def _rows(model: Any, *fields: str) -> list[tuple[Any, ...]]:
    return list(model.objects.order_by("pk").values_list("pk", *fields))


def snapshot() -> dict[str, Any]:
    """Every row of the ledger (and of the grid) that a request could touch."""
    return {
        **org_snapshot(),
        "cases": _rows(
            Case,
            "unit_id",
            "state",
            "outcome",
            "victim_name",
            "total_loss",
            "police_case_number",
            "frozen_amount",
            "recovered_amount",
            "updated_at",
            "closed_at",
        ),
        "indicators": _rows(Indicator, "case_id", "kind", "value_hash"),
        "transfers": _rows(Transfer, "case_id", "amount"),
        "attachments": _rows(Attachment, "case_id", "sha256"),
        "drafts": _rows(CaseDraft, "owner_id", "updated_at"),
        "events": _rows(CaseEvent, "case_id", "kind"),
        "alerts": _rows(Alert, "status", "tier", "acknowledged_at", "next_escalation_at", "resolved_at"),
        "recipients": _rows(AlertRecipient, "alert_id", "tier"),
        "followups": _rows(FollowUp, "case_id", "status", "next_date"),
        "sessions": _rows(FollowUpSession, "followup_id"),
        "tracebacks": _rows(TraceBack, "case_id", "generated_at", "lessons"),
        "accountability": _rows(AccountabilityAction, "case_id", "status"),
        "outbox": _rows(Outbox, "idempotency_key", "status"),
        "audit": _rows(AuditRecord, "action", "object_id"),
        "jurisdictions": _rows(Jurisdiction, "unit_id", "side", "authority_id"),
    }


# ---------------------------------------------------------------------------------------------- API

Request = tuple[str, str, dict[str, Any] | None]
FILE = {"police_case_number": "QS-2026-1", "state": "filed"}


def _body(unit: Any) -> dict[str, Any]:
    return body(unit)


# name → (request, {who: status}); "*" is everyone not listed.
API_OPERATIONS: dict[str, tuple[Callable[[World], Request], dict[str, int]]] = {
    "cases.list": (lambda w: ("get", f"{API}/cases/", None), {"*": 200}),
    "cases.retrieve.inside": (
        lambda w: ("get", f"{API}/cases/{w.inside.pk}/", None),
        {**dict.fromkeys(INSIDE, 200), "*": 404},
    ),
    "cases.retrieve.outside": (
        lambda w: ("get", f"{API}/cases/{w.outside.pk}/", None),
        {"outsider": 200, "*": 404},
    ),
    "cases.retrieve.missing": (lambda w: ("get", f"{API}/cases/{MISSING}/", None), {"*": 404}),
    "cases.events.inside": (
        lambda w: ("get", f"{API}/cases/{w.inside.pk}/events/", None),
        {**dict.fromkeys(INSIDE, 200), "*": 404},
    ),
    "cases.events.outside": (
        lambda w: ("get", f"{API}/cases/{w.outside.pk}/events/", None),
        {"outsider": 200, "*": 404},
    ),
    "cases.create.inside": (
        lambda w: ("post", f"{API}/cases/", _body(w.cast.cs2301)),
        {
            "school_admin": 201,
            "college_admin": 201,
            "counsellor": 201,
            "police_liaison": 201,
            "security_officer": 201,
            **dict.fromkeys(EDITS_ELSEWHERE, 400),
            "*": 403,
        },
    ),
    "cases.create.outside": (
        lambda w: ("post", f"{API}/cases/", _body(w.cast.oc01)),
        # the auditor, the student and the parent may record nowhere: 403 before the body is read
        {"outsider": 201, "auditor": 403, **dict.fromkeys(NO_LEDGER, 403), "*": 400},
    ),
    "cases.retrieve.station": (
        lambda w: ("get", f"{API}/cases/{w.station.pk}/", None),
        {**dict.fromkeys(AT_STATION, 200), "*": 404},
    ),
    "cases.create.station": (
        lambda w: ("post", f"{API}/cases/", _body(w.cast.community)),
        {**dict.fromkeys(AT_STATION, 201), "auditor": 403, **dict.fromkeys(NO_LEDGER, 403), "*": 400},
    ),
    "cases.transition.station": (
        lambda w: ("post", f"{API}/cases/{w.station.pk}/transition/", FILE),
        {**dict.fromkeys(AT_STATION, 200), "*": 404},
    ),
    "cases.transition.inside": (
        lambda w: ("post", f"{API}/cases/{w.inside.pk}/transition/", FILE),
        {"police_liaison": 200, **dict.fromkeys(INSIDE - {"police_liaison"}, 403), "*": 404},
    ),
    "cases.transition.outside": (
        lambda w: ("post", f"{API}/cases/{w.outside.pk}/transition/", FILE),
        {"outsider": 403, "*": 404},  # no police role in the other school
    ),
    "cases.update": (lambda w: ("patch", f"{API}/cases/{w.inside.pk}/", {"place": "x"}), {"*": 405}),
    "cases.delete": (lambda w: ("delete", f"{API}/cases/{w.inside.pk}/", None), {"*": 405}),
    "alerts.list": (lambda w: ("get", f"{API}/alerts/", None), {"*": 200}),
    "alerts.retrieve.inside": (
        lambda w: ("get", f"{API}/alerts/{w.alert_in.pk}/", None),
        {**dict.fromkeys(INSIDE, 200), "*": 404},
    ),
    "alerts.retrieve.outside": (
        lambda w: ("get", f"{API}/alerts/{w.alert_out.pk}/", None),
        {"outsider": 200, "*": 404},
    ),
    "alerts.acknowledge.inside": (
        lambda w: ("post", f"{API}/alerts/{w.alert_in.pk}/acknowledge/", {"note": ""}),
        {"police_liaison": 200, **dict.fromkeys(INSIDE - {"police_liaison"}, 403), "*": 404},
    ),
    "alerts.acknowledge.outside": (
        lambda w: ("post", f"{API}/alerts/{w.alert_out.pk}/acknowledge/", {}),
        {"outsider": 403, "*": 404},
    ),
    "alerts.acknowledge.station": (
        lambda w: ("post", f"{API}/alerts/{w.alert_station.pk}/acknowledge/", {"note": ""}),
        {**dict.fromkeys(AT_STATION, 200), "*": 404},
    ),
    "alerts.delete": (lambda w: ("delete", f"{API}/alerts/{w.alert_in.pk}/", None), {"*": 405}),
    # Jurisdiction: the station's police see and answer M01's case; its roster stays M01's own.
    "cases.retrieve.school": (
        lambda w: ("get", f"{API}/cases/{w.school.pk}/", None),
        {**dict.fromkeys(JURISDICTION, 200), "*": 404},
    ),
    "cases.transition.school": (
        lambda w: ("post", f"{API}/cases/{w.school.pk}/transition/", FILE),
        {**dict.fromkeys(AT_STATION, 200), "class_teacher": 403, "*": 404},
    ),
    "alerts.acknowledge.school": (
        lambda w: ("post", f"{API}/alerts/{w.school.alert.pk}/acknowledge/", {"note": ""}),
        {**dict.fromkeys(AT_STATION, 200), "class_teacher": 403, "*": 404},
    ),
    "people.retrieve.pupil": (
        lambda w: ("get", f"{API}/people/{w.cast.pupil.pk}/", None),
        {"class_teacher": 200, "*": 404},
    ),
    "units.retrieve.m0701": (
        lambda w: ("get", f"{API}/units/{w.cast.m0701.pk}/", None),
        {"class_teacher": 200, "*": 404},
    ),
}


def expected_api(operation: str, who: str) -> int:
    if who == "anonymous":
        return 401
    table = API_OPERATIONS[operation][1]
    return table.get(who, table["*"])


@pytest.mark.parametrize("who", [*WHO, "anonymous"])
@pytest.mark.parametrize("operation", list(API_OPERATIONS))
def test_api_matrix(world, operation, who):
    method, url, body = API_OPERATIONS[operation][0](world)
    client: APIClient = client_for(None if who == "anonymous" else world.cast.users()[who])
    before = snapshot()

    response = getattr(client, method)(url, body, format="json")

    expected = expected_api(operation, who)
    assert response.status_code == expected, response.content.decode()
    after = snapshot()
    if method == "get" or expected >= 400:
        assert after == before, "a read or a refused write changed the database"
    else:
        assert after != before, "an accepted write changed nothing"


def visible(who: str) -> set[str]:
    """The cases each cast member's lists hold."""
    seen = {"inside"} if who in INSIDE else {"outside"} if who == "outsider" else set()
    return (
        seen | ({"station"} if who in AT_STATION else set()) | ({"school"} if who in JURISDICTION else set())
    )


@pytest.mark.parametrize("who", WHO)
def test_api_lists_hold_exactly_the_scope(world, who):
    client = client_for(world.cast.users()[who])
    seen = visible(who)
    expected = {getattr(world, name).pk for name in seen}
    cases = client.get(f"{API}/cases/", {"page_size": 500}).json()["results"]
    assert {c["id"] for c in cases} == expected
    alerts = client.get(f"{API}/alerts/", {"page_size": 500}).json()["results"]
    assert {a["case"] for a in alerts} == expected
    # Filtering on a unit outside the scope finds nothing rather than revealing anything.
    other = world.cast.cs2301 if "outside" in seen else world.cast.oc01
    assert client.get(f"{API}/cases/", {"unit": other.pk}).json()["results"] == []


def test_outside_answers_exactly_like_missing(world):
    client = client_for(world.cast.school_admin)
    for path in (
        f"{API}/cases/{{}}/",
        f"{API}/cases/{{}}/events/",
        f"{API}/alerts/{{}}/",
    ):
        target = world.alert_out.pk if path.startswith(f"{API}/alerts") else world.outside.pk
        outside = client.get(path.format(target))
        missing = client.get(path.format(MISSING))
        assert outside.status_code == missing.status_code == 404
        assert outside.content == missing.content


# ---------------------------------------------------------------------------------------------- pages


@dataclass
class Page:
    """A page of the ledger: its url name, how to reach it, what it shows and who may see it."""

    name: str
    kwargs: Callable[[World], dict[str, Any]]
    target: str  # "inside", "outside" or "" for a list
    needs: str = "view"  # "view": every role with CASE_VIEW on the case; "other": a stricter right
    method: str = "get"
    data: Callable[[World], dict[str, Any]] | None = None
    writer: str = ""  # the one role whose write succeeds
    writers: frozenset[str] = frozenset()  # or these roles

    def url(self, w: World) -> str | None:
        try:
            return reverse(self.name, kwargs=self.kwargs(w))
        except NoReverseMatch:
            return None  # not built (yet): the matrix covers the pages that exist


def _pk(target: str, alert: bool = False) -> Callable[[World], dict[str, Any]]:
    def kwargs(w: World) -> dict[str, Any]:
        case = getattr(w, target)
        return {"pk": case.alert.pk if alert else case.pk}

    return kwargs


def _case_pk(target: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"case_pk": getattr(w, target).pk}


PAGES: list[Page] = [
    Page("case_list", lambda w: {}, ""),
    Page("alert_list", lambda w: {}, ""),
    Page("case_stats", lambda w: {}, ""),
    Page("followup_list", lambda w: {}, "", needs="other"),
    Page("accountability_list", lambda w: {}, "", needs="other"),
]
for _target in ("inside", "outside"):
    PAGES += [
        Page("case_detail", _pk(_target), _target),
        Page("case_timeline", _pk(_target), _target),
        Page("alert_detail", _pk(_target, alert=True), _target),
        Page("followup_detail", _case_pk(_target), _target, needs="other"),
        Page("traceback_detail", _case_pk(_target), _target, needs="other"),
        Page(
            "alert_ack",
            _pk(_target, alert=True),
            _target,
            method="post",
            data=lambda w: {"note": ""},
            writer="police_liaison",
        ),
        Page(
            "case_state",
            _pk(_target),
            _target,
            method="post",
            data=lambda w: {"to": "filed", "police_case_number": "QS-2026-9"},
            writer="police_liaison",
        ),
        Page("case_results", _pk(_target), _target),
        Page(
            "case_results",
            _pk(_target),
            _target,
            method="post",
            data=lambda w: {"kind": "cleared", "on": timezone.localdate().isoformat()},
            writer="police_liaison",
        ),
    ]


PAGES += [
    Page("case_detail", _pk("school"), "school"),
    Page("case_timeline", _pk("school"), "school"),
    Page("alert_detail", _pk("school", alert=True), "school"),
    Page(
        "alert_ack",
        _pk("school", alert=True),
        "school",
        method="post",
        data=lambda w: {"note": ""},
        writers=frozenset(AT_STATION),
    ),
    Page(
        "case_state",
        _pk("school"),
        "school",
        method="post",
        data=lambda w: {"to": "filed", "police_case_number": "QS-2026-9"},
        writers=frozenset(AT_STATION),
    ),
    # M01's roster: never through jurisdiction.
    Page("unit_detail", lambda w: {"pk": w.cast.m0701.pk}, "roster"),
    Page("person_detail", lambda w: {"pk": w.cast.pupil.pk}, "roster"),
]


def _page_id(page: Page) -> str:
    return f"{page.name}.{page.target or 'list'}"


def _sees(who: str, target: str) -> bool:
    return (
        (target == "inside" and who in INSIDE)
        or (target == "outside" and who == "outsider")
        or (target == "school" and who in JURISDICTION)
        or (target == "roster" and who == "class_teacher")
    )


@pytest.mark.parametrize("who", [*WHO, "anonymous"])
@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_matrix(world, page, who):
    url = page.url(world)
    if url is None:
        pytest.skip(f"no page named {page.name}")
    client = Client()
    if who != "anonymous":
        client.force_login(world.cast.users()[who])
    before = snapshot()

    data = page.data(world) if page.data else None
    response = (
        getattr(client, page.method)(url, data) if data is not None else getattr(client, page.method)(url)
    )
    status = response.status_code
    after = snapshot()

    if who == "anonymous":
        assert status == 302 and "/login" in response["Location"], status
        assert after == before
        return
    text = response.content.decode() if status == 200 else ""
    if not page.target:
        # A list: shown or refused, and never with a case from outside the caller's subtree.
        allowed = (200,) if page.needs == "view" and who not in NO_LEDGER else (200, 403, 404)
        assert status in allowed, status
        if who != "outsider":
            assert world.outside.number not in text
        if who not in INSIDE:
            assert world.inside.number not in text
        if who not in JURISDICTION:
            assert world.school.number not in text
        assert after == before, "a list page changed the database"
        return
    if not _sees(who, page.target):
        # Outside the subtree: missing. (No case right anywhere may be refused outright instead.)
        assert status in ((403, 404) if who in NO_LEDGER else (404,)), status
        assert after == before, "a refused request changed the database"
        return
    if page.method == "get":
        if page.needs == "view":
            assert status == 200, status
        else:  # counselling notes and trace-backs are for the roles that work on them
            assert status in (200, 403, 404), status
        assert after == before, "a page read changed the database"
        return
    if who == page.writer or who in page.writers:
        assert status in (200, 302), status
        assert after != before, "an accepted write changed nothing"
    else:
        assert status == 403, status
        assert after == before, "a refused write changed the database"


def test_the_matrix_covers_the_pages_that_exist(world):
    """At least the case page and the alert pages are there to test (another helper's pages may
    be missing while they are being written, but not all of them)."""
    built = {page.name for page in PAGES if page.url(world) is not None}
    assert {"case_list", "case_detail", "alert_list", "alert_detail"} <= built
