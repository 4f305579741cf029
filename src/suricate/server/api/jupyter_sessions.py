"""Jupyter Server's sessions API under ``/jupyter/api/sessions``: a notebook path bound to a
kernel, which clients that talk to a Jupyter server directly (VS Code's "existing Jupyter
server", JupyterLab's services) use to start kernels for their notebooks.

A Jupyter session is a name for one of the user's kernels; it lives in this server's memory
(the kernel, a Suricate session, is what lasts), and goes with its kernel.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from suricate.domain.auth import Principal
from suricate.errors import KernelSpecNotFound, SessionNotFound, SuricateError
from suricate.server.api import jupyter
from suricate.server.api.deps import PlatformDep
from suricate.server.api.jupyter import JupyterPrincipal
from suricate.server.api.schemas import ErrorOut

router = APIRouter(prefix=jupyter.PREFIX, tags=["jupyter"])
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404, 503)}
# Jupyter sessions one user may hold on this server (each names a kernel, which has a quota).
MAX_SESSIONS_PER_USER = 256


@dataclass
class Named:
    """A Jupyter session: who holds it, the notebook it is for, and its kernel (session id)."""

    id: str
    tenant_id: int
    user: str
    path: str
    name: str
    type: str
    kernel: str


class KernelRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, description="An existing kernel to use.")
    name: str | None = Field(default=None, description="The kernelspec for a new one: python3.")


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str | None = Field(default=None, max_length=4096)
    name: str | None = Field(default=None, max_length=4096)
    type: str | None = Field(default=None, max_length=64)
    kernel: KernelRef | None = None


class SessionModel(BaseModel):
    id: str
    path: str
    name: str
    type: str
    kernel: jupyter.KernelModel
    notebook: dict[str, str] = Field(description="{path, name}, for older clients.")


def _store(request: Request) -> dict[str, Named]:
    store: dict[str, Named] = request.app.state.jupyter.sessions
    return store


def _mine(request: Request, principal: Principal) -> list[Named]:
    """The user's Jupyter sessions, oldest first."""
    return [
        n
        for n in _store(request).values()
        if n.tenant_id == principal.tenant_id and n.user == principal.user_name
    ]


def _find(request: Request, principal: Principal, session_id: str) -> Named:
    named = _store(request).get(session_id)
    if named is None or named.tenant_id != principal.tenant_id or named.user != principal.user_name:
        raise SessionNotFound(session_id)
    return named


async def _model(
    request: Request, platform: Any, principal: Principal, named: Named
) -> SessionModel:
    """The session's model; a session whose kernel is gone is gone too (404)."""
    try:
        session = await platform.sessions.find(principal, named.kernel)
    except SuricateError:
        _store(request).pop(named.id, None)
        raise SessionNotFound(named.id) from None
    hub = request.app.state.jupyter
    return SessionModel(
        id=named.id,
        path=named.path,
        name=named.name,
        type=named.type,
        kernel=jupyter.kernel_model(session, hub.connections(session.id)),
        notebook={"path": named.path, "name": named.name},
    )


async def _kernel_for(platform: Any, principal: Principal, ref: KernelRef | None) -> str:
    """The session id of the kernel asked for: an existing one of the user's, or a new one."""
    if ref is not None and ref.id:
        return str((await platform.sessions.find(principal, jupyter.session_id_of(ref.id))).id)
    name = ref.name if ref is not None and ref.name else jupyter.KERNEL_NAME
    if name != jupyter.KERNEL_NAME:
        raise KernelSpecNotFound(name)
    return str((await platform.sessions.create(principal)).id)


@router.get("/sessions", response_model=list[SessionModel], responses=_ERRORS)
async def list_sessions(
    request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> list[SessionModel]:
    """List the user's Jupyter sessions (on this server) whose kernels still run."""
    found = []
    for named in _mine(request, principal):
        try:
            found.append(await _model(request, platform, principal, named))
        except SessionNotFound:
            continue
    return found


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionModel,
    responses={**_ERRORS, 429: {"model": ErrorOut}},
)
async def create_session(
    request: Request,
    response: Response,
    platform: PlatformDep,
    principal: JupyterPrincipal,
    body: SessionIn,
) -> SessionModel:
    """Bind a notebook path to a kernel: the one named by ``kernel.id``, or a new one."""
    store = _store(request)
    path = body.path or body.name or ""
    mine = _mine(request, principal)
    same = [n for n in mine if path and n.path == path]
    if same and not (body.kernel and body.kernel.id):
        # As Jupyter Server does: a path that has a session gets it back.
        try:
            return await _model(request, platform, principal, same[0])
        except SessionNotFound:
            pass
    if len(mine) >= MAX_SESSIONS_PER_USER:
        store.pop(mine[0].id, None)  # the oldest name goes; its kernel stays
    kernel = await _kernel_for(platform, principal, body.kernel)
    named = Named(
        id=str(uuid.uuid4()),
        tenant_id=principal.tenant_id,
        user=principal.user_name,
        path=path,
        name=body.name or path,
        type=body.type or "notebook",
        kernel=kernel,
    )
    store[named.id] = named
    response.headers["Location"] = f"{jupyter.PREFIX}/sessions/{named.id}"
    return await _model(request, platform, principal, named)


@router.get("/sessions/{session_id}", response_model=SessionModel, responses=_ERRORS)
async def get_session(
    session_id: str, request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> SessionModel:
    """Show a Jupyter session and its kernel."""
    return await _model(request, platform, principal, _find(request, principal, session_id))


@router.patch("/sessions/{session_id}", response_model=SessionModel, responses=_ERRORS)
async def update_session(
    session_id: str,
    request: Request,
    platform: PlatformDep,
    principal: JupyterPrincipal,
    body: SessionIn,
) -> SessionModel:
    """Rename a session (``path``, ``name``, ``type``) or move it to another kernel."""
    named = _find(request, principal, session_id)
    if body.kernel is not None and (body.kernel.id or body.kernel.name):
        named.kernel = await _kernel_for(platform, principal, body.kernel)
    named.path = body.path if body.path is not None else named.path
    named.name = body.name if body.name is not None else named.name
    named.type = body.type if body.type is not None else named.type
    return await _model(request, platform, principal, named)


@router.delete("/sessions/{session_id}", status_code=204, responses=_ERRORS)
async def delete_session(
    session_id: str, request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> Response:
    """End a session and stop its kernel, as Jupyter Server does."""
    named = _find(request, principal, session_id)
    _store(request).pop(named.id, None)
    with contextlib.suppress(SessionNotFound):  # the kernel may have gone already
        await platform.sessions.delete(principal, named.kernel)
    request.app.state.jupyter.status(named.kernel, "dead")
    return Response(status_code=204)
