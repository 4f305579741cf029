"""The server's notices (the demo loading) as a banner on every page: its progress while it
lasts, its text alone when it counts nothing, and gone once the server has none."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.ui.conftest import shot


def test_a_notice_shows_its_progress_on_every_page_until_it_is_cleared(page) -> None:
    # The server's notices come from the demo's set-up; here the test says what they are.
    notices: list[dict] = [
        {"id": "demo", "text": "loading the demo: 120 of 332 games", "done": 120, "total": 332}
    ]
    page.route(
        "**/api/v1/notices",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"items": notices})
        ),
    )
    page.goto("/")
    banner = page.get_by_role("status", name="Server notices")
    expect(banner).to_contain_text("loading the demo: 120 of 332 games")
    bar = banner.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "120")
    expect(bar).to_have_attribute("aria-valuemax", "332")
    expect(banner).to_contain_text("36%")
    shot(page, "notice-overview")

    # On another page too, and updated while it lasts (polled every 2 s).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    notices[0] = {
        "id": "demo",
        "text": "loading the demo: 300 of 332 games",
        "done": 300,
        "total": 332,
    }
    expect(banner).to_contain_text("300 of 332", timeout=5_000)
    expect(bar).to_have_attribute("aria-valuenow", "300")

    # A notice that counts nothing has no bar.
    notices[0] = {"id": "demo", "text": "running the demo notebooks", "done": None, "total": None}
    expect(banner).to_contain_text("running the demo notebooks", timeout=5_000)
    expect(bar).to_have_count(0)

    # None left: the banner is gone.
    notices.clear()
    expect(banner).to_have_text("", timeout=5_000)
    assert banner.bounding_box() is None or banner.bounding_box()["height"] == 0
