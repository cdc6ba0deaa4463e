"""A tiny explicit registry of "something happened" calls between apps.

Why a registry and not an import: imports run one way (core → org → campaigns …), so the
unit tree in ``org`` must not import ``campaigns``, yet a class added to a university must
get the obligations of the campaigns already running there. ``org.actions`` calls
``units_added`` after its transaction commits; ``campaigns`` registers its handler in
``CampaignsConfig.ready()``. Why not Django signals: a handler here is named in one place and
called from one place, so a reader can follow it — nothing is hidden in model saves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Protocol

UnitsHandler = Callable[[Sequence[Any]], object]  # what a handler returns is ignored

_units_added: list[UnitsHandler] = []


def on_units_added(handler: UnitsHandler) -> UnitsHandler:
    """Register ``handler(units)`` to run after units are created or moved; registering twice is a no-op."""
    if handler not in _units_added:
        _units_added.append(handler)
    return handler


def units_added(units: Sequence[Any]) -> None:
    """Tell every registered handler that ``units`` (with their subtrees) appeared at a new place in the tree.

    Called by ``org.actions`` through ``transaction.on_commit``, so handlers see committed rows.
    """
    if not units:
        return
    for handler in list(_units_added):
        handler(units)


# The home page ------------------------------------------------------------------------------------
#
# Why here: the home page lives in ``org``, but its quick links lead into campaigns, activities and
# notifications, which ``org`` must not import. Each app registers one handler in its
# ``AppConfig.ready``; ``org.views.home`` calls ``home_items`` and draws what comes back.


@dataclass(frozen=True)
class HomeLink:
    """A quick link of the home page: a task, where it is done, and a line about it. ``common`` links
    (the few actions the role takes every week) are shown under 常用操作, the rest folded away."""

    order: int
    label: str
    url: str
    hint: str = ""
    common: bool = True


URGENT = "urgent"  # 紧急: late or about to be (an open alert, an overdue follow-up)
WEEK = "week"  # 本周到期: due within the next seven days


@dataclass(frozen=True)
class WorkItem:
    """A number on a role's workbench: how many things wait (``count``), the list that shows exactly
    those (``url``, its filter in the query string), how pressing they are (``level``: ``URGENT`` or
    ``WEEK``), and, when one of them has a deadline within the hour, that ``deadline`` (an aware
    datetime) for a live countdown. Why a count and a link, not rows: the home page must stay cheap
    for a province's administrator, and the list behind it already knows how to show the rows."""

    order: int
    label: str
    count: int
    url: str
    level: str = URGENT
    hint: str = ""
    deadline: Any = None
    script: str = ""  # the static script that keeps the countdown running (e.g. "cases/countdown.js")

    @property
    def deadline_iso(self) -> str:
        """The deadline as every browser parses it (UTC), for ``<time data-deadline>``."""
        if self.deadline is None:
            return ""
        return str(self.deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


@dataclass
class HomeItems:
    """What the handlers gave, each list in its ``order``."""

    links: list[HomeLink] = field(default_factory=list)
    panels: list[HomePanel] = field(default_factory=list)
    work: list[WorkItem] = field(default_factory=list)


@dataclass(frozen=True)
class HomePanel:
    """A section of the home page, drawn by ``template`` with ``context``."""

    order: int
    template: str
    context: dict[str, Any] = field(default_factory=dict)


HomeHandler = Callable[[Any, frozenset[str]], Iterable[HomeLink | HomePanel | WorkItem]]

_home: list[HomeHandler] = []


def on_home(handler: HomeHandler) -> HomeHandler:
    """Register ``handler(user, capabilities)``, which returns the user's links, panels and work items."""
    if handler not in _home:
        _home.append(handler)
    return handler


def home_items(user: Any, caps: Iterable[str]) -> HomeItems:
    """Every registered handler's links, panels and work items for ``user``, each list in its ``order``."""
    held = frozenset(str(c) for c in caps)
    found = HomeItems()
    for handler in list(_home):
        for item in handler(user, held):
            if isinstance(item, HomeLink):
                found.links.append(item)
            elif isinstance(item, WorkItem):
                found.work.append(item)
            else:
                found.panels.append(item)
    found.links.sort(key=lambda x: x.order)
    found.panels.sort(key=lambda x: x.order)
    found.work.sort(key=lambda x: x.order)
    return found


# Attestations -------------------------------------------------------------------------------------
#
# Why here: ``reports`` keeps pre-aggregated coverage counts (pledges signed, apps installed …) and
# must hear of every change of a person's attestation, but ``reach`` must not import ``reports``
# (imports run one way). ``reach.actions`` calls ``attestations_changed`` after its transaction
# commits; ``reports`` registers its handler in its ``AppConfig.ready``.

# (attestation id or None, campaign id, person id, item, counted before, counted after);
# "counted" means the status is declared or verified.
AttestationChange = tuple[int | None, int, int, str, bool, bool]
AttestationsHandler = Callable[[Sequence[AttestationChange]], object]

_attestations_changed: list[AttestationsHandler] = []


def on_attestations_changed(handler: AttestationsHandler) -> AttestationsHandler:
    """Register ``handler(changes)`` to run after attestations change; registering twice is a no-op."""
    if handler not in _attestations_changed:
        _attestations_changed.append(handler)
    return handler


def attestations_changed(changes: Sequence[AttestationChange]) -> None:
    """Tell every registered handler about committed attestation changes (see ``AttestationChange``).

    Called by ``reach.actions`` through ``transaction.on_commit``, so handlers see committed rows.
    """
    if not changes:
        return
    for handler in list(_attestations_changed):
        handler(changes)


# Messages from below notify -----------------------------------------------------------------------
#
# Why here: ``org.accounts`` sends invitations and password-reset codes by SMS and e-mail, but the
# outbox lives in ``notify``, which sits above ``org``. ``notify`` registers its postman in its
# ``AppConfig.ready``; ``org.accounts`` asks ``postman()`` for it. One postman, so one place sends.


@dataclass(frozen=True)
class Letter:
    """One message to one phone (``kind`` "sms") or e-mail address ("email"). ``key`` makes queueing
    it twice a no-op; a key that starts with ``otp:`` marks a secret (its SMS text is blanked once sent).
    An SMS names the approved template it is sent as (``sms_template``: "code" with ``code`` and
    ``minutes``, "account" with none) and its parameters; ``body`` is the text our pages show."""

    kind: str
    to: str
    subject: str
    body: str
    key: str
    link: str = ""
    sms_template: str = ""
    sms_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """Where a letter stands: ``state`` "pending", "sent", "failed" or "unsent", and ``text``, the
    state in words with its reason (e.g. "未发送：未配置短信网关"), as every page shows it."""

    state: str
    text: str


class Postman(Protocol):
    def queue(self, letter: Letter) -> None:
        """Queue the letter in the caller's transaction."""

    def send_now(self, keys: Sequence[str]) -> None:
        """Send the queued letters with these keys at once (outside any transaction)."""

    def status(self, keys: Sequence[str]) -> dict[str, Delivery]:
        """Where each letter stands, by key (letters never queued are absent)."""

    def sms_configured(self) -> bool:
        """Whether an SMS gateway is configured (without one, every SMS ends unsent)."""


_postman: list[Postman] = []


def set_postman(postman: Postman) -> None:
    """Register the postman (``notify``); a second registration replaces the first."""
    _postman[:] = [postman]


def postman() -> Postman:
    """The registered postman; none registered is a set-up error (``fanzha.notify`` not installed)."""
    if not _postman:
        raise RuntimeError("no postman registered: fanzha.notify must be installed")
    return _postman[0]


# An account's sign-ins ended ----------------------------------------------------------------------
#
# Why here: deactivating an account, or an administrator's password reset, must end everything that
# signs in as it, and API tokens live in ``api``, far above ``org``. ``org.accounts.actions`` calls
# ``sign_ins_ended`` inside its own transaction (so the end is atomic with the change); ``api``
# registers the handler that revokes the account's tokens.

SignInsHandler = Callable[[Any], object]

_sign_ins_ended: list[SignInsHandler] = []


def on_sign_ins_ended(handler: SignInsHandler) -> SignInsHandler:
    """Register ``handler(user)``; registering twice is a no-op."""
    if handler not in _sign_ins_ended:
        _sign_ins_ended.append(handler)
    return handler


def sign_ins_ended(user: Any) -> None:
    """Tell every registered handler that nothing issued to ``user`` may sign in any more."""
    for handler in list(_sign_ins_ended):
        handler(user)


# Measured obligations -----------------------------------------------------------------------------
#
# Why here: an obligation such as "every parent notice signed" is done only when the coverage figure
# reaches its target, and that figure lives in ``reach``, which sits above ``campaigns`` (imports run
# one way). ``campaigns.compliance`` calls ``measure``; ``reach`` registers its handler in its
# ``AppConfig.ready``. With no handler, nothing is measured and a measured obligation is never done.


@dataclass(frozen=True)
class Measured:
    """A unit's coverage figure on one item: people done, people concerned, and some who are missing."""

    done: int
    total: int
    missing: tuple[str, ...] = ()  # names of people still missing (at most the number asked for)

    @property
    def percent(self) -> int | None:
        return None if not self.total else (100 * self.done) // self.total

    def reaches(self, target: int) -> bool:
        """Whether the figure reaches ``target`` percent; a unit with nobody concerned reaches nothing."""
        return bool(self.total) and 100 * self.done >= target * self.total


# handler(campaign, item, units, missing_limit, user) -> {unit id: Measured}
MeasureHandler = Callable[[Any, str, Sequence[Any], int, Any], dict[int, Measured]]

_measure: list[MeasureHandler] = []


def on_measure(handler: MeasureHandler) -> MeasureHandler:
    """Register the provider of coverage figures; registering twice is a no-op."""
    if handler not in _measure:
        _measure.append(handler)
    return handler


def measure(
    campaign: Any, item: str, units: Sequence[Any], missing_limit: int = 0, user: Any = None
) -> dict[int, Measured]:
    """Each unit's coverage figure on ``item`` in ``campaign`` (units without a figure are absent).

    With ``missing_limit``, each figure names up to that many missing people that ``user`` may see.
    """
    result: dict[int, Measured] = {}
    if not units:
        return result
    for handler in list(_measure):
        result.update(handler(campaign, item, units, missing_limit, user))
    return result


# Campaigns changed --------------------------------------------------------------------------------
#
# Why here: the dashboards (``reports``) must count a campaign as soon as it starts and follow its
# activities within a minute, but ``campaigns`` sits below ``reports`` and must not import it.
# ``campaigns`` calls ``campaigns_changed`` after its transaction commits; ``reports`` registers its
# handler in its ``AppConfig.ready``.

CAMPAIGN_STARTED = "started"  # a new campaign: count everything at once
CAMPAIGN_ACTIVITIES = "activities"  # activities recorded, edited or deleted: compliance changed

# (campaign id, what changed: ``CAMPAIGN_STARTED`` or ``CAMPAIGN_ACTIVITIES``)
CampaignChange = tuple[int, str]
CampaignsHandler = Callable[[Sequence[CampaignChange]], object]

_campaigns_changed: list[CampaignsHandler] = []


def on_campaigns_changed(handler: CampaignsHandler) -> CampaignsHandler:
    """Register ``handler(changes)`` to run after campaigns change; registering twice is a no-op."""
    if handler not in _campaigns_changed:
        _campaigns_changed.append(handler)
    return handler


def campaigns_changed(changes: Sequence[CampaignChange]) -> None:
    """Tell every registered handler about committed campaign changes (see ``CampaignChange``).

    Called by ``campaigns`` through ``transaction.on_commit``, so handlers see committed rows.
    """
    if not changes:
        return
    for handler in list(_campaigns_changed):
        handler(changes)


# Attendance proves participation ------------------------------------------------------------------
#
# Why here: an activity's attendees (QR check-ins, the recorder's list) prove the per-person items
# the activity stands for (a training proves "参加培训"), but those items live in ``reach``, above
# ``campaigns``. ``campaigns.activities.actions`` calls ``attendance_changed`` inside its own
# transaction (so the proof is atomic with the attendance) after attendees are added or removed and
# after an activity is edited or deleted; ``reach`` registers the handler that brings the activity's
# proofs in line with what it now says.

AttendanceHandler = Callable[[Sequence[int]], object]

_attendance_changed: list[AttendanceHandler] = []


def on_attendance_changed(handler: AttendanceHandler) -> AttendanceHandler:
    """Register ``handler(activity_ids)``; registering twice is a no-op."""
    if handler not in _attendance_changed:
        _attendance_changed.append(handler)
    return handler


def attendance_changed(activity_ids: Sequence[int]) -> None:
    """Tell every registered handler that the attendees, kind or state of these activities changed."""
    if not activity_ids:
        return
    for handler in list(_attendance_changed):
        handler(activity_ids)


# Membership changed -------------------------------------------------------------------------------
#
# Why here: the dashboards (``reports``) count each person in one home unit and must follow people
# joining, leaving or moving between units within a minute, not at the nightly roll-up; but ``org``
# must not import ``reports``. ``org.actions`` calls ``membership_changed`` after its transaction
# commits with the units whose members (or whose members' activity or kind) changed; ``reports``
# registers its handler in its ``AppConfig.ready``.

MembershipHandler = Callable[[Sequence[int]], object]

_membership_changed: list[MembershipHandler] = []


def on_membership_changed(handler: MembershipHandler) -> MembershipHandler:
    """Register ``handler(unit_ids)``; registering twice is a no-op."""
    if handler not in _membership_changed:
        _membership_changed.append(handler)
    return handler


def membership_changed(unit_ids: Sequence[int]) -> None:
    """Tell every registered handler that people joined, left or changed in these units.

    Called by ``org.actions`` through ``transaction.on_commit``, so handlers see committed rows.
    """
    if not unit_ids:
        return
    for handler in list(_membership_changed):
        handler(unit_ids)
