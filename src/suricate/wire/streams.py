"""A stream's definition as it crosses processes, and the checks of its broker URI.

The frontend keeps definitions; nodes connect. Both check a URI the same way, with
``check_uri``, so a definition a node would refuse is refused when it is made.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict

from suricate.errors import StreamError

StreamType = Literal["amqp", "mqtt", "replay"]


@dataclass(frozen=True)
class StreamSpec:
    """A stream's full definition: what a node needs to read it or publish onto it."""

    # NaN and infinities are written as the standard library writes them (see messages.py).
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid", ser_json_inf_nan="constants"
    )

    type: StreamType
    name: str
    id: str = ""
    uri: str | None = None  # amqp and mqtt, password included (only ever sent to a node)
    queue: str | None = None  # amqp
    exchange: str | None = None  # amqp
    routing_key: str | None = None  # amqp, with an exchange
    topic: str | None = None  # mqtt
    object: str | None = None  # replay: the stored object whose records are replayed
    rate: float = 10.0  # replay: messages a second
    loop: bool = False  # replay: start again at the end

    @property
    def broker_uri(self) -> str:
        """The URI of an AMQP or MQTT stream's broker."""
        if not self.uri:
            raise StreamError("bad_uri", f"a {self.type} stream needs a URI")
        return self.uri

    def with_uri(self, uri: str) -> StreamSpec:
        """The same definition with another URI (the password joined back in)."""
        return replace(self, uri=uri)


def host_allowed(host: str, patterns: list[str]) -> bool:
    """Tell whether ``host`` matches one of the allowed patterns (``*`` wildcards)."""
    host = host.lower()
    return any(fnmatch.fnmatchcase(host, p.strip().lower()) for p in patterns if p.strip())


def check_uri(uri: str, schemes: tuple[str, ...], allowed: list[str]) -> None:
    """Raise ``StreamError`` unless ``uri`` is well formed and its host is allowed."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise StreamError("bad_uri", f"not a valid URI: {exc}") from None
    if parts.scheme not in schemes:
        raise StreamError("bad_uri", f"the URI must start with {' or '.join(schemes)}://")
    if not parts.hostname:
        raise StreamError("bad_uri", "the URI names no host")
    if not host_allowed(parts.hostname, allowed):
        raise StreamError(
            "host_not_allowed",
            f"host {parts.hostname!r} is not in SURICATE_STREAM_ALLOWED_HOSTS",
        )
    del port


def check_spec(spec: StreamSpec, allowed: list[str]) -> None:
    """Check the URI of an AMQP or MQTT stream (a replay has none)."""
    if spec.type in ("amqp", "mqtt"):
        check_uri(spec.broker_uri, (spec.type, spec.type + "s"), allowed)
