"""The Python client (and so the CLI) sends idempotent requests again when a frontend replica
went away under them, and never a write the server may have seen."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from suricate.kernel.client import ApiError, Client


class _Flaky(BaseHTTPRequestHandler):
    """Answers 502 (a proxy with no frontend) to the first two requests of each path, then 200."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def _answer(self) -> None:
        self.seen.append((self.command, self.path))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if sum(1 for _, p in self.seen if p == self.path) <= 2:
            self.send_response(502)
            body = json.dumps({"error": {"code": "bad_gateway", "message": "no frontend"}})
        else:
            self.send_response(200)
            body = json.dumps({"status": "ok", "id": 1, "text": "t", "data": {}})
        data = body.encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_read_is_sent_again_and_a_write_is_not(flaky: str) -> None:
    with Client(flaky, "token") as client:
        assert client.health()["status"] == "ok"  # 502, 502, then 200
        assert [m for m, p in _Flaky.seen if p == "/api/v1/health"] == ["GET"] * 3
        with pytest.raises(ApiError) as raised:
            client.action("a write the frontend may have seen")
        assert raised.value.status == 502
        assert [m for m, p in _Flaky.seen if p == "/api/v1/actions"] == ["POST"]


def test_a_refused_connection_is_tried_three_times_then_said() -> None:
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", "token") as client, pytest.raises(Exception) as failed:
        client.health()
    assert "connect" in str(failed.value).lower() or "refused" in str(failed.value).lower()
