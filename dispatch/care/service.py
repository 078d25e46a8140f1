"""Care logic: closing with an outcome, reopening, counselling, follow-ups, a person's history."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatch.alerts import events
from dispatch.alerts import service as alerts_service
from dispatch.alerts.events import EventType
from dispatch.alerts.models import Alert, AlertStatus
from dispatch.auth.scope import Scope
from dispatch.care.models import (
    RESCUE_OUTCOMES,
    CloseIn,
    Closure,
    ClosureOut,
    CounsellingEntry,
    CounsellingIn,
    CounsellingOut,
    FollowUp,
    FollowUpIn,
    FollowUpOut,
    FollowUpStatus,
    HistoryEntry,
    HistoryOut,
    Outcome,
)
from dispatch.config import Settings


class InvalidField(ValueError):
    """A value that is well-formed but wrong for this alert (e.g. a time before it arrived)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FollowUpNotFound(LookupError):
    """No such check-in, or not in the caller's scope."""


# ---------- views ----------


def closure_out(closure: Closure) -> ClosureOut:
    """A closure for the API."""
    assert closure.id is not None
    return ClosureOut(
        id=closure.id,
        alert_id=closure.alert_id,
        outcome=Outcome(closure.outcome),
        transferred_to=closure.transferred_to,
        contacted_at=closure.contacted_at,
        attended_by=list(closure.attended_by),
        notes=closure.notes,
        closed_at=closure.closed_at,
        closed_by=closure.closed_by,
        reopened_at=closure.reopened_at,
        reopened_by=closure.reopened_by,
        reopen_reason=closure.reopen_reason,
    )


def counselling_out(entry: CounsellingEntry) -> CounsellingOut:
    """A counselling entry for the API."""
    return CounsellingOut.model_validate(entry, from_attributes=True)


def followup_out(followup: FollowUp, now: datetime, label: str | None = None) -> FollowUpOut:
    """A check-in for the API; overdue means pending and past its due time."""
    assert followup.id is not None
    pending = followup.status == FollowUpStatus.pending
    return FollowUpOut(
        id=followup.id,
        alert_id=followup.alert_id,
        offset_hours=followup.offset_hours,
        due_at=followup.due_at,
        status=FollowUpStatus(followup.status),
        overdue=pending and followup.due_at < now,
        station_id=followup.station_id,
        subject_label=label,
        contact_made=followup.contact_made,
        person_state=followup.person_state,
        referral=followup.referral,
        notes=followup.notes,
        done_at=followup.done_at,
        done_by=followup.done_by,
        escalated_at=followup.escalated_at,
    )


# ---------- closing and reopening ----------


def _stop_escalation(alert: Alert, now: datetime) -> None:
    # Per the escalation contract: a started chain is made due now so the engine records that
    # it stopped (reason closed) and clears the deadline; an alert whose chain never started
    # has nothing to stop. The fence bump makes any timer already set go stale.
    chain = alert.escalation_chain or {}
    started = bool(chain) and chain.get("state", {}).get("stopped") != "closed"
    alert.escalation_due_at = now if started else None
    alert.escalation_fence += 1


def close_alert(
    *,
    session: Session,
    alert: Alert,
    body: CloseIn,
    by: str,
    now: datetime,
    settings: Settings,
) -> tuple[Closure, list[FollowUp]]:
    """Close an alert with its outcome; a rescue schedules follow-up check-ins."""
    if alert.status == AlertStatus.closed:
        raise alerts_service.Conflict("the alert is already closed")
    if body.contacted_at is not None:
        if body.contacted_at > now:
            raise InvalidField("contacted_at", "is in the future")
        if body.contacted_at < alert.received_at:
            raise InvalidField("contacted_at", "is before the alert was received")
    assert alert.id is not None
    closure = Closure(
        alert_id=alert.id,
        outcome=body.outcome.value,
        transferred_to=body.transferred_to if body.outcome == Outcome.transferred else None,
        contacted_at=body.contacted_at,
        attended_by=body.attended_by,
        notes=body.notes,
        status_before=alert.status,
        closed_at=now,
        closed_by=by,
    )
    session.add(closure)
    if body.contacted_at is not None:
        alert.contacted_at = body.contacted_at
    alert.status = AlertStatus.closed.value
    alert.outcome = body.outcome.value
    alert.closed_at = now
    alert.updated_at = now
    _stop_escalation(alert, now)
    session.add(alert)
    session.flush()
    followups = (
        _schedule_followups(session, alert, closure, now, settings)
        if body.outcome in RESCUE_OUTCOMES
        else []
    )
    data: dict[str, Any] = {
        "outcome": body.outcome.value,
        "from": closure.status_before,
        "contacted_at": body.contacted_at.isoformat() if body.contacted_at else None,
        "attended_by": body.attended_by,
        "notes": body.notes,
        "followups_due": [f.due_at.isoformat() for f in followups],
    }
    if closure.transferred_to:
        data["transferred_to"] = closure.transferred_to
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.closed,
        at=now,
        actor=by,
        scope=alert.scope,
        data=data,
    )
    session.commit()
    return closure, followups


