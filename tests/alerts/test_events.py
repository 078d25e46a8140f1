"""The timeline: gapless ids in commit order and a hash chain that detects tampering."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlmodel import Session

from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.alerts.models import Alert
from dispatch.clock import FrozenClock
from dispatch.db import Database


def append_some(database: Database, clock: FrozenClock, n: int, alert_id: int = 1) -> None:
    for i in range(n):
        with database.session() as session:
            events.append(
                session,
                alert_id=alert_id,
                type_=EventType.note,
                at=clock.now(),
                actor="user:x",
                scope="|s:A|",
                data={"text": f"note {i}", "n": i},
            )
            session.commit()


def append_one(
    session: Session,
    clock: FrozenClock,
    *,
    alert_id: int = 1,
    type_: EventType = EventType.note,
    internal: bool = False,
) -> None:
    """One event in the session's transaction (no commit)."""
    events.append(
        session,
        alert_id=alert_id,
        type_=type_,
        at=clock.now(),
        actor="x",
        scope="|s:A|",
        internal=internal,
    )


def test_ids_are_gapless_under_concurrency(database: Database, clock: FrozenClock) -> None:
    threads = [
        threading.Thread(target=append_some, args=(database, clock, 10, t)) for t in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with database.session() as session:
        ids = [e.id for e in events.events_after(session, after=0, limit=1000)]
        checked, broken = events.verify_chain(session)
    assert ids == list(range(1, 61))
    assert checked == 60 and broken is None


def test_rolled_back_append_leaves_no_gap(database: Database, clock: FrozenClock) -> None:
    append_some(database, clock, 2)
    with database.session() as session:
        events.append(
            session, alert_id=1, type_=EventType.note, at=clock.now(), actor="x", scope="|s:A|"
        )
        session.rollback()
    append_some(database, clock, 1)
    with database.session() as session:
        assert [e.id for e in events.events_after(session, after=0)] == [1, 2, 3]
        assert events.verify_chain(session)[1] is None


def test_altered_row_is_detected(database: Database, clock: FrozenClock) -> None:
    append_some(database, clock, 5)
    with database.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alert_event SET actor = 'user:forger' WHERE id = 3"))
    with database.session() as session:
        checked, broken = events.verify_chain(session)
    assert checked == 2 and broken is not None and broken.event_id == 3
    assert "altered" in broken.reason


def test_deleted_row_is_detected(database: Database, clock: FrozenClock) -> None:
    append_some(database, clock, 5)
    with database.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alert_event WHERE id = 4"))
    with database.session() as session:
        _, broken = events.verify_chain(session)
    assert broken is not None and broken.event_id == 4 and "missing" in broken.reason


def test_deleted_last_row_is_detected(database: Database, clock: FrozenClock) -> None:
    append_some(database, clock, 5)
    with database.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alert_event WHERE id = 5"))
    with database.session() as session:
        _, broken = events.verify_chain(session)
    assert broken is not None and broken.event_id == 5


def test_listener_runs_after_commit_only(database: Database, clock: FrozenClock) -> None:
    calls: list[int] = []
    database.on_events_committed(lambda: calls.append(1))
    with database.session() as session:
        events.append(
            session, alert_id=1, type_=EventType.note, at=clock.now(), actor="x", scope="|s:A|"
        )
        assert calls == []
        session.rollback()
    assert calls == []
    append_some(database, clock, 1)
    assert calls == [1]
    with database.session() as session:
        append_one(session, clock, type_=EventType.pii_viewed, internal=True)
        session.commit()
    assert calls == [1]


def test_reads_in_bounded_ranges_still_get_past_a_gap(
    database: Database, clock: FrozenClock
) -> None:
    append_some(database, clock, 12)
    with database.engine.begin() as conn:  # a broken chain: events 3 to 7 removed
        conn.execute(sa.text("DELETE FROM alert_event WHERE id BETWEEN 3 AND 7"))

    def ids(**kwargs: int) -> list[int]:
        with database.session() as session:
            return [e.id for e in events.events_after(session, **kwargs)]

    assert ids(after=0, limit=2) == [1, 2]
    # (2, 4] holds nothing, but events follow: the read goes on from the next one there is.
    assert ids(after=2, limit=2) == [8, 9]
    assert ids(after=2, limit=10) == [8, 9, 10, 11, 12]
    assert ids(after=2, up_to=9, limit=2) == [8, 9]
    assert ids(after=2, up_to=7, limit=2) == []
    assert ids(after=12, limit=5) == []


def test_takers_get_every_committed_transactions_events_with_the_alerts_it_declared(
    database: Database, clock: FrozenClock
) -> None:
    taken: list[events.Committed] = []
    rung: list[int] = []
    database.take_committed_events(taken.append)
    database.on_events_committed(lambda: rung.append(1))
    alert = Alert(id=41, category="suicide_risk", received_at=clock.now(), updated_at=clock.now())

    def note(session: Session, internal: bool = False) -> None:
        append_one(session, clock, alert_id=41, internal=internal)

    # Rolled back: nobody hears of it, and the declaration goes with it.
    with database.session() as session:
        note(session)
        events.live_copy(session, alert)
        session.rollback()
        note(session)
        note(session, internal=True)
        session.commit()
    # Internal events alone: the takers see them (the ids must run on), the doorbell does not.
    with database.session() as session:
        note(session, internal=True)
        events.live_copy(session, alert, escalation_level=2)
        session.commit()
    assert rung == [1]
    first, second = taken
    assert [e.id for e in first.events] == [1, 2] and first.alerts == {}
    assert first.alert_row(41) is None
    assert [e.id for e in second.events] == [3] and second.events[0].internal
    # A declared alert reads as the object, but for the columns written by other statements.
    row = second.alert_row(41)
    assert row is not None and row is not alert
    assert (row.id, row.category, row.escalation_level) == (41, "suicide_risk", 2)
    assert alert.escalation_level == 0
    database.remove_listener(taken.append)
    append_some(database, clock, 1)
    assert len(taken) == 2
