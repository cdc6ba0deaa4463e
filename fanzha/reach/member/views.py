"""Member self-service pages, reached by a class link or its QR code and built for phones.

No passwords needed: a member proves who they are with their student or staff number and their
personal sign-in code (``org.credentials``: given once by their counsellor, on a page or a printed
slip), or with a one-time code sent to the phone the school registered; a parent with their phone
number and a code. Nothing shown on a staff page, an export or an API answer (such as the masked
phone's last four digits) signs anyone in. The result is a member session key, bound to the class
link and good for two hours; every page below reads it through ``member_required``.

One place for students and parents: someone signed in to their account (a password today, single
sign-on tomorrow: any login) is the member of the links that are theirs — their own class's, and
each child's class's — with no second sign-in; ``/me/`` (``member_home``) gathers their tasks,
their children's parent notices, the letters they sign and the report button on one page, built
from the very functions and templates of the class link's pages. Any other link is not theirs.

Failures are limited in the store every worker shares (``core.ratelimit``): 10 per address and 5 per
typed number (or phone) in 10 minutes, and a person whose code was missed 5 times is locked for 15
minutes. The number is counted whether or not it exists, and an unknown number gets exactly the
message of a wrong code, so the form tells a stranger nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from fanzha.campaigns.letters import actions as letters
from fanzha.campaigns.letters import queries as letter_queries
from fanzha.campaigns.models import Campaign, ResponsibilityLetter
from fanzha.core import ratelimit
from fanzha.core.clientip import client_ip
from fanzha.core.identifiers import normalize_phone
from fanzha.learn import actions as tips_actions
from fanzha.learn.models import ClassTipPost
from fanzha.notify import sms
from fanzha.org.credentials import actions as credentials
from fanzha.org.forms import apply_errors
from fanzha.org.models import Person, PersonKind, Unit, UnitKind

from .. import actions, queries
from ..forms import (
    AppDeclarationForm,
    CodeForm,
    GuardianSignInForm,
    MemberSignInForm,
    ParentAppForm,
    SignatureForm,
)
from ..models import COUNTED, Attestation, ClassLink, Item

SESSION_KEY = "fanzha_member"
PENDING_KEY = "fanzha_member_pending"
SESSION_AGE = timedelta(hours=2)
PENDING_AGE = actions.CODE_TTL
# Code requests ("send me a code") per address in the sign-in window.
SEND_LIMIT = ratelimit.Limit("member-send", 10, credentials.WINDOW)


def no_sms_text() -> str:
    """What the sign-in pages say when no SMS gateway is configured, instead of "已发送"."""
    return _("本站尚未开通短信，无法发送验证码。请用个人登录码登录；还没有登录码，请向辅导员或班主任索取。")


def no_sms_parent_text() -> str:
    return _("本站尚未开通短信，无法向家长发送验证码，家长暂时不能在手机上登录。请联系孩子的辅导员或班主任。")


SELF_SERVICE: dict[str, str] = {
    Item.PLEDGE_SIGNED: "member_pledge",
    Item.APP_INSTALLED: "member_app",
    Item.APP_REGISTERED: "member_app",
    Item.APP_WARNINGS_ON: "member_app",
    Item.QUIZ_PASSED: "member_quiz",
}


def _now_ts() -> float:
    return timezone.now().timestamp()


# Rate limits ---------------------------------------------------------------------------------------


def _address(request: HttpRequest) -> ratelimit.Bucket:
    return credentials.ADDRESS_LIMIT.bucket(client_ip(request))


def _phone(link: ClassLink, phone: str) -> ratelimit.Bucket:
    """A typed phone's counter, by keyed hash: no phone ever sits in the store in clear."""
    return credentials.NUMBER_LIMIT.bucket(link.unit.root_path, "p:" + phone)


