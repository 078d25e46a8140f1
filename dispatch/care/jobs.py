"""The follow-up sweep: a check-in missed past its grace period pages the circle officer once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.alerts.models import Alert
from dispatch.care.models import FollowUp, FollowUpStatus
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import Post
from dispatch.notify.provider import Channel

log = logging.getLogger(__name__)
IST_OFFSET = timedelta(hours=5, minutes=30)


def overdue_ids(session: Session, now: datetime, grace: timedelta, limit: int = 200) -> list[int]:
    """Pending check-ins past due by more than the grace period and not yet escalated."""
    rows = session.exec(
        select(FollowUp.id)
        .where(FollowUp.status == FollowUpStatus.pending.value)
        .where(col(FollowUp.escalated_at).is_(None))
        .where(FollowUp.due_at <= now - grace)
        .order_by(col(FollowUp.due_at))
        .limit(limit)
    ).all()
    return [int(r) for r in rows if r is not None]


def escalate_overdue(
    database: Database, now: datetime, *, settings: Settings, notifier: Any
) -> int:
    """Page the circle officer for each newly overdue check-in; returns how many were escalated.

    Idempotent: each check-in is locked, re-checked and marked in the same transaction as its
    timeline event, so a second sweep (or another process) finds nothing left to do.
    """
    grace = timedelta(seconds=settings.scaled(settings.followup_grace_hours * 3600))
    with database.session() as session:
        ids = overdue_ids(session, now, grace)
    escalated = 0
    for followup_id in ids:
        with database.session() as session:
            if _escalate_one(session, followup_id, now, grace, settings, notifier):
                escalated += 1
    return escalated


def _escalate_one(
    session: Session,
    followup_id: int,
    now: datetime,
    grace: timedelta,
    settings: Settings,
    notifier: Any,
) -> bool:
    query = select(FollowUp).where(FollowUp.id == followup_id)
    followup = session.exec(query.with_for_update(skip_locked=True)).first()
    if (
        followup is None
        or followup.status != FollowUpStatus.pending
        or followup.escalated_at is not None
        or followup.due_at > now - grace
    ):
        session.rollback()
        return False
    alert = session.get(Alert, followup.alert_id)
    if alert is None or alert.id is None:
        session.rollback()
        return False
    # The circle officer supervises the station's check-ins; a station without a circle
    # reports straight to its district control room.
    target = (
        (Post.circle_officer, followup.circle)
        if followup.circle
        else (Post.district_control, followup.district)
    )
    due_ist = (followup.due_at + IST_OFFSET).strftime("%d %b %H:%M")
    link = settings.console_alert_url.format(
        base_url=settings.public_base_url.rstrip("/"), alert_id=alert.id
    )
    who = alert.subject_label or "the person"
    station = alert.station_name or followup.station_id or "the station"
    text_en = (
        f"Follow-up overdue: the {_offset(followup.offset_hours)} check-in with {who} "
        f"(alert {alert.id}, {station}) was due {due_ist} IST and is not recorded. {link}"
    )
    text_hi = (
        f"फॉलो-अप लंबित: {who} (अलर्ट {alert.id}, {station}) से {due_ist} IST तक "
        f"संपर्क दर्ज नहीं हुआ। {link}"
    )
    followup.escalated_at = now
    session.add(followup)
    session.flush()
    records = escalation_service.page(
        session=session,
        notifier=notifier,
        now=now,
        unit_posts=[target],
        channels=[Channel.sms, Channel.whatsapp],
        text_en=text_en,
        text_hi=text_hi,
        ref=f"followup:{followup.id}",
        alert_id=alert.id,
        actor="care",
    )
    followup.escalated_to = [
        {"post": r.post, "unit": r.unit, "contact": r.contact_name, "channel": r.channel}
        for r in records
    ]
    session.add(followup)
    session.flush()
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.followup_overdue,
        at=now,
        actor="care",
        scope=alert.scope,
        data={
            "followup_id": followup.id,
            "offset_hours": followup.offset_hours,
            "due_at": followup.due_at.isoformat(),
            "station_id": followup.station_id,
            "post": target[0].value,
            "unit": target[1],
            "messages": len(records),
        },
    )
    session.commit()
    if not records:
        log.warning(
            "follow-up %s overdue but no active %s contact for %s",
            followup.id,
            target[0].value,
            target[1],
        )
    return True


def _offset(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return f"{days}-day"
    return f"{hours}-hour"
