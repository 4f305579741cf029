"""The HTTP protocol's direct body reads (server/http.py), on a real uvicorn over a real socket:
bodies arrive byte for byte, the connection serves the next request after one, and an app that
stops reading, or a client that goes away, leaves the connection in a known state."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from suricate.server.http import BODY_BUFFERS, DIRECT_AT_LEAST, BodyPiecesProtocol
from tests.support.servers import free_port
from tests.support.wait import wait_until

SIZE = 3 * DIRECT_AT_LEAST + 12_345  # most of it read directly, in buffers and pieces


class _App:
    """``/hash`` answers the sha256 of the body it read through the extension (and its pieces'
    types); ``/first`` answers after the first piece; ``/plain`` reads no body at all."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        if scope["path"] in ("/hash", "/first"):
            digest = hashlib.sha256()
            kinds = set()
            self.buffers: list[int] = []
            try:
                direct = scope.get("extensions", {}).get(BODY_BUFFERS)
                async for piece in direct["read"]() if direct else _received(receive):
                    kinds.add(type(piece).__name__)
                    if isinstance(piece, memoryview):
                        self.buffers.append(len(piece.obj))  # type: ignore[arg-type]
                    digest.update(piece)
                    if scope["path"] == "/first":
                        break
            except Exception as exc:  # recorded for the test to see
                self.events.append(type(exc).__name__)
                raise
            body = f"{digest.hexdigest()} {','.join(sorted(kinds))}".encode()
        if scope["path"] == "/offered":
            body = str(BODY_BUFFERS in scope.get("extensions", {})).encode()
        self.events.append(scope["path"])
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(params=["uvloop", "asyncio"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[int, _App]]:
    app = _App()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=BodyPiecesProtocol, loop=request.param,
        lifespan="off", log_level="warning",
    )  # fmt: skip
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    wait_until(lambda: served.started, timeout=10, interval=0.02, message="uvicorn not up")
    yield port, app
    served.should_exit = True
    thread.join(timeout=10)


async def _received(receive: Any) -> Any:
    while True:
        message = await receive()
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


def _put(path: str, body: bytes, *extra: str) -> bytes:
    head = [f"PUT {path} HTTP/1.1", "Host: t", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _answers(sock: socket.socket, count: int) -> list[bytes]:
    """Read ``count`` responses (each with a Content-Length) off ``sock``."""
    data, answers = b"", []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            assert more, (answers, data)
            data += more
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.lower().split(b"\r\n")
        length = next(
            int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length")
        )
        while len(data) < length:
            more = sock.recv(65536)
            assert more, (answers, data)
            data += more
        answers.append(head.split(b"\r\n")[0] + b" " + data[:length])
        data = data[length:]
    return answers


def test_bodies_arrive_whole_and_the_connection_serves_on(server: tuple[int, _App]) -> None:
    port, _ = server
    first, second = os.urandom(SIZE), os.urandom(SIZE + 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        # Pipelined: a direct body, a plain request, another direct body, all in one go.
        sock.sendall(
            _put("/hash", first) + b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n" + _put("/hash", second)
        )
        answers = _answers(sock, 3)
        # Sent slowly, in pieces smaller than a read: the same.
        message = _put("/hash", first)
        for at in range(0, len(message), 700_000):
            sock.sendall(message[at : at + 700_000])
        answers += _answers(sock, 1)
    assert (
        answers[0]
        == b"HTTP/1.1 200 OK " + hashlib.sha256(first).hexdigest().encode() + b" bytes,memoryview"
    )
    assert answers[1] == b"HTTP/1.1 200 OK "
    assert answers[2].startswith(b"HTTP/1.1 200 OK " + hashlib.sha256(second).hexdigest().encode())
    assert answers[3].startswith(b"HTTP/1.1 200 OK " + hashlib.sha256(first).hexdigest().encode())


def test_expect_100_continue_is_answered_before_the_body(server: tuple[int, _App]) -> None:
    port, _ = server
    body = os.urandom(SIZE)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        message = _put("/hash", body, "Expect: 100-continue")
        head = message[: len(message) - len(body)]
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        [answer] = _answers(sock, 1)
    assert hashlib.sha256(body).hexdigest().encode() in answer


def test_an_app_that_stops_reading_answers_and_the_rest_is_dropped(
    server: tuple[int, _App],
) -> None:
    """The rest of the body is read and dropped, never parsed as requests, and the connection
    serves the request after it, as uvicorn does with a body its app did not read."""
    port, app = server
    body = b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n" * (SIZE // 32)  # would be requests
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_put("/first", body) + b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        first, plain = _answers(sock, 2)
    assert first.startswith(b"HTTP/1.1 200 OK ")
    assert plain == b"HTTP/1.1 200 OK "
    assert app.events == ["/first", "/plain"]


def test_a_client_gone_midway_is_a_disconnect_to_the_app(server: tuple[int, _App]) -> None:
    port, app = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_put("/hash", os.urandom(SIZE))[: 2 * DIRECT_AT_LEAST])
        time.sleep(0.3)  # the server reads what was sent before the connection goes
    wait_until(
        lambda: "ClientDisconnect" in app.events, timeout=10, interval=0.05,
        message="the app was not told",
    )  # fmt: skip


def test_small_and_chunked_bodies_go_through_the_parser(server: tuple[int, _App]) -> None:
    port, _ = server
    small = os.urandom(DIRECT_AT_LEAST // 2)
    chunked = os.urandom(SIZE)
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunked), chunked)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            _put("/hash", small)
            + b"PUT /hash HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + framed
        )
        answers = _answers(sock, 2)
    assert answers[0].endswith(hashlib.sha256(small).hexdigest().encode() + b" bytes")
    assert answers[1].endswith(hashlib.sha256(chunked).hexdigest().encode() + b" bytes")


def test_no_direct_read_for_a_request_that_asks_for_an_upgrade(server: tuple[int, _App]) -> None:
    """The parser drops what follows such a request's headers: reading "the rest of its body"
    from the connection would take the next request's bytes for it (behind a proxy that keeps
    connections open, another user's)."""
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_put("/offered", b"", "Upgrade: h2c", "Connection: upgrade"))
        [upgrade] = _answers(sock, 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_put("/offered", b""))
        [plain] = _answers(sock, 1)
    assert (upgrade, plain) == (b"HTTP/1.1 200 OK False", b"HTTP/1.1 200 OK True")


def test_a_client_that_dribbles_gets_small_buffers(server: tuple[int, _App]) -> None:
    """Buffers are sized to what the socket holds: a client sending a few bytes now and then
    holds a small one, not a MiB (a thousand stalled uploads would hold a GiB)."""
    port, app = server
    body = os.urandom(SIZE)
    message = _put("/hash", body)
    head = len(message) - len(body)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(message[: head + 10])
        for at in range(head + 10, head + 2010, 100):
            time.sleep(0.005)
            sock.sendall(message[at : at + 100])
        sock.sendall(message[head + 2010 :])
        [answer] = _answers(sock, 1)
    assert hashlib.sha256(body).hexdigest().encode() in answer
    dribbled = app.buffers[:5]
    assert dribbled and max(dribbled) <= 16 * 1024, app.buffers
