"""How a kernel process is confined: what the machine allows, the command line, the launcher.

With bubblewrap (``SURICATE_KERNEL_SANDBOX=bwrap``, or ``auto`` when it is installed), a kernel:

* runs as an unprivileged uid/gid in its own user namespace, whatever uid the node has: a node
  running as root first drops to ``SURICATE_KERNEL_UID`` with ``setpriv`` (bubblewrap run by root
  would map the sandbox's uid to host uid 0), then bubblewrap makes the namespaces
  (``--unshare-all --unshare-user --disable-userns``), drops every capability
  (``--cap-drop ALL``), sets no_new_privs and installs the seccomp filter (``seccomp.py``);
* sees the system (``/usr``, ``/etc``), the Python installation and the ``suricate`` package
  read-only, a private ``/tmp``, its runtime dir (connection file, ipc sockets, the SDK socket)
  and nothing else; no network unless ``SURICATE_KERNEL_NETWORK=host``;
* lives in cgroups (``cgroups.py``) that limit its whole process tree: resident memory, tasks,
  CPU; where the machine has none, an address-space limit (RLIMIT_AS) is the fallback;
* writes only to its scratch space: one tmpfs of ``SURICATE_KERNEL_SCRATCH_MB`` (mounted by the
  node, which needs root or CAP_SYS_ADMIN for it) that is both its runtime dir and, through a
  bind, its ``/tmp``.

``prepare`` finds, once per node, what the machine allows; with ``SURICATE_KERNEL_SANDBOX=bwrap``
anything missing is ``SandboxUnavailable``, never a silent downgrade. Inside the sandbox,
``python -m suricate.node.sandbox`` sets the last per-process limits and becomes the ipykernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import grp
import json
import logging
import math
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suricate.errors import SandboxUnavailable
from suricate.node import cgroups, seccomp

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# Prefixes of what a node leaves in the temp dir: kernels' base dirs, SDK socket dirs.
BASE_PREFIX = "suricate-k-"
SOCKET_PREFIXES = ("suricate-api-", "suricate-node-")
OWNER_FILE = ".owner"
# Address space per process above the memory limit: reserved, untouched memory (thread stacks,
# arenas, BLAS buffers: a preloaded kernel reserves ~1.7 GB to use ~300 MB) needs it; one
# allocation far past the memory limit then fails at once with MemoryError.
ADDRESS_HEADROOM_MB = 1536


@dataclass(frozen=True)
class Limits:
    """What one kernel's process tree may use."""

    memory_mb: int  # resident memory (cgroup), or address space where there is no cgroup
    cpus: float = 1.0
    pids: int = 256
    scratch_mb: int = 1024

    @property
    def threads(self) -> int:
        """Threads a math library should use within the CPU quota."""
        return max(1, math.ceil(self.cpus))


@dataclass
class Plan:
    """What kernels on this node get, found once by ``prepare``."""

    mode: str  # "bwrap" or "none"
    uid: int  # the kernels' uid and gid on the host
    gid: int
    bwrap: str | None = None
    drop: list[str] = field(default_factory=list)  # setpriv prefix when the node is root
    seccomp: bytes | None = None
    cgroups: cgroups.Layout = field(default_factory=lambda: cgroups.Layout(None, {}))
    mount_scratch: bool = False  # the runtime dir is a size-limited tmpfs
    notes: list[str] = field(default_factory=list)

    @property
    def sandboxed(self) -> bool:
        return self.mode == "bwrap"


def bwrap_path() -> str | None:
    """Return bubblewrap's path, or None when it is not installed."""
    return shutil.which("bwrap")


def running_as_root() -> bool:
    return os.geteuid() == 0


def readonly_roots() -> list[Path]:
    """Return the dirs a kernel sees read-only besides the system: Python, the venv, suricate."""
    import suricate

    roots = {Path(sys.base_prefix), Path(sys.prefix), package_root()}
    cwd = Path.cwd()
    tmp = Path(tempfile.gettempdir()).resolve()
    for entry in sys.path:
        # Editable installs and .pth files can put packages outside the prefixes. The working
        # dir (on sys.path under `python -m`) is not for kernels to see, and a dir under /tmp
        # bound read-only would hide the sandbox's own /tmp.
        path = Path(entry)
        if not entry or not path.is_absolute() or path == cwd or not path.is_dir():
            continue
        resolved = path.resolve()
        if resolved.is_relative_to(Path("/usr")) or resolved.is_relative_to(tmp):
            continue
        roots.add(path)
    del suricate
    kept: list[Path] = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if not any(root.is_relative_to(k) for k in kept):
            kept.append(root)
    return kept


