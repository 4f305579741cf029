"""The names users give things, and the one check for each (light: the client imports it)."""

from __future__ import annotations

import re
import unicodedata

from suricate.errors import InvalidName

MAX_TEXT_BYTES = 255

# Patterns are applied with fullmatch: the whole string, no trailing newline.
_RULES = {
    # Users and tenants appear in URLs, headers and paths: lowercase, no surprises.
    "account": (
        re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}"),
        "use 1-64 lowercase letters, digits, '.', '_' or '-', starting alphanumeric",
    ),
    # Streams and models are also named inside code and URIs ("name@alias", "name/3"): strict.
    "file": (
        re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}"),
        "use 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
    "tag": (
        re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"),
        "use 1-64 letters, digits, '.', '_', ':' or '-'",
    ),
}
_RULE_OF = {
    "user": "account",
    "tenant": "account",
    "stream": "file",
    "model": "file",
}
# Objects and notebooks are named as people name files ("Données 2013.csv", "Clear Output").
_TEXT_KINDS = frozenset({"object", "notebook"})
_TEXT_ADVICE = (
    "use 1-255 bytes of UTF-8 text without '/', control or bidirectional-override characters, "
    "not '.' or '..', and no leading or trailing spaces"
)
# Unicode's Bidi_Control characters: they reorder how a name is displayed ("Trojan Source"),
# so "report\u202egpj.exe" would show as "reportexe.jpg". Other format characters (Cf), such as
# the zero-width joiners that emoji and Persian or Indic scripts need, are allowed.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` (NFC-normalised for objects and notebooks) if valid for a ``kind``."""
    if kind in _TEXT_KINDS:
        return _check_text(kind, name)
    pattern, advice = _RULES[_RULE_OF.get(kind, kind)]
    # fullmatch, never match with '$': '$' also matches before a final newline.
    if not isinstance(name, str) or not pattern.fullmatch(name):
        raise InvalidName(kind, name, advice)
    return name


def normal_name(name: str) -> str:
    """Return the stored spelling of an object's or notebook's name (for look-ups, unchecked)."""
    return name if name.isascii() else unicodedata.normalize("NFC", name)


def storable(name: str) -> bool:
    """Tell whether a name could be stored at all: PostgreSQL refuses NUL and lone surrogates,
    so a look-up of such a name is answered "not found" without asking the database."""
    if "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(kind: str, name: str) -> str:
    if not isinstance(name, str) or len(name) > 4 * MAX_TEXT_BYTES:
        raise InvalidName(kind, _shown(name), _TEXT_ADVICE)
    # NFC: the "é" a Mac sends (e + combining accent) and the one Windows sends are one name.
    name = normal_name(name)
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate is not text
        raise InvalidName(kind, _shown(name), _TEXT_ADVICE) from None
    if not 1 <= size <= MAX_TEXT_BYTES or name in (".", "..") or "/" in name:
        raise InvalidName(kind, _shown(name), _TEXT_ADVICE)
    if name[0].isspace() or name[-1].isspace():
        raise InvalidName(kind, _shown(name), _TEXT_ADVICE)
    for char in name:
        # Cc: C0/C1 controls, NUL, DEL; Zl/Zp: line and paragraph separators act as newlines.
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS:
            raise InvalidName(kind, _shown(name), _TEXT_ADVICE)
        if 0xFDD0 <= ord(char) <= 0xFDEF or ord(char) & 0xFFFE == 0xFFFE:  # noncharacters
            raise InvalidName(kind, _shown(name), _TEXT_ADVICE)
    return name


def _shown(name: object) -> str:
    """Return a bounded form of a refused name for the error message."""
    text = name if isinstance(name, str) else repr(name)
    return text if len(text) <= 100 else text[:100] + "..."
