"""Runs: a notebook revision executed with parameters in a fresh kernel, with a full record.

Parameters are injected papermill's way: a cell tagged ``injected-parameters`` right after the
cell tagged ``parameters`` (or first, when there is none). A run executes its code cells one by
one through a session on the tenant's execution nodes, saving the executed notebook after each
cell, so progress and partial outputs are visible while it runs. Which cells run and whether the
run succeeds follow papermill (``verdicts``: ``skip-execution``, ``raises-exception``,
``sys.exit()``, non-Python kernels).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import functools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, select, update

from suricate.domain import verdicts
from suricate.domain.auth import Principal
from suricate.domain.backtests import Backtest
from suricate.domain.notebooks import NotebookService
from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.quotas import KernelAsk, QuotaService
from suricate.domain.verdicts import inject_parameters
from suricate.domain.verdicts import source as _source
from suricate.domain.webhooks import check_url
from suricate.errors import Conflict, ExecutionNodeError, RunNotFound, SessionNotFound
from suricate.store.db import Database
from suricate.store.tables import Run, utcnow
from suricate.wire.messages import KernelLimits
from suricate.wire.outputs import CellOutputs

log = logging.getLogger(__name__)
T = TypeVar("T")

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
)
FINISHED = {SUCCEEDED, FAILED, CANCELLED, TIMED_OUT}
# Failures of the machinery, not of the notebook: the run is tried once more.
_RETRYABLE = {"KernelDied"}
# While a cell runs, its outputs so far are saved this often.
PARTIAL_SAVE_S = 1.0


@dataclass(frozen=True)
class RunInfo:
    id: str
    notebook_id: str
    notebook_revision: int
    status: str
    parameters: dict[str, Any]
    timeout_s: float | None
    cells_total: int
    cells_done: int
    attempt: int
    error: dict[str, Any] | None
    created_at: datetime
    memory_mb: int | None
    cpus: float | None
    started_at: datetime | None
    finished_at: datetime | None
    backtest: dict[str, Any] | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return round((end - self.started_at).total_seconds(), 3)


def _info(row: Run) -> RunInfo:
    return RunInfo(
        id=row.id,
        notebook_id=row.notebook_id,
        notebook_revision=row.notebook_revision,
        status=row.status,
        parameters=json.loads(row.parameters),
        timeout_s=row.timeout_s,
        cells_total=row.cells_total,
        cells_done=row.cells_done,
        attempt=row.attempt,
        error=json.loads(row.error) if row.error else None,
        created_at=row.created_at,
        memory_mb=row.memory_mb,
        cpus=row.cpus,
        started_at=row.started_at,
        finished_at=row.finished_at,
        backtest=json.loads(row.backtest) if row.backtest else None,
    )


class RunService:
    """Trigger, execute, follow and cancel runs; every lookup is scoped to the tenant."""

    def __init__(
        self,
        db: Database,
        notebooks: NotebookService,
        sessions: Any,
        webhooks: Any = None,
        quotas: QuotaService | None = None,
    ) -> None:
        self.db = db
        self.notebooks = notebooks
        self.sessions = sessions
        self.webhooks = webhooks
        self.quotas = quotas
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        self._deliveries: set[asyncio.Task[bool]] = set()
        # This frontend's name: the runs it drives carry it (set by the composition root).
        self.frontend: str | None = None
        # Frontend replicas: a stopping frontend leaves its runs to another, unfinished.
        self.hand_over = False

    def _interrupted(self, error: str, now: datetime) -> builtins.list[Run]:
        """Fail the runs that were running; return those still queued."""
        with self.db.session() as s:
            s.execute(
                update(Run)
                .where(Run.status == RUNNING)
                .values(status=FAILED, error=error, finished_at=now)
            )
            return list(s.scalars(select(Run).where(Run.status == QUEUED)))

    async def recover(self, principal_of: Any) -> None:
        """After a restart: runs left running failed with the server; queued ones start again."""
        now = utcnow()
        error = json.dumps(
            {
                "ename": "ServerRestarted",
                "evalue": "the server stopped during the run",
                "cell": None,
            }
        )
        queued = await asyncio.to_thread(self._interrupted, error, now)
        for row in queued:
            principal = await asyncio.to_thread(principal_of, row.user_id, row.tenant_id)
            if principal is not None:
                self._start(principal, row.id)

    def _orphans(self, alive: set[str]) -> builtins.list[Run]:
        """Claim the unfinished runs of frontends that are gone: this one drives them now."""
        claimed = []
        with self.db.session() as s:
            rows = builtins.list(s.scalars(select(Run).where(Run.status.in_((QUEUED, RUNNING)))))
            for row in rows:
                if row.frontend in alive:
                    continue
                was = (
                    Run.frontend.is_(None) if row.frontend is None else Run.frontend == row.frontend
                )
                taken = cast(
                    "CursorResult[Any]",
                    s.execute(
                        update(Run)
                        .where(Run.id == row.id, was, Run.status.in_((QUEUED, RUNNING)))
                        .values(frontend=self.frontend)
                        .execution_options(synchronize_session=False)
                    ),
                ).rowcount
                if taken:
                    claimed.append(row)
        return claimed

    async def adopt(self, principal_of: Any, alive: set[str]) -> int:
        """Drive the runs whose frontend is gone (not in ``alive``): a queued one starts, a
        running one starts again as its next attempt (or fails, past the attempts); the
        leader's duty when frontends are replicas. Return how many were taken over."""
        rows = await asyncio.to_thread(self._orphans, alive)
        for row in rows:
            log.warning("run %s lost its frontend %s; this one takes it over", row.id, row.frontend)
            if row.status == RUNNING and not await asyncio.to_thread(self._retry, row.id):
                lost = {"ename": "FrontendLost", "evalue": "its frontend stopped", "cell": None}
                await asyncio.to_thread(self._finish, row.id, FAILED, lost)
                await self._notify(row.id)
                continue
            principal = await asyncio.to_thread(principal_of, row.user_id, row.tenant_id)
            if principal is not None:
                self._start(principal, row.id)
        return len(rows)

    async def trigger(
        self,
        principal: Principal,
        notebook_id: str,
        parameters: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        webhook_url: str | None = None,
        kernel: KernelAsk | None = None,
        backtest: Backtest | None = None,
    ) -> RunInfo:
        """Queue a run of the notebook's current revision and start it.

        ``kernel``: the run's kernel limits, at most the tenant's maxima (default: the node's);
        ``backtest``: replay a stored object through the notebook's handlers after its cells.
        """
        if self.webhooks is not None:
            self.webhooks.check_url(webhook_url)
        else:
            check_url(webhook_url)
        kernel = kernel or KernelAsk()
        row = Run(
            id=uuid.uuid4().hex,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            status=QUEUED,
            parameters=json.dumps(parameters or {}),
            timeout_s=timeout_s,
            webhook_url=webhook_url,
            memory_mb=kernel.memory_mb,
            cpus=kernel.cpus,
            cells_total=0,
            cells_done=0,
            attempt=1,
            backtest=backtest.dumps() if backtest is not None else None,
            created_at=utcnow(),
            frontend=self.frontend,
        )
        await asyncio.to_thread(self._queue, principal, notebook_id, kernel, row)
        self._start(principal, row.id)
        return _info(row)

    def _queue(self, principal: Principal, notebook_id: str, kernel: KernelAsk, row: Run) -> None:
        """Check the notebook and the quotas, then record the run (in one thread hop)."""
        notebook = self.notebooks.find(principal.tenant_id, notebook_id)
        if self.quotas is not None:
            self.quotas.check_kernel(principal.tenant_id, kernel)
            self.quotas.check_run(principal.tenant_id, principal.tenant_name)
        row.notebook_id, row.notebook_revision = notebook.id, notebook.revision
        with self.db.session() as s:
            s.add(row)

    def _start(self, principal: Principal, run_id: str) -> None:
        task = asyncio.create_task(self._run(principal, run_id))
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    def get(self, tenant_id: int, run_id: str) -> RunInfo:
        with self.db.session() as s:
            return _info(self._row(s, tenant_id, run_id))

    def executed_notebook(self, tenant_id: int, run_id: str) -> dict[str, Any]:
        """Return the executed notebook as it stands (complete once the run has finished)."""
        with self.db.session() as s:
            row = self._row(s, tenant_id, run_id)
            if row.result is None:
                raise Conflict(f"run {run_id} has not started executing yet")
            result: dict[str, Any] = json.loads(row.result)
            return result

    def list(
        self,
        tenant_id: int,
        *,
        notebook_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[RunInfo]:
        """List runs, newest first."""
        with self.db.session() as s:
            query = select(Run).where(Run.tenant_id == tenant_id)
            if notebook_id is not None:
                notebook = self.notebooks.find(tenant_id, notebook_id)  # by id or by name
                query = query.where(Run.notebook_id == notebook.id)
            query, limit = keyset(query, Run.created_at, cursor, limit, descending=True)
            items = [_info(r) for r in s.scalars(query)]
            return page_of(items, limit, lambda r: r.created_at)

    async def cancel(self, tenant_id: int, run_id: str) -> RunInfo:
        """Cancel a queued or running run (a finished one is left as it is)."""
        info = await asyncio.to_thread(self.get, tenant_id, run_id)
        task = self._tasks.get(run_id)
        if info.status in FINISHED:
            return info
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        else:
            await asyncio.to_thread(self._finish, run_id, CANCELLED, None)
        return await asyncio.to_thread(self.get, tenant_id, run_id)

    async def close(self) -> None:
        """Stop running runs, marking them failed: a stopping server is not a user's cancel."""
        self._closing = True
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):
                await task

    async def _run(self, principal: Principal, run_id: str) -> None:
        try:
            await self._execute(principal, run_id)
        finally:
            await self._notify(run_id)

    def _webhook(self, run_id: str) -> tuple[str | None, RunInfo | None]:
        with self.db.session() as s:
            row = s.get(Run, run_id)
            if row is None:
                return None, None
            return row.webhook_url, _info(row)

    async def _notify(self, run_id: str) -> None:
        url, info = await asyncio.to_thread(self._webhook, run_id)
        if info is not None and info.status not in FINISHED:
            return  # handed over to another frontend, which tells once it ends
        if url and info is not None and self.webhooks is not None:
            task = asyncio.create_task(
                self.webhooks.send(url, "run.finished", {"run": _public(info)})
            )
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _execute(self, principal: Principal, run_id: str) -> None:
        try:
            while await self._attempt(principal, run_id):
                log.info("run %s lost its kernel; trying again", run_id)
        except asyncio.CancelledError:
            if self._closing and self.hand_over:
                raise  # the leader takes it over, as the next attempt
            if self._closing:
                error: dict[str, Any] = {"ename": "ServerStopped"}
                error["evalue"] = "the server stopped during the run"
                await asyncio.shield(
                    asyncio.to_thread(self._finish, run_id, FAILED, error | {"cell": None})
                )
            else:
                await asyncio.shield(asyncio.to_thread(self._finish, run_id, CANCELLED, None))
            raise
        except Exception as exc:
            log.exception("run %s failed", run_id)
            failed = {"ename": type(exc).__name__, "evalue": str(exc), "cell": None}
            await asyncio.to_thread(self._finish, run_id, FAILED, failed)

    async def _attempt(self, principal: Principal, run_id: str) -> bool:
        """Run the notebook once; tell whether to try again (its kernel or node was lost)."""
        row = await asyncio.to_thread(self._load, run_id)
        limits = KernelLimits(row.memory_mb, row.cpus) if row.memory_mb or row.cpus else None
        # The kernel starts while the notebook is read and the record marked running.
        starting = asyncio.create_task(
            self.sessions.create(principal, row.notebook_id, kind="run", limits=limits)
        )
        session = None
        try:
            return await self._attempt_with(principal, run_id, row, starting)
        finally:
            with contextlib.suppress(Exception):
                session = await starting  # if it never ran a cell, it started all the same
            if session is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.sessions.delete(principal, session.id))

    async def _attempt_with(
        self, principal: Principal, run_id: str, row: Run, starting: asyncio.Task[Any]
    ) -> bool:
        parameters = json.loads(row.parameters)
        revision, notebook_id, timeout_s = row.notebook_revision, row.notebook_id, row.timeout_s
        notebook = await asyncio.to_thread(
            self.notebooks.get, principal.tenant_id, notebook_id, revision
        )
        source = notebook.content
        assert source is not None
        nb = inject_parameters(source, parameters)
        backtest = Backtest.loads(row.backtest)
        if backtest is not None:
            nb["cells"].append(backtest.cell(run_id))
        code_cells = [i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
        for i in code_cells:
            nb["cells"][i]["outputs"], nb["cells"][i]["execution_count"] = [], None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s if timeout_s else None
        await asyncio.to_thread(self._started, run_id, len(code_cells), nb)
        problem = verdicts.kernel_problem(nb)
        if problem:
            refused = {"ename": "NoSuchKernel", "evalue": problem, "cell": None}
            await asyncio.to_thread(self._finish, run_id, FAILED, refused, nb)
            return False
        live: _LiveOutputs | None = None
        try:
            # Inside the try: a kernel that cannot be had (node or broker lost) is retried too.
            session = await starting
            await asyncio.to_thread(self.sessions.mark_run, session.id, run_id, revision)
            live = _LiveOutputs(self, run_id, nb, session)
            if backtest is not None and backtest.models:
                pinned = await self.sessions.execute(principal, session.id, backtest.pins(), None)
                if pinned.status != "ok":
                    raise RuntimeError(f"cannot pin the models: {pinned.ename}: {pinned.evalue}")
            for done, index in enumerate(code_cells, start=1):
                cell = nb["cells"][index]
                if verdicts.skipped(cell):
                    await asyncio.to_thread(self._progress, run_id, done, json.dumps(nb))
                    continue
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    await asyncio.to_thread(
                        self._finish, run_id, TIMED_OUT, _timeout_error(timeout_s, index), nb
                    )
                    return False
                live.follow(index)
                reply = await self.sessions.execute(principal, session.id, _source(cell), remaining)
                live.follow(None)
                cell["outputs"], cell["execution_count"] = reply.outputs, reply.execution_count
                if not await live.saved(functools.partial(self._progress, run_id, done)):
                    return False  # cancelled through another frontend
                if reply.status == "ok":
                    continue
                if verdicts.clean_exit(reply.ename, reply.evalue):
                    break  # sys.exit(): the cells after it do not run
                if reply.ename == "TimeoutError" and deadline is not None:
                    await asyncio.to_thread(
                        self._finish, run_id, TIMED_OUT, _timeout_error(timeout_s, index), nb
                    )
                elif reply.ename in _RETRYABLE and await asyncio.to_thread(self._retry, run_id):
                    return True
                elif verdicts.may_raise(cell) and reply.ename not in (*_RETRYABLE, "TimeoutError"):
                    continue
                else:
                    error = {"ename": reply.ename, "evalue": reply.evalue, "cell": index}
                    await asyncio.to_thread(self._finish, run_id, FAILED, error, nb)
                return False
            failed = verdicts.failure(nb)  # a raises-exception cell's error still fails the run
            await asyncio.to_thread(
                self._finish, run_id, FAILED if failed else SUCCEEDED, failed, nb
            )
            return False
        except (SessionNotFound, ExecutionNodeError) as exc:
            if await asyncio.to_thread(self._retry, run_id):
                return True
            lost = {"ename": "ExecutionNodeLost", "evalue": str(exc), "cell": None}
            await asyncio.to_thread(self._finish, run_id, FAILED, lost, nb)
            return False
        finally:
            if live is not None:
                await live.close()

    def _load(self, run_id: str) -> Run:
        with self.db.session() as s:
            row = s.get(Run, run_id)
            assert row is not None
            return row

    def _started(self, run_id: str, cells: int, nb: dict[str, Any]) -> None:
        with self.db.session() as s:
            s.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    status=RUNNING,
                    started_at=utcnow(),
                    cells_total=cells,
                    cells_done=0,
                    result=json.dumps(nb),
                )
            )

    def _retry(self, run_id: str) -> bool:
        """Count another attempt if this was the first; tell whether to try again."""
        with self.db.session() as s:
            row = s.get(Run, run_id)
            if row is None or row.attempt >= 2:
                return False
            row.attempt += 1
            return True

    def _progress(self, run_id: str, done: int, result: str) -> bool:
        """Record the cells done; tell whether the run is still running (not cancelled)."""
        with self.db.session() as s:
            changed = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RUNNING)
                .values(cells_done=done, result=result)
            )
            return bool(cast("CursorResult[Any]", changed).rowcount)

    def _partial(self, run_id: str, result: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(Run).where(Run.id == run_id, Run.status == RUNNING).values(result=result)
            )

    def _finish(
        self,
        run_id: str,
        status: str,
        error: dict[str, Any] | None,
        nb: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "finished_at": utcnow(),
            "error": json.dumps(error) if error else None,
        }
        if nb is not None:
            values["result"] = json.dumps(nb)
        with self.db.session() as s:
            s.execute(
                update(Run).where(Run.id == run_id, Run.status.not_in(FINISHED)).values(**values)
            )

    @staticmethod
    def _row(s: Any, tenant_id: int, run_id: str) -> Run:
        row = s.scalar(select(Run).where(Run.tenant_id == tenant_id, Run.id == run_id))
        if row is None:
            raise RunNotFound(run_id)
        return row


