"""Jupyter kernels on an execution node: start (sandboxed), execute, interrupt, restart, pool.

A ``Kernel`` is one ipykernel process driven with jupyter_client over ipc sockets in its own
runtime dir: started in its own sandbox, or forked from a template (``forking.py``). The pool that
hands kernels out is in ``pool.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from suricate.errors import KernelDied
from suricate.kernel.handler import CHUNK_MIME
from suricate.node import cgroups, forking, sandbox, seccomp
from suricate.node.sandbox import Limits, Plan
from suricate.wire.outputs import CellOutputs, pager_outputs

log = logging.getLogger(__name__)

OutputHook = Callable[[dict[str, Any]], Awaitable[None]]
# Imported in every warm kernel: what nearly every notebook imports first.
PRELOAD = "import numpy, pandas, sklearn, matplotlib, matplotlib.pyplot"
# CPU use (cores) above which a kernel with no cell running is busy, not idle.
BUSY_CORES = 0.05
# How long a cell's wait for the kernel's next message lasts before it looks whether the kernel
# still lives (or broke its memory limit).
WAIT_S = 0.2
# The fields of each kind of output, as nbformat's ``output_from_msg`` takes them from a message.
_OUTPUT_FIELDS = {
    "execute_result": ("metadata", "data", "execution_count"),
    "display_data": ("metadata", "data"),
    "stream": ("name", "text"),
    "error": ("ename", "evalue", "traceback"),
}
_OUTPUT_EVENTS = {*_OUTPUT_FIELDS, "clear_output", "update_display_data"}


@dataclass
class KernelConfig:
    """How kernels are started on this node."""

    limits: Limits
    plan: Plan = field(default_factory=lambda: Plan(mode="none", uid=os.getuid(), gid=os.getgid()))
    network: str = "none"
    hidden: list[Path] = field(default_factory=list)
    sdk_socket: Path | None = None
    exec_timeout: float = 3600.0
    dask_scheduler: str | None = None
    fork: bool = False  # kernels forked from a template per tenant/user (SURICATE_KERNEL_FORK)
    _context: Any = None

    def zmq_context(self) -> Any:
        """Return the one zmq context of this node's kernels (each context holds file handles)."""
        if self._context is None:
            import zmq.asyncio

            self._context = zmq.asyncio.Context()
        return self._context

    def close(self) -> None:
        if self._context is not None:
            self._context.destroy(linger=0)
            self._context = None


@dataclass
class ExecResult:
    status: str  # "ok" | "error"
    outputs: list[dict[str, Any]]
    execution_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    traceback: list[str] = field(default_factory=list)


