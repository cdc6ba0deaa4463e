"""Template pages: the list, one template's goals, obligations and sections, upload or edit, downloads.

Thin: reads come from ``queries.templates_for`` and ``scope``, writes from ``actions``,
documents from ``documents``. A template or unit outside the user's scope answers 404 exactly
like a missing one. Adding a template needs ``Cap.CAMPAIGN`` on some unit (the new template
belongs to one of them); editing needs it at the template's owner unit; otherwise 403.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fanzha.core.downloads import generated_response
from fanzha.org.models import Unit, UnitKind
from fanzha.org.names import template_audience_label
from fanzha.org.scope import Cap, in_scope, scope_paths, units_for

from .. import periods as P
from ..documents import formats
from ..documents import plan as documents
from ..models import CampaignTemplate
from ..queries import templates_for
from ..spec import LetterLevel, ObligationRule, TemplateError, TemplateSpec, builtin_templates
from .actions import save_custom_template
from .forms import TemplateForm

_LEAF_KINDS = (UnitKind.CLASS, UnitKind.DORM_ROOM, UnitKind.DORM_BUILDING)


def error_text(exc: TemplateError) -> str:
    """A template error for people: which file, which field, what is wrong."""
    return _("文件 %(file)s，字段 %(field)s：%(message)s") % {
        "file": exc.source,
        "field": exc.where,
        "message": exc.message,
    }


@lru_cache(maxsize=1)
def _builtin_order() -> dict[str, int]:
    """Built-in templates in file order (篇一 … 篇六); the files do not change while the server runs."""
    try:
        return {code: i for i, code in enumerate(builtin_templates())}
    except TemplateError:
        return {}


def _owner_units(user: Any) -> QuerySet[Unit]:
    return units_for(user, Cap.CAMPAIGN).exclude(kind__in=_LEAF_KINDS).order_by("path")


def _template_for(request: HttpRequest, code: str) -> CampaignTemplate:
    return get_object_or_404(templates_for(request.user).select_related("owner_unit"), code=code)


def _can_edit(user: Any, template: CampaignTemplate) -> bool:
    return (
        template.source == CampaignTemplate.Source.CUSTOM
        and template.owner_unit is not None
        and in_scope(user, template.owner_unit, Cap.CAMPAIGN)
    )


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def is_template_admin(user: Any) -> bool:
    """Who sees the advanced part (codes, the TOML file, upload and download): those who may own a
    template. Everyone else reads templates by their Chinese titles and summaries only."""
    return bool(user.is_superuser or _owner_units(user).exists())


def with_summaries(templates: Any) -> list[dict[str, Any]]:
    """Each template with its summary (from its text; a broken template simply has none)."""
    rows = []
    for template in templates:
        try:
            summary = template.spec().summary
        except TemplateError:
            summary = ""
        rows.append({"template": template, "summary": summary})
    return rows


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    """Built-in templates first, then the users' own ones the viewer may see."""
    rows = templates_for(request.user).select_related("owner_unit").order_by("source", "code")
    order = _builtin_order()
    templates = sorted(
        rows, key=lambda t: (t.source != CampaignTemplate.Source.BUILTIN, order.get(t.code, 99), t.code)
    )
    return render(
        request,
        "campaigns/template_list.html",
        {
            "rows": with_summaries(templates),
            "templates": templates,
            "can_create": bool(scope_paths(request.user, Cap.CAMPAIGN)),
            "advanced": is_template_admin(request.user),
        },
    )


def _demanded(rule: ObligationRule, start: date, end: date) -> tuple[int, list[str]]:
    """How many periods a campaign from ``start`` to ``end`` would demand of one obligation (semesters by
    the default calendar) and each one's dates: what a unit signs up for, seen before the campaign starts.
    Daily periods are only counted (one per day)."""
    due = P.month_day(rule.due, start, end) if rule.due else None
    listed = P.campaign_periods(rule.frequency, start, end, due=due)
    if rule.frequency == P.DAILY:
        return len(listed), []
    texts = [
        _("%(start)s至%(end)s")
        % {"start": documents.chinese_date(p.start), "end": documents.chinese_date(p.end)}
        for p in listed
    ]
    return len(listed), texts


def _detail_context(spec: TemplateSpec) -> dict[str, Any]:
    window = documents.window_for(spec)
    today, ends = window.start, window.end
    evidence = documents.evidence_labels()
    metrics = documents.metric_labels()
    naming = documents.Naming(spec, None)
    # Texts that may name a placeholder ("全{locality}", "{leader}"), filled as the preview fills them:
    # a blank line for what is left to the campaign.
    fill = documents.filler(documents.plan_values(spec, naming=naming))
    spec = replace(
        spec,
        goals=tuple(replace(g, description=fill(g.description)) for g in spec.goals),
        obligations=tuple(
            replace(o, title=fill(o.title), description=fill(o.description)) for o in spec.obligations
        ),
        accountability=tuple(replace(a, description=fill(a.description)) for a in spec.accountability),
        leadership=tuple(replace(x, holder=fill(x.holder), duty=fill(x.duty)) for x in spec.leadership),
    )
    return {
        "spec": spec,
        "audiences": [template_audience_label(a, spec.issuer_kinds) for a in spec.audiences],
        "levels": [_label(UnitKind, k) for k in spec.levels],
        "issuers": [_label(UnitKind, k) for k in spec.issuer_kinds],
        "goals": [
            {
                "goal": g,
                "metric": metrics.get(g.metric) or _("自定义"),
                "target": documents.goal_target_text(g, g.measure),
                "deadline": window.text(g.deadline),
            }
            for g in documents.goals_in_order(spec.goals, window)
        ],
        "obligations": [
            {
                "rule": o,
                "level": _label(UnitKind, o.level),
                "frequency": documents.frequency_text(o, window),
                "responsible": naming.role(o.responsible),
                "evidence": "、".join(evidence.get(e, e) for e in o.evidence),
                "periods": _demanded(o, today, ends),
            }
            for o in spec.obligations
        ],
        "departments": [{"dept": d, "tracked": _tracking(d, spec, window)} for d in spec.departments],
        "sample_start": documents.chinese_date(today),
        "sample_end": documents.chinese_date(ends),
        "accountability": [
            {"rule": a, "action": documents.action_labels().get(a.action, a.action)}
            for a in spec.accountability
        ],
        "letters": [_letter(x, fill, naming) for x in spec.letters],
        "preview": documents.build_plan(spec),
    }


