"""Reading the timeline for live consoles: new events for the hub, replay for one console.

The database is the source of truth. Live events are timeline rows, read in id order and
joined with their alert's current summary, so a console that replays `since=<id>` gets
exactly what a console that stayed connected got. The one shortcut: a transaction that
declared its alerts' rows (events.live_copy) encodes its own events, as committed, the way a
read right after its commit would (encode_committed); the hub sends those without reading.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dispatch.alerts import events
from dispatch.alerts import service as alerts_service
from dispatch.alerts.events import Committed, PendingEvent
from dispatch.alerts.models import Alert, AlertEvent
from dispatch.auth.models import Role, User
from dispatch.auth.scope import Scope
from dispatch.db import Database, IdlePing, with_values

E = TypeVar("E", AlertEvent, PendingEvent)


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One timeline event as pushed to consoles: its id, scope and the encoded message."""

    id: int
    scope: str
    text: str


def read_engine(database: Database) -> Engine:
    """A small engine for the hub's reads.

    On SQLite the service engine opens every transaction with BEGIN IMMEDIATE (one writer);
    the hub only reads, so its own engine runs plain autocommit SELECTs on the WAL snapshot and
    never waits behind an intake that holds the write lock.
    """
    url = database.url
    if database.is_sqlite:
        engine = sa.create_engine(
            url,
            hide_parameters=True,  # personal data never reaches an error message or log
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            pool_size=5,
            max_overflow=5,
        )
        sa_event.listen(engine, "connect", _sqlite_read_pragmas)
        return engine
    engine = sa.create_engine(
        url,
        hide_parameters=True,  # personal data never reaches an error message or log
        # Autocommit, as on SQLite: a read is its statements alone, without the BEGIN and the
        # ROLLBACK that each cost a round trip of their own (psycopg sends BEGIN separately).
        # Events never change once committed, and a summary is the alert as it is now.
        isolation_level="AUTOCOMMIT",
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
    )
    # A ping only for a connection that sat idle (as the service engine): not a round trip
    # before every read.
    IdlePing(engine, database.idle_ping_s)
    return engine


def _sqlite_read_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def message(event: AlertEvent | PendingEvent, summary: str) -> str:
    """The JSON text of a live event: the event and its alert's current summary (`summary`:
    that summary already encoded, or "null"; an alert's several events share one)."""
    head = json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "alert_id": event.alert_id,
            "at": event.at.isoformat(),
            "actor": event.actor,
            "data": event.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return f'{head[:-1]},"alert":{summary}}}'


def encode_summary(summary: dict[str, Any]) -> str:
    """An alert's summary as the JSON a live event carries."""
    return json.dumps(summary, ensure_ascii=False, separators=(",", ":"), default=str)


def encode_alert(alert: Any) -> str:
    """The summary a live event carries of this alert (an Alert, or a row or object with
    its summary's attributes)."""
    return encode_summary(alerts_service.summary(alert).model_dump(mode="json"))


_ALERTS = Alert.__table__  # type: ignore[attr-defined]
# Only the columns a summary shows (not the sealed subject and raw body), prebuilt.
_SUMMARY_COLUMNS = (
    "id",
    "category",
    "status",
    "source",
    "received_at",
    "acknowledged_at",
    "acknowledged_by",
    "station_id",
    "station_name",
    "district",
    "circle",
    "range_name",
    "lat",
    "lon",
    "accuracy_m",
    "address",
    "location_source",
    "subject_label",
    "resolution_method",
    "escalation_level",
    "updated_at",
)


def _summaries(in_list: Any) -> Any:
    return sa.select(*(_ALERTS.c[name] for name in _SUMMARY_COLUMNS)).where(
        _ALERTS.c.id.in_(in_list)
    )


