"""The WhatsApp webhook of the tip line, the police API for tips, and the dashboard page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi import (
    Path as PathParam,
)
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from sqlmodel import Session, select
from twilio.twiml.messaging_response import MessagingResponse

from dispatch.auth.deps import CurrentUser
from dispatch.auth.models import User
from dispatch.clock import UtcDateTime
from dispatch.db import SessionDep
from dispatch.deps import MAX_ID, ClockDep, ResolverDep, SettingsDep
from dispatch.notify import inbound
from dispatch.notify.webhooks import TwilioForm
from dispatch.tipline import bot, jobs, media, service, stats
from dispatch.tipline.models import AssignBody, Tip, TipMedia, TipPublic, TipSummary
from dispatch.tipline.vault import ContactVault

log = logging.getLogger(__name__)
router = APIRouter(tags=["tipline"])
STATIC = Path(__file__).parent / "static"
Ref = Annotated[str, PathParam(min_length=3, max_length=12, pattern=r"^[Tt]-[A-Za-z2-9]{4}$")]


# ---------- the bot ----------


@router.post("/webhooks/twilio/whatsapp")
def whatsapp_inbound(
    request: Request,
    form: TwilioForm,
    background: BackgroundTasks,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    resolver: ResolverDep,
) -> Response:
    """An informant's WhatsApp message: answered as TwiML at once, media fetched afterwards.

    The number is shared with the escalation's WhatsApp pages: an officer's reply 'ACK
    <code>' acknowledges the alert instead, and never enters the tip line."""
    ack = inbound.ack_reply(
        session=session,
        form=form,
        now=clock.now(),
        via="whatsapp",
        region=settings.default_phone_region,
        paged_numbers_only=True,
    )
    if ack is not None:
        session.commit()
        return Response(content=ack, media_type="application/xml")
    state = request.app.state
    handled = bot.handle(
        session=session,
        form=form,
        vault=state.tipline_vault,
        resolver=resolver,
        settings=settings,
        limiter=state.tipline_limiter,
        now=clock.now(),
    )
    session.commit()
    if handled.jobs:
        background.add_task(media_worker(request).run, handled.jobs)
    reply = MessagingResponse()
    for text in handled.replies:
        reply.message(text)
    return Response(content=str(reply), media_type="application/xml")


def media_worker(request: Request) -> jobs.MediaWorker:
    """The media worker for this app."""
    state = request.app.state
    return jobs.MediaWorker(
        database=state.database,
        settings=state.settings,
        http=state.tipline_http,
        vault=state.tipline_vault,
        provider=state.notifier,
    )


# ---------- the police API ----------


def _tip(session: Session, ref: str, user: User, *, lock: bool = False) -> Tip:
    try:
        return service.get_or_404(session=session, ref=ref, user=user, lock=lock)
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def _errors(exc: Exception) -> HTTPException:
    if isinstance(exc, service.Forbidden):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    if isinstance(exc, service.Conflict):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/api/v1/tips")
