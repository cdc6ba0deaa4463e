"""``fanzha serve``: gunicorn on ``fanzha.wsgi`` with whitenoise serving the collected static files.

Why a command: deployments are often intranet servers run by non-specialists, so one
command must do the whole job — collect static files when they are missing or older than
the sources, then start a production server — with no nginx in front.

The server always runs the production settings (``fanzha.settings.prod``: DEBUG off, error pages
without tracebacks or URL maps, security headers), whatever settings the command itself was
started with, unless ``--dev`` asks for the development ones. A settings module of the operator's
own (``DJANGO_SETTINGS_MODULE`` naming anything but fanzha's development settings) is kept.
``--plain-http`` (what ``fanzha demo`` uses) serves the production settings over plain HTTP, which
is allowed on a loopback address only: cookies are then not marked secure, so nobody may reach it
from another machine.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

DEFAULT_BIND = "127.0.0.1:8000"
IGNORE_PATTERNS = ["CVS", ".*", "*~"]
MAX_DEFAULT_WORKERS = 8
DEV_SETTINGS = "fanzha.settings.dev"
PROD_SETTINGS = "fanzha.settings.prod"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def serve_settings(current: str, dev: bool = False) -> str:
    """The settings module the server runs: development ones only when asked (``--dev``); fanzha's
    development default becomes production; an operator's own module is kept."""
    if dev:
        return DEV_SETTINGS
    return PROD_SETTINGS if current == DEV_SETTINGS else current


def check_plain_http(bind: str) -> None:
    """Plain HTTP without secure cookies is for one machine only: refuse any but a loopback address."""
    host = bind.rpartition(":")[0]
    if bind.startswith("unix:") or host not in LOOPBACK_HOSTS:
        raise CommandError(
            "--plain-http serves without HTTPS and is only allowed on a loopback address "
            "(127.0.0.1 or [::1]); put a TLS proxy in front to serve other machines"
        )


def default_workers() -> int:
    """Gunicorn's rule of thumb, 2 × cores + 1, capped so a big machine does not run out of memory."""
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(2 * cores + 1, MAX_DEFAULT_WORKERS)


def static_is_stale() -> bool:
    """Whether ``STATIC_ROOT`` lacks a source static file or holds an older copy of one."""
    root = Path(settings.STATIC_ROOT)
    if not root.is_dir():
        return True
    for finder in finders.get_finders():
        for path, storage in finder.list(IGNORE_PATTERNS):
            prefix = getattr(storage, "prefix", None) or ""
            target = root / prefix / path
            try:
                if target.stat().st_mtime < os.stat(storage.path(path)).st_mtime:
                    return True
            except FileNotFoundError:
                return True
    return False


def collect_static_if_needed(log: Callable[[str], None]) -> None:
    """Run ``collectstatic`` only when it would change something (it takes a few seconds)."""
    if static_is_stale():
        log(f"collecting static files into {settings.STATIC_ROOT} …")
        call_command("collectstatic", interactive=False, verbosity=0)


def _wait_until_up(bind: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    """Poll the login page until the server answers; False if the server died or never answered."""
    host, _, port = bind.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=5)
        try:
            conn.request("GET", "/login/")
            conn.getresponse()  # any answer will do: production settings redirect to HTTPS
            return True
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    return False


def run_server(
    bind: str = DEFAULT_BIND,
    workers: int | None = None,
    threads: int = 4,
    on_ready: Callable[[], None] | None = None,
    log: Callable[[str], None] = print,
    with_worker: bool = False,
    dev: bool = False,
    plain_http: bool = False,
    env: dict[str, str] | None = None,
) -> int:
    """Start gunicorn in a child process, call ``on_ready`` once it answers, wait for it to stop.

    ``with_worker`` also starts ``fanzha worker --with-scheduler`` beside it (one machine, one
    command: messages go out, reminders and escalations run) and stops it with the server.

    Why a child process: the caller can tell when the server really answers (to print the
    demo logins after gunicorn's start-up lines), and Ctrl-C or SIGTERM reach gunicorn's
    arbiter, which stops its workers gracefully. The child runs ``serve_settings`` (production unless
    ``dev``); ``plain_http`` serves them without HTTPS on a loopback address (``check_plain_http``).
    ``env``: settings the server and the worker get on top of this process's environment (the demo's
    SMS gateway).
    """
    if ":" not in bind and not bind.startswith("unix:"):
        raise CommandError("--bind must look like HOST:PORT")
    if plain_http:
        check_plain_http(bind)
    workers = workers or default_workers()
    collect_static_if_needed(log)
    connections.close_all()
    child_env = dict(os.environ, DJANGO_SETTINGS_MODULE=serve_settings(settings.SETTINGS_MODULE, dev))
    child_env.pop("FANZHA_PLAIN_HTTP", None)
    child_env.update(env or {})
    if plain_http:
        child_env["FANZHA_PLAIN_HTTP"] = "1"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "fanzha.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        # access and error lines in fanzha's format (FANZHA_LOG_FORMAT), with the request id, no query string
        "--logger-class",
        "fanzha.core.logging.GunicornLogger",
    ]
    proc = subprocess.Popen(command, env=child_env)
    worker = None
    if with_worker:
        worker = subprocess.Popen(
            [sys.executable, "-m", "fanzha", "worker", "--with-scheduler"], env=child_env
        )
        log("background worker and scheduler started")
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        if not bind.startswith("unix:") and _wait_until_up(bind, proc) and on_ready is not None:
            on_ready()
        return proc.wait()
    except KeyboardInterrupt:
        # A terminal sends SIGINT to gunicorn as well, `kill -INT` does not: make sure it stops.
        if proc.poll() is None:
            proc.terminate()
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()


class Command(BaseCommand):
    help = "Serve fanzha with gunicorn (collecting static files first if needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default=DEFAULT_BIND, help=f"HOST:PORT to listen on (default {DEFAULT_BIND})"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"gunicorn worker processes (default 2 × cores + 1, at most {MAX_DEFAULT_WORKERS})",
        )
        parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="also run `fanzha worker --with-scheduler` (a one-machine install in one command)",
        )
        parser.add_argument(
            "--dev",
            action="store_true",
            help="serve the development settings (DEBUG on) instead of production",
        )
        parser.add_argument(
            "--plain-http",
            action="store_true",
            help="production settings over plain HTTP, on a loopback address only (a trial on one machine)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = run_server(
            options["bind"],
            options["workers"],
            options["threads"],
            on_ready=lambda: self.stdout.write(f"fanzha is serving on http://{options['bind']}/"),
            log=self.stdout.write,
            with_worker=options["with_worker"],
            dev=options["dev"],
            plain_http=options["plain_http"],
        )
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            raise CommandError(f"gunicorn stopped with exit code {code}")
