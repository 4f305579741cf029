"""Notebooks of a tenant: nbformat v4 JSON, every save kept as a revision."""

from __future__ import annotations

import json
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from suricate.domain.pagination import Page, keyset, page_of
from suricate.domain.previews import parse_json
from suricate.errors import AlreadyExists, Conflict, MalformedData, NotebookNotFound
from suricate.names import check_name, normal_name, storable
from suricate.store.db import Database
from suricate.store.tables import Notebook, NotebookRevision, utcnow


class Kind(StrEnum):
    ANALYTICS = "analytics"
    PROCESSING = "processing"


@dataclass(frozen=True)
class NotebookInfo:
    id: str
    name: str
    kind: Kind
    revision: int
    created_at: datetime
    updated_at: datetime
    content: dict[str, Any] | None = None


@dataclass(frozen=True)
class RevisionInfo:
    notebook_id: str
    revision: int
    created_at: datetime
    content: dict[str, Any] | None = None


def new_notebook() -> dict[str, Any]:
    """Return an empty nbformat v4 notebook with a Python 3 kernelspec."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return _plain(nb)


DEFAULT_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def parse_notebook(data: bytes | str | dict[str, Any], name: str = "notebook") -> dict[str, Any]:
    """Parse an .ipynb as leniently as Jupyter (see ``read_notebook``); raise MalformedData."""
    return read_notebook(data, name)[0]


def read_notebook(
    data: bytes | str | dict[str, Any], name: str = "notebook"
) -> tuple[dict[str, Any], list[str]]:
    """Parse an .ipynb (any nbformat 4.x, or older, upgraded), repairing what nbformat can;
    return it with a sentence per repair. Only what cannot be read as a notebook is refused."""
    import nbformat
    from nbformat.validator import normalize

    raw: Any = data if isinstance(data, dict) else parse_json(data, name)
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise MalformedData(name, "not a Jupyter notebook: no 'cells' list at the top level")
    if not isinstance(raw.get("nbformat"), int):
        raise MalformedData(name, "not a Jupyter notebook: 'nbformat' must be an integer")
    if raw["nbformat"] > 4:
        raise MalformedData(name, f"nbformat {raw['nbformat']} is newer than this server reads (4)")
    raw = json.loads(json.dumps(raw))  # repairs never touch the caller's dict
    repairs = _repair_raw(raw) if raw["nbformat"] == 4 else []
    try:
        with warnings.catch_warnings():
            # nbformat warns as it adds missing cell ids: that is a repair, reported below.
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(raw), as_version=4, capture_validation_error={})
            invalid = _metadata_errors(nb)
            _, nb = normalize(nb, strip_invalid_metadata=True)
    except Exception as exc:  # nbformat raises plain errors for what it cannot read
        # The schema names the place (cells/0: 'metadata' is required); nbformat is vaguer.
        problem = _schema_problem(raw) if raw["nbformat"] == 4 else None
        if problem:
            raise MalformedData(name, f"not a valid nbformat v4 notebook: {problem}") from exc
        raise MalformedData(name, f"not a valid notebook: {exc}") from exc
    if raw["nbformat"] < 4:
        repairs.append(f"upgraded from nbformat {raw['nbformat']} to 4.{nb['nbformat_minor']}")
    repairs += [f"removed invalid metadata at {where}" for where in invalid]
    problem = _schema_problem(nb)
    if problem:
        raise MalformedData(name, f"not a valid nbformat v4 notebook: {problem}")
    return _plain(nb), repairs


def _repair_raw(raw: dict[str, Any]) -> list[str]:
    """Repair a v4 notebook's dict in place as Jupyter would; return what was done."""
    repairs = []
    cells = raw.get("cells")
    cells = [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []
    minor = raw.get("nbformat_minor")
    has_ids = any("id" in c for c in cells)
    if not isinstance(minor, int) or minor < 0:
        raw["nbformat_minor"] = 5 if has_ids else 4
        repairs.append(f"set the missing nbformat_minor to {raw['nbformat_minor']}")
    elif minor < 5 and has_ids:
        raw["nbformat_minor"] = 5
        repairs.append(f"upgraded nbformat 4.{minor} to 4.5, the first version with cell ids")
    if raw["nbformat_minor"] >= 5:
        missing = sum("id" not in c for c in cells)
        if missing:
            repairs.append(f"added ids to {missing} cell{'s' if missing > 1 else ''}")
        ids = [c["id"] for c in cells if "id" in c]
        if len(set(map(str, ids))) < len(ids):
            repairs.append("renamed duplicate cell ids")
    metadata = raw.get("metadata")
    spec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    if isinstance(spec, dict):
        info = metadata.get("language_info") if isinstance(metadata, dict) else None
        language = spec.get("language") or (info.get("name") if isinstance(info, dict) else None)
        python = not isinstance(language, str) or language.strip().lower() == "python"
        filled = {
            "name": "python3" if python else str(language).lower(),
            "display_name": "Python 3" if python else str(language),
        }
        for key, value in filled.items():
            if not isinstance(spec.get(key), str):
                spec[key] = value
                repairs.append(f"filled in metadata.kernelspec.{key} ({value!r})")
    return repairs


def _metadata_errors(nb: Any) -> list[str]:
    """Where a notebook's metadata breaks the schema (what strip_invalid_metadata removes)."""
    from nbformat.validator import get_validator

    minor = nb.get("nbformat_minor", 5)
    validator = get_validator(version=4, version_minor=minor, name="jsonschema")
    places: list[str] = []
    errors = list(validator.iter_errors(nb))
    while errors and len(places) < 1000:
        err = errors.pop()
        if err.context:  # a cell is checked against each cell type: look inside
            errors.extend(err.context)
            continue
        path = [str(p) for p in err.absolute_path]
        if "metadata" in path:
            places.append(f"{'/'.join(path)} ({err.message[:200]})")
    return sorted(set(places))[:20]


def _schema_problem(nb: Any) -> str | None:
    """Explain the most relevant schema violation, e.g. 'at cells/0: 'metadata' is a required
    property', or return None for a valid notebook."""
    from jsonschema.exceptions import best_match
    from nbformat.validator import get_validator

    minor = nb.get("nbformat_minor", 5)
    validator = get_validator(
        version=4, version_minor=minor if isinstance(minor, int) else 5, name="jsonschema"
    )
    err = best_match(validator.iter_errors(nb))
    if err is None:
        return None
    while err.context:
        # A cell is checked against every cell type (oneOf); explain the branch of its own type.
        wrong_type = {
            c.schema_path[0] for c in err.context if list(c.relative_path) == ["cell_type"]
        }
        own = [c for c in err.context if c.schema_path[0] not in wrong_type]
        if not own:
            break
        err = best_match(own)
    where = "/".join(str(p) for p in err.absolute_path) or "top level"
    return f"at {where}: {err.message}"


def _plain(nb: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(nb))
    return result


def _info(row: Notebook, content: dict[str, Any] | None = None) -> NotebookInfo:
    return NotebookInfo(
        row.id, row.name, Kind(row.kind), row.revision, row.created_at, row.updated_at, content
    )


class NotebookService:
    """Create, save (as new revisions), list, read and delete a tenant's notebooks."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        tenant_id: int,
        name: str,
        kind: Kind,
        content: dict[str, Any] | None = None,
        user_id: int | None = None,
    ) -> NotebookInfo:
        """Create a notebook (empty unless ``content`` is given) at revision 1."""
        name = check_name("notebook", name)
        content = parse_notebook(content, name) if content is not None else new_notebook()
        now = utcnow()
        row = Notebook(
            id=uuid.uuid4().hex,
            tenant_id=tenant_id,
            name=name,
            kind=kind.value,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.db.session() as s:
                s.add(row)
                s.flush()
                s.add(_revision(row, content, user_id, now))
        except IntegrityError as exc:
            raise AlreadyExists("notebook", name) from exc
        return _info(row, content)

    def save(
        self,
        tenant_id: int,
        notebook_id: str,
        *,
        content: dict[str, Any] | None = None,
        name: str | None = None,
        base_revision: int | None = None,
        user_id: int | None = None,
    ) -> NotebookInfo:
        """Save new content (as the next revision) and/or a new name."""
        if name is not None:
            name = check_name("notebook", name)
        if content is not None:
            content = parse_notebook(content, name or "notebook")
        try:
            with self.db.session() as s:
                row = self._row(s, tenant_id, notebook_id, lock=True)
                if base_revision is not None and base_revision != row.revision:
                    raise Conflict(
                        f"notebook changed since revision {base_revision} "
                        f"(now at {row.revision}); reload it and save again"
                    )
                now = utcnow()
                if name is not None:
                    row.name = name
                if content is not None:
                    row.revision += 1
                    s.add(_revision(row, content, user_id, now))
                else:
                    content = self._content(s, row.id, row.revision)
                row.updated_at = now
                s.flush()
                return _info(row, content)
        except IntegrityError as exc:
            raise AlreadyExists("notebook", name or notebook_id) from exc

    def get(self, tenant_id: int, notebook_id: str, revision: int | None = None) -> NotebookInfo:
        """Return a notebook with its content (the current revision by default)."""
        with self.db.session() as s:
            row = self._row(s, tenant_id, notebook_id)
            content = self._content(s, row.id, revision or row.revision)
            return _info(row, content)

    def find(self, tenant_id: int, id_or_name: str) -> NotebookInfo:
        """Return a notebook (without content) by id or by name."""
        if not storable(id_or_name):
            raise NotebookNotFound(id_or_name)
        id_or_name = normal_name(id_or_name)
        with self.db.session() as s:
            row = s.scalar(
                select(Notebook).where(
                    Notebook.tenant_id == tenant_id,
                    (Notebook.id == id_or_name) | (Notebook.name == id_or_name),
                )
            )
            if row is None:
                raise NotebookNotFound(id_or_name)
            return _info(row)

    def list(
        self,
        tenant_id: int,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        kind: Kind | None = None,
    ) -> Page[NotebookInfo]:
        """List notebooks by name, without their content."""
        with self.db.session() as s:
            query = select(Notebook).where(Notebook.tenant_id == tenant_id)
            if kind is not None:
                query = query.where(Notebook.kind == kind.value)
            query, limit = keyset(query, Notebook.name, cursor, limit)
            items = [_info(r) for r in s.scalars(query)]
            return page_of(items, limit, lambda n: n.name)

    def revisions(
        self,
        tenant_id: int,
        notebook_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[RevisionInfo]:
        """List a notebook's revisions, newest first, without content."""
        with self.db.session() as s:
            row = self._row(s, tenant_id, notebook_id)
            query = select(NotebookRevision.revision, NotebookRevision.created_at).where(
                NotebookRevision.notebook_id == row.id
            )
            query, limit = keyset(query, NotebookRevision.revision, cursor, limit, descending=True)
            items = [RevisionInfo(row.id, rev, at) for rev, at in s.execute(query)]
            return page_of(items, limit, lambda r: r.revision)

    def delete(self, tenant_id: int, notebook_id: str) -> None:
        """Delete a notebook and all its revisions."""
        with self.db.session() as s:
            s.delete(self._row(s, tenant_id, notebook_id))

    @staticmethod
    def _row(s: Session, tenant_id: int, notebook_id: str, lock: bool = False) -> Notebook:
        if not storable(notebook_id):
            raise NotebookNotFound(notebook_id)
        notebook_id = normal_name(notebook_id)
        query = select(Notebook).where(
            Notebook.tenant_id == tenant_id,
            (Notebook.id == notebook_id) | (Notebook.name == notebook_id),  # an id, or a name
        )
        query = query.order_by((Notebook.id == notebook_id).desc())  # an id wins over a name
        if lock:
            query = query.with_for_update()
        row = s.scalar(query)
        if row is None:
            raise NotebookNotFound(notebook_id)
        return row

    @staticmethod
    def _content(s: Session, notebook_id: str, revision: int) -> dict[str, Any]:
        text = s.scalar(
            select(NotebookRevision.content).where(
                NotebookRevision.notebook_id == notebook_id, NotebookRevision.revision == revision
            )
        )
        if text is None:
            raise NotebookNotFound(f"{notebook_id} revision {revision}")
        result: dict[str, Any] = json.loads(text)
        return result


def _revision(
    row: Notebook, content: dict[str, Any], user_id: int | None, now: datetime
) -> NotebookRevision:
    return NotebookRevision(
        tenant_id=row.tenant_id,
        notebook_id=row.id,
        revision=row.revision,
        content=json.dumps(content, ensure_ascii=False),
        created_at=now,
        created_by=user_id,
    )


def to_ipynb(info: NotebookInfo) -> str:
    """Return the .ipynb text of a notebook as Jupyter writes it (nbformat's ``writes``).

    A processing notebook carries its kind in ``metadata.suricate``, which an import reads back;
    an analytics notebook (the default kind) carries nothing of Suricate's, so one imported and
    never edited exports equal to its file after nbformat's normalisation."""
    import nbformat

    assert info.content is not None
    nb = json.loads(json.dumps(info.content))
    if info.kind is not Kind.ANALYTICS:
        nb.setdefault("metadata", {})["suricate"] = {"kind": info.kind.value}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the content was validated when it was saved
        return nbformat.writes(nbformat.from_dict(nb), version=4) + "\n"
