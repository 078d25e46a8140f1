"""The outbox (queue a message in a transaction, send it after the commit, resend what a dead
process left); the call's TwiML; reading the records back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.datastructures import State
from twilio.twiml.voice_response import VoiceResponse

from dispatch.alerts.models import Alert
from dispatch.db import Database, UTCDateTime, after_commit, for_transaction
from dispatch.notify.console import ConsoleProvider
from dispatch.notify.models import NotificationPublic, OutboundRecord, SentMessage
from dispatch.notify.provider import Channel, OutboundMessage, Provider, SendResult
from dispatch.pii import mask_phone
from dispatch.writes import insert_later, insert_values, recordset_json

STATUS_PATH = "/webhooks/twilio/status"
_OUTBOUND = OutboundRecord.__table__  # type: ignore[attr-defined]
_RECORD_RESULT = (
    sa.update(_OUTBOUND)
    .where(_OUTBOUND.c.id == sa.bindparam("rid"))
    .values(
        provider_id=sa.bindparam("pid", type_=sa.String),
        status=sa.bindparam("st", type_=sa.String),
        error=sa.bindparam("err", type_=sa.String),
        updated_at=sa.bindparam("ts", type_=UTCDateTime),
    )
)
# PostgreSQL: every answer of a batch from one JSON parameter (one constant statement,
# prepared once, instead of an executemany).
_PG_RECORD_RESULTS_SQL = (
    "UPDATE outbound_message AS m"
    " SET provider_id = r.pid, status = r.st, error = r.err, updated_at = r.ts"
    " FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb))"
    " AS r(rid bigint, pid text, st text, err text, ts timestamptz)"
    " WHERE m.id = r.rid"
)
# Claim a message left in the outbox: only if nobody touched it since we read it.
_CLAIM = (
    sa.update(_OUTBOUND)
    .where(
        _OUTBOUND.c.id == sa.bindparam("rid"),
        _OUTBOUND.c.status == "sending",
        _OUTBOUND.c.provider_id.is_(None),
        _OUTBOUND.c.updated_at == sa.bindparam("seen", type_=UTCDateTime),
    )
    .values(updated_at=sa.bindparam("now", type_=UTCDateTime))
)
GATHER_PATH = "/webhooks/twilio/voice/gather"
log = logging.getLogger(__name__)


def resolve_notifier(notifier: Provider | State | Any) -> Provider:
    """The provider itself, or app.state.notifier (the console transport if none is set)."""
    if hasattr(notifier, "send") and hasattr(notifier, "name"):
        provider: Provider = notifier
        return provider
    found = getattr(notifier, "notifier", None)
    if found is not None:
        return resolve_notifier(found)
    settings = getattr(notifier, "settings", None)
    return ConsoleProvider(getattr(settings, "public_base_url", ""))


def base_url(notifier: Provider) -> str:
    """The public base URL the provider's callbacks and links use ('' if unknown)."""
    return str(getattr(notifier, "public_base_url", "") or "").rstrip("/")


def voice_twiml(
    *,
    text_hi: str,
    text_en: str,
    gather_url: str | None,
    hindi_first: bool,
    voice: str | None = None,
) -> str:
    """A short call: the message in Hindi and English, then 'press 1 to acknowledge'."""
    said = {"voice": voice} if voice else {}
    response = VoiceResponse()
    parts = [("hi-IN", text_hi), ("en-IN", text_en)]
    if not hindi_first:
        parts.reverse()
    if gather_url:
        # Said twice: an officer woken at night often misses the first words.
        for _ in range(2):
            gather = response.gather(
                num_digits=1,
                action=gather_url,
                method="POST",
                timeout=8,
                action_on_empty_result=False,
            )
            for language, text in parts:
                gather.say(text, language=language, **said)
        response.say("कोई जवाब नहीं मिला। No key pressed. Goodbye.", language="en-IN", **said)
    else:
        for language, text in parts:
            response.say(text, language=language, **said)
    return str(response)


@dataclass(frozen=True, slots=True)
class Speech:
    """What a call says: the text in Hindi and in English, the contact's language first."""

    text_hi: str
    text_en: str
    hindi_first: bool


_QUEUED_FIELDS = [f.name for f in fields(SentMessage) if f.name not in ("id", "options")]
# A send failure's bookkeeping, run in the transaction that stores the answers (escalation
# hurries the alert's chain; notify itself knows nothing of chains).
FailureHook = Callable[[Session, list[SentMessage], datetime], object]


