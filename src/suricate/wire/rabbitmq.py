"""The ``Bus`` over RabbitMQ (aio-pika): the frontend's side and the execution node's side.

Routing: a command for a tenant is published to the direct exchange ``suricate.tenants`` with
the tenant's name as routing key. Nodes started for named tenants consume the durable queue
``suricate.tenant.<name>`` bound there (competing consumers: several nodes may serve one tenant).
Commands for tenants without such a queue fall through the exchange's alternate exchange to the
shared queue ``suricate.tenants.any``, consumed by nodes that serve every tenant. Commands for an
existing session go straight to the queue of the node holding its kernel, ``suricate.node.<id>``.
Events and the one reply come back on the caller's exclusive reply queue, by correlation id.
Reports (what processors did) go from nodes to the durable queue ``suricate.reports``, published
with confirms, and a frontend (any one of the replicas) acknowledges each once it has recorded
it. Broadcasts between frontends (a session's outputs, new actions, for live pages) go through
the fanout exchange ``suricate.events`` to an exclusive queue of each frontend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from suricate.errors import ExecutionNodeError, MalformedMessage
from suricate.wire.bus import EventHook, Handler, ReportHook
from suricate.wire.messages import Execute, Failed, KernelRequest, Message, decode

log = logging.getLogger(__name__)

TENANTS_EXCHANGE = "suricate.tenants"
ANY_EXCHANGE = "suricate.tenants.fallback"
ANY_QUEUE = "suricate.tenants.any"
REPORTS_QUEUE = "suricate.reports"
# Events for every frontend (live pages on any replica): a fanout exchange, a queue per frontend.
EVENTS_EXCHANGE = "suricate.events"
REPLY, EVENT = "reply", "event"
# While waiting for a node's reply, check this often that the node is still there.
NODE_CHECK_SECONDS = 3.0


def tenant_queue(tenant: str) -> str:
    return f"suricate.tenant.{tenant}"


def node_queue(node: str) -> str:
    return f"suricate.node.{node}"


async def _declare_topology(channel: Any) -> Any:
    import aio_pika

    fallback = await channel.declare_exchange(
        ANY_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
    )
    tenants = await channel.declare_exchange(
        TENANTS_EXCHANGE,
        aio_pika.ExchangeType.DIRECT,
        durable=True,
        arguments={"alternate-exchange": ANY_EXCHANGE},
    )
    shared = await channel.declare_queue(ANY_QUEUE, durable=True)
    await shared.bind(fallback)
    await channel.declare_queue(REPORTS_QUEUE, durable=True)
    return tenants


class RabbitBus:
    """The frontend's side: publish commands, gather events and replies."""

    def __init__(self, url: str, exec_timeout: float, reply_timeout: float = 120.0) -> None:
        self.url = url
        self.exec_timeout = exec_timeout
        self.reply_timeout = reply_timeout
        self._pending: dict[str, tuple[asyncio.Future[Message], EventHook | None]] = {}
        self._connection: Any = None
        self._on_report: ReportHook | None = None
        self._on_broadcast: ReportHook | None = None
        self._report_task: asyncio.Task[None] | None = None
        self._events: Any = None

    def on_broadcast(self, hook: ReportHook) -> None:
        self._on_broadcast = hook

    async def broadcast(self, event: Message) -> None:
        """Publish to every frontend's events queue; at most once (live pages only)."""
        import aio_pika

        if self._events is None:
            return
        await self._events.publish(
            aio_pika.Message(event.encode(), type=event.type, content_type="application/json"),
            routing_key="",
        )

    def on_report(self, hook: ReportHook) -> None:
        self._on_report = hook

    async def start(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        # Returned (unroutable) messages raise: a node queue that is gone means a node gone.
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange = await _declare_topology(self._channel)
        self._replies = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        await self._replies.consume(self._on_reply, no_ack=True)
        if self._on_broadcast is not None:
            # A channel without confirms: live events are worth no wait.
            events = await self._connection.channel()
            self._events = await events.declare_exchange(
                EVENTS_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
            )
            mine = await events.declare_queue(
                exclusive=True, auto_delete=True, arguments={"x-max-length": 100_000}
            )
            await mine.bind(self._events)
            await mine.consume(self._on_event, no_ack=True)
        if self._on_report is not None:
            self._report_task = asyncio.create_task(self._take_reports(self._on_report))

    def _on_reconnect(self, *args: Any) -> None:
        """Fail every command in flight when the connection is back after a loss.

        Their events and replies may have been published while either side was cut off (the
        reply queue goes with the connection, a node's publish with its own): no reply may ever
        come, so the callers learn now, and a run tries again, rather than waiting out its time
        limit.
        """
        lost = Failed(
            "connection_lost",
            "the connection to RabbitMQ was lost while the command ran; its outcome is unknown",
        )
        for future, _ in list(self._pending.values()):
            if not future.done():
                future.set_result(lost)
        if self._pending:
            log.warning(
                "broker connection restored; %d commands in flight failed", len(self._pending)
            )

    async def _take_reports(self, hook: ReportHook) -> None:
        """Take reports for as long as the bus runs: a consumer the broker cut off (its
        connection closed under it, with reports taken and not yet settled) starts again on a
        new channel; the reports it held come back (at least once)."""
        while True:
            try:
                await self._consume_reports(hook)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "the report consumer stopped (%s: %s); again in 1 s", type(exc).__name__, exc
                )
            await asyncio.sleep(1.0)

    async def _consume_reports(self, hook: ReportHook) -> None:
        """Record reports one at a time; each is acknowledged once recorded."""
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=64)
        queue = await channel.declare_queue(REPORTS_QUEUE, durable=True)
        async with queue.iterator() as reports:
            async for incoming in reports:
                try:
                    message = decode(incoming.body)
                except MalformedMessage:
                    log.exception("undecodable report dropped")
                    await incoming.reject(requeue=False)
                    continue
                try:
                    await hook(message)
                except Exception:
                    # Left for another try: the report comes back once this frontend is gone.
                    log.exception("could not record a %s", message.type)
                    await incoming.nack(requeue=True)
                    await asyncio.sleep(1.0)
                    continue
                await incoming.ack()

    async def _on_event(self, incoming: Any) -> None:
        try:
            message = decode(incoming.body)
        except MalformedMessage:
            log.exception("undecodable broadcast dropped")
            return
        if self._on_broadcast is not None:
            try:
                await self._on_broadcast(message)
            except Exception:
                log.exception("could not deliver a broadcast")

    async def _on_reply(self, incoming: Any) -> None:
        entry = self._pending.get(incoming.correlation_id or "")
        if entry is None:
            return
        future, on_event = entry
        try:
            message = decode(incoming.body)
        except MalformedMessage:
            log.exception("undecodable message on the reply queue")
            return
        if incoming.type == EVENT:
            if on_event is not None:
                await on_event(message)
        elif not future.done():
            future.set_result(message)

    async def call(
        self,
        tenant: str,
        command: Message,
        on_event: EventHook | None = None,
        node: str | None = None,
    ) -> Message:
        import aio_pika

        correlation = uuid.uuid4().hex
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[correlation] = (future, on_event)
        body = aio_pika.Message(
            command.encode(),
            correlation_id=correlation,
            reply_to=self._replies.name,
            type=command.type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
        )
        try:
            if node is None:
                await self._exchange.publish(body, routing_key=tenant)
            else:
                try:
                    await self._channel.default_exchange.publish(
                        body, routing_key=node_queue(node), mandatory=True
                    )
                except aio_pika.exceptions.DeliveryError:
                    # The node's queue is gone with the node, and the kernel with it.
                    return Failed("session_gone", f"execution node {node} is gone")
            # A cell may run for its whole time limit before the reply; anything else is quick.
            timeout = self.reply_timeout
            if isinstance(command, Execute | KernelRequest):
                timeout += command.timeout or self.exec_timeout
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), NODE_CHECK_SECONDS)
                except TimeoutError:
                    pass
                if node is not None and not await self.node_alive(node):
                    # The node died mid-command (kill -9, lost machine): no reply will come.
                    return Failed("session_gone", f"execution node {node} is gone")
                if loop.time() > deadline:
                    raise ExecutionNodeError(
                        "timeout", f"no execution node answered within {timeout:g} s"
                    )
        finally:
            self._pending.pop(correlation, None)

    def connected(self) -> bool:
        connection = getattr(self, "_connection", None)
        return connection is not None and not connection.is_closed and self._channel is not None

    async def node_alive(self, node: str) -> bool:
        """Tell whether the node's queue still exists (it goes with the node's connection)."""
        # A failed passive declare closes its channel, so it gets a channel of its own.
        channel = await self._connection.channel()
        try:
            await channel.declare_queue(node_queue(node), passive=True)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def close(self) -> None:
        if self._report_task is not None:
            self._report_task.cancel()
            with contextlib.suppress(BaseException):
                await self._report_task
        if self._connection is not None:
            await self._connection.close()


