"""The outbound guard: where the server and nodes may connect on a user's behalf.

Webhooks (the frontend) and stream brokers (execution nodes) are addresses users choose. Left
alone, that lets any user make the platform talk to its own loopback, the cloud's metadata
service or the private network behind it (SSRF). So every such connection goes through
``Outbound``: the host is resolved once, every address it resolves to must be public (not
loopback, private, link-local, unique-local, shared/CGNAT, multicast, reserved or a metadata
address), and the connection is made to that checked address, so a DNS answer that changes
between the check and the connect (rebinding) changes nothing. An operator opens exceptions with
``SURICATE_OUTBOUND_ALLOWED_HOSTS``: host names (``*`` wildcards) and CIDRs (``10.0.0.0/8``).

A refusal says so (``host_not_allowed``); every other failure to reach a host is reported the
same way whatever answered, so the errors do not map the network for whoever reads them.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

from suricate.errors import OutboundRefused, OutboundUnreachable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Resolves a host to its addresses (the system's resolver by default).
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Not public whatever the ipaddress module of this Python says (its tables change between
# versions): IETF assignments (Oracle's metadata is 192.0.0.192), shared/CGNAT (Alibaba's
# metadata is 100.100.100.200), benchmarking.
_NEVER_PUBLIC = [
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "100.64.0.0/10", "198.18.0.0/15")
]
# Names that are loopback whatever a resolver says.
_LOCAL_NAMES = ("localhost", "*.localhost", "localhost.localdomain")


def is_public(ip: IPAddress) -> bool:
    """Tell whether an address is on the public internet (what users may reach by default)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip in _NAT64:  # an IPv4 address through a NAT64 gateway
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _NAT64_LOCAL or ip.teredo is not None:
            return False
        if ip.sixtofour is not None:
            return is_public(ip.sixtofour)
    if any(ip in net for net in _NEVER_PUBLIC if net.version == ip.version):
        return False
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (``127.0.0.1``, ``[::1]``), or None for a name."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(part for part in host.split(".")):
        # The shorthands resolvers read as IPv4 too: 2130706433, 0x7f.1, 127.1.
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class Outbound:
    """Check and resolve destinations against the defaults and the operator's allow-list."""

    def __init__(self, allowed: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self.resolver = resolver or _getaddrinfo
        self.names: list[str] = []
        self.networks: list[IPNetwork] = []
        for item in (a.strip() for a in allowed):
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.names.append(item.lower())

    def name_allowed(self, host: str) -> bool:
        """Tell whether the allow-list names this host (a name pattern, not an address)."""
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.names)

    def address_allowed(self, ip: IPAddress) -> bool:
        """Tell whether a connection may go to this address."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            mapped: IPAddress = ip.ipv4_mapped
            if any(mapped in net for net in self.networks if net.version == 4):
                return True
        if any(ip in net for net in self.networks if net.version == ip.version):
            return True
        return is_public(ip) or self.name_allowed(str(ip))

    def check_host(self, host: str) -> None:
        """Refuse at once what needs no DNS to refuse: a literal address or a loopback name.

        Used when a webhook or stream is defined; the full check is made when connecting."""
        if self.name_allowed(host):
            return
        ip = literal_address(host)
        if ip is not None:
            if not self.address_allowed(ip):
                raise OutboundRefused(host)
        elif any(fnmatch.fnmatchcase(host.lower().rstrip("."), n) for n in _LOCAL_NAMES):
            raise OutboundRefused(host)

    async def resolve(self, host: str, port: int) -> str:
        """Resolve ``host`` once, check every address, and return the one to connect to."""
        self.check_host(host)
        ip = literal_address(host)
        if ip is not None:
            return str(ip)
        try:
            found = await asyncio.wait_for(self.resolver(host, port), timeout=10)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        except (OSError, TimeoutError, UnicodeError, ValueError):
            raise OutboundUnreachable(host, port) from None
        if not addresses:
            raise OutboundUnreachable(host, port)
        if not self.name_allowed(host) and not all(self.address_allowed(a) for a in addresses):
            # One non-public answer is enough: a name that also resolves inside is refused.
            raise OutboundRefused(host)
        return str(addresses[0])


async def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def host_for_url(ip: str) -> str:
    """An address as it goes in a URL's host part (IPv6 in brackets)."""
    return f"[{ip}]" if ":" in ip else ip
