"""The web UI: a single-page app over the REST API, served by the same server.

``ui/`` at the top of the repository holds its sources; ``make ui`` (part of ``make setup``)
builds them with esbuild into ``suricate/web/assets``. Every page path answers with
``index.html`` and the app routes in the browser. The pages are served with a Content Security
Policy that allows no inline or foreign script, so notebook HTML, which the app shows in
sandboxed iframes anyway, has a second wall.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).parent
ASSETS = HERE / "assets"

# What a page of the app may load: its own scripts and styles (CodeMirror sets inline styles),
# images from itself and data: URLs (plots), calls and WebSockets to itself, no plugins, and it
# may not be framed by another site.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)

PAGES = ("login", "data", "notebooks", "processing", "runs", "streams")

_MISSING = """<!doctype html><meta charset="utf-8"><title>Suricate</title>
<body style="font:16px system-ui;margin:4rem auto;max-width:40rem">
<h1>Suricate</h1><p>The web UI has not been built. Run <code>make ui</code> (it needs Node.js
and npm) and reload this page. The REST API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p>
"""


@cache
def _index() -> str | None:
    script, style = ASSETS / "app.js", ASSETS / "app.css"
    if not script.is_file():
        return None
    version = hashlib.sha256(script.read_bytes() + style.read_bytes()).hexdigest()[:12]
    template = (HERE / "index.html").read_text()
    return template.replace("{{version}}", version)


def index_page(status_code: int = 200) -> HTMLResponse:
    body = _index()
    return HTMLResponse(
        body if body is not None else _MISSING,
        status_code=status_code,
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
    )


def install(app: FastAPI) -> None:
    """Serve the app's assets and its pages (after the API routes)."""
    ASSETS.mkdir(exist_ok=True)
    app.mount("/assets", StaticFiles(directory=ASSETS), name="assets")

    @app.get("/", include_in_schema=False)
    def root() -> HTMLResponse:
        return index_page()

    @app.get("/{page}", include_in_schema=False)
    def page(page: str) -> HTMLResponse:
        # An unknown page still gets the app (with a 404), which says so in its own frame.
        return index_page(200 if page in PAGES else 404)

    @app.get("/{page}/{rest:path}", include_in_schema=False)
    def subpage(page: str, rest: str) -> HTMLResponse:
        if page in ("api", "assets"):
            raise HTTPException(404)
        return index_page(200 if page in PAGES else 404)


class SecurityHeaders:
    """Add the headers every response should carry (no MIME sniffing, no cross-site framing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
