"""Dead letters: messages a processor gave up on, listed and handed back to it."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json

from sqlalchemy import select

from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.processors.actions import Actions
from suricate.domain.processors.records import (
    RUNNING,
    DeadLetterInfo,
    _dead_letter,
)
from suricate.errors import (
    Conflict,
)
from suricate.store.tables import DeadLetter
from suricate.wire.body import Body
from suricate.wire.messages import (
    Done,
    InjectMessages,
    StreamMessage,
)


class DeadLetters(Actions):
    """Dead letters: messages a processor gave up on, listed and handed back to it."""

    def dead_letters(
        self,
        tenant_id: int,
        processor_id: str,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[DeadLetterInfo]:
        self.get(tenant_id, processor_id)
        with self.db.session() as s:
            query = select(DeadLetter).where(
                DeadLetter.tenant_id == tenant_id, DeadLetter.processor_id == processor_id
            )
            query, limit = keyset(query, DeadLetter.created_at, cursor, limit, descending=True)
            items = [_dead_letter(r) for r in s.scalars(query)]
            return page_of(items, limit, lambda i: i.created_at)

    async def replay_dead_letters(
        self, tenant_id: int, processor_id: str, ids: builtins.list[str] | None = None
    ) -> int:
        """Hand dead letters back to the running processor; each is marked once handled."""
        info = await asyncio.to_thread(self.get, tenant_id, processor_id)
        live = self._live.get(processor_id)
        if info.status != RUNNING or live is None or 0 not in live.instances:
            raise Conflict("the processor is not running; restart it first")
        messages = await asyncio.to_thread(self._to_replay, tenant_id, processor_id, ids)
        if messages:
            node = live.instances[0].node
            reply = await self.bus.call(
                live.tenant, InjectMessages(processor_id, messages), node=node
            )
            if not isinstance(reply, Done):
                raise Conflict("the processor's node did not take the messages; try again")
        return len(messages)

    def _to_replay(
        self, tenant_id: int, processor_id: str, ids: builtins.list[str] | None
    ) -> builtins.list[StreamMessage]:
        """The dead letters to hand back, marked as being replayed."""
        with self.db.session() as s:
            query = select(DeadLetter).where(
                DeadLetter.tenant_id == tenant_id,
                DeadLetter.processor_id == processor_id,
                DeadLetter.status != "replayed",
            )
            if ids is not None:
                query = query.where(DeadLetter.id.in_(ids))
            rows = list(s.scalars(query.order_by(DeadLetter.created_at)))
            for r in rows:
                r.status = "replaying"
            return [
                StreamMessage(
                    id=r.message_id,
                    body=Body(text=r.body, b64=None if r.body is not None else r.body_b64 or ""),
                    headers=json.loads(r.headers),
                    dead_letter_id=r.id,
                )
                for r in rows
            ]

    async def _deliver_local(self, stream_id: str, message: StreamMessage) -> None:
        """A message published to a replay stream goes to the processors running on it."""
        for processor_id, live in list(self._live.items()):
            if live.stream_id == stream_id and 0 in live.instances:
                with contextlib.suppress(Exception):
                    await self.bus.call(
                        live.tenant,
                        InjectMessages(processor_id, [message]),
                        node=live.instances[0].node,
                    )
