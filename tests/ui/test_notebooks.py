"""The notebook pages: a new user's notebook against a live kernel, autosave, import and export."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.ui.conftest import api, shot

# A few plays of a game, as a data scientist would upload them.
PLAYS_CSV = b"""game,quarter,down,distance,yards,receiver
2013090500,1,1,10,6,Welker
2013090500,1,2,4,11,Thomas
2013090500,1,1,10,-2,Decker
2013090500,2,2,12,7,Welker
2013090500,2,3,5,14,Thomas
2013090500,2,3,8,3,Welker
2013090500,3,1,10,9,Decker
2013090500,3,2,1,2,Thomas
2013090500,4,3,3,5,Welker
2013090500,4,1,10,23,Thomas
"""

PLOT = """from suricate import sdk
import matplotlib.pyplot as plt
df = sdk.read_csv("plays.csv")
df.groupby("down")["yards"].mean().plot(kind="bar", title="Mean yards by down")
plt.show()"""

HTML = (
    "from IPython.display import HTML, display\n"
    "display(HTML(\"<script>window.parent.document.title='pwned'; parent.pwned=1</script>"
    '<b>bold</b>"))'
)

RAISING = '\n\n\ndef on_message(msg):\n    raise ValueError(f"bad {msg.headers}")'

STREAM = 'import time\nprint("first", flush=True)\ntime.sleep(2)\nprint("second")'

IMPORTED = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {
            "id": "intro",
            "cell_type": "markdown",
            "metadata": {},
            "source": "# Imported\nFrom *Jupyter*.",
        },
        {
            "id": "params",
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": "greeting = 'hello'",
            "outputs": [],
            "execution_count": 1,
        },
        {
            "id": "say",
            "cell_type": "code",
            "metadata": {},
            "source": "print(greeting)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "hello\n"}],
            "execution_count": 2,
        },
    ],
}


def cells(page):
    return page.locator(".nb-cells .cell")


def session_of(server: Server, notebook_id: str) -> dict | None:
    """The notebook's kernel session, as the API lists it (None when there is none)."""
    with api(server) as client:
        sessions = client.get("/sessions").json()["items"]
    mine = [s for s in sessions if s["notebook_id"] == notebook_id]
    assert len(mine) <= 1, mine
    return mine[0] if mine else None


def execute(server: Server, session_id: str, code: str) -> None:
    with api(server) as client:
        client.post(f"/sessions/{session_id}/execute", json={"code": code}).raise_for_status()


def run_new_cell(page, code: str) -> None:
    """Type into the focused (new) cell's editor and press Shift+Enter."""
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")


