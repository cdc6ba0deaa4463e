"""On PostgreSQL the queries behind subtrees and dashboards use the indexes meant for them.

A deployment's cluster usually has the system locale (en_US.UTF-8, zh_CN.UTF-8), under which a
plain btree cannot serve ``path LIKE 'prefix%'``: the subtree index must use the
``varchar_pattern_ops`` operator class, which the first test reads from the catalog. Sequential
scans are turned off so that the plans do not depend on the tables' sizes: a query without a
usable index then shows a ``Seq Scan`` all the same.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from fanzha.cases.models import Case
from fanzha.org import actions
from fanzha.org.actions import UnitTree
from fanzha.org.models import Unit
from fanzha.reports.models import KpiCount, PersonHome

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def tree() -> Unit:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL query plans: runs in the PostgreSQL pass (DATABASE_URL=postgres://…)")
    root = actions.create_unit(parent=None, name="示范市教育局", code="CITY", kind="bureau_city")
    schools = [
        UnitTree(
            f"学校{s}",
            f"S{s}",
            "school",
            [UnitTree(f"班级{s}-{c}", f"S{s}C{c}", "class") for c in range(20)],
        )
        for s in range(30)
    ]
    actions.bulk_create_tree(root, schools)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE org_unit")
        cursor.execute("SET LOCAL enable_seqscan = off")
    return Unit.objects.get(parent_path=root.path, code="S7")


def test_subtree_prefix_match_has_a_pattern_index(tree):
    """The index exists with the operator class that serves LIKE 'prefix%' under any collation, and
    the planner reaches a subtree through an index (which one depends on the cluster's planner)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT opc.opcname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_opclass opc ON opc.oid = i.indclass[0] WHERE c.relname = 'unit_path_prefix'"
        )
        assert cursor.fetchall() == [("varchar_pattern_ops",)]
    plan = Unit.objects.filter(path__startswith=tree.path).explain()
    assert "Index" in plan and "Seq Scan" not in plan, plan
    assert Unit.objects.filter(path__startswith=tree.path).count() == 21


def test_children_and_exact_paths_use_the_unique_indexes(tree):
    children = Unit.objects.filter(parent_path=tree.path).order_by("path").explain()
    assert "unit_code_unique_among_siblings" in children, children
    exact = Unit.objects.filter(path=tree.path).explain()
    assert "unit_path_unique" in exact or "unit_path_prefix" in exact, exact
    assert "Seq Scan" not in children + exact


def test_dashboard_queries_use_indexes(tree):
    """Every table these queries read is reached through an index (which join order the planner
    picks depends on the tables' sizes; a table without a usable index shows a Seq Scan)."""
    since = timezone.now() - timedelta(days=30)
    cases = Case.objects.filter(unit__path__startswith=tree.path, reported_at__gte=since).order_by().explain()
    assert "cases_case_unit_id" in cases and "Seq Scan" not in cases, cases
    homes = PersonHome.objects.filter(unit__path__startswith=tree.path).values("person_id").explain()
    assert "Seq Scan" not in homes, homes
    kpis = KpiCount.objects.filter(campaign_id=1, unit_id__in=[tree.pk], metric__in=["people:student"])
    plan = kpis.explain()
    assert "kpi_unique" in plan and "Seq Scan" not in plan, plan
