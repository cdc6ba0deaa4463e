"""Pages of the organisation grid. Thin: reads come from ``scope``, writes from ``actions``.

Anything outside the user's scope is looked up in a scoped queryset and so answers 404,
exactly like an object that does not exist. A visible object that the user's role may not
change answers 403 on a write.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from fanzha.core import hooks, menu
from fanzha.core.paging import paginate

from . import actions, counts, names, scope
from .accounts import queries as accounts
from .accounts.forms import GrantForm, InviteForm, OpenAccountForm
from .credentials import actions as credentials
from .forms import (
    ChildUnitForm,
    JurisdictionForm,
    MembershipForm,
    MoveUnitForm,
    PersonForm,
    PersonSearchForm,
    RenameUnitForm,
    RevealForm,
    UnitSearchForm,
    apply_errors,
)
from .models import (
    AUTHORITY_KIND,
    JURISDICTION_KINDS,
    Jurisdiction,
    Membership,
    Person,
    PersonKind,
    Unit,
    User,
)
from .scope import Cap


class AuthedRequest(HttpRequest):
    """A request behind ``login_required``: its user is a real account (for the type checker)."""

    user: User


PAGE_SIZE = 50
HISTORY_LENGTH = 20


def _label_roles(rows: list[Any]) -> list[Any]:
    """Set ``role_label`` on memberships or grants: the role as the unit's level names it (a class's
    teacher is 辅导员 at a university, 班主任 at a school, 教师 at a kindergarten; ``org.names``)."""
    levels = names.Levels(row.unit for row in rows)
    for row in rows:
        row.role_label = levels.role(row.role, row.unit, row.get_role_display())
    return rows


def _with_parents(units: list[Unit]) -> list[dict[str, Any]]:
    """Pair each unit with its parent (one query for the whole page)."""
    parent_paths = {u.parent_path for u in units if u.parent_path}
    parents = {u.path: u for u in Unit.objects.filter(path__in=parent_paths)}
    return [{"unit": u, "parent": parents.get(u.parent_path)} for u in units]


def _unit_for_write(request: AuthedRequest, pk: int) -> Unit:
    """A unit the user may change: 404 when invisible, 403 when visible but read-only."""
    unit = get_object_or_404(scope.units_for(request.user), pk=pk)
    if not scope.in_scope(request.user, unit, Cap.EDIT_UNITS):
        raise PermissionDenied
    return unit


def _is_own_root(user: Any, unit: Unit) -> bool:
    """Whether ``unit`` is where the user's own editing grant sits (switching it off would lock them out)."""
    return not user.is_superuser and unit.path in scope.scope_paths(user, Cap.EDIT_UNITS)


def _person_for(request: AuthedRequest, pk: int, cap: Cap) -> Person:
    """A person the user may act on with ``cap``: 404 when invisible, 403 when visible but not allowed."""
    person = get_object_or_404(scope.people_for(request.user), pk=pk)
    if cap != Cap.VIEW and not scope.people_for(request.user, cap).filter(pk=person.pk).exists():
        raise PermissionDenied
    return person


def _home_links(caps: set[Cap]) -> list[hooks.HomeLink]:
    """The organisation's own quick links: the roster in and out."""
    links = []
    if Cap.IMPORT in caps:
        links.append(
            hooks.HomeLink(
                20, _("导入花名册"), reverse("roster_import"), _("Excel 名册批量建立单位和人员"), common=False
            )
        )
    if Cap.VIEW in caps:
        hint = _("下载本单位及下级的名册")
        links.append(hooks.HomeLink(70, _("导出花名册"), reverse("roster_export"), hint, common=False))
    return links


