"""The append-only timeline: gapless, ordered event ids and a hash chain over every event.

Writing a transaction's events (just before it commits) locks the single `event_sequence` row
until the commit. That one lock gives three guarantees at once: event ids are assigned in
commit order (so a console replaying `since=<id>` can never miss an event committed late), the
hash chain has one well-defined predecessor per event, and several service processes on
PostgreSQL never interleave. The events are written after every other change of the
transaction has been flushed, so lock order is always alert then sequence, and the lock is
held only for the last few statements.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from dispatch.alerts.models import Alert, AlertEvent, EventSequence
from dispatch.writes import pg_pipeline, write_later_rows

GENESIS_HASH = "0" * 64
# Retention may redact an event's data; the chain covers the data's digest, which stays.
REDACTED = {"_redacted": True}
NOTIFY_CHANNEL = "dispatch_events"


class EventType(StrEnum):
    """Timeline event types; the live protocol sends them as they are."""

    created = "alert.created"
    resolved = "alert.resolved"
    unresolved = "alert.unresolved"
    duplicate = "alert.duplicate"
    signal = "alert.signal"
    handover = "alert.handover"
    assigned = "alert.assigned"
    acknowledged = "alert.acknowledged"
    status = "alert.status"
    note = "alert.note"
    escalated = "alert.escalated"
    escalation_started = "alert.escalation_started"
    escalation_stopped = "alert.escalation_stopped"
    notification = "alert.notification"
    delivery = "alert.delivery"
    updated = "alert.updated"
    closed = "alert.closed"
    reopened = "alert.reopened"
    counselling = "alert.counselling"
    followup = "alert.followup"
    followup_overdue = "followup.overdue"
    pii_viewed = "audit.pii_viewed"
    pii_purged = "audit.pii_purged"
    tip = "tip.event"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def data_digest(data: dict[str, Any]) -> str:
    """SHA-256 of an event's data in canonical JSON."""
    return hashlib.sha256(_canonical(data).encode()).hexdigest()