def test_a_new_notebook_runs_against_a_live_kernel_and_autosaves(page, ui_server: Server) -> None:
    with api(ui_server) as client:
        client.put("/objects/plays.csv", content=PLAYS_CSV).raise_for_status()

    page.goto("/notebooks")
    page.get_by_role("button", name="New notebook").first.click()
    dialog = page.get_by_role("dialog", name="New notebook")
    dialog.get_by_label("Name").fill("receivers")
    shot(page, "notebooks-new")
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/notebooks/[0-9a-f-]+$"))
    notebook_id = page.url.rsplit("/", 1)[1]
    status = page.locator(".kernel-badge")
    expect(status).to_have_text("Idle", timeout=30_000)

    # The check: read the uploaded CSV with the SDK, plot it, Shift+Enter, see the plot.
    page.locator(".cell .cm-content").first.click()
    run_new_cell(page, PLOT)
    plot = cells(page).nth(0)
    expect(plot.locator("img.image-output")).to_be_visible(timeout=60_000)
    expect(plot.locator(".cell-prompt")).to_have_text("[1]")
    expect(cells(page)).to_have_count(2)  # Shift+Enter added a cell at the end, like Jupyter
    keyword = plot.locator(".cm-line span", has_text=re.compile("^import$")).first
    assert keyword.evaluate("e => getComputedStyle(e).color") == "rgb(0, 128, 0)"  # highlighted
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "notebook-plot")

    # Notebook HTML renders in a sandbox without scripts: it cannot act as the viewer.
    run_new_cell(page, HTML)
    frame = cells(page).nth(1).locator("iframe.html-output")
    expect(frame).to_be_attached()
    sandbox = frame.get_attribute("sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox, sandbox
    expect(cells(page).nth(1).frame_locator("iframe").locator("b")).to_have_text("bold")
    expect(cells(page).nth(1).locator(".cell-prompt")).to_have_text("[2]")
    assert page.evaluate("window.pwned") is None
    assert page.title() == "receivers · Notebook · Suricate"

    # Outputs stream: the first line shows while the cell still sleeps.
    run_new_cell(page, STREAM)
    streamed = cells(page).nth(2)
    expect(streamed.locator(".outputs")).to_contain_text("first")
    expect(streamed.locator(".cell-prompt")).to_have_text("[*]")
    assert "second" not in streamed.locator(".outputs").inner_text()
    expect(streamed.locator(".outputs")).to_contain_text("second", timeout=10_000)
    expect(streamed.locator(".cell-prompt")).to_have_text("[3]")

    # An error shows its traceback in place.
    run_new_cell(page, "1 / 0")
    failed = cells(page).nth(3)
    expect(failed.locator(".error-output")).to_contain_text("ZeroDivisionError")
    expect(failed.locator(".error-output")).to_contain_text("division by zero")
    # (Until the failed cell is done, a cell queued behind it would be cancelled, as in Jupyter.)
    expect(failed.locator(".cell-prompt")).to_have_text("[4]")

    # Interrupt stops a long cell; Restart gives a fresh kernel whose count starts again.
    run_new_cell(page, "import time\ntime.sleep(60)")
    sleeping = cells(page).nth(4)
    expect(sleeping.locator(".cell-prompt")).to_have_text("[*]")
    expect(status).to_have_text("Busy")
    page.get_by_role("button", name="Interrupt").click()
    expect(sleeping.locator(".error-output")).to_contain_text("KeyboardInterrupt")
    expect(sleeping.locator(".cell-prompt")).to_have_text("[5]")
    page.get_by_role("button", name="Restart").click()
    # A restart takes seconds on a busy machine.
    expect(page.get_by_text("Kernel restarted")).to_be_visible(timeout=30_000)
    expect(status).to_have_text("Idle")
    cells(page).nth(5).locator(".cm-content").click()  # the buttons took the keyboard
    run_new_cell(page, "answer = 40 + 2\nanswer")
    answer = cells(page).nth(5)
    expect(answer.locator(".outputs")).to_have_text("42")
    expect(answer.locator(".cell-prompt")).to_have_text("[1]")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "notebook-cells")

    # Autosave: a couple of seconds later the notebook, outputs included, is a new revision.
    save = page.locator(".nb-save")
    expect(save).to_have_text(re.compile(r"Saved · revision \d+"), timeout=15_000)
    revision = int(save.inner_text().rsplit(" ", 1)[1])
    assert revision > 1
    with api(ui_server) as client:
        saved = client.get(f"/notebooks/{notebook_id}").json()
    assert saved["revision"] == revision
    saved_cells = saved["notebook"]["cells"]
    assert saved_cells[0]["source"] == PLOT and saved_cells[0]["execution_count"] == 1
    assert any("image/png" in o.get("data", {}) for o in saved_cells[0]["outputs"])
    assert saved_cells[5]["outputs"][0]["data"]["text/plain"] == "42"
    session_id = session_of(ui_server, notebook_id)["id"]

    # Ctrl+S saves at once, after an edit, and the page comes back as it was, on the same kernel.
    page.keyboard.insert_text("# the end")
    expect(save).to_have_text("Unsaved changes")
    page.keyboard.press("Control+s")
    expect(save).to_have_text(f"Saved · revision {revision + 1}")
    page.reload()
    expect(cells(page)).to_have_count(7)
    expect(cells(page).nth(0).locator("img.image-output")).to_be_visible()
    expect(cells(page).nth(2).locator(".outputs")).to_contain_text("first\nsecond")
    expect(cells(page).nth(3).locator(".error-output")).to_contain_text("ZeroDivisionError")
    expect(cells(page).nth(6).locator(".cm-content")).to_have_text("# the end")
    expect(save).to_have_text(f"Saved · revision {revision + 1}")
    expect(status).to_have_text("Idle", timeout=30_000)
    assert session_of(ui_server, notebook_id)["id"] == session_id

    # Run all goes from the top, one cell at a time, and stops at the first error (as Jupyter);
    # the counts go on from the kernel's own, as in Jupyter.
    page.get_by_role("button", name="Clear outputs").click()
    expect(cells(page).locator(".outputs")).to_have_count(0)
    page.get_by_role("button", name="Run all").click()
    expect(cells(page).nth(3).locator(".error-output")).to_contain_text("ZeroDivisionError")
    expect(cells(page).nth(3).locator(".cell-prompt")).to_have_text("[5]")
    expect(status).to_have_text("Idle")
    expect(cells(page).locator(".cell-prompt")).to_have_text(
        ["[2]", "[3]", "[4]", "[5]", "[ ]", "[ ]", "[ ]"]
    )
    expect(cells(page).nth(0).locator("img.image-output")).to_be_visible()

    # The reload kept the kernel: `answer`, set before it, is still there.
    last = cells(page).nth(6)
    last.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\nanswer")
    page.keyboard.press("Control+Enter")
    expect(last.locator(".outputs")).to_have_text("42")
    expect(last.locator(".cell-prompt")).to_have_text("[6]")

    # Leaving the editor keeps its kernel, as in JupyterLab: back on it, the variables are there.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").click()
    expect(page.get_by_role("link", name="receivers")).to_be_visible()
    page.wait_for_timeout(500)
    assert session_of(ui_server, notebook_id)["id"] == session_id
    page.get_by_role("link", name="receivers").click()
    expect(status).to_have_text("Idle", timeout=30_000)
    page.get_by_role("button", name="Code", exact=True).click()  # a cell at the end, editing
    page.keyboard.insert_text("answer + 1")
    page.keyboard.press("Control+Enter")
    expect(cells(page).nth(7).locator(".outputs")).to_have_text("43")
    expect(cells(page).nth(7).locator(".cell-prompt")).to_have_text("[7]")

    # Code run in the kernel from elsewhere (another tab, a script) shows it busy here too.
    busy = threading.Thread(
        target=lambda: execute(ui_server, session_id, "import time; time.sleep(3)")
    )
    busy.start()
    expect(status).to_have_text("Busy")
    busy.join()
    expect(status).to_have_text("Idle")

    # "Shut down kernel" stops it: the next run starts a new kernel, without the variables.
    page.get_by_role("button", name="Shut down kernel").click()
    expect(status).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Shut down kernel")).to_be_disabled()
    assert session_of(ui_server, notebook_id) is None
    page.get_by_role("button", name="Code", exact=True).click()
    page.keyboard.insert_text("answer")
    page.keyboard.press("Control+Enter")
    expect(cells(page).nth(8).locator(".error-output")).to_contain_text("NameError", timeout=30_000)
    expect(cells(page).nth(8).locator(".cell-prompt")).to_have_text("[1]")
    assert session_of(ui_server, notebook_id)["id"] != session_id


