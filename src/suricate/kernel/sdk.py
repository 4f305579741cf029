"""The in-kernel SDK: ``from suricate import sdk``.

Inside a Suricate kernel it reaches the API over the Unix socket the execution node provides,
with the session's own short-lived token (never the user's). Outside a kernel, use
``suricate.Client(url, token)``, which has the same calls.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from suricate.kernel.client import ApiError, Client

T = TypeVar("T")

__all__ = [
    "action",
    "append",
    "client",
    "dask",
    "emit",
    "get_object",
    "list_objects",
    "load",
    "load_model",
    "log_model",
    "metric",
    "open",
    "put_object",
    "read_csv",
    "read_json",
    "save",
    "set_alias",
    "verdict",
]


@cache
def client() -> Client:
    """Return the client of this kernel's session."""
    token = os.environ.get("SURICATE_TOKEN")
    socket = os.environ.get("SURICATE_SDK_SOCKET")
    if not token:
        raise RuntimeError("not in a Suricate kernel: use suricate.Client(url, token) instead")
    if socket:
        return Client("http://suricate", token, uds=socket)
    return Client(os.environ.get("SURICATE_URL", "http://127.0.0.1:8888"), token)


def _api(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Make an API call; an error is raised from here, not from deep in the client.

    IPython hides frames that set ``__tracebackhide__``: a failed call shows the user's own
    line and the error, without the SDK's and httpx's frames.
    """
    __tracebackhide__ = True
    try:
        return call(*args, **kwargs)
    except ApiError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


def list_objects(tag: str | None = None) -> list[dict[str, Any]]:
    """List the tenant's objects (latest versions)."""
    __tracebackhide__ = True
    return _api(client().list_objects, tag)


def get_object(name: str) -> dict[str, Any]:
    """Return an object's metadata with its versions."""
    __tracebackhide__ = True
    return _api(client().get_object, name)


def put_object(name: str, data: bytes, content_type: str | None = None) -> dict[str, Any]:
    """Store bytes as a new version of an object."""
    __tracebackhide__ = True
    return _api(client().put_object, name, data, content_type)


def open(name: str, version: int | None = None) -> bytes:
    """Return the bytes of an object."""
    __tracebackhide__ = True
    return _api(client().open, name, version)


def read_csv(name: str, version: int | None = None, **kwargs: Any) -> Any:
    """Read a CSV object into a pandas DataFrame (extra arguments go to pandas.read_csv)."""
    __tracebackhide__ = True
    return _api(client().read_csv, name, version, **kwargs)


def read_json(name: str, version: int | None = None, **kwargs: Any) -> Any:
    """Read a JSON or JSON-lines object into a pandas DataFrame."""
    __tracebackhide__ = True
    return _api(client().read_json, name, version, **kwargs)


def load(name: str, version: int | None = None) -> Any:
    """Load what ``save`` stored: a dict/list, a DataFrame or a model."""
    __tracebackhide__ = True
    return _api(client().load, name, version)


def save(name: str, obj: Any) -> dict[str, Any]:
    """Save a dict/list as JSON, a DataFrame as Parquet, anything else (models) with joblib."""
    __tracebackhide__ = True
    return _api(client().save, name, obj)


def log_model(
    name: str,
    model: Any,
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """Store a new version of a model; return its number.

    Plain data (a dict, a list) is stored as JSON, scikit-learn estimators with skops, anything
    else with joblib. The version records where it came from without being told: the object
    versions this kernel read, its notebook and revision, the run, the user, the packages.
    """
    __tracebackhide__ = True
    from suricate.kernel import models

    flavor, data = models.serialize(model)
    lineage = {
        "objects": [{"name": n, "version": v} for n, v in client().reads],
        "packages": models.package_versions(),
    }
    meta = {"metrics": metrics or {}, "params": params or {}, "lineage": lineage}
    version: int = _api(client().log_model_version, name, flavor, data, meta)["version"]
    return version


def load_model(ref: str) -> Any:
    """Load a model version: ``"name"`` (the latest), ``"name/3"`` or ``"name@champion"``.

    The answer behaves like the model. Loaded by alias in a processor, it moves to the version
    the alias points at whenever the alias moves, between two chunks of messages.
    """
    __tracebackhide__ = True
    from suricate.kernel import models

    name, alias, number = models.parse_ref(ref)
    wanted = alias if alias is not None else str(number) if number is not None else "latest"
    pinned = models.registry.pins.get(name)
    if pinned is not None:  # a backtest runs the version it was asked to, whatever the alias
        ref, wanted = f"{name}/{pinned}", str(pinned)
    flavor, data, version = _api(client().model_artifact, name, wanted)
    return models.registry.add(models.ModelHandle(ref, version, models.deserialize(flavor, data)))


def metric(name: str, value: float) -> None:
    """Record a metric a processor's handler measured on a message: the loss of its advice
    once the outcome is known, a latency... The processor page shows each metric's mean by
    model version, and a challenger in shadow is compared with the champion on it (a
    promotion policy can decide on it). Outside a processor's handler it is not kept.
    """
    from suricate.kernel import handler as processing

    if processing.collecting() is not None:
        processing.record_metric(name, value)


def set_alias(name: str, alias: str, version: int) -> dict[str, Any]:
    """Point a model's alias at a version: promote it (or roll back); processors that loaded
    ``name@alias`` follow within a second or so."""
    __tracebackhide__ = True
    return _api(client().set_alias, name, alias, version)


def action(text: str, **data: Any) -> None:
    """Record an action: a suggestion or an alert, with any JSON data.

    In a processor's handler the action is recorded with the message's results (and is
    written only once the message is handled); elsewhere it is recorded at once.
    """
    from suricate.kernel import handler as processing

    if processing.collecting() is not None:
        processing.record_action(text, data)
        return
    __tracebackhide__ = True
    _api(client().action, text, **data)


def append(name: str, records: Any, key: str | None = None) -> None:
    """Add rows (dicts, or one dict) to the JSON-lines object ``name``; they are written out
    together as its next version (every SURICATE_APPEND_ROWS rows or APPEND_SECONDS seconds).

    With ``key`` (a field of every record), a row whose key was appended before is left out:
    a message handled twice appends once. In a processor's handler the rows go with the
    message's results and count only once it is handled.
    """
    __tracebackhide__ = True
    from suricate.kernel import handler as processing

    rows = [records] if isinstance(records, dict) else list(records)
    if processing.collecting() is not None:
        processing.record_append(name, rows, key)
        return
    _api(client().append, name, rows, key)


def verdict(promote: bool, reason: str = "") -> None:
    """Give a gate notebook's verdict: promote the challenger (True) or keep the champion.

    A processor's promotion policy with a ``gate`` runs the notebook with the shadow figures
    as parameters (model, champion_version, challenger_version, compared, agreement,
    champion_metrics, challenger_metrics); the last verdict it displays decides.
    """
    from IPython.display import display

    from suricate.kernel.handler import VERDICT_MIME

    said = "promote the challenger" if promote else "keep the champion"
    display(
        {
            VERDICT_MIME: {"promote": bool(promote), "reason": str(reason)},
            "text/plain": f"Verdict: {said}" + (f" ({reason})" if reason else ""),
        },
        raw=True,
    )


def emit(stream: str, payload: Any, headers: dict[str, Any] | None = None) -> None:
    """Publish a message onto one of the tenant's streams (JSON, or bytes as they are).

    A challenger's handler running in shadow publishes nothing.
    """
    __tracebackhide__ = True
    from suricate.kernel import handler as processing

    if processing.in_shadow():
        return
    _api(client().emit, stream, payload, headers)


_dask_client: Any = None


def dask(**cluster_options: Any) -> Any:
    """Return a Dask distributed client for this tenant's work.

    On the scheduler ``SURICATE_DASK_SCHEDULER`` names when the operator set one (the kernel
    then needs network access to it); otherwise on a small local cluster that runs inside this
    kernel, in threads, within its memory limit and sandbox (no network needed). The client is
    made once per kernel; ``cluster_options`` go to ``distributed.LocalCluster``.
    """
    global _dask_client
    if _dask_client is not None and _dask_client.status == "running":
        return _dask_client
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    address = os.environ.get("SURICATE_DASK_SCHEDULER")
    if address:
        _dask_client = DaskClient(address)
        return _dask_client
    memory_mb = int(os.environ.get("SURICATE_KERNEL_MEMORY_MB", "0") or 0)
    options: dict[str, Any] = {
        "processes": False,  # workers are threads of this kernel: its limits, its sandbox
        "n_workers": 1,
        "threads_per_worker": max(1, min(4, os.cpu_count() or 1)),
        "dashboard_address": None,
        # Leave a quarter of the kernel's memory to the kernel itself.
        "memory_limit": f"{memory_mb * 3 // 4}MiB" if memory_mb else "auto",
    }
    options.update(cluster_options)
    with warnings.catch_warnings():
        # A sandboxed kernel has no network: Dask looks for an IP it never needs here.
        warnings.filterwarnings("ignore", "Couldn't detect a suitable IP", RuntimeWarning)
        _dask_client = DaskClient(LocalCluster(**options))
    return _dask_client
