"""Care fixtures: the root fixture users, created with one password hash (argon2 is slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from dispatch.auth import service as auth_service
from dispatch.auth.models import Role, User
from dispatch.clock import FrozenClock, SystemClock
from dispatch.config import Settings, get_settings
from dispatch.db import Database
from tests.helpers import JASWANTNAGAR_ID

PASSWORD = "correct-horse-1"
USERS: dict[str, tuple[Role, str | None]] = {
    "cell": (Role.operator, None),
    "supervisor": (Role.supervisor, None),
    "admin": (Role.admin, None),
    "sho_jsw": (Role.station, JASWANTNAGAR_ID),
    "sho_saifai": (Role.station, "ETW-SAIFAI"),
    "co_jsw": (Role.circle, "Jaswantnagar"),
    "dcr_etawah": (Role.district, "Etawah"),
    "sp_jaunpur": (Role.district, "Jaunpur"),
    "dig_kanpur": (Role.range, "Kanpur"),
    "dig_varanasi": (Role.range, "Varanasi"),
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash shared by every fixture user."""
    return auth_service.hash_password(PASSWORD)


@pytest.fixture
def users(database: Database, password_hash: str) -> dict[str, tuple[Role, str | None]]:
    """The root fixture's users (same names, roles and password), created faster."""
    now = SystemClock().now()
    with database.session() as session:
        for name, (role, unit) in USERS.items():
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
    return dict(USERS)


@pytest.fixture
def auth(
    client: TestClient,
    database: Database,
    settings: Settings,
    clock: FrozenClock,
    users: dict[str, tuple[Role, str | None]],
) -> dict[str, dict[str, str]]:
    """Bearer headers for every fixture user (issued directly: logging in is tested elsewhere)."""
    out: dict[str, dict[str, str]] = {}
    with database.session() as session:
        for user in session.exec(select(User)).all():
            token, _ = auth_service.issue_token(user=user, settings=settings, now=clock.now())
            out[user.username] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.fixture
def settings(database: Database) -> Settings:
    """Test settings; tokens outlive the 30-day follow-up so tests can move the clock."""
    return Settings(
        env="test",
        database_url=database.url,
        scheduler_enabled=False,
        token_ttl_minutes=60 * 24 * 60,
    )


@pytest.fixture
def cli_env(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI reads the test database."""
    monkeypatch.setenv("DISPATCH_DATABASE_URL", database.url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
