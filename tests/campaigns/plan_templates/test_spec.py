"""The template format: every validation error names the file and the field."""

from __future__ import annotations

import pytest

from fanzha.campaigns.spec import AUTO_SECTIONS, TemplateError, fill, load_file, parse_template

MINIMAL = """
code = "minimal"
title = "{organisation}{year}年专项行动方案"
issuer_kinds = ["school"]
levels = ["school", "class"]
attestations = ["quiz_passed"]

[[placeholders]]
name = "leader"
label = "组长"
default = "校长"

[[goals]]
code = "awareness"
metric = "awareness_rate"
target = 100
description = "知晓率100%"

[[obligations]]
code = "meeting"
title = "每月一次主题班会"
level = "class"
frequency = "monthly"
evidence = ["photos"]
responsible = "counsellor"

[[sections]]
heading = "组织领导"
body = "组长：{leader}"
"""


def error(text: str, source: str = "bad.toml") -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        parse_template(text, source=source)
    return caught.value


def test_minimal_template_loads():
    spec = parse_template(MINIMAL, source="ok.toml")
    assert spec.code == "minimal"
    assert spec.placeholder_defaults() == {"leader": "校长"}
    assert spec.goals[0].metric == "awareness_rate"
    assert spec.goals[0].unit == "percent"
    assert spec.obligations[0].min_count == 1
    assert fill(spec.sections[0].body, spec.placeholder_defaults()) == "组长：校长"
    assert spec.sections[0].auto == ""
    assert spec.extra == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t.replace('code = "minimal"', 'code = "Bad Code!"', 1), "code"),
        (lambda t: t.replace('code = "minimal"\n', "", 1), "code"),
        (lambda t: t.replace('title = "{organisation}{year}年专项行动方案"', "title = 3"), "title"),
        (lambda t: t.replace('issuer_kinds = ["school"]', "issuer_kinds = []"), "issuer_kinds"),
        (lambda t: t.replace('levels = ["school", "class"]', 'levels = ["school", "castle"]'), "levels"),
        (lambda t: t.replace('metric = "awareness_rate"', 'metric = "happiness"'), "goals[0].metric"),
        (lambda t: t.replace("target = 100", 'target = "all"'), "goals[0].target"),
        (lambda t: t.replace('description = "知晓率100%"', ""), "goals[0].description"),
        (lambda t: t.replace('frequency = "monthly"', 'frequency = "hourly"'), "obligations[0].frequency"),
        (lambda t: t.replace('level = "class"', 'level = "galaxy"'), "obligations[0].level"),
        (lambda t: t.replace('evidence = ["photos"]', 'evidence = ["selfie"]'), "obligations[0].evidence"),
        (
            lambda t: t.replace('responsible = "counsellor"', 'responsible = "king"'),
            "obligations[0].responsible",
        ),
        (
            lambda t: t.replace('frequency = "monthly"', 'frequency = "once"\ndue = "13-45"'),
            "obligations[0].due",
        ),
        (lambda t: t.replace('title = "每月一次主题班会"', "title = 1"), "obligations[0].title"),
        (lambda t: t.replace('body = "组长：{leader}"', 'body = "组长：{boss}"'), "placeholders"),
        (
            lambda t: t.replace('heading = "组织领导"', 'heading = "组织领导"\nauto = "weather"'),
            "sections[0].auto",
        ),
        (lambda t: t + '\n[[sections.children]]\nbody = "没有标题"\n', "sections[0].children[0].heading"),
        (
            lambda t: t + '\n[[accountability]]\naction = "jail"\ndescription = "x"\n',
            "accountability[0].action",
        ),
        (
            lambda t: t + '\n[[accountability]]\naction = "listing"\nmin_loss = "many"\ndescription = "x"\n',
            "accountability[0].min_loss",
        ),
        (
            lambda t: t + '\n[[letters]]\nupper = "school"\nlower = "moon"\ntitle = "t"\nbody = "b"\n',
            "letters[0].lower",
        ),
        (lambda t: t.replace("[[placeholders]]\nname", "[[placeholders]]\nnom"), "placeholders[0].name"),
    ],
)
def test_errors_name_file_and_field(change, field):
    exc = error(change(MINIMAL), source="my-plan.toml")
    assert exc.source == "my-plan.toml"
    assert str(exc).startswith("my-plan.toml: ")
    assert exc.where == field, str(exc)
    assert exc.message


def test_top_level_type_errors_name_the_key():
    exc = error(MINIMAL.replace('attestations = ["quiz_passed"]', 'attestations = ["telepathy"]'))
    assert (exc.source, exc.where) == ("bad.toml", "attestations")
    exc = error("period_months = -1\n" + MINIMAL)
    assert exc.where == "period_months"
    exc = error("extra = 5\n" + MINIMAL)
    assert exc.where == "extra"
    exc = error("goals = 5\n" + MINIMAL.split("[[placeholders]]")[0] + '[[sections]]\nheading = "x"\n')
    assert exc.where == "goals"


def test_syntax_error_names_the_file():
    exc = error('code = "unterminated\n', source="broken.toml")
    assert exc.source == "broken.toml"
    assert "TOML" in exc.message


def test_duplicate_obligation_code_and_missing_sections():
    doubled = MINIMAL.replace(
        "[[sections]]",
        '[[obligations]]\ncode = "meeting"\ntitle = "again"\nlevel = "class"\n'
        'frequency = "weekly"\n\n[[sections]]',
    )
    assert error(doubled).where == "obligations[1].code"
    assert error(MINIMAL.split("[[sections]]")[0]).where == "sections"


def test_auto_sections_and_extra_table_are_read():
    text = MINIMAL.replace('heading = "组织领导"', 'heading = "工作目标"\nauto = "goals"') + (
        '\n[extra]\nchannels = [{ code = "tv", name = "电视台" }]\n'
    )
    spec = parse_template(text)
    assert spec.sections[0].auto == "goals"
    assert "goals" in AUTO_SECTIONS
    assert spec.extra["channels"][0]["name"] == "电视台"


def test_load_file_uses_the_file_name(tmp_path):
    path = tmp_path / "custom-01.toml"
    path.write_text(MINIMAL.replace('metric = "awareness_rate"', 'metric = "nope"'), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_file(path)
    assert caught.value.source == "custom-01.toml"
    assert caught.value.where == "goals[0].metric"


def test_a_campaigns_template_is_parsed_once_and_errors_still_name_it():
    from fanzha.campaigns import spec as spec_module

    text = (spec_module.BUILTIN_DIR / "01-kindergarten-lesson.toml").read_text(encoding="utf-8")
    first = spec_module.parse_cached(text, lambda: "kg")
    assert spec_module.parse_cached(text, lambda: "kg") is first
    with pytest.raises(spec_module.TemplateError, match="broken.toml"):
        spec_module.parse_cached(text.replace("[[goals]]", "[[goals]\n", 1), lambda: "broken.toml")
