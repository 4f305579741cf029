"""The Kernels page: the user's open kernels with their notebooks, shut down one, then all
(after a confirmation)."""

from __future__ import annotations

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.ui.conftest import api, shot

START_TIMEOUT = 60_000


def _notebook(client, name: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    r = client.post("/notebooks", json={"name": name, "notebook": dict(nbformat.from_dict(nb))})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_list_the_open_kernels_and_shut_them_down(page, ui_server: Server) -> None:
    with api(ui_server) as client:
        ids = [_notebook(client, name) for name in ("drives", "weather")]
        for notebook_id in ids:
            r = client.post("/sessions", json={"notebook_id": notebook_id})
            assert r.status_code == 201, r.text

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Kernels").click()
    page.wait_for_url("**/kernels")
    rows = page.locator(".kernel-table tbody tr")
    expect(rows).to_have_count(2, timeout=START_TIMEOUT)
    drives = rows.filter(has_text="drives")
    expect(drives.get_by_role("link", name="drives")).to_have_attribute(
        "href", f"/notebooks/{ids[0]}"
    )
    expect(drives.locator(".badge")).to_have_text("idle")
    expect(drives).to_contain_text("none")  # no page shows it: opened through the API
    expect(page.locator(".page-head")).to_contain_text("2 open")
    shot(page, "kernels")

    # One, at once.
    drives.get_by_role("button", name="Shut down the kernel of drives").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("weather")

    # All, after saying yes.
    page.get_by_role("button", name="Shut down all").click()
    dialog = page.get_by_role("dialog", name="Shut down every kernel?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Shut down all").click()
    dialog.get_by_role("button", name="Shut down all").click()
    expect(page.get_by_text("No open kernels.")).to_be_visible()
    with api(ui_server) as client:
        assert client.get("/sessions").json()["items"] == []