def compute_hash(
    *,
    event_id: int,
    alert_id: int | None,
    type_: str,
    at: datetime,
    actor: str,
    digest: str,
    scope: str,
    internal: bool,
    prev_hash: str,
) -> str:
    """SHA-256 over an event's content (its data by digest) and its predecessor's hash."""
    payload = _canonical(
        {
            "id": event_id,
            "alert_id": alert_id,
            "type": type_,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "data": digest,
            "scope": scope,
            "internal": internal,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def event_hash(event: AlertEvent | PendingEvent) -> str:
    """The hash an event (stored, or being written with its prev_hash set) must have."""
    return compute_hash(
        event_id=event.id,
        alert_id=event.alert_id,
        type_=event.type,
        at=event.at,
        actor=event.actor,
        digest=event.data_digest,
        scope=event.scope,
        internal=event.internal,
        prev_hash=event.prev_hash,
    )


def ensure_sequence(session: Session) -> None:
    """Create the sequence row if it is missing (first start)."""
    if session.get(EventSequence, 1) is None:
        session.add(EventSequence(id=1, last_id=0, last_hash=GENESIS_HASH))
        session.flush()


_EVENTS = AlertEvent.__table__  # type: ignore[attr-defined]
_ALERT_COLUMNS = tuple(Alert.__table__.columns.keys())  # type: ignore[attr-defined]
_SEQUENCE = EventSequence.__table__  # type: ignore[attr-defined]
# Built once: the statements of the hot path skip SQLAlchemy's ORM and statement construction.
_BUMP = (
    sa.update(_SEQUENCE)
    .where(_SEQUENCE.c.id == 1)
    .values(last_id=_SEQUENCE.c.last_id + sa.bindparam("n", type_=sa.Integer))
    .returning(_SEQUENCE.c.last_id, _SEQUENCE.c.last_hash)
)
_SET_HASH = (
    sa.update(_SEQUENCE)
    .where(_SEQUENCE.c.id == 1)
    .values(last_hash=sa.bindparam("h", type_=sa.String))
)
_INSERT = sa.insert(_EVENTS)
# PostgreSQL, sent on the DB-API cursor (psycopg's placeholders; see _write_pipelined):
# take the sequence lock and the ids, then insert the events and store the chain's head in
# one statement; with pg_notify, the doorbell that other processes' hubs hear when the
# transaction commits.
_PG_BUMP = (
    "UPDATE event_sequence SET last_id = last_id + %(n)s WHERE id = 1 RETURNING last_id, last_hash"
)
_PG_APPEND = """
WITH inserted AS (
    INSERT INTO alert_event
        (id, alert_id, type, at, actor, data, data_digest, scope, internal, prev_hash, hash)
    SELECT id, alert_id, type, at, actor, data, data_digest, scope, internal, prev_hash, hash
    FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS r(
        id integer, alert_id integer, type text, at timestamptz, actor text, data jsonb,
        data_digest text, scope text, internal boolean, prev_hash text, hash text)
)
UPDATE event_sequence SET last_hash = %(h)s WHERE id = 1
"""
# The payload names the committing Database (its `origin`), whose own hub ignores it.
_PG_APPEND_NOTIFY = _PG_APPEND + f"RETURNING pg_notify('{NOTIFY_CHANNEL}', %(origin)s)"


@dataclass
class PendingEvent:
    """An event appended in a transaction that has not committed yet (id 0 until then)."""

    alert_id: int | None
    type: str
    at: datetime
    actor: str
    data: dict[str, Any]
    data_digest: str
    scope: str
    internal: bool
    id: int = 0
    prev_hash: str = ""
    hash: str = ""

    def row(self) -> dict[str, Any]:
        """The event as a row of the alert_event table."""
        return {
            "id": self.id,
            "alert_id": self.alert_id,
            "type": self.type,
            "at": self.at,
            "actor": self.actor,
            "data": self.data,
            "data_digest": self.data_digest,
            "scope": self.scope,
            "internal": self.internal,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed transaction's events, in id order (internal ones included, so the ids run
    from `events[0].id` to `events[-1].id` without a hole), and the alerts the transaction
    declared it commits exactly as their objects say (`live_copy`), by id.

    The live hub takes them from the committing thread (Database.take_committed_events) and
    pushes them to consoles without reading them back."""

    events: list[PendingEvent]
    alerts: dict[int, tuple[Alert, dict[str, Any]]]

    def alert_row(self, alert_id: int) -> Any | None:
        """The alert as committed (an object with the row's attributes), if declared."""
        found = self.alerts.get(alert_id)
        if found is None:
            return None
        alert, changes = found
        if not changes:
            return alert
        row = SimpleNamespace(**{name: getattr(alert, name) for name in _ALERT_COLUMNS})
        for name, value in changes.items():
            setattr(row, name, value)
        return row


def live_copy(session: Session, alert: Alert, **changes: Any) -> None:
    """Declare that this transaction commits `alert`'s row exactly as the object says, but
    for `changes` (columns written by a statement of their own): the live hub may then
    encode the alert's summary without reading the row back. Only for a writer that changes
    the row in no other way (the intake writer's new alerts and their first escalation
    step); any other change must leave the hub to read the row."""
    assert alert.id is not None
    _in_transaction(session)
    registered = session.info.setdefault("live_alerts", {})
    _, earlier = registered.get(alert.id, (alert, {}))
    registered[alert.id] = (alert, {**earlier, **changes})


def _in_transaction(session: Session) -> None:
    """Begin the session's transaction if nothing has yet: what is kept for it in
    session.info is then dropped by its rollback (SQLAlchemy reports no rollback of a
    session that never began one, and the next commit would write it)."""
    if not session.in_transaction():
        session.begin()


def append(
    session: Session,
    *,
    alert_id: int | None,
    type_: EventType | str,
    at: datetime,
    actor: str,
    scope: str,
    data: dict[str, Any] | None = None,
    internal: bool = False,
) -> PendingEvent:
    """Append one event to the timeline inside the caller's transaction.

    The event is written when the transaction commits (`_write_pending`, run just before the
    commit): only then is the sequence row locked, so the lock that orders the timeline is
    held for a few statements, not for the caller's whole transaction. Its id and hash are
    set at that point; until then the id is 0 and the hash empty.
    """
    _in_transaction(session)
    # JSON round-trip so the hash covers exactly what the database will hand back.
    clean = json.loads(_canonical(data or {}))
    event = PendingEvent(
        alert_id=alert_id,
        type=str(type_),
        at=at,
        actor=actor,
        data=clean,
        data_digest=data_digest(clean),
        scope=scope,
        internal=internal,
    )
    session.info.setdefault("pending_events", []).append(event)
    session.info.setdefault("event_types", []).append(
        (event.type, str(clean.get("status", "")) if event.type == EventType.delivery else "")
    )
    if not internal:
        session.info["events_appended"] = True
    return event


@sa.event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Number, chain and insert the transaction's events, holding the sequence lock briefly.

    The lock is taken by the first statement and released by the commit. In between: one
    more statement on PostgreSQL (insert the events, store the chain's head and ring the
    doorbell together), so a lock holder waits for as few round trips as possible.
    """
    pending: list[PendingEvent] | None = session.info.pop("pending_events", None)
    if not pending:
        return
    session.flush()  # every other change first: the sequence lock is taken last
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _write_pipelined(session, connection, pending)
        return
    write_later_rows(session)
    row = connection.execute(_BUMP, {"n": len(pending)}).one()
    _number(session, pending, int(row[0]), str(row[1]))
    rows = [event.row() for event in pending]
    connection.execute(_INSERT, rows)
    connection.execute(_SET_HASH, {"h": pending[-1].hash})


def _number(session: Session, pending: list[PendingEvent], last_id: int, prev_hash: str) -> None:
    first_id = last_id - len(pending) + 1
    for offset, event in enumerate(pending):
        event.id = first_id + offset
        event.prev_hash = prev_hash
        event.hash = event_hash(event)
        prev_hash = event.hash
    session.info["committed_events"] = Committed(pending, session.info.pop("live_alerts", {}))


def _write_pipelined(
    session: Session, connection: sa.Connection, pending: list[PendingEvent]
) -> None:
    """PostgreSQL: the writes held for the commit and the sequence bump in one round trip,
    then the events, the chain's head and the COMMIT itself in a second.

    So this must stay the last before_commit listener that writes: anything written after
    it would go into a transaction of its own (writes.py's listener, registered first,
    leaves a transaction with events to this one)."""
    with pg_pipeline(connection) as cursor:
        checks = write_later_rows(session, pipelined=True, cursor=cursor)
        cursor.execute(_PG_BUMP, {"n": len(pending)})
        row = cursor.fetchone()  # the sync: every result so far is in
        for check in checks:
            check()
        _number(session, pending, int(row[0]), str(row[1]))
        rows = [event.row() for event in pending]
        for values in rows:
            values["at"] = values["at"].isoformat()
        params = {"rows": json.dumps(rows, default=str), "h": pending[-1].hash}
        statement = _PG_APPEND
        if session.info.get("events_appended"):
            statement = _PG_APPEND_NOTIFY
            params["origin"] = getattr(session.info.get("database"), "origin", "")
        cursor.execute(statement, params)
        if not session.in_nested_transaction():
            # The commit goes with the events: SQLAlchemy's own COMMIT, next, finds the
            # transaction ended and sends nothing. (A savepoint's release only writes.)
            cursor.execute("COMMIT")


@sa.event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop("pending_events", None)
    session.info.pop("live_alerts", None)
    session.info.pop("committed_events", None)


_LAST_ID = sa.select(_SEQUENCE.c.last_id).where(_SEQUENCE.c.id == 1)


def last_event_id(session: Session) -> int:
    """The id of the newest committed event (0 if none)."""
    last = session.connection().execute(_LAST_ID).scalar()
    return int(last) if last is not None else 0


_AFTER_UP_TO = (
    sa.select(_EVENTS)
    .where(_EVENTS.c.id > sa.bindparam("after", type_=sa.BigInteger))
    .where(_EVENTS.c.id <= sa.bindparam("up_to", type_=sa.BigInteger))
    .order_by(_EVENTS.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


_FIRST_AFTER = sa.select(sa.func.min(_EVENTS.c.id)).where(
    _EVENTS.c.id > sa.bindparam("after", type_=sa.BigInteger)
)


def events_after(
    session: Session, *, after: int, up_to: int | None = None, limit: int = 1000
) -> list[AlertEvent]:
    """Events with id > after (and <= up_to), at most `limit`, oldest first.

    Read with a prebuilt Core statement (the hub's hot path): the rows have the event's
    attributes but are not ORM instances. Ids are gapless, so the next `limit` events are
    those in (after, after + limit]: a bounded range, which PostgreSQL reads by the primary
    key whatever its statistics say. `WHERE id > :after ORDER BY id LIMIT :n` alone was
    planned as a scan and sort of the whole table while the table's statistics were behind
    its growth (3.3 million rows read in 10 s at 100 alerts/s, most of the database's CPU).
    Should a range ever hold no event while later ones exist (a gap: the chain is broken,
    which verify_chain reports), the read starts again from the next event there is.
    """
    connection = session.connection()
    bound = after + limit if up_to is None else min(up_to, after + limit)
    rows = connection.execute(_AFTER_UP_TO, {"after": after, "up_to": bound, "limit": limit}).all()
    if not rows:
        following = connection.execute(_FIRST_AFTER, {"after": after}).scalar()
        if following is not None and following > bound and (up_to is None or following <= up_to):
            return events_after(session, after=int(following) - 1, up_to=up_to, limit=limit)
    return rows  # type: ignore[return-value]


def timeline(
    session: Session, alert_id: int, *, include_internal: bool = False
) -> list[AlertEvent]:
    """An alert's events, oldest first."""
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id)
    if not include_internal:
        query = query.where(AlertEvent.internal == False)  # noqa: E712
    return list(session.exec(query.order_by(AlertEvent.id)).all())  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChainBreak:
    """The first place the hash chain does not hold."""

    event_id: int
    reason: str


def verify_chain(session: Session, *, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk every event in id order; return how many were checked and the first break."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    checked = 0
    for event in _iter_events(session, batch):
        if event.id != expected_id:
            reason = (
                f"event {expected_id} is missing (next present is {event.id})"
                if event.id > expected_id
                else f"unexpected event id {event.id}"
            )
            return checked, ChainBreak(expected_id if event.id > expected_id else event.id, reason)
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(
                event.id, "prev_hash does not match the previous event (row inserted or removed)"
            )
        if event.data != REDACTED and data_digest(event.data) != event.data_digest:
            return checked, ChainBreak(event.id, "data does not match its digest (row altered)")
        digest = event_hash(event)
        if digest != event.hash:
            return checked, ChainBreak(event.id, "content does not match its hash (row altered)")
        expected_prev = event.hash
        expected_id += 1
        checked += 1
    seq = session.get(EventSequence, 1)
    if seq is not None and (seq.last_id != checked or seq.last_hash != expected_prev):
        return checked, ChainBreak(
            checked + 1 if seq.last_id > checked else seq.last_id,
            f"the chain ends at event {checked} but the sequence records {seq.last_id} "
            "(trailing rows removed or sequence altered)",
        )
    return checked, None


def _iter_events(session: Session, batch: int) -> Iterator[AlertEvent]:
    after = 0
    while True:
        rows = events_after(session, after=after, limit=batch)
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()
