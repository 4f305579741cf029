"""The template's holes are filled: what a kernel allocates first goes to fresh pages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, gc, json, re, sys
import email.mime.multipart, http.client, xml.dom.minidom  # some garbage and holes
from suricate.node import holes

def free():
    report = holes._captured_stderr(sys._debugmallocstats)
    blocks = sum(int(a) for _, a in re.findall(holes.POOL_ROWS, report, re.M))
    heap = holes._malloc_info(ctypes.CDLL(None)).split('<heap nr="0">', 1)[1].split("</heap>", 1)[0]
    chunks = sum(int(c) for _, c in re.findall(holes.FREE_CHUNKS, heap))
    return blocks, chunks

junk = [bytes(n % 700) for n in range(20000)]
del junk[::3]
gc.collect()
before = free()
holes.fill()
print(json.dumps({"before": before, "after": free(), "fillers": len(holes.FILLERS)}))
"""


def test_fill_takes_the_free_blocks_and_chunks() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    (blocks_before, chunks_before), (blocks_after, chunks_after) = found["before"], found["after"]
    assert found["fillers"] > 0
    # What is left: the partly used pools and chunks the filling itself opened, one or two each.
    assert blocks_after < blocks_before / 2, found
    assert chunks_after < max(chunks_before / 4, 20), found


def test_fill_never_raises_without_the_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    from suricate.node import holes

    def broken() -> None:
        raise RuntimeError("no allocator report here")

    monkeypatch.setattr(holes, "_fill_pools", broken)
    monkeypatch.setattr(holes, "_fill_heap", broken)
    holes.fill()
