"""The console as its users meet it: on a phone, at night, in Hindi, on a flaky network.

Each test here is a defect an officer would have noticed (found by driving the console in
headless Chromium on a phone viewport and a desktop, in English and Hindi).
"""

from __future__ import annotations

import time
from typing import Any

from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.auth.models import PartnerCredentials, Role
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.tipline import service as tipline_service
from dispatch.tipline.models import Tip
from tests.console.conftest import PASSWORD
from tests.console.test_browser import open_console, pages, row
from tests.helpers import make_alert
from tests.live.support import LiveServer, api, login, post_alert

__all__ = ["pages"]

Users = dict[str, tuple[Role, str | None]]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def sign_in(page: Any, username: str) -> None:
    """Sign in again on the sign-in form of a page whose user has just signed out."""
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("body[data-loaded='true']", timeout=5000)


def test_the_connection_shows_live_again_when_the_network_comes_back(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    """A short network drop (a phone between towers) used to leave "Reconnecting…" on screen
    for good: the socket had lived through it, so no new hello ever set the state back."""
    page = open_console(browser, pages, server, "sho_jsw", **PHONE)
    page.context.set_offline(True)
    page.wait_for_selector("#conn[data-state='offline']", timeout=3000)
    page.context.set_offline(False)
    page.wait_for_selector("#conn[data-state='live']", timeout=3000)
    assert page.inner_text("#conn") == "Live"
    alert_id = post_alert(server.http, partner, make_alert())
    page.wait_for_selector(row(alert_id, "new"), timeout=2000)
    assert page.js_errors == []


def test_phone_tap_targets_of_the_alarm_banner_and_the_queue(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    """The alarm banner's link (the way from the alarm to the alert) was a 24 px strip of text
    when its sentence fitted on one line, as in Hindi; the queue's alert links were 22 px."""
    sho = open_console(browser, pages, server, "sho_jsw", **PHONE)
    sho.click("#lang")
    sho.wait_for_selector("html[lang='hi']")
    alert_id = post_alert(server.http, partner, make_alert())
    sho.wait_for_selector("#alarm a", timeout=2000)
    box = sho.locator("#alarm a").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300, box
    sho.tap("#alarm a")
    sho.wait_for_selector(f"#detail[data-id='{alert_id}']", timeout=5000)

    cell = open_console(browser, pages, server, "cell", **PHONE)
    cell.goto(f"{server.http}/#/queue")
    manual = {"category": "self_harm", "reported_by": "Caller on 112"}
    api(server.http, login(server.http, "cell"), "POST", "/api/v1/alerts/manual", json=manual)
    link = "#queue li.queue-row > a"
    cell.wait_for_selector(link, timeout=5000)
    box = cell.locator(link).bounding_box()
    assert box is not None and box["height"] >= 44, box
    assert sho.js_errors == [] and cell.js_errors == []


def test_the_map_scale_reads_one_km_inside_the_map(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    """The scale bar's label was centred on the map's left edge: officers read "km", not
    "1 km", with the "1" cut off."""
    page = open_console(browser, pages, server, "sho_jsw")
    alert_id = post_alert(server.http, partner, make_alert())
    page.goto(f"{server.http}/#/alerts/{alert_id}")
    page.wait_for_selector("#map svg.map", timeout=5000)
    inside = page.evaluate(
        """() => {
          const svg = document.querySelector('#map svg.map');
          const label = [...svg.querySelectorAll('text')].find((t) => t.textContent === '1 km');
          const s = svg.getBoundingClientRect();
          const b = label.getBoundingClientRect();
          return {left: b.left - s.left, right: s.right - b.right};
        }"""
    )
    assert inside["left"] >= 0 and inside["right"] >= 0, inside
    assert page.js_errors == []


def test_timeline_codes_are_read_in_the_officers_language(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    """The timeline and the alert head showed the server's codes ("contains", "partner",
    "gps", "hospitalised", "live_video") in the middle of Hindi sentences."""
    page = open_console(browser, pages, server, "sho_jsw")
    alert_id = post_alert(
        server.http, partner, make_alert(content={"text": "bye", "kind": "live_video"})
    )
    page.goto(f"{server.http}/#/alerts/{alert_id}")
    page.wait_for_selector("#timeline li[data-type='alert.resolved']", timeout=5000)
    english = page.inner_text("#detail")
    assert "location inside the station area" in english
    assert "partner platform" in english
    assert "live video" in english and "live_video" not in english

    page.click("#lang")
    page.wait_for_selector("html[lang='hi']")
    page.wait_for_selector("#timeline li[data-type='alert.resolved']", timeout=5000)
    timeline = page.inner_text("#timeline")
    assert "(स्थान थाना क्षेत्र के भीतर)" in timeline and "(contains)" not in timeline
    assert "(पार्टनर प्लेटफ़ॉर्म)" in timeline and "(partner)" not in timeline
    head = page.inner_text(".detail-head")
    assert "जीपीएस" in head and "gps" not in head
    assert "लाइव वीडियो" in page.inner_text(".content")

    # Closing with an outcome: the outcome in Hindi, as the care form offered it.
    page.wait_for_selector("form.care-close select[name='outcome']", timeout=5000)
    page.select_option("form.care-close select[name='outcome']", "hospitalised")
    page.click("form.care-close button[type='submit']")
    page.wait_for_selector("#timeline li[data-type='alert.closed']", timeout=5000)
    closed = page.inner_text("#timeline li[data-type='alert.closed']")
    assert "अस्पताल में भर्ती" in closed and "hospitalised" not in closed
    assert page.js_errors == []


def test_the_tips_link_only_for_tip_offices_and_only_once(
    browser: Any, pages: list[Any], server: LiveServer, users: Users
) -> None:
    """Signing out and in again added a second "Tips" link, and an SHO signing in after a
    district officer in the same tab was shown it too."""
    page = open_console(browser, pages, server, "dcr_etawah")
    tips = "#nav a[href='/tips']"
    assert page.locator(tips).count() == 1
    page.click("#logout")
    sign_in(page, "dcr_etawah")
    assert page.locator(tips).count() == 1
    page.click("#logout")
    sign_in(page, "sho_jsw")
    assert page.locator(tips).count() == 0
    assert page.js_errors == []


def test_a_high_sensitivity_tip_keeps_the_alarm_ringing_until_someone_takes_it(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    database: Database,
    clock: FrozenClock,
) -> None:
    """The tip line's alarm was silenced at once: the shell, finding no unacknowledged alert,
    stopped the sound the tip had just started."""
    page = open_console(browser, pages, server, "sp_jaunpur")
    tip = Tip(district="Jaunpur", range_name="Varanasi", ref="T-TEST")

    def tip_event(kind: str) -> None:
        with database.session() as session:
            events.append(
                session,
                alert_id=None,
                type_=EventType.tip,
                at=clock.now(),
                actor="informant",
                scope=tipline_service.tip_scope(tip),
                data={
                    "kind": kind,
                    "ref": tip.ref,
                    "category": "arms",
                    "sensitivity": "high",
                    "district": "Jaunpur",
                    "status": "new",
                },
            )
            session.commit()

    tip_event("tip.received")
    page.wait_for_selector("#tip-alarm", timeout=5000)
    time.sleep(0.3)
    assert page.evaluate("window.Dispatch.alarm.ringing") is True
    tip_event("tip.assigned")
    page.wait_for_selector("#tip-alarm", state="detached", timeout=5000)
    assert page.evaluate("window.Dispatch.alarm.ringing") is False
    # Signing out takes the banner away with the alarm: nothing of a tip on the sign-in page.
    tip = Tip(district="Jaunpur", range_name="Varanasi", ref="T-TEST-2")
    tip_event("tip.received")
    page.wait_for_selector("#tip-alarm", timeout=5000)
    page.click("#logout")
    page.wait_for_selector("#login-form", state="visible", timeout=5000)
    assert page.query_selector("#tip-alarm") is None
    assert page.evaluate("window.Dispatch.alarm.ringing") is False
    assert page.js_errors == []


CONTRAST = """(selector) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const el = document.querySelector(selector);
  let bg = el;
  const clear = (n) => /rgba\\(.*, 0\\)$|transparent/.test(getComputedStyle(n).backgroundColor);
  while (bg && clear(bg)) bg = bg.parentElement;
  const a = lum(rgb(getComputedStyle(el).color));
  const b = lum(rgb(getComputedStyle(bg || document.body).backgroundColor));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_status_text_is_readable_in_the_dark_theme(
    browser: Any,
    pages: list[Any],
    server: LiveServer,
    users: Users,
    partner: PartnerCredentials,
) -> None:
    """At night phones use the dark theme: the green "Acknowledged by" and the white-on-grey
    "Closed" badge were under a 3.5:1 contrast on the dark cards."""
    page = open_console(browser, pages, server, "sho_jsw", color_scheme="dark", **PHONE)
    alert_id = post_alert(server.http, partner, make_alert())
    page.goto(f"{server.http}/#/alerts/{alert_id}")
    page.wait_for_selector("#ack", timeout=5000)
    page.click("#ack")
    page.wait_for_selector("#acked", timeout=5000)
    page.wait_for_selector("#timeline li[data-type='alert.acknowledged'] span")
    assert page.evaluate(CONTRAST, "#acked") >= 4.5
    assert page.evaluate(CONTRAST, "#timeline li[data-type='alert.acknowledged'] span") >= 4.5
    page.select_option("form.care-close select[name='outcome']", "false_alarm")
    page.click("form.care-close button[type='submit']")
    page.wait_for_selector("#detail-status.status-closed", timeout=5000)
    assert page.evaluate(CONTRAST, "#detail-status") >= 4.5
    assert page.js_errors == []
