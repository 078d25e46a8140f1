"""Who is paged when the station changes or is unknown, and the console transport."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.main import create_app
from dispatch.notify.console import ConsoleProvider
from tests.escalation.support import (
    PHONES,
    add_chain_contacts,
    alert_row,
    events_of,
    levels_fired,
    new_alert,
    tick,
)
from tests.helpers import login
from tests.notify.fake_twilio import RecordingTwilio

NOWHERE = {"lat": 19.07, "lon": 72.87, "accuracy_m": 50, "source": "gps"}  # Mumbai


def test_handover_pages_the_new_station_from_level_0(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    tick(app, clock, minutes=3)
    assert levels_fired(database, alert_id) == [0, 1]
    clock.advance(minutes=1)
    r = client.post(
        f"/api/v1/alerts/{alert_id}/assign",
        json={"station_id": "ETW-SAIFAI", "reason": "the person moved"},
        headers=auth["cell"],
    )
    assert r.status_code == 200, r.text
    sent = len(twilio.sent)
    tick(app, clock)
    assert [(s.kind, s.to) for s in twilio.sent[sent:]] == [
        ("sms", PHONES["sho_saifai"]),
        ("whatsapp", PHONES["sho_saifai"]),
    ]
    assert "handed over" in str(twilio.sent[sent].data["Body"]) or "सौंपा" in str(
        twilio.sent[sent].data["Body"]
    )
    last = events_of(database, alert_id, "alert.escalated")[-1]
    assert last.data["reason"] == "handover" and last.data["level"] == 0
    # The chain restarts for the new station: level 1 three minutes after the handover.
    tick(app, clock, minutes=2, seconds=59)
    assert len(twilio.sent) == sent + 2
    tick(app, clock, seconds=1)
    assert (
        twilio.sent[sent + 2].kind == "voice" and twilio.sent[sent + 2].to == PHONES["sho_saifai"]
    )
    # The same code still acknowledges, now from the new SHO's phone.
    chain = alert_row(database, alert_id).escalation_chain
    assert chain is not None and chain["state"]["station_id"] == "ETW-SAIFAI"


def test_an_unresolved_alert_goes_straight_to_the_state_cell(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner, location=NOWHERE)
    assert alert_row(database, alert_id).station_id is None
    tick(app, clock)
    # No station, circle, district or range to page: the levels below the state cell are
    # recorded as "no_unit" and skipped at once, so the state cell hears within seconds.
    assert levels_fired(database, alert_id) == [0, 1, 2, 3]
    assert sorted((s.kind, s.to) for s in twilio.sent) == [
        ("sms", PHONES["state_cell"]),
        ("voice", PHONES["state_cell"]),
    ]
    notes = events_of(database, alert_id, "alert.notification")
    assert {n.data["status"] for n in notes if n.data["post"] != "state_cell"} == {
        "no_unit",
        "shown",
    }
    assert "unresolved" in str(twilio.of("sms")[0].data["Body"])


def test_without_twilio_the_console_transport_records_the_whole_chain(
    database: Database, clock: FrozenClock, partner: PartnerCredentials, users: object
) -> None:
    add_chain_contacts(database, clock)
    settings = Settings(env="test", database_url=database.url, scheduler_enabled=False)
    app = create_app(settings, clock=clock, database=database)
    with TestClient(app) as client:
        notifier = app.state.notifier
        assert isinstance(notifier, ConsoleProvider)
        alert_id = new_alert(client, partner)
        tick(app, clock)
        for minutes in (3, 3, 5):
            tick(app, clock, minutes=minutes)
        assert len(notifier.sent) == 2 + 2 + 1 + 4
        assert levels_fired(database, alert_id) == [0, 1, 2, 3]
        # Every message is on the timeline (written with its step, before it went out)...
        notes = [
            n.data
            for n in events_of(database, alert_id, "alert.notification")
            if n.data["channel"] != "console"
        ]
        assert len(notes) == 9
        assert {n["provider"] for n in notes} == {"console"}
        assert {n["status"] for n in notes} == {"sending"}
        # ...and in the notifications list the console shows (masked, scope-limited), with
        # the transport's answer.
        headers = login(client, "sho_jsw")
        r = client.get(f"/api/v1/notifications?alert_id={alert_id}", headers=headers)
        assert r.status_code == 200
        listed = r.json()
        assert len(listed) == 9
        assert {n["channel"] for n in listed} == {"sms", "whatsapp", "voice"}
        assert {n["status"] for n in listed} == {"recorded"}
        assert all("xxxx" in n["to_masked"] for n in listed)
        assert PHONES["sho_jsw"] not in r.text
        # Another station's officer sees neither the alert nor its messages.
        other = login(client, "sho_saifai")
        r = client.get(f"/api/v1/notifications?alert_id={alert_id}", headers=other)
        assert r.status_code == 404
        assert client.get("/api/v1/notifications", headers=other).json() == []
        info = client.get("/api/v1/escalation/info", headers=headers).json()
        assert info["transport"] == "console" and info["drill_mode"] is False


def test_demo_contacts_have_obviously_fake_numbers(database: Database, clock: FrozenClock) -> None:
    from dispatch.escalation import runtime as escalation_runtime
    from dispatch.escalation import service as escalation_service

    settings = Settings(env="test", database_url=database.url, scheduler_enabled=False)
    app = create_app(settings, clock=clock, database=database)
    with database.session() as session:
        lines = escalation_runtime.seed_demo(session, app)
        session.commit()
        again = escalation_runtime.seed_demo(session, app)
        session.commit()
        contacts = escalation_service.list_contacts(session=session)
    assert "fake numbers" in lines[0] and "(0 added)" in again[0]
    assert contacts and all(c.phone.startswith("+9199999") for c in contacts)
    posts = {c.post for c in contacts}
    assert posts == {
        "sho",
        "circle_officer",
        "district_control",
        "sp_office",
        "range_office",
        "dig_office",
        "state_cell",
    }
    # With Twilio configured, no fake contact is ever seeded (a demo must not ring anyone).
    from tests.escalation.support import twilio_settings

    real = create_app(twilio_settings(database), clock=clock, database=database)
    with database.session() as session:
        assert "not added" in escalation_runtime.seed_demo(session, real)[0]