def _schedule_followups(
    session: Session, alert: Alert, closure: Closure, now: datetime, settings: Settings
) -> list[FollowUp]:
    assert alert.id is not None
    rows = []
    for hours in sorted(set(settings.followup_offsets_hours)):
        row = FollowUp(
            alert_id=alert.id,
            closure_id=closure.id,
            offset_hours=hours,
            due_at=now + timedelta(seconds=settings.scaled(hours * 3600)),
            station_id=alert.station_id,
            circle=alert.circle,
            district=alert.district,
            scope=alert.scope,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def latest_closure(session: Session, alert_id: int) -> Closure | None:
    """The newest closure of an alert."""
    return session.exec(
        select(Closure).where(Closure.alert_id == alert_id).order_by(col(Closure.id).desc())
    ).first()


def reopen_alert(
    *, session: Session, alert: Alert, reason: str, by: str, now: datetime
) -> Closure | None:
    """Reopen a closed alert (supervisors); pending check-ins are cancelled.

    Returns the closure that was undone (None for an alert closed before care existed).
    """
    if alert.status != AlertStatus.closed:
        raise alerts_service.Conflict("the alert is not closed")
    assert alert.id is not None
    closure = latest_closure(session, alert.id)
    previous = closure.status_before if closure is not None else AlertStatus.acknowledged.value
    if previous == AlertStatus.closed:
        previous = AlertStatus.acknowledged.value
    outcome = alert.outcome
    if closure is not None:
        closure.reopened_at = now
        closure.reopened_by = by
        closure.reopen_reason = reason
        session.add(closure)
    cancelled = session.exec(
        select(FollowUp)
        .where(FollowUp.alert_id == alert.id)
        .where(FollowUp.status == FollowUpStatus.pending.value)
    ).all()
    for followup in cancelled:
        followup.status = FollowUpStatus.cancelled.value
        session.add(followup)
    alert.status = previous
    alert.outcome = None
    alert.closed_at = None
    alert.updated_at = now
    # Open again: the escalation engine re-evaluates it (stall timers, or paging if unacked).
    alert.escalation_due_at = now
    alert.escalation_fence += 1
    session.add(alert)
    session.flush()
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.reopened,
        at=now,
        actor=by,
        scope=alert.scope,
        data={
            "reason": reason,
            "to": previous,
            "previous_outcome": outcome,
            "followups_cancelled": len(cancelled),
        },
    )
    session.commit()
    return closure


# ---------- counselling ----------


def add_counselling(
    *, session: Session, alert: Alert, body: CounsellingIn, by: str, now: datetime
) -> CounsellingEntry:
    """Record counselling given to the person or the family (open or closed alert)."""
    at = body.at or now
    if at > now:
        raise InvalidField("at", "is in the future")
    assert alert.id is not None
    entry = CounsellingEntry(
        alert_id=alert.id,
        recipient=body.recipient.value,
        by=body.by.value,
        counsellor_name=(body.counsellor_name or "").strip() or None,
        at=at,
        notes=body.notes,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(entry)
    alert.updated_at = now
    session.add(alert)
    session.flush()
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.counselling,
        at=now,
        actor=by,
        scope=alert.scope,
        data={
            "id": entry.id,
            "recipient": entry.recipient,
            "by": entry.by,
            "counsellor_name": entry.counsellor_name,
            "at": at.isoformat(),
            "notes": entry.notes,
        },
    )
    session.commit()
    return entry


def counselling_of(session: Session, alert_ids: list[int]) -> list[CounsellingEntry]:
    """Counselling entries of these alerts, oldest first."""
    if not alert_ids:
        return []
    return list(
        session.exec(
            select(CounsellingEntry)
            .where(col(CounsellingEntry.alert_id).in_(alert_ids))
            .order_by(col(CounsellingEntry.at), col(CounsellingEntry.id))
        ).all()
    )


# ---------- follow-ups ----------


