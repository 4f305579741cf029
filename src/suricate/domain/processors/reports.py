"""Reports from the nodes: counters, throughput, logs, actions and dead letters recorded."""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import time
import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import insert, update

from suricate.domain.processors.records import (
    FAILED,
    ActionInfo,
    _action,
    _at,
)
from suricate.domain.processors.shadows import Shadows
from suricate.errors import InvalidInput
from suricate.store.tables import Action, DeadLetter, Processor, utcnow
from suricate.wire.messages import (
    DeadLetterRecord,
    Message,
    ProcessorReport,
)

log = logging.getLogger(__name__)


class Reports(Shadows):
    """Reports from the nodes: counters, throughput, logs, actions and dead letters recorded."""

    async def take_report(self, message: Message) -> None:
        """Record a node's report; returns once it is in the database."""
        if not isinstance(message, ProcessorReport):
            log.warning("unexpected report %s", message.type)
            return
        recorded = await asyncio.to_thread(self._record, message)
        if recorded is None:
            return
        tenant_id, actions = recorded
        if message.appends:
            await asyncio.to_thread(self._append, tenant_id, message)
        live = self._live.get(message.processor_id)
        if live is not None:
            instance = live.instances.get(message.instance)
            if instance is not None and instance.node == message.node:
                instance.last_report = time.monotonic()
                instance.rate, instance.lag = message.rate, message.lag
                instance.latency_ms = message.latency_ms
            now = time.time()
            if not live.history or now - live.history[-1][0] >= 1.0:
                rate = sum(i.rate for i in live.instances.values())
                live.history.append((round(now, 3), rate))
            live.logs.extend(message.logs)
            if message.samples:
                self.streams.note(live.stream_id, message.samples)
        if actions:
            self._announce(tenant_id, message.processor_id, actions)
        if live is not None and live.shadowed:
            self._spawn(self._judge(message.processor_id))
        if message.status == FAILED and message.error is not None:
            current = self._live.get(message.processor_id)
            if current is not None and not current.busy.locked():
                self._spawn(self._fail(message.processor_id, message.error))

    def _append(self, tenant_id: int, report: ProcessorReport) -> None:
        """Queue the rows the processor's handlers appended (before its messages are acked)."""
        if self.datasets is None:
            return
        for appended in report.appends:
            try:
                self.datasets.append(tenant_id, appended.name, appended.records, appended.key)
            except InvalidInput as exc:  # the user's mistake: said in the logs, not retried
                live = self._live.get(report.processor_id)
                if live is not None:
                    live.logs.append(f"sdk.append({appended.name!r}) refused: {exc.message}")

    def _record(self, report: ProcessorReport) -> tuple[int, builtins.list[ActionInfo]] | None:
        with self.db.session() as s:
            row = s.get(Processor, report.processor_id)
            if row is None:
                return None
            tenant_id = row.tenant_id
            values: dict[str, Any] = {
                "received": Processor.received + report.received,
                "processed": Processor.processed + report.processed,
                "failed": Processor.failed + report.failed,
                "dead_lettered": Processor.dead_lettered + report.dead_lettered,
                "redelivered": Processor.redelivered + report.redelivered,
            }
            if report.position is not None and report.instance == 0:
                values["position"] = report.position
            if report.status == FAILED and report.error is not None:
                values["error"] = json.dumps(asdict(report.error))
            values.update(self._tally(row, report))
            s.execute(update(Processor).where(Processor.id == row.id).values(**values))
            rows = [
                {
                    "tenant_id": tenant_id,
                    "processor_id": row.id,
                    "text": a.text,
                    "data": json.dumps(a.data),
                    "models": json.dumps(a.models),
                    "created_at": _at(a.at),
                }
                for a in report.actions
            ]
            shadow = [
                {
                    "tenant_id": tenant_id,
                    "processor_id": row.id,
                    "text": a.text,
                    "data": json.dumps(a.data),
                    "models": json.dumps(a.models),
                    "feed": "shadow",
                    "created_at": _at(a.at),
                }
                for tally in report.shadow
                for a in tally.actions
            ]
            if shadow:
                s.execute(insert(Action), shadow)  # the shadow feed: stored, never announced
            actions: list[Action] = []
            if rows and self._feeds:
                actions = [Action(**r) for r in rows]  # the live feeds want their ids
                s.add_all(actions)
            elif rows:
                s.execute(insert(Action), rows)  # one executemany
            for letter in report.dead_letters:
                self._record_dead_letter(s, row, letter)
            if report.replayed:
                s.execute(
                    update(DeadLetter)
                    .where(DeadLetter.processor_id == row.id, DeadLetter.id.in_(report.replayed))
                    .values(status="replayed", replayed_at=utcnow())
                )
            s.flush()
            return tenant_id, [_action(a) for a in actions] if self._feeds else []

    @staticmethod
    def _record_dead_letter(s: Any, row: Processor, letter: DeadLetterRecord) -> None:
        values = {
            "error": letter.error,
            "traceback": letter.traceback,
            "attempts": letter.attempts,
            "notebook_revision": letter.revision,
            "status": "dead",
        }
        existing = s.get(DeadLetter, letter.id) if letter.id else None
        if existing is not None and existing.processor_id == row.id:
            for key, value in values.items():
                setattr(existing, key, value)  # replayed and failed again
            return
        s.add(
            DeadLetter(
                id=uuid.uuid4().hex,
                tenant_id=row.tenant_id,
                processor_id=row.id,
                message_id=letter.message.id[:255],
                body=letter.message.body.text,
                body_b64=letter.message.body.b64,
                headers=json.dumps(letter.message.headers),
                created_at=utcnow(),
                **values,
            )
        )
