"""Fill the free space left in a kernel template's heaps, so that its kernels allocate elsewhere.

After the stack is imported, the template's memory is full of small holes: free blocks in
Python's object pools (pymalloc) and free chunks in glibc's heap, each on a page that also holds
live objects. A kernel forked from it would allocate its first objects into those holes, and
each allocation there copies a whole shared page into the kernel (copy-on-write). Taken here,
once, by objects that are never freed, the holes cost no new memory (their pages are resident
already) and a kernel's allocations go to fresh pages of its own, packed together: 1.3 MiB less
of each kernel's own memory measured (17.0 -> 15.7 MiB USS, `bench/bench_density.py`).

Both read their allocator's own report: ``sys._debugmallocstats()`` (CPython) and
``malloc_info()`` (glibc). Where either is missing or says something else, nothing is filled.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
from typing import Any

# What fills the holes: kept for the template's lifetime (and so in every kernel, shared).
FILLERS: list[Any] = []
ROUNDS = 3  # each round fills what the previous one's own allocations opened
BYTES_HEADER = sys.getsizeof(b"")  # a bytes object of n bytes takes n + this
POOL_SIZE = 16 * 1024
# "class   size   num pools   blocks in use  avail blocks", one row per size class
POOL_ROWS = r"^\s+\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)$"
FREE_CHUNKS = r'<size from="(\d+)" to="\d+" total="\d+" count="(\d+)"'


def fill() -> None:
    """Fill pymalloc's free blocks and pools, then glibc's free chunks (never raises)."""
    with contextlib.suppress(Exception):
        _fill_pools()
    with contextlib.suppress(Exception):
        _fill_heap()


def _fill_pools() -> None:
    """Take every free block of every size class, and the arenas' free pools, with objects
    of the class's exact size."""
    for _ in range(ROUNDS):
        report = _captured_stderr(sys._debugmallocstats)
        rows = re.findall(POOL_ROWS, report, re.M)
        for size_text, avail_text in rows:
            size, avail = int(size_text), int(avail_text)
            FILLERS.extend(_object_of(size) for _ in range(avail))
        unused = re.search(r"^(\d+) unused pools", report, re.M)
        if unused:
            largest = 512
            count = int(unused.group(1)) * (POOL_SIZE // largest)
            FILLERS.extend(_object_of(largest) for _ in range(count))


def _object_of(size: int) -> object:
    """A new object that pymalloc puts in a block of ``size`` bytes."""
    if size == 16:
        return object()
    if size == 32:
        return float(len(FILLERS)) + 0.5
    return bytes(size - BYTES_HEADER)


def _fill_heap() -> None:
    """Take glibc's free chunks of the main heap (the template's one thread): its cache of
    freed chunks first, then each free chunk size its ``malloc_info`` lists."""
    libc = ctypes.CDLL(None)
    malloc = libc.malloc
    malloc.restype = ctypes.c_void_p
    malloc.argtypes = [ctypes.c_size_t]
    for request in range(24, 1033, 16):  # the thread's cache: up to 7 chunks of each size
        for _ in range(7):
            malloc(request)
    for _ in range(ROUNDS):
        heap = _malloc_info(libc).split('<heap nr="0">', 1)[1].split("</heap>", 1)[0]
        for low, count in re.findall(FREE_CHUNKS, heap):
            # A chunk of n bytes holds a request of n - 8 (its size field); "from" is n + 1.
            request = max(int(low) - 9, 16)
            for _ in range(int(count)):
                malloc(request)


def _malloc_info(libc: Any) -> str:
    libc.fopen.restype = ctypes.c_void_p
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    with tempfile.NamedTemporaryFile() as out:
        stream = libc.fopen(out.name.encode(), b"w")
        if not stream:
            raise OSError("fopen")
        try:
            libc.malloc_info(0, stream)
        finally:
            libc.fclose(stream)
        return out.read().decode()


def _captured_stderr(write: Any) -> str:
    """What ``write()`` prints to the C-level stderr."""
    with tempfile.TemporaryFile() as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            write()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        return out.read().decode(errors="replace")
