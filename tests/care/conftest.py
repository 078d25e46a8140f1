"""Care fixtures: the root fixture users, created with one password hash (argon2 is slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dispatch.config import Settings, get_settings
from dispatch.db import Database


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
