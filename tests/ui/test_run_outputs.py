"""A notebook opened after a run shows that run's outputs under its cells, read-only and marked
as the run's, the way a saved notebook opens in JupyterLab: another run can be picked, or none;
running a cell replaces its outputs with its own; the run's outputs are never saved into it."""

from __future__ import annotations

import re

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.support.wait import wait_until
from tests.ui.conftest import api, shot


def _start(client, notebook_id: str, who: str) -> str:
    r = client.post(f"/notebooks/{notebook_id}/runs", json={"parameters": {"who": who}})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _finish(client, run_id: str) -> None:
    wait_until(
        lambda: client.get(f"/runs/{run_id}").json(),
        until=lambda run: run["status"] == "succeeded",
        timeout=90,
        message="the run never succeeded",
    )


def test_an_opened_notebook_shows_its_latest_runs_outputs_until_a_cell_runs(
    page, ui_server: Server
) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('who = "nobody"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Greeting"),
        params,
        nbformat.v4.new_code_cell('print(f"hello {who}")'),
        nbformat.v4.new_code_cell("6 * 7"),
    ]
    with api(ui_server) as client:
        r = client.post(
            "/notebooks", json={"name": "greeting", "notebook": dict(nbformat.from_dict(nb))}
        )
        assert r.status_code == 201, r.text
        notebook_id = str(r.json()["id"])
        first = _start(client, notebook_id, "Ada")
        latest = _start(client, notebook_id, "Grace")
        _finish(client, first)
        _finish(client, latest)

    page.goto(f"/notebooks/{notebook_id}")
    cells = page.locator(".nb-cells .cell")
    hello, answer = cells.nth(2), cells.nth(3)
    # The latest run's outputs, each marked as the run's.
    expect(hello.locator(".cell-past")).to_contain_text("hello Grace")
    mark = f"from run {latest[:8]} · succeeded"
    expect(hello.locator(".cell-past-tag")).to_contain_text(mark)
    expect(answer.locator(".cell-past .outputs")).to_have_text("42")
    bar = page.get_by_role("region", name="Outputs of a run")
    expect(bar).to_contain_text(f"run {latest[:8]}")
    shot(page, "notebook-run-outputs")

    # Another run, then none.
    picker = bar.get_by_label("Outputs from")
    picker.select_option(value=first)
    expect(hello.locator(".cell-past")).to_contain_text("hello Ada")
    picker.select_option(value="")
    expect(page.locator(".cell-past")).to_have_count(0)
    picker.select_option(value=latest)
    expect(hello.locator(".cell-past")).to_contain_text("hello Grace")

    # Running a cell: its own outputs replace the run's; the other cells keep the run's.
    expect(page.locator(".kernel-badge")).to_have_text("Idle", timeout=60_000)
    answer.locator(".cm-content").click()
    page.keyboard.press("End")
    page.keyboard.insert_text(" + 1")
    page.keyboard.press("Control+Enter")
    expect(answer.locator(".outputs")).to_have_text("43")
    expect(answer.locator(".cell-past")).to_have_count(0)
    expect(hello.locator(".cell-past")).to_contain_text("hello Grace")

    # What is saved holds the cell the user ran, and none of the run's outputs.
    expect(page.locator(".nb-save")).to_have_text(
        re.compile(r"Saved · revision [2-9]"), timeout=15_000
    )
    with api(ui_server) as client:
        saved = client.get(f"/notebooks/{notebook_id}").json()["notebook"]["cells"]
    assert saved[2]["outputs"] == [] and saved[2]["execution_count"] is None
    assert saved[3]["outputs"][0]["data"]["text/plain"] in ("43", ["43"])

    # A job started here joins the runs offered once it ends.
    page.get_by_role("button", name="Run as job").click()
    job = page.get_by_role("dialog", name="Run as a job")
    job.get_by_label("Value of who").fill("Linus")
    job.get_by_role("button", name="Start run").click()
    expect(page.locator(".nb-job")).to_contain_text("succeeded", timeout=90_000)
    expect(picker.locator("option")).to_have_count(4)  # three runs, and none
    with api(ui_server) as client:
        newest = client.get("/runs", params={"notebook_id": notebook_id}).json()["items"][0]
    picker.select_option(value=newest["id"])
    expect(hello.locator(".cell-past")).to_contain_text("hello Linus")
    expect(answer.locator(".cell-past")).to_have_count(0)  # it shows its own
