"""The care extension of the console (static/ext/care.js) in headless Chromium."""

from __future__ import annotations

from typing import Any

from dispatch.auth.models import PartnerCredentials, Role
from dispatch.clock import FrozenClock
from tests.console.test_browser import open_console, pages
from tests.helpers import make_alert
from tests.live.conftest import server
from tests.live.support import LiveServer, api, login, post_alert

__all__ = ["pages", "server"]


def test_close_with_outcome_then_record_the_check_in(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: dict[str, tuple[Role, str | None]],
    partner: PartnerCredentials,
    clock: FrozenClock,
) -> None:
    page = open_console(browser, pages, server, "sho_jsw")
    alert_id = post_alert(server.http, partner, make_alert())
    page.goto(f"{server.http}/#/alerts/{alert_id}")
    page.wait_for_selector("form.care-close select[name='outcome']", timeout=5000)
    page.click("form.care-close button[type='submit']")  # no outcome: the browser refuses
    page.select_option("form.care-close select[name='outcome']", "hospitalised")
    page.fill("form.care-close input[name='attended_by']", "SI Yadav, HC Sunil")
    page.click("form.care-close button[type='submit']")
    page.wait_for_selector("#detail-status.status-closed", timeout=5000)
    token = login(server.http, "sho_jsw")
    detail = api(server.http, token, "GET", f"/api/v1/alerts/{alert_id}").json()
    assert (detail["status"], detail["outcome"]) == ("closed", "hospitalised")

    clock.advance(hours=25)
    page.click("#nav a[data-route='followups']")
    page.wait_for_selector(".care-followups li.overdue", timeout=5000)
    page.check(".care-followups input[name='contact_made']")
    page.fill(".care-followups input[name='person_state']", "calm")
    page.click(".care-followups button[type='submit']")
    page.wait_for_selector(".care-followups", state="detached", timeout=5000)
    assert api(server.http, token, "GET", "/api/v1/followups?due=1").json() == []
    assert page.js_errors == []
