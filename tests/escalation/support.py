"""Fixtures and helpers for the escalation and notification tests (Twilio through its SDK)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import select

from dispatch.alerts.models import Alert, AlertEvent
from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import service as escalation_service
from dispatch.escalation.engine import Engine, Outcome
from dispatch.escalation.models import ContactCreate, Post
from dispatch.main import create_app
from tests.helpers import JASWANTNAGAR_ID, make_alert, signed_post
from tests.notify.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE,
    WHATSAPP_FROM,
    RecordingTwilio,
    sign,
)

PHONES = {
    "sho_jsw": "+919876500001",
    "sho_saifai": "+919876500002",
    "co_jsw": "+919876500003",
    "dcr_etawah": "+919876500004",
    "range_kanpur": "+919876500005",
    "state_cell": "+919876500006",
}
CHAIN: list[tuple[str, Post, str | None, str]] = [
    ("sho_jsw", Post.sho, JASWANTNAGAR_ID, "hi"),
    ("sho_saifai", Post.sho, "ETW-SAIFAI", "hi"),
    ("co_jsw", Post.circle_officer, "Jaswantnagar", "en"),
    ("dcr_etawah", Post.district_control, "Etawah", "hi"),
    ("range_kanpur", Post.range_office, "Kanpur", "en"),
    ("state_cell", Post.state_cell, None, "en"),
]


def twilio_settings(database: Database, **overrides: Any) -> Settings:
    """Test settings with a (fake) Twilio account and the public URL webhooks are signed for."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database.url,
        "scheduler_enabled": False,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM_NUMBER,
        "twilio_whatsapp_from": WHATSAPP_FROM,
        "public_base_url": PUBLIC_BASE,
    }
    values.update(overrides)
    return Settings(**values)


def twilio_app(
    settings: Settings, clock: FrozenClock, database: Database, twilio: RecordingTwilio
) -> FastAPI:
    """The service whose Twilio client talks to the recorder instead of api.twilio.com."""
    app = create_app(settings, clock=clock, database=database)
    app.state.twilio_http_client = twilio
    return app


@pytest.fixture
def twilio() -> RecordingTwilio:
    """Records every request the twilio SDK makes."""
    return RecordingTwilio()


@pytest.fixture
def settings(database: Database) -> Settings:
    """Twilio enabled (through the recorder), no background scheduler: tests move the clock."""
    return twilio_settings(database)


@pytest.fixture
def app(
    settings: Settings, clock: FrozenClock, database: Database, twilio: RecordingTwilio
) -> FastAPI:
    """The service on the test database and clock, sending through the recorder."""
    return twilio_app(settings, clock, database, twilio)


@pytest.fixture
def contacts(database: Database, clock: FrozenClock) -> dict[str, int]:
    """One contact per post up the Jaswantnagar chain (and Saifai's SHO), by name."""
    return add_chain_contacts(database, clock)


def add_chain_contacts(database: Database, clock: FrozenClock) -> dict[str, int]:
    """Store the CHAIN contacts; returns their ids by name."""
    ids: dict[str, int] = {}
    with database.session() as session:
        for name, post, unit, language in CHAIN:
            contact = escalation_service.add_contact(
                session=session,
                body=ContactCreate(
                    name=name, post=post, unit=unit, phone=PHONES[name], language=language
                ),
                index=None,
                now=clock.now(),
            )
            assert contact.id is not None
            ids[name] = contact.id
        session.commit()
    return ids


def new_alert(client: TestClient, partner: PartnerCredentials, **overrides: Any) -> int:
    """Post the seed-case alert (Jaswantnagar, suicide risk); returns its id."""
    r = signed_post(client, "/api/v1/alerts", make_alert(**overrides), partner)
    assert r.status_code in (200, 201), r.text
    return int(r.json()["id"])


def engine_of(app: FastAPI) -> Engine:
    """The app's escalation engine."""
    engine: Engine = app.state.escalation
    return engine


def tick(app: FastAPI, clock: FrozenClock, **advance: float) -> list[Outcome]:
    """Move the clock, then run every due step as the sweeper would."""
    if advance:
        clock.advance(**advance)
    return engine_of(app).run_due(clock.now())


def alert_row(database: Database, alert_id: int) -> Alert:
    """The alert as stored."""
    with database.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert


def events_of(database: Database, alert_id: int, *types: str) -> list[AlertEvent]:
    """The alert's timeline (optionally only some types), oldest first."""
    with database.session() as session:
        query = select(AlertEvent).where(AlertEvent.alert_id == alert_id)
        rows = list(session.exec(query.order_by(AlertEvent.id)).all())  # type: ignore[arg-type]
    return [e for e in rows if not types or e.type in types]


def levels_fired(database: Database, alert_id: int) -> list[int]:
    """The levels paged so far, in order (level 0 included)."""
    fired = events_of(database, alert_id, "alert.escalation_started", "alert.escalated")
    return [int(e.data["level"]) for e in fired if e.data.get("level") is not None]


def webhook(
    client: TestClient, path_query: str, params: dict[str, str], *, signature: str | None = None
) -> Response:
    """POST a form as Twilio would, signed for the public URL unless a signature is given."""
    url = PUBLIC_BASE + path_query
    sig = sign(url, params) if signature is None else signature
    return client.post(path_query, data=params, headers={"X-Twilio-Signature": sig})


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Poll until predicate() is true; the seconds it took (fails after timeout_s)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
    return time.monotonic() - started
