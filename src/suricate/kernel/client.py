"""``suricate.Client``: the REST API from Python, outside a kernel (the CLI uses it too)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from suricate.errors import SuricateError
from suricate.names import check_name

CHUNK = 1024 * 1024
# An upload's sha256 may follow its bytes, as their last 64 (hex digits).
SHA256_TRAILER = 64
PARQUET = "application/vnd.apache.parquet"
# joblib files are pickles: load only what your own tenant saved.
JOBLIB = "application/vnd.suricate.joblib"
Progress = Callable[[int], None]


class ApiError(SuricateError):
    """An error answer from the server, with its HTTP status and error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, the usual stowaways in a model's JSON.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Requests that may be sent again when a frontend replica went away under them (a rolling
# restart behind a proxy): reads on any failure or a proxy's "no frontend" answer, writes only
# when the connection was never made (the server cannot have seen them).
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_IDEMPOTENT = _SAFE | {"PUT", "DELETE"}
_NO_FRONTEND = frozenset({502, 503, 504})
TRIES = 3


class _Retrying(httpx.BaseTransport):
    """Send idempotent requests again, up to ``TRIES`` times, 0.25 s then 0.5 s apart."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import time

        replayable = isinstance(request.stream, httpx.ByteStream)
        tries = TRIES if request.method in _IDEMPOTENT and replayable else 1
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                response = self.inner.handle_request(request)
            except httpx.ConnectError:
                if last:
                    raise
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
                if last or request.method not in _SAFE:
                    raise
            else:
                if last or request.method not in _SAFE or response.status_code not in _NO_FRONTEND:
                    return response
                response.close()
            time.sleep(0.25 * 2**attempt)
        raise AssertionError("unreachable")  # every last try returns or raises

    def close(self) -> None:
        self.inner.close()


def _q(name: str) -> str:
    """Check an object name and quote it for a URL path, so it can only name an object."""
    return quote(check_name("object", name), safe="")


def _update(digest: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        digest.update(chunk)


class _Hasher:
    """Compute the sha256 of a stream in a thread beside the caller's I/O.

    hashlib lets go of the GIL, so the hashing of one batch overlaps with the sending or
    writing of the next: on two cores a transfer costs about the longer of the two, not both.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._pending: deque[Future[None]] = deque()

    def __enter__(self) -> _Hasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.shutdown(cancel_futures=True)

    def update(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        if self._batch_size >= CHUNK:
            self._hand_over()

    def hexdigest(self) -> str:
        """Return the digest of everything given so far."""
        self._hand_over()
        while self._pending:
            self._pending.popleft().result()
        return self._digest.hexdigest()

    def _hand_over(self) -> None:
        if self._batch:
            self._pending.append(self._thread.submit(_update, self._digest, self._batch))
            self._batch, self._batch_size = [], 0
        while len(self._pending) > 2:  # a few batches ahead at most: memory stays flat
            self._pending.popleft().result()


class Client:
    """Talk to a Suricate server with an API token, acting in one tenant."""

    def __init__(
        self,
        url: str,
        token: str,
        tenant: str | None = None,
        timeout: float = 60.0,
        uds: str | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if tenant:
            headers["X-Suricate-Tenant"] = tenant
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=_Retrying(httpx.HTTPTransport(uds=uds)),
        )
        # The object versions read through this client: a model logged next names them.
        self.reads: list[tuple[str, int]] = []

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        if response.is_stream_consumed is False:
            response.read()
        try:
            err = response.json()["error"]
            raise ApiError(response.status_code, err["code"], err["message"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(
                response.status_code, "http_error", f"HTTP {response.status_code}"
            ) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call any route under /api/v1 (``path`` like ``"/streams"``); return its JSON or None."""
        response = self._check(self._http.request(method, path, **kwargs))
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._http.get("/health")).json()
        return result

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._http.get("/me")).json()
        return result

    def list_objects(self, tag: str | None = None) -> list[dict[str, Any]]:
        """Return every object (latest versions), following the pages."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1000}
        if tag:
            params["tag"] = tag
        while True:
            page = self._check(self._http.get("/objects", params=params)).json()
            items.extend(page["items"])
            if not page["next"]:
                return items
            params["cursor"] = page["next"]

    def get_object(self, name: str) -> dict[str, Any]:
        """Return an object's metadata with its versions."""
        result: dict[str, Any] = self._check(self._http.get(f"/objects/{_q(name)}")).json()
        return result

    def preview(self, name: str, rows: int = 20) -> dict[str, Any]:
        response = self._http.get(f"/objects/{_q(name)}/preview", params={"rows": rows})
        result: dict[str, Any] = self._check(response).json()
        return result

    def delete_object(self, name: str) -> None:
        self._check(self._http.delete(f"/objects/{_q(name)}"))

    def put_object(self, name: str, data: bytes, content_type: str | None = None) -> dict[str, Any]:
        """Store ``data`` as a new version of ``name``."""
        headers = {"X-Content-SHA256": hashlib.sha256(data).hexdigest()}
        if content_type:
            headers["Content-Type"] = content_type
        response = self._http.put(f"/objects/{_q(name)}", content=data, headers=headers)
        result: dict[str, Any] = self._check(response).json()
        return result

    def get_bytes(self, name: str, version: int | None = None) -> bytes:
        """Return the bytes of an object (the latest version by default)."""
        response = self._get_content(name, version)
        return response.content

    def _get_content(self, name: str, version: int | None = None) -> httpx.Response:
        params = {"version": version} if version else None
        response = self._check(self._http.get(f"/objects/{_q(name)}/content", params=params))
        read = response.headers.get("X-Suricate-Version", "")
        if read.isdigit() and (name, int(read)) not in self.reads:
            self.reads.append((name, int(read)))
        return response

    # Models

    def model(self, name: str) -> dict[str, Any]:
        """A model with its versions and aliases."""
        result: dict[str, Any] = self._check(self._http.get(f"/models/{_q(name)}")).json()
        return result

    def model_artifact(self, name: str, version: str = "latest") -> tuple[str, bytes, int]:
        """The flavor, bytes and number of a model version (a number, latest or an alias)."""
        response = self._check(
            self._http.get(f"/models/{_q(name)}/versions/{_q(version)}/artifact")
        )
        flavor = response.headers["X-Suricate-Model-Flavor"]
        return flavor, response.content, int(response.headers["X-Suricate-Model-Version"])

    def log_model_version(
        self, name: str, flavor: str, data: bytes, meta: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a new version of a model from its serialized bytes; return the version."""
        response = self._http.post(
            f"/models/{_q(name)}/versions",
            data={"flavor": flavor, "meta": json.dumps(meta, default=_json_default)},
            files={"artifact": (f"{name}.{flavor}", data, "application/octet-stream")},
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def set_alias(self, name: str, alias: str, version: int) -> dict[str, Any]:
        """Point a model's alias at a version (promote, or roll back)."""
        response = self._http.put(
            f"/models/{_q(name)}/aliases/{_q(alias)}", json={"version": version}
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def find_notebook(self, id_or_name: str) -> dict[str, Any]:
        """Return a notebook's summary given its id or its name."""
        response = self._http.get(f"/notebooks/{quote(id_or_name, safe='')}")
        if response.status_code != 404:
            result: dict[str, Any] = self._check(response).json()
            return result
        params: dict[str, Any] = {"limit": 1000}
        while True:
            page = self._check(self._http.get("/notebooks", params=params)).json()
            for item in page["items"]:
                if item["name"] == id_or_name:
                    found: dict[str, Any] = item
                    return found
            if not page["next"]:
                raise ApiError(404, "notebook_not_found", f"notebook {id_or_name!r} not found")
            params["cursor"] = page["next"]

    def run(
        self,
        notebook_id: str,
        parameters: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Trigger a run of a notebook; return the queued run."""
        body: dict[str, Any] = {"parameters": parameters or {}}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        response = self._http.post(f"/notebooks/{quote(notebook_id, safe='')}/runs", json=body)
        result: dict[str, Any] = self._check(response).json()
        return result

    def run_notebook(self, run_id: str) -> bytes:
        """Return the executed notebook of a run, as .ipynb bytes."""
        return self._check(self._http.get(f"/runs/{run_id}/notebook")).content

    def get_run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._http.get(f"/runs/{run_id}")).json()
        return result

    # The data-science calls, the same as `suricate.kernel.sdk` in a kernel.

    def open(self, name: str, version: int | None = None) -> bytes:
        """Return the bytes of an object."""
        return self.get_bytes(name, version)

    def read_csv(self, name: str, version: int | None = None, **kwargs: Any) -> Any:
        """Read a CSV object (gzip'd or not) into a pandas DataFrame."""
        import pandas as pd

        data = self.get_bytes(name, version)
        kwargs.setdefault("compression", "gzip" if data[:2] == b"\x1f\x8b" else None)
        return pd.read_csv(io.BytesIO(data), **kwargs)

    def read_json(self, name: str, version: int | None = None, **kwargs: Any) -> Any:
        """Read a JSON document or JSON-lines object (gzip'd or not) into a DataFrame."""
        import pandas as pd

        data = self.get_bytes(name, version)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = name.removesuffix(".gz").endswith((".jsonl", ".ndjson"))
        kwargs.setdefault("lines", lines)
        return pd.read_json(io.BytesIO(data), **kwargs)

    def load(self, name: str, version: int | None = None) -> Any:
        """Load an object saved with ``save``: a dict/list, a DataFrame, or a model."""
        response = self._get_content(name, version)
        kind = response.headers.get("content-type", "").split(";")[0]
        data = response.content
        if kind == PARQUET or name.endswith(".parquet"):
            import pandas as pd

            return pd.read_parquet(io.BytesIO(data))
        if kind == JOBLIB or name.endswith(".joblib"):
            import joblib

            return joblib.load(io.BytesIO(data))
        if kind == "application/json" or name.endswith(".json"):
            return json.loads(data)
        raise ValueError(f"{name} ({kind}) was not saved with save(); use open() for its bytes")

    def save(self, name: str, obj: Any) -> dict[str, Any]:
        """Save a dict/list (JSON), a DataFrame (Parquet) or any model (joblib) as an object."""
        if isinstance(obj, (dict, list)):
            data = json.dumps(obj, default=_json_default).encode()
            return self.put_object(name, data, "application/json")
        if type(obj).__module__.startswith("pandas") and hasattr(obj, "to_parquet"):
            buffer = io.BytesIO()
            obj.to_parquet(buffer)
            return self.put_object(name, buffer.getvalue(), PARQUET)
        import joblib

        buffer = io.BytesIO()
        joblib.dump(obj, buffer)
        return self.put_object(name, buffer.getvalue(), JOBLIB)

    def append(self, name: str, records: list[Any], key: str | None = None) -> dict[str, Any]:
        """Add rows to a JSON-lines object, for its next version; rows with a known key are
        left out. Answers how many were accepted and how many wait."""
        body = json.loads(json.dumps({"records": records, "key": key}, default=_json_default))
        response = self._http.post(f"/objects/{_q(name)}/rows", json=body)
        result: dict[str, Any] = self._check(response).json()
        return result

    def action(self, text: str, **data: Any) -> dict[str, Any]:
        """Record an action (a suggestion, an alert) with any JSON data."""
        from suricate.kernel.models import registry

        body = json.loads(json.dumps({"text": text, "data": data}, default=_json_default))
        body["models"] = registry.stamp()
        result: dict[str, Any] = self._check(self._http.post("/actions", json=body)).json()
        return result

    def emit(self, stream: str, payload: Any, headers: dict[str, Any] | None = None) -> None:
        """Publish a message onto a stream: JSON for anything but bytes, which go as they are."""
        if isinstance(payload, bytes | bytearray):
            content, kind = bytes(payload), "application/octet-stream"
        else:
            content, kind = json.dumps(payload, default=_json_default).encode(), "application/json"
        params = {"header": [f"{k}={v}" for k, v in (headers or {}).items()]}
        self._check(
            self._http.post(
                f"/streams/{quote(check_name('stream', stream), safe='')}/messages",
                content=content,
                headers={"Content-Type": kind},
                params=params,
            )
        )

    def upload(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        content_type: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Stream a file to a new version of an object, hashing it as it goes: its sha256
        follows the bytes, and the server keeps nothing unless they match it."""
        path = Path(path)
        size = path.stat().st_size
        headers = {
            "Content-Length": str(size + SHA256_TRAILER),
            "X-Suricate-Trailer": "X-Content-SHA256",
        }
        if content_type:
            headers["Content-Type"] = content_type

        def body() -> Iterator[bytes]:
            left = size  # what Content-Length promised, should the file grow meanwhile
            with path.open("rb") as f, _Hasher() as digest:
                while left and (chunk := f.read(min(CHUNK, left))):
                    left -= len(chunk)
                    digest.update(chunk)
                    if progress:
                        progress(len(chunk))
                    yield chunk
                yield digest.hexdigest().encode()

        response = self._http.put(
            f"/objects/{_q(name if name is not None else path.name)}",
            content=body(),
            headers=headers,
            timeout=httpx.Timeout(None, connect=10.0),
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def download(
        self,
        name: str,
        dest: str | os.PathLike[str],
        version: int | None = None,
        progress: Progress | None = None,
        on_size: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Stream an object to ``dest`` (written atomically, sha256 checked); return its info."""
        dest = Path(dest)
        params = {"version": version} if version else None
        with self._http.stream(
            "GET", f"/objects/{_q(name)}/content", params=params, timeout=httpx.Timeout(None)
        ) as response:
            self._check(response)
            expected = response.headers.get("X-Content-SHA256")
            if on_size and "Content-Length" in response.headers:
                on_size(int(response.headers["Content-Length"]))
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, _Hasher() as digest:
                    # As the connection hands them over: rechunking would copy every byte.
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        digest.update(chunk)
                        if progress:
                            progress(len(chunk))
                    sha256 = digest.hexdigest()
                if expected and sha256 != expected:
                    raise ApiError(0, "checksum_mismatch", f"downloaded {name} is corrupt")
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return {
                "name": name,
                "version": int(response.headers.get("X-Suricate-Version", 0)),
                "sha256": sha256,
                "path": str(dest),
            }
