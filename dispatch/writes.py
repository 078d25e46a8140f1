"""Writes on the hot paths: one-row inserts with prebuilt statements, rows written just
before the commit with ids drawn ahead, many rows inserted from one JSON parameter, and
table-model instances built without the ORM's per-attribute cost.

The intake writer stores a group of alerts, their timelines and their first escalation
step in one transaction; these keep its statements few and their texts constant.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import instrumentation
from sqlmodel import Session, SQLModel

from dispatch import db

_INSERTS: dict[str, Any] = {}


def insert_values(session: Session, table: sa.Table, values: dict[str, Any]) -> int:
    """Insert one row into `table` with one Core statement and return its id (hot paths).

    The statement is built once per table; SQLAlchemy caches its compiled form per set of
    columns given.
    """
    statement = _INSERTS.get(table.name)
    if statement is None:
        statement = _INSERTS[table.name] = sa.insert(table).returning(table.c.id)
    return int(session.connection().execute(statement, values).scalar_one())


_PLAIN_INSERTS: dict[str, Any] = {}
_NEXT_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
)
RESERVE_FIRST, RESERVE_MAX = 4, 64
_LATER = "write_later"


class IdBlocks:
    """Ids drawn ahead from tables' sequences, shared by a process's transactions.

    insert_later() gives a row its id before the row is written, and drawing ids costs a
    round trip: drawn afresh in each transaction, a few at a time, they cost the intake
    writer three statements in a group of eight alerts (a tenth of its CPU). Kept for the
    process's next transactions, a block lasts many groups.

    A block is used for at most `max_age_s`; its leftover ids are then dropped (a gap, as a
    rolled-back insert leaves), so an id given out is never much older than the sequence's
    newest: across processes, ids follow the order of creation but within that window. The
    block size follows the rate: doubled (up to `most`) when a block runs out within its
    age, halved (down to `first`) when one expires mostly unused, so a quiet process draws
    a few ids at a time and wastes few.

    Ids drawn are this process's alone for as long as the sequence only moves on; whoever
    restarts a sequence under a running process (TRUNCATE ... RESTART IDENTITY, as the
    tests do between tests) must clear() the blocks.
    """

    def __init__(
        self,
        *,
        first: int = RESERVE_FIRST,
        most: int = RESERVE_MAX,
        max_age_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first, self.most, self.max_age_s = first, most, max_age_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        # table -> (its free ids, the next one last; when they were drawn; how many were)
        self._blocks: dict[str, tuple[list[int], float, int]] = {}
        self.draws = 0  # round trips spent (tests, benchmarks)

    def clear(self) -> None:
        """Forget every id drawn (the sequences were restarted)."""
        with self._lock:
            self._blocks.clear()

    def take(self, table: str, draw: Callable[[int], list[int]]) -> int:
        """An unused id of `table`; `draw(n)` draws n new ones when there is none."""
        now = self._monotonic()
        with self._lock:
            free, drawn_at, size = self._blocks.get(table, ([], now, 0))
            fresh = now - drawn_at <= self.max_age_s
            if free and fresh:
                return free.pop()
            if size == 0:
                size = self.first
            elif fresh:
                size = min(size * 2, self.most)  # used up within its age: a busier time
            elif len(free) * 2 > size:
                size = max(size // 2, self.first)  # expired mostly unused: a quieter one
        ids = draw(size)  # outside the lock: a round trip
        with self._lock:
            self.draws += 1
            rest = ids[1:]
            rest.reverse()
            self._blocks[table] = (rest, now, size)
        return ids[0]


class _Later:
    """What insert_later() and update_later() hold for this transaction: the rows waiting,
    the updates waiting."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[sa.Table, list[dict[str, Any]]]] = {}
        # Statements whose every execution must change exactly one row, and their parameters.
        self.updates: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
        # Rows whose ids nothing reads (insert_rows_later), by table.
        self.plain: dict[str, tuple[sa.Table, list[dict[str, Any]]]] = {}


def _later(session: Session) -> _Later | None:
    later: _Later | None = session.info.get("for_transaction", {}).get(_LATER)
    return later


def insert_later(session: Session, table: sa.Table, values: dict[str, Any]) -> int:
    """Give a row of `table` its id now and insert it just before the transaction commits,
    with every other such row of the transaction: one statement per table instead of one
    round trip per row (PostgreSQL hot paths; use insert_values on SQLite, where a
    statement costs microseconds).

    The ids come from the table's own sequence, drawn ahead and shared by the process's
    transactions (Database.id_blocks): a transaction that rolls back, or a block that grew
    old, leaves gaps in the ids, as a failed insert does. Nothing in the transaction can
    read such a row before the commit. The session must come from Database.session().
    """
    database = session.info.get("database")
    if not isinstance(database, db.Database):
        raise RuntimeError("insert_later needs a session made by Database.session()")
    connection = session.connection()

    def draw(n: int) -> list[int]:
        drawn = connection.execute(_NEXT_IDS, {"table": table.name, "n": n})
        return [int(i) for i in drawn.scalars()]

    row_id = database.id_blocks.take(table.name, draw)
    reserved = db.for_transaction(session, _LATER, _Later)
    reserved.rows.setdefault(table.name, (table, []))[1].append({**values, "id": row_id})
    return row_id


