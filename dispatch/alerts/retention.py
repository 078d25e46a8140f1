"""Retention: personal data of long-closed alerts is removed; anonymous statistics stay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from dispatch.alerts import events
from dispatch.alerts.events import REDACTED, EventType
from dispatch.alerts.models import Alert, AlertEvent, AlertStatus, SubjectKey

# Event types whose data may hold free text or positions about the person.
REDACT_TYPES = (
    EventType.note,
    EventType.status,
    EventType.signal,
    EventType.closed,
    EventType.reopened,
    EventType.counselling,
    EventType.followup,
)


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed."""

    alerts: int
    events_redacted: int


def purge(
    *, session: Session, now: datetime, retention_days: int, dry_run: bool = False
) -> PurgeResult:
    """Remove personal data of alerts closed more than retention_days ago."""
    cutoff = now - timedelta(days=retention_days)
    alerts = list(
        session.exec(
            select(Alert)
            .where(Alert.status == AlertStatus.closed.value)
            .where(col(Alert.closed_at) < cutoff)
            .where(col(Alert.pii_purged_at).is_(None))
        ).all()
    )
    if dry_run or not alerts:
        count = 0
        if alerts:
            count = session.exec(
                select(sa.func.count())
                .select_from(AlertEvent)
                .where(col(AlertEvent.alert_id).in_([a.id for a in alerts]))
                .where(col(AlertEvent.type).in_([str(t) for t in REDACT_TYPES]))
            ).one()
        return PurgeResult(alerts=len(alerts), events_redacted=int(count))
    ids = [a.id for a in alerts]
    for alert in alerts:
        alert.subject_sealed = ""
        alert.raw_body_sealed = ""
        alert.subject_label = None
        alert.address = None
        alert.content_sealed = ""
        alert.extra = {}
        # Keep the station-level picture for statistics, not the exact spot.
        alert.lat = round(alert.lat, 2) if alert.lat is not None else None
        alert.lon = round(alert.lon, 2) if alert.lon is not None else None
        alert.pii_purged_at = now
        session.add(alert)
    session.execute(sa.delete(SubjectKey).where(col(SubjectKey.alert_id).in_(ids)))
    result = session.execute(
        sa.update(AlertEvent)
        .where(col(AlertEvent.alert_id).in_(ids))
        .where(col(AlertEvent.type).in_([str(t) for t in REDACT_TYPES]))
        .values(data=REDACTED)
    )
    redacted = int(getattr(result, "rowcount", 0) or 0)
    for alert in alerts:
        assert alert.id is not None
        events.append(
            session,
            alert_id=alert.id,
            type_=EventType.pii_purged,
            at=now,
            actor="system:retention",
            scope=alert.scope,
            data={"retention_days": retention_days},
            internal=True,
        )
    session.commit()
    return PurgeResult(alerts=len(alerts), events_redacted=redacted)
