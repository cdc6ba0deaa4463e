"""Benchmarks that ship with fanzha, run by ``fanzha bench NAME``.

Each benchmark is a module with ``HELP``, ``add_arguments(parser)`` and ``run(**options) -> dict``;
the command prints the dict as one JSON object. Why a baseline in every result: absolute
seconds depend on the machine, a ratio to a simple reference measured in the same run does not.
To add one (``rollup`` …), write the module and list it in ``BENCHMARKS``.
"""

from __future__ import annotations

BENCHMARKS: dict[str, str] = {
    "import": "fanzha.bench.import_roster",
    "rollup": "fanzha.bench.rollup",
    "load": "fanzha.bench.load",
    "alert": "fanzha.bench.alert",
    "pages": "fanzha.bench.pages",
}
