"""Retention purge: personal data of long-closed alerts goes, statistics and the chain stay."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from dispatch.alerts import events, retention
from dispatch.alerts.models import Alert, AlertStatus
from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from tests.helpers import login, make_alert, signed_post


def test_purge_removes_personal_data_of_old_closed_alerts(
    client: TestClient,
    partner: PartnerCredentials,
    auth: dict[str, dict[str, str]],
    database: Database,
    clock: FrozenClock,
) -> None:
    old = signed_post(client, "/api/v1/alerts", make_alert(), partner).json()["id"]
    open_alert = signed_post(client, "/api/v1/alerts", make_alert(), partner).json()["id"]
    client.post(
        f"/api/v1/alerts/{old}/notes",
        json={"text": "spoke to his mother Sunita"},
        headers=auth["sho_jsw"],
    )
    with database.session() as session:
        alert = session.get(Alert, old)
        assert alert is not None
        alert.status = AlertStatus.closed.value
        alert.closed_at = clock.now()
        alert.outcome = "found_safe_counselled"
        session.add(alert)
        session.commit()
    clock.advance(days=366)
    with database.session() as session:
        assert (
            retention.purge(
                session=session, now=clock.now(), retention_days=365, dry_run=True
            ).alerts
            == 1
        )
        result = retention.purge(session=session, now=clock.now(), retention_days=365)
    assert result.alerts == 1 and result.events_redacted == 1
    with database.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(sa.text("SELECT * FROM alert_event")))
    assert "Sunita" not in dump
    headers = login(client, "cell")  # a year on: a fresh sign-in
    purged = client.get(f"/api/v1/alerts/{old}", headers=headers).json()
    assert purged["subject"] == {} and purged["outcome"] == "found_safe_counselled"
    assert purged["timings"]["received_at"] is not None
    kept = client.get(f"/api/v1/alerts/{open_alert}", headers=headers).json()
    assert kept["subject"]["name"] == "Ravi Kumar"
    with database.session() as session:
        assert events.verify_chain(session)[1] is None
        # A second run finds nothing more to purge.
        assert retention.purge(session=session, now=clock.now(), retention_days=365).alerts == 0
