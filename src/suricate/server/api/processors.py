"""Routes for processors (deploy, follow, stop, restart, dead letters) and actions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from suricate.domain.quotas import KernelAsk
from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.schemas import ErrorOut, ShadowIn

router = APIRouter(tags=["processors"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 409, 422, 503)
}


class ProcessorCreate(BaseModel):
    notebook_id: str = Field(description="The processing notebook (id or name).")
    stream: str = Field(description="The stream's name.")
    batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Most messages handed to on_batch at once."
    )
    batch_wait_ms: int = Field(
        default=20,
        ge=0,
        le=60_000,
        description="How long to wait to fill a batch for on_batch (0: take what is there).",
    )
    max_retries: int = Field(
        default=3, ge=0, le=100, description="Retries of a failing message before it is dead."
    )
    replicas: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Instances sharing the stream's load, on different nodes where possible.",
    )
    memory_mb: int | None = Field(
        default=None,
        gt=64,
        le=2**31 - 1,
        description="Each instance's kernel memory limit in MiB, up to the tenant's maximum.",
    )
    cpus: float | None = Field(
        default=None,
        gt=0,
        le=1024,
        description="Each instance's kernel CPU limit in cores, up to the tenant's maximum.",
    )
    shadow: ShadowIn | None = Field(
        default=None, description="A challenger to run in shadow beside the champion."
    )


class ProcessorError(BaseModel):
    ename: str | None = None
    evalue: str | None = None
    cell: int | None = Field(default=None, description="Failing cell of the setup, if any.")
    traceback: str | None = None


class ProcessorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    notebook_id: str
    notebook_revision: int
    stream: str
    status: str = Field(description="starting, running, failed or stopped")
    error: ProcessorError | None
    batch_size: int
    batch_wait_ms: int
    max_retries: int
    replicas: int
    received: int = Field(description="Messages taken from the stream (redeliveries too).")
    processed: int = Field(description="Messages whose handler returned.")
    failed: int = Field(description="Handler calls that raised (each retry counts).")
    dead_lettered: int
    redelivered: int = Field(description="Messages the broker delivered again.")
    position: int = Field(description="Replay: index of the first record not yet handled.")
    restarts: int = Field(description="Instances started again after losing their node.")
    throughput: float = Field(description="Messages/s handled over the last seconds.")
    lag: int | None = Field(description="Messages waiting: queue depth, or records due.")
    latency_ms: float | None = Field(description="Median publish-to-handled time, last batch.")
    nodes: list[str]
    throughput_history: list[tuple[float, float]] = Field(
        description="(epoch s, messages/s) samples for a sparkline."
    )
    logs: list[str] = Field(description="The latest lines the notebook printed.")
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    shadow: dict[str, Any] | None = Field(
        default=None,
        description='The challenger run in shadow: {"model", "alias", "champion", "policy"}.',
    )
    shadow_stats: dict[str, Any] = Field(
        default_factory=dict,
        description="How the challenger does against the champion since it became one: "
        "model, champion, challenger (versions), compared, agreed, failed, agreement (share), "
        "metrics ({champion: {name: mean}, challenger: {...}}), since, pending_run, decisions.",
    )
    metrics: list[dict[str, Any]] = Field(
        default_factory=list,
        description="What sdk.metric measured in the handlers: {models, name, mean, count}, "
        "by the model versions in use.",
    )


class ProcessorPage(BaseModel):
    items: list[ProcessorOut]
    next: str | None


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    processor_id: str
    message_id: str
    body: str | None = Field(description="The message body when it is UTF-8 text.")
    body_b64: str | None = Field(description="The message body in base64 otherwise.")
    headers: dict[str, Any]
    error: str
    traceback: str
    attempts: int
    notebook_revision: int
    status: str = Field(description="dead, replaying or replayed")
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next: str | None


class ReplayRequest(BaseModel):
    ids: list[str] | None = Field(
        default=None, description="Only these; default: every one not replayed yet."
    )


class ReplayOut(BaseModel):
    replaying: int


class ActionCreate(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    data: dict[str, Any] = Field(default_factory=dict)
    processor_id: str | None = None
    models: dict[str, int] = Field(
        default_factory=dict, description="The model versions it was made with, by name."
    )


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    processor_id: str | None
    text: str
    data: dict[str, Any]
    models: dict[str, int] = Field(description="The model versions it was made with, by name.")
    feed: str = Field(
        default="live", description="live, shadow (a challenger's) or backtest (a replay run's)."
    )
    run_id: str | None = Field(default=None, description="The backtest run that made it.")
    created_at: datetime


class ActionPage(BaseModel):
    items: list[ActionOut]
    next: str | None


@router.post(
    "/processors",
    status_code=201,
    response_model=ProcessorOut,
    responses={**_ERRORS, 429: {"model": ErrorOut}},
)
async def deploy_processor(
    body: ProcessorCreate, platform: PlatformDep, principal: PrincipalDep
) -> ProcessorOut:
    """Deploy a processing notebook on a stream; it starts in the background (`starting`)."""
    info = await platform.processors.deploy(
        principal,
        body.notebook_id,
        body.stream,
        body.batch_size,
        body.batch_wait_ms,
        body.max_retries,
        body.replicas,
        KernelAsk(body.memory_mb, body.cpus),
        body.shadow.config().dumps() if body.shadow is not None else None,
    )
    return ProcessorOut.model_validate(info)


@router.get("/processors", response_model=ProcessorPage, responses=_ERRORS)
def list_processors(
    platform: PlatformDep,
    principal: PrincipalDep,
    stream: Annotated[str | None, Query(description="Only those on this stream.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> ProcessorPage:
    """List processors, newest first."""
    page = platform.processors.list(principal.tenant_id, stream, limit, cursor)
    return ProcessorPage(items=[ProcessorOut.model_validate(i) for i in page.items], next=page.next)


@router.get("/processors/{processor_id}", response_model=ProcessorOut, responses=_ERRORS)
def get_processor(
    processor_id: str, platform: PlatformDep, principal: PrincipalDep
) -> ProcessorOut:
    """Status, counters, throughput, lag and latency of a processor."""
    return ProcessorOut.model_validate(platform.processors.get(principal.tenant_id, processor_id))


@router.delete("/processors/{processor_id}", response_model=ProcessorOut, responses=_ERRORS)
async def stop_processor(
    processor_id: str, platform: PlatformDep, principal: PrincipalDep
) -> ProcessorOut:
    """Stop a processor (its record, actions and dead letters stay)."""
    info = await platform.processors.stop(principal.tenant_id, processor_id)
    return ProcessorOut.model_validate(info)


@router.post("/processors/{processor_id}/restart", response_model=ProcessorOut, responses=_ERRORS)
async def restart_processor(
    processor_id: str, platform: PlatformDep, principal: PrincipalDep
) -> ProcessorOut:
    """Restart a processor on the notebook's current revision (after a fix, say)."""
    info = await platform.processors.restart(principal, processor_id)
    return ProcessorOut.model_validate(info)


