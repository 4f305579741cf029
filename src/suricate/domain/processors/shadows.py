"""A challenger in shadow beside the champion, the metrics handlers measure, and promotion.

A processor may run a challenger version of a model in shadow: its kernel handles every
message a second time with the challenger in the champion's place. The challenger's actions go
to the shadow feed, never the live one; the processor counts how often both made the same
actions and sums the metrics each measured (``sdk.metric``). A promotion policy moves the
champion alias to the challenger once enough messages were compared: on a metric's mean over
that window, or on the verdict of a gate notebook run with the figures.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from suricate.domain.auth import Principal
from suricate.domain.models import check_alias
from suricate.domain.processors.deploy import Deployment
from suricate.domain.processors.records import STARTING, ProcessorInfo, summary
from suricate.errors import InvalidInput, SuricateError
from suricate.kernel.handler import VERDICT_MIME
from suricate.store.tables import Processor, utcnow
from suricate.wire.messages import MetricTally, ProcessorReport, ShadowTally

log = logging.getLogger(__name__)
MAX_METRIC_SERIES = 64  # (model versions, metric name) pairs a processor keeps, newest
MAX_DECISIONS = 20  # promotion decisions a processor keeps, newest
FINISHED = ("succeeded", "failed", "cancelled", "timed_out")


@dataclass(frozen=True)
class PromotionPolicy:
    """When to move the champion alias to the challenger, once ``window`` messages were
    compared: when the challenger's mean ``metric`` beats the champion's by more than
    ``min_improvement`` (lower is better for ``goal="min"``), or when the ``gate`` notebook,
    run with the figures as parameters, says so with ``sdk.verdict(True)``."""

    window: int = 500
    metric: str | None = None
    goal: str = "min"
    min_improvement: float = 0.0
    gate: str | None = None

    def __post_init__(self) -> None:
        if (self.metric is None) == (self.gate is None):
            raise InvalidInput("a promotion policy names a metric or a gate notebook (one of them)")
        if self.goal not in ("min", "max"):
            raise InvalidInput("goal is min (lower is better) or max")
        if not 1 <= self.window <= 10_000_000:
            raise InvalidInput("window is between 1 and 10,000,000 messages")


@dataclass(frozen=True)
class ShadowConfig:
    """The challenger ``model@alias`` run in shadow, and how it may become ``champion``."""

    model: str
    alias: str = "challenger"
    champion: str = "champion"
    policy: PromotionPolicy | None = None

    def __post_init__(self) -> None:
        check_alias(self.alias)
        check_alias(self.champion)
        if self.alias == self.champion:
            raise InvalidInput("the challenger's alias and the champion's must differ")
        if not self.model or len(self.model) > 255:
            raise InvalidInput("a shadow names its model")

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def loads(stored: str | None) -> ShadowConfig | None:
        if not stored:
            return None
        raw = json.loads(stored)
        policy = raw.pop("policy", None)
        return ShadowConfig(**raw, policy=PromotionPolicy(**policy) if policy else None)


def tally_shadow(stats: dict[str, Any], tallies: builtins.list[ShadowTally]) -> dict[str, Any]:
    """Add a report's shadow tallies to a processor's figures; a new pair of versions (a
    promotion, a new challenger) starts them again (the decisions stay)."""
    for t in tallies:
        if (stats.get("champion"), stats.get("challenger")) != (t.champion, t.challenger):
            stats = {
                "model": t.model,
                "champion": t.champion,
                "challenger": t.challenger,
                "compared": 0,
                "agreed": 0,
                "failed": 0,
                "metrics": {"champion": {}, "challenger": {}},
                "since": utcnow().isoformat(),
                "decisions": stats.get("decisions", []),
                "pending_run": stats.get("pending_run"),
            }
        stats["compared"] += t.compared
        stats["agreed"] += t.agreed
        stats["failed"] += t.failed
        for side, found in (("champion", t.champion_metrics), ("challenger", t.challenger_metrics)):
            into = stats["metrics"][side]
            for name, (total, count) in found.items():
                pair = into.setdefault(name, [0.0, 0])
                pair[0] += total
                pair[1] += count
    return stats


def tally_metrics(
    series: builtins.list[dict[str, Any]], found: builtins.list[MetricTally]
) -> builtins.list[dict[str, Any]]:
    """Add a report's metrics to a processor's, by model versions and name (newest kept)."""
    for m in found:
        for entry in series:
            if entry["name"] == m.name and entry["models"] == m.models:
                entry["total"] += m.total
                entry["count"] += m.count
                series.remove(entry)
                series.append(entry)  # the newest last
                break
        else:
            series.append({"models": m.models, "name": m.name, "total": m.total, "count": m.count})
    return series[-MAX_METRIC_SERIES:]


def metric_verdict(policy: PromotionPolicy, stats: dict[str, Any]) -> tuple[bool, str]:
    """Whether the challenger's mean metric beats the champion's, and why."""
    assert policy.metric is not None
    found = stats["metrics"]
    (c_total, c_count) = found["champion"].get(policy.metric, (0.0, 0))
    (h_total, h_count) = found["challenger"].get(policy.metric, (0.0, 0))
    if not c_count or not h_count:
        return False, f"{policy.metric} was not measured on both (call sdk.metric in the handler)"
    champion, challenger = c_total / c_count, h_total / h_count
    gain = champion - challenger if policy.goal == "min" else challenger - champion
    figures = f"{policy.metric}: challenger {challenger:.4g}, champion {champion:.4g}"
    if gain > policy.min_improvement:
        return True, f"{figures} over {stats['compared']} messages"
    return False, f"{figures}: not better by more than {policy.min_improvement:g}"


def verdict_of(notebook: dict[str, Any]) -> tuple[bool, str] | None:
    """The last verdict a gate notebook displayed (``sdk.verdict``), if any."""
    found = None
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            value = (output.get("data") or {}).get(VERDICT_MIME)
            if isinstance(value, dict):
                found = (bool(value.get("promote")), str(value.get("reason", ""))[:500])
    return found


class Shadows(Deployment):
    """Shadow runs, the metrics handlers measure, and promotion by policy."""

    models: Any = None  # the model registry (ModelService): promotion moves its aliases
    runs: Any = None  # the run service: gate notebooks run there

    def _tally(self, row: Processor, report: ProcessorReport) -> dict[str, Any]:
        """The record's new figures after a report (inside its transaction)."""
        values: dict[str, Any] = {}
        if report.metrics:
            series = tally_metrics(json.loads(row.metrics or "[]"), report.metrics)
            values["metrics"] = json.dumps(series)
        if report.shadow:
            stats = tally_shadow(json.loads(row.shadow_stats or "{}"), report.shadow)
            values["shadow_stats"] = json.dumps(stats)
        return values

    async def _judge(self, processor_id: str) -> None:
        """Apply the processor's promotion policy when its window is full (or its gate run
        finished); one judgement at a time per processor."""
        live = self._live.get(processor_id)
        if live is None or live.judging:
            return
        live.judging = True
        try:
            await self._judge_now(processor_id)
        except Exception:
            log.exception("promotion policy of processor %s", processor_id)
        finally:
            live.judging = False

    async def _judge_now(self, processor_id: str) -> None:
        row = await asyncio.to_thread(self._row, processor_id)
        config = ShadowConfig.loads(row.shadow) if row is not None else None
        if row is None or config is None or config.policy is None:
            return
        stats, policy = json.loads(row.shadow_stats or "{}"), config.policy
        if stats.get("pending_run"):
            await self._gate_finished(row, config, stats)
            return
        if stats.get("compared", 0) < policy.window:
            return
        if policy.metric is not None:
            promote, reason = metric_verdict(policy, stats)
            await self._decide(row, config, stats, promote, reason)
            return
        principal = await asyncio.to_thread(self.principal_of, row.user_id, row.tenant_id)
        if principal is None or self.runs is None:
            await self._decide(row, config, stats, False, "the gate cannot run: no user")
            return
        run = await self.runs.trigger(principal, policy.gate, _gate_parameters(config, stats))
        stats["pending_run"] = run.id
        await asyncio.to_thread(self._update, processor_id, shadow_stats=json.dumps(stats))

    async def _gate_finished(
        self, row: Processor, config: ShadowConfig, stats: dict[str, Any]
    ) -> None:
        run_id = stats["pending_run"]
        try:
            run = await asyncio.to_thread(self.runs.get, row.tenant_id, run_id)
        except SuricateError:
            stats["pending_run"] = None
            await self._decide(row, config, stats, False, f"the gate run {run_id} is gone")
            return
        if run.status not in FINISHED:
            return
        stats["pending_run"] = None
        if run.status != "succeeded":
            await self._decide(row, config, stats, False, f"the gate run {run.status}", run_id)
            return
        notebook = await asyncio.to_thread(self.runs.executed_notebook, row.tenant_id, run_id)
        verdict = verdict_of(notebook)
        if verdict is None:
            verdict = (False, "the gate notebook gave no verdict (call sdk.verdict)")
        await self._decide(row, config, stats, *verdict, run_id)

    async def _decide(
        self,
        row: Processor,
        config: ShadowConfig,
        stats: dict[str, Any],
        promote: bool,
        reason: str,
        run_id: str | None = None,
    ) -> None:
        """Record a decision (and move the champion alias when it promotes); the window
        starts again."""
        champion, challenger = stats.get("champion"), stats.get("challenger")
        if promote and self.models is not None:
            try:
                await asyncio.to_thread(
                    self.models.set_alias, row.tenant_id, config.model, config.champion, challenger
                )
            except SuricateError as exc:
                promote, reason = False, f"the alias could not move: {exc.message}"
        decision = {
            "at": utcnow().isoformat(),
            "verdict": "promoted" if promote else "kept",
            "reason": reason,
            "champion": champion,
            "challenger": challenger,
            "run_id": run_id,
        }
        stats["decisions"] = [*stats.get("decisions", []), decision][-MAX_DECISIONS:]
        stats.update(compared=0, agreed=0, failed=0, metrics={"champion": {}, "challenger": {}})
        await asyncio.to_thread(self._update, row.id, shadow_stats=json.dumps(stats))
        live = self._live.get(row.id)
        if live is not None:
            what = (
                f"promoted {config.model}/{challenger} to {config.champion}"
                if promote
                else (f"kept {config.model}/{champion} as {config.champion}")
            )
            live.logs.append(f"promotion policy: {what}: {reason}")

    def _row(self, processor_id: str) -> Processor | None:
        with self.db.session() as s:
            return s.get(Processor, processor_id)

    async def set_shadow(
        self, principal: Principal, processor_id: str, config: ShadowConfig | None
    ) -> ProcessorInfo:
        """Run a challenger in shadow (or stop doing so): the processor starts again on the
        same notebook revision, its figures anew; its decisions stay."""
        info = await asyncio.to_thread(self.get, principal.tenant_id, processor_id)
        if config is not None and config.policy is not None and config.policy.gate is not None:
            await asyncio.to_thread(self.notebooks.find, principal.tenant_id, config.policy.gate)
        kept = await asyncio.to_thread(self._row, processor_id)
        decisions = json.loads(kept.shadow_stats or "{}").get("decisions", []) if kept else []
        await asyncio.to_thread(
            self._update,
            processor_id,
            shadow=config.dumps() if config is not None else None,
            shadow_stats=json.dumps({"decisions": decisions} if decisions else {}),
        )
        if info.status != "stopped":
            await asyncio.to_thread(self._update, processor_id, status=STARTING, error=None)
            self._restart_later(principal, processor_id)
        return await asyncio.to_thread(self.get, principal.tenant_id, processor_id)


def _gate_parameters(config: ShadowConfig, stats: dict[str, Any]) -> dict[str, Any]:
    """What a gate notebook is run with (its `parameters` cell may declare any of them)."""
    figures = summary(stats)
    return {
        "model": config.model,
        "champion_alias": config.champion,
        "champion_version": figures["champion"],
        "challenger_version": figures["challenger"],
        "compared": figures["compared"],
        "agreement": figures["agreement"],
        "champion_metrics": figures["metrics"].get("champion", {}),
        "challenger_metrics": figures["metrics"].get("challenger", {}),
    }
