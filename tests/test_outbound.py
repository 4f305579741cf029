"""The outbound guard: non-public addresses refused unless allowed, checked where it connects.

Private, metadata and other non-loopback addresses are only ever classified here, never
contacted; connections in these tests go to 127.0.0.1 alone.
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from suricate.errors import OutboundRefused, OutboundUnreachable
from suricate.outbound import Outbound, is_public

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # AWS, GCP, Azure metadata
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # Alibaba metadata (CGNAT range)
    "192.0.0.192",  # Oracle metadata
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # 169.254.169.254 through NAT64
    "2002:7f00:1::1",  # 127.0.0.1 through 6to4
    "2001:0::1",  # Teredo
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    with pytest.raises(OutboundRefused):
        Outbound().check_host(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))
    Outbound().check_host(address)


def test_the_allow_list_takes_cidrs_and_host_names() -> None:
    guard = Outbound(["127.0.0.1", "10.0.0.0/8", "rabbit.internal", "*.mq.example.com"])
    guard.check_host("127.0.0.1")
    guard.check_host("10.200.0.1")
    guard.check_host("::ffff:127.0.0.1")
    with pytest.raises(OutboundRefused):
        guard.check_host("127.0.0.2")
    with pytest.raises(OutboundRefused):
        guard.check_host("169.254.169.254")
    assert guard.name_allowed("rabbit.internal") and guard.name_allowed("a.mq.example.com")
    assert not guard.name_allowed("mq.example.com.evil.test")


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "0xa9fea9fe"])
def test_ipv4_shorthands_are_read_as_the_addresses_they_are(host: str) -> None:
    with pytest.raises(OutboundRefused):
        Outbound().check_host(host)


def test_loopback_names_are_refused_without_asking_dns() -> None:
    for host in ("localhost", "LOCALHOST.", "api.localhost"):
        with pytest.raises(OutboundRefused):
            Outbound().check_host(host)


def _fixed(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    return resolve, calls


def test_a_name_is_checked_on_what_it_resolves_to() -> None:
    resolver, _ = _fixed(
        {
            "hooks.example.test": ["93.184.216.34"],
            "inside.example.test": ["10.0.0.5"],
            "both.example.test": ["93.184.216.34", "169.254.169.254"],
            "rabbit.internal": ["10.0.0.7"],
        }
    )
    guard = Outbound(["rabbit.internal"], resolver=resolver)
    assert asyncio.run(guard.resolve("hooks.example.test", 443)) == "93.184.216.34"
    for refused in ("inside.example.test", "both.example.test"):
        with pytest.raises(OutboundRefused):
            asyncio.run(guard.resolve(refused, 443))
    # A host name on the allow-list may resolve anywhere.
    assert asyncio.run(guard.resolve("rabbit.internal", 5672)) == "10.0.0.7"
    with pytest.raises(OutboundUnreachable):
        asyncio.run(guard.resolve("nowhere.invalid", 443))


def test_the_address_checked_is_the_address_returned_to_connect_to() -> None:
    # A rebinding name answers a public address first, loopback after: the connection goes
    # to the first answer, the one checked, since the guard resolves once.
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    guard = Outbound(resolver=rebinding)
    assert asyncio.run(guard.resolve("rebind.example.test", 80)) == "93.184.216.34"
    with pytest.raises(OutboundRefused):
        asyncio.run(guard.resolve("rebind.example.test", 80))
