"""The Models page: the list, a model's versions with the best metrics highlighted, moving an
alias, rolling it back and deleting it, a version's lineage and the actions made with it; a
schedule that fires when data changes, made from the Runs page's dialog."""

from __future__ import annotations

import json
import re

import nbformat
from playwright.sync_api import expect

from tests.support.servers import Server
from tests.ui.conftest import api, shot

MODEL = "nfl-tendencies"
ADVICE = "advice"
SIZES = {"laptop": (1366, 850), "desktop": (1920, 1080)}


def _log_version(client, metrics: dict, params: dict, lineage: dict, name: str = MODEL) -> int:
    meta = {"metrics": metrics, "params": params, "lineage": lineage}
    r = client.post(
        f"/models/{name}/versions",
        data={"flavor": "json", "meta": json.dumps(meta)},
        files={
            "artifact": ("model.json", json.dumps({"pass_rate": 0.58}).encode(), "application/json")
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["version"])


def _arrange(server: Server) -> None:
    with api(server) as client:
        client.put(
            "/objects/plays.csv", content=b"down,ydstogo,is_pass\n3,8,1\n1,10,0\n"
        ).raise_for_status()
        lineage = {"objects": [{"name": "plays.csv", "version": 1}]}
        for metrics, params in (
            ({"brier": 0.21, "accuracy": 0.64}, {"window": 4}),
            ({"brier": 0.19, "accuracy": 0.61}, {"window": 8}),
            ({"brier": 0.2, "accuracy": 0.62}, {"window": 12}),
        ):
            _log_version(client, metrics, params, lineage)
        r = client.put(f"/models/{MODEL}/aliases/champion", json={"version": 2})
        assert r.status_code == 200, r.text
        r = client.post(
            "/actions",
            json={"text": "Expect a pass", "data": {"down": 3, "p": 0.71}, "models": {MODEL: 1}},
        )
        assert r.status_code == 201, r.text


def _shots(page, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"{name}-{size}")


def test_models_list_versions_aliases_and_lineage(page, ui_server: Server) -> None:
    _arrange(ui_server)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.wait_for_url("**/models")
    row = page.locator(".model-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(MODEL)
    expect(row).to_contain_text("v3")
    expect(row.locator(".alias-chip")).to_have_text("champion v2")
    _shots(page, "models")

    row.get_by_role("link", name=MODEL).click()
    page.wait_for_url(f"**/models/{MODEL}")
    versions = page.locator(".version-table tbody tr")
    expect(versions).to_have_count(3)
    expect(versions.nth(0)).to_contain_text("v3")  # newest first
    expect(versions.nth(2)).to_contain_text("window=4")
    # brier is better lower (v2), accuracy higher (v1)
    expect(versions.nth(1).locator(".metric-best")).to_have_text(re.compile("0.19"))
    expect(versions.nth(2).locator(".metric-best")).to_have_text(re.compile("0.64"))
    expect(versions.nth(1)).to_contain_text("champion")
    _shots(page, "model")

    # Move the alias to v3, then roll it back in one click (to v2, the next lower version).
    aliases = page.get_by_role("region", name="Aliases")
    aliases.get_by_role("button", name="Move champion").click()
    dialog = page.get_by_role("dialog", name="Move champion")
    dialog.get_by_label("Version").select_option("3")
    dialog.get_by_role("button", name="Move alias").click()
    expect(dialog).to_be_hidden()
    champion = aliases.get_by_role("listitem", name="Alias champion")
    expect(champion).to_contain_text("v3")
    expect(versions.nth(0)).to_contain_text("champion")
    with api(ui_server) as client:
        assert client.get(f"/models/{MODEL}").json()["aliases"] == {"champion": 3}
    champion.get_by_role("button", name="Roll back champion to v2").click()
    expect(champion).to_contain_text("v2")
    expect(champion.get_by_role("button", name="Roll back champion to v1")).to_be_visible()
    with api(ui_server) as client:
        assert client.get(f"/models/{MODEL}").json()["aliases"] == {"champion": 2}

    # v1's lineage and the action made with it.
    versions.nth(2).get_by_role("button", name="Show version 1").click()
    detail = page.get_by_role("region", name="Version 1")
    expect(detail.get_by_role("link", name="plays.csv")).to_have_attribute(
        "href", "/data/objects/plays.csv?version=1"
    )
    made = detail.get_by_role("region", name="Actions made with v1")
    expect(made).to_contain_text("Expect a pass")
    expect(made.locator(".data-count")).to_have_text("1")
    expect(made.get_by_role("link", name=re.compile("model_version=1"))).to_be_visible()
    assert page.url.endswith("#v1")
    _shots(page, "model-version")

    # A link to a version (an action's model chip) opens it.
    page.goto(f"/models/{MODEL}#v2")
    expect(page.get_by_role("region", name="Version 2")).to_be_visible()
    expect(
        page.get_by_role("region", name="Actions made with v2").get_by_text("No action was made")
    ).to_be_visible()

    # The lineage's link previews that version of the object.
    page.get_by_role("region", name="Version 2").get_by_role("link", name="plays.csv").click()
    page.wait_for_url("**/data/objects/plays.csv?version=1")

    # Delete the alias, after saying yes.
    page.goto(f"/models/{MODEL}")
    aliases.get_by_role("button", name="Delete alias champion").click()
    confirm = page.get_by_role("dialog", name="Delete alias champion?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(champion).to_be_visible()
    aliases.get_by_role("button", name="Delete alias champion").click()
    confirm.get_by_role("button", name="Delete alias").click()
    expect(aliases.get_by_text("No aliases.")).to_be_visible()
    with api(ui_server) as client:
        assert client.get(f"/models/{MODEL}").json()["aliases"] == {}


def test_a_schedule_that_fires_when_data_changes(page, ui_server: Server) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("trigger = {}"))
    with api(ui_server) as client:
        r = client.post(
            "/notebooks", json={"name": "retrain", "notebook": dict(nbformat.from_dict(nb))}
        )
        assert r.status_code == 201, r.text

    page.goto("/runs?tab=schedules")
    for trigger in ("object", "model"):
        page.get_by_role("button", name="New schedule").click()
        dialog = page.get_by_role("dialog", name="New schedule")
        dialog.get_by_label("Notebook").select_option(label="retrain")
        dialog.get_by_role("radio", name="When data changes").check()
        if trigger == "object":
            dialog.get_by_label("Object", exact=True).fill("nfl-live-plays.jsonl")
            dialog.get_by_label("Rows (optional)").fill("500")
            expect(dialog).to_contain_text("Runs when nfl-live-plays.jsonl gains 500 rows")
            _shots(page, "schedule-trigger-dialog")
        else:
            dialog.get_by_role("radio", name="A model's alias").check()
            dialog.get_by_label("Model", exact=True).fill("advice")
            dialog.get_by_label("Alias", exact=True).fill("champion")
        dialog.get_by_role("button", name="Create schedule").click()
        expect(dialog).to_be_hidden()

    rows = page.locator(".schedule-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="when nfl-live-plays.jsonl gains 500 rows")).to_have_count(1)
    expect(rows.filter(has_text="when advice@champion moves")).to_have_count(1)
    _shots(page, "schedules-triggers")
    with api(ui_server) as client:
        triggers = [s["trigger"] for s in client.get("/schedules").json()["items"]]
    assert {"object": "nfl-live-plays.jsonl", "rows": 500} in [
        {k: v for k, v in t.items() if v is not None} for t in triggers
    ]


def test_an_action_links_the_model_versions_it_was_made_with(page, ui_server: Server) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("def on_message(msg):\n    pass"))
    with api(ui_server) as client:
        for brier in (0.2, 0.18):
            _log_version(client, {"brier": brier}, {}, {}, name=ADVICE)
        client.put("/objects/calls.jsonl", content=b'{"play": 1}\n').raise_for_status()
        r = client.post(
            "/streams", json={"name": "calls", "type": "replay", "object": "calls.jsonl"}
        )
        assert r.status_code == 201, r.text
        r = client.post(
            "/notebooks",
            json={
                "name": "advisor",
                "kind": "processing",
                "notebook": dict(nbformat.from_dict(nb)),
            },
        )
        assert r.status_code == 201, r.text
        r = client.post("/processors", json={"notebook_id": r.json()["id"], "stream": "calls"})
        assert r.status_code == 201, r.text
        processor = r.json()["id"]
        # What a handler's sdk.action records with a model loaded in its kernel.
        for version, text in ((1, "Expect a run"), (2, "Expect a pass")):
            r = client.post(
                "/actions",
                json={"text": text, "processor_id": processor, "models": {ADVICE: version}},
            )
            assert r.status_code == 201, r.text
    try:
        page.goto(f"/processing/{processor}")
        feed = page.get_by_role("list", name="Actions, newest first")
        newest = feed.get_by_role("listitem").first
        expect(newest).to_contain_text("Expect a pass")
        expect(newest.get_by_role("link", name=f"{ADVICE} v2")).to_have_attribute(
            "href", f"/models/{ADVICE}#v2"
        )
        in_use = page.get_by_label("Models in use")
        expect(in_use.get_by_role("link", name=f"{ADVICE} v2")).to_be_visible()
        _shots(page, "processor-models")
        newest.get_by_role("link", name=f"{ADVICE} v2").click()
        page.wait_for_url(f"**/models/{ADVICE}#v2")
        made = page.get_by_role("region", name="Actions made with v2")
        expect(made).to_contain_text("Expect a pass")
        expect(made.get_by_role("link", name=re.compile("processor"))).to_have_attribute(
            "href", f"/processing/{processor}"
        )
    finally:
        with api(ui_server) as client:
            client.delete(f"/processors/{processor}")


ADVISOR = """
from suricate import sdk
m = sdk.load_model("pass-model@champion")
def on_message(msg):
    p = m["p"]
    sdk.metric("loss", (p - msg.body["y"]) ** 2)
    sdk.action("pass" if p > 0.5 else "run", play=msg.body["play"], p=p)
"""


def test_a_challenger_in_shadow_on_the_processor_page(page, ui_server: Server) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(ADVISOR))
    plays = b"play,y\n" + b"".join(f"{i},1\n".encode() for i in range(100_000))
    with api(ui_server) as client:
        for p in (0.3, 0.4, 0.8):
            r = client.post(
                "/models/pass-model/versions",
                data={"flavor": "json", "meta": "{}"},
                files={"artifact": ("m.json", json.dumps({"p": p}).encode())},
            )
            assert r.status_code == 201, r.text
        client.put("/models/pass-model/aliases/champion", json={"version": 1})
        client.put("/models/pass-model/aliases/challenger", json={"version": 2})
        client.put("/objects/downs.csv", content=plays).raise_for_status()
        stream = {"name": "downs", "type": "replay", "object": "downs.csv", "rate": 50}
        assert client.post("/streams", json=stream).status_code == 201
        r = client.post(
            "/notebooks",
            json={"name": "pass-advisor", "kind": "processing", "notebook": dict(nb)},
        )
        assert r.status_code == 201, r.text
        shadow = {"model": "pass-model", "policy": {"metric": "loss", "window": 100}}
        body = {"notebook_id": r.json()["id"], "stream": "downs", "shadow": shadow}
        r = client.post("/processors", json=body)
        assert r.status_code == 201, r.text
        processor = r.json()["id"]
    try:
        page.goto(f"/processing/{processor}")
        panel = page.get_by_label("Challenger in shadow")
        # Version 2 (p=0.4) loses less than version 1 (p=0.3): the policy promotes it.
        decisions = panel.get_by_role("list", name="Promotion decisions, newest first")
        expect(decisions).to_contain_text("promoted", timeout=60_000)
        expect(decisions).to_contain_text("loss: challenger 0.36, champion 0.49")
        metrics = page.get_by_role("table", name="Metrics by model version")
        expect(metrics).to_contain_text("pass-model v1")
        expect(metrics).to_contain_text("0.4900")
        # A new challenger, compared by hand: agreement shows as it goes. Promotion goes to
        # "by hand" first, so that the metric policy cannot promote the new one meanwhile.
        panel.get_by_role("button", name="Change").click()
        panel.get_by_role("button", name="Run in shadow").click()
        expect(panel).to_contain_text("Promotion: by hand")
        with api(ui_server) as client:
            client.put("/models/pass-model/aliases/challenger", json={"version": 3})
        expect(panel).to_contain_text("pass-model v3", timeout=60_000)
        expect(panel.get_by_text(re.compile(r"of [1-9][\d,]* compared"))).to_be_visible(
            timeout=60_000
        )
        expect(panel).to_contain_text("0%")  # v2 says run, v3 says pass: they never agree
        page.get_by_role("tab", name="Shadow actions").click()
        shadow_feed = page.get_by_role("list", name="Shadow actions, newest first")
        expect(shadow_feed.get_by_role("listitem").first).to_contain_text("pass")
        expect(shadow_feed.get_by_role("link", name="pass-model v3").first).to_have_attribute(
            "href", "/models/pass-model#v3"
        )
        _shots(page, "processor-shadow")
        panel.get_by_role("button", name="Promote v3").click()
        expect(page.get_by_text("pass-model v3 is the champion")).to_be_visible()
        with api(ui_server) as client:
            assert client.get("/models/pass-model").json()["aliases"]["champion"] == 3
    finally:
        with api(ui_server) as client:
            client.delete(f"/processors/{processor}")