def list_tips(
    session: SessionDep,
    user: CurrentUser,
    district: Annotated[str | None, Query(max_length=100)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    sensitivity: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[TipSummary]:
    """Tips the user may see, newest first (SP: the district; DIG: the range; station: its own)."""
    tips = service.list_tips(
        session=session,
        user=user,
        district=district,
        status=status_,
        sensitivity=sensitivity,
        category=category,
        limit=limit,
        offset=offset,
    )
    return [service.summary(t) for t in tips]


@router.get(
    "/api/v1/tips/stats",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def tip_stats(
    session: SessionDep,
    user: CurrentUser,
    resolver: ResolverDep,
    settings: SettingsDep,
    district: Annotated[str | None, Query(max_length=100)] = None,
    since: UtcDateTime | None = None,
    until: UtcDateTime | None = None,
    format_: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "json",
) -> dict[str, Any] | PlainTextResponse:
    """Station table, weekly and monthly trends, sensitivity, open/closed, time to action."""
    if not service.can_assign(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "tip dashboards are for SP and DIG offices")
    figures = stats.compute(
        session=session,
        user=user,
        index=resolver.index,
        district=district,
        since=since,
        until=until,
    )
    if format_ == "csv":
        body = stats.to_csv(figures, settings.tipline_min_count)
        return PlainTextResponse(
            body,
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="tips.csv"'},
        )
    figures["min_count"] = settings.tipline_min_count
    return figures


@router.get("/api/v1/tips/{ref}")
def get_tip(ref: Ref, session: SessionDep, user: CurrentUser) -> TipPublic:
    """One tip with its history and attachments (404 outside the user's view)."""
    return service.public(session, _tip(session, ref, user))


@router.post("/api/v1/tips/{ref}/assign")
def assign_tip(
    ref: Ref,
    body: AssignBody,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    resolver: ResolverDep,
) -> TipPublic:
    """Assign to an officer or a station (never one the tip bypasses)."""
    tip = _tip(session, ref, user, lock=True)
    try:
        service.assign(
            session=session,
            tip=tip,
            by=user,
            username=body.username,
            station_id=body.station_id,
            index=resolver.index,
            now=clock.now(),
        )
    except (service.Forbidden, service.Conflict, ValueError) as exc:
        session.rollback()
        raise _errors(exc) from exc
    session.commit()
    return service.public(session, tip)


@router.post("/api/v1/tips/{ref}/action")
def report_action(
    request: Request,
    ref: Ref,
    text: Annotated[str, Form(min_length=1, max_length=10000)],
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> TipPublic:
    """File the action report (text, photos, video); the informant is told without details."""
    now = clock.now()
    tip = _tip(session, ref, user, lock=True)
    try:
        item = service.record_action(session=session, tip=tip, by=user, text=text, now=now)
        stored = [_store_upload(upload, settings) for upload in files or []]
    except (service.Forbidden, service.Conflict, ValueError) as exc:
        session.rollback()
        raise _errors(exc) from exc
    for content_type, path, size in stored:
        session.add(
            TipMedia(
                tip_id=tip.id,
                item_id=item.id,
                author=f"user:{user.username}",
                content_type=content_type,
                size=size,
                path=str(path),
                status="stored",
                metadata_stripped=True,
                created_at=now,
            )
        )
    session.flush()
    service.record_event(session, tip, "tip.action", at=now, actor=f"user:{user.username}")
    session.commit()
    vault: ContactVault = request.app.state.tipline_vault
    assert tip.id is not None
    tip.informant_notice = vault.notify_action(
        session=session,
        provider=request.app.state.notifier,
        tip_id=tip.id,
        ref=tip.ref,
        language=tip.language,
        content_sid=settings.tipline_action_content_sid,
        now=now,
    )
    session.add(tip)
    session.commit()
    return service.public(session, tip)


def _store_upload(upload: UploadFile, settings: Any) -> tuple[str, Path, int]:
    kind = media.base_type(upload.content_type or "")
    if kind not in settings.tipline_media_types:
        raise ValueError(f"files: {kind or 'this type'} is not accepted")
    content = upload.file.read(settings.tipline_max_media_bytes + 1)
    if len(content) > settings.tipline_max_media_bytes:
        raise ValueError("files: too large")
    try:
        clean, _ = media.strip_metadata(content, kind)
    except media.MediaRefused as exc:
        raise ValueError(f"files: {exc}") from exc
    return kind, media.save(settings.tipline_media_dir, clean, kind), len(clean)


@router.post("/api/v1/tips/{ref}/close")
def close_tip(ref: Ref, session: SessionDep, user: CurrentUser, clock: ClockDep) -> TipPublic:
    """Close a tip (SP/DIG office)."""
    tip = _tip(session, ref, user, lock=True)
    try:
        service.close(session=session, tip=tip, by=user, now=clock.now())
    except (service.Forbidden, service.Conflict) as exc:
        session.rollback()
        raise _errors(exc) from exc
    session.commit()
    return service.public(session, tip)


@router.post("/api/v1/tips/{ref}/block", status_code=status.HTTP_204_NO_CONTENT)
def block_informant(ref: Ref, session: SessionDep, user: CurrentUser) -> Response:
    """Stop the bot answering whoever sent this tip (abuse); nobody learns who that is."""
    tip = _tip(session, ref, user)
    if not service.can_assign(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the SP or DIG office blocks")
    assert tip.id is not None
    bot.block_sender(session, tip.id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/tips/{ref}/media/{media_id}",
    response_class=FileResponse,
    responses={200: {"content": {kind: {} for kind in media.EXTENSIONS}}},
)
def tip_media(
    ref: Ref,
    media_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: CurrentUser,
) -> FileResponse:
    """The stripped working copy of an attachment."""
    tip = _tip(session, ref, user)
    row = session.exec(
        select(TipMedia).where(TipMedia.id == media_id, TipMedia.tip_id == tip.id)
    ).first()
    if row is None or row.path is None or not Path(row.path).exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such attachment")
    return FileResponse(row.path, media_type=row.content_type)


# ---------- the dashboard page ----------


@router.get("/tips", response_class=HTMLResponse, include_in_schema=False)
def tips_page() -> HTMLResponse:
    """The SP/DIG dashboard: hotspot map, station table, trends (no CDN, drawn offline)."""
    return HTMLResponse((STATIC / "tips.html").read_text(encoding="utf-8"))


@router.get("/tips/tips.js", include_in_schema=False)
def tips_script() -> FileResponse:
    """The dashboard's script (same origin: the security policy refuses inline scripts)."""
    return FileResponse(STATIC / "tips.js", media_type="text/javascript")
