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

State lives in this process's memory, bounded in size; replicas each throttle on their own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from suricate.errors import TooManyAttempts

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


class LoginThrottle:
    """Decide whether a login may be checked now, and remember how logins went."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._names = _Bounded()
        self._addresses = _Bounded()
        self._trusted = _Bounded()

    def check(self, name: str, address: str) -> None:
        """Raise ``TooManyAttempts`` if this login must wait; else return at once."""
        name = name.strip().lower()
        now = self.clock()
        with self._lock:
            waits = [self._wait(self._addresses, address, ADDRESS_FREE, ADDRESS_MAX_WAIT, now)]
            if not self._is_trusted(name, address, now):
                waits.append(self._wait(self._names, name, NAME_FREE, NAME_MAX_WAIT, now))
        wait = max(waits)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyAttempts(seconds, f"too many failed logins; try again in {seconds} s")

    def failed(self, name: str, address: str) -> None:
        """Count a wrong password (or an unknown user) for the name and the address."""
        name = name.strip().lower()
        now = self.clock()
        with self._lock:
            for table, key in ((self._names, name), (self._addresses, address)):
                entry = table.get(key)
                if not isinstance(entry, _Failures) or now - entry.last > FORGET_AFTER:
                    entry = _Failures(0, now)
                entry.count += 1
                entry.last = now
                table.put(key, entry)

    def succeeded(self, name: str, address: str) -> None:
        """Clear the failures of the name and the address, and trust the pair for a while."""
        name = name.strip().lower()
        with self._lock:
            self._names.pop(name, None)
            self._addresses.pop(address, None)
            self._trusted.put(f"{name}\n{address}", self.clock())

    def _is_trusted(self, name: str, address: str, now: float) -> bool:
        since = self._trusted.get(f"{name}\n{address}")
        return isinstance(since, float) and now - since < TRUSTED_DAYS * 86400

    @staticmethod
    def _wait(table: _Bounded, key: str, free: int, most: float, now: float) -> float:
        entry = table.get(key)
        if not isinstance(entry, _Failures) or entry.count < free:
            return 0.0
        if now - entry.last > FORGET_AFTER:
            return 0.0
        backoff = min(most, 2.0 ** (entry.count - free))
        return entry.last + backoff - now
