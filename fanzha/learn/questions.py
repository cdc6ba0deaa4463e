"""The quiz question bank as data: its TOML format, validation and loader.

The built-in questions ship in ``content/questions.toml`` (our own writing) and become
``Question`` rows through ``actions.sync_content``. Everything is checked here, before the
database is touched, so that a slip in the file (an answer index past the last choice, a
"single" question with two answers, a misspelt audience) fails loudly with the file and the
field instead of becoming a question nobody can answer correctly.

Format, one ``[[questions]]`` table per question::

    code = "q001"                 # unique slug, at most 40 characters
    kind = "single"               # single | multiple | true_false
    stem = "……应该怎么做？"
    choices = ["…", "…", "…"]     # 3–5 for single/multiple; true_false: ["正确", "错误"]
    answer = [2]                  # 0-based indexes; single/true_false one, multiple two or more
    explanation = "…"             # why, shown after answering
    audiences = ["student"]       # child | student | staff | parent | elderly | public
    fraud_type = "brushing"       # a fraud type code, or "" for general knowledge
    difficulty = 1                # 1–3
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).parent / "content" / "questions.toml"

KINDS = ("single", "multiple", "true_false")
TRUE_FALSE_CHOICES = ("正确", "错误")
MIN_CHOICES, MAX_CHOICES = 3, 5
DIFFICULTIES = (1, 2, 3)
# The values of ``models.Audience``; kept here so the loader needs no app registry (a test checks).
AUDIENCES = ("child", "student", "staff", "parent", "elderly", "public")
# The codes in ``content/fraud_types.toml``: the twelve official types plus "other" (a test checks).
FRAUD_TYPES = (
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
    "other",
)
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # Question.code is a SlugField(max_length=40)
FIELDS = ("code", "kind", "stem", "choices", "answer", "explanation", "audiences", "fraud_type", "difficulty")


class QuestionError(ValueError):
    """A question file that does not follow the format; the message names file and field."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source, self.where, self.message = source, where, message
        super().__init__(f"{source}: {where}: {message}")


@dataclass(frozen=True)
class QuestionSpec:
    """One validated question; its fields are the ``Question`` model's content fields."""

    code: str
    kind: str
    stem: str
    choices: tuple[str, ...]
    answer: tuple[int, ...]
    explanation: str
    audiences: tuple[str, ...]
    fraud_type: str
    difficulty: int

    def model_fields(self) -> dict[str, Any]:
        """Values for ``Question`` (lists, as its JSON fields store them), e.g. for ``update_or_create``."""
        return {
            "code": self.code,
            "kind": self.kind,
            "stem": self.stem,
            "choices": list(self.choices),
            "answer": list(self.answer),
            "explanation": self.explanation,
            "audiences": list(self.audiences),
            "fraud_type": self.fraud_type,
            "difficulty": self.difficulty,
        }


class _Entry:
    """One ``[[questions]]`` table; every error it raises names the file, the entry and the field."""

    def __init__(self, source: str, index: int, data: dict[str, Any]) -> None:
        self.source, self.data = source, data
        code = data.get("code")
        self.where = f"questions[{index}]" + (f" ({code})" if isinstance(code, str) and code else "")

    def fail(self, key: str, message: str) -> QuestionError:
        return QuestionError(self.source, f"{self.where}.{key}", message)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(key, "missing required field")
        if not isinstance(value, str):
            raise self.fail(key, "should be a string")
        return value.strip()

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise self.fail(key, "must not be empty")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            raise self.fail(key, "missing required field")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "should be a list of strings")
        items = tuple(v.strip() for v in value)
        if any(not v for v in items):
            raise self.fail(key, "contains an empty string")
        if len(set(items)) != len(items):
            raise self.fail(key, "contains duplicates")
        return items

    def ints(self, key: str) -> tuple[int, ...]:
        value = self.data.get(key)
        if value is None:
            raise self.fail(key, "missing required field")
        # bool is an int in Python; `answer = [true]` is a slip, not index 1.
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, "should be a list of integers (0-based choice indexes)")
        if len(set(value)) != len(value):
            raise self.fail(key, "contains duplicates")
        return tuple(sorted(value))


