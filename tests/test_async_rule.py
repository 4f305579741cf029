"""Database and file work never runs on the event loop: an ``async def`` hands it to a thread.

The one way is ``asyncio.to_thread(fn, *args)`` (``anyio.to_thread.run_sync`` where anyio is
already in use). This test finds, in every ``async def`` of the package, a call that blocks: a
database session, file I/O, or a synchronous method of a service that does either.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "suricate"
FILE_CALLS = {"read_text", "write_text", "read_bytes", "write_bytes", "rmtree", "fsync"}
# Service attributes (self.<name>, platform.<name>) and the classes behind them.
SERVICES = {
    "notebooks": "NotebookService",
    "objects": "ObjectService",
    "tenants": "TenantService",
    "tokens": "TokenService",
    "streams": "StreamService",
    "runs": "RunService",
    "schedules": "ScheduleService",
    "processors": "ProcessorService",
    "sessions": "SessionService",
}
# The processor service is one class made of parts (domain/processors/).
PARTS = {
    "ProcessorBase",
    "Actions",
    "DeadLetters",
    "Deployment",
    "Reports",
    "Supervision",
    "ProcessorService",
}


def _calls(node: ast.AST) -> list[ast.Call]:
    """Calls made in ``node``'s own body (not in functions defined inside it)."""
    found: list[ast.Call] = []

    def visit(n: ast.AST) -> None:
        for child in ast.iter_child_nodes(n):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if isinstance(child, ast.Call):
                found.append(child)
            visit(child)

    visit(node)
    return found


def _target(call: ast.Call) -> tuple[str | None, str | None]:
    """(service attribute or "self", method) of ``x.svc.m()`` / ``self.m()``; else Nones."""
    fn = call.func
    if not isinstance(fn, ast.Attribute):
        return None, None
    owner = fn.value
    if isinstance(owner, ast.Name) and owner.id == "self":
        return "self", fn.attr
    if isinstance(owner, ast.Attribute) and owner.attr in SERVICES:
        return owner.attr, fn.attr
    return None, None


def _direct(call: ast.Call) -> str | None:
    fn = call.func
    if isinstance(fn, ast.Name) and fn.id == "open":
        return "open()"
    if isinstance(fn, ast.Attribute) and (fn.attr == "session" or fn.attr in FILE_CALLS):
        return f".{fn.attr}()"
    return None


def _classes() -> dict[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    classes: dict[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                name = "ProcessorService" if node.name in PARTS else node.name
                methods = classes.setdefault(name, {})
                for f in node.body:
                    if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef):
                        methods[f.name] = f
    return classes


def _blocking(classes: dict[str, dict[str, ast.FunctionDef | ast.AsyncFunctionDef]]) -> set:
    """(class, method) pairs of synchronous methods that block, directly or through others."""
    blocking: set[tuple[str, str]] = set()
    changed = True
    while changed:
        changed = False
        for cls, methods in classes.items():
            for name, f in methods.items():
                if isinstance(f, ast.AsyncFunctionDef) or (cls, name) in blocking:
                    continue
                for call in _calls(f):
                    owner, method = _target(call)
                    owner_cls = cls if owner == "self" else SERVICES.get(owner or "")
                    if _direct(call) or (owner_cls, method) in blocking:
                        blocking.add((cls, name))
                        changed = True
                        break
    return blocking


def blocking_calls() -> list[str]:
    classes = _classes()
    blocking = _blocking(classes)
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for cls_node in [None, *[n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]]:
            body = tree.body if cls_node is None else cls_node.body
            cls = None if cls_node is None else cls_node.name
            cls = "ProcessorService" if cls in PARTS else cls
            for f in body:
                if not isinstance(f, ast.AsyncFunctionDef):
                    continue
                for call in _calls(f):
                    owner, method = _target(call)
                    owner_cls = cls if owner == "self" else SERVICES.get(owner or "")
                    why = _direct(call) or (
                        f"{owner}.{method}()" if (owner_cls, method) in blocking else None
                    )
                    if why:
                        where = path.relative_to(SRC.parent)
                        found.append(f"{where}:{call.lineno} {f.name} calls {why}")
    return found


def test_no_async_function_blocks_the_event_loop() -> None:
    assert blocking_calls() == []


def test_the_rule_sees_a_session_a_file_and_a_blocking_service_method() -> None:
    tree = ast.parse(
        "async def f(self):\n"
        "    with self.db.session() as s: pass\n"
        "    open('x')\n"
        "    await asyncio.to_thread(self.db.session)\n"
    )
    f = tree.body[0]
    assert [_direct(c) for c in _calls(f)] == [".session()", "open()", None]
