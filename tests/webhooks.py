"""A generic HTTP endpoint on 127.0.0.1 for what no robot service does: it records every request it
receives (path, query, JSON body, content type) and answers as told — an HTML page with 200 (a captive
portal), an error status, or late (a timeout). Robots themselves are tested against the fakes of the
services (fanzha/bench/robots.py, the `robots` fixture). The `receiver` fixture (tests/conftest.py)
runs one for the length of a test."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """What the robot received (every request, answered or not) and how it answers the next ones."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200  # the answer once `statuses` is used up
    statuses: list[int] = field(default_factory=list)  # answers to give in turn first
    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})  # body of a 200
    delay: float = 0.0  # seconds to wait before answering (a timeout)
    page: bytes | None = None  # answer a 200 with this HTML instead of JSON (a captive portal)
    answered: int = 0  # requests answered with 200

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.status


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Serve a Receiver on a free port of 127.0.0.1 until the block ends. (Callers make sure requests
    to 127.0.0.1 bypass any proxy: NO_PROXY.)"""
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            body = json.loads(raw) if raw else None
            split = urllib.parse.urlsplit(self.path)
            with lock:
                state.requests.append(
                    {
                        "path": split.path,
                        "query": dict(urllib.parse.parse_qsl(split.query)),
                        "body": body,
                        "content_type": self.headers["Content-Type"],
                        "host": self.headers["Host"],
                    }
                )
                status = state.next_status()
                delay = state.delay
                answer = state.answer if status == 200 else {"error": "boom"}
                page = state.page if status == 200 else None
                # Counted before the answer is written: the sender may read it and the test look
                # at the count before this thread runs again.
                if status == 200 and not delay:
                    state.answered += 1
            if delay:
                time.sleep(delay)
            payload = page if page is not None else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if page is not None else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the sender gave up waiting
                return

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender that timed out closes its socket; nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
