"""Closing an alert with its outcome, and reopening it (supervisors, with a reason)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.care.models import Outcome
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.escalation.engine import Engine
from tests.care.support import alert_row, close, events_of, new_alert

Auth = dict[str, dict[str, str]]


def _body(outcome: Outcome) -> dict[str, object]:
    body: dict[str, object] = {
        "outcome": outcome.value,
        "attended_by": ["SI Rakesh Yadav", "HC 112 Sunil"],
        "notes": "spoke with the family",
    }
    if outcome is Outcome.transferred:
        body["transferred_to"] = "Agra district (person travelled)"
    return body


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_closes_the_alert(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
    outcome: Outcome,
) -> None:
    alert_id = new_alert(client, partner)
    clock.advance(minutes=40)
    contacted = (clock.now() - timedelta(minutes=10)).isoformat()
    r = close(client, alert_id, auth["sho_jsw"], contacted_at=contacted, **_body(outcome))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["alert"]["status"] == "closed"
    assert out["closure"]["outcome"] == outcome.value
    assert out["closure"]["attended_by"] == ["SI Rakesh Yadav", "HC 112 Sunil"]
    assert out["closure"]["closed_by"] == "user:sho_jsw"
    if outcome is Outcome.transferred:
        assert out["closure"]["transferred_to"] == "Agra district (person travelled)"
    row = alert_row(database, alert_id)
    assert row.outcome == outcome.value
    assert row.closed_at == clock.now()
    assert row.contacted_at == clock.now() - timedelta(minutes=10)
    (event,) = events_of(database, alert_id, "alert.closed")
    assert event.actor == "user:sho_jsw"
    assert event.data["outcome"] == outcome.value
    assert event.data["attended_by"] == ["SI Rakesh Yadav", "HC 112 Sunil"]
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=auth["sho_jsw"]).json()
    assert detail["outcome"] == outcome.value
    assert detail["timings"]["closed_at"] is not None


def test_transferred_requires_whom(
    client: TestClient, partner: PartnerCredentials, auth: Auth, database: Database
) -> None:
    alert_id = new_alert(client, partner)
    r = close(client, alert_id, auth["sho_jsw"], outcome="transferred")
    assert r.status_code == 422
    assert [d["field"] for d in r.json()["detail"]] == ["transferred_to"]
    r = close(client, alert_id, auth["sho_jsw"], outcome="transferred", transferred_to="  ")
    assert r.status_code == 422
    assert alert_row(database, alert_id).status == "new"


@pytest.mark.parametrize(
    "body",
    [{}, {"notes": "closed"}, {"outcome": None}, {"outcome": "resolved"}, {"outcome": ""}],
)
def test_closing_without_a_valid_outcome_is_422_naming_it(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    database: Database,
    body: dict[str, object],
) -> None:
    alert_id = new_alert(client, partner)
    r = client.post(f"/api/v1/alerts/{alert_id}/close", json=body, headers=auth["sho_jsw"])
    assert r.status_code == 422
    assert "outcome" in [d["field"] for d in r.json()["detail"]]
    assert alert_row(database, alert_id).status == "new"
    assert events_of(database, alert_id, "alert.closed") == []


def test_status_endpoint_cannot_close(
    client: TestClient, partner: PartnerCredentials, auth: Auth
) -> None:
    alert_id = new_alert(client, partner)
    r = client.post(
        f"/api/v1/alerts/{alert_id}/status", json={"status": "closed"}, headers=auth["sho_jsw"]
    )
    assert r.status_code == 409


def test_contacted_at_must_be_between_receipt_and_now(
    client: TestClient, partner: PartnerCredentials, auth: Auth, clock: FrozenClock
) -> None:
    alert_id = new_alert(client, partner)
    received = clock.now()
    clock.advance(minutes=30)
    for when in (clock.now() + timedelta(minutes=1), received - timedelta(minutes=1)):
        r = close(
            client, alert_id, auth["sho_jsw"], outcome="false_alarm", contacted_at=when.isoformat()
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["field"] == "contacted_at"
    r = close(
        client, alert_id, auth["sho_jsw"], outcome="false_alarm", contacted_at="2026-11-24T22:30"
    )
    assert r.status_code == 422  # no UTC offset
    r = close(
        client,
        alert_id,
        auth["sho_jsw"],
        outcome="false_alarm",
        contacted_at="9999-12-31T23:00:00-05:00",  # after the last moment a database holds
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "contacted_at", r.text
    r = close(
        client, alert_id, auth["sho_jsw"], outcome="false_alarm", contacted_at=received.isoformat()
    )
    assert r.status_code == 200


def test_closing_a_closed_alert_is_409(
    client: TestClient, partner: PartnerCredentials, auth: Auth, database: Database
) -> None:
    alert_id = new_alert(client, partner)
    assert close(client, alert_id, auth["sho_jsw"], outcome="false_alarm").status_code == 200
    r = close(client, alert_id, auth["sho_jsw"], outcome="deceased")
    assert r.status_code == 409
    assert alert_row(database, alert_id).outcome == "false_alarm"
    assert len(events_of(database, alert_id, "alert.closed")) == 1


def test_close_is_scope_checked(
    client: TestClient, partner: PartnerCredentials, auth: Auth, database: Database
) -> None:
    alert_id = new_alert(client, partner)
    for user in ("sho_saifai", "sp_jaunpur", "dig_varanasi"):
        r = close(client, alert_id, auth[user], outcome="false_alarm")
        assert r.status_code == 404, user
    assert close(client, 999_999, auth["sho_jsw"], outcome="false_alarm").status_code == 404
    assert alert_row(database, alert_id).status == "new"
    # The circle officer above the station may close it.
    assert close(client, alert_id, auth["co_jsw"], outcome="false_alarm").status_code == 200


def test_close_requires_a_bearer(client: TestClient, partner: PartnerCredentials) -> None:
    alert_id = new_alert(client, partner)
    r = client.post(f"/api/v1/alerts/{alert_id}/close", json={"outcome": "false_alarm"})
    assert r.status_code == 401


def test_closing_stops_escalation(
    app: FastAPI,
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
) -> None:
    engine: Engine = app.state.escalation
    alert_id = new_alert(client, partner)
    engine.run_due(clock.now())  # the chain starts and pages level 0
    before = alert_row(database, alert_id)
    assert before.escalation_chain is not None
    paged = len(events_of(database, alert_id, "alert.escalated", "alert.notification"))
    clock.advance(minutes=1)
    assert close(client, alert_id, auth["sho_jsw"], outcome="not_traced").status_code == 200
    after = alert_row(database, alert_id)
    assert after.escalation_fence > before.escalation_fence
    engine.run_due(clock.now())
    stopped = events_of(database, alert_id, "alert.escalation_stopped")
    assert [e.data["reason"] for e in stopped] == ["closed"]
    final = alert_row(database, alert_id)
    assert final.escalation_due_at is None
    clock.advance(hours=2)
    assert engine.run_due(clock.now()) == []
    assert len(events_of(database, alert_id, "alert.escalated", "alert.notification")) == paged


def test_closing_before_the_chain_started_clears_the_deadline(
    client: TestClient, partner: PartnerCredentials, auth: Auth, database: Database
) -> None:
    alert_id = new_alert(client, partner)
    assert alert_row(database, alert_id).escalation_due_at is not None
    assert close(client, alert_id, auth["sho_jsw"], outcome="false_alarm").status_code == 200
    assert alert_row(database, alert_id).escalation_due_at is None


def test_reopen_by_supervisor_with_reason(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"])
    assert close(client, alert_id, auth["sho_jsw"], outcome="not_traced").status_code == 200
    url = f"/api/v1/alerts/{alert_id}/reopen"
    for user in ("sho_jsw", "co_jsw", "dcr_etawah", "cell"):
        r = client.post(url, json={"reason": "new sighting"}, headers=auth[user])
        assert r.status_code == 403, user
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        r = client.post(url, json=body, headers=auth["supervisor"])
        assert r.status_code == 422
        assert r.json()["detail"][0]["field"] == "reason"
    assert alert_row(database, alert_id).status == "closed"
    clock.advance(minutes=5)
    r = client.post(url, json={"reason": "family reports a new post"}, headers=auth["supervisor"])
    assert r.status_code == 200, r.text
    assert r.json()["alert"]["status"] == "acknowledged"
    assert r.json()["closure"]["reopen_reason"] == "family reports a new post"
    row = alert_row(database, alert_id)
    assert (row.status, row.outcome, row.closed_at) == ("acknowledged", None, None)
    assert row.escalation_due_at == clock.now()
    (event,) = events_of(database, alert_id, "alert.reopened")
    assert event.actor == "user:supervisor"
    assert event.data["reason"] == "family reports a new post"
    assert event.data["previous_outcome"] == "not_traced"
    # Open again: a second reopen is refused, and it can be closed anew.
    assert client.post(url, json={"reason": "x"}, headers=auth["admin"]).status_code == 409
    assert (
        close(client, alert_id, auth["sho_jsw"], outcome="found_safe_counselled").status_code == 200
    )
    assert client.post(url, json={"reason": "again"}, headers=auth["admin"]).status_code == 200
