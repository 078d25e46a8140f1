"""Alert endpoints: partner intake and signals, the console's list, detail and actions."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from dispatch import metrics
from dispatch.alerts import events
from dispatch.alerts import service as alerts_service
from dispatch.alerts.models import (
    MAX_EXTRA_DEPTH,
    Alert,
    AlertDetail,
    AlertIn,
    AlertStatus,
    AlertSummary,
    AssignIn,
    EventOut,
    IntakeOut,
    ManualAlertIn,
    NoteIn,
    ResolutionOut,
    SignalIn,
    StatusChange,
)
from dispatch.alerts.writer import IntakeUnavailable, IntakeWriter
from dispatch.auth.deps import (
    CurrentUser,
    RawBody,
    SignedPartner,
    UserScope,
    partner_of,
    require_roles,
)
from dispatch.auth.models import Role, User
from dispatch.clock import UtcDateTime
from dispatch.db import SessionDep
from dispatch.deps import (
    MAX_ID,
    ClockDep,
    ResolverDep,
    SettingsDep,
    get_app_settings,
    get_received_at,
    get_resolver,
)
from dispatch.pii import PiiVault

router = APIRouter(prefix="/api/v1", tags=["alerts"])
AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The alert's id")]
StateCell = Annotated[User, Depends(require_roles(Role.operator, Role.admin, Role.supervisor))]


async def get_vault(request: Request) -> PiiVault:
    """The personal-data vault of the app."""
    vault: PiiVault = request.app.state.vault
    return vault


VaultDep = Annotated[PiiVault, Depends(get_vault)]


async def get_intake_writer(request: Request) -> IntakeWriter:
    """The app's group-commit writer for partner intake (503 before it has started)."""
    writer: IntakeWriter | None = getattr(request.app.state, "intake_writer", None)
    if writer is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "intake is not running yet; retry",
            headers={"Retry-After": "1"},
        )
    return writer


def parse_json_body(request: Request, body: bytes, model: type[BaseModel]) -> Any:
    """Parse a JSON body: 415 if it is not JSON, 422 naming every bad field."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type must be application/json, not {content_type or 'missing'!r}",
        )
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"body is not valid JSON: {exc}"
        ) from exc
    except RecursionError as exc:
        # Valid JSON nested past what the parser will follow: no field nests like that.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"body nests deeper than {MAX_EXTRA_DEPTH} levels",
        ) from exc
    if not isinstance(data, dict):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, validation_detail(exc)) from exc


def validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as [{field, message}] with dotted field names."""
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in error["loc"]) or "body"
        out.append({"field": field, "message": f"{field}: {error['msg']}", "type": error["type"]})
    return out


def intake_out(intake: alerts_service.Intake) -> IntakeOut:
    """The intake answer for an alert."""
    alert = intake.alert
    assert alert.id is not None
    return IntakeOut(
        id=alert.id,
        received_at=alert.received_at,
        status=AlertStatus(alert.status),
        station=alerts_service.station_ref(alert),
        resolution=ResolutionOut(method=alert.resolution_method, candidates=alert.candidates),
        linked_alerts=intake.linked_alerts,
        warnings=intake.warnings,
    )


