"""A commit with timeline events writes everything the transaction held for it (rows and
updates left for the commit, the events, the chain's head) or nothing at all.

On PostgreSQL those writes go out pipelined, the COMMIT with the events; on SQLite one by
one. Both must keep the same promises: the one-row guard of update_later still fails the
commit, a database error is SQLAlchemy's and leaves nothing behind, a savepoint's release
does not commit the transaction around it, and the next transaction works as usual.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from dispatch.alerts import events
from dispatch.alerts.events import Committed, EventType
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.writes import insert_rows_later, update_later
from tests.conftest import POSTGRES_URL

METADATA = sa.MetaData()
NOTES = sa.Table(
    "test_commit_note",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String, nullable=False, unique=True),
    sa.Column("seen", sa.Integer, nullable=False, server_default="0"),
)
MARK = (
    sa.update(NOTES)
    .where(NOTES.c.text == sa.bindparam("t"))
    .values(seen=sa.bindparam("n", type_=sa.Integer))
)


@pytest.fixture
def notes(database: Database) -> Iterator[Database]:
    """The database with a table of notes holding one, "old"."""
    METADATA.drop_all(database.engine)
    METADATA.create_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(sa.insert(NOTES), [{"text": "old"}])
    try:
        yield database
    finally:
        METADATA.drop_all(database.engine)


@pytest.fixture
def taken(notes: Database) -> Iterator[list[Committed]]:
    """The events of every committed transaction, as the live hub is handed them."""
    found: list[Committed] = []
    notes.take_committed_events(found.append)
    yield found
    notes.remove_listener(found.append)


def note_event(session: Session, clock: FrozenClock, text: str) -> None:
    events.append(
        session,
        alert_id=1,
        type_=EventType.note,
        at=clock.now(),
        actor="user:x",
        scope="|s:A|",
        data={"text": text},
    )


def stored(database: Database) -> tuple[dict[str, int], list[str]]:
    """The notes (text -> seen) and the texts of the timeline's events, in order."""
    with database.session() as session:
        conn = session.connection()
        rows = {str(t): int(s) for t, s in conn.execute(sa.select(NOTES.c.text, NOTES.c.seen))}
        timeline = [str(e.data["text"]) for e in events.events_after(session, after=0)]
        assert events.verify_chain(session)[1] is None
    return rows, timeline


def commit_one_more(database: Database, clock: FrozenClock) -> None:
    """The next transaction after a failure stores its event and rows as usual."""
    with database.session() as session:
        insert_rows_later(session, NOTES, [{"text": "after", "seen": 0}])
        note_event(session, clock, "after")
        session.commit()


def test_held_rows_updates_and_events_land_with_the_commit(
    notes: Database, clock: FrozenClock, taken: list[Committed]
) -> None:
    with notes.session() as session:
        insert_rows_later(session, NOTES, [{"text": "a", "seen": 0}])
        insert_rows_later(session, NOTES, [{"text": "b", "seen": 0}, {"text": "c", "seen": 0}])
        update_later(session, MARK, {"t": "old", "n": 7})
        note_event(session, clock, "first")
        note_event(session, clock, "second")
        # Nothing is written before the commit.
        count = sa.select(sa.func.count()).select_from(NOTES)
        assert session.connection().execute(count).scalar() == 1
        session.commit()
    rows, timeline = stored(notes)
    assert rows == {"old": 7, "a": 0, "b": 0, "c": 0}
    assert timeline == ["first", "second"]
    assert [[e.id for e in c.events] for c in taken] == [[1, 2]]


def test_an_update_meant_for_one_row_that_changes_none_fails_the_whole_commit(
    notes: Database, clock: FrozenClock, taken: list[Committed]
) -> None:
    with notes.session() as session:
        insert_rows_later(session, NOTES, [{"text": "a", "seen": 0}])
        update_later(session, MARK, {"t": "old", "n": 1})
        update_later(session, MARK, {"t": "missing", "n": 1})
        note_event(session, clock, "lost")
        with pytest.raises(RuntimeError, match="meant for one row"):
            session.commit()
    rows, timeline = stored(notes)
    assert rows == {"old": 0}
    assert timeline == []
    assert taken == []
    commit_one_more(notes, clock)
    rows, timeline = stored(notes)
    assert rows == {"old": 0, "after": 0}
    assert timeline == ["after"]


def test_a_database_error_at_the_commit_is_sqlalchemys_and_leaves_nothing(
    notes: Database, clock: FrozenClock, taken: list[Committed]
) -> None:
    with notes.session() as session:
        rows = [{"text": "a", "seen": 0}, {"text": "old", "seen": 0}]  # "old" is taken
        insert_rows_later(session, NOTES, rows)
        note_event(session, clock, "lost")
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    rows, timeline = stored(notes)
    assert rows == {"old": 0}
    assert timeline == []
    commit_one_more(notes, clock)
    assert stored(notes) == ({"old": 0, "after": 0}, ["after"])
    # The failed transaction took no event id: the chain goes on from 1.
    assert [[e.id for e in c.events] for c in taken] == [[1]]


def test_a_savepoint_released_with_events_pending_does_not_commit_the_transaction(
    notes: Database, clock: FrozenClock
) -> None:
    with notes.session() as session:
        note_event(session, clock, "outer")
        insert_rows_later(session, NOTES, [{"text": "a", "seen": 0}])
        with session.begin_nested():
            session.connection().execute(sa.insert(NOTES), [{"text": "inner"}])
        session.rollback()
    rows, timeline = stored(notes)
    assert rows == {"old": 0}
    assert timeline == []


# PostgreSQL only: a server connection to lose (no test at all without one).
@pytest.mark.parametrize("database", ["postgres"] if POSTGRES_URL else [], indirect=True)
def test_a_connection_lost_before_the_commit_is_an_operational_error_and_is_replaced(
    notes: Database, clock: FrozenClock
) -> None:
    with notes.session() as session:
        pid = session.connection().execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        insert_rows_later(session, NOTES, [{"text": "a", "seen": 0}])
        note_event(session, clock, "lost")
        with notes.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(sa.exc.OperationalError) as raised:
            session.commit()
        assert raised.value.connection_invalidated
    assert stored(notes) == ({"old": 0}, [])
    commit_one_more(notes, clock)
    assert stored(notes) == ({"old": 0, "after": 0}, ["after"])
