"""The ``suricate`` command line: server, administration and client commands."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from suricate import __version__, admin
from suricate.discovery import choose_data_dir, choose_url, note_server
from suricate.errors import SuricateError
from suricate.server.observability import configure_logging
from suricate.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def _settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"SURICATE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.ClickException(f"bad setting: {problems}") from exc


def _platform() -> Any:
    from suricate.server.platform import Platform

    choice = choose_data_dir()
    settings = _settings() if choice.data_dir is None else _settings(data_dir=choice.data_dir)
    click.echo(
        f"({'warning: ' if choice.warning else ''}data dir {settings.data_dir.resolve()}, "
        f"{choice.why}; database {_safe_url(settings.resolved_database_url)})",
        err=True,
    )
    platform = Platform.from_settings(settings)
    click.get_current_context().call_on_close(platform.close)
    platform.start()
    return platform


def _address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    """Where to listen: the flags, else SURICATE_HOST and SURICATE_PORT."""
    port = settings.port if port is None else port
    if not 0 < port < 65536:
        raise click.BadParameter(f"{port} is not a TCP port", param_hint="--port")
    return host or settings.host, port


def _url(host: str, port: int) -> str:
    """The address a browser on this machine reaches the server at."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


class _Group(click.Group):
    """Turn Suricate's errors into one clean line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SuricateError as exc:
            raise click.ClickException(exc.message) from exc


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="suricate")
def main() -> None:
    """Suricate: data, notebooks, models and live streams, self-hosted."""


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on [default: SURICATE_HOST, 127.0.0.1]."
)
@click.option(
    "--port", default=None, type=int, help="Port to listen on [default: SURICATE_PORT, 8888]."
)
def serve(host: str | None, port: int | None) -> None:
    """Run the Suricate server (web app, REST API, stores)."""
    import uvicorn

    from suricate.server.app import create_app

    settings = _settings()
    host, port = _address(settings, host, port)
    configure_logging(settings.log_level, settings.log_format)
    click.echo(
        f"Suricate {__version__}: data in {settings.data_dir.resolve()}, "
        f"database {_safe_url(settings.resolved_database_url)}",
        err=True,
    )
    from suricate.server.platform import Platform

    platform = Platform.from_settings(settings)
    platform.start_serving()  # fails here, in one line, if another server owns the data dir
    note_server(settings.data_dir, _url(host, port))
    click.echo(
        f"web UI and REST API at {_url(host, port)} (log in with a user from "
        "`suricate user create`)",
        err=True,
    )
    from suricate.server.http import BodyPiecesProtocol

    uvicorn.run(
        create_app(platform=platform),
        host=host,
        port=port,
        http=BodyPiecesProtocol,
        log_config=None,  # the root logger's handler, set up above (text or JSON)
        access_log=False,  # RequestContext logs each request with its id instead
    )


@main.command()
@click.option(
    "--host", default=None, help="Address to listen on [default: SURICATE_HOST, 127.0.0.1]."
)
@click.option(
    "--port", default=None, type=int, help="Port to listen on [default: SURICATE_PORT, 8888]."
)
@click.option(
    "--game",
    default="2013090500",
    show_default=True,
    help="Game whose plays the processor's replay stream plays (DEN-BAL, week 1 of 2013).",
)
@click.option("--rate", default=1.0, show_default=True, help="Plays per second of the replay.")
@click.option(
    "--season-replay",
    is_flag=True,
    help="Replay the rest of the season (from --from-week) to the processor, retraining and "
    "promoting the model as plays come in, instead of looping one game.",
)
@click.option(
    "--speed",
    default=50.0,
    show_default=True,
    type=click.FloatRange(0, 100_000, min_open=True),
    help="Plays per second of the season replay.",
)
@click.option(
    "--from-week",
    default=5,
    type=click.IntRange(1, 22),
    show_default=True,
    help="Season replay: the first regular-season week replayed (the model knows those before).",
)
@click.option(
    "--retrain-every",
    default=1000,
    type=click.IntRange(1),
    show_default=True,
    help="Season replay: 06-retrain runs each time the processor has kept this many more plays.",
)
@click.option(
    "--games",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Season replay: a folder of GameCenter files (<eid>.json[.gz], and a schedule*.json "
    "if any) to upload instead of the 2013 season shipped.",
)
def demo(
    host: str | None,
    port: int | None,
    game: str,
    rate: float,
    season_replay: bool,
    speed: float,
    from_week: int,
    retrain_every: int,
    games: Path | None,
) -> None:
    """Run the server with the football demo: NFL 2013 data, notebooks, runs, a processor."""
    from suricate.demo import DEMO_OUTBOUND, SeasonReplay
    from suricate.demo.serve import serve_demo

    settings = _settings()
    if not settings.outbound_allowed_hosts:
        # The demo runs on one machine: its streams (a local RabbitMQ) are on loopback.
        settings = settings.model_copy(update={"outbound_allowed_hosts": DEMO_OUTBOUND})
    host, port = _address(settings, host, port)
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("suricate.access").setLevel(logging.WARNING)  # keep the banner readable
    season = SeasonReplay(from_week, speed, retrain_every, games) if season_replay else None
    if season and not {"SURICATE_APPEND_ROWS", "SURICATE_APPEND_SECONDS"} & set(os.environ):
        # Each version of the plays kept holds them all: one per retrain, not one every 10 s.
        settings = settings.model_copy(update={"append_rows": retrain_every, "append_seconds": 60})
    serve_demo(settings, host, port, _url(host, port), game, rate, season)


@main.command()
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    help="Serve this tenant (repeatable) [default: every tenant without a dedicated node].",
)
def execnode(tenants: tuple[str, ...]) -> None:
    """Run an execution node: kernels for sessions sent over RabbitMQ (SURICATE_BROKER_URL)."""
    import asyncio
    import signal

    from suricate.node.node import run_node

    settings = _settings()
    if not settings.broker_url:
        raise click.ClickException("an execution node needs SURICATE_BROKER_URL=amqp://...")
    configure_logging(settings.log_level, settings.log_format)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_node(settings, list(tenants), stop)

    try:
        asyncio.run(main())
    except OSError as exc:
        raise click.ClickException(f"cannot reach the broker: {exc}") from exc


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def config_cmd(as_json: bool) -> None:
    """List every SURICATE_* setting with its value, default and help."""
    rows = _settings().describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['env']}={row['value']}")
        click.echo(f"    {row['help']} (default: {row['default'] or 'unset'})")


@main.group()
def db() -> None:
    """Manage the metadata database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from suricate.store.db import Database

    database = Database(_settings().resolved_database_url)
    click.get_current_context().call_on_close(database.dispose)
    database.upgrade()
    click.echo(f"database at revision {database.current_revision()}")


