"""An overdue check-in reaches the consoles of the station's chain live."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import select

from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role, User
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import jobs as escalation_jobs
from tests.care.support import add_circle_officer
from tests.helpers import make_alert
from tests.live.support import Console, api, has_types, post_alert, running


def test_followup_overdue_is_pushed_live(
    app: FastAPI,
    partner: PartnerCredentials,
    users: dict[str, tuple[Role, str | None]],
    settings: Settings,
    clock: FrozenClock,
    database: Database,
) -> None:
    add_circle_officer(database, clock)
    token: dict[str, str] = {}
    with database.session() as session:
        for user in session.exec(select(User)).all():
            token[user.username], _ = auth_service.issue_token(
                user=user, settings=settings, now=clock.now()
            )
    with running(app) as server:
        alert_id = post_alert(server.http, partner, make_alert())
        r = api(
            server.http,
            token["sho_jsw"],
            "POST",
            f"/api/v1/alerts/{alert_id}/close",
            json={"outcome": "hospitalised"},
        )
        assert r.status_code == 200, r.text
        with (
            Console(server.ws, token["co_jsw"]) as co,
            Console(server.ws, token["sho_saifai"]) as other,
        ):
            clock.advance(hours=36)
            escalation_jobs.run_registered(app, clock.now())
            got = co.events_until(has_types("followup.overdue", alert_id=alert_id))
            overdue = next(e for e in got if e["type"] == "followup.overdue")
            assert overdue["data"]["offset_hours"] == 24
            assert [e for e in other.quiet(0.5) if e.get("alert_id") == alert_id] == []
