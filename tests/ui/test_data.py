"""The Data page: uploads with progress and drag-and-drop, previews, versions, deletion, streams."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.support.servers import Server
from tests.ui.conftest import api, shot


def _objects_table(page):
    return page.get_by_role("region", name="Objects").locator("table")


def test_upload_a_csv_with_progress_then_preview_it(page, tmp_path: Path) -> None:
    rows = [f"{i},{i % 4 + 1},{i % 23},R{i % 7}" for i in range(250_000)]
    csv = tmp_path / "plays.csv"
    csv.write_text("play_id,down,yards,receiver\n" + "\n".join(rows) + "\n")
    assert csv.stat().st_size > 3_000_000

    page.goto("/data")
    page.get_by_label("Choose files to upload").set_input_files(csv)
    name = page.get_by_label("Object name for plays.csv")
    expect(name).to_have_value("plays.csv")
    name.press("Enter")
    progress = page.get_by_role("progressbar", name="Upload of plays.csv")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_text(re.compile(r"Uploaded · 3\.\d MB · version 1"))).to_be_visible()
    expect(page.get_by_text("Uploaded plays.csv (version 1)")).to_be_visible()  # the toast

    row = _objects_table(page).get_by_role("row").filter(has_text="plays.csv")
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("CSV")
    expect(row).to_contain_text("MB")
    shot(page, "data-list")

    row.get_by_role("link", name="plays.csv").click()
    page.wait_for_url("**/data/objects/plays.csv")
    preview = page.get_by_role("region", name="Preview").locator("table")
    expect(preview.locator("thead .data-col")).to_have_text(
        ["play_id", "down", "yards", "receiver"]
    )
    expect(preview.locator("thead .data-dtype")).to_have_text(["int64", "int64", "int64", "str"])
    expect(preview.locator("tbody tr").first.get_by_role("cell")).to_have_text(
        ["1", "0", "1", "0", "R0"]
    )
    expect(page.get_by_role("region", name="Versions").locator("tbody tr")).to_have_count(1)
    shot(page, "data-object")


def test_drop_a_file_on_the_page_and_rename_it_before_upload(page, ui_server: Server) -> None:
    page.goto("/data")
    expect(_objects_table(page)).to_be_visible()
    transfer = page.evaluate_handle(
        """() => {
            const dt = new DataTransfer();
            dt.items.add(new File(["x,y\\n1,2\\n3,4\\n"], "dropped file.csv", {type: "text/csv"}));
            return dt;
        }"""
    )
    page.locator(".data-dropzone").dispatch_event("drop", {"dataTransfer": transfer})
    name = page.get_by_label("Object name for dropped file.csv")
    expect(name).to_have_value("dropped file.csv")  # a name is the file's name, spaces and all
    name.fill("bad/name")
    expect(page.get_by_text("Use up to 255 bytes of text")).to_be_visible()
    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_disabled()
    shot(page, "data-upload-staged")
    accented = "Données 2013.csv"
    name.fill(accented)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("progressbar", name=f"Upload of {accented}")).to_have_attribute(
        "aria-valuenow", "100"
    )
    link = _objects_table(page).get_by_role("link", name=accented)
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url("**/data/objects/Donn%C3%A9es%202013.csv")
    preview = page.get_by_role("region", name="Preview").locator("table")
    expect(preview.locator("thead .data-col")).to_have_text(["x", "y"])
    with api(ui_server) as client:
        assert client.get("/objects/Donn%C3%A9es%202013.csv/content").content == b"x,y\n1,2\n3,4\n"


def test_errors_show_in_place(page, ui_server: Server) -> None:
    with api(ui_server) as client:
        garbage = bytes(range(256)) * 40
        client.put("/objects/bad.csv", content=garbage).raise_for_status()
        client.put("/objects/model.bin", content=b"\x00\x01binary").raise_for_status()

    page.goto("/data/objects/bad.csv")
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("This file cannot be previewed")
    expect(preview.get_by_role("alert")).to_contain_text(re.compile(r"bad\.csv: not (valid|UTF-8)"))
    expect(preview.get_by_role("alert")).to_have_attribute("title", re.compile("malformed_data"))
    expect(page.get_by_role("region", name="Versions").locator("tbody tr")).to_have_count(1)
    shot(page, "data-object-malformed")

    page.goto("/data/objects/model.bin")
    expect(page.get_by_role("region", name="Preview")).to_contain_text(
        "No preview for this type of file"
    )

    # An upload the server refuses (413 here) shows its message beside that upload.
    def refuse(route):
        if route.request.method != "PUT":
            return route.continue_()
        return route.fulfill(
            status=413,
            content_type="application/json",
            body='{"error": {"code": "upload_too_large", "message": '
            '"upload exceeds the limit of 10 bytes; nothing was stored"}}',
        )

    page.route("**/api/v1/objects/huge.csv", refuse)
    page.goto("/data")
    page.get_by_label("Choose files to upload").set_input_files(
        {"name": "huge.csv", "mimeType": "text/csv", "buffer": b"a\n" * 1000}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator(".data-upload").filter(has_text="huge.csv")
    expect(row.get_by_role("alert")).to_contain_text("upload exceeds the limit of 10 bytes")
    expect(row.get_by_role("button", name="Retry")).to_be_visible()


def test_new_version_and_download_of_the_first(page, ui_server: Server, tmp_path: Path) -> None:
    v1, v2 = b"n,word\n1,one\n", b"n,word\n1,one\n2,two\n"
    with api(ui_server) as client:
        client.put("/objects/words.csv", content=v1).raise_for_status()
    second = tmp_path / "words-v2.csv"
    second.write_bytes(v2)

    page.goto("/data/objects/words.csv")
    versions = page.get_by_role("region", name="Versions").locator("tbody tr")
    expect(versions).to_have_count(1)
    page.get_by_label("Choose a file for a new version").set_input_files(second)
    expect(page.get_by_role("progressbar", name="Upload of words.csv")).to_have_attribute(
        "aria-valuenow", "100"
    )
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("v2")
    expect(versions.first).to_contain_text("latest")
    expect(versions.nth(1)).to_contain_text("v1")
    preview_rows = page.get_by_role("region", name="Preview").locator("tbody tr")
    expect(preview_rows).to_have_count(2)
    page.get_by_role("button", name="Preview version 1").click()
    expect(preview_rows).to_have_count(1)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download version 1").click()
    assert Path(download.value.path()).read_bytes() == v1
    assert download.value.suggested_filename == "words.csv"


def test_edit_then_delete_with_confirmation(page, ui_server: Server) -> None:
    with api(ui_server) as client:
        client.put("/objects/doomed.csv", content=b"a\n1\n").raise_for_status()

    page.goto("/data/objects/doomed.csv")
    page.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit doomed.csv")
    dialog.get_by_label("Description").fill("Scratch data")
    dialog.get_by_label("Tags").fill("scratch, nfl")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Scratch data")
    expect(details).to_contain_text("scratch")

    page.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete doomed.csv?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    with api(ui_server) as client:
        assert client.get("/objects/doomed.csv").status_code == 200

    page.get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/data$"))
    expect(_objects_table(page)).to_be_visible()
    expect(_objects_table(page).get_by_role("link", name="doomed.csv")).to_have_count(0)
    with api(ui_server) as client:
        assert client.get("/objects/doomed.csv").status_code == 404


def test_streams_replay_tail_test_message_and_invalid_uri(page, ui_server: Server) -> None:
    with api(ui_server) as client:
        client.put(
            "/objects/plays.jsonl", content=b'{"down": 1, "yards": 4}\n{"down": 2, "yards": 9}\n'
        ).raise_for_status()

    page.goto("/data")
    page.get_by_role("tab", name="Streams").click()
    page.wait_for_url("**/data/streams")
    page.get_by_role("button", name="New stream").first.click()
    dialog = page.get_by_role("dialog", name="New stream")
    dialog.get_by_label("Name").fill("plays-replay")
    dialog.get_by_label("Object").select_option("plays.jsonl")
    dialog.get_by_label("Rate").fill("5")
    dialog.get_by_label("Loop").check()
    dialog.get_by_role("button", name="Create stream").click()
    page.wait_for_url("**/data/streams/plays-replay")
    expect(page.get_by_role("heading", name="plays-replay")).to_be_visible()
    definition = page.get_by_role("region", name="Definition")
    expect(definition).to_contain_text("plays.jsonl")
    expect(definition).to_contain_text("5 messages/s")

    tail = page.get_by_role("region", name="Live tail")
    expect(tail).to_contain_text("No messages seen yet")
    send = page.get_by_role("region", name="Send a test message")
    send.get_by_label("Body").fill('{"down": 3, "yards": 12, "receiver": "slot"}')
    send.get_by_label("Headers").fill("source=ui")
    send.get_by_role("button", name="Send test message").click()
    rows = tail.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text('{"down": 3, "yards": 12, "receiver": "slot"}')
    expect(rows.first).to_contain_text("source=ui")
    expect(rows.first.locator("td").first).to_have_text(re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$"))
    # A message published elsewhere shows up by itself: the tail polls.
    with api(ui_server) as client:
        client.post("/streams/plays-replay/messages", content=b"plain text").raise_for_status()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("plain text")  # newest first
    shot(page, "stream-tail")

    # Invalid JSON is caught before sending.
    send.get_by_label("Body").fill("{not json")
    send.get_by_role("button", name="Send test message").click()
    expect(send.get_by_role("alert")).to_contain_text("Not valid JSON")

    page.get_by_role("link", name="Streams").click()
    page.wait_for_url("**/data/streams")
    listed = page.get_by_role("region", name="Streams").locator("tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("plays-replay")
    expect(listed.first).to_contain_text("Replay")
    expect(listed.first).to_contain_text("plays.jsonl at 5 msg/s, looping")
    shot(page, "data-streams")

    # A broker that cannot be reached: the server's reason shows in the form.
    page.get_by_role("button", name="New stream").first.click()
    dialog.get_by_label("Name").fill("broken")
    dialog.get_by_label("Type").select_option("amqp")
    dialog.get_by_label("URI").fill("amqp://nowhere.invalid/")
    dialog.get_by_label("Queue").fill("plays")
    dialog.get_by_role("button", name="Create stream").click()
    error = dialog.get_by_role("alert")
    expect(error).to_contain_text("cannot connect to a broker")
    expect(error).to_have_attribute("title", re.compile("invalid_stream"))
    expect(page).to_have_url(re.compile(r"/data/streams$"))
    shot(page, "stream-new-error")
    dialog.get_by_role("button", name="Cancel").click()

    # Delete, confirmed.
    listed.first.get_by_role("link", name="plays-replay").click()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/data/streams")
    expect(page.get_by_role("region", name="Streams")).to_contain_text("No streams yet")


def test_a_slow_upload_shows_its_progress_and_can_be_cancelled(
    page, ui_server: Server, tmp_path: Path
) -> None:
    big = tmp_path / "slow.csv"
    big.write_bytes(b"n\n" + b"12345\n" * 500_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_000_000},
    )
    page.goto("/data")
    page.get_by_label("Choose files to upload").set_input_files(big)
    page.get_by_role("button", name="Upload", exact=True).click()
    progress = page.get_by_role("progressbar", name="Upload of slow.csv")
    expect(progress).to_have_attribute("aria-valuenow", re.compile(r"^[1-9]\d?$"))
    expect(page.get_by_text(re.compile(r"^\d+% · [\d.]+ (KB|MB) of 2\.9 MB$"))).to_be_visible()
    shot(page, "data-upload-progress")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text(re.compile(r"Cancelled at \d+%"))).to_be_visible()
    with api(ui_server) as client:
        assert client.get("/objects/slow.csv").status_code == 404

    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.get_by_role("button", name="Retry").click()
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(_objects_table(page).get_by_role("link", name="slow.csv")).to_be_visible()