class RabbitNodeServer:
    """The execution node's side: consume tenant and node queues, answer on reply queues."""

    def __init__(self, url: str, node_id: str, handler: Handler, tenants: list[str]) -> None:
        self.url = url
        self.node_id = node_id
        self.handler = handler
        self.tenants = tenants
        self._tasks: set[asyncio.Task[None]] = set()
        self._connection: Any = None

    async def start(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url)
        channel = await self._connection.channel()
        # Commands can run long (a cell, a kernel start): take several at once, each a task.
        await channel.set_qos(prefetch_count=32)
        self._channel = channel
        tenants = await _declare_topology(channel)
        if self.tenants:
            for tenant in self.tenants:
                queue = await channel.declare_queue(tenant_queue(tenant), durable=True)
                await queue.bind(tenants, routing_key=tenant)
                await queue.consume(self._on_command)
        else:
            shared = await channel.declare_queue(ANY_QUEUE, durable=True)
            await shared.consume(self._on_command)
        own = await channel.declare_queue(
            # Not exclusive (the frontend checks that it exists); it goes with the node.
            node_queue(self.node_id),
            auto_delete=True,
        )
        await own.consume(self._on_command)
        self._reports: Any = None
        log.info(
            "execution node %s serving %s", self.node_id, ", ".join(self.tenants) or "all tenants"
        )

    def connected(self) -> bool:
        """Tell whether the node's broker connection is up (for its readiness probe)."""
        return self._connection is not None and not self._connection.is_closed

    async def report(self, message: Message) -> None:
        """Hand a report to the frontend; returns once the broker has it on disk."""
        # Shielded: a publish cancelled while it waits for its confirm closes the channel.
        await asyncio.shield(self._report(message))

    async def _report(self, message: Message) -> None:
        import aio_pika

        if self._reports is None or self._reports.is_closed:
            self._reports = await self._connection.channel(publisher_confirms=True)
        await self._reports.default_exchange.publish(
            aio_pika.Message(
                message.encode(),
                type=message.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type="application/json",
            ),
            routing_key=REPORTS_QUEUE,
        )

    async def _on_command(self, incoming: Any) -> None:
        task = asyncio.create_task(self._handle(incoming))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, incoming: Any) -> None:
        import aio_pika

        async def send(message: Message, kind: str) -> None:
            if incoming.reply_to:
                await self._channel.default_exchange.publish(
                    aio_pika.Message(
                        message.encode(), correlation_id=incoming.correlation_id, type=kind
                    ),
                    routing_key=incoming.reply_to,
                )

        try:
            command = decode(incoming.body)
        except MalformedMessage as exc:
            await send(Failed("bad_command", str(exc)), REPLY)
            await incoming.reject(requeue=False)
            return

        async def emit(event: Message) -> None:
            await send(event, EVENT)

        reply = await self.handler(command, emit)
        await send(reply, REPLY)
        # Acknowledged only once answered: a node that dies first leaves the command to another.
        await incoming.ack()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
