"""The ASGI application factory: ``create_app(settings) -> app``."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from suricate import __version__
from suricate.server import web
from suricate.server.api import (
    datasets,
    errors,
    jupyter,
    jupyter_channels,
    jupyter_sessions,
    login,
    models,
    notebooks,
    objects,
    processors,
    runs,
    sessions,
    shadows,
    streams,
    system,
)
from suricate.server.direct import DirectExecute
from suricate.server.limits import BodyLimit
from suricate.server.observability import Metrics, RequestContext
from suricate.server.platform import Platform
from suricate.settings import Settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    """Build the Suricate web app; the schema is migrated when it starts."""
    platform = platform or Platform.from_settings(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform.start_serving()
        await platform.start_compute(app)
        try:
            yield
        finally:
            await platform.stop_compute()
            platform.close()

    app = FastAPI(
        title="Suricate",
        version=__version__,
        description=(
            "Self-hosted, multi-tenant Analytics-as-a-Service. Every call takes "
            "`Authorization: Bearer <token>` (from `suricate token create`), or the web UI's "
            "session cookie from `POST /api/v1/auth/login` plus `X-CSRF-Token` on calls that "
            "change data, and acts in the user's first tenant, or in the one named by "
            "`X-Suricate-Tenant`. Errors have one "
            'shape: `{"error": {"code": ..., "message": ...}}`.'
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    # Innermost: the cell round trip's plain case skips FastAPI's routing (issue 17).
    app.add_middleware(DirectExecute, api_prefix=API_PREFIX)
    errors.install(app)
    # Names of tenants, processors and streams only behind the metrics token.
    metrics = Metrics(platform, per_tenant=platform.settings.metrics_token is not None)
    app.add_middleware(BodyLimit, settings=platform.settings, api_prefix=API_PREFIX)
    app.add_middleware(web.SecurityHeaders)
    # Outermost: the request id is set before anything logs, and every response is counted.
    app.add_middleware(RequestContext, metrics=metrics, api_prefix=API_PREFIX)
    app.include_router(system.router, prefix=API_PREFIX)
    app.include_router(login.router, prefix=API_PREFIX)
    app.include_router(objects.router, prefix=API_PREFIX)
    app.include_router(datasets.router, prefix=API_PREFIX)
    app.include_router(notebooks.router, prefix=API_PREFIX)
    app.include_router(sessions.router, prefix=API_PREFIX)
    app.include_router(runs.router, prefix=API_PREFIX)
    app.include_router(streams.router, prefix=API_PREFIX)
    app.include_router(processors.router, prefix=API_PREFIX)
    app.include_router(models.router, prefix=API_PREFIX)
    app.include_router(shadows.router, prefix=API_PREFIX)
    app.state.jupyter = jupyter_channels.Hub()
    app.include_router(jupyter.router)
    app.include_router(jupyter_sessions.router)

    @app.get(API_PREFIX, include_in_schema=False)
    def api_root() -> JSONResponse:
        return JSONResponse(
            {
                "name": "suricate",
                "version": __version__,
                "api": API_PREFIX,
                "openapi": f"{API_PREFIX}/openapi.json",
            }
        )

    metrics_token = platform.settings.metrics_token

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        if metrics_token is not None:
            expected = f"Bearer {metrics_token.get_secret_value()}"
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), expected.encode()):
                return Response("metrics need the metrics token\n", status_code=401)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    web.install(app)
    return app
