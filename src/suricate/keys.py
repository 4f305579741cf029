"""Secrets kept in the data dir: made once, readable by the server's user only."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def kept_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """Return the secret kept in ``path``; the first call makes it with ``make`` (mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(make())
    return path.read_bytes().strip()
