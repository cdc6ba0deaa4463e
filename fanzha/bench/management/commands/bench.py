"""``fanzha bench NAME [options]``: run a shipped benchmark and print one JSON object."""

from __future__ import annotations

import importlib
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fanzha.bench import BENCHMARKS


class Command(BaseCommand):
    help = "Run a benchmark (e.g. `fanzha bench import --rows 100000`) and print its result as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="benchmark", required=True, metavar="NAME")
        for name, module_path in BENCHMARKS.items():
            module = importlib.import_module(module_path)
            sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        module = importlib.import_module(BENCHMARKS[options["benchmark"]])
        for name in ("stdout", "stderr"):  # set by call_command; the benchmark logs through ``log``
            options.pop(name, None)
        as_table = hasattr(module, "render") and not options.get("json")  # ``--json`` asks for the object
        result = module.run(log=self.stderr, **options)
        self.stdout.write(module.render(result) if as_table else json.dumps(result, ensure_ascii=False))