COMMON_LINKS = 6  # the actions shown under 常用操作; the rest are folded under 全部功能


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """Each role's workbench (工作台): its urgent work, what is due this week, the few actions it takes,
    then everything else folded away. The items come from every app through ``core.hooks`` (each
    computes its own through the user's scope); nothing here counts a subtree, so the page stays cheap
    for a province's administrator. A student or parent (no capability) goes to their member page
    (``core.menu.member_home``: the class link's tasks)."""
    user = request.user
    caps = scope.capabilities(user)
    if not caps and not user.is_superuser:
        # A student or parent: their tasks and their children's notices are on their member page.
        member_url = menu.member_home(user)
        if member_url:
            return redirect(member_url)
    found = hooks.home_items(user, caps)
    links = sorted([*found.links, *_home_links(caps)], key=lambda link: link.order)
    common = [link for link in links if link.common][:COMMON_LINKS]
    grants = _label_roles(list(user.grants.select_related("unit").order_by("unit__path", "role")))
    context: dict[str, Any] = {
        "grants": grants,
        "is_superuser": user.is_superuser,
        "urgent": [w for w in found.work if w.level == hooks.URGENT],
        "week": [w for w in found.work if w.level == hooks.WEEK],
        # nothing waiting is said quietly in one line ("无：…"), not as a card among the urgent ones
        "sections": [
            {
                "id": f"wb-{level}",
                "title": title,
                "empty": empty,
                "hot": [w for w in found.work if w.level == level and w.count],
                "calm": [w for w in found.work if w.level == level and not w.count],
            }
            for level, title, empty in (
                (hooks.URGENT, _("紧急"), _("无紧急事项。")),
                (hooks.WEEK, _("本周到期"), _("本周没有到期事项。")),
            )
        ],
        "panels": found.panels,
        "common": common,
        "more": [link for link in links if link not in common],
        "scripts": sorted({w.script for w in found.work if w.script and w.deadline is not None}),
    }
    if grants or user.is_superuser:
        context["top_units"] = Unit.objects.filter(path__in=scope.scope_paths(user)).order_by("path")[:20]
    else:
        people = list(scope.people_for(user).select_related("root").order_by("pk"))
        context["own"] = [p for p in people if p.user_id == user.pk]
        context["children"] = [p for p in people if p.user_id != user.pk]
    return render(request, "org/home.html", context)


@login_required
def unit_list(request: AuthedRequest) -> HttpResponse:
    """The top units of the user's scope, or search results within the scope."""
    form = UnitSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if query:
        lowered = query.lower()
        units = scope.units_for(request.user).filter(
            Q(name__icontains=query)
            | Q(code__icontains=query)
            | Q(initials__startswith=lowered)
            | Q(pinyin__startswith=lowered)
        )
    else:
        units = Unit.objects.filter(path__in=scope.scope_paths(request.user))
    paged = paginate(request, units.order_by("path"), PAGE_SIZE)
    paged.page.object_list = counts.with_people(list(paged.page.object_list))
    return render(
        request,
        "org/unit_list.html",
        {"form": form, "query": query, "paged": paged, "rows": _with_parents(list(paged.page.object_list))},
    )


def _unit_page(request: AuthedRequest, unit: Unit, status: int = 200, **forms: Any) -> HttpResponse:
    """Render a unit with its breadcrumbs, children, members, history and (for editors) forms."""
    user = request.user
    crumbs = [{"unit": a, "link": scope.in_scope(user, a)} for a in Unit.objects.get_ancestors(unit)]
    children = paginate(request, Unit.objects.filter(parent_path=unit.path).order_by("path"), PAGE_SIZE)
    children.page.object_list = counts.with_people(list(children.page.object_list))
    members = unit.memberships.select_related("person").order_by("role", "person__initials", "pk")
    if scope.reached_only(user, unit):
        # A room the user sees because their students live there: those students, nobody else.
        members = members.filter(person__in=scope.people_for(user))
    can_edit = scope.in_scope(user, unit, Cap.EDIT_UNITS)
    members_page = paginate(request, members, PAGE_SIZE, "mpage")
    members_page.page.object_list = _label_roles(list(members_page.page.object_list))
    context: dict[str, Any] = {
        "unit": unit,
        "crumbs": crumbs,
        "children": children,
        "members": members_page,
        "events": unit.events.select_related("actor")[:HISTORY_LENGTH],
        "unit_count": Unit.objects.filter(path__startswith=unit.path).count() - 1,
        "people_count": counts.people_in_unit(user, unit),
        "can_edit": can_edit,
        # Sign-in slips (printed from the class link in reach) for those who may edit its people.
        "can_issue_codes": scope.in_scope(user, unit, Cap.EDIT_PEOPLE),
        # Grants at this unit, and opening the staff's accounts, for those who may grant here.
        "can_grant": scope.in_scope(user, unit, Cap.GRANT),
    }
    if context["can_grant"]:
        roles = accounts.grantable_roles(user, unit)
        context["grant_rows"] = accounts.unit_grants(user, unit)
        context["grant_form"] = GrantForm(roles=roles) if roles else None
    context.update(_jurisdiction_context(user, unit, forms.get("jurisdiction_form")))
    if can_edit:
        context["child_form"] = forms.get("child_form") or ChildUnitForm.for_parent(unit)
        context["rename_form"] = forms.get("rename_form") or RenameUnitForm(
            initial={"name": unit.name, "code": unit.code}
        )
        context["move_form"] = forms.get("move_form") or MoveUnitForm(user=user)
        context["is_own_root"] = _is_own_root(user, unit)
    return render(request, "org/unit_detail.html", context, status=status)


