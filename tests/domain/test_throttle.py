"""The login throttle: exponential back-off per name and per address, never a long lock-out;
shared by frontend replicas through the database."""

from __future__ import annotations

import pytest

from suricate.domain.throttle import (
    ADDRESS_FREE,
    ADDRESS_MAX_WAIT,
    FORGET_AFTER,
    NAME_FREE,
    NAME_MAX_WAIT,
    LoginThrottle,
    SharedAttempts,
)
from suricate.errors import TooManyAttempts
from suricate.store.db import Database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _waits(throttle: LoginThrottle, name: str, address: str) -> int:
    try:
        throttle.check(name, address)
    except TooManyAttempts as exc:
        return exc.retry_after
    return 0


def test_a_name_backs_off_exponentially_up_to_a_short_cap() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    waits = []
    for i in range(NAME_FREE + 8):
        # Each guess from a new address: only the name's back-off applies.
        address = f"198.51.100.{i}"
        assert _waits(throttle, "alice", address) == 0
        throttle.failed("alice", address)
        waits.append(_waits(throttle, "alice", f"203.0.113.{i}"))
        clock.now += waits[-1]
    assert waits[: NAME_FREE - 1] == [0] * (NAME_FREE - 1)
    assert waits[NAME_FREE - 1 : NAME_FREE + 3] == [1, 2, 4, 8]
    assert max(waits) == NAME_MAX_WAIT


def test_an_attacker_cannot_lock_the_user_out_of_a_known_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    throttle.succeeded("alice", "192.0.2.7")  # alice's own browser, earlier
    for _ in range(100):
        throttle.failed("alice", "198.51.100.1")
        clock.now += 0.1
    assert _waits(throttle, "alice", "198.51.100.2") > 0  # a stranger waits
    assert _waits(throttle, "alice", "192.0.2.7") == 0  # alice does not
    clock.now += NAME_MAX_WAIT
    assert _waits(throttle, "alice", "198.51.100.2") == 0  # and nobody waits long


def test_an_address_guessing_many_names_backs_off() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for i in range(ADDRESS_FREE):
        throttle.failed(f"user{i}", "198.51.100.9")
    wait = _waits(throttle, "someone", "198.51.100.9")
    assert wait == 1
    for i in range(30):
        throttle.failed(f"more{i}", "198.51.100.9")
    assert _waits(throttle, "someone", "198.51.100.9") == ADDRESS_MAX_WAIT
    assert _waits(throttle, "someone", "198.51.100.10") == 0


def test_a_success_clears_the_failures() -> None:
    throttle = LoginThrottle(Clock())
    for _ in range(NAME_FREE):
        throttle.failed("bob", "192.0.2.1")
    with pytest.raises(TooManyAttempts):
        throttle.check("bob", "192.0.2.1")
    throttle.succeeded("bob", "192.0.2.1")
    throttle.check("BOB", "192.0.2.1")


def test_frontend_replicas_share_one_throttle(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    try:
        clock = Clock()
        a, b = LoginThrottle(clock, SharedAttempts(db)), LoginThrottle(clock, SharedAttempts(db))
        for i in range(NAME_FREE):  # guesses spread over both replicas count as one
            (a if i % 2 else b).failed("alice", f"198.51.100.{i}")
        assert _waits(a, "alice", "198.51.100.99") == 1
        assert _waits(b, "Alice", "198.51.100.98") == 1
        a.succeeded("alice", "192.0.2.7")
        assert _waits(b, "alice", "192.0.2.7") == 0  # trusted on every replica
        assert _waits(b, "alice", "198.51.100.97") == 0  # and the name's failures are cleared
        # Entries past any use go: failures after an hour, trusted pairs after TRUSTED_DAYS.
        store = SharedAttempts(db)
        store.PRUNE_EVERY = 1
        b.failed("mallory", "198.51.100.50")
        clock.now += FORGET_AFTER + 1
        LoginThrottle(clock, store).failed("eve", "198.51.100.51")
        assert store.get("name", "mallory") is None
        assert store.get("trusted", "alice\n192.0.2.7") is not None
        assert store.count() == 3  # eve, her address, alice's trusted pair
    finally:
        db.dispose()
