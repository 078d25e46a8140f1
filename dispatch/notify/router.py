"""Sent messages for the console, and the Twilio webhooks (signature-checked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from twilio.twiml.voice_response import VoiceResponse

from dispatch.alerts import service as alerts_service
from dispatch.auth.deps import UserScope
from dispatch.db import SessionDep
from dispatch.deps import MAX_ID, ClockDep, SettingsDep
from dispatch.notify import inbound
from dispatch.notify import service as notify_service
from dispatch.notify.models import NotificationPublic
from dispatch.notify.webhooks import TwilioForm

router = APIRouter(tags=["notifications"])
RecordId = Annotated[int, Query(alias="n", ge=1, le=MAX_ID)]
XML = "application/xml"


@router.get("/api/v1/notifications")
def list_notifications(
    session: SessionDep,
    scope: UserScope,
    alert_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[NotificationPublic]:
    """Messages and calls sent (or recorded by the console transport), newest first, masked."""
    if alert_id is not None:
        try:
            alerts_service.get_or_404(session=session, alert_id=alert_id, scope=scope)
        except alerts_service.NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    records = notify_service.list_records(
        session=session,
        scope_pattern=scope.sql_pattern(),
        alert_id=alert_id,
        limit=limit,
        before_id=before_id,
    )
    return [notify_service.public(r) for r in records]


@router.post("/webhooks/twilio/status", status_code=status.HTTP_204_NO_CONTENT)
def twilio_status(
    form: TwilioForm, record_id: RecordId, session: SessionDep, clock: ClockDep
) -> Response:
    """Twilio's delivery report for a message or call; a failure escalates at once."""
    inbound.record_status(session=session, record_id=record_id, form=form, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhooks/twilio/voice/gather")
def twilio_gather(
    form: TwilioForm,
    record_id: RecordId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """The key an officer pressed on an alert call: 1 acknowledges as that officer."""
    result = inbound.voice_keypress(
        session=session, record_id=record_id, form=form, now=clock.now()
    )
    reply = VoiceResponse()
    said = {"voice": settings.twilio_voice} if settings.twilio_voice else {}
    reply.say(result.message_hi, language="hi-IN", **said)
    reply.say(result.message_en, language="en-IN", **said)
    return Response(content=str(reply), media_type=XML)


@router.post("/webhooks/twilio/sms")
def twilio_sms(
    form: TwilioForm, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """An SMS to the service's number: 'ACK <code>' acknowledges as the officer who sent it."""
    twiml = inbound.ack_reply(
        session=session,
        form=form,
        now=clock.now(),
        via="sms",
        region=settings.default_phone_region,
    )
    if twiml is None:
        twiml = inbound.message_twiml(f"{inbound.HOW_TO_ACK_EN} / {inbound.HOW_TO_ACK_HI}")
    return Response(content=twiml, media_type=XML)