def _tracking(dept: Any, spec: TemplateSpec, window: Any) -> str:
    """How a tracked department shows its duties done (每月不少于1次, with which evidence); "" when its
    duties only print in the plan."""
    rule = next((r for r in spec.duty_rules if r.department == dept.name), None)
    if rule is None:
        return ""
    evidence = documents.evidence_labels()
    return _("职责作为工作任务：%(frequency)s，佐证：%(evidence)s") % {
        "frequency": documents.frequency_text(rule, window),
        "evidence": "、".join(str(evidence.get(e, e)) for e in rule.evidence),
    }


def _letter(letter: LetterLevel, fill: Any, naming: documents.Naming) -> dict[str, Any]:
    """A letter level as the template's page shows it: its placeholders filled as the plan preview fills
    them, the two signing sides by their kind (学校, 区县教育局), never a raw "{organisation}"."""
    upper, lower = naming.kind(letter.upper), naming.kind(letter.lower)
    sides = documents.filler({"upper_unit": upper, "lower_unit": lower})
    return {
        "letter": replace(letter, title=fill(sides(letter.title)), body=fill(sides(letter.body))),
        "upper": upper,
        "lower": lower,
    }


@login_required
@require_GET
def template_detail(request: HttpRequest, code: str) -> HttpResponse:
    """What a template asks for — goals, obligations, rules — and its plan text, with downloads."""
    template = _template_for(request, code)
    context: dict[str, Any] = {
        "template": template,
        "can_edit": _can_edit(request.user, template),
        "can_create": bool(scope_paths(request.user, Cap.CAMPAIGN)),
        "advanced": is_template_admin(request.user),
    }
    try:
        context.update(_detail_context(template.spec()))
    except TemplateError as exc:
        context["error"] = error_text(exc)
    units = units_for(request.user).exclude(kind__in=_LEAF_KINDS).order_by("path")
    context["units"] = units[:500]
    return render(request, "campaigns/template_detail.html", context)


def _save(
    request: HttpRequest, form: TemplateForm, template: CampaignTemplate | None
) -> CampaignTemplate | None:
    """Validate and store; on a template error the message goes on the form and the text stays editable."""
    data = form.cleaned_data
    owner = data["owner"] if template is None else template.owner_unit
    assert owner is not None  # custom templates always have one
    try:
        return save_custom_template(
            data["source_text"],
            source_name=data["source_name"],
            owner_unit=owner,
            user=request.user,
            template=template,
        )
    except TemplateError as exc:
        form.add_error(None, error_text(exc))
        bound = cast(QueryDict, form.data).copy()
        bound["text"] = data["source_text"]
        form.data = bound
        return None


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    """Upload a TOML file or paste its text; ``?from=CODE`` starts from a visible template's text."""
    if not scope_paths(request.user, Cap.CAMPAIGN):
        raise PermissionDenied
    owners = _owner_units(request.user)
    initial: dict[str, Any] = {}
    source = request.GET.get("from")
    if source:
        initial["text"] = _template_for(request, source).text
    form = TemplateForm(request.POST or None, request.FILES or None, owners=owners, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, None)
        if saved is not None:
            messages.success(request, _("模板“%(title)s”已保存") % {"title": saved.title})
            return redirect("template_detail", code=saved.code)
    return render(request, "campaigns/template_form.html", {"form": form, "template": None})


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Edit the text of one's own template; its code stays (campaigns refer to it)."""
    template = _template_for(request, code)
    if not _can_edit(request.user, template):
        raise PermissionDenied
    form = TemplateForm(request.POST or None, request.FILES or None, initial={"text": template.text})
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, template)
        if saved is not None:
            messages.success(request, _("模板“%(title)s”已保存") % {"title": saved.title})
            return redirect("template_detail", code=saved.code)
    return render(request, "campaigns/template_form.html", {"form": form, "template": template})


@login_required
@require_GET
def template_download(request: HttpRequest, code: str) -> HttpResponse:
    """The template's TOML, to keep, edit offline and upload again."""
    template = _template_for(request, code)
    return generated_response(
        template.text.encode(), "application/toml; charset=utf-8", f"{template.code}.toml"
    )


@login_required
@require_GET
def template_plan(request: HttpRequest, code: str) -> HttpResponse:
    """The plan document of the template for a unit in the user's scope, as DOCX or PDF."""
    template = _template_for(request, code)
    unit_id, fmt = request.GET.get("unit", ""), request.GET.get("format", "docx")
    if not unit_id.isdigit() or fmt not in ("docx", "pdf"):
        raise Http404
    unit = get_object_or_404(units_for(request.user), pk=unit_id)
    try:
        plan = documents.build_plan(template.spec(), unit)
        content, content_type = formats.render(plan, fmt)
    except TemplateError as exc:
        return HttpResponse(error_text(exc), status=409, content_type="text/plain; charset=utf-8")
    except formats.CJKFontMissing as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    return generated_response(content, content_type, f"{plan.title}.{fmt}")
