"""Routes for runs: trigger a notebook with parameters, follow it, get the executed notebook."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from suricate.domain.backtests import Backtest
from suricate.domain.quotas import KernelAsk
from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.schemas import MAX_DB_INT, MAX_SECONDS, ErrorOut

router = APIRouter(tags=["runs"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 409, 422, 429, 503)
}


class ShadowPin(BaseModel):
    model: str = Field(min_length=1, max_length=255)
    version: int = Field(ge=1, le=MAX_DB_INT)


class BacktestIn(BaseModel):
    """A replay backtest: the notebook's handlers over every record of a stored object."""

    object: str = Field(min_length=1, max_length=255, description="The object to replay.")
    version: int | None = Field(default=None, ge=1, le=MAX_DB_INT, description="Default: latest.")
    models: dict[str, int] = Field(
        default_factory=dict,
        max_length=100,
        description="Model versions to use, by name, whatever alias the notebook loads.",
    )
    shadow: ShadowPin | None = Field(default=None, description="A challenger run in shadow.")
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Records per handler call.")

    def spec(self) -> Backtest:
        shadow = self.shadow.model_dump() if self.shadow is not None else None
        return Backtest(self.object, self.version, self.models, shadow, self.batch_size)


class RunCreate(BaseModel):
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Injected after the cell tagged `parameters`, as papermill does.",
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_SECONDS,
        allow_inf_nan=False,
        description="The whole run's time limit; past it: `timed_out`.",
    )
    webhook_url: str | None = Field(
        default=None, description="POSTed the finished run, signed (X-Suricate-Signature)."
    )
    memory_mb: int | None = Field(
        default=None,
        gt=64,
        le=2**31 - 1,
        description="The run's kernel memory limit in MiB, up to the tenant's maximum.",
    )
    cpus: float | None = Field(
        default=None,
        gt=0,
        le=1024,
        description="The run's kernel CPU limit in cores, up to the tenant's maximum.",
    )
    backtest: BacktestIn | None = Field(
        default=None,
        description="Replay a stored object through the notebook's handlers after its cells.",
    )


class RunError(BaseModel):
    ename: str | None
    evalue: str | None
    cell: int | None = Field(description="Index of the failing cell in the executed notebook.")


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    notebook_id: str
    notebook_revision: int
    status: str = Field(description="queued, running, succeeded, failed, cancelled or timed_out")
    parameters: dict[str, Any]
    timeout_s: float | None
    cells_total: int
    cells_done: int
    attempt: int = Field(description="2 when the first attempt lost its kernel or node.")
    error: RunError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    memory_mb: int | None = Field(default=None, description="Kernel memory limit asked, MiB.")
    cpus: float | None = Field(default=None, description="Kernel CPU limit asked, cores.")
    backtest: dict[str, Any] | None = Field(
        default=None, description="The replay backtest it runs, if any (see RunCreate)."
    )


class RunPage(BaseModel):
    items: list[RunOut]
    next: str | None


@router.post(
    "/notebooks/{notebook_id}/runs", status_code=202, response_model=RunOut, responses=_ERRORS
)
async def trigger_run(
    notebook_id: str, platform: PlatformDep, principal: PrincipalDep, body: RunCreate | None = None
) -> RunOut:
    """Run the notebook's current revision in a fresh kernel, with parameters."""
    body = body or RunCreate()
    info = await platform.runs.trigger(
        principal,
        notebook_id,
        body.parameters,
        body.timeout_s,
        body.webhook_url,
        KernelAsk(body.memory_mb, body.cpus),
        body.backtest.spec() if body.backtest is not None else None,
    )
    return RunOut.model_validate(info)


