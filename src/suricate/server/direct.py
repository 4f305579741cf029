"""``POST /api/v1/sessions/{id}/execute`` answered without FastAPI's per-request machinery.

A cell's round trip is the route users feel most (issue 17: within 1.25x of raw
jupyter_client). Of a trivial cell's ~15 ms on a slow machine, FastAPI's routing (it tries the
routes one by one), dependency solving and response validation took ~2.5 ms; the kernel itself
~11. This middleware answers the route's plain case with the very pieces the route uses: the
bearer token through ``authenticate``, the body through ``ExecuteIn``, the session service, the
reply through ``ExecuteOut``, errors through ``error_response``. Anything else (a cookie
session, another content type, a body that does not validate) goes on to the FastAPI route as
it came, which answers it as before and stays the one the OpenAPI document describes.
"""

from __future__ import annotations

import contextlib
import re

from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suricate.errors import SuricateError
from suricate.server.api.deps import authenticate
from suricate.server.api.errors import error_response
from suricate.server.api.sessions import ExecuteIn, ExecuteOut
from suricate.server.api.sessions import execute as execute_route


class DirectExecute:
    """Answer a bearer-token ``POST .../sessions/{id}/execute`` with a JSON body directly."""

    def __init__(self, app: ASGIApp, api_prefix: str) -> None:
        self.app = app
        self.path = re.compile(re.escape(api_prefix) + r"/sessions/([^/]+)/execute")
        self.route: BaseRoute | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            match = self.path.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        media = headers.get("content-type", "").partition(";")[0].strip().lower()
        if scheme.lower() != "bearer" or not token or media != "application/json":
            await self.app(scope, receive, send)
            return
        received = await _whole(receive)
        asked = None
        if received[-1]["type"] == "http.request":  # not a client gone away
            body = b"".join(m.get("body", b"") for m in received)
            with contextlib.suppress(ValidationError):
                asked = ExecuteIn.model_validate_json(body)
        if asked is None:
            # FastAPI's route answers it (its 400s and 422s), from the body as it came.
            await self.app(scope, _replay(received, receive), send)
            return
        scope["route"] = self._route(scope)  # metrics and the access log name the route
        platform = scope["app"].state.platform
        response: Response
        try:
            principal = await authenticate(
                platform, token, headers.get("x-suricate-tenant") or None, "POST", scope["path"]
            )
            reply = await platform.sessions.execute(
                principal, match.group(1), asked.code, asked.timeout
            )
            out = ExecuteOut.model_validate(reply)
            response = JSONResponse(out.model_dump(mode="json"))
        except SuricateError as exc:
            response = error_response(exc)
        await response(scope, _replay(received, receive), send)

    def _route(self, scope: Scope) -> BaseRoute | None:
        """The FastAPI route this stands in for (found once, among the app's routes)."""
        if self.route is None:
            for route in scope["app"].routes:
                if getattr(route, "endpoint", None) is execute_route:
                    self.route = route
        return self.route


async def _whole(receive: Receive) -> list[Message]:
    """Receive a request's body messages up to its end (or the client's going away)."""
    messages = [await receive()]
    while messages[-1]["type"] == "http.request" and messages[-1].get("more_body", False):
        messages.append(await receive())
    return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives back ``messages``, then what ``receive`` gives."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
