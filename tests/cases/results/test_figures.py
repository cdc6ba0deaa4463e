"""Results per unit and period beside the case figures: counted by the date of the result, scoped, with
the year-on-year change, on the page and in its XLSX."""

from __future__ import annotations

import io
from decimal import Decimal

from django.urls import reverse
from openpyxl import load_workbook

from fanzha.cases.stats import results as figures_q
from fanzha.cases.stats.queries import month_period, year_period

from .conftest import Police


def _rows(response) -> dict[str, tuple]:
    return {
        item["row"].unit.code: (
            item["row"].cases.cases,
            item["row"].results.cleared,
            item["rate"],
            item["row"].results.suspects,
            item["row"].results.gangs,
            item["row"].results.recovered,
        )
        for item in response.context["result_rows"]
    }


def test_figures_by_hand_match_the_page(client, with_results: Police) -> None:
    p = with_results
    client.force_login(p.admin)
    response = client.get(reverse("case_stats"), {"unit": p.bureau.pk, "year": 2025, "month": 3})
    assert response.status_code == 200
    # By hand: March 2025 cases A: a1, a2; B: b1. Cleared in March 2025 (by the result's date): a1 and
    # a0 (a 2024 case) at A. Suspects 3 (a1), recovered 500 (a1), one gang at A. The other county: none.
    assert _rows(response) == {
        "CG": (2, 2, "100.0%", 3, 1, Decimal("500")),
        "DG": (1, 0, "0.0%", 0, 0, Decimal("0")),
    }
    tiles = {code: (value, yoy) for code, _label, value, yoy, _base in response.context["result_tiles"]}
    assert tiles == {
        "cleared": ("2", "—"),  # none a year earlier
        "rate": ("66.7%", ""),  # 2 cleared / 3 received
        "suspects": ("3", "+50.0%"),  # 2 in March 2024
        "gangs": ("1", "—"),
        "recovered": ("500.00", "—"),
    }
    html = response.content.decode()
    assert 'data-testid="results"' in html and "66.7%" in html
    # February 2025 (a result's date, not the case's, counts): nothing.
    feb = client.get(reverse("case_stats"), {"unit": p.bureau.pk, "year": 2025, "month": 2})
    assert {code: row[1] for code, row in _rows(feb).items()} == {"CG": 0, "DG": 0}


def test_the_xlsx_has_the_same_figures(client, with_results: Police) -> None:
    p = with_results
    client.force_login(p.admin)
    response = client.get(reverse("case_stats_export"), {"unit": p.bureau.pk, "year": 2025, "month": 3})
    sheet = load_workbook(io.BytesIO(response.content))["破案战果"]
    rows = [tuple(v for v in row if v is not None) for row in sheet.iter_rows(values_only=True)]
    assert rows[1] == ("破案数", 2, 0, "—", 0, "—")
    assert rows[2] == ("抓获嫌疑人", 3, 2, "+50.0%", 0, "—")
    assert rows[3][:3] == ("打掉团伙", 1, 0) and rows[4][:2] == ("抓获团伙成员", 4)
    assert rows[5][:2] == ("追回金额（元）", 500)
    assert rows[6][:2] == ("破案率", "66.7%")
    units = {r[1]: r[2:] for r in rows[9:] if r}
    assert units == {"CG": (2, 2, "100.0%", 3, 1, 500, 1), "DG": (1, 0, "0.0%", 0, 0, 0, 2)}


def test_nobody_counts_results_outside_their_scope(client, with_results: Police) -> None:
    p = with_results
    src = figures_q.sources_for(p.officer_a)
    a = figures_q.figures(src, p.a, year_period(2025)).change.current
    assert (a.cleared, a.suspects, a.recovered, a.gangs) == (2, 3, Decimal("500"), 1)
    # The bureau is outside the officer's scope: nothing of station B reaches the officer's figures.
    b = figures_q.figures(src, p.b, month_period(2025, 3))
    assert b.change.current == figures_q.ResultTally() and all(r.cases.cases == 0 for r in b.units)
    client.force_login(p.officer_a)
    assert client.get(reverse("case_stats"), {"unit": p.bureau.pk}).status_code == 404
    other = figures_q.figures(
        figures_q.sources_for(p.outsider), p.other, month_period(2025, 3)
    ).change.current
    assert (other.cleared, other.suspects, other.gangs, other.gang_members) == (1, 9, 1, 7)
    mine = figures_q.figures(figures_q.sources_for(p.admin), p.bureau, month_period(2025, 3)).change.current
    assert (mine.cleared, mine.suspects, mine.gangs, mine.gang_members) == (2, 3, 1, 4)


def test_periods_of_a_bulletin() -> None:
    q1 = figures_q.parse_period(quarter="2025-Q1")
    assert q1 is not None and (q1.first.isoformat(), q1.last.isoformat()) == ("2025-01-01", "2025-03-31")
    prev = figures_q.previous(q1)
    assert (prev.first.isoformat(), prev.last.isoformat()) == ("2024-10-01", "2024-12-31")
    assert (
        figures_q.parse_period(month="2025-13") is None
        and figures_q.parse_period(month="2025-1", year="2025") is None
    )
    assert figures_q.period_code(figures_q.parse_period(month="2025-3")) == "2025-03"
