"""Fixtures of the learn tests: small content sets (fixtures/content.toml) that do not depend on the
shipped content files. The chat-group robots are the shared ``robots`` fixture (tests/conftest.py: the
fakes of the services in fanzha/bench/robots.py); ``receiver`` is a generic endpoint for a timeout."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fanzha.learn.actions import ContentSet

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_content(name: str = "content.toml") -> ContentSet:
    """A ContentSet read from a fixture file: arrays fraud_types, articles, tips, slogans, questions."""
    data = tomllib.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return ContentSet(**{key: data.get(key, []) for key in ContentSet.__dataclass_fields__})
