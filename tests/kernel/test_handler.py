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
