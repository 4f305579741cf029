"""What the tests share: waiting, real `suricate` processes, and the services they run against."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
FILES = ROOT / "tests" / "files"  # test data kept with the tests
PASSWORD = "correct horse battery"  # every test user's password
# Brokers and webhook receivers of the tests listen on loopback, which the outbound guard
# refuses by default: the tests allow it explicitly, as an operator would.
LOOPBACK_ALLOWED = "127.0.0.1,localhost"
