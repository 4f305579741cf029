"""The Runs page: run a notebook with parameters from the dialog, follow it, read the executed
notebook, see a failure, and create and delete a schedule."""

from __future__ import annotations

import re

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.ui.conftest import api, shot

RUN_TIMEOUT = 60_000


def _notebook(*cells: str, parameters: str | None = None) -> dict:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_markdown_cell("# Greeting\nSays hello and draws a line."))
    nb.cells.extend(nbformat.v4.new_code_cell(c) for c in cells)
    return dict(nbformat.from_dict(nb))


def _create(server: Server, name: str, content: dict) -> str:
    with api(server) as client:
        r = client.post("/notebooks", json={"name": name, "notebook": content})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


PLOT = """
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 2.5))
ax.plot([1, 3, 2, 4], color="teal")
ax.set_title(f"for {who}")
plt.show()
"""


def test_run_a_notebook_with_a_parameter_and_read_what_it_printed_and_drew(
    page, ui_server: Server
) -> None:
    _create(
        ui_server,
        "greeting",
        _notebook(
            'print(f"hello {who}, {times} times")', PLOT, parameters='who = "nobody"\ntimes = 1'
        ),
    )
    _create(
        ui_server,
        "broken",
        _notebook('print("about to fail")', 'raise ValueError("no data for week 9")'),
    )

    page.goto("/runs")
    page.get_by_text("No runs yet.").wait_for()
    page.get_by_role("button", name="Run notebook").click()
    dialog = page.get_by_role("dialog", name="Run notebook")
    dialog.get_by_label("Notebook").select_option(label="greeting")
    # The parameters cell's names are offered, with their defaults as placeholders.
    value = dialog.get_by_label("Value of who")
    expect(value).to_have_attribute("placeholder", re.compile("nobody"))
    value.fill("Ada")
    dialog.get_by_label("Value of times").fill("3")
    expect(dialog.locator(".params-type").nth(1)).to_have_text("int")
    shot(page, "run-dialog")
    dialog.get_by_role("button", name="Start run").click()

    page.wait_for_url(re.compile(r"/runs/[^/?]+$"))
    badge = page.locator(".page-head .badge")
    expect(badge).to_have_text("succeeded", timeout=RUN_TIMEOUT)
    notebook = page.get_by_label("Executed notebook")
    expect(notebook.get_by_text("hello Ada, 3 times")).to_be_visible()
    expect(notebook.locator("img.image-output")).to_be_visible()
    expect(notebook.get_by_text("injected parameters")).to_be_visible()
    expect(notebook.locator(".run-code .tok-keyword").first).to_be_visible()
    expect(page.locator(".run-params")).to_contain_text("who=Ada")
    expect(page.locator(".run-params")).to_contain_text("times=3")
    download = page.get_by_role("link", name="Download .ipynb")
    expect(download).to_have_attribute("href", re.compile(r"/api/v1/runs/.+/notebook$"))
    assert not page.get_by_role("button", name="Cancel run").is_visible()
    shot(page, "run")

    # A failing run shows its error and the cell it failed in.
    page.goto("/runs")
    page.get_by_role("button", name="Run notebook").click()
    dialog = page.get_by_role("dialog", name="Run notebook")
    dialog.get_by_label("Notebook").select_option(label="broken")
    dialog.get_by_role("button", name="Add parameter").click()
    dialog.get_by_label("Parameter value").fill("x")
    dialog.get_by_label("Parameter name").fill("2bad")
    dialog.get_by_role("button", name="Start run").click()
    expect(dialog.get_by_role("alert")).to_contain_text("not a valid parameter name")
    dialog.get_by_label("Parameter name").fill("week")
    dialog.get_by_label("Value of week").fill("9")
    dialog.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/[^/?]+$"))
    expect(page.locator(".page-head .badge")).to_have_text("failed", timeout=RUN_TIMEOUT)
    error = page.locator(".run-error")
    expect(error).to_contain_text("ValueError: no data for week 9")
    expect(error).to_contain_text("in cell 4")
    expect(page.locator(".run-cell-failed .error-output")).to_contain_text("no data for week 9")

    # The history: both runs, newest first, with their parameters; the filter narrows it.
    page.get_by_role("link", name="Runs", exact=True).first.click()
    rows = page.locator(".run-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("broken")
    expect(rows.nth(0).locator(".badge")).to_have_text("failed")
    expect(rows.nth(1)).to_contain_text("greeting")
    expect(rows.nth(1)).to_contain_text("who=Ada")
    page.get_by_label("Filter by notebook").select_option(label="greeting")
    expect(rows).to_have_count(1)
    page.get_by_label("Filter by notebook").select_option(label="All notebooks")
    expect(rows).to_have_count(2)
    shot(page, "runs")
    rows.nth(1).click()
    page.wait_for_url(re.compile(r"/runs/[^/?]+$"))
    expect(page.get_by_text("hello Ada, 3 times")).to_be_visible()


def test_create_and_delete_a_schedule(page, ui_server: Server) -> None:
    _create(ui_server, "nightly", _notebook("print(who)", parameters='who = "x"'))
    page.goto("/runs")
    page.get_by_role("tab", name="Schedules").click()
    page.wait_for_url("**/runs?tab=schedules")
    page.get_by_text("No schedules").wait_for()
    page.get_by_role("button", name="New schedule").click()
    dialog = page.get_by_role("dialog", name="New schedule")
    dialog.get_by_label("Notebook").select_option(label="nightly")
    cron = dialog.get_by_label("Cron", exact=True)
    cron.fill("every day")
    dialog.get_by_role("button", name="Create schedule").click()
    expect(dialog.get_by_role("alert")).to_be_visible()  # the server's 422, in place
    dialog.get_by_role("button", name="Mondays 06:00").click()
    expect(cron).to_have_value("0 6 * * 1")
    expect(dialog).to_contain_text("runs Mondays at 06:00")
    dialog.get_by_label("Timezone").fill("Europe/Paris")
    dialog.get_by_label("Value of who").fill("Grace")
    dialog.get_by_role("button", name="Create schedule").click()
    expect(dialog).to_be_hidden()

    row = page.locator(".schedule-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("nightly")
    expect(row).to_contain_text("0 6 * * 1")
    expect(row).to_contain_text("Europe/Paris")
    expect(row).to_contain_text("who=Grace")
    expect(row).to_contain_text("Mon")
    expect(row).to_contain_text("06:00 (Europe/Paris)")
    expect(row).to_contain_text(re.compile(r"in \d+ (min|h|d)"))
    shot(page, "schedules")

    row.get_by_role("button", name=re.compile("Delete schedule")).click()
    confirm = page.get_by_role("dialog", name="Delete schedule?")
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(row).to_have_count(0)
    page.get_by_text("No schedules").wait_for()
    with api(ui_server) as client:
        assert client.get("/schedules").json()["items"] == []


def test_a_running_run_shows_its_progress_and_can_be_cancelled(page, ui_server: Server) -> None:
    nb = _create(
        ui_server,
        "slow",
        _notebook(
            'print("warming up")',
            "import time\nprint('counting', flush=True)\ntime.sleep(60)",
            "1",
        ),
    )
    with api(ui_server) as client:
        run = client.post(f"/notebooks/{nb}/runs", json={"timeout_s": 120}).json()
    page.goto(f"/runs/{run['id']}")
    expect(page.locator(".run-progress")).to_contain_text("Cell 2 of 3", timeout=RUN_TIMEOUT)
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.locator(".run-cell-running")).to_contain_text("time.sleep(60)")
    expect(page.locator(".text-output").filter(has_text="warming up")).to_be_visible()
    # The running cell's output shows while it runs.
    expect(page.locator(".run-cell-running .text-output")).to_contain_text("counting")
    shot(page, "run-running")
    page.get_by_role("button", name="Cancel run").click()
    page.get_by_role("dialog", name="Cancel this run?").get_by_role(
        "button", name="Cancel run"
    ).click()
    expect(page.locator(".page-head .badge")).to_have_text("cancelled", timeout=30_000)
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    # What the cut-short cell printed stays.
    expect(page.locator(".run-cell-stopped .text-output")).to_contain_text("counting")
