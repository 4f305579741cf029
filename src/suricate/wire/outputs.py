"""A cell's outputs as Jupyter shows them, built from its output messages as they come.

One rule for the node (a kernel's execute answer), runs (the executed notebook, saved as it
grows) and, in JavaScript, the web UI (``ui/src/outputs.js``); ``tests/files/outputs/*.json``
hold both to the same cases. The rule is nbclient's:

- stream text right after stream text of the same name joins it;
- ``clear_output`` empties the list at once, or with ``wait`` just before the next output is
  added (an ``update_display_data`` adds nothing, so the clear stays pending);
- a ``display_data`` or ``execute_result`` with a ``transient.display_id`` is stored without
  ``transient`` and remembered; ``update_display_data`` replaces the ``data`` and ``metadata`` of
  every output shown under that id; clearing forgets the cleared outputs' ids;
- ``clear_output`` and ``update_display_data`` are events, never stored outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_ADDED = {"stream", "display_data", "execute_result", "error"}


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text or "")


class CellOutputs:
    """The outputs of one cell, and what merging the next message needs to know."""

    def __init__(self, outputs: Iterable[dict[str, Any]] = ()) -> None:
        self.outputs: list[dict[str, Any]] = list(outputs)
        self._clear_pending = False
        self._display_ids: dict[str, list[int]] = {}

    def add(self, event: Mapping[str, Any]) -> None:
        """Apply one output message (an nbformat v4 output, or a clear or display update)."""
        kind = event.get("output_type")
        if kind == "clear_output":
            if event.get("wait"):
                self._clear_pending = True
            else:
                self._clear()
            return
        if kind == "update_display_data":
            display_id = (event.get("transient") or {}).get("display_id")
            for index in self._display_ids.get(display_id, []) if display_id else []:
                self.outputs[index] = {
                    **self.outputs[index],
                    "data": event.get("data", {}),
                    "metadata": event.get("metadata", {}),
                }
            return
        if kind not in _ADDED:
            return
        if self._clear_pending:
            self._clear()
        last = self.outputs[-1] if self.outputs else None
        if (
            kind == "stream"
            and last is not None
            and last.get("output_type") == "stream"
            and last.get("name") == event.get("name")
        ):
            self.outputs[-1] = {**last, "text": _joined(last.get("text")) + _joined(event["text"])}
            return
        output = {k: v for k, v in event.items() if k != "transient"}
        if kind == "stream":
            output["text"] = _joined(event.get("text"))
        display_id = (event.get("transient") or {}).get("display_id")
        if display_id and kind in ("display_data", "execute_result"):
            self._display_ids.setdefault(display_id, []).append(len(self.outputs))
        self.outputs.append(output)

    def _clear(self) -> None:
        self.outputs = []
        self._clear_pending = False
        self._display_ids = {}


def merged(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The outputs a sequence of output messages leaves."""
    cell = CellOutputs()
    for event in events:
        cell.add(event)
    return cell.outputs


def pager_outputs(reply: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What an execute reply asks a pager to show (IPython's ``?``, ``%pdoc``, ``%pfile``), as
    ``display_data`` outputs: JupyterLab shows them under the cell, as here. Only text values
    of the bundle are kept; any other payload (``set_next_input``, ``ask_exit``) adds nothing."""
    events = []
    for payload in reply.get("payload") or []:
        if not isinstance(payload, Mapping) or payload.get("source") != "page":
            continue
        data = payload.get("data")
        if isinstance(data, Mapping):
            bundle = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
            if bundle:
                events.append({"output_type": "display_data", "data": bundle, "metadata": {}})
    return events
