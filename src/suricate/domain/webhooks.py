"""Webhooks: a POST of a finished run's record, signed with HMAC-SHA256.

The receiver checks ``X-Suricate-Signature: sha256=<hex>``, the HMAC of the exact body with the
installation's webhook secret (``SURICATE_WEBHOOK_SECRET``, or the one generated on first use
in ``DATA_DIR/webhook-secret``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from suricate.errors import InvalidInput, OutboundRefused
from suricate.keys import kept_secret
from suricate.outbound import Outbound, host_for_url

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Suricate-Signature"
ATTEMPTS = 3


def check_url(url: str | None, outbound: Outbound | None = None) -> str | None:
    """Return the URL if it is an absolute http(s) URL the outbound guard does not refuse
    outright (a literal loopback, private or metadata address), else raise InvalidInput."""
    if url is None:
        return None
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise InvalidInput(f"webhook_url must be an http(s) URL, not {url!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInput(f"webhook_url must be an http(s) URL, not {url!r}")
    if len(url) > 2048:
        raise InvalidInput("webhook_url is longer than 2048 characters")
    (outbound or Outbound()).check_host(parsed.hostname)
    return url


def sign(secret: bytes, body: bytes) -> str:
    """Return the signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """Return the configured secret, or the one kept in the data dir (made on first use)."""
    if configured:
        return configured.encode()
    return kept_secret(data_dir / "webhook-secret", lambda: secrets.token_hex(32).encode())


class WebhookSender:
    """Deliver signed webhooks, retrying a failed delivery twice with a growing pause.

    Each attempt resolves the host once, checks the address with the outbound guard and
    connects to that very address (TLS still checks the certificate of the host's name), so a
    rebinding DNS answer cannot turn a webhook towards the server's own network. Redirects are
    not followed.
    """

    def __init__(self, secret: bytes, outbound: Outbound | None = None) -> None:
        self.secret = secret
        self.outbound = outbound or Outbound()

    def check_url(self, url: str | None) -> str | None:
        """Check a webhook URL as it is given (see ``check_url``)."""
        return check_url(url, self.outbound)

    async def send(self, url: str, event: str, payload: dict[str, Any]) -> bool:
        import httpx

        body = json.dumps({"event": event, **payload}, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body),
            "X-Suricate-Event": event,
        }
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            for attempt in range(ATTEMPTS):
                try:
                    request = await self._pinned(client, url, body, headers)
                    response = await client.send(request)
                    if response.status_code < 500:
                        return response.is_success
                except OutboundRefused as exc:
                    log.warning("webhook to %s refused: %s", url, exc)
                    return False
                except (httpx.HTTPError, InvalidInput) as exc:
                    log.warning("webhook to %s failed (attempt %d): %s", url, attempt + 1, exc)
                await asyncio.sleep(2**attempt)
        return False

    async def _pinned(self, client: Any, url: str, body: bytes, headers: dict[str, str]) -> Any:
        """The POST of ``url``, addressed to the host's checked address."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self.outbound.resolve(host, port)
        netloc = host_for_url(address) + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit(parts._replace(netloc=netloc))
        host_header = host_for_url(host) + (f":{parts.port}" if parts.port else "")
        return client.build_request(
            "POST",
            pinned,
            content=body,
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": host} if parts.scheme == "https" else {},
        )
