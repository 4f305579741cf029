"""`suricate demo` end to end, as a new user runs it: twice, the second reusing the first; the
first time, everything it set up is looked at in the web UI, in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import clean_env, free_port
from tests.support.wait import wait_until
from tests.ui.conftest import shot


def _demo(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = clean_env(data_dir) | {"SURICATE_KERNEL_POOL_SIZE": "1"}
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "suricate", "demo", "--port", str(port), "--rate", "20"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _token(process: subprocess.Popen[bytes], log: Path, timeout: float, ready: bool) -> str:
    """The API token the demo prints first; with ``ready``, once its set-up has finished."""

    def token() -> str | None:
        text = log.read_text(errors="replace")
        found = re.search(r"API token: (\S+)", text)
        if found and (not ready or "Suricate demo ready" in text):
            return found.group(1)
        assert "set-up stopped" not in text, text
        assert process.poll() is None, text
        return None

    return wait_until(token, timeout=timeout, interval=0.5, message=log.read_text)


def _ready(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    return _token(process, log, timeout, ready=True)


def _look_in_the_browser(browser: object, site: str, password: str) -> None:
    """Log in as the demo user and find the whole story in the UI."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=site, viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    page.get_by_label("User").fill("demo")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    tiles = page.locator(".tile")
    tiles.first.wait_for()
    data_tile = tiles.nth(0).inner_text()
    assert re.search(r"3\d\d\s*objects", data_tile), data_tile  # 332 games, schedule, outputs
    expect_text(page, ".tile >> nth=2", "running")
    shot(page, "demo-overview")

    page.get_by_role("link", name="Processing", exact=True).click()
    page.locator("tr", has_text="05-live-defense").first.click()
    page.get_by_text(re.compile(r"\d(st|nd|rd|th) and \d+ at ")).first.wait_for()
    shot(page, "demo-processor")

    page.get_by_role("link", name="Runs", exact=True).click()
    page.locator("tr", has_text="02-favourite-receivers").first.click()
    page.get_by_text("succeeded").first.wait_for()
    page.locator("img.image-output").first.wait_for()
    page.get_by_text("Welker").first.wait_for()
    shot(page, "demo-run")

    page.get_by_role("link", name="Notebooks", exact=True).click()
    page.get_by_role("link", name="07-dask-yards").wait_for()
    shot(page, "demo-notebooks")
    # A notebook the demo ran opens with the run's outputs under its cells, marked as the run's.
    page.get_by_role("link", name="02-favourite-receivers").click()
    page.locator(".cell-past img.image-output").first.wait_for()
    tag = page.locator(".cell-past-tag").first.inner_text()
    assert re.match(r"from run [0-9a-f]{8} · succeeded · ", tag), tag
    shot(page, "demo-notebook-run-outputs")
    page.get_by_role("link", name="Data", exact=True).click()
    page.get_by_text("nfl-plays.parquet").first.wait_for()
    shot(page, "demo-data")
    context.close()
    assert not errors, errors


def expect_text(page: object, selector: str, text: str) -> None:
    locator = page.locator(selector)  # type: ignore[attr-defined]
    locator.filter(has_text=text).wait_for()


@pytest.mark.slow
@pytest.mark.timeout(600)  # two demo set-ups and a browser tour: minutes on a 2-core machine
def test_demo_sets_up_the_football_story_and_a_second_run_reuses_it(
    tmp_path: Path, browser: object
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1"
    first_log = tmp_path / "first.log"
    process = _demo(tmp_path / "data", port, first_log)
    try:
        early = _token(process, first_log, 60, ready=False)
        # The login comes first, and the web UI tells how far the set-up is meanwhile.
        notices = httpx.get(f"{url}/notices", headers={"Authorization": f"Bearer {early}"})
        assert notices.status_code == 200
        assert "Suricate demo ready" in first_log.read_text() or any(
            n["text"].startswith("loading the demo") for n in notices.json()["items"]
        ), notices.text
        token = _ready(process, first_log, 300)
        assert token == early
        text = first_log.read_text()
        assert text.index("log in as demo") < text.index("uploading")
        assert httpx.get(f"{url}/notices", headers={"Authorization": f"Bearer {token}"}).json() == {
            "items": []
        }
        password = re.search(r"log in as demo, password (\S+)", text).group(1)  # type: ignore[union-attr]
        first_token = token
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        games = http.get("/objects", params={"tag": "gamecenter", "limit": 1000}).json()["items"]
        assert len(games) == 332
        runs = http.get("/runs", params={"limit": 100}).json()["items"]
        assert len(runs) == 4 and {r["status"] for r in runs} == {"succeeded"}
        actions = wait_until(
            lambda: http.get("/actions").json()["items"],
            timeout=60,
            interval=0.5,
            message="the demo recorded no action",
        )
        assert re.match(r"\d(st|nd|rd|th) and \d+ at ", actions[0]["text"]), actions[0]
        http.close()
        _look_in_the_browser(browser, f"http://127.0.0.1:{port}", password)
    finally:
        process.terminate()
        process.wait(timeout=60)

    second_log = tmp_path / "second.log"
    process = _demo(tmp_path / "data", port, second_log)
    try:
        token = _ready(process, second_log, 120)
        text = second_log.read_text()
        assert "uploading" not in text and "running 01-ingest" not in text
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        assert len(http.get("/runs").json()["items"]) == 4
        stale = httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {first_token}"})
        assert stale.status_code == 401, "the first run's token is revoked"
        processors = http.get("/processors").json()["items"]
        assert len(processors) == 1
        http.close()
    finally:
        process.terminate()
        process.wait(timeout=60)
