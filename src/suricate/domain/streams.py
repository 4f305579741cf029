"""Streams: a tenant's named message sources, and the messages seen on them.

A stream is an AMQP 0-9-1 queue or exchange (RabbitMQ), an MQTT topic, or a replay of a stored
object's records at a chosen rate. The frontend only keeps definitions: connecting to a user's
broker (to check it, publish onto it or consume it) is an execution node's job. A URI's password
is stored encrypted (Fernet) and never shown; the key is ``SURICATE_SECRET_KEY`` or one kept in
the data dir.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from suricate.domain.auth import Principal
from suricate.domain.pagination import Page, keyset, page_of
from suricate.errors import (
    AlreadyExists,
    ExecutionNodeError,
    InUse,
    InvalidStream,
    ObjectNotFound,
    OutboundRefused,
    StreamError,
    StreamNotFound,
)
from suricate.keys import kept_secret
from suricate.names import check_name
from suricate.outbound import Outbound
from suricate.store.db import Database
from suricate.store.tables import Processor, Stream, utcnow
from suricate.wire.body import Body
from suricate.wire.bus import Bus
from suricate.wire.messages import CheckStream, Done, Failed, PublishStream, StreamMessage
from suricate.wire.streams import StreamSpec, StreamType, check_uri

TYPES = ("amqp", "mqtt", "replay")
TAIL_KEEP = 200
TAIL_BODY_CHARS = 8192
MAX_MESSAGE_BYTES = 1024 * 1024
_FIELDS = {
    "amqp": {"uri", "queue", "exchange", "routing_key"},
    "mqtt": {"uri", "topic"},
    "replay": {"object", "rate", "loop"},
}


def load_key(configured: str | None, data_dir: Path) -> bytes:
    """Return the Fernet key: the configured one, or one kept in the data dir."""
    if configured:
        return configured.encode()
    from cryptography.fernet import Fernet

    return kept_secret(data_dir / "secret-key", Fernet.generate_key)


@dataclass(frozen=True)
class StreamInfo:
    id: str
    name: str
    type: str
    uri: str | None
    queue: str | None
    exchange: str | None
    routing_key: str | None
    topic: str | None
    object: str | None
    rate: float | None
    loop: bool
    created_at: datetime


def _info(row: Stream) -> StreamInfo:
    config = json.loads(row.config)
    return StreamInfo(
        id=row.id,
        name=row.name,
        type=row.type,
        uri=config.get("uri"),
        queue=config.get("queue"),
        exchange=config.get("exchange"),
        routing_key=config.get("routing_key"),
        topic=config.get("topic"),
        object=config.get("object"),
        rate=config.get("rate"),
        loop=bool(config.get("loop")),
        created_at=row.created_at,
    )


def split_password(uri: str) -> tuple[str, str | None]:
    """Return the URI with its password masked, and the password."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri, None
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


def join_password(masked: str, password: str | None) -> str:
    if password is None:
        return masked
    return masked.replace(":***@", f":{quote(password, safe='')}@", 1)


def _kept(sample: StreamMessage) -> StreamMessage:
    """A message as a tail keeps it: a long body or many headers cut, so a tail's memory is
    bounded (``TAIL_KEEP`` messages of at most about ``TAIL_BODY_CHARS`` each)."""
    body, headers = sample.body, sample.headers
    if len(body.value) > TAIL_BODY_CHARS:
        if body.text is not None:
            body = Body(text=body.text[: TAIL_BODY_CHARS - 1] + "…")
        else:
            body = Body(b64=(body.b64 or "")[: TAIL_BODY_CHARS - TAIL_BODY_CHARS % 4])
    if len(json.dumps(headers, default=str)) > TAIL_BODY_CHARS:
        headers = {"truncated": True}
    if body is sample.body and headers is sample.headers:
        return sample
    return replace(sample, body=body, headers=headers)


