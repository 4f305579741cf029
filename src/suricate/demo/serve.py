"""`suricate demo`'s server: the platform and the web app, with the demo set up behind it."""

from __future__ import annotations

import threading
import time

import click

from suricate.demo import SeasonReplay, ensure_login, set_up
from suricate.discovery import note_server
from suricate.settings import Settings


def serve_demo(
    settings: Settings,
    host: str,
    port: int,
    url: str,
    game: str,
    rate: float,
    season: SeasonReplay | None,
) -> None:
    """Serve at ``url`` and set the demo up once the server answers; return when it stops."""
    import uvicorn

    from suricate.kernel.client import Client
    from suricate.server.app import create_app
    from suricate.server.http import BodyPiecesProtocol
    from suricate.server.platform import Platform

    platform = Platform.from_settings(settings)
    platform.start_serving()
    login = ensure_login(platform)
    note_server(settings.data_dir, url)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(platform=platform),
            host=host,
            port=port,
            http=BodyPiecesProtocol,
            log_config=None,
            access_log=False,
        )
    )

    def say(line: str) -> None:
        click.echo(f"demo: {line}", err=True)

    def progress(text: str, done: int | None, total: int | None) -> None:
        platform.notices.set("demo", text, done, total)

    def setup() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.1)
        if server.should_exit:
            return
        # The login first: the server answers from now on, while the demo loads behind it.
        click.echo(
            f"\nSuricate is up: open {url} in a browser\n"
            f"  log in as {login.user}, password {login.password}\n"
            f"  API token: {login.token} (this run's; the previous one is revoked)\n"
            "The demo loads now (a banner in the web UI shows how far it is): the season's "
            "games, the notebooks and their runs, then the live processor.\n",
            err=True,
        )
        progress("loading the demo", None, None)
        try:
            with Client(url, login.token, tenant="demo", timeout=300) as client:
                set_up(client, game, rate, say, progress, season)
        except Exception as exc:
            say(f"set-up stopped: {exc}")
            platform.notices.set("demo", f"the demo's set-up stopped: {exc}")
            return
        platform.notices.clear("demo")
        click.echo(
            f"\nSuricate demo ready: {url}  (user {login.user}, password {login.password})\n"
            f"  live processor: {url}/processing   notebooks: {url}/notebooks\n"
            f"  try: curl -H 'Authorization: Bearer {login.token}' "
            f"'{url}/api/v1/actions?newest_first=true&limit=5'\n"
            "Ctrl-C stops the server; `suricate demo` again reuses everything.",
            err=True,
        )
        if season is not None:
            click.echo(
                f"  the season replay plays now at {season.speed:g} plays/s: watch the champion "
                f"move at {url}/models, then run 08-loop-report for the figures",
                err=True,
            )

    threading.Thread(target=setup, name="demo-setup", daemon=True).start()
    say(f"serving {url}, data in {settings.data_dir.resolve()}")
    server.run()
