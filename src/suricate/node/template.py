"""A kernel template: a process with the data-science stack imported that forks new kernels.

Runs inside a tenant's sandbox (``python -m suricate.node.template SOCKET``, started by
``forking.Template``). It imports what every kernel needs (IPython, ipykernel, numpy, pandas,
scikit-learn, matplotlib), freezes those objects out of the garbage collector, and then only
listens on a Unix socket in its runtime dir. Each request the node sends there (one JSON line:
the new kernel's connection file, runtime dir, environment and address-space limit) goes to a
spare child forked ahead, or to one forked for it; the child tells the node its pid (the node
reads it, translated to the host's PID namespace, from the socket's credentials), waits until
the node has moved it into its own cgroups, then undoes what is unsafe to share across fork and
becomes an ipykernel (saying it is ready once its sockets are bound, before the rest of its
set-up). The template reaps its children and writes each one's exit status back on the
request's connection.

What must not cross the fork (zmq, BLAS/OpenMP pools and other threads, random seeds, open
files, matplotlib's state, the environment, signals), and how each is handled: docs/kernels.md.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from suricate.node import forksafe, holes, mappings

# Imported here, once, and shared by every kernel forked from the template.
STACK = (
    "numpy",
    "pandas",
    "sklearn",
    "sklearn.base",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.font_manager",  # builds or reads the font cache, once
    "matplotlib_inline.backend_inline",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.comm",
    # What starting a kernel imports (debugpy alone is ~0.25 s), measured with sys.modules.
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "pdb",
    "sqlite3",
    "tornado.platform.asyncio",
    "jupyter_client.session",
    "threadpoolctl",
    "suricate.kernel.client",
)
# History in memory: a kernel is short-lived and its runtime dir goes with it; an sqlite file
# costs ~90 ms to set up.
HISTORY = ":memory:"
ARGV = [f"--HistoryManager.hist_file={HISTORY}"]  # the kernel app's, but for its connection file
APP_PARSED = False
APP_PROFILED = False
GO = b"g"
READY = b"r"
MAX_REQUEST = 1 << 20
SPARE_DELAY_S = 0.06  # a forked kernel's own start, here: 30-60 ms


def preload() -> None:
    """Import the stack and keep its objects out of the collector's way (fewer copied pages)."""
    import importlib

    global THREADPOOLS
    # httpx (the SDK's) imports its command-line tool when it can, and with it rich, click and
    # pygments' lexers: 3.5 MiB of every template that no kernel uses. Marked missing, httpx
    # does without (`import httpx._main` in a kernel then fails; nothing of httpx's API needs it).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    for name in STACK:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _warm_up()
    _make_app()
    _make_shell()
    _inline_plots()
    MODULE_NAMES.update(sys.modules)
    MODULE_FILES.extend(
        path
        for module in list(sys.modules.values())
        if isinstance(path := getattr(module, "__file__", None), str)
    )
    with contextlib.suppress(Exception):
        import threadpoolctl

        # Which libraries have thread pools is found once, here, not in every kernel.
        THREADPOOLS = threadpoolctl.ThreadpoolController()
    gc.collect()
    # What kernels allocate first goes to fresh pages, not into shared ones (holes.py).
    holes.fill()
    # Python's type attribute cache holds the names it last looked up: a child's lookups
    # evicting them wrote to strings' reference counts all over the shared pages (0.6 MiB a
    # kernel). Emptied, a child's lookups write only to names the child itself uses.
    sys._clear_type_cache()
    # Objects that exist now are never scanned again: collections in a child do not write to
    # (and so copy) the pages it shares with the template.
    gc.freeze()
    # The library pages the imports mapped go back to the page cache; kernels map what they run.
    mappings.drop()


# The modules loaded in the template: their files (for each kernel's debugger) and names (for
# IPython's ``%reset --aggressive``), listed once here; see ``_SysWithoutModules``.
MODULE_FILES: list[str] = []
MODULE_NAMES: set[str] = set()
THREADPOOLS: Any = None
INLINE_HOOKED = False  # the inline backend's hooks are on the template's shell already


class _SysWithoutModules:
    """``sys`` as ipykernel's kernel and IPython's app modules see it while a forked kernel is
    made: ``sys`` itself, but with no modules loaded.

    ``IPythonKernel.__init__`` lists the file of every loaded module (for its debugger) and
    ``InteractiveShellApp.init_code`` their names. In a child that touches every module object
    and name of the template (reference counts are writes): it copied ~15 MiB of shared pages
    into each kernel. Both lists are made once, in the template, and handed to the kernel after.
    """

    def __init__(self) -> None:
        self.modules: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


