"""The names users give things, and the one check for each (light: the client imports it)."""

from __future__ import annotations

import re

from suricate.errors import InvalidName

# Patterns are applied with fullmatch: the whole string, no trailing newline.
_RULES = {
    # Users and tenants appear in URLs, headers and paths: lowercase, no surprises.
    "account": (
        re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}"),
        "use 1-64 lowercase letters, digits, '.', '_' or '-', starting alphanumeric",
    ),
    # Objects and notebooks are file-like: one URL path segment, never '.', '..' or hidden.
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
    "object": "file",
    "notebook": "file",
    "stream": "file",
    "model": "file",
}


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is valid for a ``kind`` (user, tenant, object, notebook, tag)."""
    pattern, advice = _RULES[_RULE_OF.get(kind, kind)]
    # fullmatch, never match with '$': '$' also matches before a final newline.
    if not isinstance(name, str) or not pattern.fullmatch(name):
        raise InvalidName(kind, name, advice)
    return name
