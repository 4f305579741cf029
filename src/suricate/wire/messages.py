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


# Streams and processors (frontend -> node)


@message
@dataclass(frozen=True)
class CheckStream(Message):
    """Connect to a stream's broker and check its queue or exchange; reply Done or Failed."""

    type: ClassVar[str] = "check_stream"
    tenant: str
    stream: dict[str, Any]


@message
@dataclass(frozen=True)
class PublishStream(Message):
    """Publish one message onto a stream's broker."""

    type: ClassVar[str] = "publish_stream"
    tenant: str
    stream: dict[str, Any]
    body: str  # base64
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    message_id: str | None = None  # AMQP's message-id: a tail shows the message once


@message
@dataclass(frozen=True)
class StartProcessor(Message):
    """Start one instance of a processor: a kernel runs the notebook's cells, then handles
    the stream's messages until stopped."""

    type: ClassVar[str] = "start_processor"
    processor_id: str
    instance: int
    tenant: str
    token: str
    stream: dict[str, Any]
    cells: list[str]
    revision: int
    batch_size: int
    batch_wait_ms: int
    max_retries: int
    position: int = 0
    avoid_colocation: bool = False


@message
@dataclass(frozen=True)
class StopProcessor(Message):
    type: ClassVar[str] = "stop_processor"
    processor_id: str


@message
@dataclass(frozen=True)
class QueryProcessor(Message):
    """Ask a node whether it still runs an instance of the processor (Done) or not (Failed)."""

    type: ClassVar[str] = "query_processor"
    processor_id: str


@message
@dataclass(frozen=True)
class InjectMessages(Message):
    """Hand messages (dead letters to replay, or published to a replay stream) to a processor."""

    type: ClassVar[str] = "inject_messages"
    processor_id: str
    messages: list[dict[str, Any]]


# Reports (node -> frontend, outside any command)


@message
@dataclass(frozen=True)
class ProcessorReport(Message):
    """What a processor instance did since its last report. Counters are deltas.

    A report that carries actions or dead letters is handed over durably before the messages
    they came from are acknowledged.
    """

    type: ClassVar[str] = "processor_report"
    processor_id: str
    node: str
    instance: int
    status: str = "running"
    error: dict[str, Any] | None = None
    received: int = 0
    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    redelivered: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    position: int | None = None
    rate: float = 0.0
    lag: int | None = None
    latency_ms: float | None = None
