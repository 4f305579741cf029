"""Forked kernels (issue 17): each forked kernel keeps its own limits, and tenants stay apart.

Real templates in the real sandbox (bubblewrap, seccomp, cgroups), on the embedded node.
"""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from suricate.node import cgroups
from suricate.node.sandbox import bwrap_path
from suricate.server.platform import Platform
from tests.support import hostile

pytestmark = [
    pytest.mark.skipif(
        bwrap_path() is None or os.geteuid() != 0 or cgroups.detect().version is None,
        reason="the full sandbox needs bubblewrap, root (or CAP_SYS_ADMIN) and cgroups",
    ),
    pytest.mark.sqlite_only("kernels do not touch the database"),
    pytest.mark.settings(
        kernel_fork=True,
        kernel_pool_size=0,
        kernel_sandbox="bwrap",
        kernel_memory_mb=512,
        kernel_scratch_mb=256,
    ),
]

# What a kernel sees of the machine and of itself.
LOOK = """
import json, os, sys, numpy
print(json.dumps({
    'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
    'pid': os.getpid(), 'sid': os.getsid(0), 'home': os.environ['HOME'],
    'tmpdir': os.environ['TMPDIR'], 'random': float(numpy.random.rand()),
    'files': [os.readlink(f'/proc/self/fd/{fd}') for fd in range(1024)
              if os.path.islink(f'/proc/self/fd/{fd}')],
    'modules': [m for m in ('pandas', 'sklearn', 'matplotlib.pyplot') if m in sys.modules],
    'shell': [get_ipython().kernel is not None, get_ipython().parent is get_ipython().kernel,
              os.getcwd(), get_ipython().starting_dir, get_ipython().profile_dir.location,
              os.environ.get('CLICOLOR')],
    'token': bool(os.environ.get('SURICATE_TOKEN')), 'names': 'pandas' in dir(),
}))
"""


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def start(client: TestClient) -> str:
    r = client.post("/api/v1/sessions")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def run(client: TestClient, session: str, code: str) -> dict:
    r = client.post(f"/api/v1/sessions/{session}/execute", json={"code": code})
    assert r.status_code == 200, r.text
    return dict(r.json())


# What a kernel can reach of its template (its parent) and of a sibling (pid given): nothing.
REACH = """
import ctypes, errno, json, multiprocessing, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
template = os.getppid()
def attempt(fn):
    try:
        fn()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def take_fd():
    pidfd = os.pidfd_open(template)
    try:
        if libc.syscall(438, pidfd, 0, 0) < 0:  # pidfd_getfd: its stdin
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))
    finally:
        os.close(pidfd)
print(json.dumps({
    'mem': attempt(lambda: open(f'/proc/{template}/mem', 'r+b').close()),
    'environ': attempt(lambda: open(f'/proc/{template}/environ', 'rb').read()),
    'fds': attempt(lambda: os.listdir(f'/proc/{template}/fd')),
    'take_fd': attempt(take_fd),
    'sibling': attempt(lambda: open(f'/proc/%d/mem', 'rb').close()),
    'path': sys.path, 'argv': sys.argv,
    'authkey': multiprocessing.current_process().authkey.hex(),
}))
"""


