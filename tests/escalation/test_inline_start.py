"""With escalation running in the process, intake pages the station in the transaction that
stores the alert: the SHO's SMS and WhatsApp leave without waiting for a sweep, exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from dispatch.alerts.events import Committed
from dispatch.alerts.models import Alert
from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import service as escalation_service
from dispatch.escalation.engine import Step
from dispatch.escalation.models import Post
from dispatch.notify.models import OutboundRecord
from tests.conftest import POSTGRES_URL
from tests.escalation.support import (
    PHONES,
    alert_row,
    events_of,
    levels_fired,
    new_alert,
    tick,
    twilio_settings,
    wait_for,
)
from tests.helpers import JASWANTNAGAR_ID
from tests.live.support import pushed_and_read
from tests.notify.fake_twilio import RecordingTwilio


@pytest.fixture
def settings(database: Database) -> Settings:
    """Escalation running in the process (its sweeper effectively idle: once an hour)."""
    return twilio_settings(database, scheduler_enabled=True, sweep_interval_s=3600)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def test_intake_pages_the_sho_in_its_own_transaction(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    # Stored with its first step done: level 0, a new fence, the next level due in 3 minutes.
    row = alert_row(database, alert_id)
    assert row.escalation_fence == 1
    assert row.escalation_level == 0
    assert row.escalation_chain is not None and row.escalation_chain["state"]["level"] == 0
    assert row.escalation_due_at is not None
    assert (row.escalation_due_at - clock.now()).total_seconds() == pytest.approx(180)
    # One transaction: the creation and the paging are consecutive on the timeline.
    timeline = events_of(database, alert_id)
    assert [e.type for e in timeline[:3]] == [
        "alert.created",
        "alert.resolved",
        "alert.escalation_started",
    ]
    assert [e.id for e in timeline] == list(range(timeline[0].id, timeline[0].id + len(timeline)))
    assert levels_fired(database, alert_id) == [0]
    # The messages go out after the commit, without any sweep or clock movement.
    wait_for(lambda: len(twilio.sent) == 2)
    assert [(s.kind, s.to) for s in twilio.sent] == [
        ("sms", PHONES["sho_jsw"]),
        ("whatsapp", PHONES["sho_jsw"]),
    ]

    def answered() -> bool:
        with database.session() as session:
            rows = session.exec(select(OutboundRecord)).all()
        return len(rows) == 2 and all(r.provider_id for r in rows)

    wait_for(answered)
    # A sweep finds nothing left to do for it: level 0 is paged once only.
    assert [o for o in tick(app, clock) if o.step is not None] == []
    assert len(twilio.sent) == 2
    # And the chain goes on from there as usual.
    outcomes = tick(app, clock, minutes=3)
    assert [o.step for o in outcomes if o.alert_id == alert_id] == [Step.escalate]
    assert levels_fired(database, alert_id) == [0, 1]


def test_intake_with_its_first_step_done_does_not_wake_the_sweep_but_an_ack_does(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    contacts: dict[str, int],
    auth: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waker = app.state.escalation_waker
    rings: list[int] = []
    ring = type(waker).__call__
    monkeypatch.setattr(type(waker), "__call__", lambda self: (rings.append(1), ring(self)))
    alert_id = new_alert(client, partner)
    assert rings == []  # paged in the intake's own transaction: nothing for a sweep to do
    r = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"])
    assert r.status_code == 200, r.text
    assert rings == [1]  # the chain must stop: the sweep comes forward


def test_an_acknowledgement_right_after_intake_stops_the_chain(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    alert_id = new_alert(client, partner)
    r = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"])
    assert r.status_code == 200, r.text
    tick(app, clock)
    assert events_of(database, alert_id, "alert.escalation_stopped")
    # Past level 1's deadline (3 min), before the en-route stall (10 min): nothing more.
    tick(app, clock, minutes=5)
    assert levels_fired(database, alert_id) == [0]


def test_contacts_read_for_a_group_are_those_each_page_would_read(
    database: Database, contacts: dict[str, int], clock: FrozenClock
) -> None:
    added: dict[str, int] = {}
    with database.session() as session:
        # A second SHO at Jaswantnagar, then one who left: only active contacts, oldest first.
        for name, phone in (("Second SHO", "+919876500061"), ("Gone SHO", "+919876500062")):
            contact = escalation_service.add_contact(
                session=session,
                body=escalation_service.ContactCreate(
                    name=name, post=Post.sho, unit=JASWANTNAGAR_ID, phone=phone
                ),
                index=None,
                now=clock.now(),
            )
            assert contact.id is not None
            added[name] = contact.id
        escalation_service.remove_contact(session=session, contact_id=added["Gone SHO"])
        session.commit()
    alerts = [
        Alert(
            station_id=JASWANTNAGAR_ID,
            circle="Jaswantnagar",
            district="Etawah",
            range_name="Kanpur",
        ),
        Alert(station_id="ETW-SAIFAI", district="Etawah"),
        Alert(),  # not routed: only the state cell can be paged
    ]
    pairs = {(post, escalation_service.unit_of(post, a)) for a in alerts for post in Post}
    with database.session() as session:
        one_by_one = {
            pair: [c.id for c in escalation_service.contacts_for(session, *pair)] for pair in pairs
        }
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with database.session() as session:
        escalation_service.prefetch_contacts(session, alerts)
        sa.event.listen(database.engine, "before_cursor_execute", count)
        try:
            grouped = {
                pair: [c.id for c in escalation_service.contacts_for(session, *pair)]
                for pair in pairs
            }
        finally:
            sa.event.remove(database.engine, "before_cursor_execute", count)
    assert grouped == one_by_one
    assert statements == []  # every page of the group answered from the one read
    assert one_by_one[(Post.sho, JASWANTNAGAR_ID)] == [contacts["sho_jsw"], added["Second SHO"]]
    assert one_by_one[(Post.state_cell, None)] == [contacts["state_cell"]]


def test_contacts_prefetched_for_some_posts_answer_those_and_the_rest_are_read(
    database: Database, contacts: dict[str, int]
) -> None:
    """The intake writer prefetches only the posts of the chains' first level."""
    alert = Alert(
        station_id=JASWANTNAGAR_ID, circle="Jaswantnagar", district="Etawah", range_name="Kanpur"
    )
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with database.session() as session:
        escalation_service.prefetch_contacts(session, [alert], [Post.sho])
        sa.event.listen(database.engine, "before_cursor_execute", count)
        try:
            sho = escalation_service.contacts_for(session, Post.sho, JASWANTNAGAR_ID)
            assert statements == []  # answered from the prefetch
            cell = escalation_service.contacts_for(session, Post.state_cell, None)
            district = escalation_service.contacts_for(
                session, Post.district_control, alert.district
            )
        finally:
            sa.event.remove(database.engine, "before_cursor_execute", count)
    assert [c.id for c in sho] == [contacts["sho_jsw"]]
    # Posts not prefetched are read, one statement each, and found all the same.
    assert len(statements) == 2
    assert [c.id for c in cell] == [contacts["state_cell"]]
    assert [c.id for c in district] == [contacts["dcr_etawah"]]