def test_import_export_rename_conflict_and_delete(page, ui_server: Server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    good = tmp_path / "imported-demo.ipynb"
    good.write_text(json.dumps(IMPORTED))

    page.goto("/notebooks")
    upload = page.get_by_label("Notebook file to import")
    upload.set_input_files(str(broken))
    alert = page.get_by_role("alert").filter(has_text="Not imported")
    expect(alert).to_contain_text("broken.ipynb: not valid JSON")
    shot(page, "notebooks-import-error")

    upload.set_input_files(str(good))
    page.wait_for_url(re.compile(r".*/notebooks/[0-9a-f-]+$"))
    notebook_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".cell-rendered h1")).to_have_text("Imported")
    expect(cells(page).nth(1).locator(".cell-tag")).to_have_text("parameters")
    expect(cells(page).nth(2).locator(".outputs")).to_have_text("hello")
    expect(cells(page).nth(2).locator(".cell-prompt")).to_have_text("[2]")

    # Markdown: double-click edits the source, Shift+Enter renders it again.
    page.locator(".cell-rendered").dblclick()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(" Edited.")
    page.keyboard.press("Shift+Enter")
    expect(page.locator(".cell-rendered")).to_contain_text("From Jupyter. Edited.")
    expect(page.locator(".nb-save")).to_have_text("Saved · revision 2", timeout=10_000)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export .ipynb").click()
    # Written as Jupyter writes it (sources as lists of lines): read it as Jupyter reads it.
    exported = nbformat.reads(Path(download.value.path()).read_text(), as_version=4)
    assert [c["source"] for c in exported["cells"]] == [
        "# Imported\nFrom *Jupyter*. Edited.",
        "greeting = 'hello'",
        "print(greeting)",
    ]
    assert exported["cells"][2]["outputs"][0]["text"] == "hello\n"
    assert exported["cells"][1]["metadata"]["tags"] == ["parameters"]

    # Run all, then the keyboard: Esc leaves the editor; B, A, M, Enter, D D and Z act on cells.
    page.get_by_role("button", name="Clear outputs").click()
    expect(cells(page).nth(2).locator(".cell-prompt")).to_have_text("[ ]")
    page.get_by_role("button", name="Run all").click()
    expect(cells(page).nth(2).locator(".outputs")).to_have_text("hello", timeout=30_000)
    expect(cells(page).nth(2).locator(".cell-prompt")).to_have_text("[2]")
    cells(page).nth(2).locator(".cm-content").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    expect(cells(page)).to_have_count(4)
    page.keyboard.press("Enter")
    page.keyboard.insert_text("greeting * 2")
    page.keyboard.press("Control+Enter")
    expect(cells(page).nth(3).locator(".outputs")).to_have_text("'hellohello'")
    expect(cells(page)).to_have_count(4)
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.keyboard.press("m")
    page.keyboard.press("Enter")
    page.keyboard.insert_text("## Notes")
    page.keyboard.press("Shift+Enter")
    expect(cells(page).nth(3).locator(".cell-rendered h2")).to_have_text("Notes")
    cells(page).nth(3).locator(".cell-rendered").click()
    page.get_by_role("button", name="Move cell up").click()
    expect(cells(page).nth(2).locator(".cell-rendered h2")).to_have_text("Notes")
    page.keyboard.press("d")
    page.keyboard.press("d")
    expect(cells(page)).to_have_count(4)
    expect(page.locator(".cell-rendered h2")).to_have_count(0)
    page.keyboard.press("z")
    expect(cells(page).nth(2).locator(".cell-rendered h2")).to_have_text("Notes")
    shot(page, "notebook-imported")

    page.get_by_role("button", name="Rename notebook imported-demo").click()
    page.get_by_label("Notebook name").fill("imported-renamed")
    page.get_by_label("Notebook name").press("Enter")
    expect(page.get_by_role("button", name="Rename notebook imported-renamed")).to_be_visible()

    # Someone else saves meanwhile: the next save here is a conflict, shown in place.
    save = page.locator(".nb-save")
    expect(save).to_have_text(re.compile(r"Saved · revision \d+"), timeout=10_000)
    revision = int(save.inner_text().rsplit(" ", 1)[1])
    with api(ui_server) as client:
        theirs = client.get(f"/notebooks/{notebook_id}").json()
        assert theirs["revision"] == revision and theirs["name"] == "imported-renamed"
        assert len(theirs["notebook"]["cells"]) == 5
        theirs["notebook"]["cells"][1]["source"] = "greeting = 'howdy'"
        client.put(
            f"/notebooks/{notebook_id}",
            json={"notebook": theirs["notebook"], "revision": revision},
        ).raise_for_status()
    cells(page).nth(1).locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  # mine")
    page.keyboard.press("Control+s")
    conflict = page.locator(".nb-conflict")
    expect(conflict).to_contain_text(f"changed elsewhere (revision {revision + 1}")
    expect(save).to_have_text("Not saved: changed elsewhere")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "notebook-conflict")
    conflict.get_by_role("button", name="Reload the latest").click()
    expect(conflict).to_have_count(0)
    expect(cells(page).nth(1).locator(".cm-content")).to_have_text("greeting = 'howdy'")
    expect(save).to_have_text(f"Saved · revision {revision + 1}")

    # Run as a job: the parameters cell's variables are offered with their defaults; the run
    # starts from the saved notebook, and its status stays live here.
    page.get_by_role("button", name="Run as job").click()
    job = page.get_by_role("dialog", name="Run as a job")
    expect(job.get_by_label("Parameter name")).to_have_value("greeting")
    value = job.get_by_label("Value of greeting")
    expect(value).to_have_attribute("placeholder", "'howdy' (default)")
    expect(value).to_be_focused()  # the first value to give has the keyboard
    value.fill("hi")
    expect(job.locator(".params-type").first).to_have_text("str")
    job.get_by_role("button", name="+ Add parameter").click()
    job.get_by_label("Parameter name").nth(1).fill("2nd")
    job.get_by_label("Value of 2nd").fill("[1, 2]")
    job.get_by_role("button", name="Start run").click()
    expect(job.get_by_role("alert")).to_contain_text("“2nd” is not a valid parameter name")
    job.get_by_label("Parameter name").nth(1).fill("times")
    expect(job.locator(".params-type").nth(1)).to_have_text("list")
    shot(page, "notebook-run-job")
    job.get_by_role("button", name="Start run").click()
    expect(job).to_have_count(0)
    chip = page.locator(".nb-job")
    expect(chip).to_contain_text("succeeded", timeout=60_000)
    with api(ui_server) as client:
        runs = client.get("/runs", params={"notebook_id": notebook_id}).json()["items"]
    assert len(runs) == 1 and runs[0]["parameters"] == {"greeting": "hi", "times": [1, 2]}
    assert runs[0]["notebook_revision"] == revision + 1
    expect(chip.get_by_role("link")).to_have_text(f"Run {runs[0]['id'][:8]}")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "notebook-run-job-status")
    chip.get_by_role("link").click()
    page.wait_for_url(f"**/runs/{runs[0]['id']}")

    page.get_by_role("link", name="Notebooks").click()
    row = page.get_by_role("row").filter(has_text="imported-renamed")
    expect(row).to_contain_text(str(revision + 1))
    shot(page, "notebooks-list")
    row.get_by_role("button", name="Delete imported-renamed").click()
    page.get_by_role("dialog", name="Delete notebook").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    with api(ui_server) as client:
        assert client.get(f"/notebooks/{notebook_id}").status_code == 404


