"""The Processing page: deploy a processor from the dialog, watch its live actions and counters,
see a poison message dead-lettered with its traceback, replay it, and stop with confirmation."""

from __future__ import annotations

import re

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.ui.conftest import api, shot

START_TIMEOUT = 60_000

PLAYS = b"play,down,ydstogo,team\n" + b"".join(
    f"{i},{i % 4 + 1},{(i * 7) % 15 + 1},{'DEN' if i % 2 else 'KC'}\n".encode() for i in range(60)
)

COORDINATOR = """
from suricate import sdk

def on_message(msg):
    play = msg.body
    if play["down"] >= 3 and play["ydstogo"] >= 7:
        text = f"Play {play['play']}: 3rd and long for {play['team']}, watch the slot receiver"
    else:
        text = f"Play {play['play']}: expect a run"
    sdk.action(text, play=play["play"], down=play["down"], ydstogo=play["ydstogo"])
"""

FRAGILE = """
from suricate import sdk

def on_message(msg):
    if msg.body["bad"] == 1:
        raise ValueError(f"cannot score play {msg.body['play']}")
    sdk.action("scored", play=msg.body["play"])
"""


def _notebook(name: str, code: str) -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(code))
    return {"name": name, "kind": "processing", "notebook": dict(nbformat.from_dict(nb))}


def _arrange(server: Server) -> None:
    with api(server) as client:
        client.put("/objects/plays.csv", content=PLAYS).raise_for_status()
        lines = "".join(f'{{"play": {i}, "bad": {int(i == 5)}}}\n' for i in range(12))
        client.put("/objects/poison.jsonl", content=lines.encode()).raise_for_status()
        for body in (
            {"name": "plays", "type": "replay", "object": "plays.csv", "rate": 20, "loop": True},
            {"name": "poison", "type": "replay", "object": "poison.jsonl", "rate": 50},
        ):
            r = client.post("/streams", json=body)
            assert r.status_code == 201, r.text
        for nb in (_notebook("coordinator", COORDINATOR), _notebook("fragile", FRAGILE)):
            r = client.post("/notebooks", json=nb)
            assert r.status_code == 201, r.text
        # A processor whose setup fails.
        broken = _notebook("broken-setup", "import no_such_model_library")
        r = client.post("/notebooks", json=broken)
        assert r.status_code == 201, r.text


def _deploy(page, notebook: str, stream: str, retries: str | None = None) -> None:
    page.get_by_role("button", name="Deploy processor").click()
    dialog = page.get_by_role("dialog", name="Deploy processor")
    dialog.get_by_label("Processing notebook").select_option(label=f"{notebook} (rev 1)")
    dialog.get_by_label("Stream").select_option(value=stream)
    if retries is not None:
        dialog.get_by_label("Max retries").fill(retries)
    dialog.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(re.compile(r"/processing/[^/]+$"))


def _metric(page, name: str):
    return page.get_by_role("group", name=name, exact=True).locator(".metric-value")


def _stop(page) -> None:
    page.get_by_role("button", name="Stop").click()
    confirm = page.get_by_role("dialog", name="Stop this processor?")
    confirm.get_by_role("button", name="Stop processor").click()
    expect(page.locator(".page-head .badge")).to_have_text("stopped")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)