def list_followups(
    *,
    session: Session,
    scope: Scope,
    now: datetime,
    due_only: bool,
    station_id: str | None = None,
    limit: int = 200,
) -> list[FollowUp]:
    """Pending check-ins the user may see, earliest due first (due_only: due now or overdue)."""
    query = select(FollowUp).where(FollowUp.status == FollowUpStatus.pending.value)
    pattern = scope.sql_pattern()
    if pattern is not None:
        query = query.where(col(FollowUp.scope).like(pattern, escape="\\"))
    if due_only:
        query = query.where(FollowUp.due_at <= now)
    if station_id:
        query = query.where(FollowUp.station_id == station_id)
    return list(session.exec(query.order_by(col(FollowUp.due_at)).limit(limit)).all())


def followups_of(session: Session, alert_ids: list[int]) -> list[FollowUp]:
    """Every check-in of these alerts, earliest due first."""
    if not alert_ids:
        return []
    return list(
        session.exec(
            select(FollowUp)
            .where(col(FollowUp.alert_id).in_(alert_ids))
            .order_by(col(FollowUp.due_at), col(FollowUp.id))
        ).all()
    )


def labels_of(session: Session, alert_ids: list[int]) -> dict[int, str | None]:
    """Subject labels (initials) by alert id."""
    if not alert_ids:
        return {}
    rows = session.exec(
        select(Alert.id, Alert.subject_label).where(col(Alert.id).in_(set(alert_ids)))
    ).all()
    return {int(i): label for i, label in rows if i is not None}


def get_followup_or_404(
    *, session: Session, followup_id: int, scope: Scope, lock: bool = False
) -> FollowUp:
    """The check-in if it exists and the user may see it."""
    query = select(FollowUp).where(FollowUp.id == followup_id)
    if lock:
        query = query.with_for_update()
    followup = session.exec(query).first()
    if followup is None or not scope.sees(followup.scope):
        raise FollowUpNotFound(f"follow-up {followup_id} not found")
    return followup


def record_followup(
    *, session: Session, followup: FollowUp, body: FollowUpIn, by: str, now: datetime
) -> FollowUp:
    """Record what a check-in found; a check-in is recorded once."""
    if followup.status != FollowUpStatus.pending:
        raise alerts_service.Conflict(f"the follow-up is already {followup.status}")
    alert = session.get(Alert, followup.alert_id)
    assert alert is not None and alert.id is not None
    followup.status = FollowUpStatus.done.value
    followup.contact_made = body.contact_made
    followup.person_state = body.person_state
    followup.referral = body.referral
    followup.notes = body.notes
    followup.done_at = now
    followup.done_by = by
    session.add(followup)
    session.flush()
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.followup,
        at=now,
        actor=by,
        scope=alert.scope,
        data={
            "followup_id": followup.id,
            "offset_hours": followup.offset_hours,
            "due_at": followup.due_at.isoformat(),
            "contact_made": body.contact_made,
            "person_state": body.person_state,
            "referral": body.referral,
            "notes": body.notes,
            "late": now > followup.due_at,
        },
    )
    session.commit()
    return followup


# ---------- a person's history ----------


def history(*, session: Session, alert: Alert, scope: Scope, now: datetime) -> HistoryOut:
    """Earlier alerts about the same person (same phone, handle or e-mail) the user may see."""
    assert alert.id is not None
    digests = [k.digest for k in alerts_service.subject_keys(session, alert.id)]
    ids = [i for i in alerts_service.linked_alert_ids(session, digests, exclude=alert.id)]
    earlier = [a for a in alerts_service.alerts_by_ids(session, ids) if a.id is not None]
    earlier = [a for a in earlier if a.received_at <= alert.received_at and a.id != alert.id]
    visible = [a for a in earlier if scope.sees(a.scope)]
    visible_ids = [a.id for a in visible if a.id is not None]
    closures: dict[int, list[ClosureOut]] = defaultdict(list)
    for closure in session.exec(
        select(Closure).where(col(Closure.alert_id).in_(visible_ids)).order_by(col(Closure.id))
    ).all():
        closures[closure.alert_id].append(closure_out(closure))
    counselling: dict[int, list[CounsellingOut]] = defaultdict(list)
    for entry in counselling_of(session, visible_ids):
        counselling[entry.alert_id].append(counselling_out(entry))
    followups: dict[int, list[FollowUpOut]] = defaultdict(list)
    for followup in followups_of(session, visible_ids):
        followups[followup.alert_id].append(followup_out(followup, now))
    entries = []
    for other in visible:
        assert other.id is not None
        entries.append(
            HistoryEntry(
                alert=alerts_service.summary(other),
                outcome=other.outcome,
                contacted_at=other.contacted_at,
                closed_at=other.closed_at,
                closures=closures[other.id],
                counselling=counselling[other.id],
                followups=followups[other.id],
            )
        )
    return HistoryOut(alert_id=alert.id, earlier=entries, outside_scope=len(earlier) - len(visible))
