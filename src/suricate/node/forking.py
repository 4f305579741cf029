"""Forked kernels: a template per tenant (or user) in its sandbox, and kernels forked from it.

A ``Template`` is one sandboxed process (the same bubblewrap sandbox, seccomp filter and uid as a
kernel's; ``template.py`` is what runs inside) with the data-science stack imported. A kernel is
forked from it in milliseconds and shares its pages until it writes them. The node:

1. makes the kernel's runtime dir under the template's dir (a tmpfs of its own when the node can
   mount; the template's dir is a shared mount, so the new mount appears inside the sandbox) and
   the kernel's own cgroup(s);
2. asks the template, over its Unix socket, to fork (``ForkProvisioner``, a jupyter_client
   kernel provisioner, so the rest of jupyter_client drives the kernel as any other);
3. reads the child's pid (translated to the host's PID namespace) from the socket's credentials,
   moves it into the kernel's cgroup(s), and only then lets it go on;
4. signals it by pidfd; learns its exit status from the template, which reaps it.

Kernels of one template share its sandbox: its PID, mount and network namespaces and its
``/tmp``. A template is therefore per tenant, and per user for interactive sessions (which are
private to their user); each kernel still has its own cgroups (memory, pids, CPU), runtime dir
(scratch tmpfs, ``HOME``, ``TMPDIR``), address-space limit, SDK token and connection keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suricate.node import cgroups, sandbox, seccomp
from suricate.node.template import GO, READY

if TYPE_CHECKING:
    from suricate.node.kernels import Kernel, KernelConfig

log = logging.getLogger(__name__)

MS_SHARED = 1 << 20
TEMPLATE_START_TIMEOUT = 120.0
FORK_TIMEOUT = 30.0


class ForkedProcess:
    """A Popen-like handle on a kernel forked by a template (not a child of the node)."""

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.stdin = self.stdout = self.stderr = None
        self.returncode: int | None = None
        self._conn = conn
        self._done = threading.Event()
        threading.Thread(target=self._watch, name=f"forked-{pid}", daemon=True).start()

    def _watch(self) -> None:
        """Wait for the template's report of the exit status (or its end: killed with it)."""
        data = b""
        try:
            while b"\n" not in data and len(data) < 4096:
                chunk = self._conn.recv(256)
                if not chunk:
                    break
                data += chunk
            self.returncode = int(json.loads(data)["exit"])
        except (OSError, ValueError, KeyError, TypeError):
            self.returncode = -signal.SIGKILL
        finally:
            self._done.set()

    def _gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.pidfd], [], [], 0)
        except (OSError, ValueError):
            return True  # closed: done with
        return bool(readable)

    def poll(self) -> int | None:
        if self._done.is_set():
            return self.returncode
        if self._gone():
            # Exited; the template's report follows at once.
            self._done.wait(1.0)
            return self.returncode if self.returncode is not None else -signal.SIGKILL
        return None

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired("forked kernel", timeout or 0)
        return self.returncode if self.returncode is not None else -signal.SIGKILL

    def send_signal(self, signum: int) -> None:
        if self._done.is_set():
            return
        signal.pidfd_send_signal(self.pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.shutdown(socket.SHUT_RDWR)
        self._conn.close()
        with contextlib.suppress(OSError):
            os.close(self.pidfd)


def fork_kernel(
    socket_path: Path,
    request: dict[str, Any],
    place: Callable[[int], None],
) -> ForkedProcess:
    """Ask a template for a kernel; ``place(pid)`` puts it in its cgroups before it runs."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        # The child's pid comes with its first byte, translated to our PID namespace.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        conn.settimeout(FORK_TIMEOUT)
        conn.connect(str(socket_path))
        conn.sendall(json.dumps(request).encode() + b"\n")
        size = struct.calcsize("3i")
        data, ancillary, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(size))
        pid = 0
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:size])[0]
        if data != b"p" or pid <= 0:
            raise OSError("the kernel template did not fork a kernel")
        try:
            place(pid)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            raise
        conn.sendall(GO)
        ready = conn.recv(1)
        if ready != READY:  # the template's report of the child's end instead
            raise OSError(f"the forked kernel exited at start: {(ready + conn.recv(256))!r}")
        conn.settimeout(None)
        return ForkedProcess(pid, conn)
    except BaseException:
        conn.close()
        raise


def provisioner_class() -> Any:
    """Return the jupyter_client provisioner that forks kernels from a template."""
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        """Launch = ask the template to fork; the rest (poll, signals, kill) is by pid."""

        process: Any = None
        request: dict[str, Any] | None = None  # set on each instance before launch
        socket_path: Path | None = None
        place: Callable[[int], None] = staticmethod(lambda pid: None)

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            assert self.socket_path is not None and self.request is not None
            self.process = await asyncio.to_thread(
                fork_kernel, self.socket_path, self.request, self.place
            )
            self.pid = self.process.pid
            self.pgid = None  # signals go to the kernel alone: its children are its business
            return self.connection_info

        async def cleanup(self, restart: bool = False) -> None:
            process = self.process
            if isinstance(process, ForkedProcess):
                process.close()
            await super().cleanup(restart)

        async def wait(self) -> int | None:
            process = self.process
            if process is None:
                return 0
            while process.poll() is None:
                await asyncio.sleep(0.05)
            self.process = None
            if isinstance(process, ForkedProcess):
                process.close()
            return process.returncode

    return ForkProvisioner


async def launch(kernel: Kernel, env: dict[str, str], setup: str) -> Any:
    """Fork ``kernel`` from its template; return its (started) jupyter_client manager.

    ``setup``: code the child runs in its user namespace before it says it is ready.
    """
    from jupyter_client.kernelspec import KernelSpec

    template = kernel.template
    assert template is not None
    plan = kernel.config.plan
    runtime = kernel.runtime_dir
    km = sandbox.manager_class()(
        context=kernel.config.zmq_context(),
        transport="ipc",
        ip=str(runtime / "k"),
        connection_file=str(runtime / "connection.json"),
    )
    km.owner = (plan.uid, plan.gid) if plan.drop else None
    km._kernel_spec = KernelSpec(
        argv=["forked", "{connection_file}"],
        display_name="Python 3",
        language="python",
        interrupt_mode="message",
    )
    provisioner = provisioner_class()(kernel_id=kernel.id, kernel_spec=km._kernel_spec, parent=km)
    provisioner.socket_path = template.socket_path
    provisioner.place = template.place(kernel.cgroup, kernel.placed)
    provisioner.request = {
        "connection_file": str(runtime / "connection.json"),
        "runtime_dir": str(runtime),
        "env": env,
        "address_space_mb": sandbox.address_space_mb(kernel.limits, not kernel.cgroup.available),
        "threads": kernel.limits.threads,
        "setup": setup,
    }
    km.provisioner = provisioner
    await km.start_kernel(env=env)
    return km


def template_key(tenant: str, user: str) -> str:
    """Name a template: per user where given (private sessions), else per tenant."""
    return hashlib.sha256(f"{tenant}\0{user}".encode()).hexdigest()[:12]


class Template:
    """One tenant's (or user's) template process, in its sandbox and cgroup(s)."""

    def __init__(self, config: KernelConfig, base_dir: Path, tenant: str, user: str) -> None:
        self.config = config
        self.tenant = tenant
        self.user = user
        key = template_key(tenant, user)
        self.dir = base_dir / f"t{key}"
        self.socket_path = self.dir / "ctl.sock"
        self.sdk_socket = self.dir / "api.sock"
        limits = config.limits
        tag = base_dir.name.removeprefix(sandbox.BASE_PREFIX)
        self.cgroup = cgroups.KernelCgroup(
            f"k-{tag}-t{key}",
            cgroups.Resources(
                memory_bytes=limits.memory_mb * sandbox.MiB,
                pids_max=limits.pids,
                cpu_cores=limits.cpus,
            ),
            layout=config.plan.cgroups,
        )
        self.process: asyncio.subprocess.Process | None = None
        self.kernels = 0  # forked kernels that have not shut down
        self._stopping = False

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None and not self._stopping

    async def start(self) -> None:
        """Start the template and wait until it has the stack imported and listens."""
        plan = self.config.plan
        fd: int | None = None
        try:
            await asyncio.to_thread(self._make_room)
            fd = seccomp.memfd(plan.seccomp) if plan.seccomp else None
            binds = {}
            if self.config.sdk_socket is not None and plan.sandboxed:
                binds[self.config.sdk_socket] = self.sdk_socket
            argv = sandbox.kernel_command(
                plan,
                self.dir,
                self.config.limits,
                self.config.network,
                self.config.hidden,
                binds,
                fd,
                rlimit_as=not self.cgroup.available,
                launcher=[sys.executable, "-m", "suricate.node.template", str(self.socket_path)],
            )
            if self.cgroup.available:
                argv = self.cgroup.wrap(argv)
            env = sandbox.kernel_env(self.dir, self.config.limits)
            # Imports only: no thread pool is started in the template (see template.py), and
            # pyarrow's bundled jemalloc starts no background thread (its allocations go to
            # malloc): the template has its main thread alone when it forks.
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = "1"
            env["JE_ARROW_MALLOC_CONF"] = "background_thread:false"
            env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
            with (self.dir / "template.log").open("ab") as log_file:
                self.process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=log_file,
                    env=env,
                    pass_fds=(fd,) if fd is not None else (),
                    start_new_session=True,
                )
            if fd is not None:
                os.close(fd)
                fd = None
            assert self.process.stdout is not None
            line = await asyncio.wait_for(self.process.stdout.readline(), TEMPLATE_START_TIMEOUT)
            if line.strip() != b"ready":
                tail = await asyncio.to_thread(self.log_tail)
                raise OSError(f"the kernel template did not start: {tail}")
        except BaseException:
            if fd is not None:
                os.close(fd)
            await self.stop()
            raise

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "template.log").read_text(errors="replace")[-2000:]
        return ""

    def _make_room(self) -> None:
        plan = self.config.plan
        self.dir.mkdir()
        if plan.mount_scratch:
            # The template's /tmp; and a shared mount, so that each kernel's own tmpfs, mounted
            # below it later, shows inside the sandbox too.
            sandbox.mount_tmpfs(self.dir, self.config.limits.scratch_mb, plan.uid, plan.gid)
            _make_shared(self.dir)
            self.dir.chmod(0o711)
        else:
            self.dir.chmod(0o700 if not plan.drop else 0o711)
            if plan.drop:
                os.chown(self.dir, plan.uid, plan.gid)
        tmp = self.dir / "tmp"
        tmp.mkdir(mode=0o700)
        if plan.drop:
            os.chown(tmp, plan.uid, plan.gid)
        if self.cgroup.available:
            self.cgroup.create()

    def place(self, cgroup: cgroups.KernelCgroup, placed: threading.Event) -> Callable[[int], None]:
        """Return what moves a freshly forked kernel into its own cgroup(s) (then sets
        ``placed``).

        Memory already charged (the pages shared with the template) stays charged to the
        template's group, on cgroup v1 as on v2; what the kernel touches from then on (its
        copies of shared pages, its own allocations) is charged to its own group.
        """

        def move(pid: int) -> None:
            try:
                if cgroup.available:
                    cgroup.add_pid(pid)
            finally:
                placed.set()

        return move

    def prime(self, placed: threading.Event) -> None:
        """Move the template into its own cgroup(s), where it is already, until ``placed`` is
        set (0.2 s at most): no-ops that make the kernel's own move quick.

        Moving a process between cgroups takes a lock that first waits for an RCU grace period
        (5-18 ms measured here) unless another move happened within about one grace period
        before. The first of these pays that wait while the kernel's runtime dir is made and
        the template forks; the next ones (every 2 ms, each ~0.1 ms) keep the lock ready
        whatever the grace period's length, until the kernel is placed.
        """
        deadline = time.monotonic() + 0.2
        while not placed.is_set() and time.monotonic() < deadline:
            process = self.process
            if process is None or process.returncode is not None or not self.cgroup.available:
                return
            try:
                self.cgroup.add_pid(process.pid)
            except OSError:
                return
            placed.wait(0.002)

    async def stop(self) -> None:
        """Stop the template (and, with its PID namespace, any kernel still forked from it)."""
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 10)
        await asyncio.to_thread(self._clear)

    def _clear(self) -> None:
        if self.cgroup.available:
            try:
                self.cgroup.remove()
            except OSError as exc:
                log.warning("cannot remove the cgroup of a kernel template: %s", exc)
        for point in sandbox.mounts_under(self.dir):
            sandbox.unmount(point)
        shutil.rmtree(self.dir, ignore_errors=True)


_libc = ctypes.CDLL(None, use_errno=True)


def _make_shared(path: Path) -> None:
    if _libc.mount(None, str(path).encode(), None, MS_SHARED, None):
        number = ctypes.get_errno()
        raise OSError(number, f"make {path} a shared mount: {os.strerror(number)}")
