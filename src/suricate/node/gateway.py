"""The SDK's way into the API from a sandboxed kernel: an HTTP server on a Unix socket.

On the embedded node it is the app itself, served on a second (Unix) socket; on a separate
execution node it is a small proxy to the frontend's URL. Either way the kernel needs no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Any

# Only what an end-to-end request needs; hop-by-hop headers stay behind.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "te"}

# The routes the in-kernel SDK uses, and all a kernel reaches: the tenant's data. Never logins,
# tokens, users, tenants, sessions, runs (but a running backtest's actions) or metrics.
_SDK_ROUTES = [
    ("GET", r"/api/v1/(health|me)"),
    ("GET", r"/api/v1/objects"),
    ("GET", r"/api/v1/objects/[^/]+(/content|/preview)?"),
    ("PUT", r"/api/v1/objects/[^/]+"),
    ("POST", r"/api/v1/objects/[^/]+/rows"),
    ("GET", r"/api/v1/models/[^/]+"),
    ("GET", r"/api/v1/models/[^/]+/versions/[^/]+(/artifact)?"),
    ("POST", r"/api/v1/models/[^/]+/versions"),
    ("PUT", r"/api/v1/models/[^/]+/aliases/[^/]+"),
    ("POST", r"/api/v1/actions"),
    ("POST", r"/api/v1/runs/[^/]+/actions"),  # a replay backtest's actions
    ("POST", r"/api/v1/streams/[^/]+/messages"),
]
_SDK_PATTERNS = [(method, re.compile(path)) for method, path in _SDK_ROUTES]


def sdk_allows(method: str, path: str) -> bool:
    """Tell whether a kernel (its socket, its token) may make this request."""
    method = "GET" if method == "HEAD" else method
    return any(m == method and p.fullmatch(path) for m, p in _SDK_PATTERNS)


def sdk_only(app: Any) -> Any:
    """Wrap an ASGI app so that only the SDK's routes answer; anything else is a 404."""

    async def gate(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
            return
        if scope["type"] != "http" or not sdk_allows(scope["method"], scope["path"]):
            if scope["type"] == "http":
                await _not_found(send)
            return
        await app(scope, receive, send)

    return gate


async def _not_found(send: Any) -> None:
    body = json.dumps(
        {"error": {"code": "not_found", "message": "a kernel reaches only the SDK's data routes"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def serve_unix(app: Any, path: Path) -> tuple[Any, asyncio.Task[None]]:
    """Serve an ASGI app on a Unix socket in this event loop; return the server and its task."""
    import uvicorn

    class _Server(uvicorn.Server):
        # The process's main server (or the node) owns the signals.
        def capture_signals(self) -> Any:
            return contextlib.nullcontext()

    server = _Server(uvicorn.Config(app, uds=str(path), lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    return server, task


async def stop(server: tuple[Any, asyncio.Task[None]] | None) -> None:
    """Stop a server ``serve_unix`` started."""
    if server is None:
        return
    server[0].should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server[1], 5)


def proxy_app(upstream: str) -> Any:
    """Return an ASGI app that forwards every request to ``upstream`` (the frontend's URL)."""
    import httpx
    from starlette.requests import Request
    from starlette.responses import StreamingResponse

    client = httpx.AsyncClient(base_url=upstream.rstrip("/"), timeout=httpx.Timeout(None))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        upstream_request = client.build_request(
            request.method,
            request.url.path,
            params=request.query_params,
            headers=headers,
            content=request.stream(),
        )
        response = await client.send(upstream_request, stream=True)
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        await StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=out_headers,
            background=None,
        )(scope, receive, send)
        await response.aclose()

    return sdk_only(app)
