"""Reading the timeline for consoles: the hub's read of new events and a console's replay
give the same frames, on both backends."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session

from dispatch.alerts import events
from dispatch.alerts.events import Committed
from dispatch.auth.models import PartnerCredentials, Role
from dispatch.auth.scope import Scope
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.live import service as live_service
from tests.helpers import commit_event, make_alert, signed_post
from tests.live.support import pushed_and_read


def test_the_hubs_read_and_a_replay_send_the_same_frames(
    client: TestClient, partner: PartnerCredentials, database: Database
) -> None:
    # Alerts with and without a station (the state queue), with and without a location.
    for overrides in ({}, {"location": None}, {}):
        r = signed_post(client, "/api/v1/alerts", make_alert(**overrides), partner)
        assert r.status_code == 201, r.text
    live = live_service.read_engine(database)
    try:
        with Session(live) as session:
            last = live_service.last_id(session)
            upto, fresh = live_service.read_new(session, after=0, limit=1000)
            covered, replayed = live_service.read_visible(
                session, scope=Scope(role=Role.operator, unit=None), after=0, up_to=last, limit=1000
            )
            # A read of a smaller window moves the cursor only as far as it read.
            part_upto, part = live_service.read_new(session, after=0, limit=2)
    finally:
        live.dispose()
    assert upto == covered == last > 2
    assert [e.text for e in fresh] == [e.text for e in replayed]
    assert part_upto == 2 and [e.text for e in part] == [e.text for e in fresh if e.id <= 2]
    frames = [json.loads(e.text) for e in fresh]
    created = [f for f in frames if f["type"] == "alert.created"]
    assert len(created) == 3
    # Every frame names its alert and carries that alert's summary.
    for frame in frames:
        assert frame["alert"]["id"] == frame["alert_id"]
    queued = [f for f in created if f["alert"]["station"] is None]
    assert len(queued) == 1 and queued[0]["alert"]["location"] is None


def test_a_transactions_own_encoding_of_its_events_is_what_the_hub_would_read(
    client: TestClient, partner: PartnerCredentials, database: Database, clock: FrozenClock
) -> None:
    taken: list[Committed] = []
    database.take_committed_events(taken.append)
    for overrides in ({}, {"location": None}, {"subject": {"name": "Ravi", "phone": None}}):
        r = signed_post(client, "/api/v1/alerts", make_alert(**overrides), partner)
        assert r.status_code == 201, r.text
    commit_event(database)  # an event of no alert: its summary is null
    pushed, read = pushed_and_read(database, taken)
    assert len(pushed) == len(read) > 6
    assert pushed == read
    assert read[-1]["alert"] is None
    # A transaction that changed an alert without declaring its row (an acknowledgement,
    # say) cannot be encoded from its objects: the hub reads it.
    alert_id = read[0]["alert_id"]
    with database.session() as session:
        events.append(
            session,
            alert_id=alert_id,
            type_=events.EventType.note,
            at=clock.now(),
            actor="x",
            scope="|q:state|",
        )
        session.commit()
    assert live_service.encode_committed(taken[-1]) is None
    # ... unless no console wants its events.
    assert live_service.encode_committed(taken[-1], lambda scope: False) == []
