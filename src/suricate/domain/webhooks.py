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
from urllib.parse import urlparse

from suricate.errors import InvalidInput
from suricate.keys import kept_secret

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Suricate-Signature"
ATTEMPTS = 3


def check_url(url: str | None) -> str | None:
    """Return the URL if it is an absolute http(s) URL, else raise InvalidInput."""
    if url is None:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"webhook_url must be an http(s) URL, not {url!r}")
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
    """Deliver signed webhooks, retrying a failed delivery twice with a growing pause."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    async def send(self, url: str, event: str, payload: dict[str, Any]) -> bool:
        import httpx

        body = json.dumps({"event": event, **payload}, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body),
            "X-Suricate-Event": event,
        }
        async with httpx.AsyncClient(timeout=10) as client:
            for attempt in range(ATTEMPTS):
                try:
                    response = await client.post(url, content=body, headers=headers)
                    if response.status_code < 500:
                        return response.is_success
                except httpx.HTTPError as exc:
                    log.warning("webhook to %s failed (attempt %d): %s", url, attempt + 1, exc)
                await asyncio.sleep(2**attempt)
        return False