def _initialize(app: Any, connection_file: str, bound: Callable[[], None]) -> None:
    """Initialize the kernel app, with its command line parsed and the module list taken in
    the template (``_make_app``, ``_SysWithoutModules``); ``bound()`` is called as soon as its
    sockets are bound, before the rest of its initialization."""
    app.connection_file = connection_file
    init_heartbeat = app.init_heartbeat

    def heartbeat_then_bound() -> None:  # the last of the sockets
        init_heartbeat()
        bound()

    app.init_heartbeat = heartbeat_then_bound
    argv = ["-f", connection_file, *ARGV]
    if APP_PARSED:
        # The same arguments for every kernel, parsed once: traitlets builds an argparse parser
        # of every configurable class to read them (~10 ms of a kernel's start).
        app.parse_command_line = lambda argv=None: None
        argv = []
    import ipykernel.ipkernel
    import IPython.core.shellapp
    from IPython.core.application import BaseIPythonApplication

    modules = (ipykernel.ipkernel, IPython.core.shellapp)
    for module in modules:
        module.sys = _SysWithoutModules()  # type: ignore[attr-defined]
    base_initialize = BaseIPythonApplication.initialize
    if APP_PROFILED:  # all but its crash handler done in the template (``_make_app``)
        BaseIPythonApplication.initialize = _crash_handler_only  # type: ignore[method-assign]
    try:
        app.initialize(argv)
    finally:
        BaseIPythonApplication.initialize = base_initialize  # type: ignore[method-assign]
        for module in modules:
            module.sys = sys  # type: ignore[attr-defined]
    _adopt(app)
    app.shell._sys_modules_keys = MODULE_NAMES
    kernel = app.kernel
    kernel._kernel_modules = MODULE_FILES
    if getattr(kernel, "debugger", None) is not None:
        kernel.debugger.kernel_modules = MODULE_FILES


def _crash_handler_only(app: Any, argv: Any = None) -> None:
    app.init_crash_handler()


WARM_CELL = """
import pandas as _pandas
_frame = _pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]})
_warm_result = (_frame.sum(), len(_frame), _frame)
del _pandas, _frame
"""


def _make_app() -> None:
    """Make the kernel app and parse its (fixed) command line here, once."""
    global APP_PARSED, APP_PROFILED
    with contextlib.suppress(Exception):
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.parse_command_line(ARGV)
        # traitlets leaves the logger at DEBUG and filters in its handler (at log_level): every
        # debug call of a starting kernel made a record, whose isinstance checks against ABCs
        # wrote to class objects shared with the template. Filtered at the logger, none is made.
        app.log.setLevel(app.log_level)
        APP_PARSED = True
        # And what IPython's application does next: find (or make) the profile dir and load
        # its config files (~5 ms of a kernel's start, before its sockets are bound). The
        # profile dir is the template's, shared by its kernels (one user's), as IPython's own
        # ``~/.ipython`` is shared by all of a user's kernels.
        cl_config = copy.deepcopy(app.config)
        app.init_profile_dir()
        app.init_config_files()
        app.load_config_file()
        app.update_config(cl_config)
        APP_PROFILED = True


def _make_shell() -> None:
    """Make the kernels' IPython shell here, once (a singleton: the kernel made in each child
    takes it). Made in a child it cost ~9 ms and ~3 MiB of copied pages (thousands of traitlets
    objects, every magic registered). What belongs to the child is set there (``_adopt``)."""
    with contextlib.suppress(Exception):
        from ipykernel.compiler import XCachingCompiler
        from ipykernel.zmqshell import ZMQInteractiveShell
        from traitlets.config import Config

        shell = ZMQInteractiveShell.instance(
            config=Config({"HistoryManager": {"hist_file": HISTORY}}),
            compiler_class=XCachingCompiler,
        )
        # A silent cell, as every kernel's first: warms IPython's own path through a cell.
        shell.run_cell(WARM_CELL, silent=True)
        # And what shows a cell's result: the formatters are made at their first use (~4 ms).
        result = shell.user_ns.pop("_warm_result", None)
        if shell.display_formatter is not None:
            shell.display_formatter.format(result)
        shell.logger  # noqa: B018  (made at its first use too: every cell asks for it)
        # IPython's default extension, loaded on the shell kernels adopt. Each kernel's app
        # asks for it by its short name, which IPython first looks for as a top-level module
        # on sys.path (a failed import: ~2 ms) before its own: known under both, that is all.
        manager = shell.extension_manager
        if manager is not None and manager.load_extension("storemagic") in (None, "already loaded"):
            manager.loaded.add("storemagic")


