"""Small builders shared by the tests: payloads, signed requests, users."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from dispatch.alerts import events
from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role
from dispatch.db import Database

JASWANTNAGAR = (26.8860, 78.9128)
JASWANTNAGAR_ID = "ETW-JASWANTNAGAR"
_ids = itertools.count(1)


def make_alert(**overrides: Any) -> dict[str, Any]:
    """A partner alert body; the seed case (Jaswantnagar, Etawah) unless overridden."""
    body: dict[str, Any] = {
        "external_id": f"meta-{next(_ids)}",
        "category": "suicide_risk",
        "detected_at": "2026-11-24T22:14:00+05:30",
        "subject": {
            "name": "Ravi Kumar",
            "handle": "@ravi.k",
            "profile_url": "https://instagram.com/ravi.k",
            "phones": ["+91 98765 43210"],
            "emails": ["ravi@example.com"],
        },
        "content": {
            "platform": "instagram",
            "kind": "story",
            "text": "farewell message",
            "urls": ["https://instagram.com/stories/ravi.k/1"],
        },
        "location": {
            "lat": JASWANTNAGAR[0],
            "lon": JASWANTNAGAR[1],
            "accuracy_m": 50,
            "source": "gps",
        },
    }
    body.update(overrides)
    return body


def encode(body: Any) -> bytes:
    """Bytes as a partner would send them."""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def signed_post(
    client: TestClient,
    path: str,
    body: Any,
    creds: PartnerCredentials,
    *,
    content_type: str = "application/json",
    signature: str | None = None,
) -> Response:
    """POST with the partner's key and HMAC signature over the exact bytes."""
    raw = encode(body)
    headers = {
        "X-Api-Key": creds.api_key,
        "X-Signature": signature or auth_service.sign_body(creds.secret, raw),
        "Content-Type": content_type,
    }
    return client.post(path, content=raw, headers=headers)


def add_user(
    database: Database,
    username: str,
    role: Role,
    unit: str | None = None,
    password: str = "correct-horse-1",
    phone: str | None = None,
) -> None:
    """Create a user directly in the database."""
    from dispatch.clock import SystemClock

    with database.session() as session:
        auth_service.create_user(
            session=session,
            username=username,
            password=password,
            role=role,
            unit=unit,
            now=SystemClock().now(),
            phone=phone,
        )
        session.commit()


def login(client: TestClient, username: str, password: str = "correct-horse-1") -> dict[str, str]:
    """Bearer headers for a user."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def commit_event(
    database: Database, before_commit: Callable[[Session], object] | None = None
) -> None:
    """Commit one timeline event (a note on no alert) in a transaction of its own;
    `before_commit` may mark the session first."""
    with database.session() as session:
        events.append(
            session,
            alert_id=None,
            type_=events.EventType.note,
            at=datetime.now(UTC),
            actor="test",
            scope="|",
            data={},
        )
        if before_commit is not None:
            before_commit(session)
        session.commit()