@db.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    from suricate.store.db import Database

    database = Database(_settings().resolved_database_url)
    click.get_current_context().call_on_close(database.dispose)
    click.echo(database.current_revision() or "empty")


@main.group()
def user() -> None:
    """Manage users."""


def _password(settings: Settings) -> str:
    if settings.password is not None:
        return settings.password.get_secret_value()
    if not sys.stdin.isatty():
        raise click.ClickException("no password: set SURICATE_PASSWORD or run in a terminal")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@user.command("create")
@click.argument("name")
@click.option("--tenant", required=True, help="Tenant to join (created if it does not exist).")
@click.option(
    "--role",
    type=click.Choice(["owner", "member"]),
    default=None,
    help="Role in the tenant [default: owner of a new tenant, member of an existing one].",
)
def user_create(name: str, tenant: str, role: str | None) -> None:
    """Create a user in a tenant; the password comes from SURICATE_PASSWORD or a prompt."""
    from suricate.domain.tenants import Role

    platform = _platform()
    password = _password(platform.settings)
    info = platform.tenants.create_user(name, password, tenant, Role(role) if role else None)
    click.echo(f"created user {info.name} ({info.tenants[0].role} of {info.tenants[0].name})")


@user.command("list")
def user_list() -> None:
    """List users and their tenants."""
    for info in _platform().tenants.list_users():
        tenants = ", ".join(f"{t.name} ({t.role})" for t in info.tenants)
        click.echo(f"{info.name}\t{tenants}")


