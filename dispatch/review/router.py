"""Supervisors' response-time review: the JSON/CSV endpoint and the review page."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response

from dispatch.auth.deps import require_roles
from dispatch.auth.models import Role, User
from dispatch.auth.scope import Scope
from dispatch.clock import as_utc
from dispatch.db import SessionDep
from dispatch.deps import ClockDep, SettingsDep
from dispatch.review import service
from dispatch.review.models import ReviewOut

router = APIRouter(tags=["review"])
STATIC = Path(__file__).resolve().parent / "static"
IST = ZoneInfo("Asia/Kolkata")
DEFAULT_DAYS = 30
REVIEW_ROLES = (
    Role.operator,
    Role.supervisor,
    Role.admin,
    Role.circle,
    Role.district,
    Role.range,
)
Reviewer = Annotated[User, Depends(require_roles(*REVIEW_ROLES))]


def _bad(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", name), "msg": message, "type": "value_error", "input": None}]
    )


def _moment(name: str, value: str, *, end: bool) -> datetime:
    """An ISO date or datetime; naive means India time; a date `to` includes that whole day."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(), IST)
            moment = moment + timedelta(days=1) if end else moment
        else:
            parsed = datetime.fromisoformat(value)
            moment = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=IST)
    except ValueError as exc:
        raise _bad(name, "expected an ISO date (2026-11-01) or date-time") from exc
    except OverflowError as exc:  # the day after 9999-12-31
        raise _bad(name, "date out of range (years 1 to 9999)") from exc
    try:
        as_utc(moment)  # the databases hold it in UTC: '0001-01-01T00:00+05:30' is year 0
    except ValueError as exc:
        raise _bad(name, str(exc)) from exc
    return moment


@router.get(
    "/api/v1/review/response-times",
    response_model=ReviewOut,
    response_model_by_alias=True,
    responses={200: {"content": {"text/csv": {}}}},
)
def response_times(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    user: Reviewer,
    request: Request,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    unit: service.Unit | None = None,
    unit_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    group: service.Unit = service.Unit.station,
    format: Literal["json", "csv"] = "json",
    rows: Literal["units", "alerts"] = "units",
    slowest_by: Annotated[str, Query(max_length=40)] = "acknowledged",
) -> Response:
    """Counts, median and p90 of each response interval for a unit and period (JSON or CSV).

    `from`/`to`: ISO dates or date-times (naive: India time), default the last 30 days;
    a date-only `to` includes that day. `unit`: station|circle|district|range|state (default:
    the state, or the user's own unit); `group`: the league table's units (default station).
    `format=csv` gives one row per unit (`rows=alerts`: one row per alert).
    """
    now = clock.now()
    scope = Scope(role=Role(user.role), unit=user.unit)
    end = _moment("to", to, end=True) if to else now
    start = _moment("from", from_, end=False) if from_ else end - timedelta(days=DEFAULT_DAYS)
    if unit is None:
        if unit_id is not None:
            raise _bad("unit", "unit is required with unit_id")
        unit, unit_id = service.default_unit(scope)
    query = service.ReviewQuery(
        unit=unit,
        unit_id=unit_id,
        start=start,
        end=end,
        league_by=group,
        slowest_by=slowest_by,
        scope=scope,
    )
    try:
        service.check_query(
            session, request.app.state.resolver, query, max_days=settings.review_max_days
        )
    except service.BadParameter as exc:
        raise _bad(exc.name, str(exc)) from exc
    except service.OutsideScope as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if format == "csv":
        name = f"response-times-{unit.value}-{unit_id or 'state'}-{start:%Y%m%d}"
        if rows == "alerts":
            body = service.alerts_csv(session, query=query)
            name += "-alerts"
        else:
            body = service.units_csv(
                service.review(
                    session,
                    query=query,
                    settings=settings,
                    now=now,
                    limit=settings.review_slowest_limit,
                )
            )
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
        )
    result = service.review(
        session, query=query, settings=settings, now=now, limit=settings.review_slowest_limit
    )
    # Serialised here: FastAPI's validation of a 1,500-station league would cost seconds.
    return Response(json.dumps(result, separators=(",", ":")), media_type="application/json")


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def review_page() -> HTMLResponse:
    """The supervisors' review page (signs in with the console's token)."""
    page = (STATIC / "review.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/review/static/{name}", include_in_schema=False)
def review_static(name: str) -> FileResponse:
    """The page's script and style (no build step, nothing fetched from elsewhere)."""
    media = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    target = (STATIC / name).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file() or target.suffix not in media:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return FileResponse(
        target, media_type=media[target.suffix], headers={"Cache-Control": "no-cache"}
    )
