"""Inside a run's kernel: a replay backtest of a processing notebook over a stored object.

The run executes the notebook's cells as a processor would (so its handlers and models are
loaded), then this runtime hands the object's records to the handlers at full speed, in chunks,
exactly as a processor's chunks: the same ``on_message``/``on_batch`` calls, actions, metrics
and, with a challenger, the same shadow pass. The actions go to the run's own feed (and the
challenger's to the shadow feed with the run's id), never to the live one; what handlers
append or emit is dropped. The run's notebook ends with the figures.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

from suricate.wire.records import REPLAY_MAX_BYTES, records_from

BACKTEST_MIME = "application/vnd.suricate.backtest+json"
POST_EVERY = 2000  # actions sent to the server at once


def replay(
    run_id: str,
    name: str,
    version: int | None = None,
    shadow: dict[str, Any] | None = None,
    batch_size: int = 500,
    max_bytes: int = REPLAY_MAX_BYTES,
) -> None:
    """Hand every record of the object ``name`` to the notebook's handlers; show the figures.

    ``shadow``: ``{"model": name, "version": n}``, a challenger run beside the models the
    notebook loaded (its version pinned for the whole backtest).
    """
    from IPython import get_ipython
    from IPython.display import display

    from suricate.kernel import handler, sdk
    from suricate.kernel.models import ModelHandle, deserialize, registry

    client = sdk.client()
    meta = client.get_object(name)
    content_type = meta.get("content_type")
    records = records_from(sdk.open(name, version), name, content_type, max_bytes)
    namespace = get_ipython().user_ns
    use_batch = callable(namespace.get("on_batch"))
    if shadow:
        flavor, data, number = client.model_artifact(shadow["model"], str(shadow["version"]))
        registry.shadow = ModelHandle(
            f"{shadow['model']}/{number}", number, deserialize(flavor, data)
        )
    figures = _Figures(name, len(records))
    progress = display(_bundle(figures), raw=True, display_id=True)
    live: list[dict[str, Any]] = []
    challenged: list[dict[str, Any]] = []
    with _Appends():
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            raws = [
                {
                    "body": {"text": json.dumps(record)},
                    "headers": {"position": start + i},
                    "stream": f"backtest:{name}",
                    "id": str(start + i),
                }
                for i, record in enumerate(chunk)
            ]
            out = handler.process(raws, namespace, use_batch)
            figures.add(out)
            live.extend(out["actions"])
            challenged.extend(out.get("shadow", {}).get("actions", []))
            if len(live) >= POST_EVERY or len(challenged) >= POST_EVERY:
                _post(client, run_id, live, challenged)
            if progress is not None:
                progress.update(_bundle(figures), raw=True)
    _post(client, run_id, live, challenged)
    figures.done = True
    if progress is not None:
        progress.update(_bundle(figures), raw=True)


def _post(client: Any, run_id: str, live: list[Any], challenged: list[Any]) -> None:
    """Send the actions kept so far to the run's feeds; empty the lists."""
    for actions, shadow in ((live, False), (challenged, True)):
        if actions:
            client.call(
                "POST", f"/runs/{run_id}/actions", json={"actions": actions, "shadow": shadow}
            )
            actions.clear()


class _Appends:
    """While a backtest runs, ``sdk.append`` and ``sdk.emit`` change nothing (a past game
    replayed must not add its plays again): they run as in a challenger's shadow pass."""

    def __enter__(self) -> None:
        from suricate.kernel import handler

        handler._shadow_pass.append(True)

    def __exit__(self, *exc: object) -> None:
        from suricate.kernel import handler

        handler._shadow_pass.pop()


class _Figures:
    """What a backtest counted so far."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total = name, total
        self.handled = self.failed = self.actions = 0
        self.metrics: dict[str, dict[str, list[float]]] = {}  # versions -> name -> [sum, n]
        self.shadow: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.done = False

    def add(self, out: dict[str, Any]) -> None:
        self.handled += out["count"]
        self.failed += len(out["failures"])
        self.actions += len(out["actions"])
        versions = json.dumps(out.get("models", {}), sort_keys=True)
        for name, (total, count) in out.get("metrics", {}).items():
            pair = self.metrics.setdefault(versions, {}).setdefault(name, [0.0, 0])
            pair[0] += total
            pair[1] += count
        found = out.get("shadow")
        if found:
            if self.shadow is None:
                self.shadow = {k: found[k] for k in ("model", "champion", "challenger")} | {
                    "compared": 0,
                    "agreed": 0,
                    "failed": 0,
                    "metrics": {},
                }
            for key in ("compared", "agreed", "failed"):
                self.shadow[key] += found[key]
            for side, named in found["metrics"].items():
                for name, (total, count) in named.items():
                    into = self.shadow["metrics"].setdefault(side, {})
                    pair = into.setdefault(name, [0.0, 0])
                    pair[0] += total
                    pair[1] += count

    def summary(self) -> dict[str, Any]:
        shadow = None
        if self.shadow is not None:
            compared = self.shadow["compared"]
            shadow = {k: v for k, v in self.shadow.items() if k != "metrics"} | {
                "agreement": round(self.shadow["agreed"] / compared, 4) if compared else None,
                "metrics": _means(self.shadow["metrics"]),
            }
        return {
            "object": self.name,
            "records": self.total,
            "handled": self.handled,
            "failed": self.failed,
            "actions": self.actions,
            "seconds": round(time.monotonic() - self.started, 3),
            "done": self.done,
            "metrics": [
                {"models": json.loads(versions), **{n: m for n, m in means.items()}}
                for versions, means in _means(self.metrics).items()
            ],
            "shadow": shadow,
        }


def _means(found: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {
        key: {name: round(total / count, 6) for name, (total, count) in named.items() if count}
        for key, named in found.items()
    }


def _bundle(figures: _Figures) -> dict[str, Any]:
    """The figures as a display: JSON for programs, a table for people."""
    s = figures.summary()
    rows = [
        ("records handled", f"{s['handled']} of {s['records']}" + ("" if s["done"] else " …")),
        ("handler failures", s["failed"]),
        ("actions", s["actions"]),
        ("seconds", s["seconds"]),
    ]
    for entry in s["metrics"]:
        versions = ", ".join(f"{k}/{v}" for k, v in entry["models"].items()) or "no model"
        for name, mean in entry.items():
            if name != "models":
                rows.append((f"mean {name} ({versions})", mean))
    if s["shadow"]:
        sh = s["shadow"]
        rows.append(
            (
                f"agreement {sh['model']}/{sh['champion']} vs /{sh['challenger']}",
                f"{sh['agreed']} of {sh['compared']}",
            )
        )
        for side, named in sh["metrics"].items():
            for name, mean in named.items():
                rows.append((f"{side} mean {name}", mean))
    table = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    text = "\n".join(f"{k}: {v}" for k, v in rows)
    return {
        BACKTEST_MIME: s,
        "text/html": f"<table class='backtest'>{table}</table>",
        "text/plain": f"Backtest of {figures.name}\n{text}",
    }
