"""A hostile tenant's notebook cells (issue 13), and what each must come to.

Each probe prints one JSON line; ``result_of`` reads it back from an execute answer. The tests
run them on the embedded node (tests/node/test_sandbox.py) and on a RabbitMQ execution node
(tests/scenarios/test_isolation.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Who am I, what may I do: uid, capabilities, seccomp, and every escape the issue tried.
IDENTITY = """
import ctypes, errno, json, os, sys, site
libc = ctypes.CDLL(None, use_errno=True)
lines = open('/proc/self/status').read().splitlines()
status = dict(line.split(':\\t', 1) for line in lines if ':\\t' in line)
out = {'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(), 'groups': os.getgroups(),
       'CapEff': status['CapEff'].strip(), 'CapPrm': status['CapPrm'].strip(),
       'CapBnd': status['CapBnd'].strip(), 'Seccomp': status['Seccomp'].strip(),
       'NoNewPrivs': status['NoNewPrivs'].strip()}
MS_REMOUNT, MS_BIND, MS_NOSUID, MS_NODEV = 32, 4096, 2, 4
def mount(target):
    r = libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, None)
    return 'ok' if r == 0 else errno.errorcode[ctypes.get_errno()]
venv = sys.prefix
out['mount'] = {p: mount(p) for p in (venv, '/usr', '/etc')}
def write(path):
    try:
        with open(path, 'w') as f:
            f.write('import os  # hostile\\n')
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
pth = os.path.join(site.getsitepackages()[0], 'zz_hostile.pth')
out['write'] = {p: write(p) for p in (pth, '/usr/zz_hostile', '/etc/zz_hostile')}
try:
    open('/etc/shadow').read(1)
    out['shadow'] = 'ok'
except OSError as e:
    out['shadow'] = errno.errorcode[e.errno]
def unshare(flags):
    return 'ok' if libc.unshare(flags) == 0 else errno.errorcode[ctypes.get_errno()]
out['unshare'] = unshare(0x10000000)  # CLONE_NEWUSER
out['unshare_mnt'] = unshare(0x00020000)  # CLONE_NEWNS
out['ptrace'] = 'ok' if libc.ptrace(0, 0, None, None) == 0 else errno.errorcode[ctypes.get_errno()]
pid = os.fork()
if pid == 0:
    os._exit(0)
out['ptrace_child'] = ('ok' if libc.ptrace(16, pid, None, None) == 0
                      else errno.errorcode[ctypes.get_errno()])  # PTRACE_ATTACH
os.waitpid(pid, 0)
print(json.dumps(out))
"""


# Four children of 1.5 GB each (bounded by the caller's limit): the memory limit is for the tree.
def memory_hogs(children: int, mb: int) -> str:
    return f"""
import subprocess, sys
code = ('b = bytearray({mb} * 1024 * 1024)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n'
        'import time; time.sleep(30)')
procs = [subprocess.Popen([sys.executable, '-c', code]) for _ in range({children})]
print([p.wait() for p in procs])
"""


# 500 processes, kept alive until the cell ends.
FORK_BOMB = """
import json, subprocess
procs, error = [], None
try:
    for _ in range(500):
        procs.append(subprocess.Popen(['sleep', '30']))
except OSError as e:
    error = {'type': type(e).__name__, 'errno': e.errno, 'message': str(e)}
for p in procs:
    p.kill()
    p.wait()
print(json.dumps({'started': len(procs), 'error': error}))
"""


def fill(path: str, mb: int) -> str:
    """Write up to ``mb`` MiB into ``path`` in 16 MiB chunks; print how far it got."""
    return f"""
import errno, json, os
written, error = 0, None
chunk = b'x' * (16 * 1024 * 1024)
try:
    with open({path!r}, 'wb') as f:
        while written < {mb}:
            f.write(chunk)
            f.flush()
            written += 16
except OSError as e:
    error = {{'errno': errno.errorcode[e.errno], 'message': str(e)}}
os.remove({path!r})
print(json.dumps({{'written_mb': written, 'error': error}}))
"""


SPIN_AFTER_RETURN = """
import threading
def _spin():
    while True:
        pass
threading.Thread(target=_spin, daemon=True).start()
'cell returned'
"""


def result_of(answer: dict[str, Any]) -> Any:
    """Return the JSON a probe printed, from an execute answer."""
    assert answer["status"] == "ok", answer
    text = "".join(o.get("text", "") for o in answer["outputs"] if o["output_type"] == "stream")
    return json.loads(text.strip().splitlines()[-1])


def host_uids(pids: set[int]) -> dict[int, int]:
    """Return each live process's real uid as the host sees it."""
    uids = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        uids[pid] = int(
            next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1]
        )
    return uids


def assert_confined(identity: dict[str, Any]) -> None:
    """Hold a kernel's IDENTITY answer to the issue's 'How it will be checked'."""
    assert identity["uid"] != 0 and identity["euid"] != 0 and identity["gid"] != 0, identity
    assert identity["groups"] == [], identity
    assert int(identity["CapEff"], 16) == 0, identity
    assert int(identity["CapPrm"], 16) == 0, identity
    assert int(identity["CapBnd"], 16) == 0, identity
    assert identity["Seccomp"] == "2", identity
    assert identity["NoNewPrivs"] == "1", identity
    assert all(v == "EPERM" for v in identity["mount"].values()), identity
    assert all(v in ("EROFS", "EACCES", "EPERM") for v in identity["write"].values()), identity
    assert identity["shadow"] in ("EACCES", "ENOENT"), identity
    assert identity["unshare"] == "EPERM" and identity["unshare_mnt"] == "EPERM", identity
    assert identity["ptrace"] == "EPERM" and identity["ptrace_child"] == "EPERM", identity


def venv_untouched() -> None:
    """No probe left a file in the venv (a .pth there would run in every later kernel)."""
    import site

    assert not (Path(site.getsitepackages()[0]) / "zz_hostile.pth").exists()
    assert sys.prefix  # the venv the tests run in is the one kernels see
