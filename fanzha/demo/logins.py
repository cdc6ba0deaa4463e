"""The demo logins as ``fanzha demo`` prints them and ``fanzha demo-logins`` repeats them: one function,
so the two never differ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fanzha.campaigns import demo as campaign_demo
from fanzha.org import demo


def login_table(logins: Sequence[demo.DemoLogin] | None = None) -> str:
    """The table of demo logins (role, login, name, scope), the shared password, and where to look."""
    table = demo.format_logins(demo.demo_logins() if logins is None else logins)
    return table + "\n" + campaign_demo.format_campaigns(campaign_demo.demo_campaigns())


def login_rows(logins: Sequence[demo.DemoLogin] | None = None) -> list[dict[str, Any]]:
    """The same logins as data: role key and label, login, name, scope, password."""
    return demo.logins_data(demo.demo_logins() if logins is None else logins)