@user.command("passwd")
@click.argument("name")
def user_passwd(name: str) -> None:
    """Set a user's password (from SURICATE_PASSWORD or a prompt)."""
    platform = _platform()
    platform.tenants.set_password(name, _password(platform.settings))
    click.echo(f"password of {name} changed")


@main.group(commands=[admin.tenant_quota])
def tenant() -> None:
    """Manage tenants (workspaces) and their members."""


@tenant.command("create")
@click.argument("name")
def tenant_create(name: str) -> None:
    """Create an empty tenant."""
    click.echo(f"created tenant {_platform().tenants.create_tenant(name).name}")


@tenant.command("list")
def tenant_list() -> None:
    """List tenants."""
    for _, name in _platform().tenants.list_tenants():
        click.echo(name)


@tenant.command("add-member")
@click.argument("tenant_name", metavar="TENANT")
@click.argument("user_name", metavar="USER")
@click.option("--role", type=click.Choice(["owner", "member"]), default="member", show_default=True)
def tenant_add_member(tenant_name: str, user_name: str, role: str) -> None:
    """Give a user a role in a tenant."""
    from suricate.domain.tenants import Role

    _platform().tenants.add_member(tenant_name, user_name, Role(role))
    click.echo(f"{user_name} is {role} of {tenant_name}")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("user_name", metavar="USER")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--expires-days",
    type=click.IntRange(min=1),
    default=None,
    help="Expire after N days [default: never].",
)
def token_create(user_name: str, label: str, expires_days: int | None) -> None:
    """Issue an API token for USER and print only the token on stdout."""
    expires = timedelta(days=expires_days) if expires_days else None
    secret, info = _platform().tokens.create(user_name, label, expires)
    click.echo(f"token {info.id} ({info.prefix}...) issued to {info.user}", err=True)
    click.echo(secret)


@token.command("list")
@click.option("--user", "user_name", default=None, help="Only this user's tokens.")
def token_list(user_name: str | None) -> None:
    """List tokens (never the tokens themselves)."""
    from suricate.store.tables import utcnow

    now = utcnow()
    for t in _platform().tokens.list(user_name):
        if t.revoked_at:
            state = "revoked"
        elif t.expires_at and t.expires_at <= now:
            state = "expired"
        elif t.expires_at:
            state = f"active until {t.expires_at.isoformat(timespec='seconds')}"
        else:
            state = "active"
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        click.echo(f"{t.id}\t{t.prefix}...\t{t.user}\t{t.name}\t{state}\tlast used {used}")


@token.command("revoke")
@click.argument("ref", metavar="TOKEN_OR_ID")
def token_revoke(ref: str) -> None:
    """Revoke a token, given its id (from `token list`) or the token itself."""
    info = _platform().tokens.revoke(ref)
    click.echo(f"revoked token {info.id} of {info.user}")


def _client() -> Any:
    from suricate.kernel.client import Client

    settings = _settings()
    if settings.token is None:
        raise click.ClickException("no API token: set SURICATE_TOKEN (see `suricate token create`)")
    url = _server_url()
    noted = "" if os.environ.get("SURICATE_URL") else " (the server last started here)"
    click.echo(f"(server {url}{noted})", err=True)
    return Client(url, settings.token.get_secret_value())


def _server_url() -> str:
    return choose_url() or _settings().url


