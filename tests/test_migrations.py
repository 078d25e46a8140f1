"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL,
and `dispatch serve`'s start-up path adopts a database created before migrations existed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import dispatch.models  # noqa: F401 - every table on the metadata
from dispatch import migrate
from dispatch.alerts.models import EventSequence
from dispatch.db import Database
from tests.conftest import POSTGRES_URL, _postgres_database


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def _drop_everything(database: Database) -> None:
    with database.engine.begin() as conn:
        if database.is_sqlite:
            SQLModel.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        else:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))


def test_migrations_match_the_models_on_sqlite(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/m.db")
    migrate.upgrade(database)
    assert _differences(database) == []
    with database.session() as session:
        assert session.get(EventSequence, 1) is not None
    migrate.upgrade(database)  # a second start changes nothing
    database.dispose()


def test_a_database_created_from_the_models_is_adopted(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/old.db")
    database.create_all()
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version is not None
    assert _differences(database) == []
    database.dispose()


def test_migrations_match_the_models_on_postgres() -> None:
    if not POSTGRES_URL:
        import pytest

        pytest.skip("needs DISPATCH_TEST_POSTGRES_URL")
    database = _postgres_database()
    _drop_everything(database)
    try:
        migrate.upgrade(database)
        assert _differences(database) == []
    finally:
        _drop_everything(database)
        database.create_all()  # the other tests' schema