def _adopt(app: Any) -> None:
    """Give the shell made in the template (if it was) to this child's kernel and app."""
    shell, kernel = app.shell, app.kernel
    if shell.kernel is kernel:
        return  # made here, by the kernel
    shell.kernel = kernel
    shell.parent = kernel
    shell.profile_dir = app.profile_dir
    shell.ipython_dir = app.ipython_dir
    shell.starting_dir = os.getcwd()
    shell.init_environment()  # its variables (PAGER, CLICOLOR...) in this child's environment


def _warm_up() -> None:
    """Run a little of what kernels run first (pandas, a plot drawn to PNG) in the template.

    What that fills in (caches, specialized bytecode, fonts) is then the template's, shared by
    every kernel, instead of a copy written in each. It starts no thread: BLAS and OpenMP are
    limited to one here, and the data is far too small for anything to run in parallel.
    """
    with contextlib.suppress(Exception):
        import numpy
        import pandas

        frame = pandas.DataFrame({"a": numpy.arange(6), "b": list("xyzxyz")})
        repr(frame)
        frame.describe()
        frame.groupby("b").sum()
        frame.sum()
    with contextlib.suppress(Exception):
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(2, 2))
        FigureCanvasAgg(figure)
        figure.subplots().plot([1, 2, 3])
        figure.savefig(io.BytesIO(), format="png")


def serve(path: str) -> None:
    """Listen on ``path`` and fork a kernel for each request, until stdin closes."""
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only ever meant for a kernel
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    node_pid = os.getppid()  # unsandboxed, the node itself; sandboxed, bubblewrap's init
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    loop_fds = [wake_r, wake_w, selector.fileno()]
    spare: tuple[int, socket.socket] | None = None
    spare_at = 0.0  # when to fork the next spare child
    while True:
        if spare is None and time.monotonic() >= spare_at:
            spare = _fork_spare(listener, children, loop_fds)
        wait = 5.0 if spare is not None else max(0.0, spare_at - time.monotonic())
        for key, _ in selector.select(timeout=wait):
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    return  # the node is gone: so are we (and, with the PID namespace, the kernels)
            elif key.data == "wake":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
            elif key.data == "accept":
                conn, _ = listener.accept()
                pid = _peer_pid(conn)
                # Only the node (outside the sandbox's PID namespace: pid 0 as seen from here,
                # or the parent when unsandboxed) may ask; a kernel of this template may not.
                if pid not in (0, node_pid):
                    conn.close()
                    continue
                request = _read_request(conn)
                if request is None:
                    conn.close()
                    continue
                child = _hand_over(spare, conn, request) if spare is not None else 0
                # The next spare once this kernel has started: its fork would slow the start.
                spare, spare_at = None, time.monotonic() + SPARE_DELAY_S
                if not child:
                    child = _fork(conn, request, listener, children, loop_fds)
                if child:
                    # Kept to report the exit status on; never read here (the child reads the
                    # node's go-ahead from it).
                    children[child] = conn
        _reap(children)


def _peer_pid(conn: socket.socket) -> int:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[0])


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
        conn.close()


def _read_request(conn: socket.socket) -> bytes | None:
    """Read one request (a JSON line) from the node's connection; None: none came."""
    conn.settimeout(10)
    data = b""
    try:
        while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        json.loads(data)
    except (OSError, ValueError):
        return None
    return data


def _fork(
    conn: socket.socket,
    request: bytes,
    listener: socket.socket,
    children: dict[int, socket.socket],
    loop_fds: list[int],
) -> int:
    """Fork the kernel of ``request`` now; return the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    _child(lambda: (conn, request), listener, children, loop_fds)


def _fork_spare(
    listener: socket.socket, children: dict[int, socket.socket], loop_fds: list[int]
) -> tuple[int, socket.socket] | None:
    """Fork a child ahead of the next request, as Android's zygote keeps unspecialized
    processes (USAP): it waits, inside the template's sandbox and cgroup, for the template to
    hand it a request and its connection (``_hand_over``), then goes on as a child forked for
    it would. The fork of the template (~1,400 mappings, ~150 MiB of its own) is then off the
    kernel's start: 6-18 ms. Until then it has written little: ~1.8 MiB, and 0.6 MiB of page
    tables. Return its pid and the template's end of its link (None: no fork now)."""
    try:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if pid:
        theirs.close()
        return pid, ours
    ours.close()
    _child(lambda: _await_request(theirs), listener, children, loop_fds)