@login_required
def unit_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A unit in scope; any other answers 404, as if it did not exist."""
    unit = get_object_or_404(scope.units_for(request.user), pk=pk)
    return _unit_page(request, unit)


@login_required
@require_POST
def unit_add_child(request: AuthedRequest, pk: int) -> HttpResponse:
    """Create a child unit; a refused code comes back as a form error on the unit page."""
    unit = _unit_for_write(request, pk)
    form = ChildUnitForm(request.POST)
    if form.is_valid():
        try:
            child = actions.create_unit(parent=unit, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已添加下级单位“%(name)s”") % {"name": child.name})
            return redirect("unit_detail", pk=child.pk)
    return _unit_page(request, unit, child_form=form)


def _jurisdiction_context(user: Any, unit: Unit, form: JurisdictionForm | None) -> dict[str, Any]:
    """A place's station and outlet (with the form for its own tree's administrators); a station's or
    outlet's list of the places in its jurisdiction (names only: their rosters stay with their tree)."""
    if unit.kind in JURISDICTION_KINDS:
        rows = list(unit.jurisdictions.select_related("authority").order_by("side"))
        for row in rows:
            row.can_remove = actions.may_unassign(user, row)  # type: ignore[attr-defined]
        context: dict[str, Any] = {"jurisdiction_rows": rows, "jurisdiction_place": True}
        if actions.may_assign(user, unit):
            context["jurisdiction_form"] = form or JurisdictionForm()
        return context
    if unit.kind in AUTHORITY_KIND.values():
        rows = list(unit.jurisdiction_of.select_related("unit").order_by("unit__path"))
        for row in rows:
            row.can_remove = actions.may_unassign(user, row)  # type: ignore[attr-defined]
        return {"jurisdiction_rows": rows, "jurisdiction_authority": True}
    return {}


@login_required
@require_POST
def unit_jurisdiction(request: AuthedRequest, pk: int) -> HttpResponse:
    """Assign a place to a police station and/or a bank outlet: 404 when invisible, 403 unless the user
    administers the place's own tree (``actions.may_assign``)."""
    unit = get_object_or_404(scope.units_for(request.user), pk=pk)
    if not actions.may_assign(request.user, unit):
        raise PermissionDenied
    form = JurisdictionForm(request.POST)
    if form.is_valid():
        try:
            for authority in (form.cleaned_data.get("station"), form.cleaned_data.get("outlet")):
                if authority is not None:
                    actions.assign_jurisdiction(unit, authority, request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("辖区已保存"))
            return redirect("unit_detail", pk=unit.pk)
    return _unit_page(request, unit, status=400, jurisdiction_form=form)


@login_required
@require_POST
def jurisdiction_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    """Take a place out of a station's or outlet's jurisdiction, from either side's unit page."""
    visible = scope.units_for(request.user)
    row = get_object_or_404(
        Jurisdiction.objects.select_related("unit", "authority").filter(
            Q(unit__in=visible) | Q(authority__in=visible)
        ),
        pk=pk,
    )
    actions.unassign_jurisdiction(row, request.user)  # PermissionDenied → 403
    messages.success(request, _("已移出辖区"))
    back = row.unit if scope.in_scope(request.user, row.unit) else row.authority
    return redirect("unit_detail", pk=back.pk)


@login_required
@require_POST
def unit_rename(request: AuthedRequest, pk: int) -> HttpResponse:
    """Rename and/or recode; the old values stay in the unit's history."""
    unit = _unit_for_write(request, pk)
    form = RenameUnitForm(request.POST)
    if form.is_valid():
        try:
            actions.rename_unit(unit, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("单位信息已保存"))
            return redirect("unit_detail", pk=unit.pk)
    return _unit_page(request, unit, rename_form=form)


