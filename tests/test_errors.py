"""The error tree drawn in ``suricate/errors.py`` is the tree of its classes."""

from __future__ import annotations

import re

from suricate import errors


def drawn_tree() -> dict[str, str | None]:
    """Each class the docstring draws, with the class drawn as its parent."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^((?:[│ ]   )*)([├└]── )?([A-Z]\w+)", line)
        if not match or not (match.group(2) or match.group(3) == "SuricateError"):
            continue
        depth = len(match.group(1)) // 4 + (1 if match.group(2) else 0)
        name = match.group(3)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_the_drawn_error_tree_is_the_tree_of_the_classes() -> None:
    classes = {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.SuricateError)
    }
    actual = {
        name: (cls.__base__.__name__ if cls is not errors.SuricateError else None)
        for name, cls in classes.items()
    }
    assert drawn_tree() == actual
