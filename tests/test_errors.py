"""The error tree drawn in errors.py's docstring is the tree of its classes."""

from __future__ import annotations

import re

from suricate import errors


def _drawn() -> dict[str, str]:
    """Map each class drawn in the docstring to the class drawn above it."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    root = None
    for line in (errors.__doc__ or "").splitlines():
        found = re.search(r"(?:^\s*|── )([A-Z]\w+)", line)
        if not found or found.group(1) not in vars(errors):
            continue
        name, column = found.group(1), found.start(1)
        if root is None:
            root = column  # SuricateError, the root
        depth = (column - root) // 4
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_the_drawing_names_every_error_class_under_its_base() -> None:
    classes = {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type)
        and issubclass(cls, errors.SuricateError)
        and cls is not errors.SuricateError
    }
    drawn = _drawn()
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        assert drawn[name] == cls.__bases__[0].__name__, name
