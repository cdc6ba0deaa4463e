"""The shipped knowledge content: it loads, it is complete enough for every audience and fraud
type, it says the numbers people must know, and a broken file fails with a message naming the
file and the field."""

from __future__ import annotations

import dataclasses
import itertools
import re
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from django.db.models import Model

from fanzha.learn import content
from fanzha.learn.content import ContentError
from fanzha.learn.models import Article, Audience, FraudType, Slogan, Tip

OFFICIAL = {
    "brushing": "刷单返利类",
    "fake_cs": "冒充电商物流客服类",
    "investment": "虚假网络投资理财类",
    "loan": "贷款、代办信用卡类",
    "credit": "虚假征信类",
    "shopping": "虚假购物、服务类",
    "police": "冒充公检法及政府机关类",
    "acquaintance": "冒充领导、熟人类",
    "game": "网络游戏产品虚假交易类",
    "romance": "网络婚恋、交友类",
    "military": "冒充军警购物类",
    "blackhat": "网黑案件",
}


@pytest.fixture(scope="module")
def types() -> list[content.FraudTypeData]:
    return content.load_fraud_types()


@pytest.fixture(scope="module")
def articles() -> list[content.ArticleData]:
    return content.load_articles()


@pytest.fixture(scope="module")
def tips() -> list[content.TipData]:
    return content.load_tips()


@pytest.fixture(scope="module")
def slogans() -> list[content.SloganData]:
    return content.load_slogans()


def test_choices_match_the_models() -> None:
    # The loader keeps its own copy so it runs without Django; it must not drift.
    assert set(content.AUDIENCES) == set(Audience.values)
    assert set(content.ARTICLE_KINDS) == set(Article.Kind.values)


@pytest.mark.parametrize(
    ("data", "model"),
    [
        (content.FraudTypeData, FraudType),
        (content.ArticleData, Article),
        (content.TipData, Tip),
        (content.SloganData, Slogan),
    ],
)
def test_dataclass_fields_are_model_fields(data: type, model: type[Model]) -> None:
    # The sync passes each dataclass's fields straight to its model.
    names = {f.name for f in model._meta.get_fields()}
    assert {f.name for f in dataclasses.fields(data)} <= names


def test_fraud_types_are_the_twelve_official_ones_plus_other(types: list[content.FraudTypeData]) -> None:
    assert {t.code: t.name for t in types if t.code != "other"} == OFFICIAL
    assert [t.code for t in types][-1] == "other"
    assert len(types) == 13
    assert [t.order for t in types] == sorted({t.order for t in types})
    for t in types:
        assert 4 <= len(t.warning_signs) <= 6, t.code
        assert 3 <= len(t.what_to_do) <= 5, t.code
        assert any("110" in s or "96110" in s for s in t.what_to_do), t.code


def test_articles(articles: list[content.ArticleData]) -> None:
    assert len(articles) >= 28
    by_slug = {a.slug: a for a in articles}
    for a in articles:
        assert len([p for p in a.body.split("\n\n") if p.strip()]) >= 2, a.slug
    cases = [a for a in articles if a.kind == "case"]
    assert 3 <= len(cases) <= 4
    assert all(a.body.startswith("案例") for a in cases)
    assert all("教训" in a.body for a in cases)
    assert by_slug["two-cards-students"].kind == "law"
    for phrase in ("帮助信息网络犯罪活动罪", "掩饰、隐瞒犯罪所得罪", "2022年12月1日"):
        assert phrase in by_slug["two-cards-students"].body


@pytest.mark.parametrize(
    ("slug", "count"), [("soul-8-questions", 8), ("six-always", 6), ("ten-whenever", 10)]
)
def test_campus_rule_sets_have_their_counts(
    articles: list[content.ArticleData], slug: str, count: int
) -> None:
    article = {a.slug: a for a in articles}[slug]
    assert article.kind == "rules"
    items = article.numbered_items()
    assert len(items) == count
    numbers = [int(m.group(1)) for m in re.finditer(r"^(\d+)\. ", article.body, re.M)]
    assert numbers == list(range(1, count + 1))
    if slug == "ten-whenever":
        assert all(item.startswith("凡是") for item in items)
    if slug == "six-always":
        assert all("一律" in item for item in items)


def test_every_fraud_type_has_an_explainer_and_tips(
    types: list[content.FraudTypeData], articles: list[content.ArticleData], tips: list[content.TipData]
) -> None:
    for t in types:
        explainers = [a for a in articles if a.kind == "fraud_type" and a.fraud_types == [t.code]]
        assert len(explainers) == 1, t.code
        if t.code != "other":
            assert sum(tip.fraud_type == t.code for tip in tips) >= 4, t.code


def test_every_audience_is_served(
    articles: list[content.ArticleData], tips: list[content.TipData], slogans: list[content.SloganData]
) -> None:
    for audience in content.AUDIENCES:
        assert sum(audience in a.audiences for a in articles) >= 4, audience
        assert sum(audience in t.audiences for t in tips) >= 8, audience
        assert any(audience in s.audiences for s in slogans), audience


