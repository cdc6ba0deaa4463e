"""The load test's script stays true to the site: its pages exist, its accounts sign in, its figures parse.

The locustfile is read as text (locust is an optional extra, not needed by the suite); the pages it
requests come from ``fanzha.bench.load.PATHS``, which is checked against the URL conf here, and the
accounts ``prepare`` writes are walked through with the Django test client as locust would. One
test runs locust for real against a live server when locust is installed (``pip install
'fanzha[load]'``) and is skipped otherwise.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import stat
import string
from pathlib import Path

import pytest
from django.urls import reverse

from fanzha.bench import load
from fanzha.org.credentials import actions as credentials
from fanzha.org.models import SignInCode, User
from fanzha.reach.models import ClassLink
from tests.reach.conftest import make_campaign

LOCUSTFILE = Path(load.DEFAULT_LOCUSTFILE)
SAMPLE = {"pk": 7, "unit_pk": 8, "token": "AbC123xyz"}


def locustfile_tree() -> ast.Module:
    return ast.parse(LOCUSTFILE.read_text(encoding="utf-8"), filename=str(LOCUSTFILE))


def test_every_path_is_the_url_conf_s():
    for name, template in load.PATHS.items():
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
        kwargs = {f: SAMPLE[f] for f in fields}
        assert reverse(name, kwargs=kwargs or None) == load.path_for(name, **kwargs), name


def test_locustfile_requests_only_known_pages_and_defines_every_scenario_class():
    tree = locustfile_tree()
    used = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "path_for")
            or (isinstance(node.func, ast.Attribute) and node.func.attr in {"page", "get", "member_page"})
        )
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert used == set(load.PATHS)  # nothing unknown requested, nothing listed and unused
    classes = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    for name, scenario in load.SCENARIOS.items():
        assert set(scenario.classes) <= classes, name
    assert set(load.ALL) == set(load.SCENARIOS)


@pytest.fixture
def prepared(cast, tmp_path, settings):
    campaign = make_campaign(cast)
    path = tmp_path / "fixtures.json"
    fixtures = load.prepare("UNI", members=10, path=path)
    return campaign, path, fixtures


def test_prepare_writes_private_sign_ins_without_phone_numbers(cast, prepared):
    campaign, path, fixtures = prepared
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "13800138000" not in text and "13900139000" not in text
    data = json.loads(text)
    assert data["campaign"] == campaign.pk and data["root"] == cast.uni.pk
    # Members with a number, through the links made for their classes, each with a code issued for the run.
    links = {link.unit_id: link.token for link in ClassLink.objects.all()}
    assert sorted((m["token"], m["number"]) for m in data["members"]) == sorted(
        [
            (links[cast.cs2301.pk], "2023001"),
            (links[cast.cs2301.pk], "2023002"),
            (links[cast.ma2301.pk], "2023101"),
        ]
    )
    people = {p.external_number: p for p in (cast.student, cast.monitor, cast.math_student)}
    for member in data["members"]:
        assert credentials.check_code(people[member["number"]], member["code"]) == credentials.Check.OK
    assert not SignInCode.objects.filter(code_hash__in=[m["code"] for m in data["members"]]).exists()
    assert cast.cs.pk in data["drill"]["level1"] and cast.cs2301.pk in data["drill"]["level2"]
    assert User.objects.filter(username=data["staff_login"], is_superuser=True).exists()


def test_prepared_accounts_walk_every_page_as_locust_does(client, cast, prepared):
    campaign, _path, fx = prepared
    response = client.post(
        load.path_for("login"), {"username": fx.staff_login, "password": fx.staff_password}
    )
    assert response.status_code == 302
    for unit_pk in [fx.root, *fx.drill["level1"], *fx.drill["level2"]]:
        url = load.path_for("dashboard_unit", pk=fx.campaign, unit_pk=unit_pk)
        assert client.get(url).status_code == 200, url
    assert client.get(load.path_for("dashboard_index")).status_code == 200

    member = fx.members[0]
    client.logout()
    assert client.get(load.path_for("member_landing", token=member["token"])).status_code == 200
    signin = load.path_for("member_signin", token=member["token"])
    response = client.post(signin, {"number": member["number"], "code": member["code"]})
    assert response.status_code == 302 and response.url == load.path_for(
        "member_tasks", token=member["token"]
    )
    tasks = client.get(load.path_for("member_tasks", token=member["token"]))
    assert tasks.status_code == 200 and campaign.title in tasks.content.decode()
    assert client.get(load.path_for("member_tips", token=member["token"])).status_code == 200
    wrong = client.post(signin, {"number": member["number"], "code": "0000000000"})
    assert wrong.status_code == 400

    token = client.post(
        load.path_for("api-token"),
        {"username": fx.staff_login, "password": fx.staff_password},
        content_type="application/json",
    ).json()["token"]
    auth = {"HTTP_AUTHORIZATION": "Token " + token}
    people = client.get(load.path_for("person-list"), {"unit": cast.cs.pk}, **auth)
    assert people.status_code == 200 and people.json()["count"] == 2  # 张三 and the monitor
    assert client.get(load.path_for("unit-list"), {"under": cast.cs.pk}, **auth).status_code == 200
    assert client.get(load.path_for("case-list"), **auth).status_code == 200


def test_prepare_without_a_campaign_says_what_to_run(cast, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="bench rollup"):
        load.prepare("UNI", members=5, path=tmp_path / "f.json")
    assert not (tmp_path / "f.json").exists()


STATS_CSV = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
    "99.99%,100%\n"
    "GET,/m/[token]/tasks/,1200,0,21,25.3,9,180,5120,40.1,0.0,21,25,28,30,37,45,60,80,170,180,180\n"
    "GET,/m/[token]/tips/,600,3,18,20.1,8,150,4096,20.0,0.1,18,21,23,25,30,38,50,70,150,150,150\n"
    "POST,login,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
    ",Aggregated,1800,3,20,23.6,8,180,4779,60.1,0.1,20,24,27,29,35,42,57,77,170,180,180\n"
)


def test_read_stats_takes_the_aggregated_row_and_each_page(tmp_path):
    (tmp_path / "run_stats.csv").write_text(STATS_CSV, encoding="utf-8")
    stats = load.read_stats(str(tmp_path / "run"))
    assert (stats["requests"], stats["failures"], stats["rps"]) == (1800, 3, 60.1)
    assert (stats["median_ms"], stats["p95_ms"], stats["p99_ms"]) == (20.0, 42.0, 77.0)
    assert stats["by_name"]["GET /m/[token]/tips/"]["failures"] == 3
    assert "Aggregated" not in " ".join(stats["by_name"])
    assert "POST login" not in stats["by_name"]  # no request since the reset: left out


@pytest.mark.django_db(transaction=True)  # the live server reads what the test wrote
def test_locust_runs_the_member_scenario_against_a_live_server(live_server, tmp_path, settings):
    if importlib.util.find_spec("locust") is None:
        pytest.skip("locust is an optional extra: pip install 'fanzha[load]'")
    from tests.conftest import build_cast

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # as behind nginx in production
    cast = build_cast()
    make_campaign(cast)
    path = tmp_path / "fixtures.json"
    load.prepare("UNI", members=5, path=path)
    result = load.run_scenario(
        "member",
        host=live_server.url,
        fixtures=path,
        locustfile=str(LOCUSTFILE),
        users=2,
        duration=3,
        spawn_rate=10,
        processes=1,
        warmup=1,
    )
    assert result["requests"] > 10 and result["failures"] == 0, result
    assert {"GET /m/[token]/tasks/", "POST /m/[token]/signin/"} <= set(result["by_name"])
    assert result["cpu"]["locust_pct"] > 0


def test_cold_reports_the_first_seconds_of_the_first_scenario_beside_its_steady_state(monkeypatch, tmp_path):
    """``bench load --cold``: the first scenario's first COLD_SECONDS, every request counted (no warm-up
    left out), then its steady state; later scenarios meet a warm server and have no cold figure."""
    runs: list[tuple[str, int, int]] = []

    def fake_run(name, *, duration, warmup, **_kw):  # locust itself is an optional extra
        runs.append((name, duration, warmup))
        return {"median_ms": 1000.0 if warmup == 0 else 28.0}

    monkeypatch.setattr(load, "prepare", lambda *a, **k: load.Fixtures(1, 1, {}, "admin", "x"))
    monkeypatch.setattr(load, "machine", dict)
    monkeypatch.setattr(load, "run_scenario", fake_run)
    result = load.run(
        scenario=["dashboard", "api"], duration=60, warmup=10, cold=True, fixtures=str(tmp_path / "f")
    )
    assert runs == [("dashboard", load.COLD_SECONDS, 0), ("dashboard", 60, 10), ("api", 60, 10)]
    assert result["scenarios"]["dashboard"] == {"median_ms": 28.0, "cold": {"median_ms": 1000.0}}
    assert "cold" not in result["scenarios"]["api"]
