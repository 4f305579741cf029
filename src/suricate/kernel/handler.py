"""Inside a processor's kernel: hand stream messages to the notebook's handlers.

The execution node sends messages in chunks, each one call of :func:`run_chunk_file` (one
Jupyter round trip for many messages). The notebook defines ``on_message(msg)``, ``on_batch(msgs)``
or both. ``on_batch`` takes the chunk in batches of the processor's ``batch_size``; when it
raises, each message of that batch is tried alone (with ``on_message`` when there is one) so that
one poison message fails alone. What the handlers record with ``sdk.action`` is gathered here and
sent back with the results, as one output of the type ``application/vnd.suricate.chunk+json``.
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
VERDICT_MIME = "application/vnd.suricate.verdict+json"  # a gate notebook's sdk.verdict
_collecting: list[list[dict[str, Any]]] = []
_shadow_pass: list[bool] = []  # True while the handlers run for a challenger in shadow


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


def _msg(data: bytes, headers: dict[str, Any], stream: str, key: str, redelivered: bool) -> Msg:
    body: Any
    try:
        body = json.loads(data)
    except ValueError:
        body = data
    return Msg(body, headers, stream, key, redelivered, data)


def _message(raw: dict[str, Any]) -> Msg:
    """A message from its wire form (a ``StreamMessage`` as JSON: a trial, a backtest)."""
    return _msg(
        Body.from_json(raw.get("body")).raw(),
        raw.get("headers") or {},
        raw.get("stream", ""),
        raw.get("id", ""),
        bool(raw.get("redelivered")),
    )


def pack_chunk(stream: str, batch: int, messages: list[tuple[str, bytes, Any, bool]]) -> bytes:
    """The file a chunk reaches the kernel in, from (id, body, headers, redelivered) tuples.

    A JSON line says what the messages are; their bodies follow as they came, one after
    another: the node neither decodes nor escapes them, and the kernel parses each once.
    ``batch`` is the most messages one ``on_batch`` call takes (0: the messages go one by one).
    """
    ids: list[str] = []
    sizes: list[int] = []
    headers: dict[int, Any] = {}
    redelivered: list[int] = []
    for i, (key, body, found, again) in enumerate(messages):
        ids.append(key)
        sizes.append(len(body))
        if found:
            headers[i] = found
        if again:
            redelivered.append(i)
    head = {
        "stream": stream,
        "batch": batch,
        "ids": ids,
        "sizes": sizes,
        "headers": headers,
        "redelivered": redelivered,
    }
    bodies = b"".join(m[1] for m in messages)
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + bodies


def unpack_chunk(data: bytes) -> tuple[list[Msg], int]:
    """The messages of a packed chunk, and its batch size."""
    end = data.index(b"\n")
    head = json.loads(data[:end])
    stream, headers = head["stream"], head["headers"]
    again = set(head["redelivered"])
    msgs: list[Msg] = []
    start = end + 1
    for i, (key, size) in enumerate(zip(head["ids"], head["sizes"], strict=True)):
        found = headers.get(str(i)) or {}
        msgs.append(_msg(data[start : start + size], found, stream, key, i in again))
        start += size
    return msgs, int(head["batch"])


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


def in_shadow() -> bool:
    """Whether the handlers run for the challenger now: what they append or emit is dropped."""
    return _shadow_pass[-1] if _shadow_pass else False


def configure_shadow(model: str, alias: str) -> None:
    """Run the challenger ``model@alias`` in shadow on every message (set by the node)."""
    from suricate.kernel import sdk
    from suricate.kernel.models import ModelHandle, registry

    registry.shadow = ModelHandle(f"{model}@{alias}", 0, None)
    registry.reset_follow()
    registry.follow(sdk.client())  # load it now when the alias exists


def _follow_aliases() -> None:
    """Between two chunks: move the models loaded by alias to where their aliases point."""
    from suricate.kernel.models import registry

    if registry.shadow is not None or any(h.alias is not None for h in registry.handles):
        from suricate.kernel import sdk

        registry.follow(sdk.client())


@dataclass
class _Unit:
    """Messages handled by one handler call (one, or a whole batch), and what it did."""

    indexes: list[int]
    effects: list[dict[str, Any]] | None  # None: the handler raised
    batch: bool = False  # one on_batch call for them all


def _units(
    msgs: list[Msg], on_message: Any, on_batch: Any, batch: int
) -> tuple[list[_Unit], dict[str, dict[str, str]]]:
    """Run the handlers on the messages, ``on_batch`` on up to ``batch`` at a time (0: one by
    one with ``on_message`` when there is one): the calls made, and the failures (by index)."""
    failures: dict[str, dict[str, str]] = {}
    units: list[_Unit] = []
    single = on_message if callable(on_message) else (lambda m: on_batch([m]))
    if callable(on_batch) and (batch or not callable(on_message)):
        size = batch or len(msgs)
        for start in range(0, len(msgs), size):
            indexes = list(range(start, min(start + size, len(msgs))))
            found, error, tb = _call(on_batch, msgs[start : start + size])
            if error is None:
                units.append(_Unit(indexes, found, batch=True))
            elif len(indexes) == 1 and not callable(on_message):
                failures[str(start)] = {"error": error, "traceback": tb}
                units.append(_Unit(indexes, None))
            else:
                # Isolate the one that broke the batch.
                units.extend(_one_by_one(msgs, indexes, single, failures))
        return units, failures
    return _one_by_one(msgs, list(range(len(msgs))), single, failures), failures


def _one_by_one(
    msgs: list[Msg], indexes: list[int], single: Any, failures: dict[str, dict[str, str]]
) -> list[_Unit]:
    """Hand these messages to the handler one at a time; note each failure by index."""
    units: list[_Unit] = []
    for i in indexes:
        found, error, tb = _call(single, msgs[i])
        units.append(_Unit([i], found if error is None else None))
        if error is not None:
            failures[str(i)] = {"error": error, "traceback": tb}
    return units


def process(
    raws: list[dict[str, Any]], namespace: dict[str, Any], use_batch: bool
) -> dict[str, Any]:
    """Run the handlers on messages in their wire form, ``on_batch`` on all of them at once
    when ``use_batch``; return what :func:`handle` does."""
    msgs = [_message(raw) for raw in raws]
    return handle(msgs, namespace, len(msgs) if use_batch else 0)


def handle(msgs: list[Msg], namespace: dict[str, Any], batch: int) -> dict[str, Any]:
    """Run the handlers on the messages (``on_batch`` on up to ``batch`` at a time); return the
    failures (by index) and the actions, and what the challenger made of the same messages
    when one runs in shadow."""
    _follow_aliases()
    on_message = namespace.get("on_message")
    on_batch = namespace.get("on_batch")
    if not callable(on_message) and not callable(on_batch):
        raise NameError("the notebook defines neither on_message(msg) nor on_batch(msgs)")
    units, failures = _units(msgs, on_message, on_batch, batch)
    # Only failures are listed (by index): most chunks have none, and the reply stays small.
    out = _outcome(len(msgs), failures, [e for u in units for e in u.effects or []])
    from suricate.kernel.models import registry

    out["models"] = registry.stamp()
    shadow = _shadow(msgs, units, on_message, on_batch)
    if shadow is not None:
        out["shadow"] = shadow
    return out


def _shadow(
    msgs: list[Msg], units: list[_Unit], on_message: Any, on_batch: Any
) -> dict[str, Any] | None:
    """Handle the messages again with the challenger in the champion's place; compare.

    Agreement is counted per handler call: a message (on_message) or a batch (on_batch)
    agrees when both made the same actions (the same texts, in the same order).
    """
    from suricate.kernel.models import registry

    challenger = registry.shadow
    if challenger is None or challenger.model is None:
        return None
    live = registry.live(challenger.name)
    if not live or all(h.version == challenger.version for h in live):
        return None  # the handlers do not use the model, or the challenger is the champion
    tally: dict[str, Any] = {
        "model": challenger.name,
        "champion": live[-1].version,
        "challenger": challenger.version,
        "compared": 0,
        "agreed": 0,
        "failed": 0,
        "actions": [],
        "metrics": {"champion": {}, "challenger": {}},
    }
    single = on_message if callable(on_message) else (lambda m: on_batch([m]))
    _shadow_pass.append(True)
    try:
        with registry.swapped(challenger.name, challenger.version, challenger.model):
            for unit in units:
                if unit.effects is None:
                    continue  # failed live: it is retried, and compared then
                if unit.batch:
                    found, error, _ = _call(on_batch, [msgs[i] for i in unit.indexes])
                else:
                    found, error, _ = _call(single, msgs[unit.indexes[0]])
                n = len(unit.indexes)
                tally["compared"] += n
                if error is not None:
                    tally["failed"] += n
                    continue
                _add_metrics(tally["metrics"]["champion"], unit.effects)
                _add_metrics(tally["metrics"]["challenger"], found)
                mine = [e for e in found if "text" in e]
                if [a["text"] for a in mine] == [e["text"] for e in unit.effects if "text" in e]:
                    tally["agreed"] += n
                tally["actions"].extend(mine)
    finally:
        _shadow_pass.pop()
    return tally


def _add_metrics(into: dict[str, list[float]], effects: list[dict[str, Any]]) -> None:
    """Add what ``sdk.metric`` recorded to per-name [sum, count] pairs."""
    for e in effects:
        if "metric" in e:
            name, value = e["metric"]["name"], e["metric"]["value"]
            total = into.setdefault(name, [0.0, 0])
            total[0] += value
            total[1] += 1


def record_metric(name: str, value: float) -> None:
    """Keep a metric a handler measured on a message (the loss of its last advice...)."""
    sink = collecting()
    assert sink is not None
    sink.append({"metric": {"name": str(name), "value": float(value)}})


def _outcome(
    count: int, failures: dict[str, dict[str, str]], effects: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a chunk did: its failures, the actions its handlers recorded, the rows appended,
    and the metrics they measured ([sum, count] by name)."""
    metrics: dict[str, list[float]] = {}
    _add_metrics(metrics, effects)
    return {
        "count": count,
        "failures": failures,
        "actions": [e for e in effects if "text" in e],
        "appends": [e["append"] for e in effects if "append" in e],
        "metrics": metrics,
    }


def run_chunk_file(path: str) -> None:
    """Entry point from the node: process the chunk in ``path`` (see :func:`pack_chunk`);
    display the results.

    The chunk comes as a file in the kernel's runtime dir, not inside the code: IPython
    tokenizes every cell it runs, which for a big literal costs far more than the handlers.
    """
    from IPython import get_ipython
    from IPython.display import display

    with open(path, "rb") as f:
        msgs, batch = unpack_chunk(f.read())
    started = time.perf_counter()
    out = handle(msgs, get_ipython().user_ns, batch)
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