def test_restart_mid_cell_and_a_stopped_session_recover(page, ui_server: Server) -> None:
    with api(ui_server) as client:
        notebook = client.post("/notebooks", json={"name": "recovery", "kind": "processing"}).json()
    page.goto(f"/notebooks/{notebook['id']}")
    status = page.locator(".kernel-badge")
    expect(status).to_have_text("Idle", timeout=30_000)
    expect(page.get_by_text("A processing notebook")).to_be_visible()
    run_new_cell(
        page, "import time\ntime.sleep(30)"
    )  # a new notebook's first cell has the keyboard
    expect(cells(page).nth(0).locator(".cell-prompt")).to_have_text("[*]")
    page.get_by_role("button", name="Restart").click()
    expect(page.get_by_text("Kernel restarted")).to_be_visible()
    expect(cells(page).nth(0).locator(".cell-prompt")).to_have_text("[ ]")
    run_new_cell(page, "1 + 1")
    expect(cells(page).nth(1).locator(".outputs")).to_have_text("2", timeout=20_000)
    expect(cells(page).nth(1).locator(".cell-prompt")).to_have_text("[1]")

    # The session ends elsewhere (culled when idle, or stopped): the editor says so, and the next
    # cell starts a new kernel.
    with api(ui_server) as client:
        for session in client.get("/sessions").json()["items"]:
            if session["notebook_id"] == notebook["id"]:
                client.delete(f"/sessions/{session['id']}").raise_for_status()
    expect(status).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Start kernel")).to_be_visible()
    run_new_cell(page, "2 + 2")
    expect(cells(page).nth(2).locator(".outputs")).to_have_text("4", timeout=30_000)
    expect(cells(page).nth(2).locator(".cell-prompt")).to_have_text("[1]")
    expect(status).to_have_text("Idle")

    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_contain_text("Shift+Enter")
    shot(page, "notebook-shortcuts")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_new_processing_notebook_has_a_handler_to_try(page, ui_server: Server) -> None:
    page.goto("/notebooks")
    page.get_by_role("button", name="New notebook").first.click()
    dialog = page.get_by_role("dialog", name="New notebook")
    dialog.get_by_label("Name").fill("alerts")
    dialog.get_by_label("Processing").check()
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/notebooks/[0-9a-f-]+$"))
    notebook_id = page.url.rsplit("/", 1)[1]

    # It starts as a handler to fill in, explained, not as an empty notebook.
    expect(cells(page)).to_have_count(2)
    expect(cells(page).nth(0).locator(".cell-rendered h2")).to_have_text("A processing notebook")
    expect(cells(page).nth(1).locator(".cm-content")).to_contain_text("def on_message(msg):")
    with api(ui_server) as client:
        saved = client.get(f"/notebooks/{notebook_id}").json()
    assert saved["kind"] == "processing"
    code = saved["notebook"]["cells"][1]["source"]
    assert "from suricate import sdk" in code and "def on_message(msg):" in code
    assert 'sdk.action(f"got {msg.body}", body=msg.body)' in code

    # Try on a message: before the cells ran, the kernel has no handler, and says so.
    expect(page.locator(".kernel-badge")).to_have_text("Idle", timeout=30_000)
    page.get_by_role("button", name="Try on a message").click()
    trial = page.get_by_role("form", name="Try the handler on a message")
    trial.get_by_label("Message body").fill('{"down": 3, "team": "DEN"}')
    trial.get_by_role("button", name="Run the handler").click()
    expect(trial.locator(".nb-trial-result")).to_contain_text("run the notebook's cells first")

    # Once they ran, the handler gets the message as a processor would hand it.
    page.get_by_role("button", name="Run all").click()
    expect(cells(page).nth(1).locator(".cell-prompt")).to_have_text("[2]")  # the trial was [1]
    trial.get_by_role("button", name="Run the handler").click()
    result = trial.locator(".nb-trial-result")
    expect(result).to_contain_text("1 action (shown here, not recorded)")
    expect(result.locator("li")).to_contain_text("got {'down': 3, 'team': 'DEN'}")
    expect(result.locator("li")).to_contain_text('body={"down":3,"team":"DEN"}')
    expect(trial.locator(".error-output")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "notebook-processing-try")

    # A handler that raises shows its traceback, as a dead letter would.
    trial.get_by_label("Message body").fill("not json")
    trial.get_by_label("Headers (JSON)").fill('{"source": "test"}')
    cells(page).nth(1).locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(RAISING)
    page.keyboard.press("Control+Enter")
    expect(cells(page).nth(1).locator(".cell-prompt")).to_have_text("[4]")
    trial.get_by_role("button", name="Run the handler").click()
    expect(result).to_contain_text("The handler raised ValueError: bad {'source': 'test'}")
    expect(result.locator(".nb-trial-tb")).to_contain_text("Traceback")
    with api(ui_server) as client:
        actions = client.get("/actions").json()["items"]
    assert not any(a["text"].startswith("got ") for a in actions), actions


