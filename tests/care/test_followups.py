"""Follow-up care: check-ins after a rescue, the due list, recording, overdue escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from dispatch.auth.models import PartnerCredentials
from dispatch.care import jobs as care_jobs
from dispatch.care.models import Outcome
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import jobs as escalation_jobs
from dispatch.notify.models import OutboundRecord
from tests.care.support import CO_PHONE, add_circle_officer, close, events_of, new_alert

Auth = dict[str, dict[str, str]]
RESCUES = [Outcome.attempt_interrupted, Outcome.found_safe_counselled, Outcome.hospitalised]


def _due(client: TestClient, headers: dict[str, str]) -> list[dict[str, object]]:
    r = client.get("/api/v1/followups?due=1", headers=headers)
    assert r.status_code == 200, r.text
    rows: list[dict[str, object]] = r.json()
    return rows


def _messages(database: Database) -> list[OutboundRecord]:
    with database.session() as session:
        return list(session.exec(select(OutboundRecord)).all())


@pytest.mark.parametrize("outcome", RESCUES)
def test_rescue_schedules_check_ins_at_24h_7d_30d(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
    outcome: Outcome,
) -> None:
    alert_id = new_alert(client, partner)
    clock.advance(minutes=45)
    closed_at = clock.now()
    r = close(client, alert_id, auth["sho_jsw"], outcome=outcome.value)
    assert r.status_code == 200, r.text
    followups = r.json()["followups"]
    assert [f["offset_hours"] for f in followups] == [24, 168, 720]
    got = [
        f["due_at"]
        for f in client.get(f"/api/v1/alerts/{alert_id}/followups", headers=auth["sho_jsw"]).json()
    ]
    want = [closed_at + timedelta(hours=h) for h in (24, 168, 720)]
    assert got == [w.isoformat().replace("+00:00", "Z") for w in want]
    assert {f["station_id"] for f in followups} == {"ETW-JASWANTNAGAR"}
    (closed,) = events_of(database, alert_id, "alert.closed")
    assert closed.data["followups_due"] == [w.isoformat() for w in want]

    assert _due(client, auth["sho_jsw"]) == []
    clock.advance(hours=23, minutes=59)
    assert _due(client, auth["sho_jsw"]) == []
    clock.advance(minutes=1)
    (due,) = _due(client, auth["sho_jsw"])
    assert due["offset_hours"] == 24 and due["alert_id"] == alert_id
    assert due["subject_label"] == "R. K."
    clock.advance(days=6)
    assert [f["offset_hours"] for f in _due(client, auth["sho_jsw"])] == [24, 168]
    assert [f["overdue"] for f in _due(client, auth["sho_jsw"])] == [True, False]  # 7 d: due now
    clock.advance(days=23)
    assert len(_due(client, auth["sho_jsw"])) == 3
    # Without due=1: every pending check-in.
    assert len(client.get("/api/v1/followups", headers=auth["sho_jsw"]).json()) == 3


@pytest.mark.parametrize(
    "outcome",
    [Outcome.not_traced, Outcome.false_alarm, Outcome.transferred, Outcome.deceased],
)
def test_other_outcomes_schedule_nothing(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    outcome: Outcome,
) -> None:
    alert_id = new_alert(client, partner)
    r = close(client, alert_id, auth["sho_jsw"], outcome=outcome.value, transferred_to="Agra")
    assert r.status_code == 200, r.text
    assert r.json()["followups"] == []
    clock.advance(days=40)
    assert client.get("/api/v1/followups", headers=auth["supervisor"]).json() == []


def test_offsets_are_configurable(
    database: Database, clock: FrozenClock, partner: PartnerCredentials, settings: Settings
) -> None:
    from dispatch.main import create_app
    from tests.conftest import USERS

    custom = settings.model_copy(update={"followup_offsets_hours": [2, 48]})
    app = create_app(custom, clock=clock, database=database)
    with TestClient(app) as client:
        from dispatch.auth import service as auth_service
        from dispatch.auth.models import User

        with database.session() as session:
            auth_service.create_user(
                session=session,
                username="sho",
                password="correct-horse-1",
                role=USERS["sho_jsw"][0],
                unit=USERS["sho_jsw"][1],
                now=clock.now(),
            )
            session.commit()
            user = session.exec(select(User)).one()
            token, _ = auth_service.issue_token(user=user, settings=custom, now=clock.now())
        headers = {"Authorization": f"Bearer {token}"}
        alert_id = new_alert(client, partner)
        r = close(client, alert_id, headers, outcome="hospitalised")
        assert [f["offset_hours"] for f in r.json()["followups"]] == [2, 48]
        clock.advance(hours=2)
        assert len(_due(client, headers)) == 1


def test_station_users_see_their_own_check_ins(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
) -> None:
    alert_id = new_alert(client, partner)
    close(client, alert_id, auth["sho_jsw"], outcome="attempt_interrupted")
    clock.advance(days=1)
    assert len(_due(client, auth["sho_jsw"])) == 1
    assert len(_due(client, auth["co_jsw"])) == 1
    assert len(_due(client, auth["dcr_etawah"])) == 1
    assert len(_due(client, auth["supervisor"])) == 1
    assert _due(client, auth["sho_saifai"]) == []
    assert _due(client, auth["sp_jaunpur"]) == []
    assert _due(client, auth["dig_varanasi"]) == []
    assert (
        client.get(f"/api/v1/alerts/{alert_id}/followups", headers=auth["sho_saifai"]).status_code
        == 404
    )
    (due,) = _due(client, auth["sho_jsw"])
    r = client.post(
        f"/api/v1/followups/{due['id']}", json={"contact_made": True}, headers=auth["sho_saifai"]
    )
    assert r.status_code == 404
    assert (
        client.post(
            "/api/v1/followups/99999", json={"contact_made": True}, headers=auth["sho_jsw"]
        ).status_code
        == 404
    )


def test_recording_a_check_in(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    close(client, alert_id, auth["sho_jsw"], outcome="found_safe_counselled")
    clock.advance(hours=26)
    (due,) = _due(client, auth["sho_jsw"])
    url = f"/api/v1/followups/{due['id']}"
    r = client.post(url, json={"person_state": "calm"}, headers=auth["sho_jsw"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "contact_made"
    body = {
        "contact_made": True,
        "person_state": "calm, back at work",
        "referral": "Tele-MANAS 14416",
        "notes": "mother present",
    }
    r = client.post(url, json=body, headers=auth["sho_jsw"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["overdue"] is False
    assert (done["contact_made"], done["referral"]) == (True, "Tele-MANAS 14416")
    assert done["done_by"] == "user:sho_jsw"
    assert client.post(url, json=body, headers=auth["sho_jsw"]).status_code == 409
    assert _due(client, auth["sho_jsw"]) == []
    (event,) = events_of(database, alert_id, "alert.followup")
    assert event.data["person_state"] == "calm, back at work"
    assert event.data["late"] is True
    assert event.actor == "user:sho_jsw"


def test_reopening_cancels_pending_check_ins(
    client: TestClient, partner: PartnerCredentials, auth: Auth, clock: FrozenClock
) -> None:
    alert_id = new_alert(client, partner)
    close(client, alert_id, auth["sho_jsw"], outcome="hospitalised")
    r = client.post(
        f"/api/v1/alerts/{alert_id}/reopen",
        json={"reason": "wrong outcome recorded"},
        headers=auth["supervisor"],
    )
    assert r.status_code == 200
    clock.advance(days=31)
    assert _due(client, auth["sho_jsw"]) == []
    statuses = [
        f["status"]
        for f in client.get(f"/api/v1/alerts/{alert_id}/followups", headers=auth["sho_jsw"]).json()
    ]
    assert statuses == ["cancelled"] * 3


def test_overdue_check_in_escalates_to_the_circle_officer_once(
    app: FastAPI,
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
) -> None:
    add_circle_officer(database, clock)
    alert_id = new_alert(client, partner)
    close(client, alert_id, auth["sho_jsw"], outcome="attempt_interrupted")
    sent_before = len(_messages(database))
    # Due at 24 h; the default grace is 12 h: nothing at 24 h + 11:59.
    clock.advance(hours=35, minutes=59)
    escalation_jobs.run_registered(app, clock.now())
    assert events_of(database, alert_id, "followup.overdue") == []
    assert len(_messages(database)) == sent_before
    clock.advance(minutes=1)
    escalation_jobs.run_registered(app, clock.now())
    escalation_jobs.run_registered(app, clock.now())
    clock.advance(hours=5)
    escalation_jobs.run_registered(app, clock.now())
    (overdue,) = events_of(database, alert_id, "followup.overdue")
    assert overdue.internal is False
    assert overdue.data["offset_hours"] == 24
    assert (overdue.data["post"], overdue.data["unit"]) == ("circle_officer", "Jaswantnagar")
    to_co = [m for m in _messages(database) if m.to == CO_PHONE]
    assert {m.channel for m in to_co} == {"sms", "whatsapp"}
    assert len(to_co) == 2
    assert all(m.ref == f"followup:{overdue.data['followup_id']}" for m in to_co)
    assert "Ravi" not in to_co[0].body and "98765" not in to_co[0].body  # initials only
    assert f"alert {alert_id}" in to_co[0].body
    notes = events_of(database, alert_id, "alert.notification")
    assert sum(1 for n in notes if n.data.get("ref", "").startswith("followup:")) == 2
    (row,) = [
        f
        for f in client.get(f"/api/v1/alerts/{alert_id}/followups", headers=auth["co_jsw"]).json()
        if f["offset_hours"] == 24
    ]
    assert row["escalated_at"] is not None and row["overdue"] is True
    # The officer still records it afterwards; the next check-ins escalate on their own.
    r = client.post(
        f"/api/v1/followups/{row['id']}", json={"contact_made": False}, headers=auth["sho_jsw"]
    )
    assert r.status_code == 200
    clock.advance(days=7)
    escalation_jobs.run_registered(app, clock.now())
    assert [e.data["offset_hours"] for e in events_of(database, alert_id, "followup.overdue")] == [
        24,
        168,
    ]


def test_recorded_check_in_never_escalates(
    app: FastAPI,
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
    settings: Settings,
) -> None:
    add_circle_officer(database, clock)
    alert_id = new_alert(client, partner)
    close(client, alert_id, auth["sho_jsw"], outcome="attempt_interrupted")
    clock.advance(hours=30)
    (due,) = _due(client, auth["sho_jsw"])
    client.post(
        f"/api/v1/followups/{due['id']}", json={"contact_made": True}, headers=auth["sho_jsw"]
    )
    clock.advance(hours=10)
    count = care_jobs.escalate_overdue(database, clock.now(), settings=settings, notifier=app.state)
    assert count == 0
    assert events_of(database, alert_id, "followup.overdue") == []
