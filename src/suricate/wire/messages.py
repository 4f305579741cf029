"""Typed messages between the frontend and execution nodes, with one JSON encoding.

Commands go to a node; a node answers each with exactly one reply and, meanwhile, any number of
events (outputs as they come). Every message is a frozen dataclass tagged by ``type``, and so is
every value inside one: a stream's definition (``StreamSpec``), a message on a stream
(``StreamMessage``, its body one ``Body``), an action, a dead letter, a kernel's error. Only
what is JSON by nature (a notebook output, a message's headers, an action's data) is typed as
JSON. ``decode`` checks every field and raises ``MalformedMessage``, never a bare error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import ConfigDict, JsonValue, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from suricate.errors import MalformedMessage
from suricate.wire.body import Body
from suricate.wire.streams import StreamSpec

JsonObject = dict[str, JsonValue]
# NaN and infinities are written as the standard library writes (and reads) them.
_STRICT = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


@dataclass(frozen=True)
class Message:
    type: ClassVar[str] = ""
    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    def encode(self) -> bytes:
        """Return the JSON form, tagged with the message type."""
        tag = b'{"type":' + json.dumps(self.type).encode()
        try:
            # pydantic writes a dataclass out in Rust, many times faster than asdict and json
            # (a processor's report carries hundreds of actions, several times a second).
            fields = _adapter(type(self)).dump_json(self, ensure_ascii=True, warnings=False)
        except PydanticSerializationError:
            # What it will not write (a lone surrogate in a string), the standard library escapes.
            fields = json.dumps(asdict(self), separators=(",", ":")).encode()
        return tag + (b"}" if fields == b"{}" else b"," + fields[1:])


_TYPES: dict[str, type[Message]] = {}


def message(cls: type[Message]) -> type[Message]:
    """Register a message class under its ``type`` tag."""
    _TYPES[cls.type] = cls
    return cls


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Message]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls.type)
    if adapter is None:
        adapter = _ADAPTERS[cls.type] = TypeAdapter(cls)
    return adapter


def decode(data: bytes | str) -> Message:
    """Rebuild a message from its JSON form; unknown types, fields and bad values are errors."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedMessage(f"not a JSON object: {str(data)[:80]!r}")
    cls = _TYPES.get(raw.pop("type", None))
    if cls is None:
        raise MalformedMessage(f"unknown message type in {str(data)[:80]!r}")
    try:
        decoded: Message = _adapter(cls).validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise MalformedMessage(f"bad {cls.type}: {problems}") from None
    return decoded


# Values inside messages