def package_root() -> Path:
    """Return the dir that holds the ``suricate`` package this node runs."""
    import suricate

    return Path(suricate.__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# What the machine allows


def prepare(mode: str, uid: int, limits: Limits) -> Plan:
    """Find how kernels will run here; raise ``SandboxUnavailable`` when ``mode`` is "bwrap" and
    any part of the sandbox cannot be had."""
    required = mode == "bwrap"
    plan = Plan(mode="none", uid=os.getuid(), gid=os.getgid())
    plan.cgroups = cgroups.detect()
    if plan.cgroups.version is None:
        plan.notes.append(
            "no usable cgroup (v2 delegated subtree or writable v1 controllers): kernels get "
            f"an address-space limit (RLIMIT_AS) of {limits.memory_mb} MiB instead of a "
            "resident-memory limit, and no process or CPU limit"
        )
    if mode == "none":
        plan.notes.append("kernels run unsandboxed (SURICATE_KERNEL_SANDBOX=none)")
        return plan
    bwrap = bwrap_path()
    if bwrap is None:
        if required:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
        plan.notes.append(
            "bubblewrap (bwrap) is not installed: kernels run UNSANDBOXED and can read the "
            "server's files; install Debian's 'bubblewrap' package"
        )
        return plan
    plan.mode, plan.bwrap = "bwrap", bwrap
    if running_as_root():
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise SandboxUnavailable("setpriv (Debian's util-linux) is not installed")
        plan.uid = plan.gid = uid
        plan.drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    try:
        plan.seccomp = seccomp.program()
    except Exception as exc:  # the library or its binding is missing or broken
        raise SandboxUnavailable(
            f"cannot build the seccomp filter with libseccomp ({type(exc).__name__}: {exc}); "
            "install Debian's libseccomp2 and the pyseccomp package"
        ) from exc
    plan.mount_scratch = _can_mount()
    if not plan.mount_scratch:
        if required:
            raise SandboxUnavailable(
                "cannot mount the kernels' size-limited scratch space (a tmpfs): the node "
                "needs root or CAP_SYS_ADMIN (or set SURICATE_KERNEL_SANDBOX=auto to accept "
                "an unlimited runtime dir)"
            )
        plan.notes.append(
            "cannot mount tmpfs (not root, no CAP_SYS_ADMIN): kernels' runtime dirs are on "
            "disk without a size limit; only their /tmp is size-limited"
        )
    unreachable = _unreachable(plan, readonly_roots())
    if unreachable:
        raise SandboxUnavailable(
            f"the kernels' uid {plan.uid} cannot reach {', '.join(map(str, unreachable))}, "
            "which kernels need (bubblewrap opens them as that uid): install Python and the "
            f"venv in a traversable place, or grant traversal with `setfacl -m u:{plan.uid}:x "
            "DIR` on each parent dir that is closed to others (scripts/system-packages.sh "
            "does it for /root)"
        )
    return plan


def _can_mount() -> bool:
    probe = Path(tempfile.mkdtemp(prefix="suricate-probe-"))
    try:
        mount_tmpfs(probe, 1, os.getuid(), os.getgid())
    except OSError:
        return False
    finally:
        unmount(probe)
        with contextlib.suppress(OSError):
            probe.rmdir()
    return True


def _unreachable(plan: Plan, paths: list[Path]) -> list[Path]:
    """Return the paths the kernels' uid cannot open (bwrap runs as that uid)."""
    if not plan.drop:
        return []
    bad = []
    for path in paths:
        check = [*plan.drop, "/usr/bin/test", "-r", str(path), "-a", "-x", str(path)]
        if subprocess.run(check, check=False, capture_output=True).returncode != 0:
            bad.append(path)
    return bad


def describe(plan: Plan) -> str:
    """Say how kernels will run."""
    if not plan.sandboxed:
        return "kernels run unsandboxed"
    limits = {"v2": "cgroup v2", "v1": "cgroup v1", None: "RLIMIT_AS"}[plan.cgroups.version]
    return (
        f"kernels run in bubblewrap sandboxes as uid {plan.uid}, seccomp filter, limits by "
        f"{limits}, scratch {'on tmpfs' if plan.mount_scratch else 'on disk'}"
    )


# --------------------------------------------------------------------------------------------
# Mounts


_libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2


def mount_tmpfs(path: Path, size_mb: int, uid: int, gid: int) -> None:
    """Mount a tmpfs of ``size_mb`` on ``path``, owned by uid/gid, mode 0700 (root only)."""
    options = f"size={size_mb}m,mode=0700,uid={uid},gid={gid}".encode()
    if _libc.mount(b"suricate-kernel", str(path).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options):
        number = ctypes.get_errno()
        raise OSError(number, f"mount tmpfs on {path}: {os.strerror(number)}")


def unmount(path: Path) -> None:
    """Unmount ``path`` if it is a mount point; detach it when busy (freed once unused)."""
    if not os.path.ismount(path):
        return
    if _libc.umount2(str(path).encode(), 0) and _libc.umount2(str(path).encode(), MNT_DETACH):
        log.warning("cannot unmount %s: %s", path, os.strerror(ctypes.get_errno()))


def mounts_under(path: Path) -> list[Path]:
    """Return the mount points at or below ``path``, deepest first."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = Path(line.split()[4].replace("\\040", " "))
            if point == path or point.is_relative_to(path):
                found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


# --------------------------------------------------------------------------------------------
# Base dirs, and what dead nodes left


def make_base_dir() -> Path:
    """Make the parent of this node's kernels' runtime dirs: mode 0711, with an owner record.

    The kernels' uid must traverse it to reach its own runtime dir, and cannot list it.
    """
    base = Path(tempfile.mkdtemp(prefix=BASE_PREFIX))
    base.chmod(0o711)
    write_owner(base)
    return base


def make_socket_dir(prefix: str) -> Path:
    """Make a dir for an SDK socket (short path: Unix socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    write_owner(path)
    return path


def share_socket(path: Path, gid: int) -> None:
    """Let the kernels' group connect to a Unix socket, and no one else but its owner."""
    if running_as_root():
        os.chown(path, -1, gid)
    path.chmod(0o660 if running_as_root() else 0o600)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def write_owner(path: Path) -> None:
    owner = {"pid": os.getpid(), "start": _start_time(os.getpid())}
    target = path / OWNER_FILE
    target.write_text(json.dumps(owner))
    target.chmod(0o600)


def owner_alive(path: Path) -> bool:
    """Tell whether the process that made ``path`` still runs (the same process, not a reuse)."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return _sockets_answer(path)
    return bool(_start_time(int(owner["pid"])) == owner.get("start"))


def _sockets_answer(path: Path) -> bool:
    """For a dir made before owner records (an older version): alive when one of its Unix
    sockets answers, or when it changed within the hour (a node starting, or idle)."""
    import socket

    try:
        if time.time() - path.stat().st_mtime < 3600:
            return True
        sockets = [p for p in path.rglob("*") if p.is_socket()]
    except OSError:
        return True
    for candidate in sockets:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(candidate))
                return True
            except OSError:
                continue
    return False


def clear_leftovers(layout: cgroups.Layout | None = None) -> list[str]:
    """Remove what nodes that are gone left behind; return what was removed.

    Kernel runtime dirs (connection files with their keys, ipc sockets), their tmpfs mounts,
    SDK socket dirs, and the cgroups of their kernels (killing any process still in them).
    """
    tmp = Path(tempfile.gettempdir())
    layout = layout if layout is not None else cgroups.detect()
    removed: list[str] = []
    dead_tags: set[str] = set()
    for path in sorted(tmp.glob("suricate-*")):
        if not path.is_dir() or path.is_symlink():
            continue
        kind = next((p for p in (BASE_PREFIX, *SOCKET_PREFIXES) if path.name.startswith(p)), None)
        if kind is None or owner_alive(path):
            continue
        if kind == BASE_PREFIX:
            dead_tags.add(path.name[len(BASE_PREFIX) :])
        for point in mounts_under(path):
            unmount(point)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    if layout.version is not None:
        live = {p.name[len(BASE_PREFIX) :] for p in tmp.glob(BASE_PREFIX + "*")}
        for group in cgroups.leftovers(layout, "k-"):
            tag = group.name[2:].rsplit("-", 1)[0]
            if tag in live and tag not in dead_tags:
                continue
            try:
                group.remove(timeout=5)
                removed.append(f"cgroup {group.name}")
            except OSError as exc:
                log.warning("cannot remove the leftover cgroup %s: %s", group.name, exc)
    return removed


# --------------------------------------------------------------------------------------------
# The command line


def kernel_command(
    plan: Plan,
    runtime_dir: Path,
    limits: Limits,
    network: str,
    hidden: list[Path],
    binds: dict[Path, Path],
    seccomp_fd: int | None,
    rlimit_as: bool,
    launcher: list[str] | None = None,
) -> list[str]:
    """Return the argv that starts a kernel (``{connection_file}`` left for jupyter_client),
    without the cgroup prefix; ``launcher`` runs something else in the same sandbox."""
    if launcher is None:
        launcher = [sys.executable, "-m", "suricate.node.sandbox"]
        launcher += ["--address-space-mb", str(address_space_mb(limits, rlimit_as))]
        launcher.append("{connection_file}")
    if not plan.sandboxed or plan.bwrap is None:
        return launcher
    argv = [plan.bwrap, "--die-with-parent", "--new-session", "--unshare-all"]
    if network == "host":
        argv.append("--share-net")
    argv += [
        "--unshare-user", "--disable-userns",
        "--uid", str(plan.uid), "--gid", str(plan.gid),
        "--cap-drop", "ALL",
    ]  # fmt: skip
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += [
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/sbin", "/sbin",
        "--ro-bind", "/etc", "/etc",
        *_names(runtime_dir.parent, plan.uid, plan.gid),
        "--proc", "/proc",
        "--dev", "/dev",
        # CPU topology only: numpy, joblib and OpenMP size their thread pools from it.
        "--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",
    ]  # fmt: skip
    # /tmp first: binds below /tmp must come after it, or it would hide them.
    if plan.mount_scratch:
        argv += ["--bind", str(runtime_dir / "tmp"), "/tmp"]
    else:
        argv += ["--size", str(limits.scratch_mb * MiB), "--tmpfs", "/tmp"]
    roots = readonly_roots()
    for root in roots:
        argv += ["--ro-bind", str(root), str(root)]
    argv += ["--bind", str(runtime_dir), str(runtime_dir)]
    for source, target in binds.items():
        argv += ["--bind", str(source), str(target)]
    for path in hidden:
        # Anything secret that happens to live under a read-only root is covered by an empty dir.
        if path.exists() and any(path.is_relative_to(r) for r in roots):
            argv += ["--tmpfs", str(path)]
    argv += ["--chdir", str(runtime_dir), "--setenv", "HOME", str(runtime_dir)]
    return [*plan.drop, *argv, *launcher]


@functools.cache
def _names(base: Path, uid: int, gid: int) -> tuple[str, ...]:
    """bwrap arguments giving the kernels' uid and gid a name ("kernel") where the host has
    none: the host's /etc/passwd and /etc/group with a line added, written once under ``base``.
    ``whoami``, ``ls -l``, ``id`` and tools that look the user up then work as on a desktop."""
    lines = {
        "passwd": f"kernel:x:{uid}:{gid}:Suricate kernel:/nonexistent:/usr/sbin/nologin\n",
        "group": f"kernel:x:{gid}:\n",
    }
    known = {"passwd": _known(pwd.getpwuid, uid), "group": _known(grp.getgrgid, gid)}
    args: list[str] = []
    for name, line in lines.items():
        if known[name]:
            continue
        host = Path("/etc", name)
        text = host.read_text(encoding="utf-8", errors="replace") if host.is_file() else ""
        target = base / f".etc-{name}"
        staged = target.with_suffix(".new")
        staged.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line)
        staged.chmod(0o644)
        os.replace(staged, target)
        args += ["--ro-bind", str(target), str(host)]
    return tuple(args)


def _known(lookup: Callable[[int], object], number: int) -> bool:
    try:
        lookup(number)
    except KeyError:
        return False
    return True


def address_space_mb(limits: Limits, rlimit_as: bool) -> int:
    """Return a kernel's address-space limit: its memory limit where that is all there is,
    else the memory limit plus headroom (a guard against one huge allocation)."""
    return limits.memory_mb if rlimit_as else limits.memory_mb + ADDRESS_HEADROOM_MB


def kernel_env(runtime_dir: Path, limits: Limits) -> dict[str, str]:
    """Return the environment a kernel starts with (nothing of the node's own)."""
    threads = str(limits.threads)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(runtime_dir),
        # The kernels' name (in their /etc/passwd: see _names), as a login shell would set.
        "USER": "kernel",
        "LOGNAME": "kernel",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # os.cpu_count() sees the machine, not the CPU quota: size thread pools from the quota.
        "LOKY_MAX_CPU_COUNT": threads,
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        # Fewer glibc malloc arenas: less reserved address space per thread.
        "MALLOC_ARENA_MAX": "2",
        # sdk.dask() sizes a local cluster within the kernel's memory limit.
        "SURICATE_KERNEL_MEMORY_MB": str(limits.memory_mb),
        "SURICATE_KERNEL_PIDS": str(limits.pids),
    }
    root = package_root()
    if root.name not in ("site-packages", "dist-packages"):
        # A source checkout: the kernel imports the same suricate as the node.
        env["PYTHONPATH"] = str(root)
    return env


@functools.cache
def manager_class() -> Any:
    """Return the jupyter_client kernel manager class of sandboxed kernels."""
    from jupyter_client.manager import AsyncKernelManager

    class KernelManager(AsyncKernelManager):
        """jupyter_client writes the connection file 0600 as the node's uid: give it to the
        kernel's."""

        owner: tuple[int, int] | None = None

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            """jupyter_client's start, without the fixed 10 ms sleep its wrapper adds after
            every start (``in_pending_state``: "so that tests can see the pending state")."""
            self._ready = asyncio.get_running_loop().create_future()
            try:
                start = AsyncKernelManager._async_start_kernel.__wrapped__  # type: ignore[attr-defined]
                await start(self, **kw)
            except Exception as exc:
                self._ready.set_exception(exc)
                raise
            self._ready.set_result(None)

        def write_connection_file(self, **kwargs: Any) -> None:
            super().write_connection_file(**kwargs)
            if self.owner is not None:
                os.chown(self.connection_file, *self.owner)

    return KernelManager


def setup_code(limits: Limits) -> str:
    """Code each kernel runs first: clearer messages for what its limits make fail."""
    return f"""
def _suricate_limits(self, etype, value, tb, tb_offset=None):
    import errno as _errno
    if isinstance(value, OSError) and value.errno == _errno.EAGAIN and value.strerror:
        value.strerror += (
            " (the kernel reached its limit of {limits.pids} processes and threads,"
            " SURICATE_KERNEL_PIDS)"
        )
    elif isinstance(value, RuntimeError) and "can't start new thread" in str(value):
        value.args = (str(value) + " (the kernel reached its limit of {limits.pids} processes"
                      " and threads, SURICATE_KERNEL_PIDS)",)
    # A custom handler shows the error itself: returning a traceback shows nothing, and every
    # RuntimeError (NotImplementedError, input()'s StdinNotImplementedError) would lose its output.
    self.showtraceback((etype, value, tb), tb_offset=tb_offset)
get_ipython().set_custom_exc((BlockingIOError, RuntimeError), _suricate_limits)
del _suricate_limits
"""


def _launch(argv: list[str]) -> None:
    import argparse
    import resource

    parser = argparse.ArgumentParser(prog="python -m suricate.node.sandbox")
    parser.add_argument("--address-space-mb", type=int, required=True)
    parser.add_argument("connection_file")
    args = parser.parse_args(argv)
    limit = args.address_space_mb * MiB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Inside a PID namespace the parent is bubblewrap's init (pid 1), which ipykernel's parent
    # poller would take for a dead parent; bubblewrap's --die-with-parent does that job.
    os.environ.pop("JPY_PARENT_PID", None)
    os.execv(
        sys.executable,
        [sys.executable, "-m", "ipykernel_launcher", "-f", args.connection_file],
    )


if __name__ == "__main__":
    _launch(sys.argv[1:])
