"""Browser tests: a real `suricate serve`, driven by Playwright in Debian's headless Chromium.

Playwright never downloads a browser here: it launches /usr/bin/chromium (the `chromium`
package) through ``executable_path``. Screenshots of every page go to test-artifacts/screenshots
so a person can look at them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PASSWORD, ROOT
from tests.support.servers import Server, clean_env, free_port, serve, suricate
from tests.support.services import require

CHROMIUM = os.environ.get("SURICATE_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
ASSETS = ROOT / "src" / "suricate" / "server" / "web" / "assets" / "app.js"

pytestmark = pytest.mark.browser

# As the machine's notes advise: no background networking (the network is closed), no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with user alice in tenants acme and beta (for the tenant switcher)."""
    require(ASSETS.is_file(), "the web UI is not built: run `make ui`")
    tmp = tmp_path_factory.mktemp("ui")
    env = clean_env(tmp / "data") | {"SURICATE_PASSWORD": PASSWORD}
    suricate(env, "user", "create", "alice", "--tenant", "acme")
    suricate(env, "tenant", "create", "beta")
    suricate(env, "tenant", "add-member", "beta", "alice", "--role", "owner")
    token = suricate(env, "token", "create", "alice")
    process, url = serve(env, free_port(), tmp / "server.log")
    yield Server(url, token, tmp / "data", env, process)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageErrors(list[str]):
    """Uncaught script errors of a page; a test fails if any happen."""


@pytest.fixture
def page(browser: object, ui_server: Server) -> Iterator[object]:
    """A logged-in page (alice) on a 1440x900 laptop screen."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=ui_server.url, viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(15_000)
    answer = context.request.post(
        "/api/v1/auth/login", data={"user": "alice", "password": PASSWORD}
    )
    assert answer.ok, answer.text()
    page = context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()
    assert not errors, f"uncaught script errors in the page: {errors}"


def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def api(server: Server) -> httpx.Client:
    """An API client for arranging what a browser test needs (as alice)."""
    return httpx.Client(base_url=server.url + "/api/v1", headers=server.headers(), timeout=60)
