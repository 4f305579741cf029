"""Per-kernel cgroups: memory, process-count and CPU limits on a kernel's whole process tree.

Layout: a group per kernel under this process's own cgroup, in each hierarchy:

    cgroup v2 (``/sys/fs/cgroup`` is cgroup2):  <mount>/<own path>/suricate/<name>
    cgroup v1 (one mount per controller):       <memory mount>/<own memory path>/suricate/<name>
                                                <pids mount>/<own pids path>/suricate/<name>
                                                <cpu mount>/<own cpu path>/suricate/<name>
                                                <cpuacct mount>/...  (same dir when co-mounted)

where a kernel's name is ``k-<node's base dir tag>-<kernel id>``.

The kernel enters its group(s) before anything of it runs: ``KernelCgroup.wrap(argv)`` prefixes
the command with a tiny ``/bin/sh`` that writes its own pid into each ``cgroup.procs`` and then
execs the real command (bubblewrap), so bwrap, the kernel and every process they start are
inside, and counted, from the first instruction. No preexec_fn (unsafe with threads, and it runs
after subprocess's setuid).

Without any usable controller (no cgroupfs, not root, ...) ``KernelCgroup.available`` is False
and the caller falls back to RLIMIT_AS. ``leftovers`` finds the groups of a node that is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
PARENT = "suricate"  # the group, under this process's own, that holds one group per kernel


@dataclass(frozen=True)
class Resources:
    """Limits for one kernel's process tree; None leaves that resource unlimited."""

    memory_bytes: int | None = None
    pids_max: int | None = None
    cpu_cores: float | None = None  # CFS quota, in cores (1.5 = 150 ms per 100 ms period)
    cpu_period_us: int = 100_000


# --------------------------------------------------------------------------------------------
# Discovery


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """Return (mount point, mount root, fs type, super options) of each cgroup mount."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.rstrip("\n").split(" - ", 1)
            fields = left.split()
            fstype, _source, super_opts = right.split(" ", 2)
            if fstype in ("cgroup", "cgroup2"):
                mountpoint = fields[4].replace("\\040", " ")
                found.append((mountpoint, fields[3], fstype, set(super_opts.split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """Return this process's cgroup path per v1 controller, and under "" its v2 path."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _hid, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


def _below(mountpoint: str, mount_root: str, own: str) -> Path:
    """Map a cgroup path (as /proc/self/cgroup shows it) to a directory of a mount."""
    rel = os.path.relpath(own, mount_root) if own.startswith(mount_root) else own.lstrip("/")
    return Path(mountpoint) / ("" if rel == "." else rel)


@dataclass(frozen=True)
class Layout:
    """Where this process's cgroups are: ``version`` is "v2", "v1" or None (none usable)."""

    version: str | None
    # v2: {"": own dir}; v1: {controller: own dir in that controller's hierarchy}
    own: dict[str, Path]


def detect() -> Layout:
    """Find the cgroup version in force and this process's own group in each hierarchy.

    v2 only when /sys/fs/cgroup itself is cgroup2 (unified): in a hybrid setup
    (/sys/fs/cgroup/unified) the controllers are on the v1 mounts.
    """
    mounts = _mounts()
    own = _own_paths()
    for mountpoint, root, fstype, _opts in mounts:
        if fstype == "cgroup2" and Path(mountpoint) == CGROUP_ROOT and "" in own:
            directory = _below(mountpoint, root, own[""])
            available = set((CGROUP_ROOT / "cgroup.controllers").read_text().split())
            if available & set(V2_CONTROLLERS):
                return Layout("v2", {"": directory})
    v1: dict[str, Path] = {}
    for mountpoint, root, fstype, opts in mounts:
        if fstype != "cgroup":
            continue
        for controller in V1_CONTROLLERS:
            if controller in opts and controller in own and controller not in v1:
                v1[controller] = _below(mountpoint, root, own[controller])
    if v1 and os.access(next(iter(v1.values())), os.W_OK):
        return Layout("v1", v1)
    return Layout(None, {})


# --------------------------------------------------------------------------------------------
# One kernel's group


def _write(path: Path, value: str | int) -> None:
    with open(path, "w") as f:
        f.write(f"{value}\n")


