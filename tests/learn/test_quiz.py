"""The quiz engine: content sync of the bank, papers drawn by rule, attempts and their limit, the
time limit (late answers score but do not pass), double submits, scoring, and the awareness rate."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from fanzha.learn import actions
from fanzha.learn.actions import GRACE
from fanzha.learn.models import Article, Attempt, FraudType, Question, QuizPaper, Slogan, Tip
from fanzha.org.models import Person
from tests.campaigns.engine import start
from tests.learn.conftest import fixture_content

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 3, 6, 9, 0))


def make_question(
    code: str, kind: str, audiences: list[str], answer: list[int] | None = None, **kw
) -> Question:
    choices = ["正确", "错误"] if kind == "true_false" else ["甲", "乙", "丙", "丁"]
    return Question.objects.create(
        code=code,
        kind=kind,
        stem=f"题目 {code}",
        choices=choices,
        answer=answer if answer is not None else ([0, 2] if kind == "multiple" else [0]),
        explanation="解析",
        audiences=audiences,
        **kw,
    )


def make_bank() -> dict[str, list[int]]:
    """Student questions, public ones, child ones and a switched-off one, by group."""
    groups: dict[str, list[Question]] = {
        "student_single": [make_question(f"ss{i}", "single", ["student"]) for i in range(4)],
        "student_multiple": [make_question("sm0", "multiple", ["student", "parent"])],
        "public_single": [make_question(f"ps{i}", "single", ["public"]) for i in range(3)],
        "public_multiple": [make_question(f"pm{i}", "multiple", ["public"]) for i in range(2)]
        + [make_question("pm-all", "multiple", [])],
        "public_tf": [make_question(f"pt{i}", "true_false", ["public"]) for i in range(3)],
        "child_tf": [make_question(f"ct{i}", "true_false", ["child"]) for i in range(3)],
        "off": [make_question("off", "single", ["student"], is_active=False)],
    }
    return {name: [q.pk for q in qs] for name, qs in groups.items()}


def make_paper(**kw) -> QuizPaper:
    fields = {
        "code": "p",
        "title": "测试卷",
        "audience": "student",
        "rules": {"single": 3, "multiple": 2, "true_false": 2},
        "time_limit_minutes": 20,
        "pass_mark": 80,
        "max_attempts": 3,
    }
    fields.update(kw)
    return QuizPaper.objects.create(**fields)


def right_answers(attempt: Attempt) -> dict[str, list[int]]:
    return {str(q.pk): q.answer for q in actions.attempt_questions(attempt)}


# Content sync ------------------------------------------------------------------------------------


def test_sync_content_upserts_and_is_idempotent():
    result = actions.sync_content(fixture_content())
    assert result.counts["fraud_types"]["created"] == 2
    assert result.counts["questions"] == {"created": 3, "updated": 0, "retired": 0}
    assert result.counts["papers"]["created"] == len(actions.DEFAULT_PAPERS)
    assert Article.objects.filter(is_builtin=True).count() == 2 and Tip.objects.count() == 2
    assert Slogan.objects.get().text == "不听不信不转账"
    tf = Question.objects.get(code="q-tf-1")
    assert tf.choices == ["正确", "错误"] and tf.answer == [1] and tf.is_builtin
    student = QuizPaper.objects.get(code="default-student")
    assert student.rules == {"single": 10, "multiple": 5, "true_false": 5}
    assert (student.time_limit_minutes, student.pass_mark, student.max_attempts) == (20, 80, 3)

    again = actions.sync_content(fixture_content())
    assert all(c == {"created": 0, "updated": 0, "retired": 0} for c in again.counts.values())

    content = fixture_content()
    content.questions = [q for q in content.questions if q["code"] != "q-multi-1"]
    content.questions[0]["stem"] = "改过的题干"
    result = actions.sync_content(content)
    assert result.counts["questions"] == {"created": 0, "updated": 1, "retired": 1}
    assert not Question.objects.get(code="q-multi-1").is_active  # kept for old attempts, not drawn
    assert Question.objects.get(code="q-single-1").stem == "改过的题干"
    assert FraudType.objects.count() == 2


def test_sync_content_refuses_bad_content_and_writes_nothing():
    content = fixture_content()
    content.questions[0]["answer"] = [5]
    with pytest.raises(ValidationError, match="q-single-1"):
        actions.sync_content(content)
    content = fixture_content()
    content.tips[0]["fraud_type"] = "no-such-type"
    with pytest.raises(ValidationError, match="no-such-type"):
        actions.sync_content(content)
    content = fixture_content()
    content.questions[0]["answer"] = [0, 1]  # a single-choice question with two answers
    with pytest.raises(ValidationError):
        actions.sync_content(content)
    assert not FraudType.objects.exists() and not Question.objects.exists() and not QuizPaper.objects.exists()


def test_shipped_content_syncs():
    pytest.importorskip("fanzha.learn.questions", reason="the question bank module is not there yet")
    actions.sync_content()
    assert FraudType.objects.count() >= 12
    assert Question.objects.filter(is_active=True).count() >= 150
    for paper in QuizPaper.objects.all():
        ids = actions.draw_questions(paper, random.Random(1))
        assert len(ids) == len(set(ids)) == sum(paper.rules.values())


# Drawing -----------------------------------------------------------------------------------------


def test_draw_by_rule_matches_the_audience_and_falls_back_to_public():
    bank = make_bank()
    paper = make_paper()
    kinds = dict(Question.objects.values_list("pk", "kind"))
    for seed in range(40):
        ids = actions.draw_questions(paper, random.Random(seed))
        assert len(ids) == 7 and len(set(ids)) == 7
        assert [kinds[i] for i in ids] == ["single"] * 3 + ["multiple"] * 2 + ["true_false"] * 2
        singles, multiples, tfs = set(ids[:3]), set(ids[3:5]), set(ids[5:])
        assert singles <= set(bank["student_single"])  # enough for the audience: no fallback
        assert set(bank["student_multiple"]) <= multiples  # the one student question always
        assert multiples - set(bank["student_multiple"]) <= set(bank["public_multiple"])
        assert tfs <= set(bank["public_tf"])  # never the children's questions
        assert not set(ids) & set(bank["off"])
    assert actions.draw_questions(paper, random.Random(7)) == actions.draw_questions(paper, random.Random(7))
    draws = {tuple(actions.draw_questions(paper, random.Random(seed))) for seed in range(40)}
    assert len(draws) > 10  # really random


def test_draw_refuses_a_short_bank_or_a_broken_rule():
    make_bank()
    with pytest.raises(ValidationError) as info:
        actions.draw_questions(make_paper(rules={"single": 8}))
    assert info.value.code == "bank"
    with pytest.raises(ValidationError) as info:
        actions.draw_questions(make_paper(code="p2", rules={"essay": 2}))
    assert info.value.code == "rules"


# Attempts ----------------------------------------------------------------------------------------


def test_attempt_limit_and_the_open_attempt(cast):
    make_bank()
    paper = make_paper(max_attempts=2)
    first = actions.start_attempt(paper, cast.student, NOW)
    assert first.deadline == NOW + timedelta(minutes=20) and first.started_at == NOW
    assert actions.start_attempt(paper, cast.student, NOW + timedelta(minutes=5)).pk == first.pk
    assert actions.attempts_left(paper, cast.student) == 1
    actions.submit_attempt(first, {}, NOW + timedelta(minutes=6))
    second = actions.start_attempt(paper, cast.student, NOW + timedelta(minutes=7))
    assert second.pk != first.pk
    actions.submit_attempt(second, {}, NOW + timedelta(minutes=8))
    with pytest.raises(ValidationError) as info:
        actions.start_attempt(paper, cast.student, NOW + timedelta(minutes=9))
    assert info.value.code == "max_attempts"
    assert Attempt.objects.filter(person=cast.student).count() == 2
    # Someone else's attempts are their own.
    assert actions.start_attempt(paper, cast.monitor, NOW).person == cast.monitor


def test_an_abandoned_attempt_is_closed_late_when_the_next_starts(cast):
    make_bank()
    paper = make_paper()
    abandoned = actions.start_attempt(paper, cast.student, NOW)
    later = NOW + timedelta(minutes=20) + GRACE + timedelta(seconds=1)
    fresh = actions.start_attempt(paper, cast.student, later)
    assert fresh.pk != abandoned.pk
    abandoned.refresh_from_db()
    assert abandoned.submitted_at == later and abandoned.late and not abandoned.passed
    assert actions.attempts_left(paper, cast.student) == 1


def test_one_open_attempt_per_person_is_a_database_rule(cast):
    paper = make_paper()
    Attempt.objects.create(paper=paper, person=cast.student, questions=[], deadline=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.create(paper=paper, person=cast.student, questions=[], deadline=NOW)


def test_inactive_paper_is_refused(cast):
    make_bank()
    with pytest.raises(ValidationError):
        actions.start_attempt(make_paper(is_active=False), cast.student, NOW)


# Time limit, double submit, scoring --------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_deadline", "late", "passed"),
    [
        (timedelta(0), False, True),
        (GRACE - timedelta(seconds=1), False, True),
        (GRACE + timedelta(seconds=1), True, False),
    ],
)
def test_time_limit_with_grace(cast, after_deadline, late, passed):
    make_bank()
    attempt = actions.start_attempt(make_paper(), cast.student, NOW)
    result = actions.submit_attempt(attempt, right_answers(attempt), attempt.deadline + after_deadline)
    assert not result.duplicate
    assert result.attempt.score == 100  # a late attempt is still scored
    assert (result.late, result.passed) == (late, passed)


def test_a_second_submit_returns_the_first_result_unchanged(cast):
    make_bank()
    attempt = actions.start_attempt(make_paper(), cast.student, NOW)
    first = actions.submit_attempt(attempt, right_answers(attempt), NOW + timedelta(minutes=5))
    again = actions.submit_attempt(attempt, {}, NOW + timedelta(minutes=6))
    assert again.duplicate and not first.duplicate
    assert again.attempt.score == 100 and again.attempt.passed
    assert again.attempt.submitted_at == NOW + timedelta(minutes=5)
    stored = Attempt.objects.get(pk=attempt.pk)
    assert stored.answers == first.attempt.answers and stored.score == 100
    # Also for a stale copy of the row taken before the first submit (two tabs).
    stale = Attempt.objects.get(pk=attempt.pk)
    stale.submitted_at = None
    assert actions.submit_attempt(stale, {}, NOW + timedelta(minutes=7)).duplicate


def test_scoring_multiple_choice_is_all_or_nothing(cast):
    single = make_question("s", "single", ["student"], answer=[1])
    multi_a = make_question("m1", "multiple", ["student"], answer=[0, 2])
    multi_b = make_question("m2", "multiple", ["student"], answer=[0, 2])
    multi_c = make_question("m3", "multiple", ["student"], answer=[1, 3])
    tf = make_question("t", "true_false", ["student"], answer=[1])
    paper = make_paper(pass_mark=60)
    attempt = Attempt.objects.create(
        paper=paper,
        person=cast.student,
        questions=[single.pk, multi_a.pk, multi_b.pk, multi_c.pk, tf.pk],
        started_at=NOW,
        deadline=NOW + timedelta(minutes=20),
    )
    answers = {
        str(single.pk): 1,  # a bare index is fine
        str(multi_a.pk): ["2", "0"],  # right, in any order, as strings
        str(multi_b.pk): [0],  # partly right: wrong
        str(multi_c.pk): [1, 3, 0],  # a superset: wrong
        str(tf.pk): [1, 7, "x"],  # junk next to the answer is dropped
        "999999": [0],  # not a question of this attempt
        "junk": "x",
    }
    result = actions.submit_attempt(attempt, answers, NOW + timedelta(minutes=3))
    assert result.attempt.score == 60 and result.passed  # 3 of 5
    assert result.attempt.answers == {
        str(single.pk): [1],
        str(multi_a.pk): [0, 2],
        str(multi_b.pk): [0],
        str(multi_c.pk): [0, 1, 3],
        str(tf.pk): [1],
    }
    review = actions.review(result.attempt)
    assert [r.correct for r in review] == [True, True, False, False, True]
    empty = Attempt.objects.create(
        paper=make_paper(code="p2"), person=cast.student, questions=[single.pk], deadline=NOW
    )
    assert actions.submit_attempt(empty, "not a mapping", NOW).attempt.score == 0  # type: ignore[arg-type]


def test_score_rounds_down_so_79_5_does_not_pass(cast):
    qs = [make_question(f"q{i}", "single", ["student"]) for i in range(40)]
    attempt = Attempt.objects.create(
        paper=make_paper(),
        person=cast.student,
        questions=[q.pk for q in qs],
        deadline=NOW + timedelta(hours=1),
    )
    answers = {str(q.pk): [0] for q in qs[:31]}  # 31/40 = 77.5; 32/40 = 80
    assert actions.submit_attempt(attempt, answers, NOW).attempt.score == 77


# Passing and the awareness rate ------------------------------------------------------------------


def take(paper: QuizPaper, person: Person, at: datetime, right: bool = True) -> Attempt:
    attempt = actions.start_attempt(paper, person, at)
    answers = right_answers(attempt) if right else {}
    return actions.submit_attempt(attempt, answers, at + timedelta(minutes=1)).attempt


def test_person_passed_and_awareness_rate(cast):
    make_bank()
    paper = make_paper(max_attempts=5)
    students = Person.objects.filter(root=cast.uni, kind="student")  # 张三, 李四, 王五
    assert actions.awareness_rate(students) == 0.0
    take(paper, cast.student, NOW, right=False)
    assert not actions.person_passed(cast.student, paper)
    take(paper, cast.student, NOW + timedelta(hours=1))
    take(paper, cast.student, NOW + timedelta(hours=2))  # passing twice counts once
    take(paper, cast.math_student, NOW, right=False)
    take(paper, cast.other_student, NOW)  # another school: outside these people
    assert actions.person_passed(cast.student, paper)
    assert actions.awareness_counts(students) == (1, 3)
    assert actions.awareness_rate(students) == pytest.approx(1 / 3)
    assert actions.awareness_rate(students, since=NOW + timedelta(hours=3)) == 0.0
    assert actions.awareness_rate(students, since=date(2026, 3, 6)) == pytest.approx(1 / 3)
    assert actions.awareness_rate(Person.objects.none()) == 0.0
    # A late submit never passes, so it never counts.
    late = actions.start_attempt(paper, cast.monitor, NOW)
    actions.submit_attempt(late, right_answers(late), late.deadline + GRACE + timedelta(seconds=1))
    assert actions.awareness_counts(students) == (1, 3)


def test_passing_for_a_campaign(cast):
    make_bank()
    campaign = start(cast.uni)  # 2026-03-01 … 2027-02-28
    general = make_paper()
    own = make_paper(code="own", campaign=campaign)
    take(general, cast.student, timezone.make_aware(datetime(2026, 2, 27, 9)))  # before the campaign
    assert not actions.person_passed(cast.student, campaign)
    take(own, cast.monitor, timezone.make_aware(datetime(2026, 2, 27, 9)))  # its own paper counts any time
    take(general, cast.math_student, NOW)  # a general paper during the campaign
    assert actions.person_passed(cast.monitor, campaign)
    assert actions.person_passed(cast.math_student, campaign)
    students = Person.objects.filter(root=cast.uni, kind="student")
    assert actions.awareness_counts(students, target=campaign) == (2, 3)
