"""The one encoding of a message body wherever it crosses a process: text, or base64.

Standard library only: the kernel's handler runtime decodes bodies with this module too.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Body:
    """A message body: UTF-8 text as is (``text``), any other bytes in base64 (``b64``)."""

    text: str | None = None
    b64: str | None = None

    @classmethod
    def of(cls, raw: bytes) -> Body:
        """Encode raw bytes: as text when they are UTF-8, else as base64."""
        try:
            return cls(text=raw.decode())
        except UnicodeDecodeError:
            return cls(b64=base64.b64encode(raw).decode())

    @classmethod
    def from_json(cls, raw: Any) -> Body:
        """Read the JSON form (``{"text": ...}`` or ``{"b64": ...}``); ``ValueError`` if neither."""
        if isinstance(raw, dict):
            text, b64 = raw.get("text"), raw.get("b64")
            if isinstance(text, str) and b64 is None:
                return cls(text=text)
            if isinstance(b64, str) and text is None:
                return cls(b64=b64)
        raise ValueError("a body is {'text': str} or {'b64': str}")

    def to_json(self) -> dict[str, str]:
        """The JSON form: exactly one of ``text`` and ``b64``."""
        return {"text": self.text} if self.text is not None else {"b64": self.b64 or ""}

    def raw(self) -> bytes:
        """Decode back to the bytes that were sent."""
        if self.text is not None:
            return self.text.encode()
        try:
            return base64.b64decode(self.b64 or "", validate=True)
        except binascii.Error as exc:
            raise ValueError(f"a body's base64 is malformed: {exc}") from None

    @property
    def encoding(self) -> str:
        """``utf-8`` or ``base64``: how the API names the two forms."""
        return "utf-8" if self.text is not None else "base64"

    @property
    def value(self) -> str:
        """The text, or the base64 of other bytes."""
        return self.text if self.text is not None else (self.b64 or "")
