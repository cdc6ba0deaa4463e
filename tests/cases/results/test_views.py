"""The results pages: record on a case, record a gang, in the user's language, refusals."""

from __future__ import annotations

from django.urls import reverse

from fanzha.cases.models import Case, CaseResult, Gang

from .conftest import Police


def test_record_a_result_on_the_case_page(client, police: Police) -> None:
    p = police
    client.force_login(p.officer_a)
    url = reverse("case_results", args=[p.a1.pk])
    page = client.get(url)
    assert page.status_code == 200 and "登记战果" in page.content.decode()
    bad = client.post(url, {"kind": "recovered", "on": "2025-03-22", "amount": "99999"})
    assert bad.status_code == 400 and "累计追回金额不能超过损失金额" in bad.content.decode()
    assert not CaseResult.objects.exists()
    ok = client.post(url, {"kind": "recovered", "on": "2025-03-22", "amount": "300"})
    assert ok.status_code == 302
    assert Case.objects.get(pk=p.a1.pk).recovered_amount == 300
    # A case of another station is not there for this officer.
    assert client.get(reverse("case_results", args=[p.b1.pk])).status_code == 404
    assert (
        client.post(
            reverse("case_results", args=[p.b1.pk]), {"kind": "cleared", "on": "2025-03-22"}
        ).status_code
        == 404
    )


def test_record_a_gang_by_case_numbers(client, police: Police) -> None:
    p = police
    client.force_login(p.officer_a)
    url = reverse("gang_new")
    data = {"name": "刷单团伙", "unit": p.a.pk, "broken_on": "2025-03-25", "members_caught": "4"}
    bad = client.post(url, {**data, "cases": f"{p.a1.number} {p.b1.number}"})
    assert bad.status_code == 400 and p.b1.number in bad.content.decode()
    assert not Gang.objects.exists()
    assert client.post(url, {**data, "cases": f"{p.a1.number}，{p.a2.number}"}).status_code == 302
    assert set(Gang.objects.get().cases.all()) == {p.a1, p.a2}


def test_the_pages_in_english(client, with_results: Police) -> None:
    p = with_results
    client.force_login(p.admin)
    client.cookies["django_language"] = "en"
    html = client.get(
        reverse("bulletin"), {"unit": p.bureau.pk, "month": "2025-03"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert (
        "Issue bulletin" in html
        and "Cases overall" in html
        and "通报" not in html.split("<article")[1].split("青山县公安局")[0]
    )
    stats = client.get(
        reverse("case_stats"), {"unit": p.bureau.pk, "year": 2025, "month": 3}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Clearance rate" in stats.content.decode()
