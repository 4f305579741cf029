"""uvicorn's httptools protocol, with request bodies handed to the app without copying them.

uvicorn gathers the body bytes the parser gives it in a ``bytearray`` and hands the app a
``bytes`` copy of that: every byte of an upload is copied twice more on the event loop's thread
after the parser made it a ``bytes`` object (a third of the loop's work on a large upload).
Here the parser's pieces are kept as they are, and the app gets the one piece waiting as it is
(only pieces that piled up while the app was busy are joined, once). Everything else, limits
and flow control included, is uvicorn's own.
"""

from __future__ import annotations

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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
    """``HttpToolsProtocol`` that keeps the body's pieces instead of copying them together."""

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
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
