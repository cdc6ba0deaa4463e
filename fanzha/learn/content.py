"""The knowledge content that fanzha ships: reading and validating the TOML files in ``content/``.

Content is data written by people, so every mistake (a typo in an audience, a tip too long for
its column, an article without a body) is caught here with a message that names the file and the
field — before ``actions.sync_content`` writes anything to the database. This module does no
database work and needs no Django set-up, so a command or a test can check the files on its own.

The dataclasses carry exactly the model fields of ``fanzha.learn.models`` that content fills.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTENT_DIR = Path(__file__).parent / "content"

# Kept in step with ``models.Audience`` and ``models.Article.Kind`` (a test checks); duplicated here
# so that the loader works without Django's app registry.
AUDIENCES = ("child", "student", "staff", "parent", "elderly", "public")
ARTICLE_KINDS = ("fraud_type", "rules", "law", "case", "guide")

TIP_MAX = 300  # Tip.text max_length
SLOGAN_MAX = 120  # Slogan.text max_length
TITLE_MAX = 200  # Article.title max_length
NAME_MAX = 60  # FraudType.name max_length
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
NUMBERED = re.compile(r"^\s*\d+[.、．]\s*(\S.*)$")


class ContentError(ValueError):
    """A content file that does not follow the format; the message names file and field."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source, self.where, self.message = source, where, message
        super().__init__(f"{source}: {where}: {message}")


@dataclass(frozen=True)
class FraudTypeData:
    code: str
    name: str
    order: int
    how_it_works: str
    warning_signs: list[str]
    what_to_do: list[str]


@dataclass(frozen=True)
class ArticleData:
    slug: str
    title: str
    kind: str
    audiences: list[str]
    fraud_types: list[str]
    body: str

    def numbered_items(self) -> list[str]:
        """The body's numbered list lines ("1. …"), e.g. the eight questions of a rule set."""
        return numbered_items(self.body)


@dataclass(frozen=True)
class TipData:
    code: str
    text: str
    audiences: list[str]
    fraud_type: str


@dataclass(frozen=True)
class SloganData:
    text: str
    audiences: list[str]


def numbered_items(body: str) -> list[str]:
    """Lines of ``body`` that are items of a numbered list, without their numbers."""
    return [m.group(1).strip() for line in body.splitlines() if (m := NUMBERED.match(line))]


# ---------------------------------------------------------------- reading one table


class _Table:
    """One ``[[array]]`` entry being read: typed getters whose errors say where the entry is."""

    def __init__(self, source: str, array: str, index: int, data: Any, fields: Iterable[str]) -> None:
        self.source, self.data = source, data
        self.where = f"[[{array}]] #{index + 1}"
        if not isinstance(data, dict):
            raise ContentError(source, self.where, "must be a table")
        key = data.get("code") or data.get("slug")
        if isinstance(key, str):
            self.where += f" ({key})"
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ContentError(source, self.where, f"unknown field(s): {', '.join(unknown)}")

    def fail(self, field: str, message: str) -> ContentError:
        return ContentError(self.source, f"{self.where} field '{field}'", message)

    def text(self, field: str, *, max_length: int | None = None, allow_empty: bool = False) -> str:
        value = self.data.get(field, "" if allow_empty else None)
        if value is None:
            raise self.fail(field, "is required")
        if not isinstance(value, str):
            raise self.fail(field, "must be a string")
        value = value.strip()
        if not value and not allow_empty:
            raise self.fail(field, "must not be empty")
        if max_length is not None and len(value) > max_length:
            raise self.fail(field, f"is {len(value)} characters long, at most {max_length} allowed")
        return value

    def slug(self, field: str, *, max_length: int) -> str:
        value = self.text(field, max_length=max_length)
        if not SLUG.match(value):
            raise self.fail(field, f"{value!r} may contain only letters, digits, '-' and '_'")
        return value

    def integer(self, field: str) -> int:
        value = self.data.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(field, "must be a non-negative integer")
        return value

    def texts(self, field: str, *, min_items: int = 0, max_items: int | None = None) -> list[str]:
        value = self.data.get(field)
        if value is None:
            raise self.fail(field, "is required")
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(field, "must be a list of non-empty strings")
        if len(value) < min_items or (max_items is not None and len(value) > max_items):
            wanted = f"{min_items}–{max_items}" if max_items is not None else f"at least {min_items}"
            raise self.fail(field, f"has {len(value)} items, {wanted} wanted")
        return [v.strip() for v in value]

    def choices(self, field: str, allowed: Collection[str], *, what: str, min_items: int = 0) -> list[str]:
        values = self.texts(field, min_items=min_items)
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise self.fail(
                field, f"unknown {what}: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
            )
        if len(set(values)) != len(values):
            raise self.fail(field, "lists a value twice")
        return values


