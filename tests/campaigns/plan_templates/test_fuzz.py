"""No template text, however hostile, makes the parser fail with anything but a ``TemplateError``
(which pages show as a form error): deep nesting, huge numbers, odd types in every field, random
text. The pages then answer 200 with the error, never 500."""

from __future__ import annotations

import copy
import string
import tomllib
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanzha.campaigns.documents.plan import build_plan
from fanzha.campaigns.spec import BUILTIN_DIR, MAX_NESTING, TemplateError, parse_template

KEYS = (
    "code title issuer_kinds levels audiences attestations goals obligations sections placeholders "
    "leadership departments accountability letters metric target deadline frequency min_count "
    "evidence activity_kinds responsible due description heading body auto level name label default "
    "upper lower min_loss max_loss action role holder duties"
).split()


def toml_value(value: Any) -> str:
    """A minimal TOML writer for generated values (inline tables and arrays only)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "nan"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"


scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(alphabet=string.ascii_letters + "{}_-年月日 12", max_size=20),
    st.sampled_from(["school", "college", "class", "once", "monthly", "counsellor", "goals", "01-15"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=10)


def check(text: str) -> None:
    """A template either fails with a TemplateError or gives a plan document (its page's preview)."""
    try:
        spec = parse_template(text, "fuzz.toml")
    except TemplateError:
        return
    build_plan(spec)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_templates_fail_only_with_template_errors(doc):
    check("\n".join(f"{k} = {toml_value(v)}" for k, v in doc.items()))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_fails_only_with_template_errors(text):
    check(text)


BUILTINS = [path.read_text() for path in sorted(BUILTIN_DIR.glob("*.toml"))]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BUILTINS), st.integers(min_value=0), st.text(max_size=8))
def test_a_builtin_template_with_a_random_edit(text, position, insert):
    at = position % (len(text) + 1)
    check(text[:at] + insert + text[at:])


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in parsed TOML that a value could be swapped in."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


PARSED = [tomllib.loads(text) for text in BUILTINS]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0), st.integers(min_value=0), values)
def test_a_builtin_template_with_one_value_swapped(which, where, value):
    """Reaches the checks deep inside a template (goals, obligations, sections …), not only the first."""
    doc = copy.deepcopy(PARSED[which % len(PARSED)])
    place = paths(doc)[where % len(paths(doc))]
    parent = doc
    for step in place[:-1]:
        parent = parent[step]
    parent[place[-1]] = value
    check("\n".join(f"{k} = {toml_value(v)}" for k, v in doc.items()))


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000,
        "a = " + "[" * 5_000 + "]" * 5_000,
        "a = " + "{b = " * 5_000 + "1" + "}" * 5_000,
        "a = " + "[" * (MAX_NESTING + 2) + "]" * (MAX_NESTING + 2),
        "code = " + "9" * 5_000,
        "code = 1e999999",
        'code = "\x00"',
        "[[obligations]]\n" * 50_000,
    ],
    ids=["unclosed", "deep-array", "deep-table", "just-too-deep", "huge-int", "huge-float", "nul", "many"],
)
def test_hostile_templates_are_refused_in_words(text):
    with pytest.raises(TemplateError) as info:
        parse_template(text, "hostile.toml")
    assert info.value.message


def test_the_page_answers_with_the_error_not_500(client, cast):
    client.force_login(cast.school_admin)
    response = client.post(reverse("template_create"), {"owner": cast.uni.pk, "text": "a = " + "[" * 50_000})
    assert response.status_code == 200
    assert "嵌套" in response.content.decode()