def test_forked_kernels_keep_their_limits_and_tenants_stay_apart(
    alice: TestClient, bob: TestClient, platform: Platform
) -> None:
    a1, a2 = start(alice), start(alice)
    b1 = start(bob)
    kernels = {k.runtime_dir.name: k for k in platform.node.pool.kernels()}
    assert len(kernels) == 3 and all(k.template is not None for k in kernels.values())
    looks = {
        s: hostile.result_of(run(c, s, LOOK)) for c, s in ((alice, a1), (alice, a2), (bob, b1))
    }
    # Forked from a template with the stack loaded; each with its own state and files.
    assert all(
        look["modules"] == ["pandas", "sklearn", "matplotlib.pyplot"] for look in looks.values()
    )
    assert len({look["random"] for look in looks.values()}) == 3  # reseeded after fork
    assert len({look["home"] for look in looks.values()}) == 3
    assert all(look["tmpdir"].startswith(look["home"]) for look in looks.values())
    assert all(look["sid"] == look["pid"] for look in looks.values())  # its own session
    # The shell made in the template is each kernel's own: its kernel, dir and environment;
    # the setup code ran in it (the stack's names), and the SDK token came with its start.
    for look in looks.values():
        adopted, parent, cwd, starting, profile, clicolor = look["shell"]
        assert adopted and parent and cwd == starting == look["home"], look["shell"]
        # IPython's profile dir is the template's, shared by its (one user's) kernels.
        template_dir = look["home"].rsplit("/", 1)[0]
        assert profile == f"{template_dir}/.ipython/profile_default", look["shell"]
        assert clicolor == "1", look["shell"]
        assert look["token"] and look["names"], look
    # Neither its template's memory, environment or files, nor a sibling's memory, are within
    # a kernel's reach; its sys.path, command line and multiprocessing key are a cold kernel's.
    reach = hostile.result_of(run(alice, a1, REACH % looks[a2]["pid"]))
    assert reach["mem"] == reach["environ"] == reach["fds"] == reach["sibling"] == "EACCES", reach
    assert reach["take_fd"] == "EPERM", reach
    template_dir = looks[a1]["home"].rsplit("/", 1)[0]
    assert "" in reach["path"] and template_dir not in reach["path"], reach["path"]
    assert reach["argv"][0].endswith("ipykernel_launcher.py"), reach["argv"]
    other = hostile.result_of(run(alice, a2, REACH % looks[a1]["pid"]))
    assert other["authkey"] != reach["authkey"]
    # No file of the template's is open in a kernel: only its own (and sockets, pipes).
    for look in looks.values():
        paths = {f for f in look["files"] if f.startswith("/")}
        assert all(f == "/dev/null" or f.startswith(look["home"]) for f in paths), paths

    # Another tenant's kernel is in another sandbox: its processes and files are out of sight.
    templates = {k.tenant: k.template for k in kernels.values()}
    assert set(templates) == {"acme", "globex"} and templates["acme"] is not templates["globex"]
    (bob_kernel,) = (k for k in kernels.values() if k.tenant == "globex")
    peek = f"import os; print(os.path.exists({str(bob_kernel.runtime_dir)!r}))"
    assert run(alice, a1, peek)["outputs"][0]["text"].strip() == "False"
    # Each template forks with one thread, its main one (nothing else would live on in a child);
    # beside it, in its cgroup, waits the one spare child it forked ahead, with one thread too.
    for template in templates.values():
        pythons = {p for p in template.cgroup.pids() if "python" in cmdline(p).split(" ")[0]}
        (pid,) = (p for p in pythons if parent_of(p) not in pythons)
        (spare,) = (p for p in pythons if parent_of(p) == pid)
        for each in (pid, spare):
            assert len(os.listdir(f"/proc/{each}/task")) == 1, os.listdir(f"/proc/{each}/task")
    # Each kernel is in its own cgroup, and the template in none of theirs.
    for kernel in kernels.values():
        pids = kernel.cgroup.pids()
        assert pids and not pids & kernel.template.cgroup.pids()
    # IPython's %store (loaded once, in the template) reaches the user's other kernel.
    assert run(alice, a1, "x = 41\n%store x")["outputs"][0]["text"] == "Stored 'x' (int)\n"
    assert run(alice, a2, "%store -r x\nx + 1")["outputs"][0]["data"]["text/plain"] == "42"
    # Its math libraries' thread pools are sized to its CPU quota (at one CPU, the template's
    # own size: the child leaves them as they are).
    quota = next(iter(kernels.values())).limits.threads
    code = (
        "import threadpoolctl\nsorted({i['num_threads'] for i in threadpoolctl.threadpool_info()})"
    )
    pools = run(alice, a2, code)
    assert pools["outputs"][0]["data"]["text/plain"] == f"[{quota}]", pools
    # alice's two kernels share a sandbox; bob sees only his own kernel and template.
    assert len(looks[b1]["pids"]) < len(looks[a1]["pids"])

    # Past its memory limit a forked kernel dies alone: its sibling and the template live on.
    died = run(alice, a1, hostile.memory_hogs(3, 400))
    assert died["status"] == "error" and died["ename"] == "KernelDied", died
    assert "512 MiB" in died["evalue"], died["evalue"]
    assert run(alice, a2, "21 * 2")["outputs"][0]["data"]["text/plain"] == "42"
    assert run(alice, a1, "'x' in globals()")["outputs"][0]["data"]["text/plain"] == "False"
    assert run(bob, b1, "1 + 1")["status"] == "ok"

    # Interrupts reach the kernel alone (ipykernel signals its process group).
    r = alice.post(
        f"/api/v1/sessions/{a2}/execute", json={"code": "import time; time.sleep(60)", "timeout": 2}
    )
    assert r.json()["ename"] == "TimeoutError", r.text
    assert run(alice, a1, "1")["status"] == "ok"
    # A kernel that exits says how; the session gets a fresh one from the same template.
    gone = run(bob, b1, "import os; os._exit(3)")
    assert gone["ename"] == "KernelDied" and "3" in gone["evalue"], gone
    assert run(bob, b1, "2 + 2")["outputs"][0]["data"]["text/plain"] == "4"
    # The limits' own error messages, set by the setup code the child ran before it was ready.
    blocked = run(bob, b1, "raise BlockingIOError(11, 'Resource temporarily unavailable')")
    assert "SURICATE_KERNEL_PIDS" in blocked["evalue"], blocked
    # IPython's `?` (a pager's text in JupyterLab) comes back as an output.
    (help_text,) = run(bob, b1, "len?")["outputs"]
    assert "Return the number of items" in help_text["data"]["text/plain"], help_text
    history = run(bob, b1, "%history -n")["outputs"][0]["text"]
    assert "2 + 2" in history and "os._exit" not in history, history
    # A kernel that quits ends as a cold one: its exit handlers run, its open files are flushed
    # (seen from its sibling, in the /tmp their template gives them both).
    leaving = (
        "import atexit\natexit.register(lambda: open('/tmp/ran', 'w').write('ran'))\n"
        "f = open('/tmp/buffered', 'w')\nf.write('unflushed')\nquit()"
    )
    assert run(alice, a2, leaving)["status"] == "ok"
    left = (
        "import time; time.sleep(0.5); print(open('/tmp/ran').read(), open('/tmp/buffered').read())"
    )
    assert run(alice, a1, left)["outputs"][0]["text"] == "ran unflushed\n"
