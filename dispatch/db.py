"""Database access: engine set-up, the session dependency, and sessions for jobs."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, SQLModel

from dispatch import threads
from dispatch.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """One engine, its session factory, and the callbacks run after event-bearing commits."""

    def __init__(
        self, url: str, *, echo: bool = False, pool_size: int = 15, idle_ping_s: float = 5.0
    ) -> None:
        self.url = normalise_url(url)
        self.idle_ping_s = idle_ping_s
        self.is_sqlite = self.url.startswith("sqlite")
        self._commit_listeners: list[Callable[[], None]] = []
        # Called with each committed transaction's events (alerts.events.Committed).
        self._event_takers: list[Callable[[Any], None]] = []
        self._lock = threading.Lock()
        # Sent with this database's PostgreSQL doorbell (NOTIFY): its own hub, rung directly
        # after each commit, ignores its own notifications instead of reading twice.
        self.origin = secrets.token_hex(8)
        if self.is_sqlite:
            self.engine: Engine = sa.create_engine(
                self.url,
                hide_parameters=True,  # personal data never reaches an error message or log
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
                pool_size=pool_size,
                max_overflow=20,
            )
            event.listen(self.engine, "connect", _sqlite_on_connect)
            self.checkpointer: SqliteCheckpointer | None = SqliteCheckpointer(
                self.engine, _SqliteWriter(self.engine)
            )
        else:
            self.engine = sa.create_engine(
                self.url,
                hide_parameters=True,  # personal data never reaches an error message or log
                echo=echo,
                # At most 30 connections per process (plus the hub's 10), so two or three
                # processes fit PostgreSQL's default 100; a request that cannot get one
                # within 10 s is answered 503 (retry), never 500.
                pool_size=pool_size,
                max_overflow=15,
                pool_timeout=10,
            )
            IdlePing(self.engine, idle_ping_s)
            self.checkpointer = None
        self.session_factory = sessionmaker(
            bind=self.engine, class_=Session, expire_on_commit=False, info={"database": self}
        )
        from dispatch.writes import IdBlocks

        self.id_blocks = IdBlocks()  # insert_later's ids, drawn ahead (dispatch.writes)

    def create_all(self) -> None:
        """Create every table that does not exist yet (tests, first run)."""
        import dispatch.models  # noqa: F401 - registers every table on the metadata

        SQLModel.metadata.create_all(self.engine)
        from dispatch.alerts import events

        with self.session() as session:
            events.ensure_sequence(session)
            session.commit()

    def ensure_schema(self) -> None:
        """Create or upgrade the schema with the migrations (the service and the CLI)."""
        from dispatch import migrate

        migrate.upgrade(self)

    def session(self) -> Session:
        """A new session bound to this database."""
        return self.session_factory()

    def on_events_committed(self, listener: Callable[[], None]) -> None:
        """Call listener after every commit that appended timeline events (not internal ones
        alone)."""
        with self._lock:
            self._commit_listeners.append(listener)

    def take_committed_events(self, taker: Callable[[Any], None]) -> None:
        """Call taker, in the committing thread, with every committed transaction's events
        (an alerts.events.Committed; internal-only transactions too, so that the ids the
        taker sees run on without a hole wherever one process writes them all)."""
        with self._lock:
            self._event_takers.append(taker)

    def remove_listener(self, listener: Callable[..., None]) -> None:
        """Stop calling listener (or taker)."""
        with self._lock:
            if listener in self._commit_listeners:
                self._commit_listeners.remove(listener)
            if listener in self._event_takers:
                self._event_takers.remove(listener)

    def notify_committed(
        self, skip: Collection[object] = (), *, committed: Any = None, appended: bool = True
    ) -> None:
        """Run the after-commit listeners (the live hub's doorbell), but those in `skip`:
        those of on_events_committed if `appended`, the takers with `committed`."""
        with self._lock:
            listeners = list(self._commit_listeners) if appended else []
            takers = list(self._event_takers) if committed is not None else []
        for taker in takers:
            taker(committed)
        for listener in listeners:
            if listener not in skip:
                listener()

    def start_background(self) -> None:
        """Start what a serving process runs beside its requests (SQLite: the checkpointer)."""
        if self.checkpointer is not None:
            self.checkpointer.start()

    def stop_background(self) -> None:
        """Stop it again (a last checkpoint first)."""
        if self.checkpointer is not None:
            self.checkpointer.stop()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # When the WAL starts again from its beginning, the file is cut back to 64 MiB.
    cursor.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
    cursor.close()


class SqliteCheckpointer:
    """WAL checkpoints in a thread of their own instead of in the commit that fills the WAL.

    SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages:
    that commit copies the pages into the database file and waits for its fsync. Here that
    made one commit in 50-100 wait 20-30 ms (a bare SQLite commit: p50 0.1 ms, p99 22 ms),
    which is the p99 of intake. While the checkpointer runs, the service's connections do not
    checkpoint; every `interval_s` this thread does, PASSIVE (writers go on meanwhile). The
    WAL only starts again from its beginning once a checkpoint has reached its end while no
    reader was using it, which under steady load a passive one seldom does, so when the WAL
    is past `limit_pages` the thread takes the writer's lock for a RESTART checkpoint (the
    pages written since the last pass: a short pause, once per `limit_pages` instead of a
    longer one once per 1,000).
    A checkpoint that fails is logged and tried again; stopping runs a last one.
    """

    def __init__(
        self,
        engine: Engine,
        writer: _SqliteWriter,
        *,
        interval_s: float = 1.0,
        limit_pages: int = 8192,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.interval_s = interval_s
        self.limit_pages = limit_pages
        self.passes = 0  # checkpoints run (for tests)
        self.locked_passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None
        event.listen(engine.pool, "checkout", self._checkout)

    @property
    def running(self) -> bool:
        """Whether the thread, not the commits, checkpoints now."""
        return self._thread is not None

    def _checkout(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # 0: this connection never checkpoints (the thread does); 1000: SQLite's default.
        want = 0 if self.running else 1000
        if record.info.get("wal_autocheckpoint") != want:
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA wal_autocheckpoint={want}")
            cursor.close()
            record.info["wal_autocheckpoint"] = want

    def start(self) -> None:
        """Take checkpoints over from the commits."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last checkpoint; commits checkpoint again themselves."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self._thread = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _run(self) -> None:
        threads.name_this_thread()  # "sqlite-checkpoi" in top -H (15 bytes)
        while not self._stop.wait(self.interval_s):
            self._safely(self.checkpoint)
        self._safely(lambda: self.checkpoint(locked=True))

    def _safely(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:
            log.exception("SQLite checkpoint failed; trying again later")

    def checkpoint(self, *, locked: bool = False) -> tuple[int, int]:
        """One passive checkpoint (and a locked one if the WAL is still past the limit, or
        with `locked`); returns the WAL's pages and how many are in the database file."""
        log_pages, done = self._checkpoint("PASSIVE")
        if locked or log_pages > self.limit_pages:
            if not self.writer.lock.acquire(timeout=self.writer.WAIT_S):
                return log_pages, done
            try:
                # RESTART: the rest, and wait for readers still on WAL pages, so that the
                # next commit writes the WAL from its beginning again.
                log_pages, done = self._checkpoint("RESTART")
                self.locked_passes += 1
            finally:
                self.writer.lock.release()
        return log_pages, done

    def _checkpoint(self, mode: str) -> tuple[int, int]:
        # A connection of its own, not one of the pool's: under load every pooled connection
        # may be held by a thread queued for the writer's lock, which a locked pass holds.
        if self._connection is None:
            self._connection = sqlite3.connect(
                str(self.engine.url.database), isolation_level=None, check_same_thread=False
            )
            self._connection.execute("PRAGMA busy_timeout=30000")
        row = self._connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        self.passes += 1
        # (busy, pages in the WAL, pages checkpointed); -1 when not in WAL mode.
        return max(int(row[1]), 0), max(int(row[2]), 0)


class FairLock:
    """A lock that serves waiters in arrival order (threading.Lock does not: a thread that
    releases it and asks again at once usually wins, so a sweeper running step after step
    could starve the intake requests waiting behind it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the next ticket to hand out
        self._serving = 0  # the ticket that holds the lock, or may take it
        self._abandoned: set[int] = set()

    def acquire(self, timeout: float) -> bool:
        """Wait for our turn; False (and our turn given up) after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            ticket = self._next
            self._next += 1
            while self._serving != ticket:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._abandoned.add(ticket)
                    return False
                self._cond.wait(remaining)
            return True

    def release(self) -> None:
        """Hand the lock to the next waiter still waiting."""
        with self._cond:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


class IdlePing:
    """pool_pre_ping, only for connections that sat idle in the pool for `idle_s` or more.

    A connection the server closed (a PostgreSQL restart, an idle timeout in between) is
    found by a ping when it is checked out and replaced, so no request fails on it. A
    connection handed from one transaction to the next under load is not pinged: that round
    trip on every checkout cost about 8 % of the server's time at 50 alerts/s. If the server
    goes away while connections are busy, the statements in flight fail (503, the caller
    retries) and SQLAlchemy discards the rest of the pool.
    """

    def __init__(self, engine: Engine, idle_s: float) -> None:
        self.dialect = engine.dialect
        self.idle_s = idle_s
        event.listen(engine.pool, "checkout", self._checkout)
        event.listen(engine.pool, "checkin", self._checkin)

    def _checkin(self, _dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    def _checkout(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < self.idle_s:
            return
        try:
            self.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"idle connection lost: {exc}") from exc


class _SqliteWriter:
    """SQLite has one writer. Every transaction takes the write lock up front (BEGIN
    IMMEDIATE), which avoids the "database is locked" failure of a read transaction that later
    writes. Waiting for it inside SQLite means its busy handler, which sleeps in growing steps
    (up to 100 ms) and is unfair: under load that made intake's p99 hundreds of milliseconds.
    So the threads of this process queue on a fair Python lock first and hand the database
    over at once, in arrival order; SQLite's own busy timeout still guards against other
    processes (the CLI)."""

    WAIT_S = 30.0

    def __init__(self, engine: Engine) -> None:
        self.lock = FairLock()
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        event.listen(engine.pool, "checkin", self._checkin)

    def _begin(self, conn: sa.Connection) -> None:
        if not self.lock.acquire(timeout=self.WAIT_S):
            raise sa.exc.OperationalError(
                "BEGIN IMMEDIATE", {}, TimeoutError("database is busy (write lock)")
            )
        conn.info["dispatch_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(conn.info)
            raise

    def _end(self, conn: sa.Connection) -> None:
        self._release(conn.info)

    def _checkin(self, _dbapi_conn: Any, record: Any) -> None:
        # A connection returned to the pool without commit or rollback events (pool reset).
        self._release(record.info)

    def _release(self, info: dict[Any, Any]) -> None:
        if info.pop("dispatch_writer", False):
            self.lock.release()


_FIXED_IN: dict[tuple[str, int], Any] = {}
FIXED_IN_MAX = 32


def with_values(
    name: str, values: list[Any], build: Callable[[Any], Any]
) -> tuple[Any, dict[str, Any]]:
    """A prebuilt statement with `IN (:v0, :v1, ...)` for these values, and its parameters.

    `build(in_list)` builds the statement from the list of bind parameters to put in the IN.
    An expanding IN is rendered anew on every execution (about a fifth of an intake's
    statement time on SQLite); one statement per number of values, up to FIXED_IN_MAX, is
    compiled once. Longer lists use an expanding parameter.
    """
    n = len(values)
    if n > FIXED_IN_MAX:
        key = (name, 0)
        statement = _FIXED_IN.get(key)
        if statement is None:
            statement = _FIXED_IN[key] = build(sa.bindparam("v", expanding=True))
        return statement, {"v": list(values)}
    key = (name, n)
    statement = _FIXED_IN.get(key)
    if statement is None:
        statement = _FIXED_IN[key] = build([sa.bindparam(f"v{i}") for i in range(n)])
    return statement, {f"v{i}": value for i, value in enumerate(values)}


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Call `callback` once the session's current transaction has committed (in the
    committing thread, after the database locks are released; or, for a session handed to
    `defer_after_commit`, in that executor); dropped if it rolls back. A callback that
    raises is logged; the commit stands and the other callbacks still run."""
    session.info.setdefault("after_commit", []).append(callback)


def for_transaction(session: Session, key: str, make: Callable[[], T]) -> T:
    """One object per key for the session's current transaction: made by `make` on first
    use, forgotten when that transaction commits or rolls back."""
    found: dict[str, Any] = session.info.setdefault("for_transaction", {})
    if key not in found:
        found[key] = make()
    value: T = found[key]
    return value


def quiet_for_commit(session: Session, listener: object) -> None:
    """Do not call this events-committed listener for the session's current transaction
    (the escalation sweep's waker, when the transaction ran the steps it would look for)."""
    quiet: set[object] = for_transaction(session, "quiet_listeners", set)
    quiet.add(listener)


def defer_after_commit(session: Session, executor: Executor) -> None:
    """Run this session's after-commit callbacks in `executor`, in order, as one task.

    For a thread whose next transaction must not wait for what a commit sets off (the
    intake writer: a provider call can take seconds).
    """
    session.info["after_commit_executor"] = executor


def _run_callbacks(callbacks: list[Callable[[], object]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    per_transaction: dict[str, Any] = session.info.pop("for_transaction", None) or {}
    quiet: set[object] = per_transaction.get("quiet_listeners", set())
    callbacks = session.info.pop("after_commit", None)
    committed = session.info.pop("event_types", None)
    if committed:
        from dispatch import metrics

        failures = sum(1 for _, status in committed if status in metrics.FAILED_DELIVERY_STATUSES)
        metrics.record_committed_events(Counter(t for t, _ in committed), failures)
    appended = session.info.pop("events_appended", False)
    events = session.info.pop("committed_events", None)
    if appended or events is not None:
        database = session.info.get("database")
        if isinstance(database, Database):
            database.notify_committed(skip=quiet, committed=events, appended=appended)
    if not callbacks:
        return
    executor: Executor | None = session.info.get("after_commit_executor")
    if executor is None:
        _run_callbacks(callbacks)
        return
    try:
        executor.submit(_run_callbacks, callbacks)
    except RuntimeError:  # the executor is shutting down: run them here rather than lose them
        _run_callbacks(callbacks)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("for_transaction", None)
    session.info.pop("after_commit", None)
    session.info.pop("events_appended", None)
    session.info.pop("event_types", None)
    session.info.pop("committed_events", None)


async def get_database(request: Request) -> Database:
    """The application's database."""
    database: Database = request.app.state.database
    return database


async def get_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[Session]:
    """A session for one request, closed afterwards.

    Async, so FastAPI does not hop to a worker thread to open and close it: opening does no
    I/O, and closing does none once the handler has committed or rolled back; a session left
    in a transaction is closed (rolled back) in a worker thread.
    """
    session = database.session()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]


@contextmanager
def session_scope(database: Database) -> Iterator[Session]:
    """A session for a job: commits on success, rolls back on error."""
    session = database.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_from_settings(settings: Settings) -> Database:
    """Build the Database for these settings."""
    return Database(settings.database_url)