def _read(path: Path, array: str) -> tuple[str, list[Any]]:
    """The entries of ``[[array]]`` in ``path``; a syntax error or a missing array names the file."""
    source = path.name
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ContentError(source, "file", "not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(source, "syntax", str(exc)) from exc
    entries = data.get(array)
    if not isinstance(entries, list) or not entries:
        raise ContentError(source, f"[[{array}]]", "no entries")
    extra = sorted(set(data) - {array})
    if extra:
        raise ContentError(source, "top level", f"unknown key(s): {', '.join(extra)}")
    return source, entries


def _unique(source: str, field: str, values: Iterable[tuple[str, str]]) -> None:
    """Two entries with the same key would overwrite each other when synced; refuse them."""
    seen: dict[str, str] = {}
    for where, value in values:
        if value in seen:
            raise ContentError(source, f"{where} field '{field}'", f"{value!r} repeats {seen[value]}")
        seen[value] = where


# ---------------------------------------------------------------- parsers (one file each)


def parse_fraud_types(path: Path) -> list[FraudTypeData]:
    """The fraud-type taxonomy, sorted by ``order``."""
    source, entries = _read(path, "types")
    fields = ("code", "name", "order", "how_it_works", "warning_signs", "what_to_do")
    result, keys = [], []
    for i, raw in enumerate(entries):
        t = _Table(source, "types", i, raw, fields)
        item = FraudTypeData(
            code=t.slug("code", max_length=32),
            name=t.text("name", max_length=NAME_MAX),
            order=t.integer("order"),
            how_it_works=t.text("how_it_works"),
            warning_signs=t.texts("warning_signs", min_items=1),
            what_to_do=t.texts("what_to_do", min_items=1),
        )
        result.append(item)
        keys.append((t.where, item.code))
    _unique(source, "code", keys)
    _unique(source, "name", [(t, item.name) for (t, _), item in zip(keys, result, strict=True)])
    return sorted(result, key=lambda item: item.order)


def _with_rule_set(t: _Table, body: str) -> str:
    """An article naming a shared rule set (``rules = "six-always"``) gets its items, numbered, where its
    body says ``{items}``: the plans print the same set (``campaigns.rule_sets``), so the two never differ."""
    from fanzha.campaigns.rule_sets import rule_sets

    slug = t.text("rules", allow_empty=True)
    if not slug:
        return body
    found = rule_sets().get(slug)
    if found is None:
        raise t.fail("rules", f"unknown rule set {slug!r} (known: {', '.join(rule_sets())})")
    if "{items}" not in body:
        raise t.fail("body", "an article with a rule set must say where its items go: {items}")
    return body.replace("{items}", found.numbered())


def parse_articles(path: Path, fraud_type_codes: Collection[str]) -> list[ArticleData]:
    """Articles; their audiences and fraud types must be known codes."""
    source, entries = _read(path, "articles")
    fields = ("slug", "title", "kind", "audiences", "fraud_types", "body", "rules")
    result, keys = [], []
    for i, raw in enumerate(entries):
        t = _Table(source, "articles", i, raw, fields)
        kind = t.text("kind")
        if kind not in ARTICLE_KINDS:
            raise t.fail("kind", f"unknown kind {kind!r} (allowed: {', '.join(ARTICLE_KINDS)})")
        item = ArticleData(
            slug=t.slug("slug", max_length=80),
            title=t.text("title", max_length=TITLE_MAX),
            kind=kind,
            audiences=t.choices("audiences", AUDIENCES, what="audience", min_items=1),
            fraud_types=t.choices("fraud_types", fraud_type_codes, what="fraud type"),
            body=_with_rule_set(t, t.text("body")),
        )
        result.append(item)
        keys.append((t.where, item.slug))
    _unique(source, "slug", keys)
    _unique(source, "title", [(w, a.title) for (w, _), a in zip(keys, result, strict=True)])
    return result


def parse_tips(path: Path, fraud_type_codes: Collection[str]) -> list[TipData]:
    """Daily tips; ``fraud_type`` is a known code or empty for a general tip."""
    source, entries = _read(path, "tips")
    result, keys = [], []
    for i, raw in enumerate(entries):
        t = _Table(source, "tips", i, raw, ("code", "text", "audiences", "fraud_type"))
        fraud_type = t.text("fraud_type", allow_empty=True)
        if fraud_type and fraud_type not in fraud_type_codes:
            raise t.fail("fraud_type", f"unknown fraud type {fraud_type!r}")
        item = TipData(
            code=t.slug("code", max_length=40),
            text=t.text("text", max_length=TIP_MAX),
            audiences=t.choices("audiences", AUDIENCES, what="audience", min_items=1),
            fraud_type=fraud_type,
        )
        result.append(item)
        keys.append((t.where, item.code))
    _unique(source, "code", keys)
    _unique(source, "text", [(w, tip.text) for (w, _), tip in zip(keys, result, strict=True)])
    return result


def parse_slogans(path: Path) -> list[SloganData]:
    """Publicity slogans; the text is the key (``Slogan.text`` is unique)."""
    source, entries = _read(path, "slogans")
    result, keys = [], []
    for i, raw in enumerate(entries):
        t = _Table(source, "slogans", i, raw, ("text", "audiences"))
        item = SloganData(
            text=t.text("text", max_length=SLOGAN_MAX),
            audiences=t.choices("audiences", AUDIENCES, what="audience", min_items=1),
        )
        result.append(item)
        keys.append((t.where, item.text))
    _unique(source, "text", keys)
    return result


# ---------------------------------------------------------------- the shipped content


def load_fraud_types(directory: Path = CONTENT_DIR) -> list[FraudTypeData]:
    """The shipped fraud types (twelve official ones plus "other"), in display order."""
    return parse_fraud_types(directory / "fraud_types.toml")


def _codes(directory: Path) -> set[str]:
    return {t.code for t in load_fraud_types(directory)}


def load_articles(directory: Path = CONTENT_DIR) -> list[ArticleData]:
    """The shipped articles, checked against the shipped fraud types."""
    return parse_articles(directory / "articles.toml", _codes(directory))


def load_tips(directory: Path = CONTENT_DIR) -> list[TipData]:
    """The shipped daily tips, checked against the shipped fraud types."""
    return parse_tips(directory / "tips.toml", _codes(directory))


def load_slogans(directory: Path = CONTENT_DIR) -> list[SloganData]:
    """The shipped slogans."""
    return parse_slogans(directory / "slogans.toml")
