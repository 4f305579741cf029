"""Login, the overview tiles, the tenant switcher, logout and the cookie session's CSRF guard."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.support import PASSWORD
from tests.support.servers import Server
from tests.ui.conftest import api, shot


def test_login_overview_tenant_switch_and_logout(browser, ui_server: Server) -> None:
    context = browser.new_context(base_url=ui_server.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with api(ui_server) as client:
        client.put("/objects/hello.csv", content=b"a,b\n1,2\n").raise_for_status()

    page.goto("/data")
    page.wait_for_url("**/login?next=%2Fdata")
    page.get_by_label("User").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="wrong user name or password").wait_for()
    shot(page, "login-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/data")

    page.get_by_role("link", name="Overview").click()
    tiles = page.locator(".tile")
    tiles.first.wait_for()
    assert tiles.count() == 4
    assert "1object" in tiles.nth(0).inner_text().replace("\n", "").replace(" ", "")
    page.get_by_text("hello.csv v1 uploaded").wait_for()
    shot(page, "overview")

    # The other tenant has nothing; switching shows its empty overview.
    page.get_by_label("Tenant").select_option("beta")
    page.get_by_text("Nothing yet").wait_for()
    assert "0objects" in tiles.nth(0).inner_text().replace("\n", "").replace(" ", "")
    page.get_by_label("Tenant").select_option("acme")
    page.get_by_text("hello.csv v1 uploaded").wait_for()

    # The header tells the tenant from the user; logging out is in the user's menu.
    expect(page.locator(".tenant-name")).to_contain_text("Tenant")
    page.get_by_role("button", name="Signed in as alice").click()
    expect(page.get_by_text("owner in acme")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login**")
    page.goto("/")
    page.wait_for_url("**/login**")
    context.close()
    assert not errors


def test_cookie_session_needs_csrf_token_to_change_anything(ui_server: Server) -> None:
    with httpx.Client(base_url=ui_server.url + "/api/v1") as client:
        login = client.post("/auth/login", json={"user": "alice", "password": PASSWORD})
        assert login.status_code == 200
        assert "httponly" in login.headers["set-cookie"].lower()
        csrf = login.json()["csrf_token"]
        assert client.get("/me").json()["user"] == "alice"
        # A write without the token (what a cross-site form would send) is refused, and nothing
        # is stored.
        refused = client.put("/objects/forged.csv", content=b"x\n1\n")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
        assert client.get("/objects/forged.csv").status_code == 404
        wrong = client.put(
            "/objects/forged.csv", content=b"x\n1\n", headers={"X-CSRF-Token": "0" * 64}
        )
        assert wrong.status_code == 403
        ok = client.put("/objects/ok.csv", content=b"x\n1\n", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201, ok.text
        # The tenant cookie picks the tenant; a tenant the user is not in is 404.
        client.cookies.set("suricate_tenant", "beta")
        assert client.get("/me").json()["tenant"] == "beta"
        client.cookies.set("suricate_tenant", "nope")
        assert client.get("/me").status_code == 404
        client.cookies.set("suricate_tenant", "acme")
        assert client.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        # The session token is revoked, not merely forgotten by the browser.
        client.cookies.set("suricate_session", login.cookies["suricate_session"])
        assert client.get("/me").status_code == 401


def test_pages_carry_a_strict_content_security_policy(ui_server: Server) -> None:
    page = httpx.get(ui_server.url + "/notebooks/anything")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert httpx.get(ui_server.url + "/nowhere").status_code == 404
    assert httpx.get(ui_server.url + "/api/v1/nowhere").status_code == 404
