"""Login throttling: exponential back-off per user name and per client address.

The policy (see docs/security.md):

- A user name that failed ``NAME_FREE`` times in a row waits ``2 ** (failures - NAME_FREE)``
  seconds, at most ``NAME_MAX_WAIT`` (30 s), before the next try of its password is even checked:
  an attacker gets a few guesses a minute at best, and can hold a user up for seconds, not lock
  them out.
- A client address that logged in as that user before (within ``TRUSTED_DAYS``) skips the
  name's back-off: the user's own browser gets in while someone elsewhere guesses.
- A client address that failed ``ADDRESS_FREE`` times in a row (any names) waits
  ``2 ** (failures - ADDRESS_FREE)`` seconds, at most ``ADDRESS_MAX_WAIT`` (15 min).
- A success clears the name's and the address's failures; failures are forgotten after
  ``FORGET_AFTER`` seconds without one. Tries refused while waiting do not count.

State lives in this process's memory, bounded in size (the embedded default), or, with frontend
replicas, in the database (``SharedAttempts``): every replica sees the same failures.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, or_, select

from suricate.errors import TooManyAttempts
from suricate.store.db import Database
from suricate.store.tables import LoginAttempt

NAME_FREE = 5
NAME_MAX_WAIT = 30.0
ADDRESS_FREE = 10
ADDRESS_MAX_WAIT = 900.0
FORGET_AFTER = 3600.0
TRUSTED_DAYS = 30
_MAX_ENTRIES = 100_000


@dataclass
class _Failures:
    count: int
    last: float


class _Bounded(OrderedDict[str, object]):
    """An LRU map: the oldest entries go first once it is full."""

    def put(self, key: str, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _MAX_ENTRIES:
            self.popitem(last=False)


class Attempts(Protocol):
    """Where the throttle keeps its entries: (kind, key) -> (count, last time)."""

    def get(self, kind: str, key: str) -> _Failures | None: ...

    def put(self, kind: str, key: str, entry: _Failures) -> None: ...

    def pop(self, kind: str, key: str) -> None: ...


class MemoryAttempts:
    """This process's memory, bounded: the embedded default."""

    def __init__(self) -> None:
        self._tables: dict[str, _Bounded] = {}

    def get(self, kind: str, key: str) -> _Failures | None:
        table = self._tables.get(kind)
        entry = table.get(key) if table is not None else None
        return entry if isinstance(entry, _Failures) else None

    def put(self, kind: str, key: str, entry: _Failures) -> None:
        self._tables.setdefault(kind, _Bounded()).put(key, _Failures(entry.count, entry.last))

    def pop(self, kind: str, key: str) -> None:
        self._tables.get(kind, _Bounded()).pop(key, None)


class SharedAttempts:
    """The database (``login_attempts``), for frontend replicas; times are wall-clock seconds.

    Entries past any use are removed every ``PRUNE_EVERY`` writes.
    """

    PRUNE_EVERY = 500

    def __init__(self, db: Database) -> None:
        self.db = db
        self._writes = 0

    def get(self, kind: str, key: str) -> _Failures | None:
        with self.db.session() as s:
            row = s.get(LoginAttempt, (kind, key[:255]))
            return _Failures(row.count, row.last) if row is not None else None

    def put(self, kind: str, key: str, entry: _Failures) -> None:
        from sqlalchemy.exc import IntegrityError

        for _ in range(2):  # another replica may insert the same key at the same moment
            try:
                with self.db.session() as s:
                    row = s.get(LoginAttempt, (kind, key[:255]))
                    if row is None:
                        s.add(
                            LoginAttempt(
                                kind=kind, key=key[:255], count=entry.count, last=entry.last
                            )
                        )
                    else:
                        row.count, row.last = entry.count, entry.last
                break
            except IntegrityError:
                continue
        self._writes += 1
        if self._writes % self.PRUNE_EVERY == 0:
            self._prune(entry.last)

    def pop(self, kind: str, key: str) -> None:
        with self.db.session() as s:
            s.execute(
                delete(LoginAttempt).where(LoginAttempt.kind == kind, LoginAttempt.key == key[:255])
            )

    def _prune(self, now: float) -> None:
        with self.db.session() as s:
            s.execute(
                delete(LoginAttempt).where(
                    or_(
                        (LoginAttempt.kind != "trusted") & (LoginAttempt.last < now - FORGET_AFTER),
                        LoginAttempt.last < now - TRUSTED_DAYS * 86400,
                    )
                )
            )

    def count(self) -> int:
        """How many entries are kept (for tests and metrics)."""
        from sqlalchemy import func

        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(LoginAttempt)) or 0)


class LoginThrottle:
    """Decide whether a login may be checked now, and remember how logins went."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, attempts: Attempts | None = None
    ) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.attempts: Attempts = attempts if attempts is not None else MemoryAttempts()

    @classmethod
    def shared(cls, db: Database) -> LoginThrottle:
        """A throttle every frontend replica on ``db`` shares (wall-clock time)."""
        return cls(time.time, SharedAttempts(db))

    def check(self, name: str, address: str) -> None:
        """Raise ``TooManyAttempts`` if this login must wait; else return at once."""
        name = name.strip().lower()
        now = self.clock()
        with self._lock:
            waits = [self._wait("address", address, ADDRESS_FREE, ADDRESS_MAX_WAIT, now)]
            if not self._is_trusted(name, address, now):
                waits.append(self._wait("name", name, NAME_FREE, NAME_MAX_WAIT, now))
        wait = max(waits)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyAttempts(seconds, f"too many failed logins; try again in {seconds} s")

    def failed(self, name: str, address: str) -> None:
        """Count a wrong password (or an unknown user) for the name and the address."""
        name = name.strip().lower()
        now = self.clock()
        with self._lock:
            for kind, key in (("name", name), ("address", address)):
                entry = self.attempts.get(kind, key)
                if entry is None or now - entry.last > FORGET_AFTER:
                    entry = _Failures(0, now)
                entry.count += 1
                entry.last = now
                self.attempts.put(kind, key, entry)

    def succeeded(self, name: str, address: str) -> None:
        """Clear the failures of the name and the address, and trust the pair for a while."""
        name = name.strip().lower()
        with self._lock:
            self.attempts.pop("name", name)
            self.attempts.pop("address", address)
            self.attempts.put("trusted", f"{name}\n{address}", _Failures(0, self.clock()))

    def _is_trusted(self, name: str, address: str, now: float) -> bool:
        since = self.attempts.get("trusted", f"{name}\n{address}")
        return since is not None and now - since.last < TRUSTED_DAYS * 86400

    def _wait(self, kind: str, key: str, free: int, most: float, now: float) -> float:
        entry = self.attempts.get(kind, key)
        if entry is None or entry.count < free:
            return 0.0
        if now - entry.last > FORGET_AFTER:
            return 0.0
        backoff = min(most, 2.0 ** (entry.count - free))
        return entry.last + backoff - now