@login_required
@require_POST
def unit_move(request: AuthedRequest, pk: int) -> HttpResponse:
    """Move a unit under a parent named by code, which must also lie in the editing scope."""
    unit = _unit_for_write(request, pk)
    form = MoveUnitForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            actions.move_unit(unit, form.cleaned_data["target"], actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("单位已移动"))
            return redirect("unit_detail", pk=unit.pk)
    return _unit_page(request, unit, move_form=form)


@login_required
@require_POST
def unit_set_active(request: AuthedRequest, pk: int) -> HttpResponse:
    """Deactivate or reactivate a unit; a user may not switch off the unit their own grant is at."""
    unit = _unit_for_write(request, pk)
    active = request.POST.get("active") == "1"
    if not active and _is_own_root(request.user, unit):
        messages.error(request, _("不能停用您的授权所在的单位，请联系上级管理员"))
    else:
        actions.set_unit_active(unit, active, actor=request.user)
        messages.success(request, _("单位已启用") if active else _("单位已停用"))
    return redirect("unit_detail", pk=unit.pk)


def _own_record_url(user: Any) -> str:
    """The page of the user's own person record ("" without one)."""
    person = Person.objects.filter(user=user).only("pk").first()
    return reverse("person_detail", args=[person.pk]) if person is not None else ""


@login_required
def person_list(request: AuthedRequest) -> HttpResponse:
    """People in scope, filtered by unit subtree, kind and name/number/initials; 50 a page. A student or
    parent (no capability: the menu's "我的信息") is sent to their own page, never to a search (a
    search they type by hand is answered as before: their own scope, 404 for a unit outside it)."""
    user = request.user
    if not request.GET and not scope.capabilities(user) and not user.is_superuser:
        own = menu.member_home(user) or _own_record_url(user)
        if own:
            return redirect(own)
    form = PersonSearchForm(request.GET or None)
    unit = None
    filters: list[Q] = []
    if form.is_valid():
        data = form.cleaned_data
        if data["unit"]:
            unit = get_object_or_404(scope.units_for(user), pk=data["unit"])
            in_unit = Membership.objects.filter(person=OuterRef("pk"), unit__path__startswith=unit.path)
            filters.append(Q(Exists(in_unit)))
        if data["kind"]:
            filters.append(Q(kind=data["kind"]))
        if query := data["q"].strip():
            filters.append(
                Q(name__icontains=query)
                | Q(external_number__istartswith=query)
                | Q(initials__startswith=query.lower())
            )

    def narrow(people: QuerySet[Person]) -> QuerySet[Person]:
        return people.filter(*filters)

    # Counted as a set of ids; listed from that set when it is small, else by walking the name index
    # (``scope.people_by_ids``): each the fast way for its size.
    by_ids = scope.people_by_ids(user)
    found = narrow(by_ids).count()
    source = by_ids if found <= FEW_PEOPLE else scope.people_for(user)
    memberships = scope.memberships_for(user).select_related("unit").order_by("unit__path", "role")
    people = (
        narrow(source)
        .order_by("initials", "name", "pk")
        .prefetch_related(Prefetch("memberships", queryset=memberships, to_attr="visible_memberships"))
    )
    paged = paginate(request, people, PAGE_SIZE, count=lambda: found)
    paged.page.object_list = list(paged.page.object_list)
    _label_roles([m for p in paged.page.object_list for m in p.visible_memberships])
    return render(request, "org/person_list.html", {"form": form, "unit": unit, "paged": paged})


FEW_PEOPLE = 20_000  # a scope up to this size is listed from its set of ids (``person_list``)


