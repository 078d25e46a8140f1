"""What Twilio tells us: delivery status, a keypress on an alert call, an SMS reply 'ACK <code>'.

Each handler runs after the webhook's signature was verified (notify.webhooks.TwilioForm).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select
from twilio.twiml.messaging_response import MessagingResponse

import geo
from dispatch import metrics
from dispatch.alerts import events
from dispatch.alerts import service as alerts_service
from dispatch.alerts.events import EventType
from dispatch.alerts.models import Alert
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import Contact
from dispatch.notify.models import OutboundRecord
from dispatch.pii import mask_phone

# Statuses before anything reached the phone: not worth a timeline entry each.
QUIET_STATUSES = {"queued", "initiated", "sending", "accepted", "scheduled"}
ACK_PATTERN = re.compile(r"^\s*ACK\s*#?\s*([A-Za-z0-9]{4,8})\b", re.IGNORECASE)
HOW_TO_ACK_EN = "Reply ACK <code> to acknowledge an alert."
HOW_TO_ACK_HI = "अलर्ट स्वीकार करने के लिए ACK <कोड> भेजें।"


@dataclass(frozen=True)
class AckResult:
    """The answer to an acknowledgement by phone, to read back to the officer."""

    acknowledged: bool
    alert_id: int | None
    message_en: str
    message_hi: str


def _locked_alert(session: Session, alert_id: int) -> Alert | None:
    return session.exec(select(Alert).where(Alert.id == alert_id).with_for_update()).first()


def record_status(
    *, session: Session, record_id: int, form: dict[str, str], now: datetime
) -> OutboundRecord | None:
    """Store a status callback; a failed delivery hurries the escalation to its next level."""
    record = session.get(OutboundRecord, record_id)
    if record is None:
        return None
    sid = form.get("MessageSid") or form.get("CallSid")
    if record.provider_id and sid and sid != record.provider_id:
        return None  # a callback for some other message: ignore it
    status = form.get("MessageStatus") or form.get("CallStatus") or form.get("SmsStatus") or ""
    status = status.strip().lower()[:30]
    if not status:
        return record
    alert = _locked_alert(session, record.alert_id) if record.alert_id is not None else None
    session.refresh(record)
    record.status = status
    record.updated_at = now
    if form.get("ErrorCode"):
        record.error = f"twilio error {form['ErrorCode']}"[:500]
    session.add(record)
    hurried = False
    if alert is not None and status in metrics.FAILED_DELIVERY_STATUSES:
        hurried = escalation_service.hurry(alert, level=record.level, now=now)
    session.flush()
    if alert is not None and alert.id is not None and (status not in QUIET_STATUSES or hurried):
        data: dict[str, Any] = {
            "notification_id": record.id,
            "channel": record.channel,
            "to_masked": mask_phone(record.to),
            "contact": record.contact_name,
            "post": record.post,
            "level": record.level,
            "status": status,
            "error_code": form.get("ErrorCode"),
            "escalating_now": hurried,
        }
        if form.get("CallDuration"):
            data["duration_s"] = form["CallDuration"]
        events.append(
            session,
            alert_id=alert.id,
            type_=EventType.delivery,
            at=now,
            actor="twilio",
            scope=alert.scope,
            data=data,
        )
    session.commit()
    return record


def acknowledge_as(
    *, session: Session, record: OutboundRecord, via: str, now: datetime
) -> AckResult:
    """Acknowledge the record's alert as the contact it was sent to."""
    contact = session.get(Contact, record.contact_id) if record.contact_id is not None else None
    if record.alert_id is None or contact is None or not contact.active:
        return AckResult(
            False, None, "This number cannot acknowledge.", "यह नंबर स्वीकार नहीं कर सकता।"
        )
    alert = _locked_alert(session, record.alert_id)
    if alert is None:
        return AckResult(False, None, "Alert not found.", "अलर्ट नहीं मिला।")
    who = f"contact:{contact.id} {contact.name} ({contact.post} {contact.unit or 'state'})"
    try:
        done = alerts_service.acknowledge(
            session=session, alert=alert, by=who[:120], now=now, via=via
        )
    except alerts_service.Conflict:
        session.rollback()
        return AckResult(False, alert.id, f"Alert {alert.id} is closed.", f"अलर्ट {alert.id} बंद है।")
    if done:
        metrics.observe_ack(alert)
        return AckResult(
            True,
            alert.id,
            f"Alert {alert.id} acknowledged. Thank you.",
            f"अलर्ट {alert.id} स्वीकार किया गया। धन्यवाद।",
        )
    return AckResult(
        False,
        alert.id,
        f"Alert {alert.id} was already acknowledged by {alert.acknowledged_by}.",
        f"अलर्ट {alert.id} पहले ही स्वीकार किया जा चुका है।",
    )


