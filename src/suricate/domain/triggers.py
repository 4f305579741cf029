"""Triggers beyond cron: a schedule that fires on data.

- ``{"object": "plays.jsonl"}`` fires on each new version of the object;
- ``{"object": "plays.jsonl", "rows": 500}`` once it has gained at least 500 rows (lines of a
  JSON-lines or CSV object) since the schedule last fired;
- ``{"model": "advice", "alias": "champion"}`` when the alias moves.

The run gets what fired it as the parameter ``trigger``, next to the schedule's own, e.g.
``{"kind": "object", "object": "plays.jsonl", "version": 7, "rows": 1540, "new_rows": 512}``.
A trigger that fires while the schedule's last run still runs waits for it to end (nothing is
lost); the first look only notes where things stand (a new schedule does not fire at once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from suricate.domain.models import check_alias
from suricate.domain.objects import ObjectService, blob_key
from suricate.errors import InvalidInput
from suricate.names import check_name
from suricate.store.tables import DataObject, Model, ModelAlias, ObjectVersion

COUNT_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Trigger:
    object: str | None = None
    rows: int | None = None
    model: str | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Trigger:
        """Check a trigger as a user wrote it."""
        if not isinstance(raw, dict) or not raw:
            raise InvalidInput('a trigger is {"object", "rows"?} or {"model", "alias"}')
        unknown = set(raw) - {"object", "rows", "model", "alias"}
        if unknown:
            raise InvalidInput(f"a trigger has no {', '.join(sorted(unknown))}")
        if "object" in raw:
            rows = raw.get("rows")
            if rows is not None and (not isinstance(rows, int) or not 0 < rows <= 10**12):
                raise InvalidInput("rows must be a whole number above 0")
            if "model" in raw or "alias" in raw:
                raise InvalidInput("a trigger watches an object or a model alias, not both")
            return cls(object=check_name("object", str(raw["object"])), rows=rows)
        if "model" in raw and "alias" in raw:
            if "rows" in raw:
                raise InvalidInput("rows is for object triggers")
            model = check_name("model", str(raw["model"]))
            return cls(model=model, alias=check_alias(str(raw["alias"])))
        raise InvalidInput('a trigger is {"object", "rows"?} or {"model", "alias"}')

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def observe(
    s: Session, objects: ObjectService, tenant_id: int, trigger: Trigger, state: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Look at what the trigger watches: (what fired it, or None; the state to keep)."""
    if trigger.object is not None:
        return _observe_object(s, objects, tenant_id, trigger, state)
    return _observe_alias(s, tenant_id, trigger, state)


def _observe_object(
    s: Session, objects: ObjectService, tenant_id: int, trigger: Trigger, state: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    found = s.execute(
        select(ObjectVersion)
        .join(DataObject, ObjectVersion.object_id == DataObject.id)
        .where(DataObject.tenant_id == tenant_id, DataObject.name == trigger.object)
        .order_by(ObjectVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if found is None:  # nothing yet: its first version will be news
        return None, state or {"version": 0, "rows": 0, "fired_rows": 0}
    if found.version == state.get("version"):
        return None, state
    rows = _count_rows(objects, tenant_id, found.sha256) if trigger.rows is not None else None
    if "version" not in state:  # the first look notes where things stand
        return None, {"version": found.version, "rows": rows, "fired_rows": rows}
    fired = {"kind": "object", "object": trigger.object, "version": found.version}
    if trigger.rows is None:
        return fired, {"version": found.version}
    new_rows = (rows or 0) - (state.get("fired_rows") or 0)
    seen = {**state, "version": found.version, "rows": rows}
    if new_rows < trigger.rows:
        return None, seen
    return {**fired, "rows": rows, "new_rows": new_rows}, {**seen, "fired_rows": rows}


def _count_rows(objects: ObjectService, tenant_id: int, sha256: str) -> int:
    """Lines of a stored version, read in chunks (constant memory), minus a CSV header."""
    lines, last, first = 0, b"\n", b""
    with objects.store.open(blob_key(tenant_id, sha256)) as f:
        while chunk := f.read(COUNT_CHUNK):
            if not first:
                first = chunk[:1]
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    if first not in (b"", b"{", b"["):  # not JSON lines: a CSV's first line is its header
        lines -= 1
    return max(lines, 0)


def _observe_alias(
    s: Session, tenant_id: int, trigger: Trigger, state: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    version = s.scalar(
        select(ModelAlias.version)
        .join(Model, ModelAlias.model_id == Model.id)
        .where(
            Model.tenant_id == tenant_id,
            Model.name == trigger.model,
            ModelAlias.alias == trigger.alias,
        )
    )
    if "version" not in state:
        return None, {"version": version}
    if version is None or version == state.get("version"):
        return None, {**state, "version": version} if version is None else state
    fired = {
        "kind": "model",
        "model": trigger.model,
        "alias": trigger.alias,
        "version": version,
        "previous": state.get("version"),
    }
    return fired, {"version": version}
