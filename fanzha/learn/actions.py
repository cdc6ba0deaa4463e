"""Every write of the learn app: content sync, quiz papers and attempts, articles, daily tips.

Each verb is atomic and takes narrow arguments; views, commands and the reach app's member pages
call these and nothing else. Whether the caller may act on a unit is decided before the call
(``org.scope``); the verbs check that the data makes sense.

Quiz: a paper is a rule (how many questions of each kind for an audience); an attempt draws its
questions when it starts and keeps them. One attempt per person and paper may be open at a time
(a unique constraint, so two taps on "start" make one attempt); submitting locks the row, so a
second submit returns the first result unchanged and says it was a duplicate. An answer that
arrives after the deadline (plus ``GRACE`` for a slow phone network) is scored but marked late
and does not pass.

Daily tips: ``post_daily_tips`` picks one tip per schedule and day and queues it in the notify
outbox with the key ``tip:<schedule>:<day>``; ``notify.delivery`` sends it with the platform's
message format and signing, retries failures and never sends a row twice. A day whose tip was
not sent stays visible through ``missed_days``; a tip not sent by the end of its day expires
(``tip_expiry``) instead of going out later with the others in a burst.
"""

from __future__ import annotations

import importlib
import logging
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.campaigns.activities.actions import MAX_DAYS_AHEAD, record_activity
from fanzha.campaigns.models import Activity, ActivityKind, Campaign, Obligation
from fanzha.notify import actions as notify
from fanzha.notify.models import Channel, Outbox
from fanzha.org.models import Membership, MembershipRole, Person, PersonKind, Unit, UnitKind

from .models import (
    Article,
    Attempt,
    Audience,
    ClassTipPost,
    FraudType,
    Question,
    QuizPaper,
    Slogan,
    Tip,
    TipPost,
    TipSchedule,
)

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # a submit this late still counts as on time (slow phone networks)
TRUE_FALSE_CHOICES = ["正确", "错误"]  # data: the stored choices of every true/false question
KIND_ORDER = (Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.TRUE_FALSE)
MAX_NO_REPEAT_DAYS = 365
TIP_ACTIVITY_LOOKBACK = timedelta(days=31)  # sent tips this recent are recorded as "tip" activities


# Content sync ------------------------------------------------------------------------------------


@dataclass
class ContentSet:
    """Content records to sync: dataclasses (or mappings) whose field names are the models' fields."""

    fraud_types: Sequence[Any] = ()
    articles: Sequence[Any] = ()
    tips: Sequence[Any] = ()
    slogans: Sequence[Any] = ()
    questions: Sequence[Any] = ()