def _visible_links(links: Any, side: str, visible: Any) -> list[Any]:
    """The guardianships in ``links`` whose ``side`` (guardian or student) is in ``visible``.

    Why not ``links.filter(side__in=visible)``: SQLite then runs the scope's subqueries over every
    person of the database (0.12 s for each list on the demo's university); checking the few people
    linked costs a look-up each.
    """
    rows = list(links.select_related(side))
    ids = {getattr(row, f"{side}_id") for row in rows}
    seen = set(visible.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    return [row for row in rows if getattr(row, f"{side}_id") in seen]


def _person_page(request: AuthedRequest, person: Person, status: int = 200, **extra: Any) -> HttpResponse:
    """Render a person with memberships, guardians, wards and coverage, all limited to the scope."""
    user = request.user
    visible = scope.people_for(user)
    editable = set(
        scope.memberships_for(user, Cap.EDIT_PEOPLE).filter(person=person).values_list("pk", flat=True)
    )
    memberships = _label_roles(
        list(scope.memberships_for(user).filter(person=person).select_related("unit").order_by("unit__path"))
    )
    can_edit = scope.people_for(user, Cap.EDIT_PEOPLE).filter(pk=person.pk).exists()
    context: dict[str, Any] = {
        "person": person,
        "memberships": [{"m": m, "removable": m.pk in editable} for m in memberships],
        "guardians": _visible_links(person.guardians.all(), "guardian", visible),
        "wards": _visible_links(person.wards.all(), "student", visible),
        "covered_by": visible.filter(pk=person.covered_by_id).first() if person.covered_by_id else None,
        "covering": visible.filter(covered_by=person).order_by("initials", "pk"),
        "can_reveal": scope.people_for(user, Cap.REVEAL).filter(pk=person.pk).exists(),
        "can_edit": can_edit,
        "revealed": {},
        # The personal sign-in code: whether one is issued (never the code), for those who may issue.
        "code_person": can_edit and person.kind != PersonKind.PARENT,
        "may_have_code": can_edit and credentials.may_have_code(person),
        "signin_code": credentials.current_code(person) if can_edit else None,
        # The staff account (open, invite, reset, deactivate), for those who may grant to this person.
        "account_panel": accounts.panel(user, person),
        "open_form": OpenAccountForm(),
        "invite_form": InviteForm(),
        **extra,
    }
    if can_edit and "membership_form" not in context:
        context["membership_form"] = MembershipForm(user=user)
    return render(request, "org/person_detail.html", context, status=status)


@login_required
@never_cache
def person_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A person in scope, sensitive numbers masked; never cached, as a reveal renders the same page."""
    return _person_page(request, _person_for(request, pk, Cap.VIEW))


@login_required
@require_POST
@never_cache
def person_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """Show one sensitive value on this response only; the action leaves an audit record."""
    person = _person_for(request, pk, Cap.REVEAL)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return _person_page(request, person, status=400)
    field = form.cleaned_data["field"]
    value = actions.reveal_person_field(person, field, actor=request.user)
    return _person_page(request, person, revealed={field: value or _("（空）")})


@sensitive_post_parameters()
@login_required
@never_cache
def person_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """Edit a person; phone and ID are validated and normalised here, stored by the action."""
    person = _person_for(request, pk, Cap.EDIT_PEOPLE)
    if request.method == "POST":
        form = PersonForm(request.POST)
        if form.is_valid():
            try:
                actions.save_person(root=person.root, person=person, **form.action_kwargs())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("人员信息已保存"))
                return redirect("person_detail", pk=person.pk)
    else:
        form = PersonForm(
            initial={
                "name": person.name,
                "kind": person.kind,
                "gender": person.gender,
                "external_number": person.external_number,
                "birth_year": person.birth_year,
                "enrolment_year": person.enrolment_year,
                "is_active": person.is_active,
            }
        )
    return render(request, "org/person_edit.html", {"person": person, "form": form})


@login_required
@require_POST
def person_add_membership(request: AuthedRequest, pk: int) -> HttpResponse:
    """Put a person in a unit of the editing scope, named by code."""
    person = _person_for(request, pk, Cap.EDIT_PEOPLE)
    form = MembershipForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            actions.add_membership(person, form.cleaned_data["unit"], form.cleaned_data["role"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已加入“%(unit)s”") % {"unit": form.cleaned_data["unit"].name})
            return redirect("person_detail", pk=person.pk)
    return _person_page(request, person, membership_form=form)


@login_required
@require_POST
def person_remove_membership(request: AuthedRequest, pk: int, membership_pk: int) -> HttpResponse:
    """Take a person out of a unit; back to the list when they thereby leave the user's scope."""
    person = get_object_or_404(scope.people_for(request.user), pk=pk)
    membership = get_object_or_404(
        scope.memberships_for(request.user).select_related("unit"), pk=membership_pk, person=person
    )
    if not scope.memberships_for(request.user, Cap.EDIT_PEOPLE).filter(pk=membership.pk).exists():
        raise PermissionDenied
    actions.remove_membership(membership)
    messages.success(request, _("已移出“%(unit)s”") % {"unit": membership.unit.name})
    if scope.people_for(request.user).filter(pk=person.pk).exists():
        return redirect("person_detail", pk=person.pk)
    return redirect("person_list")
