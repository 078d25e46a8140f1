"""The tamper-evident record: `dispatch audit verify` names the first broken event after an
UPDATE, a DELETE or an INSERT done directly in the database; viewing personal data is audited.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from dispatch.alerts import events
from dispatch.alerts.models import AlertEvent
from dispatch.auth.models import PartnerCredentials
from dispatch.cli import app as cli_app
from dispatch.clock import FrozenClock
from dispatch.db import Database
from tests.care.support import close, events_of, new_alert

Auth = dict[str, dict[str, str]]
runner = CliRunner()


@pytest.fixture
def history(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
    cli_env: None,
) -> int:
    """A few worked alerts on the timeline; returns how many events there are."""
    for outcome in ("attempt_interrupted", "false_alarm"):
        alert_id = new_alert(client, partner)
        clock.advance(minutes=5)
        client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"])
        client.post(
            f"/api/v1/alerts/{alert_id}/counselling",
            json={"recipient": "person", "by": "counsellor"},
            headers=auth["sho_jsw"],
        )
        assert close(client, alert_id, auth["sho_jsw"], outcome=outcome).status_code == 200
    with database.session() as session:
        count = events.last_event_id(session)
    assert count >= 8
    return count


def verify() -> Result:
    """Run `dispatch audit verify`."""
    return runner.invoke(cli_app, ["audit", "verify"])


def _execute(database: Database, statement: sa.Executable, **params: object) -> None:
    with database.engine.begin() as conn:
        conn.execute(statement, params)


def _closed_event_id(database: Database) -> int:
    with database.engine.connect() as conn:
        value = conn.execute(
            sa.text("SELECT min(id) FROM alert_event WHERE type = 'alert.closed'")
        ).scalar_one()
    return int(value)


def test_intact_chain_verifies(history: int) -> None:
    result = verify()
    assert result.exit_code == 0, result.output
    assert f"OK: {history} events" in result.output


def test_updated_outcome_is_caught(history: int, database: Database) -> None:
    target = _closed_event_id(database)
    # Someone rewrites "attempt interrupted" as "false alarm" straight in the database.
    with database.session() as session:
        event = session.get(AlertEvent, target)
        assert event is not None
        data = {**event.data, "outcome": "false_alarm"}
    _execute(
        database,
        sa.update(AlertEvent).where(AlertEvent.id == target).values(data=data),  # type: ignore[arg-type]
    )
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at event {target}:" in result.output
    assert "altered" in result.output


def test_updated_actor_is_caught(history: int, database: Database) -> None:
    target = _closed_event_id(database)
    _execute(
        database,
        sa.text("UPDATE alert_event SET actor = 'user:someone_else' WHERE id = :id"),
        id=target,
    )
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at event {target}:" in result.output


def test_deleted_event_is_caught(history: int, database: Database) -> None:
    target = _closed_event_id(database)
    _execute(database, sa.text("DELETE FROM alert_event WHERE id = :id"), id=target)
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at event {target}:" in result.output
    assert "missing" in result.output


def test_deleted_last_event_is_caught(history: int, database: Database) -> None:
    _execute(database, sa.text("DELETE FROM alert_event WHERE id = :id"), id=history)
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at event {history}:" in result.output


def test_inserted_copy_is_caught(history: int, database: Database) -> None:
    target = _closed_event_id(database)
    _execute(
        database,
        sa.text(
            "INSERT INTO alert_event (id, alert_id, type, at, actor, data, data_digest, scope, "
            "internal, prev_hash, hash) SELECT :new, alert_id, type, at, actor, data, "
            "data_digest, scope, internal, prev_hash, hash FROM alert_event WHERE id = :src"
        ),
        new=history + 1,
        src=target,
    )
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at event {history + 1}:" in result.output


def test_inserted_event_with_a_forged_hash_is_caught(history: int, database: Database) -> None:
    # The forger knows the algorithm and chains the new row correctly: only the sequence row
    # (locked by every append) still records where the chain really ends.
    with database.session() as session:
        last = session.get(AlertEvent, history)
        assert last is not None
        forged = events.compute_hash(
            event_id=history + 1,
            alert_id=last.alert_id,
            type_="alert.note",
            at=last.at,
            actor="user:sho_jsw",
            digest=events.data_digest({"text": "person was fine"}),
            scope=last.scope,
            internal=False,
            prev_hash=last.hash,
        )
        session.add(
            AlertEvent(
                id=history + 1,
                alert_id=last.alert_id,
                type="alert.note",
                at=last.at,
                actor="user:sho_jsw",
                data={"text": "person was fine"},
                data_digest=events.data_digest({"text": "person was fine"}),
                scope=last.scope,
                internal=False,
                prev_hash=last.hash,
                hash=forged,
            )
        )
        session.commit()
    result = verify()
    assert result.exit_code == 1
    assert f"event {history + 1}" in result.output
    assert "sequence" in result.output


def test_viewing_personal_data_is_audited_with_the_viewer(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    database: Database,
    cli_env: None,
) -> None:
    alert_id = new_alert(client, partner)
    for viewer in ("sho_jsw", "dcr_etawah"):
        detail = client.get(f"/api/v1/alerts/{alert_id}", headers=auth[viewer]).json()
        assert detail["subject"]["phones"] == ["+919876543210"]
        # The audit trail is not shown on the console's timeline.
        assert "audit.pii_viewed" not in [e["type"] for e in detail["events"]]
    viewed = events_of(database, alert_id, "audit.pii_viewed")
    assert [(e.actor, e.data["what"], e.internal) for e in viewed] == [
        ("user:sho_jsw", "subject", True),
        ("user:dcr_etawah", "subject", True),
    ]
    # Outside scope: nothing shown, nothing recorded.
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=auth["sho_saifai"]).status_code == 404
    assert len(events_of(database, alert_id, "audit.pii_viewed")) == 2
    # The audit events are on the chain: removing one is caught like any other.
    assert verify().exit_code == 0
    _execute(database, sa.text("DELETE FROM alert_event WHERE id = :id"), id=viewed[0].id)
    result = verify()
    assert result.exit_code == 1
    assert f"BROKEN at event {viewed[0].id}:" in result.output
