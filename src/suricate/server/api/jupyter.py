"""The Jupyter Server kernel API under ``/jupyter``, for gateway clients (JupyterLab's
``--gateway-url``, VS Code, nbclient through a Jupyter server).

Each kernel is one of the token's user's sessions: ``GET/POST /jupyter/api/kernels`` list and
start them, ``/jupyter/api/kernels/{id}`` shows or stops one, ``.../interrupt`` and
``.../restart``; the ``.../channels`` WebSocket (see ``jupyter_channels``) carries the Jupyter
messaging protocol. Tokens come as ``Authorization: token ...`` (what Jupyter clients send) or
``Bearer ...``, or ``?token=`` on the WebSocket; another user's or tenant's kernel is a 404.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, WebSocket
from pydantic import BaseModel, ConfigDict, Field

from suricate import __version__
from suricate.domain.auth import Principal
from suricate.domain.sessions import Session
from suricate.errors import KernelSpecNotFound, Unauthenticated
from suricate.server.api import jupyter_channels
from suricate.server.api.deps import PlatformDep, authenticate
from suricate.server.api.schemas import ErrorOut

PREFIX = "/jupyter/api"
router = APIRouter(prefix=PREFIX, tags=["jupyter"])
KERNEL_NAME = "python3"
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404, 503)}


def bearer(authorization: str, token: str | None = None) -> str:
    """The token of ``Authorization: token X`` or ``Bearer X``, else ``?token=``."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return token or ""


async def jupyter_principal(
    request: Request,
    platform: PlatformDep,
    x_suricate_tenant: Annotated[
        str | None, Header(description="Tenant to act in; default: the user's first.")
    ] = None,
) -> Principal:
    """The caller, from ``Authorization: token X`` (or ``Bearer X``) or ``?token=X``."""
    secret = bearer(request.headers.get("authorization", ""), request.query_params.get("token"))
    if not secret:
        raise Unauthenticated("missing credentials: send 'Authorization: token <API token>'")
    return await authenticate(
        platform, secret, x_suricate_tenant or None, request.method, request.url.path
    )


JupyterPrincipal = Annotated[Principal, Depends(jupyter_principal)]


class KernelModel(BaseModel):
    """A kernel as Jupyter Server describes one."""

    id: str = Field(description="The kernel's id: its Suricate session's id.")
    name: str = Field(description=f"The kernelspec's name: always {KERNEL_NAME}.")
    last_activity: str = Field(description="When it last ran code (ISO 8601, UTC, with µs).")
    execution_state: str = Field(description="idle or busy.")
    connections: int = Field(description="WebSockets open on it now, on this server.")


class KernelStart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, description=f"The kernelspec: {KERNEL_NAME}.")
    env: dict[str, Any] = Field(
        default_factory=dict, description="Ignored: a kernel's environment is Suricate's."
    )


class KernelSpecModel(BaseModel):
    name: str
    spec: dict[str, Any]
    resources: dict[str, str]


class KernelSpecs(BaseModel):
    default: str
    kernelspecs: dict[str, KernelSpecModel]


def kernelspec() -> KernelSpecModel:
    """The one kernelspec: Python, in a sandboxed kernel with the SDK."""
    return KernelSpecModel(
        name=KERNEL_NAME,
        spec={
            "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (Suricate)",
            "language": "python",
            "interrupt_mode": "message",
            "env": {},
            "metadata": {"suricate": {"version": __version__}},
        },
        resources={},
    )


def kernel_id_of(session_id: str) -> str:
    """A session's id as a kernel's: the same UUID, dashed (Jupyter Server routes only those)."""
    try:
        return str(uuid.UUID(hex=session_id))
    except ValueError:
        return session_id


def session_id_of(kernel_id: str) -> str:
    """The session a kernel id names (dashes or none)."""
    return kernel_id.replace("-", "")


def kernel_model(session: Session, connections: int) -> KernelModel:
    ago = max(0.0, time.monotonic() - session.last_activity)
    last = datetime.now(UTC) - timedelta(seconds=ago)
    return KernelModel(
        id=kernel_id_of(session.id),
        name=KERNEL_NAME,
        last_activity=last.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        execution_state=session.state,
        connections=connections,
    )


def _model(request: Request, session: Session) -> KernelModel:
    hub: jupyter_channels.Hub = request.app.state.jupyter
    return kernel_model(session, hub.connections(session.id))


