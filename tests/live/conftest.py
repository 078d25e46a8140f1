"""Fixtures for live tests: the app served by a real uvicorn, users, tokens and a partner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlmodel import select

from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role, User
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from tests.live.support import LiveServer

PASSWORD = "correct-horse-1"


@pytest.fixture
def server(app: FastAPI, partner: PartnerCredentials) -> Iterator[LiveServer]:
    """The test app on a real uvicorn server, with a registered partner."""
    live = LiveServer(app)
    live.start()
    yield live
    live.stop()


@pytest.fixture
def tokens(
    database: Database,
    settings: Settings,
    clock: FrozenClock,
    users: dict[str, tuple[Role, str | None]],
) -> dict[str, str]:
    """Bearer tokens for every fixture user (issued directly: logging in is tested elsewhere)."""
    out: dict[str, str] = {}
    with database.session() as session:
        for user in session.exec(select(User)).all():
            out[user.username], _ = auth_service.issue_token(
                user=user, settings=settings, now=clock.now()
            )
    return out
