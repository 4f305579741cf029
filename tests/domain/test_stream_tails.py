"""A stream's tail keeps its latest messages with their bodies cut: bounded memory."""

from __future__ import annotations

from cryptography.fernet import Fernet

from suricate.domain.streams import TAIL_BODY_CHARS, TAIL_KEEP, StreamService
from suricate.wire.body import Body
from suricate.wire.messages import StreamMessage


def test_a_tail_keeps_few_messages_and_cuts_long_bodies() -> None:
    service = StreamService(None, None, Fernet.generate_key(), ["*"], lambda t, n: None)  # type: ignore[arg-type]
    big = StreamMessage(id="1", body=Body.of(b"x" * 1_000_000), headers={"h": "y" * 100_000})
    binary = StreamMessage(id="2", body=Body.of(b"\xff" * 1_000_000))
    small = [StreamMessage(id=str(i), body=Body.of(b"ok")) for i in range(3, TAIL_KEEP + 10)]
    service.note("s", [big, binary, *small])
    service.note("t", [big, binary])
    kept = list(service._tails["t"])
    assert len(kept[0].body.value) <= TAIL_BODY_CHARS
    assert kept[0].headers == {"truncated": True}
    assert len(kept[1].body.value) <= TAIL_BODY_CHARS
    assert kept[1].body.raw()  # still valid base64
    assert len(service._tails["s"]) == TAIL_KEEP
