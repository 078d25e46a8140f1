"""The supervisors' review page in headless Chromium: it reads the review API with the
console's sign-in and draws the league table and the slowest alerts, linked to the console."""

from __future__ import annotations

from typing import Any

from dispatch.auth.models import PartnerCredentials, Role
from tests.console.test_browser import open_console, pages
from tests.helpers import make_alert
from tests.live.conftest import server
from tests.live.support import LiveServer, api, login, post_alert

__all__ = ["pages", "server"]


def test_supervisor_sees_the_league_and_the_slowest_alert(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: dict[str, tuple[Role, str | None]],
    partner: PartnerCredentials,
) -> None:
    alert_id = post_alert(server.http, partner, make_alert())
    token = login(server.http, "sho_jsw")
    assert api(server.http, token, "POST", f"/api/v1/alerts/{alert_id}/ack").status_code == 200

    page = open_console(browser, pages, server, "supervisor")  # signs in; /review shares it
    page.goto(f"{server.http}/review")
    page.wait_for_selector("#review:not([hidden])", timeout=5000)
    page.wait_for_selector("#league tr >> text=ETW-JASWANTNAGAR", timeout=5000)
    link = page.locator(f"#slowest a[href='/#/alerts/{alert_id}']")
    assert link.count() == 1
    assert page.locator("#histogram svg").count() == 1
    assert page.js_errors == []