def test_tab_completes_the_names_of_every_cell(page, ui_server: Server) -> None:
    notebook = {
        **IMPORTED,
        "cells": [
            {
                "id": "setup",
                "cell_type": "code",
                "metadata": {},
                "source": "from IPython.display import HTML, display as show\n"
                "my_variable = 41\n\ndef plot_yards(df):\n    inside = 1",
                "outputs": [],
                "execution_count": None,
            },
            {"id": "note", "cell_type": "markdown", "metadata": {}, "source": "Then:"},
            {
                "id": "use",
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "outputs": [],
                "execution_count": None,
            },
        ],
    }
    with api(ui_server) as client:
        created = client.post(
            "/notebooks", json={"name": "completion", "kind": "analytics", "notebook": notebook}
        ).json()
    page.goto(f"/notebooks/{created['id']}")
    editor = cells(page).nth(2).locator(".cm-content")
    editor.click()
    menu = page.locator(".cm-tooltip-autocomplete")
    first = menu.locator("li").first

    def complete(typed: str, expected: str) -> None:
        page.keyboard.insert_text(typed)
        page.keyboard.press("Tab")
        expect(first).to_have_text(expected)
        page.wait_for_timeout(100)  # CodeMirror takes no pick in the menu's first 75 ms
        page.keyboard.press("Tab")
        expect(menu).to_have_count(0)

    complete("my_vari", "my_variable")  # assigned in an earlier cell
    expect(editor).to_have_text("my_variable")
    page.keyboard.insert_text(" + 1\n")
    complete("HT", "HTML")  # imported there
    page.keyboard.insert_text("(")
    complete("sho", "show")  # an alias
    page.keyboard.insert_text("(")
    complete("plot_y", "plot_yards")  # a function
    page.keyboard.press("End")
    page.keyboard.insert_text("\n")
    page.keyboard.insert_text("p")
    page.keyboard.press("Tab")
    expect(first).to_have_text("plot_yards")  # the notebook's names first, then Python's
    expect(menu).to_contain_text("print")
    shot(page, "notebook-completion")
    page.keyboard.press("Escape")  # closes the menu, and stays in the cell
    expect(menu).to_have_count(0)
    page.keyboard.press("Backspace")
    complete("isinst", "isinstance")  # a builtin
    page.keyboard.insert_text("\n")
    complete("retu", "return")  # a keyword
    page.keyboard.insert_text("\nmy_variable.")
    page.keyboard.press("Tab")  # attributes are not completed (nor indented)
    page.wait_for_timeout(300)
    expect(menu).to_have_count(0)
    expect(editor).to_have_text(
        re.compile(r"^my_variable \+ 1HTML\(show\(plot_yards.*my_variable\.$")
    )
    expect(editor).to_contain_text("isinstancereturn")
    page.keyboard.insert_text("\ninsi")
    page.keyboard.press("Tab")  # a function's local is not the notebook's
    page.wait_for_timeout(300)
    expect(menu.locator("li", has_text="inside")).to_have_count(0)
