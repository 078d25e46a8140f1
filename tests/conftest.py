"""Fixtures: a fresh database per test on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import SQLModel, select

from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role, User
from dispatch.clock import FrozenClock, SystemClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.main import create_app
from tests.helpers import JASWANTNAGAR_ID

# One headless Chromium for every package's browser tests (see tests/browser.py).
pytest_plugins = ["tests.browser"]

POSTGRES_URL = os.environ.get("DISPATCH_TEST_POSTGRES_URL")
REPO = Path(__file__).resolve().parents[1]
SHARED_GEO = REPO.parent / "shared" / "data" / "geo"

BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def _check_postgres() -> None:
    if not POSTGRES_URL:
        if os.environ.get("DISPATCH_REQUIRE_POSTGRES"):
            raise pytest.UsageError(
                "DISPATCH_REQUIRE_POSTGRES is set but DISPATCH_TEST_POSTGRES_URL is not"
            )
        return
    try:
        engine = sa.create_engine(Database(POSTGRES_URL).url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        raise pytest.UsageError(
            f"PostgreSQL at DISPATCH_TEST_POSTGRES_URL is unreachable: {exc}"
        ) from exc


def pytest_configure(config: pytest.Config) -> None:
    """CI must test against PostgreSQL: fail, not skip, if it is configured but down."""
    _check_postgres()


_pg_database: Database | None = None


def _postgres_database() -> Database:
    global _pg_database
    if _pg_database is None:
        assert POSTGRES_URL
        _pg_database = Database(POSTGRES_URL)
        import dispatch.models  # noqa: F401

        with _pg_database.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        _pg_database.create_all()
    return _pg_database


def reset_postgres(database: Database) -> None:
    """Empty every table (fast isolation between tests)."""
    import dispatch.models  # noqa: F401

    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    database.id_blocks.clear()  # ids drawn ahead from the sequences just restarted
    database.create_all()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty database: a SQLite file, or the emptied PostgreSQL test database."""
    if request.param == "postgres":
        db = _postgres_database()
        reset_postgres(db)
        yield db
        return
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.create_all()
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A fresh SQLite database only (tests that do not depend on the backend)."""
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.create_all()
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that moves only when the test says so (starts 2026-11-24 22:16 IST)."""
    return FrozenClock()


@pytest.fixture
def settings(database: Database) -> Settings:
    """Test settings on the fixture database; no background scheduler unless a test asks."""
    return Settings(env="test", database_url=database.url, scheduler_enabled=False)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, database: Database) -> FastAPI:
    """The service, built on the test settings, clock and database."""
    return create_app(settings, clock=clock, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client (runs the app's start-up and shutdown)."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def partner(database: Database) -> PartnerCredentials:
    """A registered partner platform's key and secret."""
    from dispatch.clock import SystemClock

    with database.session() as session:
        creds = auth_service.create_partner(session=session, name="meta", now=SystemClock().now())
        session.commit()
    return creds


PASSWORD = "correct-horse-1"
# A user per role around the Jaswantnagar seed case.
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
    """One argon2 hash for every fixture user (hashing is slow on purpose)."""
    return auth_service.hash_password(PASSWORD)


@pytest.fixture
def users(database: Database, password_hash: str) -> dict[str, tuple[Role, str | None]]:
    """The fixture users, created directly (password correct-horse-1)."""
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
    """Bearer headers for every fixture user, by username (issued directly: logging in is
    tested in tests/auth)."""
    out: dict[str, dict[str, str]] = {}
    with database.session() as session:
        for user in session.exec(select(User)).all():
            token, _ = auth_service.issue_token(user=user, settings=settings, now=clock.now())
            out[user.username] = {"Authorization": f"Bearer {token}"}
    return out
