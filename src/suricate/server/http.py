"""uvicorn's httptools protocol, with request bodies handed to the app without copying them.

uvicorn gathers the body bytes the parser gives it in a ``bytearray`` and hands the app a
``bytes`` copy of that: every byte of an upload is copied twice more on the event loop's thread
after the parser made it a ``bytes`` object (a third of the loop's work on a large upload).
Here the parser's pieces are kept as they are, and the app gets the one piece waiting as it is
(only pieces that piled up while the app was busy are joined, once). Everything else, limits
and flow control included, is uvicorn's own.

A large body of known length can go further: an app that asks for it through the
``suricate.body_buffers`` ASGI extension gets the rest of the body read by the socket straight
into buffers it then owns (asyncio's buffered protocols: ``recv_into``), with no copy on the
way and no parsing of bytes whose count is known. The connection is handed back to the HTTP
parser once the body's last byte is in, and serves the next request as usual.
"""

from __future__ import annotations

import asyncio
import fcntl
import sys
import termios
from collections.abc import AsyncIterator
from typing import Any, cast

import httptools
from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

# The ASGI extension through which an app reads a body straight into its own buffers; its
# value holds ``read``: a function returning an async iterator of the body's pieces
# (``memoryview``s the app may keep: nothing writes to them afterwards).
BODY_BUFFERS = "suricate.body_buffers"
# Bodies with at least this many bytes still to come are read into buffers; smaller ones, or
# bodies without a Content-Length (chunked), go through the parser.
DIRECT_AT_LEAST = 1024 * 1024
# A buffer read into, at most; and how much may wait for the app before reading pauses.
_BUFFER = 1024 * 1024
_MIN_BUFFER = 16 * 1024
_WAITING_AT_MOST = 2 * _BUFFER


class _Pieces:
    """A request body's pieces waiting for the app: stands in for uvicorn's bytearray, which
    it only appends to, measures and turns into bytes."""

    __slots__ = ("_pieces", "_size")

    def __init__(self, first: bytes | bytearray) -> None:
        self._pieces: list[bytes] = [bytes(first)] if first else []
        self._size = len(first)

    def append(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self._size += len(piece)

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        if len(self._pieces) == 1:
            return self._pieces[0]
        return b"".join(self._pieces)


class BodyPiecesProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that keeps the body's pieces instead of copying them together,
    and offers the ``suricate.body_buffers`` extension."""

    _body_received = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._body_received = 0

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # Not for a request asking to upgrade the connection: the parser stops at its headers
        # and drops what follows them, so where its body ends is not known here.
        if cycle is not None and cycle.scope is self.scope and not self.parser.should_upgrade():
            length = _content_length(self.headers)
            if length is not None:
                extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
                extensions[BODY_BUFFERS] = {"read": lambda: self._body_buffers(cycle, length)}

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        self._body_received += len(body)
        waiting: object = cycle.body
        if isinstance(waiting, _Pieces):
            pieces = waiting
        else:  # uvicorn's fresh bytearray after each receive
            pieces = _Pieces(cycle.body)
            cycle.body = pieces  # type: ignore[assignment]
        pieces.append(body)
        if len(pieces) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    async def _body_buffers(
        self, cycle: RequestResponseCycle, length: int
    ) -> AsyncIterator[memoryview | bytes]:
        """The body of ``cycle`` (``length`` bytes), its rest read straight into buffers."""
        direct = length >= DIRECT_AT_LEAST
        while True:
            # uvicorn's receive answers "Expect: 100-continue", as for any other body.
            message = cast(dict[str, Any], await cycle.receive())
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            if message["body"]:
                yield message["body"]
            if not message["more_body"]:
                return
            if direct and cycle is self.cycle and self.parser is not None:
                self.flow.pause_reading()  # nothing reaches the parser from here on
                left = length - self._body_received
                if cycle.more_body and left >= DIRECT_AT_LEAST:
                    break
                direct = False  # too little left to be worth it
                self.flow.resume_reading()
        # Every byte read so far went to the parser, and the body is not over: the next
        # ``left`` bytes on the connection are the body's, and nothing past them is read.
        waiting = bytes(cycle.body)  # what the parser handed over since the last receive
        cycle.body = bytearray()
        reader = _BodyReader(self, cycle, left)
        self.transport.set_protocol(reader)  # while reading is paused: uvloop picks a
        self.flow.resume_reading()  # protocol's callbacks when reading starts
        try:
            if waiting:
                yield waiting
            async for piece in reader.pieces():
                yield piece
        finally:
            reader.close()

    def body_read_directly(self, cycle: RequestResponseCycle) -> None:
        """The body's last byte is in: parse what follows (the next request) afresh."""
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.flow.pause_reading()
        self.transport.set_protocol(self)
        self.flow.resume_reading()
        if cycle.response_complete and not self.pipeline and not self.transport.is_closing():
            # Answered before the body was all in (and dropped): the connection now waits
            # for a next request as long as uvicorn lets an idle one.
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )


