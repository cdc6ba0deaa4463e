"""Which encoding a CSV roster is in: BOMs first, then UTF-8 and GB18030 (the superset of GBK that
Excel's "CSV" saves on a Chinese Windows), and when the bytes are valid in both, which reading is
plausible Chinese.

Why not "UTF-8 if it decodes": a GBK file can be valid UTF-8 by accident (叶小雪 in GBK reads as
Cyrillic and Arabic letters in UTF-8) and was then imported as mojibake without a word; and UTF-8
text is very often valid GB18030 (名字 reads as 鍚嶅瓧). So both readings are scored: the share of
characters a Chinese roster is made of (the 3,755 common hanzi of GB2312 level 1 count most, level 2
less, other CJK little; Chinese punctuation; accented Latin letters inside a Latin name) against
letters of other scripts, private-use and replacement characters, which mojibake is made of. When
neither reading is clearly ahead the uploader is asked (``Decoded.choices``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache

# What a user may choose, and the codec that reads it (GB18030 reads every GBK file).
CHOICES = {"utf-8": "utf-8-sig", "gbk": "gb18030"}
CHOICE_LABELS = {"utf-8": "UTF-8", "gbk": "GBK（GB18030）"}

SAMPLE_CHARS = 20_000  # non-ASCII characters scored per reading
PLAUSIBLE = 0.6  # a reading this plausible …
MARGIN = 0.3  # … and this far ahead of the other wins; else the user is asked

_PUNCTUATION = set("·—–“”‘’…、。，；：？！（）《》【】「」『』〈〉￥•●○★☆№×÷℃")


@dataclass(frozen=True)
class Decoded:
    """A CSV's text and the codec that read it; or, when unsure, the ``choices`` to ask the user about."""

    text: str | None
    codec: str = ""
    choices: tuple[str, ...] = ()


@cache
def _gb2312() -> tuple[frozenset[str], frozenset[str]]:
    """The hanzi of GB2312: level 1 (the 3,755 most common) and level 2."""
    level1: set[str] = set()
    level2: set[str] = set()
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                char = bytes((high, low)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            (level1 if high < 0xD8 else level2).add(char)
    return frozenset(level1), frozenset(level2)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _is_latin_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _weight(char: str, before: str, after: str) -> float:
    level1, level2 = _gb2312()
    if char in level1 or char in _PUNCTUATION or "\u3000" <= char <= "\u303f" or "\uff01" <= char <= "\uff5e":
        return 1.0
    if char in level2:
        return 0.6
    if "\u4e00" <= char <= "\u9fff":
        return 0.2  # in Unicode's CJK block, but not among GB2312's 6,763 hanzi
    if "\u00c0" <= char <= "\u024f" and char.isalpha():
        # An accented letter in a Latin name (José) is fine; among hanzi it is mojibake.
        return 1.0 if _is_latin_letter(before) or _is_latin_letter(after) else 0.0
    return 0.0  # other scripts, symbols, private use, U+FFFD, C1 controls


def plausibility(text: str) -> float:
    """How much the non-ASCII part of ``text`` looks like a Chinese roster, 0 to 1 (1 when all ASCII)."""
    total = 0.0
    count = 0
    for match in _NON_ASCII.finditer(text):
        index = match.start()
        before = text[index - 1] if index else " "
        total += _weight(match[0], before, text[index + 1 : index + 2])
        count += 1
        if count >= SAMPLE_CHARS:
            break
    return 1.0 if count == 0 else total / count


def decode(data: bytes, choice: str | None = None) -> Decoded:
    """The text of a CSV: in the encoding the user chose (``CHOICES``), else by BOM, by the zero bytes of
    UTF-16, or the one of UTF-8 and GB18030 that reads it, or the more plausible of the two."""
    if choice:
        codec = CHOICES[choice]
        try:
            return Decoded(data.decode(codec), codec)
        except UnicodeDecodeError:
            return Decoded(None, codec)
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16")
    if b"\x00" in data[:4096]:
        sample = data[:4096]
        if sample[1::2].count(0) > len(sample) // 4:
            return _strict(data, "utf-16-le")
        if sample[0::2].count(0) > len(sample) // 4:
            return _strict(data, "utf-16-be")
        return Decoded(None)
    readings = {}
    for name, codec in CHOICES.items():
        try:
            readings[name] = data.decode(codec)
        except UnicodeDecodeError:
            continue
    if len(readings) == 1:
        name, text = next(iter(readings.items()))
        return Decoded(text, CHOICES[name])
    if not readings:
        return Decoded(None)
    utf8, gbk = readings["utf-8"], readings["gbk"]
    if utf8 == gbk:  # plain ASCII
        return Decoded(utf8, CHOICES["utf-8"])
    scores = {"utf-8": plausibility(utf8), "gbk": plausibility(gbk)}
    for name, other in (("utf-8", "gbk"), ("gbk", "utf-8")):
        if scores[name] >= PLAUSIBLE and scores[name] - scores[other] >= MARGIN:
            return Decoded(readings[name], CHOICES[name])
    return Decoded(None, choices=tuple(CHOICES))


def _strict(data: bytes, codec: str) -> Decoded:
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError:
        return Decoded(None, codec)


_LONG_NUMBER = re.compile(r"\d{6,}")


def preview(data: bytes, lines: int = 5) -> dict[str, list[str]]:
    """The first ``lines`` lines of a CSV in each encoding the user may choose, for them to pick the one
    that reads right. Long numbers (phone, ID) are masked: only the text matters here."""
    head = data[: 16 * 1024]
    result = {}
    for name, codec in CHOICES.items():
        text = head.decode(codec, errors="replace")
        rows = text.splitlines()[:lines]
        result[name] = [
            _LONG_NUMBER.sub(lambda m: m[0][:3] + "*" * (len(m[0]) - 5) + m[0][-2:], row)[:200]
            for row in rows
        ]
    return result
