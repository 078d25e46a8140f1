"""Scope isolation on connect, replay and live; replay after a disconnect; working an alert."""

from __future__ import annotations

from typing import Any

from dispatch.auth.models import PartnerCredentials
from tests.helpers import make_alert
from tests.live.support import Console, LiveServer, api, has_types, post_alert, signed

SAIFAI = {"lat": 26.9586, "lon": 78.9635, "accuracy_m": 30, "source": "gps"}
VARANASI = {"lat": 25.306, "lon": 83.010, "accuracy_m": 30, "source": "gps"}


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [e["id"] for e in events]


def test_station_user_never_receives_another_stations_alert(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    # Before anyone connects: one alert in each station's area.
    jsw_before = post_alert(server.http, partner, make_alert())
    saifai_before = post_alert(server.http, partner, make_alert(location=SAIFAI))
    with (
        Console(server.ws, tokens["sho_saifai"], since=0) as saifai,
        Console(server.ws, tokens["sho_jsw"]) as jsw,
        Console(server.ws, tokens["dig_varanasi"], since=0) as varanasi,
        Console(server.ws, tokens["dcr_etawah"], since=0) as etawah,
    ):
        # On replay: only Saifai's own alert.
        replayed = saifai.replay()
        assert {e["alert_id"] for e in replayed} == {saifai_before}
        assert saifai.synced is not None and saifai.synced["cursor"] == 4
        # On connect without since: nothing from before.
        assert jsw.hello["cursor"] == 4
        # Live: Jaswantnagar and Varanasi alerts, then a Saifai one.
        jsw_live = post_alert(server.http, partner, make_alert())
        post_alert(server.http, partner, make_alert(location=VARANASI))
        saifai_live = post_alert(server.http, partner, make_alert(location=SAIFAI))
        live = saifai.events_until(has_types("alert.resolved", alert_id=saifai_live))
        assert {e["alert_id"] for e in live} == {saifai_live}
        got = jsw.events_until(has_types("alert.resolved", alert_id=jsw_live))
        assert {e["alert_id"] for e in got} == {jsw_live}
        assert jsw.quiet(0.3) == []
        # A district sees both of its stations; the Varanasi range sees neither.
        seen = etawah.events_until(has_types("alert.resolved", alert_id=saifai_live))
        assert {e["alert_id"] for e in seen} == {jsw_before, saifai_before, jsw_live, saifai_live}
        assert varanasi.events_until(lambda e: len(e) >= 2)[0]["alert"]["station"]["district"] == (
            "Varanasi"
        )
        assert varanasi.quiet(0.2) == []


def test_handover_brings_the_new_station_in_from_that_moment(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    alert_id = post_alert(server.http, partner, make_alert())
    with Console(server.ws, tokens["sho_saifai"], since=0) as saifai:
        signed(
            server.http,
            f"/api/v1/alerts/{alert_id}/signals",
            partner,
            {"location": SAIFAI},
        )
        got = saifai.events_until(has_types("alert.handover"))
    assert [e["type"] for e in got] == ["alert.signal", "alert.handover"]
    assert got[1]["alert"]["station"]["id"] == "ETW-SAIFAI"
    assert got[1]["data"]["from"]["id"] == "ETW-JASWANTNAGAR"


def test_replay_after_a_disconnect_has_no_gap_and_no_duplicate(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    token = tokens["sho_jsw"]
    first = post_alert(server.http, partner, make_alert())
    with Console(server.ws, token, since=0) as console:
        seen = console.events_until(has_types("alert.resolved", alert_id=first))
    last = seen[-1]["id"]

    # While the console is away: work on the first alert, a new alert, an alert elsewhere.
    assert api(server.http, token, "POST", f"/api/v1/alerts/{first}/ack").status_code == 200
    api(server.http, token, "POST", f"/api/v1/alerts/{first}/notes", json={"text": "calling"})
    second = post_alert(server.http, partner, make_alert())
    post_alert(server.http, partner, make_alert(location=SAIFAI))
    api(server.http, token, "GET", f"/api/v1/alerts/{first}")  # an internal audit event

    with Console(server.ws, token, since=last) as console:
        missed = console.replay()
        third = post_alert(server.http, partner, make_alert())
        live = console.events_until(has_types("alert.resolved", alert_id=third))
        assert console.quiet(0.3) == []
    assert [(e["alert_id"], e["type"]) for e in missed] == [
        (first, "alert.acknowledged"),
        (first, "alert.note"),
        (second, "alert.created"),
        (second, "alert.resolved"),
    ]
    assert missed[0]["alert"]["status"] == "acknowledged"
    everything = seen + missed + live
    assert ids(everything) == sorted(set(ids(everything)))  # ordered, no duplicate
    # No gap: exactly the station's non-internal events, as the timeline API shows them.
    expected: list[int] = []
    for alert_id in (first, second, third):
        detail = api(server.http, tokens["cell"], "GET", f"/api/v1/alerts/{alert_id}").json()
        expected += [e["id"] for e in detail["events"]]
    assert ids(everything) == sorted(expected)


def test_every_way_of_working_an_alert_is_pushed_live(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    sho, cell = tokens["sho_jsw"], tokens["cell"]
    alert_id = post_alert(server.http, partner, make_alert())
    with Console(server.ws, cell) as state_cell:
        base = f"/api/v1/alerts/{alert_id}"
        assert api(server.http, sho, "POST", f"{base}/ack").status_code == 200
        dispatched = {"status": "dispatched", "team": "SI Verma", "vehicle": "UP75 PRV 112"}
        assert api(server.http, sho, "POST", f"{base}/status", json=dispatched).status_code == 200
        api(server.http, sho, "POST", f"{base}/notes", json={"text": "family reached"})
        manual = api(
            server.http,
            cell,
            "POST",
            "/api/v1/alerts/manual",
            json={"category": "self_harm", "reported_by": "caller on 112"},
        ).json()["id"]
        r = api(
            server.http,
            cell,
            "POST",
            f"/api/v1/alerts/{manual}/assign",
            json={"station_id": "ETW-SAIFAI"},
        )
        assert r.status_code == 200
        got = state_cell.events_until(has_types("alert.assigned", alert_id=manual))
    assert [(e["alert_id"], e["type"]) for e in got] == [
        (alert_id, "alert.acknowledged"),
        (alert_id, "alert.status"),
        (alert_id, "alert.note"),
        (manual, "alert.created"),
        (manual, "alert.unresolved"),
        (manual, "alert.assigned"),
    ]
    assert got[0]["actor"] == "user:sho_jsw"
    assert got[1]["data"]["team"] == "SI Verma" and got[1]["alert"]["status"] == "dispatched"
    assert got[3]["alert"]["station"] is None
    assert got[5]["alert"]["station"]["id"] == "ETW-SAIFAI"
