"""Actions: what processors (and anyone with the API) record, and the live feeds of them."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select

from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.processors.base import ProcessorBase
from suricate.domain.processors.records import (
    ActionInfo,
    _action,
)
from suricate.errors import InvalidInput
from suricate.store.tables import Action, utcnow
from suricate.wire.messages import Broadcast


class Actions(ProcessorBase):
    """Actions: what processors (and anyone with the API) record, and the live feeds of them."""

    def create_action(
        self,
        tenant_id: int,
        text: str,
        data: dict[str, Any],
        processor_id: str | None = None,
        models: dict[str, int] | None = None,
    ) -> ActionInfo:
        if processor_id is not None:
            self.get(tenant_id, processor_id)
        row = Action(
            tenant_id=tenant_id,
            processor_id=processor_id,
            text=text,
            data=json.dumps(data),
            models=json.dumps(models or {}),
            feed="live",
            created_at=utcnow(),
        )
        with self.db.session() as s:
            s.add(row)
            s.flush()
            info = _action(row)
        if self._loop is not None:  # this runs in a worker thread: the feeds are the loop's
            self._loop.call_soon_threadsafe(self._announce, tenant_id, processor_id, [info])
        else:
            self._deliver_actions(tenant_id, processor_id, [info])
        return info

    def actions(
        self,
        tenant_id: int,
        processor_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        newest_first: bool = False,
        model: str | None = None,
        model_version: int | None = None,
        feed: str | None = "live",
        run_id: str | None = None,
    ) -> Page[ActionInfo]:
        """Actions oldest first (or newest first); ``since`` keeps those created after it,
        ``model`` (and ``model_version``) those made with that model (version), ``feed``
        those of one feed (live, shadow, backtest; None: all), ``run_id`` a backtest's."""
        if processor_id is not None:
            self.get(tenant_id, processor_id)
        with self.db.session() as s:
            query = select(Action).where(Action.tenant_id == tenant_id)
            if feed is not None:
                query = query.where(Action.feed == feed)
            if run_id is not None:
                query = query.where(Action.run_id == run_id)
            if processor_id is not None:
                query = query.where(Action.processor_id == processor_id)
            if since is not None:
                query = query.where(Action.created_at > _utc(since))
            if model is not None:
                query = query.where(made_with(model, model_version))
            query, limit = keyset(query, Action.id, cursor, limit, descending=newest_first)
            return page_of([_action(r) for r in s.scalars(query)], limit, lambda i: i.id)

    def record_backtest(
        self, tenant_id: int, run_id: str, actions: builtins.list[dict[str, Any]], shadow: bool
    ) -> int:
        """Keep actions a replay backtest made (its own feed, or the shadow one); return how
        many."""
        rows = [
            {
                "tenant_id": tenant_id,
                "run_id": run_id,
                "text": a["text"],
                "data": json.dumps(a.get("data") or {}),
                "models": json.dumps(a.get("models") or {}),
                "feed": "shadow" if shadow else "backtest",
                "created_at": _utc(a["at"]) if a.get("at") else utcnow(),
            }
            for a in actions
        ]
        if rows:
            with self.db.session() as s:
                s.execute(insert(Action), rows)
        return len(rows)

    def subscribe(
        self, tenant_id: int, processor_id: str | None
    ) -> tuple[asyncio.Queue[ActionInfo], Any]:
        """A queue of new actions for a live feed, and the function that ends it."""
        if processor_id is not None:
            self.get(tenant_id, processor_id)
        queue: asyncio.Queue[ActionInfo] = asyncio.Queue(maxsize=1000)
        entry = (tenant_id, processor_id, queue)
        self._feeds.add(entry)
        return queue, lambda: self._feeds.discard(entry)

    def _announce(
        self, tenant_id: int, processor_id: str | None, actions: builtins.list[ActionInfo]
    ) -> None:
        """Tell the live feeds, this frontend's and the others'."""
        self._deliver_actions(tenant_id, processor_id, actions)
        if self.fanout is not None and actions:
            payload = {"processor_id": processor_id, "actions": [_json(a) for a in actions]}
            self.fanout.send("action", str(tenant_id), payload)

    async def take_broadcast(self, message: Any) -> None:
        """Hand actions recorded through another frontend to this one's live feeds."""
        if not isinstance(message, Broadcast) or message.topic != "action":
            return
        if self.fanout is None or self.fanout.mine(message):
            return
        payload: dict[str, Any] = dict(message.payload)
        processor_id = payload.get("processor_id")
        try:
            infos = [
                ActionInfo(
                    id=int(a["id"]),
                    processor_id=a.get("processor_id"),
                    text=str(a["text"]),
                    data=dict(a.get("data") or {}),
                    created_at=datetime.fromisoformat(str(a["created_at"])),
                    models={str(k): int(v) for k, v in dict(a.get("models") or {}).items()},
                )
                for a in payload.get("actions") or []
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            return  # not an actions broadcast of ours
        self._deliver_actions(
            int(message.key), processor_id if isinstance(processor_id, str) else None, infos
        )

    def _deliver_actions(
        self, tenant_id: int, processor_id: str | None, actions: builtins.list[ActionInfo]
    ) -> None:
        feeds = [q for t, p, q in self._feeds if t == tenant_id and p in (None, processor_id)]
        for info in actions:
            for queue in feeds:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(info)


def _json(info: ActionInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "processor_id": info.processor_id,
        "text": info.text,
        "data": info.data,
        "created_at": info.created_at.isoformat(),
        "models": info.models,
    }


def made_with(model: str, version: int | None) -> Any:
    """The condition on ``Action.models`` (``{"name": version}`` as JSON text) that keeps the
    actions made with a model, or a version of it; plain LIKE works on every database."""
    key = json.dumps(model)  # as json.dumps wrote it, quotes and escapes included
    if version is None:
        return Action.models.contains(f"{key}: ", autoescape=True)
    return or_(
        Action.models.contains(f"{key}: {version},", autoescape=True),
        Action.models.contains(f"{key}: {version}}}", autoescape=True),
    )


def _utc(moment: datetime) -> datetime:
    """A moment in UTC (a naive one is taken as UTC); one past year 1 or 9999 there is 422."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"since {moment.isoformat()} is out of range") from None
