"""Routes for streams: define, list, delete, tail, and publish a message."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from suricate.domain.streams import MAX_MESSAGE_BYTES
from suricate.errors import InvalidInput
from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.schemas import ErrorOut

router = APIRouter(tags=["streams"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 409, 413, 422, 503)
}


class StreamCreate(BaseModel):
    """A stream: AMQP (`uri` plus `queue` and/or `exchange`), MQTT (`uri`, `topic`) or a
    replay of a stored object (`object`, `rate`, `loop`)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Unique in the tenant: letters, digits, '.', '_', '-'.")
    type: Literal["amqp", "mqtt", "replay"]
    uri: str | None = Field(
        default=None,
        description="amqp://user:pass@host:5672/vhost or mqtt://host:1883; the password is "
        "stored encrypted and never returned.",
    )
    queue: str | None = Field(default=None, description="AMQP queue to read (declared durable).")
    exchange: str | None = Field(
        default=None, description="AMQP exchange; the processor's queue is bound to it."
    )
    routing_key: str | None = Field(
        default=None, description="Binding key on the exchange (default '#')."
    )
    topic: str | None = Field(default=None, description="MQTT topic filter.")
    object: str | None = Field(default=None, description="Replay: a CSV/JSON-lines object.")
    rate: float | None = Field(default=None, description="Replay: messages per second (10).")
    loop: bool | None = Field(default=None, description="Replay: start again at the end.")


class StreamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    type: str
    uri: str | None = Field(description="With the password masked as ***.")
    queue: str | None
    exchange: str | None
    routing_key: str | None
    topic: str | None
    object: str | None
    rate: float | None
    loop: bool
    created_at: datetime


class StreamPage(BaseModel):
    items: list[StreamOut]
    next: str | None


class TailMessage(BaseModel):
    id: str
    body: str
    encoding: Literal["utf-8", "base64"]
    headers: dict[str, Any]
    at: float = Field(description="When it was seen (epoch seconds).")


class Tail(BaseModel):
    stream: str
    items: list[TailMessage]


class Published(BaseModel):
    stream: str
    id: str
    published: bool


@router.post("/streams", status_code=201, response_model=StreamOut, responses=_ERRORS)
async def create_stream(
    body: StreamCreate, platform: PlatformDep, principal: PrincipalDep
) -> StreamOut:
    """Define a stream; an AMQP/MQTT broker is checked from an execution node first (422)."""
    fields = body.model_dump(exclude_none=True)
    info = await platform.streams.create(principal, fields)
    return StreamOut.model_validate(info)


@router.get("/streams", response_model=StreamPage, responses=_ERRORS)
def list_streams(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> StreamPage:
    """List the tenant's streams by name."""
    page = platform.streams.list(principal.tenant_id, limit, cursor)
    return StreamPage(items=[StreamOut.model_validate(i) for i in page.items], next=page.next)


@router.get("/streams/{name}", response_model=StreamOut, responses=_ERRORS)
def get_stream(name: str, platform: PlatformDep, principal: PrincipalDep) -> StreamOut:
    """Show a stream's definition (never its password)."""
    return StreamOut.model_validate(platform.streams.get(principal.tenant_id, name))


@router.delete("/streams/{name}", status_code=204, responses=_ERRORS)
def delete_stream(name: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Delete a stream; 409 while a processor runs on it."""
    platform.streams.delete(principal.tenant_id, name)
    return Response(status_code=204)


@router.get("/streams/{name}/tail", response_model=Tail, responses=_ERRORS)
def tail_stream(
    name: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    n: Annotated[int, Query(ge=1, le=200, description="How many, newest last.")] = 20,
) -> Tail:
    """The latest messages seen on the stream: received by its processors or published here."""
    items = platform.streams.tail(principal.tenant_id, name, n)
    return Tail(
        stream=name,
        items=[
            TailMessage(
                id=m.id,
                body=m.body.value,
                encoding="utf-8" if m.body.text is not None else "base64",
                headers=m.headers,
                at=m.at or 0.0,
            )
            for m in items
        ],
    )


@router.post(
    "/streams/{name}/messages",
    status_code=202,
    response_model=Published,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "description": "The message body, as it is (JSON or any bytes).",
            "content": {"application/json": {}, "application/octet-stream": {}},
        }
    },
)
async def publish_message(
    name: str,
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    header: Annotated[
        list[str] | None, Query(description="Message headers as key=value, repeatable.")
    ] = None,
) -> Published:
    """Publish one message: onto the broker for AMQP/MQTT (by an execution node), or to the
    processors of a replay stream."""
    body = await request.body()
    if len(body) > MAX_MESSAGE_BYTES:
        raise InvalidInput(f"a message is at most {MAX_MESSAGE_BYTES} bytes")
    headers: dict[str, Any] = {}
    for item in header or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"header {item!r} is not key=value")
        headers[key] = value
    content_type = request.headers.get("content-type")
    result = await platform.streams.publish(principal, name, body, content_type, headers)
    return Published.model_validate(result)