class StreamService:
    """Define, list and delete streams; publish onto them; keep their latest messages."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        key: bytes,
        allowed_hosts: list[str],
        object_exists: Callable[[int, str], None],
        outbound: Outbound | None = None,
    ) -> None:
        from cryptography.fernet import Fernet

        self.db = db
        self.bus = bus
        self._fernet = Fernet(key)
        self.allowed_hosts = allowed_hosts
        # Literal loopback/private/metadata hosts are refused here at once; the node checks
        # what a name resolves to when it connects.
        self.outbound = outbound or Outbound()
        self._object_exists = object_exists
        self._tails: dict[str, deque[StreamMessage]] = {}
        # Set by the processors: hands a message published to a replay stream to its processors.
        self.deliver_local: Callable[[str, StreamMessage], Awaitable[None]] | None = None

    # Definitions

    async def create(self, principal: Principal, body: dict[str, Any]) -> StreamInfo:
        """Check a definition (on an execution node for AMQP/MQTT) and store it."""
        name = check_name("stream", str(body.get("name", "")))
        kind = body.get("type")
        if kind not in TYPES:
            raise InvalidStream("bad_type", f"type must be one of {', '.join(TYPES)}")
        config = {k: body[k] for k in _FIELDS[kind] if body.get(k) is not None}
        unknown = set(body) - _FIELDS[kind] - {"name", "type"}
        if unknown:
            raise InvalidStream("bad_field", f"a {kind} stream has no {', '.join(sorted(unknown))}")
        password = None
        if kind in ("amqp", "mqtt"):
            uri = str(config.get("uri") or "")
            try:
                check_uri(uri, (kind, kind + "s"), self.allowed_hosts)
                self.outbound.check_host(urlsplit(uri).hostname or "")
            except StreamError as exc:
                raise InvalidStream(exc.code, exc.message) from None
            except OutboundRefused as exc:
                raise InvalidStream(exc.code, exc.message) from None
            if kind == "mqtt" and not config.get("topic"):
                raise InvalidStream("bad_field", "an mqtt stream needs a topic")
            if kind == "amqp" and not (config.get("queue") or config.get("exchange")):
                raise InvalidStream("bad_field", "an amqp stream needs a queue or an exchange")
            spec = StreamSpec(type=kind, name=name, **config)
            check = CheckStream(principal.tenant_name, spec)
            reply = await self.bus.call(principal.tenant_name, check)
            if isinstance(reply, Failed):
                raise InvalidStream(reply.code, reply.message)
            config["uri"], password = split_password(uri)
        else:
            obj = str(config.get("object") or "")
            try:
                await asyncio.to_thread(self._object_exists, principal.tenant_id, obj)
            except ObjectNotFound:
                raise InvalidStream("no_object", f"there is no object named {obj!r}") from None
            rate = config.get("rate", 10)
            if not isinstance(rate, int | float) or not 0 < rate <= 100_000:
                raise InvalidStream("bad_rate", "rate must be in (0, 100000] messages/s")
            config["rate"] = float(rate)
            config["loop"] = bool(config.get("loop", False))
        row = Stream(
            id=uuid.uuid4().hex,
            tenant_id=principal.tenant_id,
            name=name,
            type=kind,
            config=json.dumps(config),
            secret=self._fernet.encrypt(password.encode()).decode() if password else None,
            created_at=utcnow(),
        )
        await asyncio.to_thread(self._insert, row)
        return _info(row)

    def _insert(self, row: Stream) -> None:
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            raise AlreadyExists("stream", row.name) from None

    def list(
        self, tenant_id: int, limit: int | None = None, cursor: str | None = None
    ) -> Page[StreamInfo]:
        with self.db.session() as s:
            query = select(Stream).where(Stream.tenant_id == tenant_id)
            query, limit = keyset(query, Stream.name, cursor, limit)
            return page_of([_info(r) for r in s.scalars(query)], limit, lambda i: i.name)

    def get(self, tenant_id: int, name: str) -> StreamInfo:
        with self.db.session() as s:
            return _info(self._row(s, tenant_id, name))

    def delete(self, tenant_id: int, name: str) -> None:
        with self.db.session() as s:
            row = self._row(s, tenant_id, name)
            busy = s.scalar(
                select(Processor.id).where(
                    Processor.stream_id == row.id, Processor.status.in_(("starting", "running"))
                )
            )
            if busy:
                raise InUse(f"stream {name!r} is used by processor {busy}; stop it first")
            s.delete(row)
        self._tails.pop(row.id, None)

    def _row(self, s: Any, tenant_id: int, name: str) -> Stream:
        row = s.scalar(select(Stream).where(Stream.tenant_id == tenant_id, Stream.name == name))
        if row is None:
            raise StreamNotFound(name)
        return row

    def spec(self, row: Stream) -> StreamSpec:
        """The full definition an execution node needs, password included."""
        config = json.loads(row.config)
        if row.secret and config.get("uri"):
            password = self._fernet.decrypt(row.secret.encode()).decode()
            config["uri"] = join_password(config["uri"], password)
        kind: StreamType = row.type  # type: ignore[assignment]  # checked when made
        return StreamSpec(id=row.id, name=row.name, type=kind, **config)

    def spec_of(self, tenant_id: int, name: str) -> StreamSpec:
        """The full definition of the tenant's stream of that name."""
        with self.db.session() as s:
            return self.spec(self._row(s, tenant_id, name))

    def spec_by_id(self, stream_id: str) -> StreamSpec:
        with self.db.session() as s:
            row = s.get(Stream, stream_id)
            if row is None:
                raise StreamNotFound(stream_id)
            return self.spec(row)

    # Messages

    def note(self, stream_id: str, samples: builtins.list[StreamMessage]) -> None:
        """Keep messages seen on a stream (received by a processor, or published); a message
        published here and then received by a processor is kept once."""
        tail = self._tails.setdefault(stream_id, deque(maxlen=TAIL_KEEP))
        known = {sample.id for sample in tail}
        tail.extend(_kept(sample) for sample in samples if sample.id not in known)

    def tail(self, tenant_id: int, name: str, n: int) -> builtins.list[StreamMessage]:
        """The latest ``n`` messages seen on the stream, oldest first."""
        with self.db.session() as s:
            row = self._row(s, tenant_id, name)
            stream_id = row.id
        seen = list(self._tails.get(stream_id, ()))
        return seen[-n:] if n else []

    async def publish(
        self,
        principal: Principal,
        name: str,
        body: bytes,
        content_type: str | None,
        headers: dict[str, Any],
    ) -> dict[str, Any]:
        """Publish one message: onto the broker (by a node), or to a replay's processors."""
        spec = await asyncio.to_thread(self.spec_of, principal.tenant_id, name)
        sample = StreamMessage(
            id=secrets.token_hex(8),
            body=Body.of(body),
            headers=headers,
            stream=name,
            at=time.time(),
        )
        if spec.type == "replay":
            if self.deliver_local is not None:
                await self.deliver_local(spec.id, sample)
        else:
            reply = await self.bus.call(
                principal.tenant_name,
                PublishStream(
                    principal.tenant_name,
                    spec,
                    sample.body,
                    headers,
                    content_type,
                    sample.id,
                ),
            )
            if isinstance(reply, Failed):
                raise ExecutionNodeError(reply.code, reply.message)
            assert isinstance(reply, Done)
        self.note(spec.id, [sample])
        return {"stream": name, "id": sample.id, "published": True}