def test_tips_and_slogans_fit_their_places(
    tips: list[content.TipData], slogans: list[content.SloganData]
) -> None:
    assert len(tips) >= 120
    assert [t.code for t in tips] == [f"t{i:03d}" for i in range(1, len(tips) + 1)]
    assert all(len(t.text) <= 120 for t in tips)
    assert len(slogans) >= 40
    assert all(len(s.text) <= 30 for s in slogans)


@pytest.mark.parametrize("kind", ["tips", "slogans", "titles"])
def test_no_near_duplicates(
    kind: str,
    tips: list[content.TipData],
    slogans: list[content.SloganData],
    articles: list[content.ArticleData],
) -> None:
    texts = {
        "tips": [t.text for t in tips],
        "slogans": [s.text for s in slogans],
        "titles": [a.title for a in articles],
    }[kind]
    assert len(set(texts)) == len(texts)
    for a, b in itertools.combinations(texts, 2):
        assert SequenceMatcher(None, a, b).ratio() < 0.75, (a, b)


def test_the_numbers_to_call_are_there(
    types: list[content.FraudTypeData], articles: list[content.ArticleData], tips: list[content.TipData]
) -> None:
    everything = "\n".join(
        [a.body for a in articles] + [t.text for t in tips] + [s for ft in types for s in ft.what_to_do]
    )
    # 110 on its own, not only as part of 96110.
    assert re.search(r"(?<!96)110", everything)
    assert "96110" in everything
    assert "12381" in everything
    assert "国家反诈中心" in everything
    app = {a.slug: a for a in articles}["anti-fraud-app-setup"]
    for step in ("安装", "注册", "预警", "三个100%"):
        assert step in app.body


# ---------------------------------------------------------------- validation messages


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_tip_names_file_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tips.toml",
        '[[tips]]\ncode = "t001"\ntext = "ok"\naudiences = ["student"]\nfraud_type = ""\n\n'
        '[[tips]]\ncode = "t002"\ntext = "另一条"\naudiences = ["students"]\nfraud_type = ""\n',
    )
    with pytest.raises(ContentError) as exc:
        content.parse_tips(path, {"brushing"})
    message = str(exc.value)
    assert message.startswith("tips.toml: ")
    assert "[[tips]] #2 (t002) field 'audiences'" in message
    assert "students" in message


def test_too_long_tip_and_unknown_fraud_type(tmp_path: Path) -> None:
    path = write(tmp_path, "t.toml", f'[[tips]]\ncode = "x"\ntext = "{"长" * 301}"\naudiences = ["staff"]\n')
    with pytest.raises(ContentError, match=r"t\.toml: \[\[tips\]\] #1 \(x\) field 'text': is 301"):
        content.parse_tips(path, set())
    path = write(
        tmp_path, "t.toml", '[[tips]]\ncode = "x"\ntext = "a"\naudiences = ["staff"]\nfraud_type = "nope"\n'
    )
    with pytest.raises(ContentError, match="field 'fraud_type': unknown fraud type 'nope'"):
        content.parse_tips(path, {"brushing"})


def test_duplicate_codes_are_refused(tmp_path: Path) -> None:
    entry = '[[tips]]\ncode = "t001"\ntext = "{}"\naudiences = ["staff"]\n'
    path = write(tmp_path, "tips.toml", entry.format("一") + entry.format("二"))
    with pytest.raises(
        ContentError, match=r"tips\.toml: \[\[tips\]\] #2 \(t001\) field 'code': 't001' repeats"
    ):
        content.parse_tips(path, set())


def test_empty_article_body_and_unknown_field(tmp_path: Path) -> None:
    article = (
        '[[articles]]\nslug = "a"\ntitle = "T"\nkind = "guide"\naudiences = ["public"]\nfraud_types = []\n'
    )
    path = write(tmp_path, "articles.toml", article + 'body = """\n  \n"""\n')
    with pytest.raises(
        ContentError, match=r"articles\.toml: \[\[articles\]\] #1 \(a\) field 'body': must not be empty"
    ):
        content.parse_articles(path, set())
    path = write(tmp_path, "articles.toml", article + 'body = "x"\nauthor = "me"\n')
    with pytest.raises(ContentError, match="unknown field\\(s\\): author"):
        content.parse_articles(path, set())
    path = write(tmp_path, "articles.toml", article.replace("[]", '["ghost"]') + 'body = "x"\n')
    with pytest.raises(ContentError, match="field 'fraud_types': unknown fraud type: ghost"):
        content.parse_articles(path, {"brushing"})


def test_bad_fraud_type_and_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fraud_types.toml",
        '[[types]]\ncode = "x"\nname = "X"\norder = 1\nhow_it_works = "h"\n'
        'warning_signs = "one"\nwhat_to_do = ["a"]\n',
    )
    with pytest.raises(
        ContentError, match=r"fraud_types\.toml: \[\[types\]\] #1 \(x\) field 'warning_signs'"
    ):
        content.parse_fraud_types(path)
    path = write(tmp_path, "slogans.toml", "[[slogans]\ntext = \n")
    with pytest.raises(ContentError, match=r"^slogans\.toml: syntax: "):
        content.parse_slogans(path)
