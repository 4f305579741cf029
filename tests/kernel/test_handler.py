"""The handler runtime inside a processor's kernel: what a user's handler sees and reports."""

from __future__ import annotations

import json
from typing import Any

from suricate.kernel import handler
from suricate.wire.body import Body


def wire(text: str) -> dict[str, Any]:
    return {"id": "1", "body": Body(text=text).to_json(), "headers": {}, "stream": "s"}


def test_a_failing_handler_reports_the_users_traceback_only() -> None:
    def on_message(msg: Any) -> None:
        raise ValueError(f"bad play {msg.body['down']}")

    out = handler.process([wire(json.dumps({"down": 3}))], {"on_message": on_message}, False)
    failure = out["failures"]["0"]
    assert failure["error"] == "ValueError: bad play 3"
    assert "kernel/handler.py" not in failure["traceback"]
    assert failure["traceback"].startswith("Traceback (most recent call last):\n")
    assert "in on_message" in failure["traceback"]


def test_bodies_arrive_as_json_when_they_are_and_as_bytes_otherwise() -> None:
    seen = []
    namespace = {"on_message": lambda msg: seen.append((msg.body, msg.raw))}
    raw = b"\xff\x00"
    binary = {"id": "2", "body": Body.of(raw).to_json(), "headers": {}, "stream": "s"}
    out = handler.process([wire('{"a": 1}'), binary], namespace, False)
    assert out["failures"] == {}
    assert seen == [({"a": 1}, b'{"a": 1}'), (raw, raw)]


def test_a_packed_chunk_reaches_the_handlers_as_it_was_sent() -> None:
    raw = b"\xff\x00"
    packed = handler.pack_chunk(
        "plays",
        2,
        [
            ("a", b'{"n": 1}', {"kind": "play"}, False),
            ("b", raw, {}, True),
            ("c", b"", {}, False),
        ],
    )
    msgs, batch = handler.unpack_chunk(packed)
    assert batch == 2
    seen = [(m.id, m.body, m.raw, m.headers, m.redelivered, m.stream) for m in msgs]
    assert seen == [
        ("a", {"n": 1}, b'{"n": 1}', {"kind": "play"}, False, "plays"),
        ("b", raw, raw, {}, True, "plays"),
        ("c", b"", b"", {}, False, "plays"),
    ]


def test_on_batch_takes_a_chunk_in_batches_and_a_poison_fails_alone() -> None:
    batches: list[list[int]] = []

    def on_batch(msgs: list[Any]) -> None:
        ns = [m.body["n"] for m in msgs]
        batches.append(ns)
        if 4 in ns:
            raise ValueError("bad 4")

    packed = handler.pack_chunk(
        "s", 3, [(str(n), json.dumps({"n": n}).encode(), {}, False) for n in range(7)]
    )
    msgs, batch = handler.unpack_chunk(packed)
    out = handler.handle(msgs, {"on_batch": on_batch}, batch)
    # The batch with 4 in it is tried again one message at a time.
    assert batches == [[0, 1, 2], [3, 4, 5], [3], [4], [5], [6]]
    assert list(out["failures"]) == ["4"]