@router.get("", include_in_schema=False)
async def server_info() -> dict[str, str]:
    """What Jupyter clients ask first: the server's version."""
    return {"version": "2.0.0", "suricate": __version__}


@router.get("/kernelspecs", response_model=KernelSpecs, responses=_ERRORS)
async def list_kernelspecs(principal: JupyterPrincipal) -> KernelSpecs:
    """List the kernelspecs Jupyter clients may start: one, Python."""
    return KernelSpecs(default=KERNEL_NAME, kernelspecs={KERNEL_NAME: kernelspec()})


@router.get("/kernelspecs/{name}", response_model=KernelSpecModel, responses=_ERRORS)
async def get_kernelspec(name: str, principal: JupyterPrincipal) -> KernelSpecModel:
    """Show a kernelspec; any name but python3 is a 404."""
    if name != KERNEL_NAME:
        raise KernelSpecNotFound(name)
    return kernelspec()


@router.get("/kernels", response_model=list[KernelModel], responses=_ERRORS)
async def list_kernels(
    request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> list[KernelModel]:
    """List the user's kernels: their interactive sessions, those of the web UI included."""
    found = await asyncio.to_thread(platform.sessions.list, principal)
    sessions = [s for s in found if s.kind == "interactive"]
    await asyncio.gather(*(platform.sessions.refresh(s) for s in sessions))
    return [_model(request, s) for s in sessions]


@router.post(
    "/kernels",
    status_code=201,
    response_model=KernelModel,
    responses={**_ERRORS, 429: {"model": ErrorOut}},
)
async def start_kernel(
    request: Request,
    response: Response,
    platform: PlatformDep,
    principal: JupyterPrincipal,
    body: KernelStart | None = None,
) -> KernelModel:
    """Start a kernel: a sandboxed session of the user, with the SDK; 404 for a kernelspec
    other than python3, 429 past a quota."""
    name = body.name if body is not None and body.name else KERNEL_NAME
    if name != KERNEL_NAME:
        raise KernelSpecNotFound(name)
    session = await platform.sessions.create(principal)
    response.headers["Location"] = f"{PREFIX}/kernels/{kernel_id_of(session.id)}"
    return _model(request, session)


@router.get("/kernels/{kernel_id}", response_model=KernelModel, responses=_ERRORS)
async def get_kernel(
    kernel_id: str, request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> KernelModel:
    """Show a kernel."""
    session = await platform.sessions.find(principal, session_id_of(kernel_id))
    session = await platform.sessions.refresh(session)
    return _model(request, session)


@router.delete("/kernels/{kernel_id}", status_code=204, responses=_ERRORS)
async def delete_kernel(
    kernel_id: str, request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> Response:
    """Stop a kernel; its WebSockets hear it die."""
    await platform.sessions.delete(principal, session_id_of(kernel_id))
    request.app.state.jupyter.status(session_id_of(kernel_id), "dead")
    return Response(status_code=204)


@router.post("/kernels/{kernel_id}/interrupt", status_code=204, responses=_ERRORS)
async def interrupt_kernel(
    kernel_id: str, platform: PlatformDep, principal: JupyterPrincipal
) -> Response:
    """Interrupt the running cell."""
    await platform.sessions.interrupt(principal, session_id_of(kernel_id))
    return Response(status_code=204)


@router.post("/kernels/{kernel_id}/restart", response_model=KernelModel, responses=_ERRORS)
async def restart_kernel(
    kernel_id: str, request: Request, platform: PlatformDep, principal: JupyterPrincipal
) -> KernelModel:
    """Replace the kernel with a fresh one (variables are lost); the id stays."""
    hub: jupyter_channels.Hub = request.app.state.jupyter
    session = await platform.sessions.find(principal, session_id_of(kernel_id))
    hub.status(session.id, "restarting")
    await platform.sessions.restart(principal, session.id)
    hub.status(session.id, "starting")
    return _model(request, session)


@router.websocket("/kernels/{kernel_id}/channels")
async def kernel_channels(
    websocket: WebSocket,
    kernel_id: str,
    token: Annotated[str | None, Query(description="API token, when no header")] = None,
    session_id: Annotated[str | None, Query(description="The client's session id")] = None,
) -> None:
    """Carry the Jupyter messaging protocol (v5.3, JSON frames) to and from the kernel."""
    secret = bearer(websocket.headers.get("authorization", ""), token)
    await jupyter_channels.serve(websocket, session_id_of(kernel_id), secret)
