"""The kernels' syscall filter: a deny-list compiled by libseccomp, handed to bubblewrap.

The filter is built in the node (unsandboxed) with libseccomp through its Python binding,
exported as classic BPF, and given to ``bwrap --seccomp FD`` in a memfd; bubblewrap installs it
(with no_new_privs) right before it execs the kernel, after its own namespace and mount setup.
libseccomp, not a hand-written BPF program: it owns the syscall tables of each architecture,
the argument comparisons and the jump layout, which are easy to get subtly wrong by hand.

Binding: libseccomp's own (``import seccomp``: Debian's python3-seccomp, only for Debian's
Python) when importable, else ``pyseccomp`` from PyPI (ctypes over Debian's libseccomp2, the
same API).

Policy: allow by default; the listed syscalls fail with EPERM; ``clone`` fails with EPERM when
its flags ask for a new namespace; ``clone3`` fails with ENOSYS, so that glibc falls back to
``clone``, whose flags a filter can read (clone3 passes them in memory it cannot); a syscall of
another ABI (int 0x80 or x32 on x86_64) kills the process.
"""

from __future__ import annotations

import errno
import os
from typing import Any

# Fail with EPERM: what the issue names, then what container runtimes deny by default.
DENY: tuple[str, ...] = (
    # mounts (old and new API) and root changes
    "mount", "umount", "umount2", "pivot_root", "chroot",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # namespaces
    "unshare", "setns",
    # tracing, other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise",
    # BPF, perf
    "bpf", "perf_event_open",
    # kernel keyrings
    "keyctl", "add_key", "request_key",
    # modules, reboot, swap, kexec
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "kexec_load", "kexec_file_load",
    # frequent kernel-exploit vectors
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at",
    # host-wide state
    "syslog", "acct", "quotactl", "quotactl_fd", "lookup_dcookie", "uselib", "nfsservctl",
    "_sysctl", "vhangup", "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime",
)  # fmt: skip

# clone(2) flags that make namespaces.
NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
TIOCSTI = 0x5412  # push characters into a terminal's input


def _binding() -> Any:
    import importlib

    try:
        return importlib.import_module("seccomp")
    except ImportError:
        return importlib.import_module("pyseccomp")


def build() -> Any:
    """Return the libseccomp filter for the native architecture."""
    s = _binding()
    f = s.SyscallFilter(s.ALLOW)
    f.set_attr(s.Attr.ACT_BADARCH, s.KILL_PROCESS)
    eperm = s.ERRNO(errno.EPERM)
    for name in DENY:
        # Names that do not exist on this architecture get pseudo numbers that libseccomp
        # leaves out of the program; a name it does not know at all is a bug here.
        try:
            number = s.resolve_syscall(s.Arch.NATIVE, name)
        except ValueError:
            number = -1
        if number == -1:
            raise RuntimeError(f"libseccomp does not know the syscall {name!r}")
        f.add_rule(eperm, name)
    for flag in NAMESPACE_FLAGS:  # arg 0 of clone is its flags on x86_64 and aarch64
        f.add_rule(eperm, "clone", s.Arg(0, s.MASKED_EQ, flag, flag))
    f.add_rule(s.ERRNO(errno.ENOSYS), "clone3")
    f.add_rule(eperm, "ioctl", s.Arg(1, s.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    return f


def program() -> bytes:
    """Return the filter as the ``struct sock_filter[]`` that ``bwrap --seccomp`` reads."""
    fd = os.memfd_create("suricate-seccomp", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            build().export_bpf(out)
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def memfd(data: bytes) -> int:
    """Return a new fd holding ``data`` from its start, for one kernel start.

    bwrap reads it to the end, so each start needs its own; it is close-on-exec here, and
    ``pass_fds`` hands it to the child only.
    """
    fd = os.memfd_create("suricate-seccomp", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
