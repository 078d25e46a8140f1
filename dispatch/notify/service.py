"""Sending one message and recording it; the call's TwiML; reading the record back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.datastructures import State
from twilio.twiml.voice_response import VoiceResponse

from dispatch.alerts.models import Alert
from dispatch.db import insert_values
from dispatch.notify.console import ConsoleProvider
from dispatch.notify.models import NotificationPublic, OutboundRecord, SentMessage
from dispatch.notify.provider import Channel, OutboundMessage, Provider
from dispatch.pii import mask_phone

STATUS_PATH = "/webhooks/twilio/status"
_OUTBOUND = OutboundRecord.__table__  # type: ignore[attr-defined]
_RECORD_RESULT = (
    sa.update(_OUTBOUND)
    .where(_OUTBOUND.c.id == sa.bindparam("rid"))
    .values(
        provider_id=sa.bindparam("pid", type_=sa.String),
        status=sa.bindparam("st", type_=sa.String),
        error=sa.bindparam("err", type_=sa.String),
    )
)
GATHER_PATH = "/webhooks/twilio/voice/gather"


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


def voice_twiml(*, text_hi: str, text_en: str, gather_url: str | None, hindi_first: bool) -> str:
    """A short call: the message in Hindi and English, then 'press 1 to acknowledge'."""
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
                gather.say(text, language=language)
        response.say("कोई जवाब नहीं मिला। No key pressed. Goodbye.", language="en-IN")
    else:
        for language, text in parts:
            response.say(text, language=language)
    return str(response)


def deliver(
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
    twiml: Callable[[str | None], str] | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, str] | None = None,
) -> SentMessage:
    """Record the message, send it, store the provider's answer (in the caller's transaction).

    `twiml(gather_url)` builds a call's TwiML once the record's id (named in the URL) is known.
    """
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
    )
    # Its id names the record in the callback URLs.
    values = asdict(record)
    del values["id"]
    record.id = insert_values(session, _OUTBOUND, values)
    root = base_url(notifier)
    callback = f"{root}{STATUS_PATH}?n={record.id}" if root else None
    gather = f"{root}{GATHER_PATH}?n={record.id}" if root and alert_id is not None else None
    message = OutboundMessage(
        channel=channel,
        to=to,
        body=body,
        ref=ref,
        status_callback=callback,
        twiml=twiml(gather) if twiml is not None and channel is Channel.voice else None,
        content_sid=content_sid if channel is Channel.whatsapp else None,
        content_variables=dict(content_variables or {}),
    )
    result = notifier.send(message)
    record.provider_id = result.provider_id
    record.status = result.status if result.ok else "failed"
    record.error = result.error
    session.connection().execute(
        _RECORD_RESULT,
        {"rid": record.id, "pid": record.provider_id, "st": record.status, "err": record.error},
    )
    return record


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
