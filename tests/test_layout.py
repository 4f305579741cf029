"""The packages' import rules (docs/architecture.md), checked on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "suricate"
HEAVY = {"pandas", "numpy", "sklearn", "matplotlib", "zmq", "pyarrow", "scipy", "dask"}
# What the in-kernel code may import from Suricate: no server, node, domain or store code.
KERNEL_MAY = (
    "suricate.kernel",
    "suricate.errors",
    "suricate.names",
    "suricate.wire.body",
    "suricate.wire.records",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """Every module ``path`` imports, and whether at module level (not in a function)."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return  # for the type checker only
        if isinstance(node, ast.Import):
            found.extend((alias.name, top) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, top))
            found.extend((f"{node.module}.{alias.name}", top) for alias in node.names)
        inner = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return found


MODULES = sorted(SRC.rglob("*.py"))


def in_package(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def broken_rules(path: Path) -> list[str]:
    me = module_name(path)
    found = []
    kernel = in_package(me, "suricate.kernel")
    for name, top in imports(path):
        if not in_package(name, "suricate"):
            root = name.split(".")[0]
            if kernel and top and root in HEAVY:
                found.append(f"{me} imports {name} at module level")
            elif kernel and top and root not in {*sys.stdlib_module_names, "httpx", "__future__"}:
                found.append(f"{me} imports {name}: the kernel's code needs only httpx")
            continue
        if in_package(me, "suricate.domain") and in_package(
            name, "suricate.node", "suricate.server"
        ):
            found.append(f"{me} (domain) imports {name}")
        if in_package(me, "suricate.node", "suricate.kernel") and in_package(
            name, "suricate.domain", "suricate.store"
        ):
            found.append(f"{me} imports {name}")
        if kernel and name != "suricate" and not in_package(name, *KERNEL_MAY):
            found.append(f"{me} (kernel) imports {name}")
        if in_package(me, "suricate.wire", "suricate.store") and in_package(
            name, "suricate.domain", "suricate.node", "suricate.server"
        ):
            found.append(f"{me} imports {name}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_each_module_keeps_the_import_rules(path: Path) -> None:
    assert broken_rules(path) == []


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    assert in_package("suricate.node.sources.amqp", "suricate.node")
    assert not in_package("suricate.nodes", "suricate.node")
    assert module_name(SRC / "node" / "sources" / "__init__.py") == "suricate.node.sources"


def test_no_python_module_is_over_600_lines() -> None:
    long = {module_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


def test_modules_do_not_import_each_other_at_module_level() -> None:
    graph = {
        module_name(p): {n for n, top in imports(p) if top and n.startswith("suricate.")}
        for p in MODULES
    }
    cycles = [
        (a, b)
        for a, deps in graph.items()
        for b in deps
        if b in graph and a != b and a in graph[b] and not b.startswith(a)
    ]
    assert cycles == []
