"""``fanzha demo``: migrate, build the demo world once, print one login per role, serve it.

The world is built app by app: the organisations and people (``org.demo``), then the six
built-in campaigns running on them (``campaigns.demo``), the members' attestations, class links and
attendance (``reach.demo``), then a year of cases and the students involved with cards (``cases.demo``),
and last every class's link, a few chat robots and their daily tips (``reach.demo.build_robots``).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ProtectedError

from fanzha.campaigns import demo as campaign_demo
from fanzha.cases import demo as cases_demo
from fanzha.core.management.commands.serve import DEFAULT_BIND, run_server
from fanzha.demo.logins import login_table
from fanzha.learn import actions as learn_actions
from fanzha.org import demo
from fanzha.reach import demo as reach_demo
from fanzha.reports import kpis


def migrate_if_needed(log: Any) -> None:
    """Apply pending migrations (a fresh checkout has none applied)."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        log("applying migrations …")
        call_command("migrate", interactive=False, verbosity=0)


def _home_units(person_ids: Iterable[int]) -> dict[int, int]:
    """Each person's home unit id, as the dashboards count it (reach's demo groups classes by it)."""
    return {pk: home.unit_id for pk, home in kpis.homes_of(person_ids).items()}


def demo_env() -> dict[str, str]:
    """What the demo's server runs with on top of the environment: the demo SMS gateway, whose
    messages (parents' sign-in codes) the superuser reads on /notifications/sms-demo/, unless the
    operator named a gateway of their own."""
    return {"FANZHA_SMS_BACKEND": os.environ.get("FANZHA_SMS_BACKEND") or "demo"}


class Command(BaseCommand):
    help = (
        "Build the demo world (a university, a county education bureau, police bureau and bank, "
        "running the six built-in campaigns; --size large adds a province of 1,000,000 people) if it "
        "is not there yet, print the demo logins and serve on 127.0.0.1:8000."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="build and print the logins, then stop")
        parser.add_argument("--size", choices=["small", "large"], default="small")
        parser.add_argument("--reset", action="store_true", help="remove the demo world and build it again")
        parser.add_argument(
            "--bind", default=DEFAULT_BIND, help=f"HOST:PORT to serve on (default {DEFAULT_BIND})"
        )
        parser.add_argument("--workers", type=int, default=2)
        # Tests build a tiny world: counts are multiplied by this factor.
        parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        def log(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()  # progress lines show up at once, even when redirected

        started = time.monotonic()
        migrate_if_needed(log)
        if options["reset"]:
            try:
                with transaction.atomic():
                    cases_demo.reset_cases(log)  # cases hold on to the units
                    campaign_demo.reset_campaigns(log)  # campaign rows hold on to the units
                    demo.reset_world(log)
            except ProtectedError as exc:
                raise CommandError(
                    "The demo world is referenced by other records and cannot be removed; "
                    "start from a fresh database instead (delete the database file under FANZHA_DATA_DIR)."
                ) from exc
        demo.build_world(options["size"], options["scale"], log)
        campaign_demo.build_campaigns(log)
        campaign_demo.build_consultations(log)  # the police plan's joint consultations and decisions
        learned = learn_actions.sync_content()
        log(f"knowledge base, tips and quiz bank loaded ({learned})")
        kpis.refresh_homes()
        if reach_demo.build_attestations(log, homes_of=_home_units):
            for campaign in reach_demo.demo_attestation_campaigns():
                kpis.rebuild(campaign, history=True)
            log("dashboards rebuilt")
        reach_demo.build_member_demo(log)  # class links, attendance that proves items, the parent's work
        cases_demo.build_cases(log, scale=options["scale"])
        cases_demo.build_card_fraud(log)
        cases_demo.build_police_work(log)  # clues, a warning list, callbacks (篇五)
        cases_demo.build_results(log)  # cases cleared, suspects, money recovered, a gang; a bulletin
        reach_demo.build_robots(log)  # every class's link, a few chat robots, daily tips with their history
        table = login_table()  # as ``fanzha demo-logins`` prints it
        log(table)
        log(f"total {time.monotonic() - started:.1f} s")
        if options["no_serve"]:
            return
        bind = options["bind"]

        def ready() -> None:
            log(f"\nfanzha demo is serving on http://{bind}/ (Ctrl-C stops it). Demo logins:")
            log(table)

        run_server(
            bind,
            options["workers"],
            on_ready=ready,
            log=log,
            with_worker=True,
            plain_http=True,
            env=demo_env(),
        )