def _hand_over(spare: tuple[int, socket.socket], conn: socket.socket, request: bytes) -> int:
    """Give the spare child ``request`` and the node's connection; return its pid (0: it is
    gone, fork as usual)."""
    pid, link = spare
    try:
        socket.send_fds(link, [len(request).to_bytes(8, "big")], [conn.fileno()])
        link.sendall(request)
    except OSError:
        pid = 0
    link.close()
    return pid


def _await_request(link: socket.socket) -> tuple[socket.socket, bytes]:
    """In a spare child: wait for a request and its connection (the template gone: exit)."""
    header, fds, _, _ = socket.recv_fds(link, 8, 1)
    if len(header) != 8 or len(fds) != 1:
        os._exit(0)
    size = int.from_bytes(header, "big")
    data = b""
    while len(data) < size:
        chunk = link.recv(size - len(data))
        if not chunk:
            os._exit(0)
        data += chunk
    link.close()
    return socket.socket(fileno=fds[0]), data


def _child(
    request_of: Callable[[], tuple[socket.socket, bytes]],
    listener: socket.socket,
    children: dict[int, socket.socket],
    loop_fds: list[int],
) -> NoReturn:
    """In a forked child: drop the template's loop, take a request, become its kernel."""
    code = 1
    try:
        listener.close()
        for other in children.values():
            other.close()
        signal.set_wakeup_fd(-1)
        for fd in loop_fds:  # the template's loop (its objects are never finalized here)
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        conn, request = request_of()
        code = _become_kernel(conn, json.loads(request))
        if code == 0:  # it ran, and shut down
            forksafe.finish()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _become_kernel(conn: socket.socket, request: dict[str, Any]) -> int:
    """In the child: wait to be placed, undo what was shared, and run ipykernel."""
    # The node learns our pid from this message's credentials, moves us into our cgroups, then
    # says go: nothing of the kernel runs before it is inside its limits.
    conn.settimeout(30)
    conn.sendall(b"p")
    if conn.recv(1) != GO:
        return 1
    # A session and process group of its own: ipykernel interrupts with killpg, which must
    # reach this kernel's processes only, never the template or sibling kernels.
    os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    runtime = request["runtime_dir"]
    forksafe.own_stdio(os.path.join(runtime, "kernel.log"))
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(runtime)
    limit = int(request["address_space_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    forksafe.fresh_state(int(request.get("threads", 1)), THREADPOOLS, request["connection_file"])
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # Once its sockets are bound, the node's client connects and asks for the kernel's info
    # while the rest is made (no zmq reconnect delay; its requests wait in the sockets).
    _initialize(app, request["connection_file"], lambda: conn.sendall(READY))
    if not INLINE_HOOKED:
        _inline_plots()
    _setup(app.shell, request.get("setup", ""))
    conn.close()
    app.start()
    return 0


def _setup(shell: Any, code: str) -> None:
    """Run the node's setup code in the user namespace, as a warm kernel's first silent cell."""
    try:
        exec(compile(code, "<suricate-setup>", "exec"), shell.user_ns)
    except Exception:
        import traceback

        traceback.print_exc()  # to kernel.log; the kernel works without it


def _inline_plots() -> None:
    """Hook the inline backend into the kernels' shell: it was imported in the template, before
    any shell existed, so its import-time hook (what a cold kernel runs) found none. Done once
    in the template, on the shell its kernels adopt (~2 ms of each kernel's start)."""
    global INLINE_HOOKED
    with contextlib.suppress(ImportError):
        from IPython.core.getipython import get_ipython
        from matplotlib_inline import backend_inline

        backend_inline._enable_matplotlib_integration()
        shell = get_ipython()
        INLINE_HOOKED = shell is not None and any(
            getattr(hook, "__name__", "") == "flush_figures"
            for hook in shell.events.callbacks.get("post_execute", [])
        )


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m suricate.node.template")
    parser.add_argument("socket")
    args = parser.parse_args(argv)
    # The template's own address space is not limited: no user code runs in it, and each child
    # sets its own limit (which may be above the template's defaults) before any does.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    forksafe.guard_template()  # its kernels cannot read, write or take from it (forksafe.py)
    # `python -m` put its working dir, which its kernels can write to, first on sys.path (-P
    # would too, but IPython then leaves out each kernel's own dir, '').
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    os.environ.pop("JPY_PARENT_PID", None)
    serve(args.socket)


if __name__ == "__main__":
    main(sys.argv[1:])
