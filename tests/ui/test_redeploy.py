"""A processor running an older revision of its notebook says so, on its page and in the
notebook's editor, and redeploys with the current revision in one click."""

from __future__ import annotations

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.support.wait import wait_until
from tests.ui.conftest import api, shot

HANDLER = 'from suricate import sdk\n\ndef on_message(msg):\n    sdk.action("seen")\n'


def test_a_processor_behind_its_notebook_is_redeployed_with_the_current_revision(
    page, ui_server: Server
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(HANDLER))
    content = dict(nbformat.from_dict(nb))
    with api(ui_server) as client:
        client.put("/objects/ticks.jsonl", content=b'{"n": 1}\n{"n": 2}\n').raise_for_status()
        stream = {
            "name": "ticks",
            "type": "replay",
            "object": "ticks.jsonl",
            "rate": 1,
            "loop": True,
        }
        assert client.post("/streams", json=stream).status_code == 201
        r = client.post(
            "/notebooks", json={"name": "watcher", "kind": "processing", "notebook": content}
        )
        assert r.status_code == 201, r.text
        notebook_id = r.json()["id"]
        r = client.post("/processors", json={"notebook_id": notebook_id, "stream": "ticks"})
        assert r.status_code == 201, r.text
        processor_id = r.json()["id"]
        # The notebook moves on after the deployment.
        r = client.put(f"/notebooks/{notebook_id}", json={"notebook": content, "revision": 1})
        assert r.status_code == 200, r.text

    def revision_run() -> int:
        with api(ui_server) as client:
            return int(client.get(f"/processors/{processor_id}").json()["notebook_revision"])

    page.goto(f"/processing/{processor_id}")
    notice = page.locator(".stale-revision")
    expect(notice).to_contain_text("This processor runs revision 1; the notebook is at revision 2.")
    shot(page, "processor-behind")
    notice.get_by_role("button", name="Redeploy with revision 2").click()
    expect(notice).to_have_count(0, timeout=10_000)
    assert wait_until(revision_run, until=lambda r: r == 2, timeout=10) == 2

    # In the editor: the notebook moved on again.
    with api(ui_server) as client:
        r = client.put(f"/notebooks/{notebook_id}", json={"notebook": content, "revision": 2})
        assert r.status_code == 200, r.text
    page.goto(f"/notebooks/{notebook_id}")
    notice = page.locator(".stale-revision")
    expect(notice).to_contain_text(
        "The processor on stream ticks runs revision 2; the notebook is at revision 3."
    )
    expect(notice.get_by_role("link", name="ticks")).to_have_attribute(
        "href", f"/processing/{processor_id}"
    )
    shot(page, "notebook-processor-behind")
    notice.get_by_role("button", name="Redeploy with revision 3").click()
    expect(notice).to_have_count(0, timeout=10_000)
    assert wait_until(revision_run, until=lambda r: r == 3, timeout=10) == 3
