"""The outbox: a message goes out only after the transaction that queued it commits, never
while a database lock is held, and one that a dead process left unsent goes out later, once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.escalation import jobs
from dispatch.notify import service as notify_service
from dispatch.notify.models import OutboundRecord
from dispatch.notify.provider import Channel, Provider
from tests.escalation.support import PHONES, events_of, new_alert, tick
from tests.notify.fake_twilio import RecordingTwilio


def _records(database: Database, alert_id: int | None = None) -> list[OutboundRecord]:
    query = select(OutboundRecord).order_by(col(OutboundRecord.id))
    if alert_id is not None:
        query = query.where(OutboundRecord.alert_id == alert_id)
    with database.session() as session:
        return list(session.exec(query).all())


def test_an_officer_can_acknowledge_while_twilio_is_still_answering(
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
    answers: list[object] = []

    def acknowledge_meanwhile(_form: dict[str, object]) -> None:
        # Twilio is slow to answer the first level-0 SMS: meanwhile the control room
        # acknowledges on the console. Were the step still holding the alert's row (or
        # SQLite's write lock), the acknowledgement would wait for Twilio.
        if answers:
            return
        done: list[int] = []
        ack = threading.Thread(
            target=lambda: done.append(
                client.post(
                    f"/api/v1/alerts/{alert_id}/ack", headers=auth["dcr_etawah"]
                ).status_code
            )
        )
        ack.start()
        ack.join(timeout=10)
        answers.append(done[0] if done else "still waiting after 10 s")

    twilio.during_request = acknowledge_meanwhile
    tick(app, clock)
    assert answers == [200]
    # Level 0 still went out in full, and the acknowledgement stopped the chain.
    assert [(s.kind, s.to) for s in twilio.sent] == [
        ("sms", PHONES["sho_jsw"]),
        ("whatsapp", PHONES["sho_jsw"]),
    ]
    assert {r.status for r in _records(database, alert_id)} == {"queued"}
    stopped = events_of(database, alert_id, "alert.escalation_stopped")
    assert [e.data["reason"] for e in stopped] == ["acknowledged"]


def queue_sms(
    session: Session, provider: Provider, clock: FrozenClock, to: str = PHONES["sho_jsw"]
) -> None:
    """Queue an SMS (to the SHO) in the session's transaction, to go out after its commit."""
    record = notify_service.queue(
        session=session,
        notifier=provider,
        channel=Channel.sms,
        to=to,
        body="CRISIS ALERT",
        now=clock.now(),
    )
    notify_service.send_after_commit(session, provider, [record], clock.now())


def test_a_message_queued_in_a_transaction_that_rolls_back_never_goes_out(
    app: FastAPI,
    client: TestClient,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    provider: Provider = app.state.notifier
    with database.session() as session:
        queue_sms(session, provider, clock)
        assert twilio.sent == []  # nothing is sent inside the transaction
        session.rollback()
    assert twilio.sent == []
    assert _records(database) == []

    with database.session() as session:
        queue_sms(session, provider, clock)
        assert twilio.sent == []
        session.commit()
    (sent,) = twilio.sent
    (stored,) = _records(database)
    assert stored.status == "queued" and stored.provider_id == sent.sid


def test_every_answer_of_a_batch_is_stored_on_its_own_message(
    app: FastAPI,
    client: TestClient,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    """Twilio's answers to one commit's messages (one accepted, one refused) land on the
    right rows: the accepted one's SID and status, the refused one's error, masked."""
    provider: Provider = app.state.notifier
    refused = "+919876500099"
    twilio.refuse.add(refused)
    with database.session() as session:
        queue_sms(session, provider, clock)
        queue_sms(session, provider, clock, to=refused)
        session.commit()
    assert sorted(s.to for s in twilio.sent) == sorted([PHONES["sho_jsw"], refused])
    sent = next(s for s in twilio.sent if s.to == PHONES["sho_jsw"])
    accepted, failed = _records(database)
    assert (accepted.to, accepted.status, accepted.provider_id) == (
        PHONES["sho_jsw"],
        "queued",
        sent.sid,
    )
    assert accepted.error is None
    assert (failed.to, failed.status, failed.provider_id) == (refused, "failed", None)
    assert failed.error is not None and "21211" in failed.error
    assert refused not in failed.error
    assert accepted.updated_at == failed.updated_at == clock.now()


def test_a_message_a_dead_process_left_unsent_goes_out_later_once(
    app: FastAPI,
    client: TestClient,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    provider: Provider = app.state.notifier
    alert_id = new_alert(client, partner)
    # A call queued and committed by a process that died before sending it.
    with database.session() as session:
        record = notify_service.queue(
            session=session,
            notifier=provider,
            channel=Channel.voice,
            to=PHONES["sho_jsw"],
            body="CRISIS ALERT",
            now=clock.now(),
            alert_id=alert_id,
            speech=notify_service.Speech("संकट अलर्ट", "Crisis alert", hindi_first=True),
        )
        session.commit()
    assert record.id is not None

    # Not yet: it may still be on its way from a live process.
    clock.advance(seconds=60)
    jobs.run_registered(app, clock.now())
    assert twilio.sent == []

    # Past DISPATCH_OUTBOX_RESEND_AFTER_S: two sweepers at once (two processes) send it once,
    # with the call's speech and its press-1 link, as the first process would have.
    clock.advance(seconds=61)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: jobs.run_registered(app, clock.now()), range(2)))
    (call,) = twilio.sent
    twiml = str(call.data["Twiml"])
    assert "संकट अलर्ट" in twiml and "Crisis alert" in twiml
    assert f"/webhooks/twilio/voice/gather?n={record.id}" in twiml
    stored = next(r for r in _records(database, alert_id) if r.id == record.id)
    assert stored.status == "queued" and stored.provider_id == call.sid

    clock.advance(minutes=10)
    jobs.run_registered(app, clock.now())
    assert len(twilio.sent) == 1
