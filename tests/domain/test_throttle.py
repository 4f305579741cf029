"""The login throttle: exponential back-off per name and per address, never a long lock-out."""

from __future__ import annotations

import pytest

from suricate.domain.throttle import (
    ADDRESS_FREE,
    ADDRESS_MAX_WAIT,
    NAME_FREE,
    NAME_MAX_WAIT,
    LoginThrottle,
)
from suricate.errors import TooManyAttempts


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
