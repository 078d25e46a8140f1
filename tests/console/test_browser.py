"""The web console in real headless Chromium against a real uvicorn server."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from dispatch.auth.models import PartnerCredentials, Role
from dispatch.console import router as console_router
from tests.console.conftest import PASSWORD
from tests.helpers import JASWANTNAGAR_ID, make_alert
from tests.live.support import LiveServer, api, login, post_alert

Users = dict[str, tuple[Role, str | None]]


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    """Browser contexts opened by a test, closed after it; each page reports JS errors."""
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


def open_console(
    browser: Any, pages: list[Any], server: LiveServer, username: str, **context: Any
) -> Any:
    """A fresh browser context signed in as `username`, with the live list loaded."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    pages.append(page)
    page.goto(server.http + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#conn[data-state='live']", timeout=5000)
    page.wait_for_selector("body[data-loaded='true']", timeout=5000)
    return page


def row(alert_id: int, status: str | None = None) -> str:
    """The selector of an alert's row in the live list."""
    extra = f"[data-status='{status}']" if status else ""
    return f"li.alert-row[data-id='{alert_id}']{extra}"


def test_sho_sees_alert_within_a_second_acknowledges_and_the_cell_sees_it_live(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    sho = open_console(browser, pages, server, "sho_jsw")
    cell = open_console(browser, pages, server, "cell")
    assert sho.get_attribute("body", "data-alarm") == "off"

    alert_id = post_alert(server.http, partner, make_alert())
    posted = time.monotonic()
    sho.wait_for_selector(row(alert_id, "new"), timeout=1000)
    assert time.monotonic() - posted < 1.0
    cell.wait_for_selector(row(alert_id, "new"), timeout=2000)

    # The alarm: banner, flashing row, the sound loop running until acknowledged.
    assert sho.is_visible("#alarm")
    assert sho.get_attribute("body", "data-alarm") == "on"
    assert "flash" in (sho.get_attribute(row(alert_id), "class") or "")
    assert sho.evaluate("window.Dispatch.alarm.ringing") is True

    sho.click(f"{row(alert_id)} a")
    sho.wait_for_selector(f"#detail[data-id='{alert_id}'][data-status='new']", timeout=5000)
    sho.wait_for_selector("#map svg.map", timeout=5000)
    assert sho.locator(f"#map path.area.own[data-station-id='{JASWANTNAGAR_ID}']").count() == 1
    assert sho.locator("#map circle.pos").count() == 1
    assert sho.locator("#map circle.accuracy").count() == 1
    assert "Ravi Kumar" in sho.inner_text(".person")  # the subject (an audited view)
    assert "farewell message" in sho.inner_text(".content")
    assert sho.locator("#timeline li[data-type='alert.created']").count() == 1

    sho.click("#ack")
    sho.wait_for_selector(f"#detail[data-id='{alert_id}'][data-status='acknowledged']")
    sho.wait_for_selector(row(alert_id, "acknowledged"))
    sho.wait_for_selector("#timeline li[data-type='alert.acknowledged']")
    assert sho.get_attribute("body", "data-alarm") == "off"
    assert not sho.is_visible("#alarm")
    assert sho.evaluate("window.Dispatch.alarm.ringing") is False
    assert sho.locator("#ack").count() == 0

    # The state cell sees the acknowledgement live, without reloading.
    cell.wait_for_selector(row(alert_id, "acknowledged"), timeout=2000)
    assert cell.get_attribute("body", "data-alarm") == "off"

    # Dispatch a team (the form asks for it), then a note; both reach the timeline.
    sho.click("button.status-btn[data-status='dispatched']")
    sho.fill("#dispatch-form input[name='team']", "PRV 112 team 4")
    sho.fill("#dispatch-form input[name='vehicle']", "UP75 1234")
    sho.click("#dispatch-form button[type='submit']")
    sho.wait_for_selector("#detail[data-status='dispatched']")
    sho.click("button.status-btn[data-status='en_route']")
    sho.wait_for_selector("#detail[data-status='en_route']")
    assert sho.is_disabled("button.status-btn[data-status='dispatched']")
    sho.fill("#note-form textarea", "Team leaving the station now")
    sho.click("#note-form button")
    sho.wait_for_selector("#timeline li[data-type='alert.note']")
    assert "Team leaving the station now" in sho.inner_text("#timeline")
    cell.wait_for_selector(row(alert_id, "en_route"), timeout=2000)

    token = login(server.http, "cell")
    detail = api(server.http, token, "GET", f"/api/v1/alerts/{alert_id}").json()
    assert detail["status"] == "en_route"
    assert detail["acknowledged_by"] == "user:sho_jsw"
    assert detail["team"] == "PRV 112 team 4"
    assert sho.js_errors == [] and cell.js_errors == []


def test_a_new_location_moves_the_point_on_the_open_map(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    from tests.live.support import signed

    sho = open_console(browser, pages, server, "sho_jsw")
    alert_id = post_alert(server.http, partner, make_alert())
    sho.wait_for_selector(row(alert_id), timeout=5000)
    sho.goto(f"{server.http}/#/alerts/{alert_id}")
    sho.wait_for_selector("#map circle.pos", timeout=5000)
    before = sho.get_attribute("#map circle.pos", "cx")
    signed(
        server.http,
        f"/api/v1/alerts/{alert_id}/signals",
        partner,
        {"location": {"lat": 26.862, "lon": 78.893, "accuracy_m": 40, "source": "gps"}},
    )
    sho.wait_for_selector("#timeline li[data-type='alert.signal']", timeout=2000)
    sho.wait_for_function(
        "before => document.querySelector('#map circle.pos').getAttribute('cx') !== before",
        arg=before,
        timeout=2000,
    )
    assert "26.86200" in sho.inner_text(".detail-head")
    assert sho.js_errors == []


def test_reconnect_replays_what_was_missed(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    sho = open_console(browser, pages, server, "sho_jsw")
    # Drop the socket and hold the reconnection while an alert arrives.
    sho.evaluate("() => { const c = window.Dispatch.live; c.stopped = true; c.ws.close(); }")
    sho.wait_for_selector("#conn[data-state='reconnecting']", timeout=3000)
    alert_id = post_alert(server.http, partner, make_alert())
    time.sleep(0.3)
    assert sho.locator(row(alert_id)).count() == 0
    sho.evaluate("() => { const c = window.Dispatch.live; c.stopped = false; c.connect(); }")
    sho.wait_for_selector("#conn[data-state='live']", timeout=3000)
    sho.wait_for_selector(row(alert_id, "new"), timeout=2000)
    assert sho.locator("li.alert-row").count() == 1
    assert sho.js_errors == []


def test_hindi_toggle_changes_the_labels(
    browser: Any, pages: list[Any], server: LiveServer, users: Users
) -> None:
    page = open_console(browser, pages, server, "sho_jsw")
    assert page.inner_text("#nav a[data-route='alerts']") == "Alerts"
    assert page.inner_text("#conn") == "Live"
    page.click("#lang")
    page.wait_for_selector("html[lang='hi']")
    assert page.inner_text("#nav a[data-route='alerts']") == "अलर्ट"
    assert page.inner_text("#conn") == "लाइव"
    assert page.inner_text("#list h2").startswith("खुले अलर्ट")
    assert page.inner_text("#lang") == "English"
    assert page.inner_text("#logout") == "साइन आउट"
    # The choice is remembered, including on the sign-in page.
    page.click("#logout")
    assert page.inner_text("#login h1") == "साइन इन"
    page.click("#lang")
    assert page.inner_text("#login h1") == "Sign in"
    assert page.js_errors == []


def test_operator_enters_an_alert_by_hand_and_assigns_it_from_the_queue(
    browser: Any, pages: list[Any], server: LiveServer, users: Users
) -> None:
    sho = open_console(browser, pages, server, "sho_jsw")
    assert sho.locator("#nav a[data-route='intake']").count() == 0
    cell = open_console(browser, pages, server, "cell")
    cell.click("#nav a[data-route='intake']")
    cell.wait_for_selector("#intake-form")
    cell.select_option("#intake-form select[name='category']", "self_harm")
    cell.fill("#intake-form input[name='reported_by']", "Caller on 112, brother")
    cell.fill("#intake-form input[name='name']", "Sunil Yadav")
    cell.fill("#intake-form textarea[name='text']", "Said he will hurt himself tonight")
    cell.fill("#intake-form input[name='address']", "somewhere near the canal")
    cell.click("#intake-form button[type='submit']")
    cell.wait_for_selector("#intake-result .ok", timeout=5000)
    text = cell.inner_text("#intake-result")
    alert_id = int(text.split("#")[1].split(" ")[0])
    cell.wait_for_selector(row(alert_id, "new"), timeout=2000)

    cell.click("#nav a[data-route='queue']")
    queue_row = f"#queue li[data-id='{alert_id}']"
    cell.wait_for_selector(queue_row, timeout=5000)
    cell.wait_for_selector(f"{queue_row} option[value='{JASWANTNAGAR_ID}']", state="attached")
    cell.select_option(f"{queue_row} select", JASWANTNAGAR_ID)
    cell.fill(f"{queue_row} input[name='reason']", "caller named the village")
    cell.click(f"{queue_row} button[type='submit']")
    cell.wait_for_selector(queue_row, state="detached", timeout=5000)
    assert "Jaswantnagar" in cell.inner_text(row(alert_id))

    # The station's console gets the assigned alert live, with its alarm.
    sho.wait_for_selector(row(alert_id, "new"), timeout=2000)
    assert sho.get_attribute("body", "data-alarm") == "on"
    token = login(server.http, "cell")
    summary = api(server.http, token, "GET", f"/api/v1/alerts/{alert_id}").json()
    assert summary["station"]["id"] == JASWANTNAGAR_ID
    assert summary["resolution_method"] == "manual"
    assert cell.js_errors == [] and sho.js_errors == []


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 1) wide.push(el.tagName + '.' + el.className + ' ' + r.right);
  }
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def test_phone_viewport_has_no_horizontal_overflow_and_big_buttons(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    phone = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
    page = open_console(browser, pages, server, "sho_jsw", **phone)
    alert_id = post_alert(server.http, partner, make_alert())
    page.wait_for_selector(row(alert_id), timeout=5000)
    for where in ("list", "detail"):
        if where == "detail":
            page.click(f"{row(alert_id)} a")
            page.wait_for_selector("#map svg.map", timeout=5000)
            box = page.locator("#ack").bounding_box()
            assert box is not None and box["height"] >= 44
            assert not page.is_visible("#list")  # one pane at a time on a phone
        result = page.evaluate(OVERFLOW)
        assert result["scroll"] <= result["width"], (where, result)
        assert result["wide"] == [], (where, result)

    cell = open_console(browser, pages, server, "cell", **phone)
    for route in ("intake", "queue"):
        cell.goto(f"{server.http}/#/{route}")
        ready = "#intake-form" if route == "intake" else "#queue .empty, #queue li"
        cell.wait_for_selector(ready, timeout=5000)
        result = cell.evaluate(OVERFLOW)
        assert result["scroll"] <= result["width"], (route, result)
        assert result["wide"] == [], (route, result)
    assert page.js_errors == [] and cell.js_errors == []


def test_drill_mode_shows_a_banner(
    browser: Any, pages: list[Any], server: LiveServer, app: FastAPI, users: Users
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"drill_speed": 10.0})
    page = open_console(browser, pages, server, "sho_jsw")
    page.wait_for_selector("#drill", timeout=3000)
    assert page.inner_text("#drill") == "DRILL MODE ×10"
    page.click("#lang")
    assert page.inner_text("#drill") == "अभ्यास मोड ×10"


def test_no_drill_banner_at_normal_speed(
    browser: Any, pages: list[Any], server: LiveServer, users: Users
) -> None:
    page = open_console(browser, pages, server, "sho_jsw")
    page.wait_for_load_state("networkidle")
    assert not page.is_visible("#drill")


EXTENSION = """
const D = window.Dispatch;
D.i18n.add('en', { 'ext.hello': 'Hello page' });
D.i18n.add('hi', { 'ext.hello': 'नमस्ते पेज' });
const seen = [];
D.on('alert.created', (msg) => seen.push(msg.alert_id));
D.route('hello', (view) => {
  const p = document.createElement('p');
  p.id = 'ext-hello';
  p.textContent = D.t('ext.hello') + ' ' + JSON.stringify(seen);
  view.append(p);
});
D.navAdd('ext.hello', '#/hello');
D.on('ready', () => D.api('/api/v1/auth/me').then((me) => { window.extUser = me.username; }));
"""


def test_extensions_add_pages_through_window_dispatch(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    static = tmp_path / "static"
    shutil.copytree(console_router.STATIC, static)
    (static / "ext").mkdir(exist_ok=True)
    (static / "ext" / "zz_test.js").write_text(EXTENSION, encoding="utf-8")
    monkeypatch.setattr(console_router, "STATIC", static)

    page = open_console(browser, pages, server, "sho_jsw")
    alert_id = post_alert(server.http, partner, make_alert())
    page.wait_for_selector(row(alert_id), timeout=5000)
    page.click("#nav a[data-route='hello']")
    page.wait_for_selector("#ext-hello")
    assert page.inner_text("#ext-hello") == f"Hello page [{alert_id}]"
    page.wait_for_function("window.extUser === 'sho_jsw'", timeout=2000)
    page.click("#lang")
    assert page.inner_text("#nav a[data-route='hello']") == "नमस्ते पेज"
    assert page.js_errors == []


def test_a_deactivated_officers_console_returns_to_sign_in_saying_why(
    browser: Any, pages: list[Any], database: Any, clock: Any, users: Users
) -> None:
    from dispatch.config import Settings
    from dispatch.main import create_app
    from tests.live.support import running

    settings = Settings(
        env="test", database_url=database.url, scheduler_enabled=False, heartbeat_s=0.3
    )
    with running(create_app(settings, clock=clock, database=database)) as server:
        page = open_console(browser, pages, server, "sho_jsw")
        admin = login(server.http, "admin")
        r = api(server.http, admin, "PATCH", "/api/v1/users/sho_jsw", json={"active": False})
        assert r.status_code == 200, r.text
        page.wait_for_selector("#login-form", state="visible", timeout=5000)
        assert "session has ended" in page.inner_text("#login-error")
        assert page.is_hidden("#logout")
        assert page.js_errors == []
        # Signing out by hand says nothing of the kind.
        other = open_console(browser, pages, server, "sho_saifai")
        other.click("#logout")
        other.wait_for_selector("#login-form", state="visible", timeout=5000)
        assert other.inner_text("#login-error") == ""
