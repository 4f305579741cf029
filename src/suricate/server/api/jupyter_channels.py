"""A Jupyter kernel's ``channels`` WebSocket: the messaging protocol (v5.3) between a Jupyter
client and a Suricate session's kernel.

Frames are JSON messages with a ``channel`` key (Jupyter Server's default protocol, the one its
gateway client speaks); a binary frame (the same protocol with buffers) is read for its JSON and
its buffers are dropped. Shell and control requests go to the kernel's node one at a time per
WebSocket, each with the client's ``msg_id`` and header kept, and are signed there with the
kernel's key; the kernel's reply goes back to the WebSocket that asked, its iopub messages to
every WebSocket open on the kernel. ``interrupt_request`` and ``shutdown_request`` are handled
here (as the REST routes do); stdin is never offered (``allow_stdin`` is false: ``input()``
fails), so ``input_reply`` is ignored. Bounds: a message past
``SURICATE_JUPYTER_MAX_MESSAGE_BYTES`` closes the socket (1009), a client sending faster than
``SURICATE_JUPYTER_MESSAGES_PER_S`` or with too many requests waiting is closed (1008).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from suricate.domain.auth import Principal
from suricate.domain.relay import relay
from suricate.errors import ExecutionNodeError, SessionNotFound, SuricateError
from suricate.server.api.deps import authenticate
from suricate.server.api.errors import error_body, status_of

log = logging.getLogger(__name__)

# Requests of one WebSocket waiting for the kernel (a "run all" of a long notebook sends them
# all at once), and their bytes; more is a client gone wrong, and it is closed.
MAX_WAITING = 4096
MAX_WAITING_BYTES = 64 * 1024**2
# Bytes of messages queued for one WebSocket that does not read them; past this it is closed.
MAX_QUEUED_BYTES = 256 * 1024**2
PROTOCOL_VERSION = "5.3"
# Workers of closed WebSockets finishing their request (held, so that they are not collected).
_running: set[asyncio.Task[None]] = set()


@dataclass(eq=False)
class Connection:
    """One WebSocket open on a kernel: what is to be sent to it."""

    kernel_id: str
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    queued_bytes: int = 0  # in the outbox
    waiting_bytes: int = 0  # of the requests waiting for the kernel
    overflowed: bool = False
    closed: bool = False

    def put(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        text = json.dumps(message)
        if self.queued_bytes + len(text) > MAX_QUEUED_BYTES:
            self.overflowed = True  # the sender closes the socket
            return
        self.queued_bytes += len(text)
        self.outbox.put_nowait(text)


class Hub:
    """The WebSockets open on each kernel, and the Jupyter sessions, on this server."""

    def __init__(self) -> None:
        self._open: dict[str, set[Connection]] = {}
        # Jupyter sessions (a notebook path named to a kernel) by id: see jupyter_sessions.
        self.sessions: dict[str, Any] = {}

    def connections(self, kernel_id: str) -> int:
        return len(self._open.get(kernel_id, ()))

    def add(self, connection: Connection) -> None:
        self._open.setdefault(connection.kernel_id, set()).add(connection)

    def remove(self, connection: Connection) -> None:
        here = self._open.get(connection.kernel_id, set())
        here.discard(connection)
        if not here:
            self._open.pop(connection.kernel_id, None)

    def broadcast(self, kernel_id: str, message: dict[str, Any]) -> None:
        for connection in list(self._open.get(kernel_id, ())):
            connection.put(message)

    def status(self, kernel_id: str, state: str, parent: dict[str, Any] | None = None) -> None:
        """Tell every WebSocket on the kernel its state (restarting, dead, ...)."""
        self.broadcast(
            kernel_id,
            made("status", "iopub", {"execution_state": state}, parent or {}),
        )


def made(
    msg_type: str, channel: str, content: dict[str, Any], parent: dict[str, Any]
) -> dict[str, Any]:
    """A message Suricate itself sends, in the protocol's JSON form."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": msg_type,
        "username": "suricate",
        "session": "suricate",
        "date": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "version": PROTOCOL_VERSION,
    }
    return {
        "header": header,
        "msg_id": msg_id,
        "msg_type": msg_type,
        "parent_header": parent,
        "metadata": {},
        "content": content,
        "buffers": [],
        "channel": channel,
    }


