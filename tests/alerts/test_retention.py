"""Retention purge: personal data of long-closed alerts goes, statistics and the chain stay."""

from __future__ import annotations

import pytest
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


def test_the_nightly_purge_command_counts_then_removes(
    client: TestClient,
    partner: PartnerCredentials,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from typer.testing import CliRunner

    from dispatch.cli import app
    from dispatch.clock import SystemClock
    from dispatch.config import get_settings

    old = signed_post(client, "/api/v1/alerts", make_alert(), partner).json()["id"]
    recent = signed_post(client, "/api/v1/alerts", make_alert(), partner).json()["id"]
    now = SystemClock().now()
    with database.session() as session:
        for alert_id, closed in ((old, now - timedelta(days=400)), (recent, now)):
            alert = session.get(Alert, alert_id)
            assert alert is not None
            alert.status, alert.closed_at = AlertStatus.closed.value, closed
            session.add(alert)
        session.commit()

    def sealed() -> dict[int, str]:
        with database.session() as session:
            return {i: session.get(Alert, i).subject_sealed for i in (old, recent)}  # type: ignore[union-attr]

    monkeypatch.setenv("DISPATCH_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        dry = runner.invoke(app, ["retention", "purge", "--dry-run"])
        assert dry.exit_code == 0 and "would remove the personal data of 1 alerts" in dry.output
        assert all(sealed().values())  # a dry run changes nothing
        done = runner.invoke(app, ["retention", "purge"])
        assert done.exit_code == 0 and "removed the personal data of 1 alerts" in done.output
        after = sealed()
        assert after[old] == "" and after[recent]  # closed today: kept
        shorter = runner.invoke(app, ["retention", "purge", "--days", "0"])
        assert shorter.exit_code != 0 and "days" in shorter.output  # at least one day
        again = runner.invoke(app, ["retention", "purge"])
        assert "of 0 alerts" in again.output
    finally:
        get_settings.cache_clear()
