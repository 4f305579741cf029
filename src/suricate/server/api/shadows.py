"""Routes of the model loop: a challenger in shadow on a processor, its promotion policy, and
the actions of replay backtests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from suricate.errors import InvalidInput, RunNotFound
from suricate.server.api.deps import PlatformDep, PrincipalDep
from suricate.server.api.processors import ProcessorOut
from suricate.server.api.schemas import ErrorOut, ShadowIn

router = APIRouter(tags=["processors"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 413, 422)
}
MAX_BACKTEST_ACTIONS = 10_000  # actions a backtest sends at once


class BacktestAction(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    data: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, int] = Field(default_factory=dict)
    at: datetime | float | None = None


class BacktestActions(BaseModel):
    actions: list[BacktestAction] = Field(max_length=MAX_BACKTEST_ACTIONS)
    shadow: bool = Field(default=False, description="A challenger's actions (the shadow feed).")


class Recorded(BaseModel):
    recorded: int


@router.put("/processors/{processor_id}/shadow", response_model=ProcessorOut, responses=_ERRORS)
async def set_shadow(
    processor_id: str, body: ShadowIn, platform: PlatformDep, principal: PrincipalDep
) -> ProcessorOut:
    """Run a challenger in shadow beside the champion (the processor starts again, on the same
    notebook revision); its actions go to the shadow feed, and the processor reports how often
    both agreed. With a policy, the champion alias moves when the challenger does better."""
    info = await platform.processors.set_shadow(principal, processor_id, body.config())
    return ProcessorOut.model_validate(info)


@router.delete("/processors/{processor_id}/shadow", response_model=ProcessorOut, responses=_ERRORS)
async def delete_shadow(
    processor_id: str, platform: PlatformDep, principal: PrincipalDep
) -> ProcessorOut:
    """Stop running a challenger in shadow (the processor starts again)."""
    info = await platform.processors.set_shadow(principal, processor_id, None)
    return ProcessorOut.model_validate(info)


@router.post("/runs/{run_id}/actions", status_code=201, response_model=Recorded, responses=_ERRORS)
async def record_backtest_actions(
    run_id: str, body: BacktestActions, platform: PlatformDep, principal: PrincipalDep
) -> Recorded:
    """Record the actions of a running replay backtest, in its own feed (what its kernel does)."""
    run = await asyncio.to_thread(platform.runs.get, principal.tenant_id, run_id)
    if run.backtest is None:
        raise RunNotFound(run_id)
    if run.status != "running":
        raise InvalidInput(f"run {run_id} is {run.status}: its backtest is over")
    actions = [a.model_dump() for a in body.actions]
    for a in actions:
        if isinstance(a["at"], float):
            a["at"] = datetime.fromtimestamp(a["at"], UTC)
    recorded = await asyncio.to_thread(
        platform.processors.record_backtest, principal.tenant_id, run_id, actions, body.shadow
    )
    return Recorded(recorded=recorded)