def _limited(request: HttpRequest, link: ClassLink, seconds: int = credentials.WINDOW) -> HttpResponse:
    return render(
        request,
        "reach/member_limited.html",
        page_context(None, link, minutes=seconds // 60),
        status=429,
    )


# The member session --------------------------------------------------------------------------------


@dataclass
class Member:
    """The signed-in member of a class link: a student or staff member, or a guardian. ``via_account``:
    signed in to their account rather than on the link (their pages lead back to ``/me/``)."""

    link: ClassLink
    person: Person
    is_guardian: bool
    via_account: bool = False

    @property
    def tasks_url(self) -> str:
        """Where "my tasks" is: ``/me/`` for an account, else the link's task page."""
        return reverse("member_home") if self.via_account else reverse("member_tasks", args=[self.link.token])


def _link(token: str) -> ClassLink:
    link = queries.find_class_link(token)
    if link is None:
        raise Http404(_("链接无效或已停用，请向老师索取新的链接。"))
    return link


def _sign_in(request: HttpRequest, link: ClassLink, person: Person, guardian: bool) -> None:
    request.session.cycle_key()  # a new session id at sign-in (no fixation)
    request.session.pop(PENDING_KEY, None)
    request.session[SESSION_KEY] = {
        "person": person.pk,
        "link": link.pk,
        "guardian": guardian,
        "expires": _now_ts() + SESSION_AGE.total_seconds(),
    }


def current_member(request: HttpRequest, link: ClassLink) -> Member | None:
    """The member signed in on this link, else the signed-in account's person when the link is theirs
    (their class, or a child's class); None otherwise."""
    data = request.session.get(SESSION_KEY)
    if isinstance(data, dict) and data.get("link") == link.pk:
        if float(data.get("expires", 0)) > _now_ts():
            person = Person.objects.filter(pk=int(data.get("person") or 0), is_active=True).first()
            if person is not None:
                return Member(link, person, bool(data.get("guardian")))
        else:
            request.session.pop(SESSION_KEY, None)
    return account_member(request, link)


def account_member(request: HttpRequest, link: ClassLink) -> Member | None:
    """The signed-in account's person as the member of ``link``, when the link is theirs."""
    person = queries.account_person(request.user)
    if person is None:
        return None
    role = queries.member_role(person, link.unit)
    return Member(link, person, role == "guardian", via_account=True) if role else None


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve the link (404 when unknown) and the signed-in member (else off to the sign-in page)."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
        link = _link(token)
        member = current_member(request, link)
        if member is None:
            messages.info(request, _("请先登录。"))
            return redirect("member_signin", token=link.token)
        return view(request, member, *args, **kwargs)

    return never_cache(wrapper)


def _campaign_for(member: Member, campaign_pk: int, item: str) -> Campaign:
    """A campaign running over the member's class that tracks ``item``; 404 otherwise."""
    for campaign in queries.running_campaigns(member.link.unit):
        if campaign.pk == campaign_pk and item in queries.campaign_items(campaign):
            return campaign
    raise Http404


def page_context(member: Member | None, link: ClassLink, **extra: Any) -> dict[str, Any]:
    """What every member page gets: the link, its unit, the member, where "my tasks" and "home" are."""
    account = member is not None and member.via_account
    return {
        "link": link,
        "unit": link.unit,
        "member": member,
        "account": account,
        "home_url": reverse("member_home") if account else reverse("member_landing", args=[link.token]),
        "tasks_url": member.tasks_url if member else reverse("member_tasks", args=[link.token]),
        **extra,
    }


_ctx = page_context


# Landing and sign-in -------------------------------------------------------------------------------


@never_cache
def landing(request: HttpRequest, token: str) -> HttpResponse:
    """The page the QR code opens: the class, its campaigns, and big buttons."""
    link = _link(token)
    member = current_member(request, link)
    campaigns = queries.running_campaigns(link.unit)
    return render(request, "reach/member_landing.html", _ctx(member, link, campaigns=campaigns))


def _pending(request: HttpRequest, link: ClassLink, kind: str, who: str, person: Person | None) -> None:
    """Remember whom a code was asked for: the person (if any) and the hashed rate-limit key of what
    was typed (never the number or phone itself)."""
    request.session[PENDING_KEY] = {
        "link": link.pk,
        "kind": kind,
        "who": who,
        "person": person.pk if person else None,
        "expires": _now_ts() + PENDING_AGE.total_seconds(),
    }


def _send_code(person: Person | None) -> None:
    """Issue and send a code when the person exists and has a phone; say nothing either way."""
    if person is None:
        return
    try:
        issued = actions.issue_code(person)
    except ValidationError:
        return  # no phone, too soon, locked: the page says the same as for a sent code
    from fanzha.notify.delivery import deliver_now

    deliver_now(issued.outbox)  # at once, not at the worker's next round; a failure is retried later


@sensitive_post_parameters()
@never_cache
def signin(request: HttpRequest, token: str) -> HttpResponse:
    """Students and staff: number and personal sign-in code, or "send me a code" by SMS."""
    link = _link(token)
    form = MemberSignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"].strip()
        buckets = credentials.member_buckets(link.unit.root_path, number, client_ip(request))
        if ratelimit.exceeded(*buckets):
            return _limited(request, link)
        person = queries.find_member(link.unit, number)
        if "send_code" in request.POST:
            if not sms.configured():  # say so, rather than "sent" for a text that cannot leave
                form.add_error(None, no_sms_text())
                return render(
                    request, "reach/member_signin.html", _ctx(None, link, form=form, sms_ok=False), status=400
                )
            send = SEND_LIMIT.bucket(client_ip(request))
            if ratelimit.exceeded(send):
                return _limited(request, link)
            ratelimit.hit(send)
            _send_code(person)
            _pending(request, link, "number", buckets[0].key, person)
            return redirect("member_code", token=link.token)
        check = credentials.check_code(person, form.cleaned_data["code"])
        if check == credentials.Check.OK:
            assert person is not None
            _sign_in(request, link, person, guardian=False)
            return redirect("member_tasks", token=link.token)
        if check == credentials.Check.LOCKED:
            return _limited(request, link, credentials.PERSON_LIMIT.window)
        ratelimit.hit(*buckets)
        form.add_error(
            None,
            _(
                "学号/工号或登录码不正确，或你不在本班名单中。请核对后重试；"
                "还没有登录码，请向辅导员或班主任索取，也可以改用短信验证码登录。"
            ),
        )
        status = 400
    elif request.method == "POST":
        status = 400
    context = _ctx(None, link, form=form, sms_ok=sms.configured())
    return render(request, "reach/member_signin.html", context, status=status)


@sensitive_post_parameters()
@never_cache
def guardian_signin(request: HttpRequest, token: str) -> HttpResponse:
    """Parents: the phone number the school registered, then a code sent to it."""
    link = _link(token)
    form = GuardianSignInForm(request.POST or None)
    if not sms.configured():  # parents sign in by SMS code only: say plainly that none can be sent
        status = 400 if request.method == "POST" else 200
        context = _ctx(None, link, form=None, sms_ok=False, no_sms=no_sms_parent_text())
        return render(request, "reach/member_guardian.html", context, status=status)
    status = 200
    if request.method == "POST" and form.is_valid():
        raw = form.cleaned_data["phone"]
        try:
            ident = normalize_phone(raw)
        except ValidationError:
            ident = raw.strip()
        send = SEND_LIMIT.bucket(client_ip(request))
        who = _phone(link, ident)
        if ratelimit.exceeded(_address(request), send, who):
            return _limited(request, link)
        ratelimit.hit(send)
        guardian = queries.find_guardian(link.unit, ident)
        _send_code(guardian)
        _pending(request, link, "phone", who.key, guardian)
        return redirect("member_code", token=link.token)
    if request.method == "POST":
        status = 400
    return render(
        request, "reach/member_guardian.html", _ctx(None, link, form=form, sms_ok=True), status=status
    )


@sensitive_post_parameters()
@never_cache
def code(request: HttpRequest, token: str) -> HttpResponse:
    """Type the code that the text message brought."""
    link = _link(token)
    pending = request.session.get(PENDING_KEY)
    if (
        not isinstance(pending, dict)
        or pending.get("link") != link.pk
        or float(pending.get("expires", 0)) <= _now_ts()
    ):
        messages.info(request, _("验证码已过期，请重新获取。"))
        return redirect("member_signin", token=link.token)
    guardian = pending.get("kind") == "phone"
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        buckets = [_address(request), ratelimit.Bucket(credentials.NUMBER_LIMIT, str(pending.get("who", "")))]
        if ratelimit.exceeded(*buckets):
            return _limited(request, link)
        person = Person.objects.filter(pk=int(pending.get("person") or 0), is_active=True).first()
        if person is not None and actions.verify_code(person, form.cleaned_data["code"]):
            _sign_in(request, link, person, guardian=guardian)
            return redirect("member_tasks", token=link.token)
        ratelimit.hit(*buckets)
        form.add_error(None, _("验证码不正确或已失效。请核对短信，或重新获取验证码。"))
        status = 400
    elif request.method == "POST":
        status = 400
    context = _ctx(None, link, form=form, guardian=guardian, minutes=int(PENDING_AGE.total_seconds() // 60))
    return render(request, "reach/member_code.html", context, status=status)


@require_POST
def signout(request: HttpRequest, token: str) -> HttpResponse:
    link = _link(token)
    request.session.pop(SESSION_KEY, None)
    request.session.pop(PENDING_KEY, None)
    return redirect("member_landing", token=link.token)


# Tasks ---------------------------------------------------------------------------------------------


@dataclass
class Task:
    item: str
    label: str
    status: str  # "" missing, declared, verified, rejected
    url: str  # where the member does it themselves ("" when a teacher confirms it)


def _tasks(
    member: Member, campaign: Campaign, person: Person, done: dict[tuple[int, str], Any]
) -> list[Task]:
    tasks = []
    for item in queries.campaign_items(campaign):
        if not queries.applies(item, person.kind):
            continue
        attestation = done.get((person.pk, item))
        url = ""
        if item in SELF_SERVICE:
            url = reverse(SELF_SERVICE[item], args=[member.link.token, campaign.pk])
        tasks.append(Task(item, str(Item(item).label), attestation.status if attestation else "", url))
    return tasks


def student_groups(member: Member) -> list[dict[str, Any]]:
    """The member's own items, campaign by campaign, with what is left of each."""
    groups = []
    for campaign in queries.running_campaigns(member.link.unit):
        if member.person.kind not in queries.tracked_kinds(campaign):
            continue
        done = queries.attestations_of(campaign, [member.person.pk])
        items = _tasks(member, campaign, member.person, done)
        if items:
            groups.append(
                {"campaign": campaign, "tasks": items, "left": sum(t.status not in COUNTED for t in items)}
            )
    return groups


def _state(attestations: list[Any]) -> tuple[str, Any]:
    """A parent row's true state: "" (未完成) until every row counts, else the status and the latest date;
    a rejected row stays visible as rejected so the parent knows to do it again."""
    if attestations and all(a is not None and a.is_counted for a in attestations):
        verified = all(a.status == Attestation.Status.VERIFIED for a in attestations)
        return ("verified" if verified else "declared"), max(a.at for a in attestations)
    if any(a is not None and a.status == Attestation.Status.REJECTED for a in attestations):
        return "rejected", None
    return "", None


def _parent_app(member: Member, campaign: Campaign, children: list[Person], done: dict[Any, Any]) -> Any:
    """The parent's own app row of a campaign that asks for it: counted once every child counts it."""
    if Item.PARENT_APP_INSTALLED not in queries.campaign_items(campaign):
        return None
    concerned = [c for c in children if queries.applies(Item.PARENT_APP_INSTALLED, c.kind)]
    if not concerned:
        return None
    status, at = _state([done.get((c.pk, Item.PARENT_APP_INSTALLED)) for c in concerned])
    return {
        "label": _("安装国家反诈中心APP"),
        "done": status in COUNTED,
        "status": status,
        "at": at,
        "url": reverse("member_parent_app", args=[member.link.token, campaign.pk]),
    }


def guardian_groups(member: Member) -> tuple[list[dict[str, Any]], list[Person]]:
    """A guardian's tasks, campaign by campaign: the parent notice, one row per child in the link's class,
    and the anti-fraud app on the parent's own phone."""
    children = list(queries.wards_in(member.person, member.link.unit))
    groups = []
    for campaign in queries.running_campaigns(member.link.unit):
        items = queries.campaign_items(campaign)
        if Item.PARENT_NOTICE_SIGNED not in items and Item.PARENT_APP_INSTALLED not in items:
            continue
        done = queries.attestations_of(campaign, [c.pk for c in children])
        rows = []
        for child in children:
            if Item.PARENT_NOTICE_SIGNED not in items or not queries.applies(
                Item.PARENT_NOTICE_SIGNED, child.kind
            ):
                continue
            status, at = _state([done.get((child.pk, Item.PARENT_NOTICE_SIGNED))])
            rows.append(
                {
                    "label": _("家长防骗告知书"),
                    "child": child,
                    "done": status in COUNTED,
                    "status": status,
                    "at": at,
                    "url": reverse("member_notice", args=[member.link.token, campaign.pk, child.pk]),
                }
            )
        groups.append(
            {"campaign": campaign, "children": rows, "app": _parent_app(member, campaign, children, done)}
        )
    return groups, children


def letter_tasks(member: Member) -> list[dict[str, Any]]:
    """Responsibility letters the member signs here (a dormitory head: the dormitory's letter)."""
    if member.is_guardian:
        return []
    return [
        {
            "letter": row.letter,
            "unit": row.unit,
            "url": reverse("member_letter", args=[member.link.token, row.letter.pk]),
        }
        for row in letter_queries.letters_for_member(member.person)
    ]


@member_required
def tasks(request: HttpRequest, member: Member) -> HttpResponse:
    """What the member (or, for a parent, each child) still has to do, campaign by campaign."""
    if member.is_guardian:
        groups, children = guardian_groups(member)
        return render(
            request,
            "reach/member_tasks_guardian.html",
            _ctx(member, member.link, groups=groups, children=children),
        )
    context = _ctx(
        member,
        member.link,
        groups=student_groups(member),
        letters=letter_tasks(member),
        tip_card=class_tip_card(member),
    )
    return render(request, "reach/member_tasks.html", context)


def _own(member: Member) -> None:
    """Pages for a member's own items: a guardian signed in with their phone has none."""
    if member.is_guardian:
        raise Http404


# Pledge, app, parent notice ------------------------------------------------------------------------


@member_required
def pledge(request: HttpRequest, member: Member, campaign_pk: int) -> HttpResponse:
    """The pledge in our words, under the campaign's title, signed with a finger."""
    _own(member)
    campaign = _campaign_for(member, campaign_pk, Item.PLEDGE_SIGNED)
    current = queries.attestations_of(campaign, [member.person.pk]).get(
        (member.person.pk, Item.PLEDGE_SIGNED)
    )
    signed = current is not None and current.is_counted
    form = SignatureForm(request.POST or None)
    status = 200
    if request.method == "POST" and not signed:
        if form.is_valid():
            try:
                actions.sign_pledge(campaign, member.person, form.cleaned_data["signature"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("承诺书已签署，谢谢你！"))
                return redirect(member.tasks_url)
        status = 400
    elif request.method == "POST":
        messages.info(request, _("你已签署过承诺书，无需重复签署。"))
        return redirect(member.tasks_url)
    return render(
        request,
        "reach/member_pledge.html",
        _ctx(member, member.link, campaign=campaign, form=form, current=current, signed=signed),
        status=status,
    )


def _campaign_with_any(member: Member, campaign_pk: int, items: tuple[str, ...]) -> Campaign:
    """A campaign running over the member's class that tracks any of ``items``; 404 otherwise."""
    for campaign in queries.running_campaigns(member.link.unit):
        if campaign.pk == campaign_pk and set(items) & set(queries.campaign_items(campaign)):
            return campaign
    raise Http404


@member_required
def app(request: HttpRequest, member: Member, campaign_pk: int) -> HttpResponse:
    """Declare the anti-fraud app: installed, real-name registered, warnings on; optional screenshot."""
    _own(member)
    campaign = _campaign_with_any(member, campaign_pk, queries.APP_ITEMS)
    app_items = tuple(i for i in queries.APP_ITEMS if i in queries.campaign_items(campaign))
    found = queries.attestations_of(campaign, [member.person.pk])
    done = {i for (_p, i), a in found.items() if a.is_counted}
    kwargs: dict[str, Any] = {"items": app_items, "done": done}
    if request.method == "POST":
        form = AppDeclarationForm(request.POST, request.FILES, **kwargs)
    else:
        form = AppDeclarationForm(**kwargs)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.declare_app(
                    campaign, member.person, form.chosen(), screenshot=form.cleaned_data.get("screenshot")
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已提交，谢谢！老师核实后会更新状态。"))
                return redirect(member.tasks_url)
        status = 400
    return render(
        request,
        "reach/member_app.html",
        _ctx(member, member.link, campaign=campaign, form=form, all_done=set(app_items) <= done),
        status=status,
    )


@member_required
def notice(request: HttpRequest, member: Member, campaign_pk: int, child_pk: int) -> HttpResponse:
    """The notice to parents, signed by a guardian for one child."""
    if not member.is_guardian:
        raise Http404
    campaign = _campaign_for(member, campaign_pk, Item.PARENT_NOTICE_SIGNED)
    child = get_object_or_404(queries.wards_in(member.person, member.link.unit), pk=child_pk)
    current = queries.attestations_of(campaign, [child.pk]).get((child.pk, Item.PARENT_NOTICE_SIGNED))
    signed = current is not None and current.is_counted
    form = SignatureForm(request.POST or None)
    status = 200
    if request.method == "POST" and signed:
        messages.info(request, _("%(name)s 的家长告知书已签署，无需重复签署。") % {"name": child.name})
        return redirect(member.tasks_url)
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.sign_parent_notice(member.person, child, campaign, form.cleaned_data["signature"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request, _("已为 %(name)s 签署家长告知书，谢谢您的配合！") % {"name": child.name}
                )
                return redirect(member.tasks_url)
        status = 400
    return render(
        request,
        "reach/member_notice.html",
        _ctx(member, member.link, campaign=campaign, child=child, form=form, current=current, signed=signed),
        status=status,
    )


@member_required
def parent_app(request: HttpRequest, member: Member, campaign_pk: int) -> HttpResponse:
    """A parent declares the National Anti-Fraud Center app installed on their phone (plan 篇三), with an
    optional screenshot; it counts for each of their children in the link's class."""
    if not member.is_guardian:
        raise Http404
    campaign = _campaign_for(member, campaign_pk, Item.PARENT_APP_INSTALLED)
    children = list(queries.wards_in(member.person, member.link.unit))
    row = _parent_app(member, campaign, children, queries.attestations_of(campaign, [c.pk for c in children]))
    if row is None:
        raise Http404
    form = ParentAppForm(request.POST, request.FILES) if request.method == "POST" else ParentAppForm()
    status = 200
    if request.method == "POST" and row["done"]:
        messages.info(request, _("您已登记安装国家反诈中心APP，无需重复登记。"))
        return redirect(member.tasks_url)
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.declare_parent_app(
                    member.person, children, campaign, screenshot=form.cleaned_data.get("screenshot")
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已登记，谢谢您的配合！老师核实后会更新状态。"))
                return redirect(member.tasks_url)
        status = 400
    return render(
        request,
        "reach/member_parent_app.html",
        _ctx(member, member.link, campaign=campaign, form=form, done=row["done"], children=children),
        status=status,
    )


# Quiz ----------------------------------------------------------------------------------------------


def _learn() -> Any:
    """``fanzha.learn.actions`` (the quiz engine), or None while it is not installed."""
    try:
        from fanzha.learn import actions as learn
    except ImportError:  # pragma: no cover - learn ships with fanzha
        return None
    return learn


def _audience(member: Member) -> str:
    kind = member.person.kind
    if kind == PersonKind.STUDENT:
        return "child" if member.link.unit.kind == UnitKind.KINDERGARTEN else "student"
    if kind in (PersonKind.TEACHER, PersonKind.STAFF, PersonKind.VOLUNTEER):
        return "staff"
    return "public"


def _paper(campaign: Campaign, audience: str) -> Any:
    """The campaign's own paper for the audience, else a general one (None when there is none)."""
    from fanzha.learn.models import QuizPaper

    papers = QuizPaper.objects.filter(Q(campaign=campaign) | Q(campaign__isnull=True), audience=audience)
    if hasattr(QuizPaper, "is_active"):
        papers = papers.filter(is_active=True)
    own_first = Case(When(campaign=campaign, then=Value(0)), default=Value(1), output_field=IntegerField())
    return papers.order_by(own_first, "pk").first()


def _questions(attempt: Any) -> list[Any]:
    from fanzha.learn.models import Question

    by_pk = Question.objects.in_bulk(list(attempt.questions))
    return [by_pk[pk] for pk in attempt.questions if pk in by_pk]


def _answers(request: HttpRequest, questions: list[Any]) -> dict[str, list[int]]:
    answers: dict[str, list[int]] = {}
    for question in questions:
        values = request.POST.getlist(f"q{question.pk}")
        picked = sorted({int(v) for v in values if v.isdigit() and int(v) < len(question.choices)})
        answers[str(question.pk)] = picked
    return answers


def _record_pass(campaign: Campaign, person: Person, attempt: Any) -> None:
    """A passed, on-time attempt: the item counts, verified by the system (no teacher needed)."""
    if attempt.passed and not attempt.late:
        actions.attest(campaign, person, Item.QUIZ_PASSED, "verified", attempt.submitted_at)


@member_required
def quiz(request: HttpRequest, member: Member, campaign_pk: int) -> HttpResponse:
    """Start, answer and submit the quiz; all questions on one page with a countdown (static JS)."""
    _own(member)
    campaign = _campaign_for(member, campaign_pk, Item.QUIZ_PASSED)
    learn = _learn()
    paper = _paper(campaign, _audience(member)) if learn is not None else None
    context = _ctx(member, member.link, campaign=campaign, paper=paper)
    if paper is None:
        return render(request, "reach/member_quiz.html", context)
    from fanzha.learn.models import Attempt

    person = member.person
    if request.method == "POST" and request.POST.get("action") == "start":
        try:
            learn.start_attempt(paper, person, timezone.now())
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        return redirect("member_quiz", token=member.link.token, campaign_pk=campaign.pk)
    if request.method == "POST" and request.POST.get("action") == "submit":
        attempt = get_object_or_404(Attempt, pk=request.POST.get("attempt", "0"), person=person, paper=paper)
        result = learn.submit_attempt(attempt, _answers(request, _questions(attempt)), timezone.now())
        scored = getattr(result, "attempt", result)
        if getattr(result, "duplicate", False):
            messages.info(request, _("这份答卷已经提交过，以第一次提交的成绩为准。"))
        elif scored.late:
            messages.warning(request, _("提交时已超过答题时限，本次作答不计为合格。"))
        _record_pass(campaign, person, scored)
        return redirect(
            reverse("member_quiz", args=[member.link.token, campaign.pk]) + f"?attempt={scored.pk}#result"
        )
    attempts = Attempt.objects.filter(paper=paper, person=person).order_by("-started_at", "-pk")
    now = timezone.now()
    open_attempt = next((a for a in attempts if a.submitted_at is None), None)
    if open_attempt is not None and now > open_attempt.deadline + getattr(learn, "GRACE", timedelta(0)):
        open_attempt = None  # run out: the next start closes it (late, not passed)
    shown = None
    if request.GET.get("attempt", "").isdigit():
        shown = next((a for a in attempts if a.pk == int(request.GET["attempt"]) and a.submitted_at), None)
    passed = next((a for a in attempts if a.passed), None)
    used = sum(1 for a in attempts)
    context.update(
        {
            "attempt": open_attempt,
            "questions": _questions(open_attempt) if open_attempt else [],
            "result": shown,
            "passed": passed,
            "left": max(paper.max_attempts - used, 0) if paper.max_attempts else None,
            "deadline": open_attempt.deadline.isoformat() if open_attempt else "",
        }
    )
    return render(request, "reach/member_quiz.html", context)


# Tips ----------------------------------------------------------------------------------------------


def _url(name: str) -> str:
    """A page of the public knowledge base ("" while the learn app does not provide it)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@never_cache
def tips(request: HttpRequest, token: str) -> HttpResponse:
    """A few tips in our words and the way to the public knowledge pages; no sign-in needed."""
    link = _link(token)
    return render(
        request,
        "reach/member_tips.html",
        _ctx(
            current_member(request, link),
            link,
            learn_url=_url("learn_kb"),
            fraud_types_url=_url("learn_fraud_types"),
        ),
    )


def class_tip_card(member: Member) -> dict[str, Any] | None:
    """Today's tip for the class group, for the class's student liaison only (None for anyone else):
    its text to copy, and whether it was already marked posted today."""
    unit = member.link.unit
    if member.is_guardian or not tips_actions.is_class_liaison(member.person, unit):
        return None
    today = timezone.localdate()
    try:
        tip = tips_actions.class_tip(unit, today)
    except ValidationError:
        return None  # no tips loaded: nothing to post
    posted = ClassTipPost.objects.filter(unit=unit, day=today).exists()
    return {
        "tip": tip,
        "day": today,
        "posted": posted,
        "url": reverse("member_class_tip", args=[member.link.token]),
    }


@require_POST
@member_required
def class_tip_posted(request: HttpRequest, member: Member) -> HttpResponse:
    """The liaison's "已发到班级群": recorded by ``learn.actions.mark_class_tip_posted`` (it counts for the
    class's daily-tip duty); anyone else is refused there."""
    if member.is_guardian:
        raise Http404
    actor = request.user if member.via_account else None
    try:
        _post, recorded = tips_actions.mark_class_tip_posted(member.link.unit, member.person, actor)
    except PermissionDenied:
        raise Http404 from None
    if recorded:
        messages.success(request, _("已记录：今天的防骗提示已发到班级群，计入本班每日提示任务。"))
    else:
        messages.info(request, _("今天的提示已经标记过了。"))
    return redirect(member.tasks_url)


# Letters -------------------------------------------------------------------------------------------


@member_required
def letter(request: HttpRequest, member: Member, letter_pk: int) -> HttpResponse:
    """A responsibility letter the member signs for the unit they head (``letters.member_may_sign``):
    its text, and the signature pad for the lower side. Any other letter is not found."""
    if member.is_guardian:
        raise Http404
    found = next(
        (row for row in letter_queries.letters_for_member(member.person) if row.letter.pk == letter_pk), None
    )
    if found is None:
        raise Http404
    current: ResponsibilityLetter = found.letter
    form = SignatureForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and letters.member_may_sign(member.person, current, found.side):
            actor = request.user if member.via_account else None
            try:
                letters.sign_letter(
                    current, found.side, member.person.name, form.cleaned_data["signature"], actor
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已签署《%(title)s》。") % {"title": current.title})
                return redirect(member.tasks_url)
        status = 400
    context = _ctx(member, member.link, letter=current, side=found, form=form)
    return render(request, "reach/member_letter.html", context, status=status)


# One place for students and parents ---------------------------------------------------------------


@never_cache
@login_required
def member_home(request: HttpRequest) -> HttpResponse:
    """``/me/``: a student or parent signed in to their account sees the class link's task page —
    their own tasks, the letters they sign and the report button, and each child's parent notices —
    as the member of their class's link and of each child's.

    A GET writes nothing: a class whose link does not exist yet (the demo and ``member-codes`` create
    them ahead) is shown with one button, whose POST creates the missing links and comes back here."""
    person = queries.account_person(request.user)
    if request.method == "POST":
        if person is not None:
            home = queries.home_unit(person)
            for each in ([home] if home else []) + [u for u, _c in queries.children_by_unit(person)]:
                actions.ensure_class_link(each)
        return redirect("member_home")
    own: dict[str, Any] | None = None
    guardian: list[dict[str, Any]] = []
    missing: list[Unit] = []
    if person is not None:
        unit = queries.home_unit(person)
        child_units = [u for u, _children in queries.children_by_unit(person)]
        units = ([unit] if unit else []) + child_units
        links = queries.class_links(units)
        missing = [u for u in units if u.pk not in links]
        if unit is not None and unit.pk in links:
            member = Member(links[unit.pk], person, False, via_account=True)
            own = {
                "member": member,
                "groups": student_groups(member),
                "letters": letter_tasks(member),
                "tip_card": class_tip_card(member),
            }
        for child_unit in child_units:
            if child_unit.pk not in links:
                continue
            member = Member(links[child_unit.pk], person, True, via_account=True)
            groups, children = guardian_groups(member)
            guardian.append({"member": member, "unit": child_unit, "groups": groups, "children": children})
    first: Member | None = own["member"] if own else (guardian[0]["member"] if guardian else None)
    context: dict[str, Any] = {
        "person": person,
        "own": own,
        "guardian": guardian,
        "missing": missing,
        "account": True,
        "learn_url": _url("learn_kb"),  # the knowledge base, which a signed-in member may read
    }
    if first is not None:
        context = {**page_context(first, first.link), **context}
    return render(request, "reach/member_home.html", context)


def member_home_url(user: Any) -> str:
    """``/me/`` for an account whose person has member pages (a unit of their own or a child), else "";
    registered with ``core.menu.on_member_home`` (the home page and the "我的信息" entry use it)."""
    person = queries.account_person(user)
    return reverse("member_home") if person is not None and queries.has_member_pages(person) else ""
