"""Drill mode: DISPATCH_DRILL_SPEED divides every policy duration; everyone can see it is on."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from tests.escalation.support import (
    add_chain_contacts,
    alert_row,
    events_of,
    levels_fired,
    new_alert,
    tick,
    twilio_app,
    twilio_settings,
)
from tests.notify.fake_twilio import RecordingTwilio


@pytest.fixture
def drill_app(database: Database, clock: FrozenClock, twilio: RecordingTwilio) -> FastAPI:
    add_chain_contacts(database, clock)
    return twilio_app(twilio_settings(database, drill_speed=60), clock, database, twilio)


def test_drill_speed_60_turns_the_chain_minutes_into_seconds(
    drill_app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    app = drill_app
    with TestClient(app) as client:
        alert_id = new_alert(client, partner)
        tick(app, clock)
        assert levels_fired(database, alert_id) == [0]
        tick(app, clock, seconds=2.9)
        assert levels_fired(database, alert_id) == [0]
        tick(app, clock, seconds=0.1)  # 3 s = 3 min / 60
        assert levels_fired(database, alert_id) == [0, 1]
        tick(app, clock, seconds=3)  # 6 s
        assert levels_fired(database, alert_id) == [0, 1, 2]
        tick(app, clock, seconds=4.9)
        assert levels_fired(database, alert_id) == [0, 1, 2]
        tick(app, clock, seconds=0.1)  # 11 s
        assert levels_fired(database, alert_id) == [0, 1, 2, 3]
        tick(app, clock, seconds=4)  # repeat every 4 s
        assert levels_fired(database, alert_id) == [0, 1, 2, 3, 3]

        # Messages say it is a drill, and give the minutes the policy means (3, not 0).
        bodies = [str(s.data.get("Body", "")) for s in twilio.sent if s.kind == "sms"]
        assert all(b.startswith(("[DRILL] ", "[अभ्यास] ")) for b in bodies)
        co = next(s for s in twilio.sent if s.kind == "sms" and "NOT acknowledged" in str(s.data))
        assert "NOT acknowledged for 3 min" in str(co.data["Body"])
        call = str(twilio.of("voice")[0].data["Twiml"])
        assert "[DRILL]" in call and "[अभ्यास]" in call
        escalated = events_of(database, alert_id, "alert.escalated")
        assert all(e.data["drill_speed"] == 60 for e in escalated)


def test_drill_speed_also_divides_the_stall_timers(
    drill_app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    database: Database,
    users: dict[str, object],
) -> None:
    from tests.helpers import login

    app = drill_app
    with TestClient(app) as client:
        alert_id = new_alert(client, partner)
        tick(app, clock)
        assert (
            client.post(
                f"/api/v1/alerts/{alert_id}/ack", headers=login(client, "sho_jsw")
            ).status_code
            == 200
        )
        tick(app, clock)
        stopped = events_of(database, alert_id, "alert.escalation_stopped")[0]
        acked = alert_row(database, alert_id).acknowledged_at
        assert acked is not None
        assert (
            stopped.data["en_route_due_by"] == (acked.replace(microsecond=0) + _s(10)).isoformat()
        )
        tick(app, clock, seconds=9.9)
        assert levels_fired(database, alert_id) == [0]
        tick(app, clock, seconds=0.1)  # 10 min / 60
        assert levels_fired(database, alert_id) == [0, 1]
        assert events_of(database, alert_id, "alert.escalated")[-1].data["reason"] == (
            "stalled_en_route"
        )


def _s(seconds: float) -> object:
    from datetime import timedelta

    return timedelta(seconds=seconds)


def test_the_console_can_tell_drill_mode_is_on(
    drill_app: FastAPI, users: dict[str, object]
) -> None:
    from tests.helpers import login

    with TestClient(drill_app) as client:
        r = client.get("/api/v1/escalation/info", headers=login(client, "sho_jsw"))
        assert r.status_code == 200
        assert r.json() == {
            "drill_mode": True,
            "drill_speed": 60.0,
            "transport": "twilio",
            "scheduler": False,
            "sweep_interval_s": 0.5,
        }
        assert client.get("/api/v1/escalation/info").status_code == 401


def test_drill_mode_is_off_by_default_and_speed_must_be_positive(
    app: FastAPI, users: dict[str, object]
) -> None:
    from pydantic import ValidationError

    from tests.helpers import login

    with TestClient(app) as client:
        info = client.get("/api/v1/escalation/info", headers=login(client, "cell")).json()
        assert info["drill_mode"] is False and info["drill_speed"] == 1.0
        assert info["sweep_interval_s"] == 15.0
    with pytest.raises(ValidationError):
        Settings(env="test", drill_speed=0)
    assert Settings(env="test", drill_speed=60).scaled(180) == 3.0