class _Bucket:
    """Messages a client may send: ``rate`` a second, in bursts of ten seconds' worth."""

    def __init__(self, rate: float) -> None:
        self.rate, self.size = rate, max(1.0, 10 * rate)
        self.level, self.at = self.size, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.level = min(self.size, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


async def _refuse(websocket: WebSocket, exc: SuricateError) -> None:
    """Answer a WebSocket that may not open with the HTTP status a route would give."""
    status = status_of(exc)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            JSONResponse(error_body(exc.code, exc.message), status_code=status)
        )
    else:
        await websocket.close(code=4000 + status, reason=exc.message[:120])


async def serve(websocket: WebSocket, kernel_id: str, secret: str) -> None:
    """Serve one kernel WebSocket until either side closes it."""
    platform = websocket.app.state.platform
    hub: Hub = websocket.app.state.jupyter
    settings = platform.settings
    tenant = websocket.headers.get("x-suricate-tenant")
    try:
        principal = await authenticate(platform, secret, tenant, "WEBSOCKET", websocket.url.path)
        await platform.sessions.find(principal, kernel_id)
    except SuricateError as exc:
        await _refuse(websocket, exc)
        return
    await websocket.accept()
    connection = Connection(kernel_id)
    hub.add(connection)
    waiting: asyncio.Queue[tuple[str, dict[str, Any], int] | None] = asyncio.Queue(MAX_WAITING)
    sender = asyncio.create_task(_send(websocket, connection))
    worker = asyncio.create_task(_work(platform, hub, principal, connection, waiting))
    bucket = _Bucket(settings.jupyter_messages_per_s)
    close: tuple[int, str] | None = None
    try:
        while close is None:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            data = frame.get("text") if frame.get("text") is not None else frame.get("bytes")
            if data is None:
                continue
            size = len(data) if isinstance(data, bytes) else len(data.encode())
            if size > settings.jupyter_max_message_bytes:
                close = 1009, f"message past {settings.jupyter_max_message_bytes} bytes"
            elif not bucket.take():
                close = 1008, "too many messages: slow down"
            else:
                close = await _take(platform, hub, principal, connection, waiting, data)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.remove(connection)
        # The request the kernel is on finishes (it has its own time limit); none after it.
        connection.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            waiting.put_nowait(None)
        _running.add(worker)
        worker.add_done_callback(_running.discard)
        sender.cancel()
        if close is not None:
            with contextlib.suppress(Exception):
                await websocket.close(code=close[0], reason=close[1])


