"""Pages of the learn app: the public knowledge base, publishing an article, daily-tip schedules,
and the staff preview of quiz papers.

Thin: reads come from ``queries``, writes from ``actions``. The knowledge base (articles and fraud
types) is public and read-only, so members reach it from a link without signing in. Everything else
needs an account: a schedule outside the user's sight answers 404 like a missing one; a visible
schedule the user may not manage answers 403, and nothing changes.
"""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.core.paging import paginate
from fanzha.org.forms import apply_errors
from fanzha.org.scope import Cap, in_scope, scope_paths, units_for

from . import actions, queries
from .forms import ArticleForm, KnowledgeFilterForm, TipScheduleForm, fraud_type_choices
from .models import Audience, FraudType, Question, QuizPaper, Slogan, Tip, TipPost, TipSchedule

PAGE_SIZE = 20
HISTORY_DAYS = 30
AUDIENCES = dict(Audience.choices)


def _audience_labels(codes: list[str]) -> list[str]:
    return [str(AUDIENCES[c]) for c in codes if c in AUDIENCES]


def _slogan_of_the_day() -> Slogan | None:
    count = Slogan.objects.count()
    if not count:
        return None
    return Slogan.objects.order_by("pk")[timezone.localdate().toordinal() % count]


# The public knowledge base ---------------------------------------------------------------------


def knowledge_list(request: HttpRequest) -> HttpResponse:
    """Articles, newest first, filtered by audience, fraud type and kind; open to everyone."""
    types = fraud_type_choices()
    form = KnowledgeFilterForm(request.GET or None, types=types)
    articles = queries.public_articles().select_related("owner_unit")
    filtered = False
    if form.is_valid():
        data = form.cleaned_data
        if data["audience"]:
            articles = articles.filter(queries.json_list_has("audiences", data["audience"]))
        if data["type"]:
            articles = articles.filter(queries.json_list_has("fraud_types", data["type"]))
        if data["kind"]:
            articles = articles.filter(kind=data["kind"])
        filtered = any(data.values())
    paged = paginate(request, articles.order_by("-published_on", "title", "pk"), PAGE_SIZE)
    for article in paged.page:
        article.audience_labels = _audience_labels(article.audiences)  # type: ignore[attr-defined]
    can_publish = bool(scope_paths(request.user, queries.MANAGE))
    return render(
        request,
        "learn/knowledge_list.html",
        {
            "form": form,
            "paged": paged,
            "filtered": filtered,
            "types": types,
            "slogan": _slogan_of_the_day(),
            "can_publish": can_publish,
        },
    )


def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(queries.public_articles().select_related("owner_unit"), slug=slug)
    types = list(FraudType.objects.filter(code__in=article.fraud_types).order_by("order"))
    return render(
        request,
        "learn/article_detail.html",
        {"article": article, "types": types, "audiences": _audience_labels(article.audiences)},
    )