@dataclass
class SyncResult:
    """Per kind of content: how many rows were created, changed and retired."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, created: int = 0, updated: int = 0, retired: int = 0) -> None:
        self.counts[name] = {"created": created, "updated": updated, "retired": retired}

    def __str__(self) -> str:
        return "; ".join(
            f"{name}: {c['created']} created, {c['updated']} updated, {c['retired']} retired"
            for name, c in self.counts.items()
        )


def _call_loader(loader: Any, directory: Path | None) -> list[Any]:
    return list(loader() if directory is None else loader(directory))


def load_builtin_content(directory: Path | None = None) -> ContentSet:
    """The content that ships with fanzha (``learn/content/*.toml``), or the same files in ``directory``.

    The loaders are imported here, not at module level: the data files are optional for every
    other verb of this module.
    """
    from . import content

    questions = importlib.import_module("fanzha.learn.questions")
    return ContentSet(
        fraud_types=_call_loader(content.load_fraud_types, directory),
        articles=_call_loader(content.load_articles, directory),
        tips=_call_loader(content.load_tips, directory),
        slogans=_call_loader(content.load_slogans, directory),
        questions=_call_loader(questions.load_questions, directory),
    )


def _get(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _audiences(values: Any, where: str) -> list[str]:
    audiences = [str(v) for v in (values or [])]
    unknown = [a for a in audiences if a not in Audience.values]
    if unknown:
        raise ValidationError(f"{where}: unknown audience {unknown}")
    return audiences


def _question_row(record: Any) -> dict[str, Any]:
    code = str(_get(record, "code") or "")
    kind = str(_get(record, "kind") or "")
    where = f"question {code!r}"
    if not code:
        raise ValidationError("a question has no code")
    if kind not in Question.Kind.values:
        raise ValidationError(f"{where}: unknown kind {kind!r}")
    choices = [str(c) for c in (_get(record, "choices") or [])]
    if kind == Question.Kind.TRUE_FALSE and not choices:
        choices = list(TRUE_FALSE_CHOICES)
    if len(choices) < 2 or len(set(choices)) != len(choices):
        raise ValidationError(f"{where}: needs two or more different choices")
    raw_answer = _get(record, "answer")
    try:
        answer = sorted(
            {int(a) for a in (raw_answer if isinstance(raw_answer, list | tuple) else [raw_answer])}
        )
    except (TypeError, ValueError):
        answer = []
    if not answer or not all(0 <= a < len(choices) for a in answer):
        raise ValidationError(f"{where}: answer {raw_answer!r} does not name its choices")
    if kind != Question.Kind.MULTIPLE and len(answer) != 1:
        raise ValidationError(f"{where}: a {kind} question has exactly one answer")
    stem = str(_get(record, "stem") or "").strip()
    explanation = str(_get(record, "explanation") or "").strip()
    if not stem or not explanation:
        raise ValidationError(f"{where}: stem and explanation are required")
    return {
        "code": code,
        "kind": kind,
        "stem": stem,
        "choices": choices,
        "answer": answer,
        "explanation": explanation,
        "audiences": _audiences(_get(record, "audiences"), where),
        "fraud_type": str(_get(record, "fraud_type") or ""),
        "difficulty": int(_get(record, "difficulty") or 1),
        "is_builtin": True,
        "is_active": True,
    }


def _upsert(model: Any, key: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Create or update ``rows`` keyed by ``key``; returns (created, updated). One query and two bulk
    writes whatever the number of rows."""
    keys = [row[key] for row in rows]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ValidationError(f"{model.__name__}: duplicate {key} {dupes[:5]}")
    existing = {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": keys})}
    new, changed, changed_fields = [], [], set()
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            new.append(model(**row))
            continue
        diff = [name for name, value in row.items() if getattr(obj, name) != value]
        if diff:
            for name in diff:
                setattr(obj, name, row[name])
            changed.append(obj)
            changed_fields.update(diff)
    model.objects.bulk_create(new, batch_size=500)
    if changed:
        model.objects.bulk_update(changed, sorted(changed_fields), batch_size=500)
    return len(new), len(changed)


@transaction.atomic
def sync_content(source: ContentSet | Path | str | None = None) -> SyncResult:
    """Bring the built-in content into the database: fraud types, articles, tips, slogans, questions.

    ``source`` is a ``ContentSet``, a directory of content files (read by the loaders), or None for
    the files that ship with fanzha. Idempotent: a second run changes nothing. Built-in questions and
    tips no longer in the files are switched off (attempts and posts keep pointing at them); built-in
    articles and slogans no longer there are removed. Organisations' own articles are never touched.
    Invalid content raises ``ValidationError`` naming the record, and nothing is written.
    """
    if not isinstance(source, ContentSet):
        try:
            source = load_builtin_content(Path(source) if source is not None else None)
        except ValueError as exc:  # content.ContentError: names the file and the field
            raise ValidationError(str(exc)) from exc
    result = SyncResult()

    types = [
        {
            "code": str(_get(r, "code")),
            "name": str(_get(r, "name")),
            "order": int(_get(r, "order") or 0),
            "how_it_works": str(_get(r, "how_it_works") or "").strip(),
            "warning_signs": [str(s) for s in (_get(r, "warning_signs") or [])],
            "what_to_do": [str(s) for s in (_get(r, "what_to_do") or [])],
        }
        for r in source.fraud_types
    ]
    created, updated = _upsert(FraudType, "code", types)
    result.add("fraud_types", created, updated)
    known_types = set(FraudType.objects.values_list("code", flat=True))

    def fraud_type(value: Any, where: str) -> str:
        code = str(value or "")
        if code and code not in known_types:
            raise ValidationError(f"{where}: unknown fraud type {code!r}")
        return code

    articles = []
    for r in source.articles:
        slug = str(_get(r, "slug") or "")
        where = f"article {slug!r}"
        kind = str(_get(r, "kind") or "")
        if not slug or kind not in Article.Kind.values:
            raise ValidationError(f"{where}: needs a slug and a known kind (got {kind!r})")
        published = _get(r, "published_on")
        if isinstance(published, str):
            published = date.fromisoformat(published)
        articles.append(
            {
                "slug": slug,
                "title": str(_get(r, "title") or "").strip(),
                "kind": kind,
                "audiences": _audiences(_get(r, "audiences"), where),
                "fraud_types": [fraud_type(c, where) for c in (_get(r, "fraud_types") or [])],
                "body": str(_get(r, "body") or "").strip(),
                "published_on": published,
                "owner_unit": None,
                "is_builtin": True,
            }
        )
    taken = Article.objects.filter(slug__in=[a["slug"] for a in articles], is_builtin=False)
    if taken.exists():
        raise ValidationError(
            f"article slugs already used by an organisation: {list(taken.values_list('slug'))}"
        )
    created, updated = _upsert(Article, "slug", articles)
    gone = Article.objects.filter(is_builtin=True).exclude(slug__in=[a["slug"] for a in articles])
    _total, by_model = gone.delete()
    result.add("articles", created, updated, by_model.get(Article._meta.label, 0))

    tips: list[dict[str, Any]] = [
        {
            "code": str(_get(r, "code")),
            "text": str(_get(r, "text") or "").strip(),
            "audiences": _audiences(_get(r, "audiences"), f"tip {_get(r, 'code')!r}"),
            "fraud_type": fraud_type(_get(r, "fraud_type"), f"tip {_get(r, 'code')!r}"),
            "is_builtin": True,
            "is_active": True,
        }
        for r in source.tips
    ]
    if any(not t["text"] or len(t["text"]) > 300 for t in tips):
        raise ValidationError("a tip is empty or longer than 300 characters")
    created, updated = _upsert(Tip, "code", tips)
    retired = (
        Tip.objects.filter(is_builtin=True, is_active=True)
        .exclude(code__in=[t["code"] for t in tips])
        .update(is_active=False)
    )
    result.add("tips", created, updated, retired)

    slogans = [
        {"text": str(_get(r, "text")).strip(), "audiences": _audiences(_get(r, "audiences"), "slogan")}
        for r in source.slogans
    ]
    created, updated = _upsert(Slogan, "text", slogans)
    retired, _by_model = Slogan.objects.exclude(text__in=[s["text"] for s in slogans]).delete()
    result.add("slogans", created, updated, retired)

    questions = [_question_row(r) for r in source.questions]
    for row in questions:
        row["fraud_type"] = fraud_type(row["fraud_type"], f"question {row['code']!r}")
    created, updated = _upsert(Question, "code", questions)
    retired = (
        Question.objects.filter(is_builtin=True, is_active=True)
        .exclude(code__in=[q["code"] for q in questions])
        .update(is_active=False)
    )
    result.add("questions", created, updated, retired)

    result.add("papers", ensure_default_papers())
    return result


# Quiz papers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperDefault:
    audience: str
    title: str
    rules: dict[str, int]
    time_limit_minutes: int = 20
    pass_mark: int = 80
    max_attempts: int = 3


# Titles are data (stored in the database), in the default language of the deployment.
DEFAULT_PAPERS: tuple[PaperDefault, ...] = (
    PaperDefault(
        Audience.CHILD, "防骗小卫士知识问答（小朋友和家长一起做）", {"single": 5, "true_false": 5}, 15
    ),
    PaperDefault(
        Audience.STUDENT, "学生防范电信网络诈骗知识测试", {"single": 10, "multiple": 5, "true_false": 5}
    ),
    PaperDefault(
        Audience.STAFF, "教职工防范电信网络诈骗知识测试", {"single": 10, "multiple": 5, "true_false": 5}
    ),
    PaperDefault(
        Audience.PARENT, "家长防范电信网络诈骗知识测试", {"single": 8, "multiple": 2, "true_false": 5}, 15
    ),
    PaperDefault(Audience.ELDERLY, "老年人防骗知识问答", {"single": 5, "true_false": 5}, 15),
    PaperDefault(Audience.PUBLIC, "全民反诈知识测试", {"single": 8, "multiple": 2, "true_false": 5}, 15),
)


def default_paper_code(audience: str) -> str:
    return f"default-{audience}"


def ensure_default_papers() -> int:
    """One default paper per audience (kept as staff may have changed it); returns how many were new."""
    created = 0
    for spec in DEFAULT_PAPERS:
        _paper, new = QuizPaper.objects.get_or_create(
            code=default_paper_code(spec.audience),
            defaults={
                "title": spec.title,
                "audience": spec.audience,
                "rules": dict(spec.rules),
                "time_limit_minutes": spec.time_limit_minutes,
                "pass_mark": spec.pass_mark,
                "max_attempts": spec.max_attempts,
            },
        )
        created += new
    return created


def paper_rules(paper: QuizPaper) -> list[tuple[str, int]]:
    """The paper's (kind, count) pairs in paper order; a broken rule raises ``ValidationError``."""
    rules = paper.rules or {}
    unknown = [k for k in rules if k not in Question.Kind.values]
    counts: list[tuple[str, int]] = [(str(kind), rules[kind]) for kind in KIND_ORDER if rules.get(kind)]
    if unknown or not counts or any(not isinstance(n, int) or n < 0 for _k, n in counts):
        raise ValidationError(_("试卷“%(paper)s”的抽题规则不正确。") % {"paper": paper.title}, code="rules")
    return counts


def draw_questions(paper: QuizPaper, rng: random.Random | None = None) -> list[int]:
    """Question ids for one attempt: per kind, ``count`` distinct active questions drawn at random.

    Questions for the paper's audience come first; when there are too few, questions for the
    general public (or for everyone: no audience) fill the rest. One query.
    """
    rng = rng or random.Random(secrets.randbits(64))
    rules = paper_rules(paper)
    bank = list(
        Question.objects.filter(is_active=True, kind__in=[k for k, _n in rules])
        .order_by("pk")
        .values_list("pk", "kind", "audiences")
    )
    drawn: list[int] = []
    for kind, count in rules:
        matched = [pk for pk, k, aud in bank if k == kind and paper.audience in (aud or [])]
        picked = rng.sample(matched, min(count, len(matched)))
        if len(picked) < count:
            seen = set(picked)
            general = [
                pk
                for pk, k, aud in bank
                if k == kind and pk not in seen and (not aud or Audience.PUBLIC in aud)
            ]
            picked += rng.sample(general, min(count - len(picked), len(general)))
        if len(picked) < count:
            raise ValidationError(
                _("题库中“%(kind)s”不足 %(count)s 道，无法组卷。")
                % {"kind": Question.Kind(kind).label, "count": count},
                code="bank",
            )
        drawn += picked
    return drawn


def attempts_used(paper: QuizPaper, person: Person) -> int:
    return Attempt.objects.filter(paper=paper, person=person).count()


def attempts_left(paper: QuizPaper, person: Person) -> int | None:
    """Attempts the person may still start (None: no limit). An open attempt counts as used."""
    if not paper.max_attempts:
        return None
    return max(0, paper.max_attempts - attempts_used(paper, person))


def _score(attempt: Attempt, answers: Any, now: datetime) -> Attempt:
    """Score and close an attempt (the row must be locked by the caller)."""
    questions = {q.pk: q for q in Question.objects.filter(pk__in=attempt.questions)}
    given = normalise_answers(answers, questions)
    correct = sum(
        1
        for pk in attempt.questions
        if pk in questions and given.get(str(pk)) == sorted(questions[pk].answer)
    )
    total = len(attempt.questions)
    attempt.answers = given
    attempt.score = 100 * correct // total if total else 0
    attempt.submitted_at = now
    attempt.late = now > attempt.deadline + GRACE
    attempt.passed = not attempt.late and attempt.score >= attempt.paper.pass_mark
    attempt.save(update_fields=["answers", "score", "submitted_at", "late", "passed"])
    return attempt


def normalise_answers(answers: Any, questions: Mapping[int, Question]) -> dict[str, list[int]]:
    """``{question id: sorted choice indexes}`` from what a form or API sent; anything that does not
    name a question of the attempt or one of its choices is dropped (and so scores as wrong)."""
    result: dict[str, list[int]] = {}
    if not isinstance(answers, Mapping):
        return result
    for raw_key, raw_value in answers.items():
        try:
            pk = int(raw_key)
        except (TypeError, ValueError):
            continue
        question = questions.get(pk)
        if question is None:
            continue
        values = raw_value if isinstance(raw_value, list | tuple | set) else [raw_value]
        picked: set[int] = set()
        for value in values:
            try:
                index = int(value)
            except (TypeError, ValueError):
                continue
            if 0 <= index < len(question.choices):
                picked.add(index)
        if picked:
            result[str(pk)] = sorted(picked)
    return result


@transaction.atomic
def start_attempt(
    paper: QuizPaper, person: Person, now: datetime | None = None, rng: random.Random | None = None
) -> Attempt:
    """Start an attempt, or return the person's open one on this paper.

    An open attempt past its deadline (and the grace) is closed first with the answers it holds
    (late, not passed). Refused when the paper is off or its attempts are used up.
    """
    now = now or timezone.now()
    if not paper.is_active:
        raise ValidationError(_("该试卷已停用。"), code="inactive")
    # Serialise one person's starts (PostgreSQL row lock; SQLite locks the whole database anyway).
    list(Person.objects.select_for_update().filter(pk=person.pk).values_list("pk", flat=True))
    current = (
        Attempt.objects.select_for_update()
        .select_related("paper")
        .filter(paper=paper, person=person, submitted_at__isnull=True)
        .first()
    )
    if current is not None:
        if now <= current.deadline + GRACE:
            return current
        _score(current, current.answers, now)
    if paper.max_attempts and attempts_used(paper, person) >= paper.max_attempts:
        raise ValidationError(
            _("该试卷最多可作答 %(n)s 次，你的作答次数已用完。") % {"n": paper.max_attempts},
            code="max_attempts",
        )
    questions = draw_questions(paper, rng)
    try:
        with transaction.atomic():
            return Attempt.objects.create(
                paper=paper,
                person=person,
                questions=questions,
                started_at=now,
                deadline=now + timedelta(minutes=paper.time_limit_minutes),
            )
    except IntegrityError:  # another request opened one a moment ago
        return Attempt.objects.get(paper=paper, person=person, submitted_at__isnull=True)


@dataclass(frozen=True)
class SubmitResult:
    """The scored attempt, and whether this submit was a repeat of an earlier one (nothing changed)."""

    attempt: Attempt
    duplicate: bool

    @property
    def late(self) -> bool:
        return self.attempt.late

    @property
    def passed(self) -> bool:
        return self.attempt.passed


@transaction.atomic
def submit_attempt(attempt: Attempt, answers: Mapping[str, Any], now: datetime | None = None) -> SubmitResult:
    """Score an attempt once. Answers are ``{question id: [choice indexes]}`` (a single index is fine).

    A multiple-choice question scores only when exactly its right choices are picked. A second
    submit returns the first result unchanged with ``duplicate`` set. After the deadline plus
    ``GRACE`` the attempt is scored but late, and does not pass.
    """
    now = now or timezone.now()
    fresh = Attempt.objects.select_for_update().select_related("paper").get(pk=attempt.pk)
    if fresh.submitted_at is not None:
        return SubmitResult(fresh, duplicate=True)
    return SubmitResult(_score(fresh, answers, now), duplicate=False)


def attempt_questions(attempt: Attempt) -> list[Question]:
    """The attempt's questions in their drawn order (one query)."""
    by_pk = Question.objects.in_bulk(attempt.questions)
    return [by_pk[pk] for pk in attempt.questions if pk in by_pk]


@dataclass(frozen=True)
class Review:
    question: Question
    given: list[int]
    correct: bool


def review(attempt: Attempt) -> list[Review]:
    """Each question of a submitted attempt with the answer given and whether it was right."""
    given = attempt.answers or {}
    return [
        Review(q, given.get(str(q.pk), []), given.get(str(q.pk)) == sorted(q.answer))
        for q in attempt_questions(attempt)
    ]


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _campaign_q(campaign: Campaign, prefix: str = "") -> Q:
    """Passed attempts that count for a campaign: on its own papers, or on a general paper during it."""
    during = {
        f"{prefix}paper__campaign__isnull": True,
        f"{prefix}submitted_at__gte": _day_start(campaign.starts_on),
        f"{prefix}submitted_at__lt": _day_start(campaign.ends_on + timedelta(days=1)),
    }
    return Q(**{f"{prefix}paper__campaign": campaign}) | Q(**during)


def passed_attempts(target: QuizPaper | Campaign | None = None, since: date | datetime | None = None) -> Any:
    qs = Attempt.objects.filter(passed=True)
    if isinstance(target, QuizPaper):
        qs = qs.filter(paper=target)
    elif isinstance(target, Campaign):
        qs = qs.filter(_campaign_q(target))
    if since is not None:
        moment = since if isinstance(since, datetime) else _day_start(since)
        qs = qs.filter(submitted_at__gte=moment)
    return qs


def person_passed(person: Person, target: QuizPaper | Campaign) -> bool:
    """Whether the person has passed the paper, or (for a campaign) a paper that counts for it."""
    return passed_attempts(target).filter(person=person).exists()


def awareness_counts(
    people: QuerySet[Person], since: date | datetime | None = None, target: QuizPaper | Campaign | None = None
) -> tuple[int, int]:
    """(people with a passed attempt, people) over ``people``; two queries."""
    people = people.order_by()
    total = people.values("pk").distinct().count()
    passed_one = passed_attempts(target, since).filter(person=OuterRef("pk"))
    passed = people.filter(Exists(passed_one)).values("pk").distinct().count()
    return passed, total


def awareness_rate(
    people: QuerySet[Person], since: date | datetime | None = None, target: QuizPaper | Campaign | None = None
) -> float:
    """Awareness rate: distinct people with a passed attempt (since ``since``) ÷ people; 0.0 for nobody."""
    passed, total = awareness_counts(people, since, target)
    return passed / total if total else 0.0


# Articles ----------------------------------------------------------------------------------------


def _obligations_taking(unit: Unit, day: date, kind: str) -> list[Obligation]:
    """The unit's obligations in active campaigns running on ``day`` whose rule counts ``kind``."""
    candidates = Obligation.objects.filter(
        unit=unit,
        is_active=True,
        campaign__status=Campaign.Status.ACTIVE,
        campaign__starts_on__lte=day,
        campaign__ends_on__gte=day,
    ).select_related("rule", "campaign")
    # JSON "contains" is not available on SQLite: the rules are few, so filter here.
    return [ob for ob in candidates.order_by("pk") if kind in (ob.rule.activity_kinds or [])]


def article_link(article: Article) -> str:
    """The article's address as a link for an activity record (absolute when the site URL is known)."""
    site = getattr(settings, "FANZHA_SITE_URL", "").rstrip("/")
    return site + reverse("learn_article", args=[article.slug]) if site else ""


@transaction.atomic
def publish_article(
    *,
    unit: Unit,
    title: str,
    body: str,
    kind: str,
    audiences: Iterable[str],
    published_on: date,
    actor: Any,
    fraud_types: Iterable[str] = (),
) -> Article:
    """Publish an article of a unit in the knowledge base.

    When the unit has an obligation in an active campaign that counts "article" activities (the
    weekly article or video), an activity of kind article dated ``published_on`` is recorded
    against each such obligation, so the article counts towards it.
    """
    errors: dict[str, str] = {}
    title = (title or "").strip()
    body = (body or "").strip()
    audiences = list(dict.fromkeys(audiences or []))
    codes = list(dict.fromkeys(fraud_types or []))
    if not title or len(title) > 200:
        errors["title"] = _("请填写标题（不超过200字）")
    if not body:
        errors["body"] = _("请填写正文")
    if kind not in Article.Kind.values:
        errors["kind"] = _("未知的文章类别")
    if not audiences or any(a not in Audience.values for a in audiences):
        errors["audiences"] = _("请选择适用对象")
    if codes and FraudType.objects.filter(code__in=codes).count() != len(codes):
        errors["fraud_types"] = _("未知的诈骗类型")
    if published_on > timezone.localdate() + timedelta(days=MAX_DAYS_AHEAD):
        errors["published_on"] = _("发布日期最多只能提前 %(days)s 天") % {"days": MAX_DAYS_AHEAD}
    elif published_on.year < 2000:
        errors["published_on"] = _("发布日期不正确")
    if not unit.is_active:
        errors["unit"] = _("该单位已停用")
    if errors:
        raise ValidationError(errors)
    article = Article.objects.create(
        slug=f"u{unit.pk}-{published_on:%Y%m%d}-{secrets.token_hex(4)}",
        title=title,
        kind=kind,
        audiences=audiences,
        fraud_types=codes,
        body=body,
        published_on=published_on,
        owner_unit=unit,
        is_builtin=False,
        created_by=actor,
    )
    for obligation in _obligations_taking(unit, published_on, ActivityKind.ARTICLE):
        activity = record_activity(
            unit=unit,
            kind=ActivityKind.ARTICLE,
            occurred_on=published_on,
            actor=actor,
            title=title,
            summary=body[:500],
            link=article_link(article),
            obligation=obligation,
        )
        article.activities.add(activity)
    return article


# Daily tips --------------------------------------------------------------------------------------


@transaction.atomic
def create_tip_schedule(
    *,
    unit: Unit,
    channel: Channel,
    actor: Any = None,
    post_time: time = time(8, 0),
    no_repeat_days: int = 60,
    audience: str = Audience.STUDENT,
    starts_on: date | None = None,
) -> TipSchedule:
    """Post one tip a day to a chat group of the unit (its robot ``channel``)."""
    errors: dict[str, str] = {}
    if channel.unit_id != unit.pk:
        errors["channel"] = _("所选群机器人不属于该单位")
    elif channel.kind not in notify.WEBHOOK_KINDS:
        errors["channel"] = _("每日提示只能发到企业微信、钉钉或飞书群机器人")
    elif not channel.is_active:
        errors["channel"] = _("该群机器人已停用")
    if not 1 <= no_repeat_days <= MAX_NO_REPEAT_DAYS:
        errors["no_repeat_days"] = _("不重复天数应在 1 到 %(max)s 之间") % {"max": MAX_NO_REPEAT_DAYS}
    if audience not in Audience.values:
        errors["audience"] = _("未知的对象")
    if not unit.is_active:
        errors["unit"] = _("该单位已停用")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return TipSchedule.objects.create(
                unit=unit,
                channel=channel,
                post_time=post_time,
                no_repeat_days=no_repeat_days,
                audience=audience,
                starts_on=starts_on or timezone.localdate(),
                created_by=actor,
            )
    except IntegrityError as exc:
        exists = ValidationError(_("这个群已经有每日提示计划了"), code="exists")
        raise ValidationError({"channel": exists}) from exc


@transaction.atomic
def set_tip_schedule_active(schedule: TipSchedule, active: bool) -> TipSchedule:
    """Pause or resume a schedule; paused days are not posted (and show as missed)."""
    TipSchedule.objects.filter(pk=schedule.pk).update(is_active=active)
    schedule.is_active = active
    return schedule


def tip_pool(audience: str) -> list[int]:
    """Active tips for the audience, for the general public, or for everyone; all tips if none fit."""
    rows = list(Tip.objects.filter(is_active=True).order_by("pk").values_list("pk", "audiences"))
    fitting = [pk for pk, aud in rows if not aud or audience in aud or Audience.PUBLIC in aud]
    return fitting or [pk for pk, _aud in rows]


def pick_tip(schedule: TipSchedule, day: date) -> Tip:
    """The tip for ``schedule`` on ``day``: the one already posted that day, or a deterministic random
    choice among tips the schedule has not posted within ``no_repeat_days`` days of ``day`` (either
    side, so a backfilled day keeps the rule too); when every tip was used in that window, the one
    least recently used before ``day``."""
    posted = TipPost.objects.filter(schedule=schedule, day=day).select_related("tip").first()
    if posted is not None:
        return posted.tip
    return _choose_tip(
        schedule.audience,
        TipPost.objects.filter(schedule=schedule),
        day,
        timedelta(days=schedule.no_repeat_days),
        f"tip:{schedule.pk}:{day.isoformat()}",
    )


def _choose_tip(audience: str, posts: QuerySet[Any], day: date, window: timedelta, seed: str) -> Tip:
    """The rule of ``pick_tip`` over any posts with ``day`` and ``tip``: a deterministic random tip not
    among ``posts`` within ``window`` of ``day``; when all were used, one least recently used."""
    pool = tip_pool(audience)
    if not pool:
        raise ValidationError(_("提示库为空，请先同步内置内容。"), code="no_tips")
    used = set(posts.filter(day__gte=day - window, day__lte=day + window).values_list("tip_id", flat=True))
    rng = random.Random(seed)
    fresh = [pk for pk in pool if pk not in used]
    if fresh:
        choice = rng.choice(fresh)
    else:
        last_used = dict(
            posts.filter(day__lt=day, tip_id__in=pool)
            .values("tip_id")
            .annotate(last=Max("day"))
            .values_list("tip_id", "last")
        )
        oldest = min(last_used.get(pk, date.min) for pk in pool)
        choice = rng.choice([pk for pk in pool if last_used.get(pk, date.min) == oldest])
    return Tip.objects.get(pk=choice)


def tip_key(schedule: TipSchedule, day: date) -> str:
    return f"tip:{schedule.pk}:{day.isoformat()}"


def tip_message(day: date, tip: Tip) -> tuple[str, str]:
    """Subject and body of a daily tip, in the deployment's language (not the caller's)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【每日防骗提示】%(month)s月%(day)s日") % {"month": day.month, "day": day.day}
    return subject, tip.text


TIP_GRACE = timedelta(hours=1)


def tip_expiry(day: date) -> datetime:
    """When a day's tip is no longer worth posting: the end of its day, or (queued late on purpose, a
    "补发" or a run for a past day) an hour after it was queued. Why: a worker that was down for days
    must not post every missed day's tip at once when it comes back — a burst that gets the robot
    blocked — so only what is still current goes; the missed days stay visible as missed."""
    end_of_day = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return max(end_of_day, timezone.now() + TIP_GRACE)


@transaction.atomic
def post_tip(schedule: TipSchedule, day: date) -> tuple[TipPost, bool]:
    """Choose and queue the schedule's tip for ``day``; (post, whether it was queued now).

    Idempotent: the post is unique per (schedule, day) and the outbox key is ``tip:<id>:<day>``,
    so running it again, or twice at once, queues one message.
    """
    schedule = TipSchedule.objects.select_related("channel").get(pk=schedule.pk)
    if not schedule.channel.is_active:
        raise ValidationError(
            _("群机器人“%(name)s”已停用。") % {"name": schedule.channel.name}, code="channel"
        )
    post = TipPost.objects.select_for_update().filter(schedule=schedule, day=day).first()
    if post is not None and post.outbox_id is not None:
        return post, False
    if post is None:
        tip = pick_tip(schedule, day)
        try:
            with transaction.atomic():
                post = TipPost.objects.create(schedule=schedule, day=day, tip=tip)
        except IntegrityError:
            post = TipPost.objects.select_for_update().get(schedule=schedule, day=day)
            if post.outbox_id is not None:
                return post, False
    subject, body = tip_message(day, post.tip)
    not_before = timezone.make_aware(datetime.combine(day, schedule.post_time))
    row = notify.queue(
        schedule.channel.kind,
        schedule.channel,
        subject=subject,
        body=body,
        key=tip_key(schedule, day),
        not_before=not_before,
        expires_at=tip_expiry(day),
    )
    post.outbox = row
    post.save(update_fields=["outbox"])
    return post, True


@dataclass
class TipRun:
    """What ``post_daily_tips`` did: posts queued now, posts already there, schedules skipped (why)."""

    queued: int = 0
    existing: int = 0
    skipped: list[tuple[TipSchedule, str]] = field(default_factory=list)
    recorded: int = 0  # "tip" activities recorded for earlier posts that have been sent


def post_daily_tips(day: date | None = None) -> TipRun:
    """Queue the day's tip for every active schedule (each in its own transaction, so one broken
    schedule does not stop the others); and first record earlier sent tips as "tip" activities."""
    day = day or timezone.localdate()
    run = TipRun(recorded=record_sent_tips(day))
    schedules = TipSchedule.objects.filter(is_active=True, starts_on__lte=day).select_related("channel")
    for schedule in schedules.order_by("pk"):
        try:
            _post, queued = post_tip(schedule, day)
        except ValidationError as exc:
            run.skipped.append((schedule, " ".join(exc.messages)))
            log.warning("daily tip for schedule %s on %s skipped: %s", schedule.pk, day, exc.messages)
            continue
        if queued:
            run.queued += 1
        else:
            run.existing += 1
    return run


def record_sent_tips(today: date | None = None) -> int:
    """Record a "tip" activity for each recently sent post whose unit has an obligation counting tips
    (the class chat group's daily tip); returns how many were recorded. Safe to run again."""
    today = today or timezone.localdate()
    posts = (
        TipPost.objects.filter(
            activity__isnull=True, outbox__status=Outbox.Status.SENT, day__gte=today - TIP_ACTIVITY_LOOKBACK
        )
        .select_related("schedule__unit", "schedule__created_by", "tip")
        .order_by("pk")
    )
    recorded = 0
    for post in posts:
        unit = post.schedule.unit
        obligations = _obligations_taking(unit, post.day, ActivityKind.TIP)
        if not obligations:
            continue
        try:
            with transaction.atomic():
                locked = TipPost.objects.select_for_update().get(pk=post.pk)
                if locked.activity_id is not None:
                    continue
                activity: Activity | None = None
                for obligation in obligations:
                    made = record_activity(
                        unit=unit,
                        kind=ActivityKind.TIP,
                        occurred_on=post.day,
                        actor=post.schedule.created_by,
                        title=_("每日防骗提示"),
                        summary=post.tip.text,
                        obligation=obligation,
                    )
                    activity = activity or made
                locked.activity = activity
                locked.save(update_fields=["activity"])
                recorded += 1
        except ValidationError as exc:
            log.warning("tip post %s not recorded as an activity: %s", post.pk, exc.messages)
    return recorded


# Tips posted by hand (class groups on personal WeChat or QQ, no robot) ------------------------------

CLASS_TIP_WINDOW = timedelta(days=60)  # as a robot schedule's default ``no_repeat_days``


def is_class_liaison(person: Person, unit: Unit) -> bool:
    """Whether ``person`` is the class's student liaison (信息员): an active student who is the class's
    联络员 on the roster. They post the day's tip in a class group that has no robot."""
    return (
        person.is_active
        and person.kind == PersonKind.STUDENT
        and unit.kind == UnitKind.CLASS
        and Membership.objects.filter(person=person, unit=unit, role=MembershipRole.LIAISON).exists()
    )


def class_tip(unit: Unit, day: date | None = None) -> Tip:
    """The class's tip for ``day``: the one marked posted, else the one ``mark_class_tip_posted`` will
    record (the same deterministic choice, not repeating the class's tips within 60 days)."""
    day = day or timezone.localdate()
    posted = ClassTipPost.objects.filter(unit=unit, day=day).select_related("tip").first()
    if posted is not None:
        return posted.tip
    return _choose_tip(
        Audience.STUDENT,
        ClassTipPost.objects.filter(unit=unit),
        day,
        CLASS_TIP_WINDOW,
        f"class-tip:{unit.pk}:{day.isoformat()}",
    )


@transaction.atomic
def mark_class_tip_posted(
    unit: Unit, person: Person, actor: Any = None, day: date | None = None
) -> tuple[ClassTipPost, bool]:
    """The liaison says "已发到班级群": record the day's tip as posted and, like a robot's sent post
    (``record_sent_tips``), a "tip" activity against each obligation of the class counting tips.

    Only the class's liaison may (``PermissionDenied`` otherwise). Idempotent per class and day: a
    second tap, or two at once, returns the first record; (post, whether it was recorded now).
    ``actor``: the signed-in account, when there is one (it records the activity); the post names
    the person either way.
    """
    day = day or timezone.localdate()
    if not is_class_liaison(person, unit):
        raise PermissionDenied(_("只有本班的信息员可以标记。"))
    Unit.objects.select_for_update().filter(pk=unit.pk).first()  # one mark at a time per class
    existing = ClassTipPost.objects.filter(unit=unit, day=day).first()
    if existing is not None:
        return existing, False
    post = ClassTipPost.objects.create(unit=unit, day=day, tip=class_tip(unit, day), posted_by=person)
    activity: Activity | None = None
    for obligation in _obligations_taking(unit, day, ActivityKind.TIP):
        made = record_activity(
            unit=unit,
            kind=ActivityKind.TIP,
            occurred_on=day,
            actor=actor,
            title=_("每日防骗提示（%(name)s发到班级群）") % {"name": person.name},
            summary=post.tip.text,
            obligation=obligation,
        )
        activity = activity or made
    if activity is not None:
        post.activity = activity
        post.save(update_fields=["activity"])
    return post, True


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class TipDay:
    """One day of a schedule's history: its post (if any) and whether it counts as missed."""

    day: date
    post: TipPost | None
    status: str  # an Outbox.Status value, or "missing"
    missed: bool


def tip_history(schedule: TipSchedule, start: date, end: date, today: date | None = None) -> list[TipDay]:
    """Every day from ``start`` (not before the schedule began) to ``end``, newest first; a day is
    missed when it has no post or its message was not sent. Today is not missed while its message
    waits to be sent. Two queries."""
    today = today or timezone.localdate()
    start = max(start, schedule.starts_on)
    posts = {
        p.day: p for p in schedule.posts.filter(day__gte=start, day__lte=end).select_related("outbox", "tip")
    }
    rows = []
    for day in reversed(_days(start, end)) if start <= end else []:
        post = posts.get(day)
        status = post.outbox.status if post is not None and post.outbox is not None else "missing"
        waiting = day >= today and status == Outbox.Status.PENDING
        rows.append(TipDay(day, post, status, status != Outbox.Status.SENT and not waiting))
    return rows


def missed_days(schedule: TipSchedule, start: date, end: date) -> list[date]:
    """Days from ``start`` to ``end`` (from the schedule's start) with no post or whose message is not
    sent (pending, failed, or its outbox row gone), oldest first."""
    start = max(start, schedule.starts_on)
    if start > end:
        return []
    sent = set(
        schedule.posts.filter(day__gte=start, day__lte=end, outbox__status=Outbox.Status.SENT).values_list(
            "day", flat=True
        )
    )
    return [day for day in _days(start, end) if day not in sent]
