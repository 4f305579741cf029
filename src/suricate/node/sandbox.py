"""How a kernel process is confined: a bubblewrap command line, and the in-sandbox launcher.

The sandbox sees the system read-only (``/usr``, ``/etc``), the Python installation and the
``suricate`` package read-only, a private ``/tmp``, its own runtime dir (connection files, the SDK
socket) and nothing else: not the server's data dir, not its database, not another kernel's files.
No network unless ``SURICATE_KERNEL_NETWORK=host``. Inside, ``python -m suricate.node.sandbox``
sets the resource limits and becomes the ipykernel.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    memory_mb: int


def bwrap_path() -> str | None:
    """Return bubblewrap's path, or None when it is not installed."""
    return shutil.which("bwrap")


def sandboxed(sandbox: str) -> bool:
    """Tell whether kernels started with this setting run inside bubblewrap."""
    return sandbox in ("auto", "bwrap") and bwrap_path() is not None


def _readonly_roots() -> list[Path]:
    import suricate

    roots = {Path(sys.base_prefix), Path(sys.prefix), Path(suricate.__file__).resolve().parent}
    cwd = Path.cwd()
    for entry in sys.path:
        # Editable installs and .pth files can put packages outside the prefixes; the working
        # directory (on sys.path under `python -m`) is not for kernels to see.
        path = Path(entry)
        if not entry or path == cwd:
            continue
        if path.is_dir() and not any(path.is_relative_to(r) for r in roots):
            if path.resolve().is_relative_to(Path("/usr")):
                continue
            roots.add(path)
    # Keep only the outermost paths.
    ordered = sorted(roots, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for root in ordered:
        if not any(root.is_relative_to(k) for k in kept):
            kept.append(root)
    return kept


def kernel_command(
    runtime_dir: Path,
    limits: Limits,
    sandbox: str,
    network: str,
    hidden: list[Path],
    binds: dict[Path, Path] | None = None,
) -> list[str]:
    """Return the argv that starts a kernel (``{connection_file}`` left for jupyter_client)."""
    launcher = [
        sys.executable,
        "-m",
        "suricate.node.sandbox",
        "--memory-mb",
        str(limits.memory_mb),
        "{connection_file}",
    ]
    bwrap = bwrap_path()
    if not sandboxed(sandbox) or bwrap is None:
        return launcher
    argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-all"]
    if network == "host":
        argv.append("--share-net")
    argv += [
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/sbin", "/sbin",
        "--ro-bind", "/etc", "/etc",
        "--proc", "/proc",
        "--dev", "/dev",
        # CPU topology only: numpy, joblib and OpenMP size their thread pools from it.
        "--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",
        # A private /tmp first: binds below /tmp must come after it, or it would hide them.
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    for root in _readonly_roots():
        argv += ["--ro-bind", str(root), str(root)]
    argv += ["--bind", str(runtime_dir), str(runtime_dir)]
    for source, target in (binds or {}).items():
        argv += ["--bind", str(source), str(target)]
    for path in hidden:
        # Anything secret that happens to live under a read-only root is covered by an empty dir.
        if path.exists() and any(path.is_relative_to(r) for r in _readonly_roots()):
            argv += ["--tmpfs", str(path)]
    argv += ["--chdir", str(runtime_dir), "--setenv", "HOME", str(runtime_dir)]
    return argv + launcher


def describe(sandbox: str) -> str:
    """Say how kernels will run, and warn when the sandbox is missing."""
    if sandbox == "none":
        return "kernels run unsandboxed (SURICATE_KERNEL_SANDBOX=none)"
    if bwrap_path() is None:
        if sandbox == "bwrap":
            raise RuntimeError(
                "SURICATE_KERNEL_SANDBOX=bwrap but bubblewrap (bwrap) is not installed"
            )
        log.warning(
            "bubblewrap (bwrap) is not installed: kernels run UNSANDBOXED and can read the "
            "server's files; install Debian's 'bubblewrap' package"
        )
        return "kernels run unsandboxed: bubblewrap is not installed"
    return "kernels run in bubblewrap sandboxes"


def _launch(argv: list[str]) -> None:
    import argparse
    import resource

    parser = argparse.ArgumentParser(prog="python -m suricate.node.sandbox")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("connection_file")
    args = parser.parse_args(argv)
    limit = args.memory_mb * 1024 * 1024
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
