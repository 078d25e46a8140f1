"""Alembic migrations, run programmatically: `dispatch serve` and the CLI upgrade the schema.

Tests build the schema from the models (`Database.create_all`); `tests/test_migrations.py`
checks that the migrations produce exactly that schema, so a model change without its
migration fails CI.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from dispatch.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
# Several service processes may start at once on PostgreSQL: one migrates, the others wait.
_ADVISORY_LOCK = 7_274_001


def alembic_config(url: str) -> Config:
    """An Alembic config for this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to date, then make sure the timeline sequence row exists.

    A database created before migrations existed (tables but no `alembic_version`) is
    adopted at the baseline revision, then upgraded.
    """
    from dispatch.alerts import events

    with database.engine.begin() as conn:
        if not database.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        tables = set(sa.inspect(conn).get_table_names())
        config = alembic_config(database.url)
        config.attributes["connection"] = conn
        if "alembic_version" not in tables and "alert" in tables:
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
    with database.session() as session:
        events.ensure_sequence(session)
        session.commit()
