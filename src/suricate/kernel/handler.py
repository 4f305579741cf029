"""Inside a processor's kernel: hand stream messages to the notebook's handlers.

The execution node sends messages in chunks, each one call of :func:`run_chunk` (one Jupyter
round trip for many messages). The notebook defines ``on_message(msg)``, ``on_batch(msgs)`` or
both. ``on_batch`` takes the chunk whole; when it raises, each message is tried alone (with
``on_message`` when there is one) so that one poison message fails alone. What the handlers
record with ``sdk.action`` is gathered here and sent back with the results, as one output of
the type ``application/vnd.suricate.chunk+json``.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from suricate.wire.body import Body

TRIAL_MIME = "application/vnd.suricate.trial+json"  # the editor's trial run
CHUNK_MIME = "application/vnd.suricate.chunk+json"
_collecting: list[list[dict[str, Any]]] = []


@dataclass
class Msg:
    """One stream message as a handler sees it."""

    body: Any  # the decoded JSON, or the raw bytes when the body is not JSON
    headers: dict[str, Any] = field(default_factory=dict)
    stream: str = ""
    id: str = ""
    redelivered: bool = False
    raw: bytes = b""

    def json(self) -> Any:
        """Return the body parsed as JSON (raises when it is not JSON)."""
        return json.loads(self.raw)


def collecting() -> list[dict[str, Any]] | None:
    """The list the current handler call records actions into, or None outside a processor."""
    return _collecting[-1] if _collecting else None


def record_action(text: str, data: dict[str, Any]) -> None:
    sink = collecting()
    assert sink is not None
    from suricate.kernel.models import registry

    sink.append({"text": str(text), "data": data, "at": time.time(), "models": registry.stamp()})


def record_append(name: str, records: list[Any], key: str | None) -> None:
    """Keep rows a handler appends: they go with the message's results, like its actions."""
    sink = collecting()
    assert sink is not None
    sink.append({"append": {"name": str(name), "records": records, "key": key}})


def _message(raw: dict[str, Any]) -> Msg:
    data = Body.from_json(raw.get("body")).raw()
    body: Any
    try:
        body = json.loads(data)
    except ValueError:
        body = data
    return Msg(
        body=body,
        headers=raw.get("headers") or {},
        stream=raw.get("stream", ""),
        id=raw.get("id", ""),
        redelivered=bool(raw.get("redelivered")),
        raw=data,
    )


def user_traceback(exc: BaseException) -> str:
    """The traceback of an error in a handler as the user wrote it: this runtime's frames left
    out, so that it starts at their ``on_message`` or ``on_batch``."""
    found = traceback.TracebackException.from_exception(exc)
    mine = {__file__, __file__.removesuffix("c")}
    found.stack = traceback.StackSummary.from_list(
        [f for f in found.stack if f.filename not in mine]
    )
    return "".join(found.format())


def _call(fn: Callable[[Any], Any], arg: Any) -> tuple[list[dict[str, Any]], str | None, str]:
    """Call a handler; return the actions it recorded and, when it raised, the error."""
    actions: list[dict[str, Any]] = []
    _collecting.append(actions)
    try:
        fn(arg)
    except Exception as exc:
        return [], f"{type(exc).__name__}: {exc}", user_traceback(exc)
    finally:
        _collecting.pop()
    return actions, None, ""


def _follow_aliases() -> None:
    """Between two chunks: move the models loaded by alias to where their aliases point."""
    from suricate.kernel.models import registry

    if any(h.alias is not None for h in registry.handles):
        from suricate.kernel import sdk

        registry.follow(sdk.client())


def process(
    raws: list[dict[str, Any]], namespace: dict[str, Any], use_batch: bool
) -> dict[str, Any]:
    """Run the handlers on the messages; return the failures (by index) and the actions."""
    _follow_aliases()
    on_message = namespace.get("on_message")
    on_batch = namespace.get("on_batch")
    if not callable(on_message) and not callable(on_batch):
        raise NameError("the notebook defines neither on_message(msg) nor on_batch(msgs)")
    msgs = [_message(raw) for raw in raws]
    # Only failures are listed (by index): most chunks have none, and the reply stays small.
    failures: dict[str, dict[str, str]] = {}
    actions: list[dict[str, Any]] = []
    if callable(on_batch) and (use_batch or not callable(on_message)):
        batch_actions, error, tb = _call(on_batch, msgs)
        if error is None:
            return _outcome(len(msgs), failures, batch_actions)
        if len(msgs) == 1:
            failures["0"] = {"error": error, "traceback": tb}
            return _outcome(1, failures, [])
    # One message at a time: the plain handler, or isolating the one that broke the batch.
    single = on_message if callable(on_message) else (lambda m: on_batch([m]))  # type: ignore[misc]
    for i, msg in enumerate(msgs):
        found, error, tb = _call(single, msg)
        if error is None:
            actions.extend(found)
        else:
            failures[str(i)] = {"error": error, "traceback": tb}
    return _outcome(len(msgs), failures, actions)


def _outcome(
    count: int, failures: dict[str, dict[str, str]], effects: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a chunk did: its failures, the actions its handlers recorded, the rows appended."""
    return {
        "count": count,
        "failures": failures,
        "actions": [e for e in effects if "append" not in e],
        "appends": [e["append"] for e in effects if "append" in e],
    }


def run_chunk_file(path: str) -> None:
    """Entry point from the node: process the JSON chunk in ``path``; display the results.

    The chunk comes as a file in the kernel's runtime dir, not inside the code: IPython
    tokenizes every cell it runs, which for a big literal costs far more than the handlers.
    """
    with open(path, "rb") as f:
        run_chunk(f.read())


def run_chunk(payload: str | bytes) -> None:
    """Process a JSON chunk and display the results."""
    from IPython import get_ipython
    from IPython.display import display

    chunk = json.loads(payload)
    started = time.perf_counter()
    out = process(chunk["messages"], get_ipython().user_ns, chunk.get("batch", False))
    out["elapsed"] = time.perf_counter() - started
    display({CHUNK_MIME: out}, raw=True)


def try_message(wire: str) -> None:
    """Hand one message (its JSON wire form) to the notebook's handler, as a processor would,
    for the editor's trial; display the outcome, never a traceback of this runtime."""
    from IPython import get_ipython
    from IPython.display import display

    namespace = get_ipython().user_ns
    if not callable(namespace.get("on_message")) and not callable(namespace.get("on_batch")):
        out: dict[str, Any] = {
            "count": 1,
            "actions": [],
            "failures": {
                "0": {
                    "error": "NameError: on_message is not defined in the kernel: "
                    "run the notebook's cells first",
                    "traceback": "",
                }
            },
        }
    else:
        out = process([json.loads(wire)], namespace, False)
    display({TRIAL_MIME: out}, raw=True)


def check_handlers() -> None:
    """Raise unless the notebook defined a handler; display which (once its cells have run)."""
    from IPython import get_ipython
    from IPython.display import display

    ns = get_ipython().user_ns
    found = {name: callable(ns.get(name)) for name in ("on_message", "on_batch")}
    if not any(found.values()):
        raise NameError("the notebook defines neither on_message(msg) nor on_batch(msgs)")
    display({CHUNK_MIME: found}, raw=True)
