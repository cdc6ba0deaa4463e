"""Pinyin helpers: search units and people by the initials of their Chinese names."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def initials(name: str) -> str:
    """``计算机学院`` → ``jsjxy``; non-Chinese characters are kept as lower case."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower()[:120]


def full_pinyin(name: str) -> str:
    """``计算机学院`` → ``jisuanjixueyuan``."""
    return "".join(lazy_pinyin(name, errors="default")).lower()[:400]