def _client_command(fn: F) -> F:
    """Report client-side failures (connection, API errors) as one line."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import httpx

        try:
            return fn(*args, **kwargs)
        except httpx.TransportError as exc:
            raise click.ClickException(
                f"cannot reach the server at {_server_url()}: {exc}"
            ) from exc
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Object name [default: the file's name].")
@click.option("--content-type", default=None, help="Content type [default: guessed by the server].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_client_command
def upload(file: Path, name: str | None, content_type: str | None, quiet: bool) -> None:
    """Upload FILE as a new version of an object (SURICATE_URL, SURICATE_TOKEN)."""
    from tqdm import tqdm

    with (
        _client() as client,
        tqdm(
            total=file.stat().st_size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"upload {file.name}",
            disable=quiet,
            file=sys.stderr,
        ) as bar,
    ):
        info = client.upload(file, name=name, content_type=content_type, progress=bar.update)
    click.echo(json.dumps(info, ensure_ascii=False))


@main.command()
@click.argument("name")
@click.option("--version", "version", type=int, default=None, help="Version [default: latest].")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write [default: ./NAME].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_client_command
def download(name: str, version: int | None, output: Path | None, quiet: bool) -> None:
    """Download an object to a file (SURICATE_URL, SURICATE_TOKEN)."""
    from tqdm import tqdm

    dest = output or Path(name)
    if dest.is_dir():
        dest = dest / name
    with (
        _client() as client,
        tqdm(
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"download {name}",
            disable=quiet,
            file=sys.stderr,
        ) as bar,
    ):

        def on_size(size: int) -> None:
            bar.total = size
            bar.refresh()

        info = client.download(name, dest, version=version, progress=bar.update, on_size=on_size)
    click.echo(json.dumps(info, ensure_ascii=False))


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.isidentifier():
        raise click.BadParameter(f"{text!r} is not NAME=VALUE", param_hint="-p")
    try:
        value: Any = json.loads(raw)  # numbers, true/false, null, lists, quoted strings
    except ValueError:
        value = raw
    return name, value


@main.command("run")
@click.argument("notebook")
@click.option(
    "-p",
    "--parameter",
    "parameters",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter (repeatable); VALUE is read as JSON when it can be, else as text.",
)
@click.option("--timeout", "timeout_s", type=float, default=None, help="Time limit in seconds.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the executed notebook (.ipynb) here.",
)
@click.option("--no-wait", is_flag=True, help="Print the run's id and return at once.")
@_client_command
def run_cmd(
    notebook: str,
    parameters: tuple[str, ...],
    timeout_s: float | None,
    output: Path | None,
    no_wait: bool,
) -> None:
    """Run NOTEBOOK (id or name) with parameters; wait, showing progress; fail if the run fails."""
    import time

    values = dict(_parameter(p) for p in parameters)
    with _client() as client:
        found = client.find_notebook(notebook)
        run = client.run(found["id"], values, timeout_s)
        if no_wait:
            click.echo(run["id"])
            return
        click.echo(
            f"run {run['id']} of {found['name']} (revision {run['notebook_revision']})", err=True
        )
        shown = None
        while run["status"] in ("queued", "running"):
            time.sleep(0.5)
            run = client.get_run(run["id"])
            state = f"{run['status']}: cell {run['cells_done']} of {run['cells_total']}"
            if state != shown:
                click.echo(state, err=True)
                shown = state
        if output is not None:
            output.write_bytes(client.run_notebook(run["id"]))
        click.echo(json.dumps(run, ensure_ascii=False))
        if run["status"] != "succeeded":
            error = run.get("error") or {}
            where = f" in cell {error['cell']}" if error.get("cell") is not None else ""
            raise click.ClickException(
                f"run {run['status']}{where}: {error.get('ename')}: {error.get('evalue')}"
            )


def _add_commands() -> None:
    from suricate.cli_models import models

    main.add_command(models)


_add_commands()
