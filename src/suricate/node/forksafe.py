"""What a kernel template keeps from its kernels, and what each forked kernel must not share.

A forked kernel runs user code in the template's sandbox: same uid, same PID namespace. Without
more, it could open the template's ``/proc/PID/mem`` (no ``ptrace`` needed) or take its file
descriptors with ``pidfd_getfd``, its control socket among them, and so read the next kernels'
requests or write into the code every later kernel runs. ``guard_template`` makes the template
(and so every child, until it execs) not dumpable: the kernel then needs ``CAP_SYS_PTRACE``
for any of that, and it has no capability at all. The seccomp filter denies ``pidfd_getfd``
too. What each child renews after the fork (``fresh_state``) and how it ends (``finish``):
docs/kernels.md, "Forked kernels".
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import sys
from typing import Any

PR_SET_DUMPABLE = 4


def guard_template() -> None:
    """Make this process (and the children it forks) not dumpable; raise if that fails."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"prctl(PR_SET_DUMPABLE, 0): {os.strerror(number)}")


def own_stdio(log_path: str) -> None:
    """Point stdin at /dev/null and stdout, stderr at the kernel's own log."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    log = os.open(log_path, flags, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)


def fresh_state(threads: int, pools: Any, connection_file: str) -> None:
    """Renew what was made once in the template and must be each kernel's own: seeds, the
    multiprocessing key, the temp dir; size thread pools to this kernel's quota."""
    import multiprocessing
    import random
    import tempfile

    random.seed()
    # Managers and listeners of multiprocessing check this key: each kernel's own, as a cold
    # kernel's is (a sibling must not be able to speak to them).
    multiprocessing.current_process().authkey = os.urandom(32)
    # What a cold kernel's command line is, rather than the template's.
    sys.argv = [LAUNCHER, "-f", connection_file]
    # TMPDIR is the kernel's own now: found here (a file is created there to check it), not in
    # its first cell, where that took 8-15 ms more (the first cell's threads are all busy).
    tempfile.tempdir = None
    tempfile.gettempdir()
    with contextlib.suppress(ImportError):
        import numpy

        numpy.random.seed()
    if threads != 1:  # at one they are at one already: the template started them so
        with contextlib.suppress(Exception):
            pools.limit(limits=threads)
    with contextlib.suppress(ImportError):
        import matplotlib.pyplot

        matplotlib.pyplot.close("all")


def finish() -> None:
    """End a kernel that shut down as a cold one ends: its exit handlers run (the user's among
    them) and its buffered files are flushed; the child then leaves with ``os._exit``."""
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    with contextlib.suppress(Exception):
        import gc

        from IPython.core.getipython import get_ipython

        # As an interpreter's exit does: what the user's names hold is let go of, and so what
        # they left open (files and the like) is closed, its buffers written.
        shell = get_ipython()
        if shell is not None:
            shell.user_ns.clear()
            shell.user_ns_hidden.clear()
        gc.collect()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()


def _launcher() -> str:
    import importlib.util

    spec = importlib.util.find_spec("ipykernel_launcher")
    return spec.origin if spec is not None and spec.origin else "ipykernel_launcher"


LAUNCHER = _launcher()
