"""六个一律 and 十个凡是 are one text: the plan prints exactly what the knowledge base teaches."""

from __future__ import annotations

import re
from datetime import date

from fanzha.campaigns.documents import plan as documents
from fanzha.campaigns.rule_sets import rule_sets
from fanzha.campaigns.spec import builtin_templates
from fanzha.learn import content


def test_plan_and_knowledge_base_print_the_same_rules(cast):
    articles = {a.slug: a for a in content.load_articles()}
    plan = documents.build_plan(
        builtin_templates()["university-fraud-free-campus"], cast.uni, today=date(2026, 9, 1)
    )
    paragraphs = [b.text for b in plan.blocks]
    for slug, count in (("soul-8-questions", 8), ("six-always", 6), ("ten-whenever", 10)):
        items = list(rule_sets()[slug].items)
        assert len(items) == count
        taught = re.findall(r"^\d+\. (.+)$", articles[slug].body, re.M)
        assert taught == items, slug
        for item in items:
            assert item in paragraphs, item
