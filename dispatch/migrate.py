"""Alembic migrations, run programmatically (serve upgrades the schema on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from dispatch.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to date, then make sure the timeline sequence row exists."""
    from dispatch.alerts import events

    with database.engine.begin() as conn:
        config = alembic_config(database.url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    with database.session() as session:
        events.ensure_sequence(session)
        session.commit()
