"""Hot-path writes: rows written at the commit get their ids at once, from blocks drawn
ahead per process that grow with the rate and expire; transient rows are the rows their
constructor builds. (A group of alerts inserted from one JSON parameter: tests/alerts.)"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from dispatch.db import Database
from dispatch.writes import IdBlocks, Read, insert_later, pg_together, row_values, transient
from tests.conftest import POSTGRES_URL


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


class _Sequence:
    """A table's sequence for IdBlocks: hands out the next n values and counts the draws."""

    def __init__(self) -> None:
        self.next = 1
        self.sizes: list[int] = []

    def draw(self, n: int) -> list[int]:
        self.sizes.append(n)
        ids = list(range(self.next, self.next + n))
        self.next += n
        return ids


def test_ids_drawn_ahead_grow_with_the_rate_and_expire_when_old() -> None:
    now = [0.0]
    blocks = IdBlocks(first=4, most=64, max_age_s=2.0, monotonic=lambda: now[0])
    sequence = _Sequence()
    # A busy second: 200 ids in 10 ms steps. Every id once, in order, from few draws that
    # double up to the cap.
    taken = []
    for _ in range(200):
        taken.append(blocks.take("outbound_message", sequence.draw))
        now[0] += 0.005
    assert taken == list(range(1, 201))
    assert sequence.sizes == [4, 8, 16, 32, 64, 64, 64]
    assert blocks.draws == 7
    # Quiet: one id every 3 s. A block older than 2 s is dropped (a gap), never handed out
    # late, and the size halves back down as blocks expire unused.
    quiet = []
    for _ in range(6):
        now[0] += 3.0
        quiet.append(blocks.take("outbound_message", sequence.draw))
    assert sequence.sizes[7:] == [32, 16, 8, 4, 4, 4]
    # Each quiet id is the first of a fresh draw, later than every id drawn before it.
    assert quiet == sorted(quiet) and quiet[0] == 253  # 252 drawn in the busy second
    assert all(later > earlier + 1 for earlier, later in itertools.pairwise(quiet))
    # Tables do not share blocks.
    assert blocks.take("other", _Sequence().draw) == 1


def test_transactions_inserting_later_seldom_draw_ids() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs DISPATCH_TEST_POSTGRES_URL (insert_later is PostgreSQL's)")
    database = Database(POSTGRES_URL)
    notes = sa.Table("test_blocks", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    notes.drop(database.engine, checkfirst=True)
    notes.create(database.engine)
    try:
        stored: list[int] = []
        for _ in range(20):  # twenty transactions of three rows each
            with database.session() as session:
                stored += [insert_later(session, notes, {}) for _ in range(3)]
                session.commit()
        assert len(set(stored)) == 60
        # Blocks of 4, 8, 16 and 32 ids: four round trips for sixty rows, not one or more
        # per transaction.
        assert database.id_blocks.draws == 4
        with database.engine.begin() as conn:
            assert sorted(conn.execute(sa.select(notes.c.id)).scalars()) == sorted(stored)
    finally:
        notes.drop(database.engine)
        database.dispose()


def test_a_transient_row_is_the_row_its_constructor_builds_and_stores_alike(
    database: Database,
) -> None:
    from sqlalchemy import inspect

    from dispatch.alerts.models import Alert

    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "partner_id": None,
        "external_id": "t-1",
        "source": "partner",
        "category": "suicide_risk",
        "status": "new",
        "detected_at": now,
        "received_at": now,
        "updated_at": now,
        "resolution_method": "contains",
        "candidates": [{"station_id": "ETW-JASWANTNAGAR", "share": 1.0}],
        "lat": 26.886,
        "lon": 78.9128,
        "accuracy_m": 50.0,
        "subject_sealed": "sealed",
        "subject_label": "T. P.",
        "extra": {"kept": True},
        "escalation_due_at": now,
    }
    built, fast = Alert(**values), transient(Alert, **values)
    assert {f: getattr(fast, f) for f in Alert.model_fields} == {
        f: getattr(built, f) for f in Alert.model_fields
    }
    assert row_values(fast) == row_values(built)
    assert inspect(fast).transient
    fast.station_id = "ETW-JASWANTNAGAR"  # instrumented like any other instance
    with database.session() as session:
        session.add(fast)
        session.commit()
        stored = session.get(Alert, fast.id)
        assert stored is not None
        assert (stored.external_id, stored.station_id, stored.extra) == (
            "t-1",
            "ETW-JASWANTNAGAR",
            {"kept": True},
        )


def test_statements_sent_together_each_get_their_own_rows_and_fail_as_sqlalchemy_does() -> None:
    if not POSTGRES_URL:
        pytest.skip("needs DISPATCH_TEST_POSTGRES_URL")
    database = Database(POSTGRES_URL)
    metadata = sa.MetaData()
    sa.Table(
        "test_together",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String, nullable=False, unique=True),
    )
    metadata.drop_all(database.engine)
    metadata.create_all(database.engine)
    insert = "INSERT INTO test_together (text) VALUES (%(t)s) RETURNING id, text"
    count = "SELECT count(*) AS n FROM test_together"
    try:
        got: dict[str, list[Any]] = {}
        with database.session() as session:
            pg_together(
                session.connection(),
                [
                    Read(count, {}, partial(got.__setitem__, "before")),
                    Read(insert, {"t": "a"}, partial(got.__setitem__, "a")),
                    Read(insert, {"t": "b"}, partial(got.__setitem__, "b")),
                    Read(count, {}, partial(got.__setitem__, "after")),
                ],
            )
            # In order, in the session's transaction, each with its own rows by name.
            assert [r.n for r in got["before"]] == [0]
            assert [r.text for r in got["a"]] == ["a"]
            assert [r.text for r in got["b"]] == ["b"]
            assert [r.n for r in got["after"]] == [2]
            with database.engine.connect() as other:  # nothing committed yet
                assert other.execute(sa.text(count)).scalar_one() == 0
            session.commit()
        with database.engine.connect() as other:
            assert other.execute(sa.text(count)).scalar_one() == 2
        # A failing statement: SQLAlchemy's IntegrityError, no rows handed to anyone, and
        # the session goes on after its rollback.
        taken: list[str] = []
        with database.session() as session:
            with pytest.raises(sa.exc.IntegrityError):
                pg_together(
                    session.connection(),
                    [
                        Read(insert, {"t": "c"}, lambda _rows: taken.append("c")),
                        Read(insert, {"t": "a"}, lambda _rows: taken.append("a again")),
                    ],
                )
            session.rollback()
            assert taken == []
            n = session.connection().execute(sa.text(count)).scalar_one()
        assert n == 2
    finally:
        metadata.drop_all(database.engine)
        database.dispose()
