"""`fanzha demo` and `fanzha serve` start a real gunicorn that answers pages and static files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_demo_builds_and_serves(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"FANZHA_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanzha", "demo", "--scale", "0.02", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/login/")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200, "the demo server never answered"
        assert "登录".encode() in body
        status, css = _get(f"http://127.0.0.1:{port}/static/fanzha/app.css")
        assert status == 200 and len(css) > 100
        # The production settings over plain HTTP: our 404 page, no URL map, the security headers.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            raise AssertionError("expected a 404")
        except urllib.error.HTTPError as exc:
            missing = exc.read().decode()
            assert exc.code == 404 and "页面不存在" in missing and "URLconf" not in missing
            assert "script-src" in exc.headers["Content-Security-Policy"]
            assert exc.headers["X-Frame-Options"] == "DENY"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    assert "admin" in output and "fanzha-demo-2026" in output, output[-2000:]
    assert "background worker and scheduler started" in output, output[-2000:]
    assert (tmp_path / "fanzha.sqlite3").exists()