def queue(
    *,
    session: Session,
    notifier: Provider,
    channel: Channel,
    to: str,
    body: str,
    now: datetime,
    ref: str | None = None,
    alert_id: int | None = None,
    contact_id: int | None = None,
    contact_name: str | None = None,
    post: str | None = None,
    unit: str | None = None,
    level: int | None = None,
    ack_code: str | None = None,
    speech: Speech | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, str] | None = None,
) -> SentMessage:
    """Put a message in the outbox, in the caller's transaction; nothing is sent yet.

    The record is stored as "sending" with no provider id. Send it with send_queued() once
    the transaction has committed (send_after_commit() arranges that): a message never goes
    out for a step that rolled back, and no provider call ever holds a database lock. If the
    process dies in between, resend_stale() sends it later.
    """
    options: dict[str, Any] = {}
    if channel is Channel.voice and speech is not None:
        options["speech"] = {
            "hi": speech.text_hi,
            "en": speech.text_en,
            "hi_first": speech.hindi_first,
        }
    if channel is Channel.whatsapp and content_sid:
        options["content_sid"] = content_sid
        options["content_variables"] = dict(content_variables or {})
    record = SentMessage(
        at=now,
        updated_at=now,
        channel=channel.value,
        to=to,
        body=body,
        ref=ref,
        provider=notifier.name,
        alert_id=alert_id,
        contact_id=contact_id,
        contact_name=contact_name,
        post=post,
        unit=unit,
        level=level,
        ack_code=ack_code,
        options=options or None,
    )
    values = {name: getattr(record, name) for name in _QUEUED_FIELDS}
    if record.options is not None:  # else left out: SQL NULL, not JSON null
        values["options"] = record.options
    if session.connection().dialect.name == "postgresql":
        # With the group's other messages in one statement at commit (a round trip saved
        # per message); nothing reads the outbox before then.
        record.id = insert_later(session, _OUTBOUND, values)
    else:
        record.id = insert_values(session, _OUTBOUND, values)
    return record


def outbound_message(record: OutboundRecord | SentMessage, notifier: Provider) -> OutboundMessage:
    """The provider message for a stored record (its id names it in the callback URLs)."""
    root = base_url(notifier)
    callback = f"{root}{STATUS_PATH}?n={record.id}" if root else None
    gather = f"{root}{GATHER_PATH}?n={record.id}" if root and record.alert_id is not None else None
    options = record.options or {}
    channel = Channel(record.channel)
    speech = options.get("speech")
    twiml = None
    if channel is Channel.voice and speech:
        twiml = voice_twiml(
            text_hi=speech["hi"],
            text_en=speech["en"],
            gather_url=gather,
            hindi_first=speech["hi_first"],
            voice=getattr(notifier, "voice", None),
        )
    return OutboundMessage(
        channel=channel,
        to=record.to,
        body=record.body,
        ref=record.ref,
        status_callback=callback,
        twiml=twiml,
        content_sid=options.get("content_sid") if channel is Channel.whatsapp else None,
        content_variables=dict(options.get("content_variables") or {}),
    )


def send_queued(
    database: Database,
    notifier: Provider,
    records: Sequence[SentMessage],
    now: datetime,
    on_failure: FailureHook | None = None,
) -> list[SentMessage]:
    """Send queued messages (outside any transaction), then store the answers in one.

    A provider that raises counts as a refusal: the record is marked failed, never left to be
    sent again and again. `on_failure` sees the failed ones in the storing transaction.
    """
    return send_groups(database, [SendGroup(notifier, list(records), now, on_failure)])


@dataclass(slots=True)
class SendGroup:
    """Messages queued together (one escalation step's), and what to do with refusals."""

    notifier: Provider
    records: list[SentMessage]
    now: datetime
    on_failure: FailureHook | None


def send_groups(database: Database, groups: Sequence[SendGroup]) -> list[SentMessage]:
    """Send every group's messages, then store all the answers in one transaction, where
    each group's `on_failure` sees its own refused messages. On PostgreSQL, when no group
    has a refused message to report, the answers are one statement in autocommit: no
    session, one round trip instead of three (BEGIN, the update, COMMIT)."""
    for group in groups:
        for record in group.records:
            try:
                result = group.notifier.send(outbound_message(record, group.notifier))
            except Exception as exc:
                log.exception("sending message %s failed", record.id)
                result = SendResult(None, "failed", error=f"not sent: {type(exc).__name__}")
            record.provider_id = result.provider_id
            record.status = result.status if result.ok else "failed"
            record.error = result.error
            record.updated_at = group.now
    sent = [record for group in groups for record in group.records]
    if not sent:
        return []
    answers = [
        {"rid": r.id, "pid": r.provider_id, "st": r.status, "err": r.error, "ts": r.updated_at}
        for r in sent
    ]
    hooked = [
        (group, failed)
        for group in groups
        if group.on_failure is not None
        and (failed := [r for r in group.records if r.status == "failed"])
    ]
    if not database.is_sqlite and not hooked:
        # The usual case, every message accepted: one statement, a transaction of its own
        # (autocommit), one round trip; no session.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(_PG_RECORD_RESULTS_SQL, {"rows": recordset_json(answers)})
        return sent
    with database.session() as session:
        connection = session.connection()
        if not database.is_sqlite:
            connection.exec_driver_sql(_PG_RECORD_RESULTS_SQL, {"rows": recordset_json(answers)})
        else:
            connection.execute(_RECORD_RESULT, answers)
        for group, failed in hooked:
            assert group.on_failure is not None
            group.on_failure(session, failed, group.now)
        session.commit()
    return sent


