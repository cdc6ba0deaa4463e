"""The demo's police results and bulletin."""

from __future__ import annotations

from fanzha.campaigns import demo as campaign_demo
from fanzha.campaigns.models import Activity
from fanzha.cases import demo as cases_demo
from fanzha.cases.models import CaseResult, Gang
from fanzha.org import demo as org_demo


def test_the_demo_records_results_and_issues_a_bulletin(db) -> None:
    quiet = lambda _m: None  # noqa: E731
    org_demo.build_world("small", 0.02, log=quiet)
    campaign_demo.build_campaigns(quiet)
    cases_demo.build_cases(quiet)
    lines: list[str] = []
    cleared = cases_demo.build_results(lines.append)
    assert cleared >= 3
    assert CaseResult.objects.filter(kind="cleared").count() == cleared
    assert CaseResult.objects.filter(kind="suspects").exists()
    gang = Gang.objects.get()
    assert gang.cases.count() == 3 and gang.members_caught == 6
    notice = Activity.objects.get(kind="notice", title__contains="电信网络诈骗案件情况的通报")
    assert notice.obligation is not None and notice.obligation.rule.code == "periodic-notice"
    assert notice.evidence.get().kind == "document"
    assert cases_demo.build_results(lines.append) == 0 and "already there" in lines[-1]
    cases_demo.reset_cases(quiet)
    assert not Gang.objects.exists() and not CaseResult.objects.exists()
