"""The shipped question bank: big and varied enough for every audience and fraud type, without
answer patterns a guesser could exploit; and the loader, which names file and field on every error."""

from __future__ import annotations

import difflib
import itertools
import re
import tomllib
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest

from fanzha.learn.models import Audience, Question
from fanzha.learn.questions import (
    AUDIENCES,
    DEFAULT_PATH,
    FRAUD_TYPES,
    QuestionError,
    QuestionSpec,
    load_questions,
)

OFFICIAL_TYPES = (
    "brushing",
    "fake_cs",
    "investment",
    "loan",
    "credit",
    "shopping",
    "police",
    "acquaintance",
    "game",
    "romance",
    "military",
    "blackhat",
)


@pytest.fixture(scope="module")
def bank() -> list[QuestionSpec]:
    return load_questions()


def by_kind(bank: list[QuestionSpec], kind: str) -> list[QuestionSpec]:
    return [q for q in bank if q.kind == kind]


# The loader's contract with the model and the other content files ---------------------------------


def test_dataclass_fields_are_the_model_fields():
    model = {f.name for f in Question._meta.concrete_fields} - {"id", "is_active", "is_builtin"}
    assert {f.name for f in fields(QuestionSpec)} == model


def test_audiences_and_fraud_types_match_the_model_and_the_fraud_type_file():
    assert set(AUDIENCES) == set(Audience.values)
    shipped = tomllib.loads((DEFAULT_PATH.parent / "fraud_types.toml").read_text(encoding="utf-8"))
    assert set(FRAUD_TYPES) == {t["code"] for t in shipped["types"]}
    assert set(OFFICIAL_TYPES) < set(FRAUD_TYPES)


def test_model_fields_are_json_ready(bank):
    row = bank[0].model_fields()
    assert set(row) == {f.name for f in fields(QuestionSpec)}
    assert isinstance(row["choices"], list) and isinstance(row["answer"], list)
    assert isinstance(row["audiences"], list)


def test_a_directory_means_its_questions_file(bank):
    assert load_questions(DEFAULT_PATH.parent) == bank
    assert load_questions(str(DEFAULT_PATH)) == bank


# Size and coverage ---------------------------------------------------------------------------------


def test_bank_size_by_kind(bank):
    kinds = Counter(q.kind for q in bank)
    assert len(bank) >= 170
    assert kinds["single"] >= 90
    assert kinds["multiple"] >= 40
    assert kinds["true_false"] >= 40


def test_bank_covers_every_audience(bank):
    audiences = Counter(a for q in bank for a in q.audiences)
    assert audiences["child"] >= 15
    assert audiences["parent"] >= 20
    assert audiences["elderly"] >= 15
    assert audiences["staff"] >= 20
    assert audiences["student"] >= 40
    assert audiences["public"] >= 40


@pytest.mark.parametrize("fraud_type", OFFICIAL_TYPES)
def test_every_official_fraud_type_has_eight_questions(bank, fraud_type):
    assert sum(q.fraud_type == fraud_type for q in bank) >= 8


def test_every_kind_serves_children_and_adults(bank):
    """A paper draws by kind per audience; each kind must exist for the big audiences."""
    for audience in ("student", "public", "parent", "staff", "elderly"):
        kinds = {q.kind for q in bank if audience in q.audiences}
        assert kinds == {"single", "multiple", "true_false"}, audience
    assert {q.kind for q in bank if "child" in q.audiences} >= {"single", "true_false"}


def test_codes_are_numbered_in_order(bank):
    assert [q.code for q in bank] == [f"q{i:03d}" for i in range(1, len(bank) + 1)]


# Quality: plain for children, short explanations, no near-duplicates --------------------------------


def test_children_get_short_easy_questions(bank):
    for q in bank:
        if "child" in q.audiences:
            assert q.difficulty == 1, q.code
            assert len(q.stem) <= 50, q.code
            assert all(len(c) <= 20 for c in q.choices), q.code


def test_explanations_are_one_to_three_sentences(bank):
    for q in bank:
        sentences = re.findall(r"[^。！？]+[。！？]", q.explanation)
        assert 1 <= len(sentences) <= 3, q.code
        assert len(q.explanation) >= 20, q.code


def test_difficulty_spans_the_range(bank):
    assert {q.difficulty for q in bank} == {1, 2, 3}


def test_no_two_stems_are_near_identical(bank):
    stems = [(q.code, q.stem) for q in bank]
    close = []
    for (code_a, a), (code_b, b) in itertools.combinations(stems, 2):
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        if matcher.real_quick_ratio() >= 0.8 and matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8:
            close.append((code_a, code_b))
    assert not close


def test_no_question_repeats_a_choice_list(bank):
    lists = Counter(frozenset(q.choices) for q in bank if q.kind != "true_false")
    assert max(lists.values()) == 1


# No answer patterns ------------------------------------------------------------------------------


def test_single_answer_positions_are_spread(bank):
    singles = by_kind(bank, "single")
    positions = Counter(q.answer[0] for q in singles)
    assert max(positions.values()) <= 0.4 * len(singles), positions
    assert set(positions) >= {0, 1, 2, 3}