class _PendingSends:
    """The groups one transaction queued: sent together once it commits."""

    def __init__(self, session: Session, database: Database) -> None:
        self.database = database
        self.groups: list[SendGroup] = []
        after_commit(session, self)

    def __call__(self) -> None:
        send_groups(self.database, self.groups)


def send_after_commit(
    session: Session,
    notifier: Provider,
    records: Sequence[SentMessage],
    now: datetime,
    on_failure: FailureHook | None = None,
) -> None:
    """Send the records once the session's transaction commits (dropped on rollback).

    Every group a transaction queues (the intake writer starts many escalations in one) is
    sent after that commit and answered in one more transaction, not one per group.
    """
    database = session.info.get("database")
    if not isinstance(database, Database):
        raise RuntimeError("sending after a commit needs a session from Database.session()")
    if not records:
        return
    pending = for_transaction(session, "pending_sends", lambda: _PendingSends(session, database))
    pending.groups.append(SendGroup(notifier, list(records), now, on_failure))


def resend_stale(
    database: Database,
    notifier: Provider,
    now: datetime,
    *,
    older_than_s: float,
    on_failure: FailureHook | None = None,
    limit: int = 200,
) -> list[SentMessage]:
    """Send what a process queued and never sent (it died between commit and send).

    A record still "sending" with no provider id and no error after `older_than_s` is
    claimed (a conditional update: of several processes, one sends it) and sent. A process
    that died while the provider was answering may have sent it already: the officer may get
    the page twice, never not at all.
    """
    cutoff = now - timedelta(seconds=older_than_s)
    claimed: list[SentMessage] = []
    with database.session() as session:
        rows = session.exec(
            select(OutboundRecord)
            .where(OutboundRecord.status == "sending")
            .where(col(OutboundRecord.provider_id).is_(None))
            .where(col(OutboundRecord.error).is_(None))
            .where(col(OutboundRecord.updated_at) < cutoff)
            .order_by(col(OutboundRecord.id))
            .limit(limit)
        ).all()
        for row in rows:
            moved = session.connection().execute(
                _CLAIM, {"rid": row.id, "seen": row.updated_at, "now": now}
            )
            if getattr(moved, "rowcount", 0) == 1:
                values = row.model_dump()
                values["updated_at"] = now
                claimed.append(SentMessage(**values))
        session.commit()
    if claimed:
        log.warning("outbox: sending %d message(s) queued before a restart", len(claimed))
    return send_queued(database, notifier, claimed, now, on_failure)


def event_data(record: OutboundRecord | SentMessage) -> dict[str, Any]:
    """What the timeline shows for a message: self-explanatory, the number masked."""
    return {
        "notification_id": record.id,
        "channel": record.channel,
        "to_masked": mask_phone(record.to),
        "contact": record.contact_name,
        "post": record.post,
        "unit": record.unit,
        "level": record.level,
        "body": record.body,
        "status": record.status,
        "error": record.error,
        "provider": record.provider,
    }


def public(record: OutboundRecord | SentMessage) -> NotificationPublic:
    """The API form of a record."""
    assert record.id is not None
    return NotificationPublic(
        id=record.id,
        at=record.at,
        channel=record.channel,
        to_masked=mask_phone(record.to),
        body=record.body,
        ref=record.ref,
        provider=record.provider,
        status=record.status,
        error=record.error,
        alert_id=record.alert_id,
        contact_name=record.contact_name,
        post=record.post,
        unit=record.unit,
        level=record.level,
    )


def list_records(
    *,
    session: Session,
    scope_pattern: str | None,
    alert_id: int | None = None,
    limit: int = 200,
    before_id: int | None = None,
) -> list[OutboundRecord]:
    """Records newest first; `scope_pattern` (a LIKE on the alert's scope) limits what a
    unit-bound user sees: only messages about alerts in their area (None: everything)."""
    query = select(OutboundRecord)
    if scope_pattern is not None:
        query = query.join(Alert, col(Alert.id) == col(OutboundRecord.alert_id)).where(
            col(Alert.scope).like(scope_pattern, escape="\\")
        )
    if alert_id is not None:
        query = query.where(OutboundRecord.alert_id == alert_id)
    if before_id is not None:
        query = query.where(col(OutboundRecord.id) < before_id)
    return list(session.exec(query.order_by(col(OutboundRecord.id).desc()).limit(limit)).all())
