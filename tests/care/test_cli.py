"""`dispatch followups due|escalate`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dispatch.auth.models import PartnerCredentials
from dispatch.care.models import FollowUp
from dispatch.cli import app as cli_app
from dispatch.clock import FrozenClock
from dispatch.db import Database
from tests.care.support import add_circle_officer, close, events_of, new_alert

runner = CliRunner()


def test_due_and_escalate_commands(
    client: TestClient,
    partner: PartnerCredentials,
    auth: dict[str, dict[str, str]],
    clock: FrozenClock,
    database: Database,
    cli_env: None,
) -> None:
    add_circle_officer(database, clock)
    alert_id = new_alert(client, partner)
    close(client, alert_id, auth["sho_jsw"], outcome="hospitalised")
    # The CLI runs on the wall clock: make the 24-hour check-in 13 hours late in real time.
    late = datetime.now(UTC) - timedelta(hours=13)
    # The later check-ins (7 and 30 days after the fixture clock's 2026-11-24) must stay in
    # the wall clock's future whatever day the test runs.
    later = datetime.now(UTC) + timedelta(days=10)
    with database.engine.begin() as conn:
        conn.execute(
            sa.update(FollowUp).where(FollowUp.offset_hours == 24).values(due_at=late)  # type: ignore[arg-type]
        )
        conn.execute(
            sa.update(FollowUp).where(FollowUp.offset_hours != 24).values(due_at=later)  # type: ignore[arg-type]
        )
    result = runner.invoke(cli_app, ["followups", "due"])
    assert result.exit_code == 0, result.output
    assert "ETW-JASWANTNAGAR: 1 due, 1 overdue" in result.output
    result = runner.invoke(cli_app, ["followups", "escalate"])
    assert result.exit_code == 0, result.output
    assert "1 overdue check-in(s) escalated" in result.output
    assert "0 overdue" in runner.invoke(cli_app, ["followups", "escalate"]).output
    assert len(events_of(database, alert_id, "followup.overdue")) == 1
