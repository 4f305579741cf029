"""The one typed settings object: every ``SURICATE_*`` environment variable, default and help."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class Settings(BaseSettings):
    """Read the platform's settings once, from ``SURICATE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SURICATE_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("./suricate-data"),
        description="Directory of the embedded defaults: the SQLite database and the object store.",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address `suricate serve` and `suricate demo` listen on (--host wins).",
    )
    port: int = Field(
        default=8888,
        gt=0,
        lt=65536,
        description="TCP port `suricate serve` and `suricate demo` listen on (--port wins).",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the metadata database; postgresql://user@host/db for PostgreSQL. "
            "Default: SQLite at DATA_DIR/suricate.db."
        ),
    )
    object_store_url: str | None = Field(
        default=None,
        description=(
            "Where object bytes live: s3://bucket/prefix for an S3-compatible store (credentials "
            "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile), or a directory "
            "(file:///path; a shared file system such as NFS for frontend replicas); "
            "default: DATA_DIR/objects."
        ),
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible server (MinIO, Ceph...); default: AWS S3.",
    )
    max_upload_bytes: int = Field(
        default=GIB,
        gt=0,
        description="Largest upload accepted, in bytes; larger ones get 413 and leave nothing.",
    )
    max_notebook_bytes: int = Field(
        default=64 * 1024**2,
        gt=0,
        description="Largest .ipynb accepted by notebook import, in bytes (outputs included).",
    )
    preview_max_bytes: int = Field(
        default=8 * 1024**2,
        gt=0,
        description=(
            "Most unpacked bytes a preview reads, whatever the format and compression; a file "
            "past it gets 422 naming the limit, or a partial preview."
        ),
    )
    preview_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Longest a preview may take, in seconds, before it gives up (422).",
    )
    replay_max_bytes: int = Field(
        default=64 * 1024**2,
        gt=0,
        description=(
            "Most bytes (unpacked) of the object a replay stream reads on an execution node; a "
            "larger one fails the processor with bad_object."
        ),
    )
    max_json_bytes: int = Field(
        default=1024**2,
        gt=0,
        description=(
            "Largest request body accepted, in bytes, except uploads (SURICATE_MAX_UPLOAD_BYTES) "
            "and notebooks (SURICATE_MAX_NOTEBOOK_BYTES); larger ones get 413."
        ),
    )
    broker_url: str | None = Field(
        default=None,
        description=(
            "amqp://user:pass@host/vhost of RabbitMQ: the server then sends kernels' work to "
            "`suricate execnode` processes instead of running an execution node in-process."
        ),
    )
    kernel_sandbox: str = Field(
        default="auto",
        description=(
            "How kernels are isolated: 'bwrap' (the full sandbox, or refuse to start), 'auto' "
            "(bubblewrap when installed, with what the machine allows, else unsandboxed with a "
            "warning) or 'none'."
        ),
    )
    kernel_network: str = Field(
        default="none",
        description="Network for sandboxed kernels: 'none' (safe default) or 'host'.",
    )
    kernel_memory_mb: int = Field(
        default=2048,
        gt=64,
        description=(
            "Resident memory of each kernel's whole process tree, in MiB (cgroup); past it the "
            "kernel is killed and restarted."
        ),
    )
    kernel_cpus: float = Field(
        default=1.0, gt=0, description="CPU time of each kernel's process tree, in cores (cgroup)."
    )
    kernel_pids: int = Field(
        default=256,
        ge=32,
        description="Processes and threads of each kernel's process tree together (cgroup).",
    )
    kernel_scratch_mb: int = Field(
        default=1024,
        ge=16,
        description=(
            "Writable space of each kernel, in MiB: its /tmp and runtime dir (HOME) together, "
            "a size-limited tmpfs that counts against its memory."
        ),
    )
    kernel_uid: int = Field(
        default=64100,
        gt=0,
        description=(
            "Host uid and gid that sandboxed kernels run as when the node runs as root (it "
            "should own no file)."
        ),
    )
    quota_sessions_per_user: int = Field(
        default=8, ge=0, description="Interactive sessions (kernels) one user may have open."
    )
    quota_runs_per_tenant: int = Field(
        default=16, ge=0, description="Runs of one tenant queued or running at once."
    )
    quota_processors_per_tenant: int = Field(
        default=16, ge=0, description="Processors of one tenant deployed (not stopped) at once."
    )
    quota_kernels_per_tenant: int = Field(
        default=32,
        ge=0,
        description="Kernels of one tenant at once: sessions, runs and processor instances.",
    )
    kernel_exec_timeout: float = Field(
        default=3600.0,
        gt=0,
        description="Longest a single cell may run, in seconds, before it is interrupted.",
    )
    kernel_idle_timeout: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds a session's kernel may stay idle before it is shut down (culled).",
    )
    jupyter_max_message_bytes: int = Field(
        default=10 * 1024**2,
        gt=0,
        description=(
            "Largest Jupyter message, in bytes, on a /jupyter kernel's WebSocket: a client's "
            "larger one closes the socket (1009); a kernel's larger one is replaced by a note."
        ),
    )
    jupyter_messages_per_s: float = Field(
        default=100.0,
        gt=0,
        description=(
            "Messages a Jupyter client may send per second on one kernel WebSocket (bursts of "
            "ten seconds' worth); faster closes the socket (1008)."
        ),
    )
    append_rows: int = Field(
        default=1000,
        gt=0,
        description="Rows appended to a dataset (sdk.append) that make its next version.",
    )
    append_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds appended rows wait at most before they are written as a version.",
    )
    kernel_detached_grace: float = Field(
        default=300.0,
        gt=0,
        description=(
            "Seconds an idle session's kernel lives on once the last page showing it (the "
            "notebook editor) has closed; sessions used only through the API keep IDLE_TIMEOUT."
        ),
    )
    kernel_pool_size: int = Field(
        default=1,
        ge=0,
        description="Warm kernels kept ready per active tenant, so sessions start at once.",
    )
    kernel_fork: bool = Field(
        default=True,
        description=(
            "Fork kernels from a template process per tenant (per user for sessions) with the "
            "data-science stack imported: fast starts and shared pages, no warm pool. 0: start "
            "each kernel anew, with the warm pool (SURICATE_KERNEL_POOL_SIZE)."
        ),
    )
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text for terminals, json for one JSON object per line (with request ids).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description=(
            "When set, GET /metrics needs 'Authorization: Bearer <this>' (Prometheus' "
            "authorization.credentials); default: open to whoever reaches the port."
        ),
    )
    node_health_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "Port on which an execution node serves GET /healthz, /readyz and /metrics "
            "(for probes and Prometheus); default: none."
        ),
    )
    dask_scheduler: str | None = Field(
        default=None,
        description=(
            "Address of a Dask scheduler (tcp://host:8786) that sdk.dask() connects to; default: "
            "a small local cluster inside the kernel's limits."
        ),
    )
    url: str = Field(
        default="http://127.0.0.1:8888",
        description="Server URL used by the CLI's client commands (upload, download).",
    )
    token: SecretStr | None = Field(
        default=None, description="API token used by the CLI's client commands."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Key of the HMAC-SHA256 signature of webhooks; default: a random one kept in "
            "DATA_DIR/webhook-secret."
        ),
    )
    password: SecretStr | None = Field(
        default=None,
        description="Password for `suricate user create` (prompted for when unset).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key (Fernet, urlsafe base64 of 32 bytes) that encrypts stream passwords in the "
            "database; default: a random one kept in DATA_DIR/secret-key. Keep it with backups."
        ),
    )
    session_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long a web UI login lasts before the user must log in again.",
    )
    stream_allowed_hosts: str = Field(
        default="*",
        description=(
            "Comma-separated hosts (with * wildcards) that AMQP/MQTT streams may connect to. "
            "Default: any. Execution nodes connect where users say: narrow this to keep them "
            "off internal services (SSRF)."
        ),
    )

    outbound_allowed_hosts: str = Field(
        default="",
        description=(
            "Comma-separated host names (with * wildcards) and CIDRs (10.0.0.0/8, ::1/128) that "
            "webhooks and streams may reach although they are loopback, private, link-local or "
            "metadata addresses, all refused by default (e.g. 127.0.0.1 for a local RabbitMQ)."
        ),
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value

    @field_validator("kernel_sandbox")
    @classmethod
    def _known_sandbox(cls, value: str) -> str:
        if value not in {"auto", "bwrap", "none"}:
            raise ValueError("must be one of auto, bwrap, none")
        return value

    @field_validator("kernel_network")
    @classmethod
    def _known_network(cls, value: str) -> str:
        if value not in {"none", "host"}:
            raise ValueError("must be one of none, host")
        return value

    @property
    def stream_allowed_hosts_list(self) -> list[str]:
        return [h.strip() for h in self.stream_allowed_hosts.split(",") if h.strip()]

    @property
    def outbound_allowed_list(self) -> list[str]:
        return [h.strip() for h in self.outbound_allowed_hosts.split(",") if h.strip()]

    @property
    def resolved_database_url(self) -> str:
        """Return the SQLAlchemy URL to connect to, with the driver spelled out."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'suricate.db').resolve()}"
        # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def run_dir(self) -> Path:
        """Return the directory of kernel runtime dirs and the SDK socket."""
        return self.data_dir / "run"

    @property
    def objects_dir(self) -> Path:
        """Return the directory of the local object store."""
        return self.data_dir / "objects"

    def describe(self) -> list[dict[str, Any]]:
        """List every setting with its env var, current value (secrets masked), default and help."""
        rows = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown: Any = "********"
            elif value is None:
                shown = ""
            else:
                shown = str(value)
            default = field.default
            rows.append(
                {
                    "env": f"SURICATE_{name.upper()}",
                    "value": shown,
                    "default": "" if default is None else str(default),
                    "help": field.description or "",
                }
            )
        return rows


def warn_if_root() -> None:
    """Warn that the server or node runs as root (kernels never do)."""
    import logging
    import os

    if os.geteuid() == 0:
        logging.getLogger("suricate").warning(
            "running as root: kernels still run as an unprivileged uid (SURICATE_KERNEL_UID) "
            "in bubblewrap, and nothing but their scratch mounts and cgroups needs root; prefer "
            "a service user with CAP_SYS_ADMIN and cgroup delegation (docs/deploy.md)"
        )
