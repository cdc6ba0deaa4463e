"""The HTTP side of the local fakes of outside services (chat robots, SMS gateways).

Why one module: each fake checks what its real service checks; serving it on a loopback port, answering
and shutting down is the same for all of them and lives here once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# answer(request, raw body) -> (status, payload, content type), or None to send nothing at all
Answer = Callable[[BaseHTTPRequestHandler, bytes], "tuple[int, bytes, str] | None"]


@contextmanager
def serve(answer: Answer, name: str) -> Iterator[str]:
    """Answer POSTs with ``answer`` on a free port of 127.0.0.1 until the block ends; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = answer(self, raw)
            if reply is None:
                return
            status, payload, kind = reply
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the sender gave up waiting
                return

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