# The intake route reads its two headers itself (FastAPI's validation of header
# parameters was a twentieth of the request's CPU); they are documented here instead.
_SIGNED_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": text,
    }
    for name, text in (
        ("x-api-key", "The partner's API key"),
        ("x-signature", "sha256=<hex HMAC-SHA256 of the raw body with the signing secret>"),
    )
]


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    response_model=IntakeOut,
    responses={200: {"model": IntakeOut, "description": "A repeat of an alert already received"}},
    openapi_extra={"parameters": _SIGNED_HEADERS},
)
async def receive_alert(request: Request) -> Response:
    """A partner's alert: signed, timestamped on arrival, resolved to a station, stored.

    Async on purpose: checking, resolving and sealing are computation (done here, on the
    loop, unless an online geocoder must be asked), and the intake writer stores the alert
    together with whatever other alerts are waiting, answering once they are committed.

    The busiest route calls its dependencies' functions itself rather than having FastAPI
    solve them (SignedPartner, RawBody and the app's parts): solving eight of them cost
    about a tenth of the request's CPU. The checks are the same calls.
    """
    body = await request.body()
    headers = request.headers
    partner = await partner_of(
        request,
        body,
        request.app.state.database,
        headers.get("x-api-key"),
        headers.get("x-signature"),
    )
    settings = await get_app_settings(request)
    resolver = await get_resolver(request)
    vault = await get_vault(request)
    writer = await get_intake_writer(request)
    received_at = await get_received_at(request)
    payload: AlertIn = parse_json_body(request, body, AlertIn)
    prepare = partial(
        alerts_service.prepare,
        partner_id=partner.id,
        payload=payload,
        raw_body=body,
        received_at=received_at,
        resolver=resolver,
        vault=vault,
        actor=f"partner:{partner.name}",
        phone_region=settings.default_phone_region,
    )
    location = payload.location
    if location is not None and resolver.may_block(lat=location.lat, address=location.address):
        prepared = await run_in_threadpool(prepare)
    else:
        prepared = prepare()
    try:
        intake = await writer.store(prepared)
    except IntakeUnavailable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "1"}
        ) from exc
    if intake.created:
        metrics.ALERTS_RECEIVED.labels("partner", str(intake.alert.station_id is not None)).inc()
    # Encoded here rather than by FastAPI's response validation: the model is built by us.
    return Response(
        intake_out(intake).model_dump_json(),
        status_code=status.HTTP_201_CREATED if intake.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.post("/alerts/{alert_id}/signals")
def receive_signal(
    alert_id: AlertId,
    request: Request,
    body: RawBody,
    partner: SignedPartner,
    session: SessionDep,
    resolver: ResolverDep,
    vault: VaultDep,
    clock: ClockDep,
) -> IntakeOut:
    """A follow-up signal (new location fix or content) from the partner that sent the alert."""
    signal: SignalIn = parse_json_body(request, body, SignalIn)
    alert = session.get(Alert, alert_id)
    if alert is None or alert.partner_id != partner.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alert {alert_id} not found")
    try:
        alert, _ = alerts_service.add_signal(
            session=session,
            alert=alert,
            signal=signal,
            resolver=resolver,
            vault=vault,
            now=clock.now(),
            actor=f"partner:{partner.name}",
        )
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return intake_out(alerts_service.Intake(alert=alert, created=False))


@router.post("/alerts/manual", status_code=status.HTTP_201_CREATED)
def manual_alert(
    body: ManualAlertIn,
    user: StateCell,
    session: SessionDep,
    settings: SettingsDep,
    resolver: ResolverDep,
    vault: VaultDep,
    clock: ClockDep,
) -> IntakeOut:
    """An alert that came to the state cell by phone or e-mail."""
    try:
        intake = alerts_service.manual_intake(
            session=session,
            body=body,
            resolver=resolver,
            vault=vault,
            now=clock.now(),
            actor=f"user:{user.username}",
            phone_region=settings.default_phone_region,
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    metrics.ALERTS_RECEIVED.labels("manual", str(intake.alert.station_id is not None)).inc()
    return intake_out(intake)


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    scope: UserScope,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status")] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    station: str | None = None,
    unresolved: bool = False,
    since: UtcDateTime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertSummary]:
    """Alerts in the user's scope, newest first (filters: status, open, station, since)."""
    alerts = alerts_service.list_alerts(
        session=session,
        scope=scope,
        status=[s.value for s in status_] if status_ else None,
        open_only=open_only,
        station_id=station,
        unresolved=unresolved,
        since=since,
        limit=limit,
        before_id=before_id,
    )
    return [alerts_service.summary(a) for a in alerts]


def _not_found(exc: alerts_service.NotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


@router.get("/alerts/{alert_id}")
def get_alert(
    alert_id: AlertId,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    vault: VaultDep,
    clock: ClockDep,
) -> AlertDetail:
    """The whole alert with its timeline; the view of personal data is recorded."""
    try:
        alert = alerts_service.get_or_404(session=session, alert_id=alert_id, scope=scope)
    except alerts_service.NotFound as exc:
        raise _not_found(exc) from exc
    subject = alerts_service.subject_of(alert, vault)
    linked_ids = alerts_service.linked_alert_ids(
        session,
        [k.digest for k in alerts_service.subject_keys(session, alert_id)],
        exclude=alert_id,
    )
    linked = [
        alerts_service.summary(a)
        for a in alerts_service.alerts_by_ids(session, linked_ids[:20])
        if scope.sees(a.scope)
    ]
    if subject:
        alerts_service.record_pii_view(
            session=session,
            alert=alert,
            viewer=f"user:{user.username}",
            now=clock.now(),
            what="subject",
        )
    timeline = events.timeline(session, alert_id)
    return AlertDetail(
        **alerts_service.summary(alert).model_dump(),
        external_id=alert.external_id,
        detected_at=alert.detected_at,
        subject=subject,
        content=alerts_service.content_of(alert, vault),
        extra=alert.extra,
        candidates=alert.candidates,
        team=alert.team,
        vehicle=alert.vehicle,
        outcome=alert.outcome,
        timings=alerts_service.timings(alert),
        linked_alerts=linked,
        events=[EventOut.model_validate(e, from_attributes=True) for e in timeline],
    )


@router.get("/alerts/{alert_id}/raw", responses={200: {"content": {"application/json": {}}}})
def get_raw_body(
    alert_id: AlertId,
    session: SessionDep,
    user: StateCell,
    scope: UserScope,
    vault: VaultDep,
    clock: ClockDep,
) -> Response:
    """The partner's body exactly as received (state cell only; the view is recorded)."""
    try:
        alert = alerts_service.get_or_404(session=session, alert_id=alert_id, scope=scope)
    except alerts_service.NotFound as exc:
        raise _not_found(exc) from exc
    raw = alerts_service.raw_body_of(alert, vault)
    alerts_service.record_pii_view(
        session=session,
        alert=alert,
        viewer=f"user:{user.username}",
        now=clock.now(),
        what="raw_body",
    )
    return Response(content=raw, media_type="application/json")


@router.post("/alerts/{alert_id}/ack")
def acknowledge(
    alert_id: AlertId, session: SessionDep, user: CurrentUser, scope: UserScope, clock: ClockDep
) -> AlertSummary:
    """Acknowledge an alert on behalf of the signed-in officer (repeating it changes nothing)."""
    try:
        alert = alerts_service.get_or_404(
            session=session, alert_id=alert_id, scope=scope, lock=True
        )
        if alerts_service.acknowledge(
            session=session, alert=alert, by=f"user:{user.username}", now=clock.now()
        ):
            metrics.observe_ack(alert)
    except alerts_service.NotFound as exc:
        raise _not_found(exc) from exc
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return alerts_service.summary(alert)


@router.post("/alerts/{alert_id}/status")
def change_status(
    alert_id: AlertId,
    body: StatusChange,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    clock: ClockDep,
) -> AlertSummary:
    """Move an alert along acknowledged -> dispatched -> en_route -> on_scene -> person_found."""
    try:
        alert = alerts_service.get_or_404(
            session=session, alert_id=alert_id, scope=scope, lock=True
        )
        alerts_service.change_status(
            session=session, alert=alert, change=body, by=f"user:{user.username}", now=clock.now()
        )
    except alerts_service.NotFound as exc:
        raise _not_found(exc) from exc
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return alerts_service.summary(alert)


@router.post("/alerts/{alert_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(
    alert_id: AlertId,
    body: NoteIn,
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    clock: ClockDep,
) -> AlertSummary:
    """Add a note to an alert's timeline."""
    try:
        alert = alerts_service.get_or_404(
            session=session, alert_id=alert_id, scope=scope, lock=True
        )
    except alerts_service.NotFound as exc:
        raise _not_found(exc) from exc
    alerts_service.add_note(
        session=session, alert=alert, text=body.text, by=f"user:{user.username}", now=clock.now()
    )
    return alerts_service.summary(alert)


@router.post("/alerts/{alert_id}/assign")
def assign_station(
    alert_id: AlertId,
    body: AssignIn,
    session: SessionDep,
    user: StateCell,
    scope: UserScope,
    resolver: ResolverDep,
    clock: ClockDep,
) -> AlertSummary:
    """Route an alert to a station by hand (the state cell's unresolved queue)."""
    try:
        alert = alerts_service.get_or_404(
            session=session, alert_id=alert_id, scope=scope, lock=True
        )
        alerts_service.assign_station(
            session=session,
            alert=alert,
            station_id=body.station_id,
            reason=body.reason,
            resolver=resolver,
            by=f"user:{user.username}",
            now=clock.now(),
        )
    except alerts_service.NotFound as exc:
        raise _not_found(exc) from exc
    except alerts_service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return alerts_service.summary(alert)


@router.get("/jurisdictions")
def jurisdictions(
    resolver: ResolverDep,
    _user: CurrentUser,
    station: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """Station areas as GeoJSON, for drawing the console map offline."""
    unknown = [s for s in station or [] if s not in resolver.index.stations]
    if unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown station(s): {', '.join(unknown)}")
    collection: dict[str, Any] = resolver.index.feature_collection(
        station, simplify_m=20 if not station else 0
    )
    return collection


@router.get("/stations")
def stations(resolver: ResolverDep, _user: CurrentUser) -> list[dict[str, Any]]:
    """Every station with its circle, district and range."""
    return [s.to_dict() for s in resolver.index.stations.values()]
