"""Where the local server is: the CLI finds its data dir and URL the way a user expects.

A server (``suricate serve`` or ``suricate demo``) notes its data dir and address in
``$XDG_CONFIG_HOME/suricate/server.json`` (``~/.config/suricate/server.json``) once it owns the
data dir. The CLI's admin commands (``user``, ``tenant``, ``token``, ``db``) then use, in order:
``SURICATE_DATA_DIR`` or ``SURICATE_DATABASE_URL`` when set; ``./suricate-data`` when it exists
here; the data dir the last server noted; and only then a new ``./suricate-data``, with a
warning. Client commands use ``SURICATE_URL`` when set, else the address the last server noted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("./suricate-data")


@dataclass(frozen=True)
class Noted:
    """What the last server started on this machine (by this user) noted about itself."""

    data_dir: Path
    url: str
    started_at: float


def note_path() -> Path:
    """The file a server notes itself in."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "suricate" / "server.json"


def note_server(data_dir: Path, url: str) -> None:
    """Note this server's data dir and address for the CLI (best effort: never fails serving)."""
    path = note_path()
    record = {"data_dir": str(data_dir.resolve()), "url": url, "started_at": time.time()}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)


def noted_server() -> Noted | None:
    """What the last server noted, if the note is readable and its data dir still exists."""
    try:
        raw = json.loads(note_path().read_text())
        noted = Noted(Path(raw["data_dir"]), str(raw["url"]), float(raw["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return noted if noted.data_dir.is_dir() else None


@dataclass(frozen=True)
class Choice:
    """The data dir a CLI command uses, and why (said on stderr)."""

    data_dir: Path | None  # None: the settings' own (set in the environment)
    why: str
    warning: bool = False


def choose_data_dir(environ: dict[str, str] | None = None) -> Choice:
    """Choose the data dir for an admin command (see the module's docstring)."""
    env = os.environ if environ is None else environ
    if env.get("SURICATE_DATA_DIR") or env.get("SURICATE_DATABASE_URL"):
        return Choice(None, "as set in the environment")
    if DEFAULT_DATA_DIR.is_dir():
        return Choice(DEFAULT_DATA_DIR, "found here")
    noted = noted_server()
    if noted is not None:
        return Choice(noted.data_dir, f"the data dir of the server last started at {noted.url}")
    return Choice(
        DEFAULT_DATA_DIR,
        "NEW: no data dir here and no server noted one; set SURICATE_DATA_DIR to use another",
        warning=True,
    )


def choose_url(environ: dict[str, str] | None = None) -> str | None:
    """The server a client command talks to when SURICATE_URL is not set; None: the default."""
    env = os.environ if environ is None else environ
    if env.get("SURICATE_URL"):
        return None
    noted = noted_server()
    return noted.url if noted is not None else None