@router.get("/runs", response_model=RunPage, responses=_ERRORS)
def list_runs(
    platform: PlatformDep,
    principal: PrincipalDep,
    notebook_id: Annotated[str | None, Query(description="Only this notebook's runs.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> RunPage:
    """List runs, newest first."""
    page = platform.runs.list(
        principal.tenant_id, notebook_id=notebook_id, limit=limit, cursor=cursor
    )
    return RunPage(items=[RunOut.model_validate(r) for r in page.items], next=page.next)


@router.get("/runs/{run_id}", response_model=RunOut, responses=_ERRORS)
def get_run(run_id: str, platform: PlatformDep, principal: PrincipalDep) -> RunOut:
    """Show a run: status, progress (cells done of total), timing, error."""
    return RunOut.model_validate(platform.runs.get(principal.tenant_id, run_id))


@router.get(
    "/runs/{run_id}/notebook",
    response_class=Response,
    responses={200: {"content": {"application/x-ipynb+json": {}}}, **_ERRORS},
)
def get_run_notebook(run_id: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Download the executed notebook (.ipynb) with every output so far."""
    nb = platform.runs.executed_notebook(principal.tenant_id, run_id)
    return Response(
        json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
        media_type="application/x-ipynb+json",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}.ipynb"'},
    )


@router.post("/runs/{run_id}/cancel", response_model=RunOut, responses=_ERRORS)
async def cancel_run(run_id: str, platform: PlatformDep, principal: PrincipalDep) -> RunOut:
    """Cancel a queued or running run."""
    return RunOut.model_validate(await platform.runs.cancel(principal.tenant_id, run_id))


class ScheduleCreate(BaseModel):
    cron: str | None = Field(
        default=None, description="Five-field cron expression, e.g. '*/5 * * * *'."
    )
    trigger: dict[str, Any] | None = Field(
        default=None,
        description='Instead of cron, fire on data: {"object": NAME, "rows"?: N} (a new '
        'version, or N new rows) or {"model": NAME, "alias": ALIAS} (the alias moved); the run '
        "gets what fired it as the parameter `trigger`.",
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    timezone: str = Field(default="UTC", description="IANA timezone the cron is read in.")
    webhook_url: str | None = Field(
        default=None, description="Given to each of its runs: POSTed the finished run, signed."
    )


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    notebook_id: str
    cron: str
    timezone: str
    parameters: dict[str, Any]
    next_at: datetime
    last_run_id: str | None
    runs_started: int
    runs_skipped: int = Field(description="Due times skipped because the last run still ran.")
    last_skipped_at: datetime | None
    created_at: datetime
    webhook_url: str | None
    trigger: dict[str, Any] | None = Field(
        default=None, description="What the schedule fires on, when it is not a cron."
    )


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    next: str | None


@router.post(
    "/notebooks/{notebook_id}/schedules",
    status_code=201,
    response_model=ScheduleOut,
    responses=_ERRORS,
)
def create_schedule(
    notebook_id: str, body: ScheduleCreate, platform: PlatformDep, principal: PrincipalDep
) -> ScheduleOut:
    """Run the notebook on a cron schedule (skipping a due time while the last run still runs),
    or when data changes (a trigger: an object's new version or rows, a model alias moved)."""
    info = platform.schedules.create(
        principal,
        notebook_id,
        body.cron,
        body.parameters,
        body.timezone,
        body.webhook_url,
        body.trigger,
    )
    return ScheduleOut.model_validate(info)


@router.get("/notebooks/{notebook_id}/schedules", response_model=SchedulePage, responses=_ERRORS)
def list_schedules(
    notebook_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> SchedulePage:
    """List the notebook's schedules."""
    page = platform.schedules.list(principal.tenant_id, notebook_id, limit, cursor)
    return SchedulePage(items=[ScheduleOut.model_validate(i) for i in page.items], next=page.next)


@router.get("/schedules", response_model=SchedulePage, responses=_ERRORS)
def list_all_schedules(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> SchedulePage:
    """List every schedule of the tenant, oldest first."""
    page = platform.schedules.list(principal.tenant_id, None, limit, cursor)
    return SchedulePage(items=[ScheduleOut.model_validate(i) for i in page.items], next=page.next)


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut, responses=_ERRORS)
def get_schedule(schedule_id: str, platform: PlatformDep, principal: PrincipalDep) -> ScheduleOut:
    """Show a schedule: next due time, last run, runs started and skipped."""
    return ScheduleOut.model_validate(platform.schedules.get(principal.tenant_id, schedule_id))


@router.delete("/schedules/{schedule_id}", status_code=204, responses=_ERRORS)
def delete_schedule(schedule_id: str, platform: PlatformDep, principal: PrincipalDep) -> Response:
    """Delete a schedule (its past runs stay)."""
    platform.schedules.delete(principal.tenant_id, schedule_id)
    return Response(status_code=204)
