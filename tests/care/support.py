"""Builders for the care tests: alerts, closing, the circle officer's contact."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import select

from dispatch.alerts.models import Alert, AlertEvent
from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import ContactCreate, Post
from tests.helpers import make_alert, signed_post

CO_PHONE = "+919876500003"


def new_alert(client: TestClient, partner: PartnerCredentials, **overrides: Any) -> int:
    """Post the seed-case alert (Jaswantnagar); returns its id."""
    r = signed_post(client, "/api/v1/alerts", make_alert(**overrides), partner)
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


def close(client: TestClient, alert_id: int, headers: dict[str, str], **body: Any) -> Response:
    """POST /close with the given body."""
    response: Response = client.post(f"/api/v1/alerts/{alert_id}/close", json=body, headers=headers)
    return response


def alert_row(database: Database, alert_id: int) -> Alert:
    """The alert as stored."""
    with database.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert


def events_of(database: Database, alert_id: int, *types: str) -> list[AlertEvent]:
    """The alert's timeline (optionally only some types, internal included), oldest first."""
    with database.session() as session:
        query = select(AlertEvent).where(AlertEvent.alert_id == alert_id)
        rows = list(session.exec(query.order_by(AlertEvent.id)).all())  # type: ignore[arg-type]
    return [e for e in rows if not types or e.type in types]


def add_circle_officer(database: Database, clock: FrozenClock) -> int:
    """The Jaswantnagar circle officer's contact; returns its id."""
    with database.session() as session:
        contact = escalation_service.add_contact(
            session=session,
            body=ContactCreate(
                name="CO Jaswantnagar",
                post=Post.circle_officer,
                unit="Jaswantnagar",
                phone=CO_PHONE,
                language="en",
            ),
            index=None,
            now=clock.now(),
        )
        session.commit()
        assert contact.id is not None
        return contact.id
