"""Care endpoints: close with an outcome, reopen, counselling, follow-ups, a person's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from sqlmodel import Session

from dispatch.alerts import service as alerts_service
from dispatch.alerts.models import Alert
from dispatch.auth.deps import CurrentUser, UserScope, require_roles
from dispatch.auth.models import Role, User
from dispatch.auth.scope import Scope
from dispatch.care import service as care_service
from dispatch.care.models import (
    CloseIn,
    CloseOut,
    CounsellingIn,
    CounsellingOut,
    FollowUpIn,
    FollowUpOut,
    HistoryOut,
    ReopenIn,
    ReopenOut,
)
from dispatch.db import SessionDep
from dispatch.deps import MAX_ID, ClockDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["care"])
AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The alert's id")]
FollowUpId = Annotated[int, Path(ge=1, le=MAX_ID, description="The follow-up's id")]
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]


def _alert(session: Session, alert_id: int, scope: Scope, *, lock: bool = False) -> Alert:
    try:
        return alerts_service.get_or_404(session=session, alert_id=alert_id, scope=scope, lock=lock)
    except alerts_service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def _invalid(exc: care_service.InvalidField) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [
            {
                "loc": ["body", exc.field],
                "msg": exc.message,
                "type": "value_error",
                "field": exc.field,
                "message": str(exc),
            }
        ],
    )


@router.post("/alerts/{alert_id}/close")
def close_alert(
    alert_id: AlertId,
    body: CloseIn,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    clock: ClockDep,
    settings: SettingsDep,
) -> CloseOut:
    """Close an alert with its outcome; a rescue schedules follow-up check-ins."""
    alert = _alert(session, alert_id, scope, lock=True)
    now = clock.now()
    try:
        closure, followups = care_service.close_alert(
            session=session,
            alert=alert,
            body=body,
            by=f"user:{user.username}",
            now=now,
            settings=settings,
        )
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except care_service.InvalidField as exc:
        raise _invalid(exc) from exc
    return CloseOut(
        alert=alerts_service.summary(alert),
        closure=care_service.closure_out(closure),
        followups=[care_service.followup_out(f, now, alert.subject_label) for f in followups],
    )


@router.post("/alerts/{alert_id}/reopen")
def reopen_alert(
    alert_id: AlertId,
    body: ReopenIn,
    session: SessionDep,
    user: Supervisor,
    scope: UserScope,
    clock: ClockDep,
) -> ReopenOut:
    """Reopen a closed alert (supervisors and admins), with the reason on the timeline."""
    alert = _alert(session, alert_id, scope, lock=True)
    try:
        closure = care_service.reopen_alert(
            session=session,
            alert=alert,
            reason=body.reason.strip(),
            by=f"user:{user.username}",
            now=clock.now(),
        )
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return ReopenOut(
        alert=alerts_service.summary(alert),
        closure=care_service.closure_out(closure) if closure is not None else None,
    )


@router.post("/alerts/{alert_id}/counselling", status_code=status.HTTP_201_CREATED)
def add_counselling(
    alert_id: AlertId,
    body: CounsellingIn,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    clock: ClockDep,
) -> CounsellingOut:
    """Record counselling given to the person or the family."""
    alert = _alert(session, alert_id, scope, lock=True)
    try:
        entry = care_service.add_counselling(
            session=session, alert=alert, body=body, by=f"user:{user.username}", now=clock.now()
        )
    except care_service.InvalidField as exc:
        raise _invalid(exc) from exc
    return care_service.counselling_out(entry)


@router.get("/alerts/{alert_id}/counselling")
def list_counselling(
    alert_id: AlertId, session: SessionDep, scope: UserScope
) -> list[CounsellingOut]:
    """The counselling given on an alert, oldest first."""
    _alert(session, alert_id, scope)
    return [
        care_service.counselling_out(e) for e in care_service.counselling_of(session, [alert_id])
    ]


@router.get("/alerts/{alert_id}/followups")
def alert_followups(
    alert_id: AlertId, session: SessionDep, scope: UserScope, clock: ClockDep
) -> list[FollowUpOut]:
    """Every check-in of an alert, earliest due first."""
    alert = _alert(session, alert_id, scope)
    now = clock.now()
    return [
        care_service.followup_out(f, now, alert.subject_label)
        for f in care_service.followups_of(session, [alert_id])
    ]


@router.get("/alerts/{alert_id}/history")
def alert_history(
    alert_id: AlertId,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    clock: ClockDep,
) -> HistoryOut:
    """Earlier alerts about the same person, with their outcomes, counselling and check-ins."""
    alert = _alert(session, alert_id, scope)
    now = clock.now()
    result = care_service.history(session=session, alert=alert, scope=scope, now=now)
    if result.earlier:
        # A person's mental-health history is personal data: viewing it is audited.
        alerts_service.record_pii_view(
            session=session, alert=alert, viewer=f"user:{user.username}", now=now, what="history"
        )
    return result


@router.get("/followups")
def list_followups(
    session: SessionDep,
    scope: UserScope,
    clock: ClockDep,
    due: Annotated[bool, Query(description="Only check-ins due now or overdue")] = False,
    station: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[FollowUpOut]:
    """Pending check-ins in the user's scope, earliest due first."""
    now = clock.now()
    rows = care_service.list_followups(
        session=session, scope=scope, now=now, due_only=due, station_id=station, limit=limit
    )
    labels = care_service.labels_of(session, [f.alert_id for f in rows])
    return [care_service.followup_out(f, now, labels.get(f.alert_id)) for f in rows]


@router.post("/followups/{followup_id}")
def record_followup(
    followup_id: FollowUpId,
    body: FollowUpIn,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    clock: ClockDep,
) -> FollowUpOut:
    """Record what a check-in found: contact made, the person's state, any referral."""
    now = clock.now()
    try:
        followup = care_service.get_followup_or_404(
            session=session, followup_id=followup_id, scope=scope, lock=True
        )
        care_service.record_followup(
            session=session, followup=followup, body=body, by=f"user:{user.username}", now=now
        )
    except care_service.FollowUpNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    labels = care_service.labels_of(session, [followup.alert_id])
    return care_service.followup_out(followup, now, labels.get(followup.alert_id))