def fraud_type_list(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/fraud_type_list.html", {"types": FraudType.objects.order_by("order")})


def fraud_type_detail(request: HttpRequest, code: str) -> HttpResponse:
    fraud_type = get_object_or_404(FraudType, code=code)
    articles = queries.public_articles().filter(queries.json_list_has("fraud_types", code))
    tips = Tip.objects.filter(is_active=True, fraud_type=code).order_by("code")[:5]
    return render(
        request,
        "learn/fraud_type_detail.html",
        {
            "type": fraud_type,
            "articles": articles.order_by("-published_on", "title")[:10],
            "tips": tips,
        },
    )


# Publishing an article ---------------------------------------------------------------------------


@login_required
def article_publish(request: HttpRequest) -> HttpResponse:
    units = units_for(request.user, queries.MANAGE).filter(is_active=True).order_by("path")
    if not scope_paths(request.user, queries.MANAGE):
        raise PermissionDenied
    initial: dict[str, Any] = {}
    raw = request.GET.get("unit", "")
    if raw.isdigit():
        initial["unit"] = int(raw)
    form = ArticleForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = actions.publish_article(
                unit=data["unit"],
                title=data["title"],
                body=data["body"],
                kind=data["kind"],
                audiences=data["audiences"],
                fraud_types=data["fraud_types"],
                published_on=data["published_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            counted = article.activities.count()
            if counted:
                done = _("已发布“%(title)s”，已计入 %(n)s 项文章推送工作任务。") % {
                    "title": article.title,
                    "n": counted,
                }
            else:
                done = _("已发布“%(title)s”。") % {"title": article.title}
            messages.success(request, done)
            return redirect("learn_article", slug=article.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "learn/article_form.html", {"form": form}, status=status)


# Daily-tip schedules -----------------------------------------------------------------------------


def _require_manager(request: HttpRequest) -> None:
    if not scope_paths(request.user, queries.MANAGE):
        raise PermissionDenied


def _schedule(request: HttpRequest, pk: int) -> TipSchedule:
    """A schedule the user manages: 404 when out of sight, 403 when visible but not theirs to manage."""
    schedule = get_object_or_404(
        queries.schedules_for(request.user).select_related("unit", "channel", "created_by"), pk=pk
    )
    if not in_scope(request.user, schedule.unit, queries.MANAGE):
        raise PermissionDenied
    return schedule


def _sent_counts(schedules: list[TipSchedule], start: date, end: date) -> dict[int, int]:
    rows = (
        TipPost.objects.filter(schedule__in=schedules, day__gte=start, day__lte=end, outbox__status="sent")
        .values("schedule_id")
        .annotate(n=Count("pk"))
        .values_list("schedule_id", "n")
    )
    return dict(rows)


@login_required
def tip_schedule_list(request: HttpRequest) -> HttpResponse:
    """The daily-tip schedules of the classes the user manages, with missed days in the last 30."""
    _require_manager(request)
    schedules: QuerySet[TipSchedule] = queries.schedules_for(request.user, queries.MANAGE)
    unit = None
    raw = request.GET.get("unit", "")
    if raw.isdigit():
        unit = get_object_or_404(units_for(request.user, queries.MANAGE), pk=int(raw))
        schedules = schedules.filter(unit__path__startswith=unit.path)
    paged = paginate(request, schedules.select_related("unit", "channel").order_by("unit__path", "pk"), 50)
    today = timezone.localdate()
    end = today - timedelta(days=1)
    start = today - timedelta(days=HISTORY_DAYS)
    items = list(paged.page)
    sent = _sent_counts(items, start, end)
    for schedule in items:
        first = max(start, schedule.starts_on)
        days = max(0, (end - first).days + 1)
        schedule.missed = max(0, days - sent.get(schedule.pk, 0))  # type: ignore[attr-defined]
    return render(
        request,
        "learn/tip_schedule_list.html",
        {"paged": paged, "items": items, "unit": unit, "history_days": HISTORY_DAYS},
    )


@login_required
def tip_schedule_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    channels = (
        queries.schedulable_channels(request.user).select_related("unit").order_by("unit__path", "name")
    )
    raw = request.GET.get("unit", "")
    if raw.isdigit():
        channels = channels.filter(unit_id=int(raw))
    form = TipScheduleForm(request.POST or None, channels=channels)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schedule = actions.create_tip_schedule(
                unit=data["channel"].unit,
                channel=data["channel"],
                actor=request.user,
                post_time=data["post_time"],
                no_repeat_days=data["no_repeat_days"],
                audience=data["audience"],
                starts_on=data["starts_on"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已为“%(name)s”设置每日防骗提示。") % {"name": schedule.channel.name})
            return redirect("learn_tip_schedule", pk=schedule.pk)
    status = 400 if request.method == "POST" else 200
    can_add_channel = bool(scope_paths(request.user, Cap.EDIT_UNITS))
    return render(
        request,
        "learn/tip_schedule_form.html",
        {"form": form, "has_channels": channels.exists(), "can_add_channel": can_add_channel},
        status=status,
    )


@login_required
def tip_schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A schedule's last 30 days: each day's tip and whether it was sent; missed days stand out."""
    schedule = _schedule(request, pk)
    today = timezone.localdate()
    history = actions.tip_history(schedule, today - timedelta(days=HISTORY_DAYS - 1), today, today)
    return render(
        request,
        "learn/tip_schedule_detail.html",
        {
            "schedule": schedule,
            "history": history,
            "missed": sum(1 for row in history if row.missed),
            "audience": AUDIENCES.get(schedule.audience, schedule.audience),
        },
    )


@login_required
@require_POST
def tip_schedule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(request, pk)
    actions.set_tip_schedule_active(schedule, not schedule.is_active)
    if schedule.is_active:
        messages.success(request, _("已恢复每日提示。"))
    else:
        messages.success(request, _("已暂停每日提示。"))
    return redirect("learn_tip_schedule", pk=schedule.pk)


@login_required
@require_POST
def tip_schedule_post(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the tip of a day that has none (today's, or a missed day's) now."""
    schedule = _schedule(request, pk)
    today = timezone.localdate()
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        day = None
    if day is None or not schedule.starts_on <= day <= today or day < today - timedelta(days=HISTORY_DAYS):
        messages.error(request, _("日期不正确。"))
        return redirect("learn_tip_schedule", pk=schedule.pk)
    try:
        post, queued = actions.post_tip(schedule, day)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if queued:
            messages.success(request, _("已排队发送 %(day)s 的提示。") % {"day": day.isoformat()})
        else:
            messages.info(
                request, _("%(day)s 的提示此前已排队，不会重复发送。") % {"day": post.day.isoformat()}
            )
    return redirect("learn_tip_schedule", pk=schedule.pk)


# Quiz papers (staff preview) ---------------------------------------------------------------------


def _require_staff(request: HttpRequest) -> None:
    if not scope_paths(request.user, Cap.VIEW):
        raise PermissionDenied


@login_required
def quiz_paper_list(request: HttpRequest) -> HttpResponse:
    """The papers and the size of the question bank per kind and audience."""
    _require_staff(request)
    bank: dict[str, dict[str, int]] = {}
    for kind, audiences in Question.objects.filter(is_active=True).values_list("kind", "audiences"):
        for audience in audiences or [Audience.PUBLIC]:
            bank.setdefault(audience, {}).setdefault(kind, 0)
            bank[audience][kind] += 1
    rows = [
        {
            "label": label,
            "counts": [bank.get(code, {}).get(kind, 0) for kind in actions.KIND_ORDER],
        }
        for code, label in Audience.choices
    ]
    papers = list(QuizPaper.objects.order_by("code"))
    kind_labels = dict(Question.Kind.choices)
    for paper in papers:
        paper.rule_labels = [  # type: ignore[attr-defined]
            (kind_labels.get(kind, kind), count) for kind, count in (paper.rules or {}).items()
        ]
        paper.audience_label = AUDIENCES.get(paper.audience, paper.audience)  # type: ignore[attr-defined]
    return render(
        request,
        "learn/quiz_paper_list.html",
        {"papers": papers, "bank": rows, "kinds": [kind_labels[k] for k in actions.KIND_ORDER]},
    )


@login_required
def quiz_paper_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """A sample paper as a member would draw it, with the answers and explanations shown."""
    _require_staff(request)
    paper = get_object_or_404(QuizPaper, pk=pk)
    raw = request.GET.get("seed", "")
    seed = int(raw) if raw.isdigit() and len(raw) < 19 else secrets.randbelow(10**9)
    error = ""
    questions: list[Question] = []
    try:
        ids = actions.draw_questions(paper, random.Random(seed))
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        by_pk = Question.objects.in_bulk(ids)
        questions = [by_pk[i] for i in ids]
    return render(
        request,
        "learn/quiz_preview.html",
        {
            "paper": paper,
            "questions": questions,
            "error": error,
            "seed": seed,
            "next_seed": secrets.randbelow(10**9),
            "audience": AUDIENCES.get(paper.audience, paper.audience),
        },
    )