def voice_keypress(
    *, session: Session, record_id: int, form: dict[str, str], now: datetime
) -> AckResult:
    """'Press 1 to acknowledge' on an alert call."""
    record = session.get(OutboundRecord, record_id)
    call_sid = form.get("CallSid")
    if record is None or (record.provider_id and call_sid != record.provider_id):
        return AckResult(False, None, "Unknown call.", "अज्ञात कॉल।")
    if form.get("Digits", "").strip() != "1":
        return AckResult(False, record.alert_id, "Not acknowledged.", "स्वीकार नहीं किया गया।")
    return acknowledge_as(session=session, record=record, via="voice", now=now)


def try_ack(
    *,
    session: Session,
    from_: str,
    body: str,
    now: datetime,
    via: str = "sms",
    region: str = "IN",
    paged_numbers_only: bool = False,
) -> AckResult | None:
    """Acknowledge by a reply 'ACK <code>' from a number the code was sent to.

    None if the text is not an ACK. With `paged_numbers_only` (the WhatsApp number, shared
    with the tip line), None only when nothing was ever sent to that number: an informant's
    message goes on to the tip line, and an officer's reply never reaches it, whatever it
    says ("OK, going", "ACK" without the code): it is answered with how to acknowledge.
    """
    match = ACK_PATTERN.match(body or "")
    if match is None and not paged_numbers_only:
        return None
    number = geo.normalize_phone(from_.removeprefix("whatsapp:"), region).e164
    if paged_numbers_only and (
        number is None
        or session.exec(
            select(OutboundRecord.id).where(OutboundRecord.to == number).limit(1)
        ).first()
        is None
    ):
        return None
    if match is None:
        # A paged officer's other reply: the tip-line bot would answer with its menu and
        # keep the officer's number in its vault.
        return AckResult(False, None, HOW_TO_ACK_EN, HOW_TO_ACK_HI)
    code = match.group(1).upper()
    record = None
    if number is not None:
        record = session.exec(
            select(OutboundRecord)
            .where(OutboundRecord.to == number)
            .where(OutboundRecord.ack_code == code)
            .order_by(col(OutboundRecord.id).desc())
            .limit(1)
        ).first()
    if record is None:
        return AckResult(
            False,
            None,
            f"Code {code} is not known for this number. Use the console link.",
            f"कोड {code} इस नंबर के लिए मान्य नहीं है। कंसोल लिंक देखें।",
        )
    return acknowledge_as(session=session, record=record, via=via, now=now)


def ack_reply(
    *,
    session: Session,
    form: Mapping[str, str],
    now: datetime,
    via: str,
    region: str,
    paged_numbers_only: bool = False,
) -> str | None:
    """The TwiML answer to a text that may be 'ACK <code>' (try_ack on the webhook's form):
    None when the text is not for the escalation."""
    result = try_ack(
        session=session,
        from_=form.get("From", ""),
        body=form.get("Body", ""),
        now=now,
        via=via,
        region=region,
        paged_numbers_only=paged_numbers_only,
    )
    if result is None:
        return None
    return message_twiml(f"{result.message_en} / {result.message_hi}")


def message_twiml(text: str) -> str:
    """A TwiML answer of one message."""
    reply = MessagingResponse()
    reply.message(text)
    return str(reply)
