"""Drop the template's page-table entries for library files, once its imports are done.

Importing the stack faults in code and read-only data of ~300 shared libraries and extension
modules, and on each fault the kernel maps the cached pages around it too (fault-around, 64
KiB), so the template ends up mapping 90-115 MiB of library pages, most of them code that only
ran at import or never ran at all. Those mappings cost memory of their own (page tables), keep
unused pages looking in use (mapped pages are the last the kernel reclaims), and make every
measure of a template's memory (RSS, PSS) depend on which pages of each library happened to be
cached when it faulted.

``drop()`` asks the kernel to unmap (``MADV_DONTNEED``) the pages of every read-only mapping of
a file that holds no private copy (``Anonymous: 0 kB`` and ``Swap: 0 kB`` in
``/proc/self/smaps``: no relocation or other write ever made a private page there). Such a
mapping holds nothing but page-cache pages: dropping their entries loses nothing, the pages
stay in the page cache, and whoever touches one again (the template, or a kernel forked from
it) maps it back with a minor fault. Writable mappings, and read-only ones with private pages
(``.data.rel.ro`` after relocation), are never touched: there, ``MADV_DONTNEED`` would throw
away what was written.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import re

# A mapping's first line: "start-end perms offset dev inode [path]" (every other line of a
# mapping is "Field: value").
_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+(?:\s+(.*))?$")


def droppable() -> list[tuple[int, int]]:
    """Return the (start, length) of each read-only file mapping with no private page."""
    found: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    private = True
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            match = _MAPPING.match(line)
            if match:
                start, end, perms, path = match.groups()
                path = (path or "").strip()
                readonly_file = (
                    path.startswith("/")
                    and not path.endswith("(deleted)")
                    and perms[1] == "-"
                    and perms[3] == "p"
                )
                current = (int(start, 16), int(end, 16) - int(start, 16)) if readonly_file else None
                private = True
            elif current is not None and line.startswith("Anonymous:"):
                private = line.split()[1] != "0"
            elif current is not None and line.startswith("Swap:"):
                # A private copy swapped out is no longer counted under Anonymous.
                if not private and line.split()[1] == "0":
                    found.append(current)
                current = None
    return found


def drop() -> int:
    """Unmap the pages of ``droppable()`` mappings; return how many bytes of mappings were
    given back to the page cache (0 where ``madvise`` is missing). Never raises."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        total = 0
        for start, length in droppable():
            if libc.madvise(start, length, mmap.MADV_DONTNEED) == 0:
                total += length
        return total
    return 0
