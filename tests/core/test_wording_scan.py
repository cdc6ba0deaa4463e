"""Chinese pages show no English, codes or placeholders (issue 15): every page the menus reach, as each
role of a small world (the county cast, a running campaign with its letters), is read in zh-hans and its
visible text (tags, scripts, styles and attribute values stripped) must hold no Latin word outside an
allow-list, and no ``{…}`` or ``%(…)s`` placeholder left unfilled.

Bounded so that it runs in ``make test``: one page per URL pattern and role (``bench.pages.walk``), at most
``MAX_PAGES`` per role. The world's own data (unit codes, numbers, user names) is not wording: allowed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.utils import translation

from fanzha.bench.pages import walk
from fanzha.campaigns.letters import actions as letters
from fanzha.org.models import Person, Unit, User
from tests.campaigns.conftest import make_campaign

pytestmark = pytest.mark.django_db

MAX_PAGES = 25
# Abbreviations and names a Chinese page writes in Latin letters.
ALLOWED = {
    "pdf", "excel", "docx", "xlsx", "xls", "csv", "toml", "png", "jpg", "jpeg", "app", "id", "qq", "url",
    "sms", "https", "http", "km", "api", "wifi", "ip", "pc", "ok", "cas", "oidc", "vs", "ppt", "mp",
    "wechat", "wecom", "dingtalk", "feishu", "email", "e", "mail", "word", "gbk", "utf", "kb", "mb", "gb",
    "english",  # the language switch names the other language in its own words
    "webhook",  # the word the robot settings of WeCom, DingTalk and Feishu show for the address to paste
}  # fmt: skip
WORD = re.compile(r"(?<![A-Za-z0-9_@.\-/])[A-Za-z]{2,}(?![A-Za-z0-9_@\-/])")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]|\{\{|\{%")


class Visible(HTMLParser):
    """The text a reader sees: data outside <script>, <style> and <template>; attributes dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template", "svg", "code", "pre"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "svg", "code", "pre") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def findings(text: str, data: set[str]) -> list[str]:
    placeholders = PLACEHOLDER.findall(text)
    words = WORD.findall(PLACEHOLDER.sub(" ", text))
    return [w for w in words if w.lower() not in ALLOWED and w not in data] + placeholders


def test_visible_text_is_stripped_of_markup():
    html = '<p title="Hello">中文 PDF <b>unit</b></p><script>var x = "{a}";</script><style>p{}</style>'
    assert visible_text(html).split() == ["中文", "PDF", "unit"]
    assert findings(visible_text(html), set()) == ["unit"]
    assert findings("剩余 %(n)s 人，{organisation}", set()) == ["%(n)s", "{organisation}"]
    assert findings("CS2301 班 user@example.com", set()) == []


def test_chinese_pages_show_no_english_nor_placeholders(county_cast, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    campaign = make_campaign(county_cast)
    letters.generate_letters(campaign)
    data: set[str] = set(Unit.objects.values_list("code", flat=True))
    data |= set(User.objects.values_list("username", flat=True))
    data |= {part for code in list(data) for part in re.split(r"[^A-Za-z]+", code) if part}
    data |= {w for name in Person.objects.values_list("name", flat=True) for w in WORD.findall(name)}
    problems: dict[str, set[str]] = {}
    with translation.override("zh-hans"):
        for who, user in county_cast.users().items():
            for url, response in walk(user, per_pattern=1, max_pages=MAX_PAGES):
                if (
                    response.get("Content-Type", "").split(";")[0] != "text/html"
                    or response.status_code != 200
                ):
                    continue
                if url.startswith("/api/"):  # the API's documentation is for developers, in English
                    continue
                text = visible_text(response.content.decode())
                for word in findings(text, data):
                    problems.setdefault(word, set()).add(f"{who} {url}")
    assert problems == {}, "\n".join(f"{w}: {sorted(where)[:8]}" for w, where in sorted(problems.items()))
