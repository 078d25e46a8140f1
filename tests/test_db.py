"""The SQLite writer lock: waiters are served in arrival order; a timed-out waiter's turn
passes on; the SQLite checkpointer keeps checkpoints out of commits and the WAL bounded.
PostgreSQL: a pooled connection the server closed is replaced before use."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from dispatch.db import Database, FairLock, quiet_for_commit, with_values
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


def _write_rows(database: Database, commits: int) -> None:
    with database.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, b TEXT)"))
    for _ in range(commits):
        with database.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO filler (b) VALUES (:b)"), [{"b": "x" * 3000}] * 4)


def _autocheckpoint(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_sqlite_commits_leave_checkpoints_to_the_checkpointer_which_keeps_the_wal_bounded(
    tmp_path: Any,
) -> None:
    path = tmp_path / "wal.db"
    database = Database(f"sqlite:///{path}")
    checkpointer = database.checkpointer
    assert checkpointer is not None
    checkpointer.interval_s = 3600  # passes run only when the test calls them
    checkpointer.limit_pages = 200
    wal = tmp_path / "wal.db-wal"
    try:
        assert _autocheckpoint(database) == 1000  # SQLite's own, until the thread runs
        database.start_background()
        assert _autocheckpoint(database) == 0
        _write_rows(database, 250)  # about 1,500 pages: past SQLite's automatic checkpoint
        pages, done = checkpointer.checkpoint()
        assert pages > 1000, "a commit checkpointed (and restarted the WAL) by itself"
        assert done == pages  # the locked RESTART pass: everything is in the database file
        assert checkpointer.locked_passes == 1
        grown = wal.stat().st_size
        _write_rows(database, 10)  # the WAL starts again from its beginning ...
        assert wal.stat().st_size <= grown  # ... instead of growing
        small, _ = checkpointer.checkpoint()
        assert small < 200 and checkpointer.locked_passes == 1  # under the limit: passive only
        with database.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM filler")).scalar_one() == 1040
    finally:
        database.stop_background()
        assert _autocheckpoint(database) == 1000  # stopped: commits checkpoint again
        database.dispose()


def test_the_checkpointer_thread_checkpoints_on_its_own_and_once_more_when_stopped(
    tmp_path: Any,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'thread.db'}")
    checkpointer = database.checkpointer
    assert checkpointer is not None
    checkpointer.interval_s = 0.05
    try:
        database.start_background()
        _write_rows(database, 5)
        deadline = time.monotonic() + 5
        while checkpointer.passes == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpointer.passes > 0
    finally:
        database.stop_background()
    assert checkpointer.locked_passes >= 1  # the last pass, on the way out
    database.dispose()


def test_under_steady_writes_and_reads_the_wal_stays_bounded(tmp_path: Any) -> None:
    database = Database(f"sqlite:///{tmp_path / 'steady.db'}")
    checkpointer = database.checkpointer
    assert checkpointer is not None
    checkpointer.interval_s = 0.05
    checkpointer.limit_pages = 100  # 400 KiB
    _write_rows(database, 1)
    stop = threading.Event()

    def read() -> None:  # a console's reads, one after another
        while not stop.is_set():
            with database.engine.connect() as conn:
                conn.execute(sa.text("SELECT max(id) FROM filler")).scalar()

    reader = threading.Thread(target=read)
    database.start_background()
    reader.start()
    try:
        written = 0
        while written < 3000:  # about 36 MB in all
            _write_rows(database, 5)
            written += 5
    finally:
        stop.set()
        reader.join()
        database.stop_background()
    wal = (tmp_path / "steady.db-wal").stat().st_size
    # Between two of the thread's passes the WAL grows by what is written meanwhile, more
    # when the disk stalls a pass (1.6 to 5.9 MB measured here, whatever the total); without
    # the thread's checkpoints it would hold everything written.
    bound = written * 4 * 3000 // 4
    assert bound > 20 * 100 * 4096, "too few writes to tell"
    assert wal < bound
    database.dispose()


def test_a_failed_statement_names_no_personal_data(database: Database) -> None:
    # SQLAlchemy prints a failed statement's parameters into the error, which reaches logs.
    from sqlalchemy.exc import IntegrityError

    from dispatch.auth.models import User
    from dispatch.clock import SystemClock

    def officer(phone: str) -> User:
        return User(
            username="sho_dup",
            password_hash="x",
            role="station",
            unit="ETW-SAIFAI",
            phone=phone,
            full_name="Ramesh Kumar Yadav",
            created_at=SystemClock().now(),
        )

    with database.session() as session:
        session.add(officer("+919876500001"))
        session.commit()
    with database.session() as session:
        session.add(officer("+919876500002"))
        with pytest.raises(IntegrityError) as caught:
            session.commit()
    text = str(caught.value)
    assert "+919876500002" not in text and "Ramesh" not in text
    assert "hidden" in text  # SQLAlchemy says the parameters were withheld