class Kernel:
    """One sandboxed ipykernel process and the client that drives it."""

    def __init__(
        self,
        config: KernelConfig,
        base_dir: Path,
        tenant: str = "",
        limits: Limits | None = None,
        template: forking.Template | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.config = config
        self.tenant = tenant
        self.limits = limits or config.limits
        self.template = template
        self.runtime_dir = (template.dir if template is not None else base_dir) / self.id
        self.last_activity = time.monotonic()
        self.busy = False
        self._lock = asyncio.Lock()
        self._km: Any = None
        self._kc: Any = None
        self.on_shutdown: Callable[[Kernel], None] | None = None
        # Set in its environment at start (a session's SDK token, known when it is not warm).
        self.extra_env: dict[str, str] = {}
        self._stopping: asyncio.Future[None] | None = None
        self.placed = threading.Event()  # forked: in its own cgroup(s) (``Template.prime``)
        plan = config.plan
        # Named after the base dir too, so that a node finds what a dead one left.
        tag = base_dir.name.removeprefix(sandbox.BASE_PREFIX)
        self.cgroup = cgroups.KernelCgroup(
            f"k-{tag}-{self.id}",
            cgroups.Resources(
                memory_bytes=self.limits.memory_mb * sandbox.MiB,
                pids_max=self.limits.pids,
                cpu_cores=self.limits.cpus,
            ),
            layout=plan.cgroups,
            oom_group=True,
        )
        self._oom_kills = 0
        # CPU time of the whole tree, sampled: (monotonic time, seconds used), and when the
        # tree last used CPU while no cell ran.
        self._cpu_sample: tuple[float, float] | None = None
        self.cpu_rate = 0.0
        self.busy_after_cell = False

    async def start(self, preload: bool = True) -> None:
        """Start the process and wait until it answers (and has the usual imports loaded)."""
        from jupyter_client.kernelspec import KernelSpec

        plan = self.config.plan
        binds = {}
        env = sandbox.kernel_env(self.runtime_dir, self.limits) | self.extra_env
        if self.config.dask_scheduler:
            # One scheduler for all, or one per tenant: tcp://dask-{tenant}:8786.
            env["SURICATE_DASK_SCHEDULER"] = self.config.dask_scheduler.replace(
                "{tenant}", self.tenant
            )
        if self.config.sdk_socket is not None:
            inner = self.runtime_dir / "api.sock"
            binds[self.config.sdk_socket] = inner
            env["SURICATE_SDK_SOCKET"] = str(inner)
            if not plan.sandboxed:
                env["SURICATE_SDK_SOCKET"] = str(self.config.sdk_socket)
        fd: int | None = None
        self._km = None
        try:
            await asyncio.to_thread(self._make_room)
            if self.template is not None:
                await self._fork(env)
                return
            fd = seccomp.memfd(plan.seccomp) if plan.seccomp else None
            argv = sandbox.kernel_command(
                plan,
                self.runtime_dir,
                self.limits,
                self.config.network,
                self.config.hidden,
                binds,
                fd,
                rlimit_as=not self.cgroup.available,
            )
            if self.cgroup.available:
                argv = self.cgroup.wrap(argv)
            km = sandbox.manager_class()(
                context=self.config.zmq_context(),
                transport="ipc",
                ip=str(self.runtime_dir / "k"),
                connection_file=str(self.runtime_dir / "connection.json"),
            )
            km.owner = (plan.uid, plan.gid) if plan.drop else None
            # bubblewrap does not pass signals on, so interrupts go as control-channel messages.
            km._kernel_spec = KernelSpec(
                argv=argv, display_name="Python 3", language="python", interrupt_mode="message"
            )
            self._km = km
            # The kernel's own stdout/stderr (crash messages) go to a log in its runtime dir.
            # Only the kernel holds it open: a file left open here would keep the tmpfs busy.
            with (self.runtime_dir / "kernel.log").open("ab") as log_file:
                await km.start_kernel(
                    env=env,
                    stdout=log_file,
                    stderr=log_file,
                    pass_fds=(fd,) if fd is not None else (),
                )
            if fd is not None:
                os.close(fd)
                fd = None
            setup = sandbox.setup_code(self.limits)
            await self._ready([setup, PRELOAD] if preload else [setup])
        except BaseException:
            # Cancelled too (a pool closing mid-start): never leave a process or socket behind.
            if fd is not None:
                os.close(fd)
            await self.shutdown()
            raise

    async def _fork(self, env: dict[str, str]) -> None:
        """Start by asking the template to fork (the stack is imported already)."""
        assert self.template is not None
        if self.config.sdk_socket is not None and self.config.plan.sandboxed:
            env["SURICATE_SDK_SOCKET"] = str(self.template.sdk_socket)
        env["TMPDIR"] = str(self.runtime_dir / "tmp")
        # The limits' messages, and the stack's names as a warm kernel has them: run by the
        # child itself before it says it is ready (no round trip).
        setup = sandbox.setup_code(self.limits) + "\n" + PRELOAD
        self._km = await forking.launch(self, env, setup)
        await self._ready([])

    async def _ready(self, cells: list[str]) -> None:
        self._kc = kc = self._km.client()
        kc.start_channels()
        await self._wait_ready(60.0)
        for code in cells:
            await self.run_silently(code)
        self.last_activity = time.monotonic()

    async def _wait_ready(self, timeout: float) -> None:
        """Wait until the kernel answers on shell and its iopub reaches us.

        jupyter_client's ``wait_for_ready`` does the same and then drains iopub until it has
        been quiet for 0.2 s: a fixed 200 ms on every start. Stray iopub messages are harmless
        here (``_execute`` keeps only those of its own request).
        """
        kc = self._kc
        deadline = time.monotonic() + timeout
        asked = {kc.kernel_info()}
        while time.monotonic() < deadline:
            try:
                reply = await kc.get_shell_msg(timeout=1)
            except queue.Empty:
                if not await self.alive():
                    raise RuntimeError("the kernel died before it answered") from None
                continue
            if reply["parent_header"].get("msg_id") not in asked:
                continue
            # The kernel's status messages for a request prove that iopub is connected (those
            # sent before it was are lost: then ask again).
            with contextlib.suppress(queue.Empty):
                while True:
                    msg = await kc.get_iopub_msg(timeout=0.2)
                    if msg["parent_header"].get("msg_id") in asked:
                        return
            asked.add(kc.kernel_info())
        raise RuntimeError(f"the kernel did not answer within {timeout:g} s")

    def _make_room(self) -> None:
        """Make the runtime dir (a size-limited tmpfs when allowed) and the cgroup."""
        plan = self.config.plan
        if self.cgroup.available:
            self.cgroup.create()
            if self.template is not None:
                # Paid while the rest is made and the template forks (``Template.prime``).
                prime = functools.partial(self.template.prime, self.placed)
                threading.Thread(target=prime, name="cgroup-prime", daemon=True).start()
        self.runtime_dir.mkdir()
        if plan.mount_scratch:
            sandbox.mount_tmpfs(self.runtime_dir, self.limits.scratch_mb, plan.uid, plan.gid)
        else:
            self.runtime_dir.chmod(0o700)  # its connection file's keys are the kernel's alone
            if plan.drop:
                os.chown(self.runtime_dir, plan.uid, plan.gid)
        if plan.mount_scratch or self.template is not None:
            tmp = self.runtime_dir / "tmp"  # its /tmp, or (forked) its TMPDIR
            tmp.mkdir(mode=0o700)
            if plan.drop:
                os.chown(tmp, plan.uid, plan.gid)

    def hand_over(self, name: str, data: bytes) -> Path:
        """Write a file for the kernel into its runtime dir, owned by its uid; return its path.

        The dir is the kernel's: whatever it left under that name (a symlink to a file of the
        node's, a FIFO) is removed first, and the file is created anew, never followed.
        """
        path = self.runtime_dir / name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        for _ in range(3):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            try:
                fd = os.open(path, flags, 0o600)
                break
            except FileExistsError:
                continue  # the kernel made it again meanwhile
        else:
            raise OSError(f"cannot create {path}: the kernel keeps making it")
        try:
            plan = self.config.plan
            if plan.drop:
                os.fchown(fd, plan.uid, plan.gid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return path

    async def alive(self) -> bool:
        return self._km is not None and bool(await self._km.is_alive())

    def exit_code(self) -> int | None:
        provisioner = getattr(self._km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return process.poll() if process is not None else None

    def _new_oom_kills(self) -> bool:
        """Tell whether the memory limit killed a process of the tree since the last look."""
        if not self.cgroup.available:
            return False
        kills = self.cgroup.oom_kills()
        new, self._oom_kills = kills > self._oom_kills, kills
        return new

    def died(self) -> KernelDied:
        """Say why the kernel is gone (or must go): its memory limit, or how it exited."""
        if self.cgroup.available:
            stats = self.cgroup.stats()
            if (stats.get("oom_kill") or 0) > 0:
                peak = stats.get("memsw_peak") or stats.get("memory_peak")
                return KernelDied(
                    self.exit_code(),
                    memory_limit_mb=self.limits.memory_mb,
                    memory_peak_mb=None if peak is None else round(peak / sandbox.MiB),
                )
        return KernelDied(self.exit_code())

    async def _check_memory(self) -> None:
        """Past the memory limit anywhere in the tree, the kernel goes (a cgroup v1 OOM kill
        takes only the largest process, which may be a child; v2 kills the group)."""
        if self._new_oom_kills():
            await asyncio.to_thread(self.cgroup.kill, 5.0)
            raise self.died()

    def cpu_seconds(self) -> float | None:
        """Return the CPU time the whole tree used so far, or None without a cgroup."""
        if not self.cgroup.available:
            return None
        used = self.cgroup.cpu_usage_ns()
        return None if used is None else used / 1e9

    def memory_bytes(self) -> int | None:
        """Resident memory of the whole tree now (its cgroup's charge), or None without one."""
        if not self.cgroup.available:
            return None
        return self.cgroup.stats().get("memory_current")

    def sample_cpu(self) -> float:
        """Update and return the tree's CPU use (cores) since the previous sample."""
        used = self.cpu_seconds()
        if used is None:
            return 0.0
        now = time.monotonic()
        if self._cpu_sample is not None and now > self._cpu_sample[0]:
            then, before = self._cpu_sample
            self.cpu_rate = max(0.0, (used - before) / (now - then))
        self._cpu_sample = (now, used)
        self.busy_after_cell = not self.busy and self.cpu_rate >= BUSY_CORES
        if self.cpu_rate >= BUSY_CORES:
            self.last_activity = now
        return self.cpu_rate

    async def run_silently(self, code: str, timeout: float = 120.0) -> None:
        """Run setup code without output or history; raise if it fails."""
        result = await self.execute(code, silent=True, timeout=timeout)
        if result.status != "ok":
            raise RuntimeError(f"kernel setup failed: {result.ename}: {result.evalue}")

    async def execute(
        self,
        code: str,
        on_output: OutputHook | None = None,
        timeout: float | None = None,
        silent: bool = False,
        store_history: bool | None = None,
    ) -> ExecResult:
        """Run ``code``; stream each output to ``on_output``; interrupt it past ``timeout``.

        ``store_history`` defaults to ``not silent``; code run many times (a processor's chunks)
        passes False so that IPython keeps no input or output history of it.
        """
        history = not silent if store_history is None else store_history
        async with self._lock:
            self.busy = True
            try:
                await self._check_memory()  # killed between cells: say so now
                result = await self._execute(code, on_output, timeout, silent, history)
                await self._check_memory()  # a child killed, the cell went on: the kernel goes
                return result
            finally:
                self.busy = False
                self.last_activity = time.monotonic()

    async def _execute(
        self,
        code: str,
        on_output: OutputHook | None,
        timeout: float | None,
        silent: bool,
        store_history: bool,
    ) -> ExecResult:
        kc = self._kc
        timeout = timeout or self.config.exec_timeout
        msg_id = kc.execute(code, silent=silent, store_history=store_history, allow_stdin=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        cell = CellOutputs()
        idle = False
        timed_out = False
        while not idle:
            if not timed_out and loop.time() > deadline:
                timed_out = True
                await self.interrupt()
                deadline = loop.time() + 10  # the interrupt gets ten seconds to land
            elif timed_out and loop.time() > deadline:
                raise self.died()
            try:
                msg = await _receive(kc.iopub_channel)
            except queue.Empty:
                if not await self.alive():
                    raise self.died() from None
                await self._check_memory()
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif kind in _OUTPUT_EVENTS:
                event = _event(msg)
                cell.add(event)
                if on_output:
                    await on_output(event)
        reply = await self._reply(msg_id)
        content = reply.get("content", {}) if reply else {}
        for event in pager_outputs(content):
            output_check()(event)  # as every output from the kernel
            cell.add(event)
            if on_output:
                await on_output(event)
        result = ExecResult(
            status="ok" if content.get("status", "ok") == "ok" else "error",
            outputs=cell.outputs,
            execution_count=content.get("execution_count"),
        )
        if result.status == "error":
            result.ename = content.get("ename", "Error")
            result.evalue = content.get("evalue", "")
            result.traceback = content.get("traceback", [])
        if timed_out:
            result.status, result.ename = "error", "TimeoutError"
            result.evalue = f"the cell ran longer than {timeout:g} s and was interrupted"
        return result

    @contextlib.asynccontextmanager
    async def claimed(self) -> AsyncIterator[Any]:
        """Hold the kernel, as a cell does, for one exchange of raw messages; yield its client."""
        async with self._lock:
            self.busy = True
            try:
                await self._check_memory()  # past its memory limit, the kernel goes, as in a cell
                yield self._kc
                await self._check_memory()
            finally:
                self.busy = False
                self.last_activity = time.monotonic()

    async def _reply(self, msg_id: str) -> dict[str, Any] | None:
        for _ in range(50):
            try:
                msg = await _receive(self._kc.shell_channel)
            except queue.Empty:
                if not await self.alive():
                    raise self.died() from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    async def interrupt(self) -> None:
        """Interrupt the running cell (SIGINT to the kernel)."""
        if self._km is not None:
            await self._km.interrupt_kernel()

    async def shutdown(self) -> None:
        """Stop the process at once and remove its runtime dir.

        The work runs as a task of its own: a caller cancelled meanwhile does not cut it short,
        and every caller awaits the same one.
        """
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._stopping)

    async def _shutdown(self) -> None:
        try:
            await self._stop_process()
        finally:
            if self.on_shutdown is not None:
                self.on_shutdown(self)

    async def _stop_process(self) -> None:
        kc, km = self._kc, self._km
        self._kc = self._km = None
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            # An immediate shutdown: the graceful one sometimes stalls for seconds.
            with contextlib.suppress(Exception):
                await km.shutdown_kernel(now=True)
            if process is not None and process.poll() is None:
                # A start cut short can leave jupyter_client unaware of its process.
                process.kill()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(process.wait, 10)
        await asyncio.to_thread(self._clear)

    def _clear(self) -> None:
        """Kill what is left in the cgroup (daemons that left the session), remove it, unmount
        and remove the runtime dir."""
        if self.cgroup.available:
            try:
                self.cgroup.remove()
            except OSError as exc:
                log.warning("cannot remove the cgroup of kernel %s: %s", self.id, exc)
        sandbox.unmount(self.runtime_dir)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


async def _receive(channel: Any) -> dict[str, Any]:
    """The channel's next message, as its ``get_msg(WAIT_S)`` gives it (``queue.Empty`` when
    none came). ``get_msg`` polls the socket before every receive, a tenth of the node's CPU for
    a cell; a receive is done at once when a message waits, and waited for only otherwise."""
    received = channel.socket.recv_multipart()
    if not received.done():
        try:
            await asyncio.wait([received], timeout=WAIT_S)
        finally:
            if not received.done():
                received.cancel()  # pyzmq leaves the next message to the next receive
        if received.cancelled():
            raise queue.Empty
    _, parts = channel.session.feed_identities(received.result())
    msg: dict[str, Any] = channel.session.deserialize(parts)
    return msg


def _event(msg: dict[str, Any]) -> dict[str, Any]:
    """An iopub message as an output event (see ``suricate.wire.outputs``)."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "clear_output":
        return {"output_type": "clear_output", "wait": bool(content.get("wait"))}
    transient = content.get("transient") or {}
    if kind == "update_display_data":
        return {
            "output_type": kind,
            "data": content.get("data", {}),
            "metadata": content.get("metadata", {}),
            "transient": transient,
        }
    if kind == "display_data" and CHUNK_MIME in content.get("data", {}):
        # A processor's chunk outcome, from the node's own runtime, many a second and big with
        # actions: a copy and schema check of it cost more than the handlers.
        return {"output_type": kind, "data": content["data"], "metadata": content["metadata"]}
    event = {"output_type": kind, **{name: content[name] for name in _OUTPUT_FIELDS[kind]}}
    output_check()(event)
    if transient.get("display_id") and kind in ("display_data", "execute_result"):
        event["transient"] = {"display_id": transient["display_id"]}
    return event


@functools.cache
def output_check() -> Callable[[Any], Any]:
    """Check an output against nbformat's schema, as ``output_from_msg`` does, compiled once
    (nbformat interprets the schema with jsonschema for each output: 0.1 ms each). The node
    makes it as it starts: reading the schema imports nbformat (~0.7 s), which a forked
    kernel's first cell would wait for."""
    import fastjsonschema

    schema = json.loads((files("nbformat.v4") / "nbformat.v4.schema.json").read_text())
    output = {
        "$schema": schema["$schema"],
        "definitions": schema["definitions"],
        "$ref": "#/definitions/output",
    }
    check: Callable[[Any], Any] = fastjsonschema.compile(output, use_default=False)
    return check
