"""The intake writer: alerts waiting together are stored in one transaction, each answered
with its own result; a failing alert never takes the others with it; nothing waiting at
shutdown is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from dispatch.alerts import service as alerts_service
from dispatch.alerts.models import Alert, AlertEvent, AlertIn, SubjectKey
from dispatch.alerts.writer import IntakeUnavailable, IntakeWriter
from dispatch.auth.models import Partner, PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from tests.helpers import JASWANTNAGAR_ID, encode, make_alert, signed_post


@pytest.fixture
def partner_id(database: Database, partner: PartnerCredentials) -> int:
    with database.session() as session:
        found = session.exec(select(Partner).where(Partner.api_key == partner.api_key)).one()
        assert found.id is not None
        return found.id


@pytest.fixture
def writer(app: FastAPI, database: Database) -> Iterator[IntakeWriter]:
    writer = IntakeWriter(database=database, resolver=app.state.resolver, batch_max=8, threads=1)
    writer.start()
    yield writer
    writer.stop()


def prepared(
    app: FastAPI, clock: FrozenClock, partner_id: int, **overrides: Any
) -> alerts_service.Prepared:
    body = make_alert(**overrides)
    return alerts_service.prepare(
        partner_id=partner_id,
        payload=AlertIn.model_validate(body),
        raw_body=encode(body),
        received_at=clock.now(),
        resolver=app.state.resolver,
        vault=app.state.vault,
        actor="partner:meta",
    )


def store_all(writer: IntakeWriter, items: list[alerts_service.Prepared]) -> list[Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*(writer.store(p) for p in items), return_exceptions=True)

    return asyncio.run(main())


def test_alerts_waiting_together_share_a_transaction_and_each_get_their_own_answer(
    app: FastAPI, clock: FrozenClock, partner_id: int, writer: IntakeWriter, database: Database
) -> None:
    items = [prepared(app, clock, partner_id, external_id=f"ig-{i}") for i in range(20)]
    results = store_all(writer, items)
    assert all(r.created for r in results)
    ids = [r.alert.id for r in results]
    assert len(set(ids)) == 20
    # Fewer commits than alerts (at most batch_max = 8 in one), none lost.
    assert 3 <= writer.transactions < 20
    assert writer.stored == 20
    with database.session() as session:
        stored = {a.external_id: a for a in session.exec(select(Alert)).all()}
        events = session.exec(select(AlertEvent).order_by(AlertEvent.id)).all()  # type: ignore[arg-type]
    assert {f"ig-{i}" for i in range(20)} == set(stored)
    for result, item in zip(results, items, strict=True):
        assert stored[item.alert.external_id].id == result.alert.id
        assert result.alert.station_id == JASWANTNAGAR_ID
    # The same person each time: every alert links to all those before it, whether they
    # were stored in an earlier group or earlier in its own.
    for k, result in enumerate(results):
        assert result.linked_alerts == sorted(ids[:k], reverse=True)
    # Every alert has its whole timeline, created before resolved, ids gapless.
    assert [e.id for e in events] == list(range(1, 41))
    for alert_id in ids:
        assert [e.type for e in events if e.alert_id == alert_id] == [
            "alert.created",
            "alert.resolved",
        ]


def test_a_group_stores_every_column_of_every_alert_as_prepared(
    app: FastAPI, clock: FrozenClock, partner_id: int, writer: IntakeWriter, database: Database
) -> None:
    """On PostgreSQL a group's alerts go in as one JSON parameter: nothing may be lost or
    changed on the way (timestamps, floats, JSON columns, missing values as NULL)."""
    items = [
        prepared(app, clock, partner_id, external_id="col-gps"),
        # No location at all: no station, no coordinates (NULL columns), the state queue.
        prepared(app, clock, partner_id, external_id="col-none", location=None),
        # An address only, a partner's own fields kept in `extra`, another time zone.
        prepared(
            app,
            clock,
            partner_id,
            external_id="col-extra",
            location={"address": "Jaswantnagar, Etawah", "accuracy_m": 1234.5},
            detected_at="2026-11-24T16:44:00.123456+00:00",
            platform_score=0.97,
            labels={"hi": "आत्महत्या जोखिम", "nested": [1, 2.5, None]},
        ),
    ]
    results = store_all(writer, items)
    assert all(r.created for r in results)
    columns = [c.name for c in Alert.__table__.columns]  # type: ignore[attr-defined]
    with database.session() as session:
        for item, result in zip(items, results, strict=True):
            stored = session.get(Alert, result.alert.id)
            assert stored is not None
            for name in columns:
                assert getattr(stored, name) == getattr(item.alert, name), name
    gps, none, extra = (item.alert for item in items)
    assert gps.lat is not None and none.lat is None and none.station_id is None
    assert extra.extra["labels"]["hi"] == "आत्महत्या जोखिम"
    assert extra.detected_at is not None and extra.detected_at.microsecond == 123456


def test_a_repeat_in_the_same_group_answers_with_the_first_alert(
    app: FastAPI, clock: FrozenClock, partner_id: int, writer: IntakeWriter, database: Database
) -> None:
    first, again = store_all(
        writer,
        [
            prepared(app, clock, partner_id, external_id="ig-same"),
            prepared(app, clock, partner_id, external_id="ig-same"),
        ],
    )
    assert first.created and not again.created
    assert again.alert.id == first.alert.id
    # Sent again in a later group, beside a new alert: still the first one.
    later, other = store_all(
        writer,
        [
            prepared(app, clock, partner_id, external_id="ig-same"),
            prepared(app, clock, partner_id, external_id="ig-other"),
        ],
    )
    assert not later.created and later.alert.id == first.alert.id
    assert other.created and other.linked_alerts == [first.alert.id]
    digests = prepared(app, clock, partner_id).digests
    assert len(digests) >= 2  # the phone and the handle
    with database.session() as session:
        assert len(session.exec(select(Alert)).all()) == 2
        keys = session.exec(select(SubjectKey)).all()
    # The subject's keys once for each stored alert: none for a repeat.
    assert sorted((k.alert_id, k.kind, k.digest) for k in keys) == sorted(
        (alert_id, kind, digest)
        for alert_id in (first.alert.id, other.alert.id)
        for kind, digest in digests
    )


def test_an_alert_that_cannot_be_stored_does_not_sink_its_group(
    app: FastAPI, clock: FrozenClock, partner_id: int, writer: IntakeWriter, database: Database
) -> None:
    good = [prepared(app, clock, partner_id, external_id=f"ok-{i}") for i in range(4)]
    bad = prepared(app, clock, partner_id, external_id="bad")
    bad.alert.partner_id = 999_999  # no such partner: the foreign key refuses the row
    results = store_all(writer, [good[0], good[1], bad, good[2], good[3]])
    assert isinstance(results[2], DBAPIError)
    assert all(r.created for i, r in enumerate(results) if i != 2)
    with database.session() as session:
        stored = {a.external_id for a in session.exec(select(Alert)).all()}
    assert stored == {f"ok-{i}" for i in range(4)}


def test_stop_stores_what_waits_and_later_alerts_are_refused_with_503(
    app: FastAPI, clock: FrozenClock, partner_id: int, database: Database
) -> None:
    writer = IntakeWriter(database=database, resolver=app.state.resolver, threads=1)
    writer.start()

    async def main() -> None:
        items = [prepared(app, clock, partner_id, external_id=f"s-{i}") for i in range(5)]
        pending = [asyncio.ensure_future(writer.store(p)) for p in items]
        await asyncio.sleep(0)  # every store() has queued its alert
        await asyncio.get_running_loop().run_in_executor(None, writer.stop)
        results = await asyncio.gather(*pending)
        assert all(r.created for r in results)
        with pytest.raises(IntakeUnavailable):
            await writer.store(prepared(app, clock, partner_id, external_id="late"))

    asyncio.run(main())
    with database.session() as session:
        assert len(session.exec(select(Alert)).all()) == 5


def test_intake_answers_503_while_the_writer_is_stopped(
    client: TestClient, partner: PartnerCredentials, app: FastAPI, database: Database
) -> None:
    app.state.intake_writer.stop()
    r = signed_post(client, "/api/v1/alerts", make_alert(), partner)
    assert r.status_code == 503
    assert "retry" in r.json()["detail"]
    assert r.headers["Retry-After"] == "1"
    with database.session() as session:
        assert session.exec(select(Alert)).all() == []