class _BodyReader(asyncio.BufferedProtocol):
    """The connection's protocol while the rest of one body is read into buffers.

    Each buffer is sized to what the socket holds when it is made (1 MiB at most, 16 KiB at
    least), so a client that stalls or dribbles holds little of the server's memory; the app
    gets each buffer's filled part once, in one piece, however many reads filled it.
    """

    def __init__(self, owner: BodyPiecesProtocol, cycle: RequestResponseCycle, left: int) -> None:
        self._owner = owner
        self._cycle = cycle
        self._left = left
        self._buffer = memoryview(bytearray())  # the one being filled
        self._filled = 0  # its bytes read so far
        self._taken = 0  # its bytes handed to the app so far
        self._full: list[memoryview] = []  # earlier buffers' parts the app has yet to take
        self._waiting = 0
        self._ready = asyncio.Event()
        self._dropping = False  # the app stopped reading: the rest is read and dropped
        self._scratch = memoryview(bytearray())  # what the dropped bytes are read into
        sock = owner.transport.get_extra_info("socket")
        self._fd = sock.fileno() if sock is not None else -1

    # The transport's side
    def get_buffer(self, sizehint: int) -> memoryview:
        if self._dropping:
            if not self._scratch:
                self._scratch = memoryview(bytearray(_MIN_BUFFER))
            return self._scratch[: self._left]
        if self._filled == len(self._buffer):
            self._retire()
            size = min(self._left, _BUFFER, max(_MIN_BUFFER, _readable(self._fd)))
            self._buffer, self._filled, self._taken = memoryview(bytearray(size)), 0, 0
        return self._buffer[self._filled :]  # made no larger than what was left of the body

    def buffer_updated(self, nbytes: int) -> None:
        self._left -= nbytes
        if self._dropping:  # the answer may be out already: keep the connection meanwhile
            self._owner._unset_keepalive_if_required()  # as a parsed body would
        else:
            self._filled += nbytes
            self._waiting += nbytes
            if self._waiting >= _WAITING_AT_MOST:
                self._owner.flow.pause_reading()
        if not self._left:
            self._cycle.more_body = False
            self._owner.body_read_directly(self._cycle)
        self._ready.set()

    def _retire(self) -> None:
        """Set the current buffer's filled part aside for the app."""
        if self._filled > self._taken:
            self._full.append(self._buffer[self._taken : self._filled])
            self._taken = self._filled

    def eof_received(self) -> None:
        self._owner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.connection_lost(exc)
        self._ready.set()

    def pause_writing(self) -> None:
        self._owner.pause_writing()

    def resume_writing(self) -> None:
        self._owner.resume_writing()

    # The app's side
    async def pieces(self) -> AsyncIterator[memoryview]:
        """The body's pieces as they come in, until its last byte."""
        while True:
            self._retire()
            if self._full:
                pieces, self._full, self._waiting = self._full, [], 0
                if self._left:
                    self._owner.flow.resume_reading()
                for piece in pieces:
                    yield piece
            elif not self._left:
                return
            elif self._cycle.disconnected:
                raise ClientDisconnect()
            else:
                self._ready.clear()
                await self._ready.wait()

    def close(self) -> None:
        """The app is done. Should it stop before the body's end, the rest is read and
        dropped (as uvicorn's parser drops a body the app did not read), and the connection
        then serves the next request."""
        if self._left and not self._dropping:
            self._dropping = True
            self._full, self._buffer, self._waiting = [], memoryview(bytearray()), 0
            self._owner.flow.resume_reading()


def _readable(fd: int) -> int:
    """How many bytes the socket ``fd`` holds, ready to be read (0 if that is not known)."""
    try:
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, bytes(4)), sys.byteorder)
    except (OSError, ValueError):
        return 0


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body's length, if the request gave one and no Transfer-Encoding."""
    length = None
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            if length is not None or not value.strip().isdigit():
                return None
            length = int(value)
    return length