# PostgreSQL only: elsewhere the contacts are read by the step itself, as above.
@pytest.mark.parametrize("database", ["postgres"] if POSTGRES_URL else [], indirect=True)
def test_on_postgresql_the_first_step_pages_from_the_contacts_read_with_the_intake(
    client: TestClient,
    partner: PartnerCredentials,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The intake's look-up, insert and the SHO's contacts go out in one round trip; the
    step answers from that read and never reads the contacts itself."""
    # Any read of the contacts by the step would fail its group: the alert would then be
    # stored alone, without its first step.
    monkeypatch.setattr(escalation_service, "_ACTIVE_IN_UNITS", sa.text("SELECT 1 / 0"))
    alert_id = new_alert(client, partner)
    row = alert_row(database, alert_id)
    assert row.escalation_fence == 1  # the first step ran in the intake's transaction
    assert levels_fired(database, alert_id) == [0]
    wait_for(lambda: len(twilio.sent) == 2)
    assert {s.to for s in twilio.sent} == {PHONES["sho_jsw"]}


def test_the_live_frames_of_an_intake_with_its_first_step_are_what_a_read_gives(
    client: TestClient,
    partner: PartnerCredentials,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    # The intake transaction encodes its own events for the consoles (the hub does not
    # read them back): the alert's summary must show the step it stored with them.
    taken: list[Committed] = []
    database.take_committed_events(taken.append)
    alert_ids = [new_alert(client, partner) for _ in range(2)]
    pushed, read = pushed_and_read(database, [c for c in taken if c.alerts])
    assert {f["alert_id"] for f in read} == set(alert_ids)
    assert "alert.escalation_started" in [f["type"] for f in read]
    assert pushed == read
    assert all(f["alert"]["escalation_level"] == 0 for f in read)
