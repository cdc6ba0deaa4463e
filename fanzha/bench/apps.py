from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Holds the ``fanzha bench`` command: benchmarks sit above every app, so core cannot own it."""

    name = "fanzha.bench"
    label = "bench"