def test_single_correct_choice_is_not_usually_the_longest(bank):
    singles = by_kind(bank, "single")

    def strictly_longest(q: QuestionSpec) -> bool:
        right = len(q.choices[q.answer[0]])
        return all(right > len(c) for i, c in enumerate(q.choices) if i != q.answer[0])

    assert sum(map(strictly_longest, singles)) <= 0.4 * len(singles)


def test_true_false_answers_are_balanced(bank):
    tfs = by_kind(bank, "true_false")
    true = sum(q.answer == (0,) for q in tfs)
    assert 0.35 * len(tfs) <= true <= 0.65 * len(tfs)


def test_multiple_choice_shapes_vary(bank):
    multiples = by_kind(bank, "multiple")
    correct = Counter(len(q.answer) for q in multiples)
    assert len(correct) >= 3, correct  # not always "pick three"
    assert max(correct.values()) <= 0.75 * len(multiples), correct
    assert len({len(q.choices) for q in multiples}) >= 2
    assert all(len(q.answer) < len(q.choices) for q in multiples)  # never "all of them"
    positions = Counter(i for q in multiples for i in q.answer)
    assert all(positions[i] for i in range(4))


# Validation errors name file and field -------------------------------------------------------------

GOOD = {
    "code": '"q001"',
    "kind": '"single"',
    "stem": '"收到陌生链接怎么办？"',
    "choices": '["点开看看", "不点，先核实", "转发给朋友"]',
    "answer": "[1]",
    "explanation": '"陌生链接可能是钓鱼网站。"',
    "audiences": '["student"]',
    "fraud_type": '"other"',
    "difficulty": "1",
}


def entry(**changes: str | None) -> str:
    values = {**GOOD, **changes}
    lines = [f"{key} = {value}" for key, value in values.items() if value is not None]
    return "[[questions]]\n" + "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bank.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads(tmp_path):
    path = write(
        tmp_path,
        entry() + entry(code='"q002"', kind='"true_false"', choices='["正确", "错误"]', answer="[0]"),
    )
    loaded = load_questions(path)
    assert [q.code for q in loaded] == ["q001", "q002"]
    assert loaded[0].choices == ("点开看看", "不点，先核实", "转发给朋友") and loaded[0].answer == (1,)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"code": '"Q 1"'}, "code", "slug"),
        ({"kind": '"essay"'}, "kind", "essay"),
        ({"stem": '"  "'}, "stem", "empty"),
        ({"choices": '["一", "二"]'}, "choices", "3–5"),
        ({"choices": '["一", "二", "三", "四", "五", "六"]'}, "choices", "3–5"),
        ({"choices": '["一", "一", "三"]'}, "choices", "duplicates"),
        ({"kind": '"true_false"', "choices": '["对", "错"]', "answer": "[0]"}, "choices", "正确"),
        ({"kind": '"true_false"', "choices": '["错误", "正确"]', "answer": "[0]"}, "choices", "正确"),
        ({"answer": "[3]"}, "answer", "outside"),
        ({"answer": "[-1]"}, "answer", "outside"),
        ({"answer": "[0, 1]"}, "answer", "exactly one"),
        ({"answer": "[]"}, "answer", "exactly one"),
        ({"answer": "[true]"}, "answer", "integers"),
        ({"answer": "1"}, "answer", "integers"),
        ({"kind": '"multiple"', "answer": "[1]"}, "answer", "at least two"),
        (
            {"kind": '"true_false"', "choices": '["正确", "错误"]', "answer": "[0, 1]"},
            "answer",
            "exactly one",
        ),
        ({"explanation": '""'}, "explanation", "empty"),
        ({"explanation": None}, "explanation", "missing"),
        ({"audiences": '["teacher"]'}, "audiences", "teacher"),
        ({"audiences": "[]"}, "audiences", "at least one"),
        ({"fraud_type": '"phishing"'}, "fraud_type", "phishing"),
        ({"difficulty": "4"}, "difficulty", "1, 2, 3"),
        ({"difficulty": '"easy"'}, "difficulty", "1, 2, 3"),
        ({"difficulty": "1.0"}, "difficulty", "1, 2, 3"),
        ({"answers": "[1]"}, "answers", "unknown field"),
    ],
)
def test_a_bad_field_is_named_with_its_file(tmp_path, changes, field, words):
    path = write(tmp_path, entry() + entry(**{"code": '"q002"', **changes}))
    with pytest.raises(QuestionError) as info:
        load_questions(path)
    message = str(info.value)
    assert message.startswith(f"{path}: questions[1]")
    assert info.value.source == str(path)
    assert info.value.where.endswith(f".{field}")
    assert words in message


def test_a_duplicate_code_is_named(tmp_path):
    path = write(tmp_path, entry() + entry())
    with pytest.raises(QuestionError) as info:
        load_questions(path)
    assert info.value.where == "questions[1] (q001).code"
    assert "duplicate" in str(info.value) and "questions[0]" in str(info.value)


def test_broken_toml_and_a_misplaced_table_are_named(tmp_path):
    broken = write(tmp_path, 'code = "q001\n')
    with pytest.raises(QuestionError) as info:
        load_questions(broken)
    assert str(broken) in str(info.value) and "TOML" in str(info.value)

    misplaced = write(tmp_path, entry().replace("[[questions]]", "[[question]]"))
    with pytest.raises(QuestionError) as info:
        load_questions(misplaced)
    assert info.value.where == "question"
