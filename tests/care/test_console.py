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


def test_counselling_is_logged_from_the_alert_page_in_hindi_too(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: dict[str, tuple[Role, str | None]],
    partner: PartnerCredentials,
) -> None:
    # Counselling follows the rescue, often after closing: the SHO logs it on the alert page.
    page = open_console(browser, pages, server, "sho_jsw")
    alert_id = post_alert(server.http, partner, make_alert())
    token = login(server.http, "sho_jsw")
    close = {"outcome": "found_safe_counselled"}
    assert api(
        server.http, token, "POST", f"/api/v1/alerts/{alert_id}/close", json=close
    ).is_success
    page.goto(f"{server.http}/#/alerts/{alert_id}")
    page.wait_for_selector(".care-counselling-list li.muted", timeout=5000)  # none yet
    page.select_option("form.care-counsel select[name='recipient']", "family")
    page.select_option("form.care-counsel select[name='by']", "tele_manas_14416")
    page.fill("form.care-counsel textarea[name='notes']", "Mother referred; call booked")
    page.click("form.care-counsel button[type='submit']")
    page.wait_for_selector(".care-counselling-list li[data-by='tele_manas_14416']", timeout=5000)
    assert "Tele-MANAS 14416" in page.inner_text(".care-counselling-list")
    (entry,) = api(server.http, token, "GET", f"/api/v1/alerts/{alert_id}/counselling").json()
    assert (entry["recipient"], entry["by"]) == ("family", "tele_manas_14416")
    assert entry["recorded_by"] == "user:sho_jsw"
    # A bad entry is refused with the server's reason, and nothing is added.
    page.fill("form.care-counsel input[name='at']", "2099-01-01T10:00")  # the future
    page.click("form.care-counsel button[type='submit']")
    page.wait_for_selector("form.care-counsel .error:not(:empty)", timeout=5000)
    assert len(api(server.http, token, "GET", f"/api/v1/alerts/{alert_id}/counselling").json()) == 1
    # In Hindi.
    page.click("#lang")
    page.wait_for_selector(".care-counselling h3:text-is('परामर्श')", timeout=5000)
    assert "टेली-मानस 14416" in page.inner_text(".care-counselling-list")
    assert page.js_errors == []