@router.get(
    "/processors/{processor_id}/dead-letters", response_model=DeadLetterPage, responses=_ERRORS
)
def list_dead_letters(
    processor_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> DeadLetterPage:
    """Messages whose handler kept failing, newest first, with traceback and revision."""
    page = platform.processors.dead_letters(principal.tenant_id, processor_id, limit, cursor)
    return DeadLetterPage(
        items=[DeadLetterOut.model_validate(i) for i in page.items], next=page.next
    )


@router.post(
    "/processors/{processor_id}/dead-letters/replay",
    status_code=202,
    response_model=ReplayOut,
    responses=_ERRORS,
)
async def replay_dead_letters(
    processor_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    body: ReplayRequest | None = None,
) -> ReplayOut:
    """Hand dead letters back to the running processor (restart it on a fixed notebook first)."""
    ids = body.ids if body is not None else None
    count = await platform.processors.replay_dead_letters(principal.tenant_id, processor_id, ids)
    return ReplayOut(replaying=count)


@router.get("/actions", response_model=ActionPage, responses=_ERRORS)
def list_actions(
    platform: PlatformDep,
    principal: PrincipalDep,
    processor: Annotated[str | None, Query(description="Only this processor's.")] = None,
    since: Annotated[datetime | None, Query(description="Only those created after this.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
    newest_first: Annotated[
        bool, Query(description="Newest first: the latest actions, for a live view's backlog.")
    ] = False,
    model: Annotated[str | None, Query(description="Only those made with this model.")] = None,
    model_version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="...and this version of it.")
    ] = None,
    feed: Annotated[
        Literal["live", "shadow", "backtest", "all"],
        Query(description="live (the default), shadow (challengers'), backtest, or all."),
    ] = "live",
    run: Annotated[str | None, Query(description="Only this backtest run's.")] = None,
) -> ActionPage:
    """Actions, oldest first (follow `next` for newer ones), or newest first."""
    if run is not None and feed == "live":
        feed = "all"  # a run's actions are in its own feeds
    page = platform.processors.actions(
        principal.tenant_id,
        processor,
        since,
        limit,
        cursor,
        newest_first,
        model=model,
        model_version=model_version,
        feed=None if feed == "all" else feed,
        run_id=run,
    )
    return ActionPage(items=[ActionOut.model_validate(i) for i in page.items], next=page.next)


@router.post("/actions", status_code=201, response_model=ActionOut, responses=_ERRORS)
def create_action(body: ActionCreate, platform: PlatformDep, principal: PrincipalDep) -> ActionOut:
    """Record an action (what `sdk.action` does outside a processor)."""
    info = platform.processors.create_action(
        principal.tenant_id, body.text, body.data, body.processor_id, body.models
    )
    return ActionOut.model_validate(info)


@router.get(
    "/actions/feed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **_ERRORS},
)
async def action_feed(
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    processor: Annotated[str | None, Query(description="Only this processor's.")] = None,
) -> StreamingResponse:
    """Server-sent events: one `action` event per new action, as it is recorded."""
    queue, unsubscribe = await asyncio.to_thread(
        platform.processors.subscribe, principal.tenant_id, processor
    )

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while not await request.is_disconnected():
                try:
                    info = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                data = ActionOut.model_validate(info).model_dump(mode="json")
                yield f"id: {info.id}\nevent: action\ndata: {json.dumps(data)}\n\n".encode()
        finally:
            unsubscribe()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
