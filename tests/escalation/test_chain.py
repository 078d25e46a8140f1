"""An unacknowledged alert climbs the chain on time, by SMS, WhatsApp and calls; ack stops it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.alerts.models import Alert, AlertStatus
from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.escalation import policy as policy_mod
from dispatch.notify.models import OutboundRecord
from tests.escalation.support import (
    PHONES,
    alert_row,
    events_of,
    levels_fired,
    new_alert,
    tick,
)
from tests.notify.fake_twilio import FROM_NUMBER, PUBLIC_BASE, WHATSAPP_FROM, RecordingTwilio


def test_unacknowledged_alert_climbs_to_the_top_then_repeats(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)

    # Level 0, at once: SMS and WhatsApp to the SHO, in Hindi (the SHO's language).
    assert [(s.kind, s.to) for s in twilio.sent] == [
        ("sms", PHONES["sho_jsw"]),
        ("whatsapp", PHONES["sho_jsw"]),
    ]
    sms, whatsapp = twilio.sent
    assert sms.data["From"] == FROM_NUMBER
    assert whatsapp.data["From"] == f"whatsapp:{WHATSAPP_FROM}"
    assert whatsapp.data["To"] == f"whatsapp:{PHONES['sho_jsw']}"
    body = str(sms.data["Body"])
    assert f"संकट अलर्ट #{alert_id}" in body and "Jaswantnagar" in body and "ACK " in body
    assert f"{PUBLIC_BASE}/#/alerts/{alert_id}" in body
    # Minimal personal data: no subject name, phone or post text in any message.
    for sent in twilio.sent:
        text = str(sent.data.get("Body", ""))
        assert "Ravi" not in text and "98765 43210" not in text and "farewell" not in text
    assert str(sms.data["StatusCallback"]).startswith(f"{PUBLIC_BASE}/webhooks/twilio/status?n=")
    assert alert_row(database, alert_id).escalation_level == 0

    # Nothing more before three minutes.
    tick(app, clock, minutes=2, seconds=59)
    assert len(twilio.sent) == 2

    # +3 min, level 1: a call to the SHO and an SMS to the circle officer.
    tick(app, clock, seconds=1)
    level1 = twilio.sent[2:]
    assert [(s.kind, s.to) for s in level1] == [
        ("voice", PHONES["sho_jsw"]),
        ("sms", PHONES["co_jsw"]),
    ]
    call = level1[0]
    twiml = str(call.data["Twiml"])
    assert '<Gather action="https://dispatch.example.org/webhooks/twilio/voice/gather?n=' in twiml
    assert 'numDigits="1"' in twiml
    assert 'language="hi-IN"' in twiml and 'language="en-IN"' in twiml
    assert "Press 1 to acknowledge" in twiml and "1 दबाएँ" in twiml
    assert call.data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert "NOT acknowledged for 3 min" in str(level1[1].data["Body"])

    # +3 min, level 2: a call to the district control room.
    tick(app, clock, minutes=3)
    assert [(s.kind, s.to) for s in twilio.sent[4:]] == [("voice", PHONES["dcr_etawah"])]

    # +5 min, level 3: the range office and the state cell, by call and SMS.
    tick(app, clock, minutes=4)
    assert len(twilio.sent) == 5
    tick(app, clock, minutes=1)
    assert sorted((s.kind, s.to) for s in twilio.sent[5:]) == sorted(
        [
            ("voice", PHONES["range_kanpur"]),
            ("sms", PHONES["range_kanpur"]),
            ("voice", PHONES["state_cell"]),
            ("sms", PHONES["state_cell"]),
        ]
    )

    # Then the last level again every four minutes until someone acknowledges.
    tick(app, clock, minutes=4)
    tick(app, clock, minutes=4)
    assert len(twilio.sent) == 9 + 4 + 4
    assert levels_fired(database, alert_id) == [0, 1, 2, 3, 3, 3]
    assert alert_row(database, alert_id).escalation_level == 3

    # The timeline explains each step and each message (numbers masked).
    escalated = events_of(database, alert_id, "alert.escalated")
    assert [e.data["reason"] for e in escalated] == [
        "unacknowledged",
        "unacknowledged",
        "unacknowledged",
        "repeat",
        "repeat",
    ]
    notes = events_of(database, alert_id, "alert.notification")
    first = notes[0].data
    assert first["channel"] == "console" and first["post"] == "sho"
    sms_note = next(n.data for n in notes if n.data["channel"] == "sms")
    # Written with the step, before the message went out; the record then holds Twilio's answer.
    assert sms_note["to_masked"] == "+9198xxxxxx01" and sms_note["status"] == "sending"
    assert sms_note["post"] == "sho" and sms_note["level"] == 0 and sms_note["contact"] == "sho_jsw"
    with database.session() as session:
        record = session.get(OutboundRecord, sms_note["notification_id"])
        assert record is not None
        sms = next(m for m in twilio.sent if m.kind == "sms" and m.to == PHONES["sho_jsw"])
        assert record.status == "queued" and record.provider_id == sms.sid


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_console_acknowledgement_at_any_level_stops_the_chain(
    level: int,
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
    for minutes in [3, 3, 5][:level]:
        tick(app, clock, minutes=minutes)
    assert levels_fired(database, alert_id)[-1] == level

    r = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["dcr_etawah"])
    assert r.status_code == 200
    tick(app, clock)
    sent = len(twilio.sent)

    # Nine quiet minutes (the en-route stall timer is ten): not one more message.
    for _ in range(9):
        tick(app, clock, minutes=1)
    assert len(twilio.sent) == sent
    stopped = events_of(database, alert_id, "alert.escalation_stopped")
    assert len(stopped) == 1
    assert stopped[0].data["reason"] == "acknowledged"
    assert stopped[0].data["level"] == level
    assert stopped[0].data["acknowledged_by"] == "user:dcr_etawah"


def test_acknowledged_but_nobody_moves_escalates_as_stalled(
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
    client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"])
    tick(app, clock)
    assert len(twilio.sent) == 2

    # Ten minutes acknowledged and nobody en route: the next level (SHO call, CO SMS).
    tick(app, clock, minutes=9, seconds=59)
    assert len(twilio.sent) == 2
    tick(app, clock, seconds=1)
    stalled = twilio.sent[2:]
    assert [(s.kind, s.to) for s in stalled] == [
        ("voice", PHONES["sho_jsw"]),
        ("sms", PHONES["co_jsw"]),
    ]
    assert "no unit en route" in str(stalled[1].data["Body"])
    escalated = events_of(database, alert_id, "alert.escalated")
    assert escalated[-1].data["reason"] == "stalled_en_route"
    assert escalated[-1].data["level"] == 1

    # Still nobody en route four minutes later: one level higher.
    tick(app, clock, minutes=4)
    assert [(s.kind, s.to) for s in twilio.sent[4:]] == [("voice", PHONES["dcr_etawah"])]

    # Moving en route stops the en-route stall; on scene by 45 min after ack is still due.
    status_url = f"/api/v1/alerts/{alert_id}/status"
    h = auth["sho_jsw"]
    assert client.post(status_url, json={"status": "dispatched", "team": "PRV 112"}, headers=h)
    assert client.post(status_url, json={"status": "en_route"}, headers=h).status_code == 200
    tick(app, clock)
    sent = len(twilio.sent)
    tick(app, clock, minutes=30)  # 44 min after ack
    assert len(twilio.sent) == sent
    tick(app, clock, minutes=1)
    assert events_of(database, alert_id, "alert.escalated")[-1].data["reason"] == (
        "stalled_on_scene"
    )
    assert len(twilio.sent) > sent

    # On scene: nothing is due any more.
    assert client.post(status_url, json={"status": "on_scene"}, headers=h).status_code == 200
    tick(app, clock)
    assert alert_row(database, alert_id).escalation_due_at is None
    sent = len(twilio.sent)
    tick(app, clock, hours=3)
    assert len(twilio.sent) == sent


def test_a_running_escalation_keeps_its_copy_of_the_policy(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    # The policy changes under a running escalation: level 1 after 60 minutes, state cell only.
    app.state.escalation.policy = policy_mod.parse(
        {
            "version": 2,
            "chains": {
                "default": {
                    "steps": [
                        {"after_s": 0, "targets": [{"post": "state_cell", "channels": ["sms"]}]},
                        {"after_s": 3600, "targets": [{"post": "state_cell", "channels": ["sms"]}]},
                    ]
                }
            },
        }
    )
    tick(app, clock, minutes=3)
    assert [(s.kind, s.to) for s in twilio.sent[2:]] == [
        ("voice", PHONES["sho_jsw"]),
        ("sms", PHONES["co_jsw"]),
    ]
    assert alert_row(database, alert_id).escalation_chain["policy"] == {  # type: ignore[index]
        "version": 1,
        "source": "chains.suicide_risk",
    }
    # A new alert follows the new policy.
    second = new_alert(client, partner)
    tick(app, clock)
    assert [(s.kind, s.to) for s in twilio.sent[4:]] == [("sms", PHONES["state_cell"])]
    assert alert_row(database, second).escalation_chain["policy"]["version"] == 2  # type: ignore[index]


def test_a_level_that_reaches_nobody_does_not_wait_and_closing_stops_the_chain(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    # No contacts at all: each level says so on the timeline, and the chain does not wait
    # minutes on a level that reached nobody: it climbs at once to the top.
    alert_id = new_alert(client, partner)
    tick(app, clock)
    notes = events_of(database, alert_id, "alert.notification")
    assert {n.data["status"] for n in notes} == {"shown", "no_contact"}
    assert events_of(database, alert_id, "alert.escalation_started")[0].data["unreachable"]
    assert levels_fired(database, alert_id) == [0, 1, 2, 3]
    assert twilio.sent == []

    # Closed (as the care domain does: status and a fence bump): the chain stops for good.
    with database.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        alert.status = AlertStatus.closed.value
        alert.closed_at = clock.now()
        alert.escalation_due_at = clock.now()
        alert.escalation_fence += 1
        session.add(alert)
        session.commit()
    tick(app, clock)
    tick(app, clock, hours=2)
    assert levels_fired(database, alert_id) == [0, 1, 2, 3]
    stopped = events_of(database, alert_id, "alert.escalation_stopped")
    assert [e.data["reason"] for e in stopped] == ["closed"]
    assert alert_row(database, alert_id).escalation_due_at is None