def _parse(data: str | bytes) -> dict[str, Any] | None:
    """A client's frame as a message, or None when it is not one."""
    try:
        if isinstance(data, bytes):
            # Buffers' offsets first (u32 count, then u32 offsets), the JSON at the first.
            (count,) = struct.unpack_from("!I", data, 0)
            if count < 1 or 4 + 4 * count > len(data):
                return None
            offsets = struct.unpack_from(f"!{count}I", data, 4)
            end = offsets[1] if count > 1 else len(data)
            data = data[offsets[0] : end].decode()
        message = json.loads(data)
    except (ValueError, struct.error, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(message, dict):
        return None
    header = message.get("header")
    if not isinstance(header, dict):
        return None
    if not isinstance(header.get("msg_id"), str) or not isinstance(header.get("msg_type"), str):
        return None
    return message


async def _take(
    platform: Any,
    hub: Hub,
    principal: Principal,
    connection: Connection,
    waiting: asyncio.Queue[tuple[str, dict[str, Any], int] | None],
    data: str | bytes,
) -> tuple[int, str] | None:
    """Handle one frame of the client's; a reason to close the socket, or None."""
    message = _parse(data)
    if message is None:
        return 1003, "not a Jupyter message (JSON with a header's msg_id and msg_type)"
    channel, header = message.get("channel"), message["header"]
    msg_type = header["msg_type"]
    parts = {k: message.get(k) for k in ("header", "parent_header", "metadata", "content")}
    kernel_id = connection.kernel_id
    if channel == "control" and msg_type in ("interrupt_request", "shutdown_request"):
        content = message.get("content")
        restart = isinstance(content, dict) and bool(content.get("restart"))
        try:
            if msg_type == "interrupt_request":
                await platform.sessions.interrupt(principal, kernel_id)
            elif restart:
                hub.status(kernel_id, "restarting")
                await platform.sessions.restart(principal, kernel_id)
            else:
                await platform.sessions.delete(principal, kernel_id)
            reply: dict[str, Any] = {"status": "ok"}
        except SuricateError as exc:
            reply = {"status": "error", "ename": exc.code, "evalue": exc.message, "traceback": []}
        if msg_type == "shutdown_request":
            reply["restart"] = restart
        connection.put(made(msg_type.replace("_request", "_reply"), "control", reply, header))
        if msg_type == "shutdown_request" and not restart and reply["status"] == "ok":
            hub.status(kernel_id, "dead")
        return None
    if channel not in ("shell", "control"):
        return None  # stdin (input_reply: nothing was asked), hb, or unknown: nothing to do
    if connection.waiting_bytes + len(data) > MAX_WAITING_BYTES:
        return 1008, f"more than {MAX_WAITING_BYTES} bytes of requests waiting for the kernel"
    try:
        waiting.put_nowait((channel, parts, len(data)))
    except asyncio.QueueFull:
        return 1008, f"more than {MAX_WAITING} requests waiting for the kernel"
    connection.waiting_bytes += len(data)
    return None


async def _work(
    platform: Any,
    hub: Hub,
    principal: Principal,
    connection: Connection,
    waiting: asyncio.Queue[tuple[str, dict[str, Any], int] | None],
) -> None:
    """Pass the WebSocket's requests to the kernel, one at a time, in the order sent."""
    max_bytes = platform.settings.jupyter_max_message_bytes
    kernel_id = connection.kernel_id

    async def answer(channel: str, message: dict[str, Any]) -> None:
        message["channel"] = channel
        if channel == "iopub":
            hub.broadcast(kernel_id, message)
        else:
            connection.put(message)

    while (item := await waiting.get()) is not None and not connection.closed:
        channel, parts, size = item
        connection.waiting_bytes -= size
        header = parts["header"]
        try:
            await relay(platform.sessions, principal, kernel_id, channel, parts, answer, max_bytes)
        except SuricateError as exc:
            _fail(hub, connection, channel, header, exc)
            if isinstance(exc, SessionNotFound):
                connection.outbox.put_nowait(None)  # the sender closes the socket
                return
        except Exception:
            log.exception("a Jupyter request to kernel %s failed", kernel_id)
            _fail(hub, connection, channel, header, ExecutionNodeError("error", "failed"))


def _fail(
    hub: Hub, connection: Connection, channel: str, header: dict[str, Any], exc: SuricateError
) -> None:
    """Tell the client its request failed: an error reply, then the kernel idle (or gone)."""
    msg_type: str = header["msg_type"]
    kernel_id = connection.kernel_id
    if isinstance(exc, SessionNotFound):
        hub.status(kernel_id, "dead", header)
    elif isinstance(exc, ExecutionNodeError) and exc.reason == "kernel_died":
        hub.status(kernel_id, "restarting", header)
    if msg_type.endswith("_request"):
        died = isinstance(exc, ExecutionNodeError) and exc.reason == "kernel_died"
        ename = "KernelDied" if died else exc.code
        content = {"status": "error", "ename": ename, "evalue": exc.message, "traceback": []}
        connection.put(made(msg_type.replace("_request", "_reply"), channel, content, header))
    if not isinstance(exc, SessionNotFound):
        hub.status(kernel_id, "idle", header)


async def _send(websocket: WebSocket, connection: Connection) -> None:
    with contextlib.suppress(Exception):
        while (text := await connection.outbox.get()) is not None:
            connection.queued_bytes -= len(text)
            if connection.overflowed:
                reason = f"more than {MAX_QUEUED_BYTES} bytes of messages were not read"
                await websocket.close(code=1008, reason=reason)
                return
            await websocket.send_text(text)
        # The kernel is gone (stopped, culled, or its node lost): so is its socket.
        await websocket.close(code=1000, reason="the kernel is gone")
