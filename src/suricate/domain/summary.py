"""A tenant at a glance: the counts and recent activity behind the UI's overview tiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from suricate.store.db import Database
from suricate.store.tables import (
    Action,
    DataObject,
    DeadLetter,
    Notebook,
    ObjectVersion,
    Processor,
    Run,
    Schedule,
    Stream,
    utcnow,
)

RECENT = 12


@dataclass
class Activity:
    kind: str  # upload | run | processor | action
    text: str
    at: datetime
    status: str | None = None
    ref: str | None = None  # what the UI links to: an object name, run id, processor id


@dataclass
class Summary:
    data: dict[str, Any]
    analytics: dict[str, Any]
    processing: dict[str, Any]
    runs: dict[str, Any]
    recent: list[Activity] = field(default_factory=list)


def tenant_summary(db: Database, tenant_id: int) -> Summary:
    """Count what the tenant has and list what happened lately, newest first."""
    day_ago, hour_ago = utcnow() - timedelta(days=1), utcnow() - timedelta(hours=1)
    with db.session() as s:

        def count(model: Any, *where: Any) -> int:
            query = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
            return int(s.scalar(query.where(*where)) or 0)

        stored = s.scalar(
            select(func.coalesce(func.sum(ObjectVersion.size), 0)).where(
                ObjectVersion.tenant_id == tenant_id
            )
        )
        run_states = dict(
            s.execute(
                select(Run.status, func.count())
                .where(Run.tenant_id == tenant_id, Run.created_at >= day_ago)
                .group_by(Run.status)
            ).all()
        )
        summary = Summary(
            data={
                "objects": count(DataObject),
                "bytes": int(stored or 0),
                "streams": count(Stream),
            },
            analytics={
                "notebooks": count(Notebook, Notebook.kind == "analytics"),
                "processing_notebooks": count(Notebook, Notebook.kind == "processing"),
            },
            processing={
                "running": count(Processor, Processor.status.in_(("starting", "running"))),
                "failed": count(Processor, Processor.status == "failed"),
                "processors": count(Processor, Processor.status != "stopped"),
                "processed": int(
                    s.scalar(
                        select(func.coalesce(func.sum(Processor.processed), 0)).where(
                            Processor.tenant_id == tenant_id, Processor.status != "stopped"
                        )
                    )
                    or 0
                ),
                "actions_last_hour": count(Action, Action.created_at >= hour_ago),
                "dead_letters": count(DeadLetter, DeadLetter.status == "dead"),
            },
            runs={
                "active": count(Run, Run.status.in_(("queued", "running"))),
                "last_day": {str(k): int(v) for k, v in run_states.items()},
                "schedules": count(Schedule),
            },
        )
        recent = summary.recent
        uploads = s.execute(
            select(DataObject.name, ObjectVersion.version, ObjectVersion.created_at)
            .join(DataObject, DataObject.id == ObjectVersion.object_id)
            .where(ObjectVersion.tenant_id == tenant_id)
            .order_by(ObjectVersion.created_at.desc(), ObjectVersion.id.desc())
            .limit(RECENT)
        )
        for name, version, at in uploads:
            recent.append(Activity("upload", f"{name} v{version} uploaded", at, None, name))
        runs = s.execute(
            select(Run.id, Notebook.name, Run.status, Run.created_at, Run.finished_at)
            .join(Notebook, Notebook.id == Run.notebook_id)
            .where(Run.tenant_id == tenant_id)
            .order_by(Run.created_at.desc())
            .limit(RECENT)
        )
        for run_id, notebook, status, created, finished in runs:
            recent.append(
                Activity("run", f"Run of {notebook}", finished or created, status, run_id)
            )
        processors = s.execute(
            select(Processor.id, Notebook.name, Stream.name, Processor.status, Processor.created_at)
            .join(Notebook, Notebook.id == Processor.notebook_id)
            .join(Stream, Stream.id == Processor.stream_id)
            .where(Processor.tenant_id == tenant_id)
            .order_by(Processor.created_at.desc())
            .limit(RECENT)
        )
        for proc_id, notebook, stream, status, at in processors:
            text = f"{notebook} deployed on {stream}"
            recent.append(Activity("processor", text, at, status, proc_id))
        actions = s.execute(
            select(Action.text, Action.created_at, Action.processor_id)
            .where(Action.tenant_id == tenant_id)
            .order_by(Action.id.desc())
            .limit(5)
        )
        for action_text, action_at, action_proc in actions:
            recent.append(Activity("action", action_text, action_at, None, action_proc))
    recent.sort(key=lambda a: a.at, reverse=True)
    del recent[RECENT:]
    return summary
