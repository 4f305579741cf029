"""Typed messages between the frontend and execution nodes, with one JSON encoding.

Commands go to a node; a node answers each with exactly one reply and, meanwhile, any number of
events (outputs as they come). Every message is a frozen dataclass tagged by ``type``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Message:
    type: ClassVar[str] = ""

    def encode(self) -> bytes:
        """Return the JSON form, tagged with the message type."""
        return json.dumps({"type": self.type, **asdict(self)}, separators=(",", ":")).encode()


_TYPES: dict[str, type[Message]] = {}


def message(cls: type[Message]) -> type[Message]:
    """Register a message class under its ``type`` tag."""
    _TYPES[cls.type] = cls
    return cls


def decode(data: bytes | str) -> Message:
    """Rebuild a message from its JSON form; unknown types and fields are errors."""
    raw = json.loads(data)
    cls = _TYPES.get(raw.pop("type", None))
    if cls is None:
        raise ValueError(f"unknown message type in {str(data)[:80]!r}")
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)} for {cls.type}")
    return cls(**raw)


# Commands (frontend -> node)


@message
@dataclass(frozen=True)
class StartSession(Message):
    type: ClassVar[str] = "start_session"
    session_id: str
    tenant: str
    token: str  # the session's own short-lived API token, for the in-kernel SDK


@message
@dataclass(frozen=True)
class Execute(Message):
    type: ClassVar[str] = "execute"
    session_id: str
    code: str
    timeout: float | None = None


@message
@dataclass(frozen=True)
class Interrupt(Message):
    type: ClassVar[str] = "interrupt"
    session_id: str


@message
@dataclass(frozen=True)
class Restart(Message):
    type: ClassVar[str] = "restart"
    session_id: str


@message
@dataclass(frozen=True)
class StopSession(Message):
    type: ClassVar[str] = "stop_session"
    session_id: str


# Events (node -> frontend, during a command)


@message
@dataclass(frozen=True)
class Output(Message):
    type: ClassVar[str] = "output"
    session_id: str
    output: dict[str, Any]


# Replies (node -> frontend, one per command)


@message
@dataclass(frozen=True)
class Done(Message):
    type: ClassVar[str] = "done"
    node: str


@message
@dataclass(frozen=True)
class Executed(Message):
    type: ClassVar[str] = "executed"
    status: str
    outputs: list[dict[str, Any]]
    execution_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] = field(default_factory=list)
    restarted: bool = False


@message
@dataclass(frozen=True)
class Failed(Message):
    type: ClassVar[str] = "failed"
    code: str
    message: str