def update_later(session: Session, statement: Any, params: dict[str, Any]) -> None:
    """Run a prebuilt UPDATE that must change exactly one row just before the transaction
    commits, in one executemany with every other such update of the transaction (one round
    trip on PostgreSQL, whose driver pipelines them). If any of them changes no row, the
    commit fails (RuntimeError) and the transaction rolls back: the caller must only use it
    for a row nothing else can change meanwhile (a row this transaction inserted)."""
    reserved = db.for_transaction(session, _LATER, _Later)
    reserved.updates.setdefault(id(statement), (statement, []))[1].append(params)


def insert_rows_later(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert these rows of `table` just before the transaction commits, with the other
    writes held for it (on PostgreSQL in the commit's first round trip), their ids from the
    table's own default: for rows nothing in the transaction reads back, nor their ids.
    Each row gives every column that must not be NULL: on PostgreSQL a column a row leaves
    out is NULL, not its default (recordset_insert)."""
    reserved = db.for_transaction(session, _LATER, _Later)
    reserved.plain.setdefault(table.name, (table, []))[1].extend(rows)


def write_later_rows(
    session: Session, *, pipelined: bool = False, cursor: Any = None
) -> list[Callable[[], None]]:
    """Insert the rows insert_later() holds for this transaction and run the updates
    update_later() and insert_rows_later() hold (before_commit runs it).

    `pipelined`: the connection is in psycopg's pipeline mode (no result until the next
    sync); the checks of the updates' row counts are returned, to call after that sync.
    `cursor`: that pipeline's DB-API cursor (pg_pipeline), which sends the inserts without
    SQLAlchemy's work per statement (their one parameter is a JSON string).
    """
    reserved = _later(session)
    if reserved is None or not (reserved.rows or reserved.updates or reserved.plain):
        return []
    connection = session.connection()
    checks: list[Callable[[], None]] = []
    for statement, many in reserved.updates.values():
        if pipelined:
            # One execution each: a pipelined executemany does not report every row count.
            for params in many:
                checks.append(partial(_changed_one, connection.execute(statement, params)))
            continue
        result = connection.execute(statement, many[0] if len(many) == 1 else many)
        changed = getattr(result, "rowcount", len(many))
        if changed != len(many):
            raise RuntimeError(f"{len(many)} updates meant for one row each changed {changed}")
    reserved.updates.clear()
    postgres = connection.dialect.name == "postgresql"
    for with_id, held in ((False, reserved.plain), (True, reserved.rows)):
        for table, rows in held.values():
            if postgres:
                # All of them from one JSON parameter: one constant statement, prepared once
                # (an executemany of a message's 17 columns is past what psycopg caches).
                sql, params = _recordset(table, with_id), {"rows": recordset_json(rows)}
                if cursor is not None:
                    cursor.execute(sql, params)
                else:
                    connection.exec_driver_sql(sql, params)
                continue
            statement = _PLAIN_INSERTS.get(table.name)
            if statement is None:
                # inline(): no RETURNING of the ids, which nothing reads.
                statement = _PLAIN_INSERTS[table.name] = sa.insert(table).inline()
            # One executemany needs the same columns in every row.
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                by_columns.setdefault(tuple(sorted(row)), []).append(row)
            for same in by_columns.values():
                connection.execute(statement, same[0] if len(same) == 1 else same)
        held.clear()
    return checks


_RECORDSETS: dict[tuple[str, bool], str] = {}


def _recordset(table: sa.Table, with_id: bool) -> str:
    sql = _RECORDSETS.get((table.name, with_id))
    if sql is None:
        sql = _RECORDSETS[(table.name, with_id)] = recordset_insert(table, with_id=with_id)
    return sql


def _changed_one(result: Any) -> None:
    # After the pipeline's sync, the DB-API cursor holds the count SQLAlchemy could not read.
    changed = result.context.cursor.rowcount
    if changed != 1:
        raise RuntimeError(f"an update meant for one row changed {changed}")


@event.listens_for(Session, "before_commit")
def _write_later_rows(session: Session) -> None:
    # A transaction with timeline events leaves them to the timeline's writer
    # (alerts/events.py), which writes them before it takes the sequence lock (pipelined
    # with it on PostgreSQL).
    if _later(session) is not None and not session.info.get("pending_events"):
        session.flush()
        write_later_rows(session)


@dataclass(frozen=True, slots=True)
class Read:
    """A statement for `pg_together`: its SQL with psycopg's placeholders (`%(name)s`), its
    parameters, and what takes its rows (named tuples: row.column)."""

    sql: str
    params: Mapping[str, Any]
    take: Callable[[list[Any]], None]


def pg_together(connection: sa.Connection, reads: Sequence[Read]) -> None:
    """PostgreSQL: send these statements in one round trip (psycopg's pipeline mode; the
    transaction's BEGIN, if it starts here, takes one more) and hand each its rows.

    For statements that do not depend on each other's results: the intake writer's look-up
    of earlier alerts, the insert of its alerts and the read of the contacts their first
    escalation step pages went out one after the other, each waiting for its answer.
    Errors come out as SQLAlchemy's (pg_pipeline); the transaction stays SQLAlchemy's.
    """
    if not reads:
        return
    with pg_pipeline(connection) as first:
        raw = first.connection
        cursors = [first] + [raw.cursor() for _ in reads[1:]]
        try:
            for cursor, read in zip(cursors, reads, strict=True):
                cursor.row_factory = namedtuple_row
                cursor.execute(read.sql, read.params)
            rows = [cursor.fetchall() for cursor in cursors]  # one sync for all of them
        finally:
            for cursor in cursors[1:]:
                cursor.close()
    for read, found in zip(reads, rows, strict=True):
        read.take(found)


@contextmanager
def pg_pipeline(connection: sa.Connection) -> Iterator[Any]:
    """psycopg's pipeline mode on this connection's PostgreSQL connection, and a DB-API
    cursor of it: statements go out without waiting for their results, and the next fetch
    (or the end of the block) waits for all of them in one round trip.

    SQLAlchemy's own executions inside the block are sent too, but can read no result:
    only statements whose results nothing reads belong there (write_later_rows). Errors
    come out as SQLAlchemy's (OperationalError, IntegrityError...) and a lost connection is
    invalidated, as for a statement SQLAlchemy ran.
    """
    raw: Any = connection.connection.driver_connection
    cursor = raw.cursor()
    try:
        with raw.pipeline():
            yield cursor
    except psycopg.Error as exc:
        dialect = connection.dialect
        lost = dialect.is_disconnect(cast(Any, exc), raw, cursor)
        if lost:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            None, None, exc, psycopg.Error, connection_invalidated=lost, dialect=dialect
        ) from exc
    finally:
        cursor.close()


M = TypeVar("M", bound=SQLModel)


def transient(model: type[M], **values: Any) -> M:
    """A new, not yet persistent table-model instance (intake's hot path), about seven times
    faster to build than `model(**values)` for an alert's 45 columns: SQLModel's constructor
    sets each field through an instrumented setattr, while this takes pydantic's
    `model_construct` (defaults applied, nothing validated: as SQLModel's own constructor for
    a table model) and gives it SQLAlchemy's instance state. The values must be the service's
    own, already checked (a request's are validated by its input model first)."""
    row = cast(M, model.model_construct(**values))
    instrumentation.manager_of_class(model).setup_instance(row)
    return row


def recordset_insert(table: sa.Table, *, suffix: str = "", with_id: bool = False) -> str:
    """PostgreSQL: an INSERT of every column of `table` but `id` (unless `with_id`: rows
    given their ids by insert_later), from one JSON parameter
    `rows` (a JSON array of row objects, see recordset_json), then `suffix` (ON CONFLICT,
    RETURNING). The parameter is written in psycopg's style, `%(rows)s`: the statement runs
    on a DB-API cursor (pg_pipeline, pg_together) or with SQLAlchemy's exec_driver_sql.

    One statement text whatever the number of rows: psycopg converts and the server plans
    it once, where a multi-row VALUES is a new text, with 45 parameters a row, for every
    number of rows (psycopg does not even cache its conversion past 50 parameters: parsing
    a group of 16 alerts' INSERT cost a fifth of the writer's CPU). A key a row lacks is
    NULL. Strings are read as text, so the INSERT itself checks their lengths.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    names: list[str] = []
    typed: list[str] = []
    for column in table.columns:
        if column.name == "id" and not with_id:
            continue
        kind = column.type
        if isinstance(kind, sa.types.TypeDecorator):
            kind = kind.impl_instance
        sql_type = "text" if isinstance(kind, sa.String) else kind.compile(dialect=dialect)
        quoted = dialect.identifier_preparer.quote(column.name)
        names.append(quoted)
        typed.append(f"{quoted} {sql_type}")
    listed = ", ".join(names)
    target = dialect.identifier_preparer.quote(table.name)
    source = f"jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS r({', '.join(typed)})"
    # Names and types from the table's metadata, quoted; the rows are a bound parameter.
    statement = f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {source}"  # noqa: S608
    return f"{statement} {suffix}" if suffix else statement


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def recordset_json(rows: list[dict[str, Any]]) -> str:
    """Rows for recordset_insert's `rows`: datetimes (timezone-aware) as ISO 8601, JSON
    columns' values as they are."""
    return json.dumps(rows, default=_json_value, separators=(",", ":"))


def row_values(row: SQLModel) -> dict[str, Any]:
    """A new table model instance as the values of its INSERT (id and None left out).

    Attributes left None are left out, so the columns are SQL NULL (not JSON null), as the
    ORM stores them.
    """
    table: sa.Table = row.__table__  # type: ignore[attr-defined]
    return {
        column.name: value
        for column in table.columns
        if column.name != "id" and (value := getattr(row, column.name)) is not None
    }
