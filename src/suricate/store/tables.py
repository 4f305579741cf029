"""The metadata schema (SQLAlchemy 2 declarative), created by the Alembic migrations.

Every tenant-owned row carries ``tenant_id`` and every service query filters on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; SQLite forgets the zone, so put it back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TenantQuota(Base):
    """An administrator's overrides of a tenant's quotas and kernel maxima (None: the setting)."""

    __tablename__ = "tenant_quotas"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    sessions_per_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
    runs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    processors: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kernels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kernel_memory_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kernel_cpus: Mapped[float | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", order_by="Membership.id", cascade="all, delete-orphan"
    )


class Membership(Base):
    """A user's role in a tenant; the lowest id is the user's first tenant."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "tenant_id", name="uq_memberships_user_tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    tenant: Mapped[Tenant] = relationship()


class ApiToken(Base):
    """An API token; only its sha256 is stored (tokens are random, so a fast hash is safe)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    # Set for tokens that may act in one tenant only (a session kernel's token).
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # "sdk" for a kernel's token: it reaches only the data routes the in-kernel SDK uses.
    scope: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class DataObject(Base):
    """A named object of a tenant; its bytes live in versions."""

    __tablename__ = "objects"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_objects_tenant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[ObjectVersion]] = relationship(
        back_populates="object",
        order_by="ObjectVersion.version",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    tags: Mapped[list[ObjectTag]] = relationship(
        order_by="ObjectTag.tag", cascade="all, delete-orphan", passive_deletes=True
    )


class ObjectVersion(Base):
    __tablename__ = "object_versions"
    __table_args__ = (
        UniqueConstraint("object_id", "version", name="uq_object_versions_object_version"),
        Index("ix_object_versions_tenant_sha256", "tenant_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )

    object: Mapped[DataObject] = relationship(back_populates="versions")


class ObjectTag(Base):
    __tablename__ = "object_tags"
    __table_args__ = (
        UniqueConstraint("object_id", "tag", name="uq_object_tags_object_tag"),
        Index("ix_object_tags_tenant_tag", "tenant_id", "tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))


class Notebook(Base):
    """A tenant's notebook; its content lives in revisions, one per save."""

    __tablename__ = "notebooks"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_notebooks_tenant_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotebookRevision(Base):
    """One saved state of a notebook: the nbformat v4 JSON, as saved."""

    __tablename__ = "notebook_revisions"
    __table_args__ = (
        UniqueConstraint("notebook_id", "revision", name="uq_notebook_revisions_notebook_revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class Run(Base):
    """One execution of a notebook revision, with parameters, in a fresh kernel."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_tenant_notebook_created", "tenant_id", "notebook_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    notebook_revision: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    timeout_s: Mapped[float | None] = mapped_column(nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    memory_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cpus: Mapped[float | None] = mapped_column(nullable=True)
    cells_total: Mapped[int] = mapped_column(Integer, default=0)
    cells_done: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A replay backtest: {"object", "version", "models", "shadow", "batch_size"}, as JSON.
    backtest: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The frontend that drives the run; the leader takes over the runs of one that is gone.
    frontend: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Schedule(Base):
    """Run a notebook on a cron schedule, as the user who made the schedule."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    cron: Mapped[str] = mapped_column(String(128))
    timezone: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    runs_started: Mapped[int] = mapped_column(Integer, default=0)
    runs_skipped: Mapped[int] = mapped_column(Integer, default=0)
    last_skipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A schedule fires on a cron expression, or on data: this trigger (JSON), what it last saw.
    trigger: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger_state: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Stream(Base):
    """A named source of messages: an AMQP queue or exchange, an MQTT topic, or a replay."""

    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    # The definition as JSON; a URI's password is not in it but in ``secret``, encrypted.
    config: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Processor(Base):
    """A processing notebook deployed on a stream; ``status`` is what it should be doing."""

    __tablename__ = "processors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    stream_id: Mapped[str] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    notebook_revision: Mapped[int] = mapped_column(Integer)
    batch_size: Mapped[int] = mapped_column(Integer)
    batch_wait_ms: Mapped[int] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer)
    replicas: Mapped[int] = mapped_column(Integer, default=1)
    memory_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cpus: Mapped[float | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    nodes: Mapped[str] = mapped_column(Text, default="{}")  # instance -> node, as JSON
    token_ref: Mapped[str | None] = mapped_column(String(32), nullable=True)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    processed: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    dead_lettered: Mapped[int] = mapped_column(BigInteger, default=0)
    redelivered: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    # A challenger run in shadow and its promotion policy ({"model", "alias", "policy"}), as JSON.
    shadow: Mapped[str | None] = mapped_column(Text, nullable=True)
    # How the challenger does against the champion since it became the challenger, as JSON.
    shadow_stats: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # What sdk.metric measured, by model versions in use: [{"models", "name", "total", "count"}].
    metrics: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Action(Base):
    """What a processor (or any notebook) suggested or raised: text plus JSON data."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_tenant_processor_id", "tenant_id", "processor_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    processor_id: Mapped[str | None] = mapped_column(
        ForeignKey("processors.id", ondelete="CASCADE"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text, default="{}")
    # The model versions the action was made with: {"name": version}, as JSON.
    models: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # live (what users act on), shadow (a challenger's, never acted on), backtest (a run's).
    feed: Mapped[str] = mapped_column(String(16), default="live", server_default="live")
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeadLetter(Base):
    """A message whose handler kept failing, kept with its traceback for a later replay."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_processor_created", "processor_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    processor_id: Mapped[str] = mapped_column(ForeignKey("processors.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_b64: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    notebook_revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="dead")  # dead|replaying|replayed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Model(Base):
    """A tenant's named model: its versions and the aliases that point at them."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_models_tenant_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersion(Base):
    """One version of a model: its artifact (a blob), metrics, parameters and lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_version"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    flavor: Mapped[str] = mapped_column(String(16))  # skops | joblib | json
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    params: Mapped[str] = mapped_column(Text, default="{}")
    lineage: Mapped[str] = mapped_column(Text, default="{}")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelAlias(Base):
    """A name (champion, challenger...) for one version of a model; moving it is promoting."""

    __tablename__ = "model_aliases"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppendedRow(Base):
    """A row appended to a dataset object, waiting to be gathered into its next version.

    Once a version holds it, its payload is dropped and its key kept, so that the same row
    appended again (a message handled twice) is recognised and left out.
    """

    __tablename__ = "appended_rows"
    __table_args__ = (
        UniqueConstraint("tenant_id", "object_name", "key", name="uq_appended_rows_key"),
        Index("ix_appended_rows_pending", "tenant_id", "object_name", "version"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    object_name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    row: Mapped[str] = mapped_column(Text, default="")
    # The sha256 of the version being written with it: a flush cut short is found again by it.
    batch: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the one that holds it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KernelSession(Base):
    """An open session: a kernel on an execution node, usable through any frontend."""

    __tablename__ = "kernel_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    tenant_name: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(64))
    notebook_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    node: Mapped[str] = mapped_column(String(128))
    token_ref: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="interactive")
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notebook_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the last page showing it closed (None while one shows it, or none ever did).
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Frontend(Base):
    """A running `suricate serve` replica, known by its heartbeat."""

    __tablename__ = "frontends"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginAttempt(Base):
    """The login throttle's memory, shared by frontend replicas: failures of a user name or a
    client address, or a (name, address) pair trusted after a success."""

    __tablename__ = "login_attempts"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # name, address or trusted
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last: Mapped[float] = mapped_column()  # seconds since the epoch
