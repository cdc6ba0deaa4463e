"""Rule sets (灵魂8问, 六个一律, 十个凡是) printed both by campaign plans and by the knowledge base.

Why one file: the plans and the articles used to carry two different "六个一律", and a school that
printed the plan and pointed students to the article taught two sets of rules. The text lives here,
in ``texts/rule_sets.toml``; a template section names a set (``rules = "six-always"``) and ``learn``
(above campaigns in the import order) numbers the same items inside its article.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RULE_SETS_FILE = Path(__file__).resolve().parent / "texts" / "rule_sets.toml"


@dataclass(frozen=True)
class RuleSet:
    slug: str
    name: str
    items: tuple[str, ...]

    def numbered(self) -> str:
        """The items as the knowledge base prints them: "1. …" one a line."""
        return "\n".join(f"{n}. {item}" for n, item in enumerate(self.items, 1))


@lru_cache(maxsize=1)
def rule_sets() -> dict[str, RuleSet]:
    """Every rule set by slug (the file ships with the code and does not change while it runs)."""
    data = tomllib.loads(RULE_SETS_FILE.read_text(encoding="utf-8"))
    result = {}
    for raw in data.get("rule_sets", []):
        items = tuple(str(item) for item in raw["items"])
        result[str(raw["slug"])] = RuleSet(str(raw["slug"]), str(raw["name"]), items)
    return result
