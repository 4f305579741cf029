"""The template gives its library pages back to the page cache, and nothing it wrote."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import ctypes, json, mmap, os, tempfile
import numpy
from suricate.node import mappings

def file_rss():
    total, path = 0, None
    for line in open('/proc/self/smaps'):
        match = mappings._MAPPING.match(line)
        if match:
            path = (match.group(4) or '').strip()
        elif line.startswith('Rss:') and path.startswith('/'):
            total += int(line.split()[1])
    return total

# A private mapping of a file, written (so a private copy of its page, as a relocation makes),
# then made read-only: it must keep what was written.
fd, name = tempfile.mkstemp()
os.write(fd, b'a' * mmap.PAGESIZE)
both = mmap.PROT_READ | mmap.PROT_WRITE
written = mmap.mmap(fd, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE, prot=both)
written[0:1] = b'X'
libc = ctypes.CDLL(None, use_errno=True)
address = ctypes.addressof(ctypes.c_char.from_buffer(written))
assert libc.mprotect(ctypes.c_void_p(address), mmap.PAGESIZE, mmap.PROT_READ) == 0
before = file_rss()
dropped = mappings.drop()
print(json.dumps({
    'before': before, 'after': file_rss(), 'dropped': dropped,
    'kept': written[0:1].decode(), 'works': float(numpy.arange(4).sum()),
    'ours': any(start == address for start, _ in mappings.droppable()),
}))
os.unlink(name)
"""


def test_library_pages_go_back_and_private_copies_stay() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    # numpy's and Python's own code and read-only data: tens of MiB of mappings, and most of
    # what the imports had mapped of them is given back.
    assert result["dropped"] > 10 * 1024 * 1024, result
    assert result["after"] < result["before"] / 2, result
    # What was written to a private mapping of a file is never thrown away, nor is it a
    # candidate; numpy runs on (its code mapped back as it runs).
    assert result["kept"] == "X" and not result["ours"], result
    assert result["works"] == 6.0