def _question(entry: _Entry) -> QuestionSpec:
    unknown = sorted(set(entry.data) - set(FIELDS))
    if unknown:
        raise entry.fail(unknown[0], f"unknown field; allowed: {', '.join(FIELDS)}")

    code = entry.required_text("code")
    if not CODE.fullmatch(code):
        raise entry.fail(
            "code", "must be a slug of lowercase letters, digits, - and _, at most 40 characters"
        )
    kind = entry.required_text("kind")
    if kind not in KINDS:
        raise entry.fail("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    stem = entry.required_text("stem")

    choices = entry.texts("choices")
    if kind == "true_false":
        if choices != TRUE_FALSE_CHOICES:
            raise entry.fail("choices", f"a true_false question has exactly {list(TRUE_FALSE_CHOICES)}")
    elif not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise entry.fail(
            "choices", f"a {kind} question has {MIN_CHOICES}–{MAX_CHOICES} choices, not {len(choices)}"
        )

    answer = entry.ints("answer")
    bad = [i for i in answer if not 0 <= i < len(choices)]
    if bad:
        raise entry.fail(
            "answer", f"index {bad[0]} is outside the {len(choices)} choices (0–{len(choices) - 1})"
        )
    if kind == "multiple" and len(answer) < 2:
        raise entry.fail("answer", "a multiple question has at least two correct choices")
    if kind != "multiple" and len(answer) != 1:
        raise entry.fail("answer", f"a {kind} question has exactly one correct choice, not {len(answer)}")

    explanation = entry.required_text("explanation")

    audiences = entry.texts("audiences")
    if not audiences:
        raise entry.fail("audiences", "name at least one audience")
    for audience in audiences:
        if audience not in AUDIENCES:
            raise entry.fail("audiences", f"{audience!r} is not one of {', '.join(AUDIENCES)}")

    fraud_type = entry.text("fraud_type", "")
    if fraud_type and fraud_type not in FRAUD_TYPES:
        raise entry.fail("fraud_type", f"{fraud_type!r} is not one of {', '.join(FRAUD_TYPES)} (or empty)")

    difficulty = entry.data.get("difficulty", 1)
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        raise entry.fail("difficulty", f"should be one of {', '.join(map(str, DIFFICULTIES))}")

    return QuestionSpec(
        code=code,
        kind=kind,
        stem=stem,
        choices=choices,
        answer=answer,
        explanation=explanation,
        audiences=audiences,
        fraud_type=fraud_type,
        difficulty=difficulty,
    )


def parse_questions(text: str, source: str = "<questions>") -> list[QuestionSpec]:
    """Parse and validate a question file's TOML text, keeping the file's order."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionError(source, "-", f"TOML syntax error: {exc}") from exc
    unknown = sorted(set(data) - {"questions"})
    if unknown:
        raise QuestionError(source, unknown[0], "unknown top-level key; questions go in [[questions]] tables")
    tables = data.get("questions", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise QuestionError(source, "questions", "should be an array of tables ([[questions]])")

    result: list[QuestionSpec] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        entry = _Entry(source, index, table)
        question = _question(entry)
        if question.code in seen:
            raise entry.fail(
                "code", f"duplicate code {question.code!r} (first used by questions[{seen[question.code]}])"
            )
        seen[question.code] = index
        result.append(question)
    return result


def load_questions(path: str | Path | None = None) -> list[QuestionSpec]:
    """Load and validate a question file; without a path, the bank that ships with fanzha.

    A directory stands for its ``questions.toml``, so the loader can be called like the other
    content loaders (``actions.load_builtin_content`` passes the content directory).
    """
    path = Path(path) if path is not None else DEFAULT_PATH
    if path.is_dir():
        path = path / DEFAULT_PATH.name
    return parse_questions(path.read_text(encoding="utf-8"), source=str(path))