def _read(path: Path) -> str | None:
    """The file's text, or None; without Python's buffered text I/O, which costs twice the
    read (``oom_kills`` reads before and after every cell)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode().strip()
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_int(path: Path) -> int | None:
    text = _read(path)
    if text is None or text == "max":
        return None
    return int(text.split()[0])


def _read_keyed(path: Path) -> dict[str, int]:
    text = _read(path) or ""
    result = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            result[key] = int(value)
    return result


class KernelCgroup:
    """The cgroup(s) of one kernel: create, put a command in, read usage, kill, remove."""

    def __init__(
        self,
        name: str,
        resources: Resources,
        parent: str = PARENT,
        layout: Layout | None = None,
        oom_group: bool = False,
    ) -> None:
        self.name = name
        self.resources = resources
        self.layout = layout if layout is not None else detect()
        self.oom_group = oom_group
        self.dirs: dict[str, Path] = {
            controller: own / parent / name for controller, own in self.layout.own.items()
        }
        self.created: list[Path] = []

    @property
    def version(self) -> str | None:
        return self.layout.version

    @property
    def available(self) -> bool:
        return self.layout.version is not None

    def _dir(self, controller: str) -> Path | None:
        return self.dirs.get("" if self.version == "v2" else controller)

    def unique_dirs(self) -> list[Path]:
        seen: list[Path] = []
        for directory in self.dirs.values():
            if directory not in seen:
                seen.append(directory)
        return seen

    # -- creation -------------------------------------------------------------------------

    def create(self) -> None:
        """Make the group(s) and write the limits; undo everything on failure."""
        try:
            if self.version == "v2":
                self._create_v2()
            elif self.version == "v1":
                self._create_v1()
        except BaseException:
            self.remove()
            raise

    def _mkdir(self, directory: Path) -> None:
        directory.parent.mkdir(exist_ok=True)
        directory.mkdir()
        self.created.append(directory)

    def _create_v1(self) -> None:
        r = self.resources
        for directory in self.unique_dirs():
            self._mkdir(directory)
        memory = self._dir("memory")
        if memory is not None and r.memory_bytes is not None:
            # limit_in_bytes first: memsw (memory+swap) may never be below it.
            _write(memory / "memory.limit_in_bytes", r.memory_bytes)
            if (memory / "memory.memsw.limit_in_bytes").exists():
                _write(memory / "memory.memsw.limit_in_bytes", r.memory_bytes)  # no swap
            else:
                _write(memory / "memory.swappiness", 0)
        pids = self._dir("pids")
        if pids is not None and r.pids_max is not None:
            _write(pids / "pids.max", r.pids_max)
        cpu = self._dir("cpu")
        if cpu is not None and r.cpu_cores is not None:
            _write(cpu / "cpu.cfs_period_us", r.cpu_period_us)
            _write(cpu / "cpu.cfs_quota_us", int(r.cpu_cores * r.cpu_period_us))

    def _create_v2(self) -> None:
        r = self.resources
        directory = self.dirs[""]
        own, parent = directory.parent.parent, directory.parent
        wanted = [
            c for c in V2_CONTROLLERS if c in (own / "cgroup.controllers").read_text().split()
        ]
        enable = " ".join(f"+{c}" for c in wanted)
        try:
            _write(own / "cgroup.subtree_control", enable)
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            # "No internal processes": a non-root v2 group with processes in it cannot hand
            # controllers to its children. Move this process's group-mates into a leaf first
            # (what systemd's Delegate= expects a service to do).
            leaf = own / "suricate-server"
            leaf.mkdir(exist_ok=True)
            for pid in (own / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, OSError):
                    _write(leaf / "cgroup.procs", pid)
            _write(own / "cgroup.subtree_control", enable)
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", enable)
        self._mkdir(directory)
        if r.memory_bytes is not None:
            _write(directory / "memory.max", r.memory_bytes)
            if (directory / "memory.swap.max").exists():
                _write(directory / "memory.swap.max", 0)
            if self.oom_group:
                _write(directory / "memory.oom.group", 1)
        if r.pids_max is not None:
            _write(directory / "pids.max", r.pids_max)
        if r.cpu_cores is not None:
            quota = int(r.cpu_cores * r.cpu_period_us)
            _write(directory / "cpu.max", f"{quota} {r.cpu_period_us}")

    # -- entering ----------------------------------------------------------------------------

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.unique_dirs()]

    def wrap(self, argv: list[str]) -> list[str]:
        """Prefix argv with a shell that moves itself into the group(s), then execs argv.

        Exit status 125 (nothing started) when a cgroup.procs write fails.
        """
        files = self.procs_files()
        if not files:
            return list(argv)
        script = (
            'n=$1; shift; while [ "$n" -gt 0 ]; do '
            'echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"'
        )
        return ["/bin/sh", "-c", script, "suricate-cgexec", str(len(files)), *files, *argv]

    def add_pid(self, pid: int) -> None:
        """Move one running process (not its existing children) into the group(s)."""
        for procs in self.procs_files():
            _write(Path(procs), pid)

    # -- reading ------------------------------------------------------------------------------

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.unique_dirs():
            text = _read(directory / "cgroup.procs") or ""
            found.update(int(p) for p in text.split())
        return found

    def cpu_usage_ns(self) -> int | None:
        """CPU time used by the whole tree so far, in ns (v1 cpuacct.usage, v2 cpu.stat)."""
        if self.version == "v2":
            usec = _read_keyed(self.dirs[""] / "cpu.stat").get("usage_usec")
            return None if usec is None else usec * 1000
        cpuacct = self._dir("cpuacct")
        return None if cpuacct is None else _read_int(cpuacct / "cpuacct.usage")

    def oom_kills(self) -> int:
        """Return how many processes the memory limit killed in the group so far (one read)."""
        if self.version == "v2":
            return _read_keyed(self.dirs[""] / "memory.events").get("oom_kill") or 0
        memory = self._dir("memory")
        if memory is None:
            return 0
        return _read_keyed(memory / "memory.oom_control").get("oom_kill") or 0

    def stats(self) -> dict[str, int | None]:
        """Memory now and at peak, OOM kills, failed charges/forks, tasks, CPU time."""
        if self.version == "v2":
            d = self.dirs[""]
            events = _read_keyed(d / "memory.events")
            return {
                "memory_current": _read_int(d / "memory.current"),
                "memory_peak": _read_int(d / "memory.peak"),  # Linux >= 5.19
                "memory_max_events": events.get("max"),
                "oom_events": events.get("oom"),
                "oom_kill": events.get("oom_kill"),
                "shmem": _read_keyed(d / "memory.stat").get("shmem"),
                "pids_current": _read_int(d / "pids.current"),
                "pids_max_events": _read_keyed(d / "pids.events").get("max"),
                "cpu_usage_ns": self.cpu_usage_ns(),
            }
        result: dict[str, int | None] = {}
        memory = self._dir("memory")
        if memory is not None:
            oom = _read_keyed(memory / "memory.oom_control")
            stat = _read_keyed(memory / "memory.stat")
            result.update(
                memory_current=_read_int(memory / "memory.usage_in_bytes"),
                memory_peak=_read_int(memory / "memory.max_usage_in_bytes"),
                memory_failcnt=_read_int(memory / "memory.failcnt"),
                memsw_peak=_read_int(memory / "memory.memsw.max_usage_in_bytes"),
                # With memsw limited, charges fail on memsw first: its failcnt is the one.
                memsw_failcnt=_read_int(memory / "memory.memsw.failcnt"),
                under_oom=oom.get("under_oom"),
                oom_kill=oom.get("oom_kill"),  # Linux >= 4.13
                shmem=stat.get("shmem"),
                rss=stat.get("rss"),
            )
        pids = self._dir("pids")
        if pids is not None:
            result.update(
                pids_current=_read_int(pids / "pids.current"),
                pids_max_events=_read_keyed(pids / "pids.events").get("max"),
            )
        result["cpu_usage_ns"] = self.cpu_usage_ns()
        return result

    # -- ending -------------------------------------------------------------------------------

    def kill(self, timeout: float = 10.0) -> bool:
        """SIGKILL every process in the group(s) until none is left; True when empty."""
        if self.version == "v2" and (self.dirs[""] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.dirs[""] / "cgroup.kill", 1)  # Linux >= 5.14: atomic, races forks
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self, timeout: float = 10.0) -> None:
        """Kill what is left, then remove the group dirs (the shared "suricate" parent stays)."""
        if self.created:
            self.kill(timeout)
        deadline = time.monotonic() + timeout
        for directory in reversed(self.created):
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    # EBUSY while exited tasks are not reaped yet (zombies stay members).
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        self.created.clear()


def leftovers(layout: Layout, prefix: str) -> list[KernelCgroup]:
    """Return the kernel groups whose names start with ``prefix``, to kill and remove."""
    names: set[str] = set()
    for own in layout.own.values():
        with contextlib.suppress(OSError):
            names.update(
                p.name for p in (own / PARENT).iterdir() if p.is_dir() and p.name.startswith(prefix)
            )
    found = []
    for name in sorted(names):
        group = KernelCgroup(name, Resources(), layout=layout)
        group.created = [d for d in group.unique_dirs() if d.is_dir()]
        found.append(group)
    return found
