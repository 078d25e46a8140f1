"""The SQLite writer lock: waiters are served in arrival order; a timed-out waiter's turn
passes on. PostgreSQL: a pooled connection the server closed is replaced before use."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from dispatch.db import Database, FairLock, insert_later, quiet_for_commit, with_values
from tests.conftest import POSTGRES_URL
from tests.helpers import commit_event


def test_a_thread_that_asks_again_at_once_waits_behind_the_others() -> None:
    lock = FairLock()
    order: list[str] = []
    assert lock.acquire(1)
    waiter = threading.Thread(
        target=lambda: (lock.acquire(5), order.append("waiter"), lock.release())
    )
    waiter.start()
    time.sleep(0.1)  # the waiter is queued
    lock.release()
    assert lock.acquire(5)  # the releasing thread asks again at once ...
    order.append("again")
    lock.release()
    waiter.join(5)
    assert order == ["waiter", "again"]  # ... and is served after the waiter


def test_a_waiter_that_gives_up_does_not_block_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    assert lock.acquire(0.05) is False  # gives up its turn
    got: list[bool] = []
    late = threading.Thread(target=lambda: got.append(lock.acquire(5)))
    late.start()
    time.sleep(0.05)
    lock.release()
    late.join(5)
    assert got == [True]


def test_a_pooled_postgres_connection_the_server_closed_is_replaced_unnoticed() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs DISPATCH_TEST_POSTGRES_URL")
    database = Database(POSTGRES_URL, pool_size=1, idle_ping_s=0.05)
    try:
        with database.engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        # The server ends that connection while it sits in the pool (a restart, a timeout).
        with sa.create_engine(database.url, poolclass=sa.pool.NullPool).connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        time.sleep(0.1)
        with database.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        database.dispose()


@pytest.mark.parametrize("count", [1, 3, 32, 33, 200])
def test_a_prebuilt_in_list_finds_exactly_the_values_given(database: Database, count: int) -> None:
    metadata = sa.MetaData()
    numbers = sa.Table("test_numbers", metadata, sa.Column("n", sa.Integer, primary_key=True))
    metadata.create_all(database.engine)
    try:
        with database.engine.begin() as conn:
            conn.execute(sa.insert(numbers), [{"n": i} for i in range(300)])

        def build(in_list: object) -> object:
            return sa.select(numbers.c.n).where(numbers.c.n.in_(in_list)).order_by(numbers.c.n)

        wanted = list(range(0, 2 * count, 2))
        statement, params = with_values("test.numbers", wanted, build)
        again, _ = with_values("test.numbers", wanted, build)
        assert again is statement  # compiled once per length
        with database.engine.connect() as conn:
            found = conn.execute(statement, params).scalars().all()
        assert found == [n for n in wanted if n < 300]
    finally:
        metadata.drop_all(database.engine)


def test_rows_inserted_later_get_their_ids_at_once_and_land_with_the_commit() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs DISPATCH_TEST_POSTGRES_URL")
    database = Database(POSTGRES_URL)
    metadata = sa.MetaData()
    notes = sa.Table(
        "test_later",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("extra", sa.String),
    )
    metadata.drop_all(database.engine)
    metadata.create_all(database.engine)
    try:
        with database.session() as session:
            ids = [
                insert_later(session, notes, {"text": f"n{i}", **({"extra": "x"} if i % 3 else {})})
                for i in range(10)
            ]
            assert len(set(ids)) == 10
            session.rollback()  # nothing was written, the ids are spent
        with database.session() as session:
            kept = [insert_later(session, notes, {"text": f"k{i}"}) for i in range(6)]
            mixed = insert_later(session, notes, {"text": "k6", "extra": "y"})
            # Not in the table before the commit ...
            count = sa.select(sa.func.count()).select_from(notes)
            assert session.connection().execute(count).scalar_one() == 0
            session.commit()
        assert not set(kept) & set(ids)
        with database.engine.begin() as conn:
            rows = dict(conn.execute(sa.select(notes.c.id, notes.c.text)).all())
            # ... all of them after it, with the ids they were given; an ordinary insert
            # afterwards takes a fresh id from the same sequence.
            assert rows == {**{i: f"k{n}" for n, i in enumerate(kept)}, mixed: "k6"}
            fresh = conn.execute(sa.insert(notes).values(text="plain").returning(notes.c.id))
            assert fresh.scalar_one() > max([*kept, mixed, *ids])
    finally:
        metadata.drop_all(database.engine)
        database.dispose()


def test_a_listener_kept_quiet_misses_only_that_commit(database: Database) -> None:
    calls: list[str] = []

    def waker() -> None:
        calls.append("waker")

    def doorbell() -> None:
        calls.append("doorbell")

    database.on_events_committed(waker)
    database.on_events_committed(doorbell)

    def commit(quiet: bool) -> None:
        commit_event(database, (lambda s: quiet_for_commit(s, waker)) if quiet else None)

    commit(quiet=True)
    assert calls == ["doorbell"]
    commit(quiet=False)
    assert calls == ["doorbell", "waker", "doorbell"]
