"""Fixtures for live tests: the app served by a real uvicorn, users, tokens and a partner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlmodel import select

from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role, User
from dispatch.clock import FrozenClock, SystemClock
from dispatch.config import Settings
from dispatch.db import Database
from tests.live.support import LiveServer

PASSWORD = "correct-horse-1"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash for every fixture user (hashing is slow on purpose)."""
    return auth_service.hash_password(PASSWORD)


@pytest.fixture
def users(database: Database, password_hash: str) -> dict[str, tuple[Role, str | None]]:
    """The root fixture's users (same names, roles and password), created faster."""
    table: dict[str, tuple[Role, str | None]] = {
        "cell": (Role.operator, None),
        "supervisor": (Role.supervisor, None),
        "admin": (Role.admin, None),
        "sho_jsw": (Role.station, "ETW-JASWANTNAGAR"),
        "sho_saifai": (Role.station, "ETW-SAIFAI"),
        "co_jsw": (Role.circle, "Jaswantnagar"),
        "dcr_etawah": (Role.district, "Etawah"),
        "sp_jaunpur": (Role.district, "Jaunpur"),
        "dig_kanpur": (Role.range, "Kanpur"),
        "dig_varanasi": (Role.range, "Varanasi"),
    }
    now = SystemClock().now()
    with database.session() as session:
        for name, (role, unit) in table.items():
            session.add(
                User(
                    username=name,
                    full_name=name,
                    password_hash=password_hash,
                    role=role.value,
                    unit=unit,
                    created_at=now,
                )
            )
        session.commit()
    return table


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