@dataclass(frozen=True)
class StreamMessage:
    """One message on a stream, as a node hands it to a processor or reports it."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    id: str
    body: Body
    headers: JsonObject = field(default_factory=dict)
    stream: str = ""
    redelivered: bool = False
    dead_letter_id: str | None = None  # set when the message is a dead letter handed back
    at: float | None = None  # when it was published (epoch seconds), when known


@dataclass(frozen=True)
class KernelError:
    """An error raised in a kernel (or a processor's setup), as Jupyter names its parts."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    ename: str
    evalue: str
    traceback: str = ""  # plain text, colours removed
    cell: int | None = None  # the notebook cell that raised, for a processor's setup


@dataclass(frozen=True)
class ActionRecord:
    """An action a processor's handler recorded, with when (epoch seconds)."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    text: str
    data: JsonObject = field(default_factory=dict)
    at: float | None = None
    models: dict[str, int] = field(default_factory=dict)  # the model versions it was made with


@dataclass(frozen=True)
class AppendRecord:
    """Rows a processor's handler appended to a dataset (a JSON-lines object)."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    name: str
    records: list[JsonValue]
    key: str | None = None


@dataclass(frozen=True)
class MetricTally:
    """What ``sdk.metric`` measured under a name, summed, with the model versions in use."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    name: str
    total: float
    count: int
    models: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ShadowSpec:
    """A challenger to run in shadow: the model, and the alias that names its version."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    model: str
    alias: str = "challenger"


@dataclass(frozen=True)
class ShadowTally:
    """How a challenger did in shadow on messages the champion handled, since the last report.

    ``compared`` messages were handled by both, ``agreed`` of them with the same actions,
    ``failed`` raised for the challenger alone; the metrics of each side are on those messages.
    """

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    model: str
    champion: int
    challenger: int
    compared: int = 0
    agreed: int = 0
    failed: int = 0
    champion_metrics: dict[str, tuple[float, int]] = field(default_factory=dict)
    challenger_metrics: dict[str, tuple[float, int]] = field(default_factory=dict)
    actions: list[ActionRecord] = field(default_factory=list)


@dataclass(frozen=True)
class DeadLetterRecord:
    """A message a processor gave up on, with the error of its last attempt."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    message: StreamMessage
    error: str
    traceback: str
    attempts: int
    revision: int
    id: str | None = None  # the dead letter's id when it failed again after a replay


@dataclass(frozen=True)
class KernelLimits:
    """Limits a run or processor asked for its kernel, below the node's defaults' maxima."""

    __pydantic_config__: ClassVar[ConfigDict] = _STRICT

    memory_mb: int | None = None
    cpus: float | None = None


# Commands (frontend -> node)


@message
@dataclass(frozen=True)
class StartSession(Message):
    type: ClassVar[str] = "start_session"
    session_id: str
    tenant: str
    token: str  # the session's own short-lived API token, for the in-kernel SDK
    limits: KernelLimits | None = None  # None: the node's defaults
    user: str = ""  # whose session: forked kernels share a template per user


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
class QuerySession(Message):
    """Ask how a session's kernel is doing; the reply is a ``SessionState``."""

    type: ClassVar[str] = "query_session"
    session_id: str


@message
@dataclass(frozen=True)
class KernelRequest(Message):
    """A Jupyter client's message for a session's kernel, passed through as it came.

    ``message`` holds the protocol's parts (``header``, ``parent_header``, ``metadata``,
    ``content``); the node signs it with the kernel's key and sends it on ``channel`` (shell or
    control), then emits each message the kernel sends in answer (``KernelMessage``: its reply,
    and the iopub messages whose parent it is) until the kernel is idle again and has replied.
    """

    type: ClassVar[str] = "kernel_request"
    session_id: str
    channel: str
    message: JsonObject
    timeout: float | None = None  # an execute_request's time limit (None: the node's)
    max_bytes: int = 10 * 1024**2  # an answer larger than this encoded is replaced by an error


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
    output: JsonObject  # an nbformat output (or a clear_output / update_display_data event)


@message
@dataclass(frozen=True)
class KernelMessage(Message):
    """A message a session's kernel sent in answer to a ``KernelRequest``: ``channel`` is
    iopub, shell or control, and ``message`` its parts (``header``, ``parent_header``,
    ``metadata``, ``content``) as the kernel sent them, dates as ISO text, buffers dropped."""

    type: ClassVar[str] = "kernel_message"
    session_id: str
    channel: str
    message: JsonObject


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
    outputs: list[JsonObject]
    execution_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] = field(default_factory=list)
    restarted: bool = False


@message
@dataclass(frozen=True)
class SessionState(Message):
    """A session's kernel as its node sees it: running a cell, or using CPU after one."""

    type: ClassVar[str] = "session_state"
    busy: bool
    cpu_busy: bool = False  # no cell runs, yet its processes use CPU (a thread, a child)
    idle_s: float = 0.0  # since a cell ended or the tree last used CPU
    cpu_seconds: float | None = None  # used by the whole tree so far (None without cgroups)
    cpu_cores: float | None = None  # cores used lately (None without cgroups)
    memory_bytes: int | None = None  # resident memory of the tree now (None without cgroups)


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
    stream: StreamSpec


@message
@dataclass(frozen=True)
class PublishStream(Message):
    """Publish one message onto a stream's broker."""

    type: ClassVar[str] = "publish_stream"
    tenant: str
    stream: StreamSpec
    body: Body
    headers: JsonObject = field(default_factory=dict)
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
    stream: StreamSpec
    cells: list[str]
    revision: int
    batch_size: int
    batch_wait_ms: int
    max_retries: int
    position: int = 0
    avoid_colocation: bool = False
    limits: KernelLimits | None = None
    shadow: ShadowSpec | None = None


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
    messages: list[StreamMessage]


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
    error: KernelError | None = None
    received: int = 0
    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    redelivered: int = 0
    actions: list[ActionRecord] = field(default_factory=list)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    appends: list[AppendRecord] = field(default_factory=list)
    metrics: list[MetricTally] = field(default_factory=list)
    shadow: list[ShadowTally] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)
    samples: list[StreamMessage] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    position: int | None = None
    rate: float = 0.0
    lag: int | None = None
    latency_ms: float | None = None


@message
@dataclass(frozen=True)
class Broadcast(Message):
    """An event for every frontend (a session's output, a new action): live pages hear it
    whichever replica they are connected to."""

    type: ClassVar[str] = "broadcast"
    topic: str  # "session" or "action"
    key: str  # the session's id, or the tenant's id
    origin: str  # the frontend that sent it (it has delivered it to its own pages already)
    payload: JsonObject = field(default_factory=dict)