def test_deploy_a_processor_and_watch_its_actions_arrive_live(page, ui_server: Server) -> None:
    _arrange(ui_server)
    page.goto("/processing")
    page.get_by_text("No processors yet.").wait_for()

    # A deploy error is shown in place, in the dialog.
    page.get_by_role("button", name="Deploy processor").click()
    dialog = page.get_by_role("dialog", name="Deploy processor")
    dialog.get_by_label("Processing notebook").select_option(label="coordinator (rev 1)")
    dialog.get_by_label("Stream").select_option(value="plays")
    expect(dialog).to_contain_text("replay of plays.csv at 20/s, looping")
    dialog.get_by_label("Replicas").fill("0")
    dialog.get_by_role("button", name="Deploy", exact=True).click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    dialog.get_by_label("Replicas").fill("1")
    shot(page, "processor-deploy")
    dialog.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(re.compile(r"/processing/[^/]+$"))

    # Actions arrive in the live feed, newest on top, with their data as key: value.
    expect(page.locator(".page-head .badge")).to_have_text("running", timeout=START_TIMEOUT)
    expect(page.locator(".feed-state")).to_contain_text("Live")
    items = page.get_by_role("list", name="Actions, newest first").get_by_role("listitem")
    items.nth(2).wait_for(timeout=START_TIMEOUT)
    expect(items.first.locator(".kv-chip").first).to_contain_text(re.compile(r"play:\s*\d+"))
    plays = [int(re.search(r"Play (\d+)", t).group(1)) for t in items.all_inner_texts()[:3]]
    assert plays == sorted(plays, reverse=True), plays

    # The counters rise by themselves (polled), and throughput shows.
    processed = _metric(page, "Processed")
    before = int(processed.inner_text().replace(",", ""))
    expect(processed).not_to_have_text(str(before))
    assert int(_metric(page, "Received").inner_text().replace(",", "")) >= before
    expect(page.get_by_role("group", name="Throughput").locator(".metric-value")).to_contain_text(
        "msg/s"
    )
    expect(page.get_by_role("group", name="Dead-lettered").locator(".metric-value")).to_have_text(
        "0"
    )
    items.nth(8).wait_for()
    expect(page.get_by_role("img", name="Recent throughput")).to_be_visible()
    shot(page, "processor")

    # The list shows it running with its counters.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Processing").click()
    row = page.locator(".proc-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("coordinator")
    expect(row).to_contain_text("plays")
    expect(row.locator(".badge")).to_have_text("running")
    expect(row.locator(".sparkline polyline").first).to_be_attached()
    shot(page, "processing-list")
    row.get_by_role("link", name="coordinator").click()
    page.wait_for_url(re.compile(r"/processing/[^/]+$"))

    # Stop asks first; cancelling keeps it running.
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog", name="Stop this processor?").get_by_role(
        "button", name="Cancel"
    ).click()
    expect(page.locator(".page-head .badge")).to_have_text("running")
    _stop(page)


def test_a_poison_message_is_dead_lettered_with_its_traceback_and_replayed(
    page, ui_server: Server
) -> None:
    page.goto("/processing")
    _deploy(page, "fragile", "poison", retries="0")
    expect(_metric(page, "Dead-lettered")).to_have_text("1", timeout=START_TIMEOUT)
    expect(_metric(page, "Processed")).to_have_text("11")
    expect(page.get_by_role("group", name="Failed").locator(".metric-value")).to_have_text("1")

    page.get_by_role("tab", name="Dead letters (1)").click()
    letters = page.locator(".dl-table tbody tr")
    expect(letters).to_have_count(1)
    expect(letters).to_contain_text('"play": 5')
    expect(letters).to_contain_text("ValueError: cannot score play 5")
    letters.get_by_role("button", name="Traceback").click()
    traceback = page.locator(".dl-traceback")
    expect(traceback).to_contain_text("raise ValueError")
    expect(traceback).to_contain_text("on_message")

    # Replaying hands it back to the (unchanged) processor: the UI says so, and it fails again.
    page.get_by_role("button", name="Replay dead letters").click()
    replayed = page.get_by_role("status").filter(has_text="dead letter")  # not the notices'
    expect(replayed).to_contain_text("1 dead letter handed back")
    expect(page.locator(".dl-table tbody tr").first.locator(".badge")).to_have_text(
        "dead", timeout=30_000
    )
    expect(page.get_by_role("group", name="Failed").locator(".metric-value")).to_have_text("2")
    shot(page, "processor-dead-letters")
    _stop(page)
    page.get_by_role("tab", name=re.compile("Dead letters")).click()
    expect(page.get_by_role("button", name="Replay dead letters")).to_be_disabled()


def test_a_processor_whose_setup_fails_shows_the_error_readably(page, ui_server: Server) -> None:
    page.goto("/processing")
    _deploy(page, "broken-setup", "plays")
    failure = page.locator(".proc-failure")
    expect(failure).to_contain_text(
        "ModuleNotFoundError: No module named 'no_such_model_library'", timeout=START_TIMEOUT
    )
    expect(failure).to_contain_text("setup cell 1")
    expect(failure.locator(".proc-traceback")).to_contain_text("import no_such_model_library")
    expect(page.locator(".page-head .badge")).to_have_text("failed")
    shot(page, "processor-failed")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Processing").click()
    failed = page.locator(".proc-table tbody tr").filter(has_text="broken-setup")
    expect(failed.locator(".badge")).to_have_text("failed")