def _public(info: RunInfo) -> dict[str, Any]:
    """Return the run's record as the API shows it."""
    data = dataclasses.asdict(info)
    data["duration_s"] = info.duration_s
    return data


def _timeout_error(timeout_s: float | None, cell: int) -> dict[str, Any]:
    return {
        "ename": "TimeoutError",
        "evalue": f"the run took longer than timeout_s={timeout_s:g}",
        "cell": cell,
    }


class _LiveOutputs:
    """Keep a run's executed notebook current while a cell runs, not only after it.

    Outputs the kernel sends for the running cell are added to the notebook as they come and
    saved at most once a second, so ``GET /runs/{id}/notebook`` (and the UI) shows a long cell's
    progress, and a run cancelled mid-cell keeps what it printed. The cell's reply then replaces
    them with the kernel's final list. Saves go one at a time, serialized in the event loop, so
    an older state never overwrites a newer one.
    """

    def __init__(self, service: RunService, run_id: str, nb: dict[str, Any], session: Any) -> None:
        self.service, self.run_id, self.nb = service, run_id, nb
        self.current: int | None = None
        self._cell = CellOutputs()
        self._dirty = False
        self._lock = asyncio.Lock()
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        self._session = session
        session.listeners.add(self._events)
        self._task = asyncio.create_task(self._follow())

    def follow(self, index: int | None) -> None:
        """Merge the outputs that come next into this cell (None: into no cell)."""
        self.current = index
        self._cell = CellOutputs()

    async def saved(self, write: Callable[[str], T]) -> T:
        """Save the notebook as it is now with ``write`` (in a thread); return what it does."""
        async with self._lock:
            text = json.dumps(self.nb)
            return await asyncio.to_thread(write, text)

    async def _follow(self) -> None:
        dirty, last = False, 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                event = await asyncio.wait_for(
                    self._events.get(), PARTIAL_SAVE_S if dirty else None
                )
            except TimeoutError:
                event = None
            if event is not None and event.get("type") == "output" and self.current is not None:
                self._cell.add(event["output"])
                self.nb["cells"][self.current]["outputs"] = self._cell.outputs
                dirty = True
            if dirty and loop.time() - last >= PARTIAL_SAVE_S:
                dirty, last = False, loop.time()
                await self.saved(functools.partial(self.service._partial, self.run_id))

    async def close(self) -> None:
        self._session.listeners.discard(self._events)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