def _encode(session: Session, rows: list[AlertEvent]) -> list[LiveEvent]:
    ids = {r.alert_id for r in rows if r.alert_id is not None}
    summaries: dict[int | None, str] = {}
    if ids:
        statement, params = with_values("live.summaries", sorted(ids), _summaries)
        found = session.connection().execute(statement, params).all()
        # One summary per alert per batch, encoded once: an intake and its escalation are
        # several events. The rows carry the summary's columns as attributes (they are not
        # ORM instances).
        summaries = {a.id: encode_alert(a) for a in found}
    return _frames(rows, summaries)


def _frames(
    rows: Sequence[AlertEvent | PendingEvent], summaries: dict[int | None, str]
) -> list[LiveEvent]:
    """The events as pushed, each with its alert's encoded summary (null for none)."""
    return [
        LiveEvent(id=r.id, scope=r.scope, text=message(r, summaries.get(r.alert_id, "null")))
        for r in rows
    ]


def _pushable(rows: Sequence[E], wanted: Callable[[str], bool] | None) -> list[E]:
    """The events consoles get (not internal ones; with `wanted`, those it accepts)."""
    return [r for r in rows if not r.internal and (wanted is None or wanted(r.scope))]


def read_new(
    session: Session,
    *,
    after: int,
    limit: int,
    up_to: int | None = None,
    wanted: Callable[[str], bool] | None = None,
) -> tuple[int, list[LiveEvent]]:
    """Events after `after` (and at most `up_to`) for the hub (internal ones left out; with
    `wanted`, only those whose scope string it accepts).

    Returns the id of the last row read (every row counts, so the cursor moves past them)
    and the events to fan out; (after, []) when nothing is new.
    """
    rows = events.events_after(session, after=after, up_to=up_to, limit=limit)
    if not rows:
        return after, []
    return rows[-1].id, _encode(session, _pushable(rows, wanted))


def encode_committed(
    committed: Committed, wanted: Callable[[str], bool] | None = None
) -> list[LiveEvent] | None:
    """A transaction's events as read_new would give them, encoded from the committing
    transaction's own objects (internal ones left out; with `wanted`, only those whose scope
    string it accepts). None if an event's alert was not declared (events.live_copy): only
    a read of the row can tell what it looks like."""
    keep = _pushable(committed.events, wanted)
    summaries: dict[int | None, str] = {}
    for alert_id in {e.alert_id for e in keep if e.alert_id is not None}:
        row = committed.alert_row(alert_id)
        if row is None:
            return None
        summaries[alert_id] = encode_alert(row)
    return _frames(keep, summaries)


def read_visible(
    session: Session, *, scope: Scope, after: int, up_to: int, limit: int
) -> tuple[int, list[LiveEvent]]:
    """One batch of replay: events in (after, up_to] this user may see, oldest first.

    Returns the id up to which the range has been covered and the events; the scope is
    filtered in SQL so a station replaying a busy night reads only its own rows.
    """
    query = (
        select(AlertEvent)
        .where(AlertEvent.id > after)
        .where(AlertEvent.id <= up_to)
        .where(AlertEvent.internal == False)  # noqa: E712
    )
    pattern = scope.sql_pattern()
    if pattern is not None:
        query = query.where(col(AlertEvent.scope).like(pattern, escape="\\"))
    rows = list(session.exec(query.order_by(col(AlertEvent.id)).limit(limit)).all())
    if len(rows) < limit:
        return up_to, _encode(session, rows)
    return rows[-1].id, _encode(session, rows)


def last_id(session: Session) -> int:
    """The newest committed event id."""
    return events.last_event_id(session)


def scopes_now(session: Session, usernames: Sequence[str]) -> dict[str, Scope]:
    """The scope each of these users has now, for the active ones (a user missing from the
    answer is inactive or gone)."""
    rows = session.exec(
        select(User.username, User.role, User.unit).where(
            col(User.username).in_(list(usernames)), col(User.active).is_(True)
        )
    ).all()
    return {name: Scope(role=Role(role), unit=unit) for name, role, unit in rows}
