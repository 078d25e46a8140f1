"""Response-time review: which alerts a review covers, its figures, and its CSV exports.

A review covers the alerts *received* in [start, end) whose current station lies in the
unit (columns station_id, circle, district, range_name of the alert; a state review also
counts alerts never resolved to a station). Breaches: an alert is `late` when the interval
passed the target, `missing` when the step never happened and the target had already
passed at the time of the review (alerts whose outcome is exempt, e.g. a false alarm,
are never a missing contact). Lives saved: alerts closed with a rescue outcome.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from dispatch.alerts.resolver import Resolver
from dispatch.auth.models import Role
from dispatch.auth.scope import Scope
from dispatch.config import Settings
from dispatch.review import stats
from dispatch.review.models import ALERT, SlowAlert

PERCENTILE_METHOD = (
    "linear interpolation between closest ranks (PostgreSQL percentile_cont, "
    "Excel PERCENTILE.INC): p = q*(n-1), v[floor p] + (p - floor p)*(v[ceil p] - v[floor p])"
)
ALERT_LINK = "/#/alerts/{alert_id}"


class Unit(StrEnum):
    """A level of the police hierarchy, finest first."""

    station = "station"
    circle = "circle"
    district = "district"
    range = "range"
    state = "state"


LEVEL = {u: i for i, u in enumerate(Unit)}
COLUMN = {
    Unit.station: "station_id",
    Unit.circle: "circle",
    Unit.district: "district",
    Unit.range: "range_name",
}
ROLE_UNIT = {Role.circle: Unit.circle, Role.district: Unit.district, Role.range: Unit.range}


class OutsideScope(Exception):
    """The unit is unknown or outside the user's scope (the two look the same on purpose)."""


class BadParameter(ValueError):
    """A query parameter is invalid; `name` is the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class ReviewQuery:
    """One review: a unit, a period [start, end), the league grouping, the user's scope."""

    unit: Unit
    unit_id: str | None
    start: datetime
    end: datetime
    league_by: Unit
    slowest_by: str
    scope: Scope


def default_unit(scope: Scope) -> tuple[Unit, str | None]:
    """What a review shows when no unit is asked for: the state, or the user's own unit."""
    if scope.state_wide:
        return Unit.state, None
    return ROLE_UNIT[scope.role], scope.unit


def check_query(session: Session, resolver: Resolver, query: ReviewQuery, *, max_days: int) -> None:
    """Raise BadParameter for inconsistent parameters, OutsideScope for units not visible."""
    if query.unit is Unit.state and query.unit_id is not None:
        raise BadParameter("unit_id", "unit_id must be empty for unit=state")
    if query.unit is not Unit.state and not query.unit_id:
        raise BadParameter("unit_id", f"unit_id is required for unit={query.unit.value}")
    if query.end <= query.start:
        raise BadParameter("to", "to must be after from")
    if (query.end - query.start).days > max_days:
        raise BadParameter("to", f"a review covers at most {max_days} days")
    if query.league_by is Unit.state or LEVEL[query.league_by] > LEVEL[query.unit]:
        raise BadParameter(
            "group", f"group must be a unit within {query.unit.value} (station ... range)"
        )
    if query.slowest_by not in stats.INTERVALS:
        raise BadParameter("slowest_by", "slowest_by must be one of " + ", ".join(stats.INTERVALS))
    if not _visible(session, resolver, query):
        raise OutsideScope(f"{query.unit.value} {query.unit_id} not found")


def _visible(session: Session, resolver: Resolver, query: ReviewQuery) -> bool:
    """True if the unit exists and lies within the user's unit."""
    scope = query.scope
    if query.unit is Unit.state:
        return scope.state_wide
    assert query.unit_id is not None
    own: tuple[Unit, str] | None = None
    if not scope.state_wide:
        assert scope.unit is not None
        own = (ROLE_UNIT[scope.role], scope.unit)
        if LEVEL[query.unit] > LEVEL[own[0]]:
            return False
        if query.unit is own[0]:
            return query.unit_id == own[1]
    if query.unit is Unit.station:
        try:
            station = resolver.station(query.unit_id)
        except KeyError:
            pass
        else:
            if own is None:
                return True
            above = {
                Unit.circle: station.circle,
                Unit.district: station.district,
                Unit.range: station.range,
            }
            return above[own[0]] == own[1]
    # Units the map does not list (or not as a list): known from the alerts they handled.
    cond = ALERT.c[COLUMN[query.unit]] == query.unit_id
    if own is not None:
        cond = cond & (ALERT.c[COLUMN[own[0]]] == own[1])
    return session.execute(sa.select(ALERT.c.id).where(cond).limit(1)).first() is not None


def where_clause(query: ReviewQuery) -> sa.ColumnElement[bool]:
    """The alerts of the review (period, unit, and the user's own unit as a second guard)."""
    cond = (ALERT.c.received_at >= query.start) & (ALERT.c.received_at < query.end)
    if query.unit is not Unit.state:
        cond = cond & (ALERT.c[COLUMN[query.unit]] == query.unit_id)
    if not query.scope.state_wide:
        own = ROLE_UNIT[query.scope.role]
        cond = cond & (ALERT.c[COLUMN[own]] == query.scope.unit)
    return cond


def review(
    session: Session, *, query: ReviewQuery, settings: Settings, now: datetime, limit: int
) -> dict[str, Any]:
    """Every figure of the review, shaped as models.ReviewOut (JSON-ready plain data).

    Plain dicts rather than models: a state-wide league has 1,500 units, 13,500 nested
    objects, and building models for them cost a third of the review's time.
    """
    targets = stats.Targets(
        ack_s=settings.review_ack_target_minutes * 60,
        contact_s=settings.review_contact_target_minutes * 60,
        now_epoch=now.timestamp(),
        rescue_outcomes=tuple(settings.review_rescue_outcomes),
        contact_exempt=tuple(settings.review_contact_exempt_outcomes),
    )
    where = where_clause(query)
    postgres = session.get_bind().dialect.name == "postgresql"
    engine = stats.aggregate_postgres if postgres else stats.aggregate_portable
    agg = engine(session, where=where, league_column=COLUMN[query.league_by], targets=targets)
    edges = (0.0, *stats.HISTOGRAM_EDGES, None)
    league = [_public(g, targets) for g in agg.league]
    league.sort(key=lambda u: -(u["intervals"]["acknowledged"]["median_s"] or 0.0))
    return {
        "unit": query.unit.value,
        "unit_id": query.unit_id,
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "generated_at": now.isoformat(),
        "percentile_method": PERCENTILE_METHOD,
        "summary": _public(agg.total, targets),
        "outcomes": dict(sorted(agg.outcomes.items())),
        "histogram_acknowledged": [
            {"lo_s": edges[i], "hi_s": edges[i + 1], "count": count}
            for i, count in enumerate(agg.histogram)
        ],
        "weekly": [_public(g, targets) for g in agg.weekly],
        "monthly": [_public(g, targets) for g in agg.monthly],
        "league_by": query.league_by.value,
        "league": league,
        "slowest_by": query.slowest_by,
        "slowest": [
            a.model_dump(mode="json")
            for a in slowest(session, where=where, by=query.slowest_by, limit=limit)
        ],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _public(g: stats.Group, targets: stats.Targets) -> dict[str, Any]:
    """One unit's figures in the shape of models.UnitStats."""
    return {
        "key": g.key,
        "alerts": g.alerts,
        "intervals": {
            name: {
                "count": g.counts[name],
                "median_s": _round(g.medians[name]),
                "p90_s": _round(g.p90s[name]),
            }
            for name in stats.INTERVALS
        },
        "breaches": {
            "acknowledged": {
                "target_s": targets.ack_s,
                "late": g.ack_late,
                "missing": g.ack_missing,
                "total": g.ack_late + g.ack_missing,
            },
            "contacted": {
                "target_s": targets.contact_s,
                "late": g.contact_late,
                "missing": g.contact_missing,
                "total": g.contact_late + g.contact_missing,
            },
        },
        "escalated": g.escalated,
        "escalation_steps": g.escalation_steps,
        "lives_saved": g.lives_saved,
    }


def _seconds(session: Session, column: str) -> sa.ColumnElement[float]:
    """Seconds from receipt to a timestamp column, in this backend's SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return stats.pg_seconds(column)
    received = sa.func.julianday(ALERT.c.received_at)
    return (sa.func.julianday(ALERT.c[column]) - received) * 86400.0


def slowest(
    session: Session, *, where: sa.ColumnElement[bool], by: str, limit: int
) -> list[SlowAlert]:
    """The alerts with the longest interval `by` in the review (ties: oldest first)."""
    key = _seconds(session, stats.INTERVALS[by])
    stmt = _alert_rows(session, where & ALERT.c[stats.INTERVALS[by]].is_not(None))
    return [
        _slow(row) for row in session.execute(stmt.order_by(key.desc(), ALERT.c.id).limit(limit))
    ]


def _alert_rows(session: Session, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    columns = [_seconds(session, col).label(f"i_{name}") for name, col in stats.INTERVALS.items()]
    return sa.select(
        ALERT.c.id,
        ALERT.c.received_at,
        ALERT.c.station_id,
        ALERT.c.station_name,
        ALERT.c.circle,
        ALERT.c.district,
        ALERT.c.range_name,
        ALERT.c.outcome,
        ALERT.c.escalation_level,
        *columns,
    ).where(where)


def _slow(row: Any) -> SlowAlert:
    return SlowAlert(
        id=row.id,
        received_at=row.received_at,
        station_id=row.station_id,
        station_name=row.station_name,
        district=row.district,
        outcome=row.outcome,
        escalation_level=row.escalation_level,
        intervals_s={name: _round(getattr(row, f"i_{name}")) for name in stats.INTERVALS},
        link=ALERT_LINK.format(alert_id=row.id),
    )


# ---------- CSV ----------


def units_csv(result: dict[str, Any]) -> str:
    """One row for the whole unit, then one per league unit; a header row first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["unit_type", "unit_id", "from", "to", "alerts"]
    for name in stats.INTERVALS:
        header += [f"{name}_count", f"{name}_median_s", f"{name}_p90_s"]
    header += [
        "ack_breaches",
        "ack_late",
        "ack_missing",
        "contact_breaches",
        "contact_late",
        "contact_missing",
        "escalated",
        "escalation_steps",
        "lives_saved",
    ]
    writer.writerow(header)
    period = [result["from"], result["to"]]
    rows = [(result["unit"], result["unit_id"] or "state", result["summary"])]
    rows += [(result["league_by"], u["key"], u) for u in result["league"]]
    for unit_type, unit_id, u in rows:
        line: list[Any] = [unit_type, unit_id, *period, u["alerts"]]
        for name in stats.INTERVALS:
            i = u["intervals"][name]
            line += [i["count"], _cell(i["median_s"]), _cell(i["p90_s"])]
        ack, contact = u["breaches"]["acknowledged"], u["breaches"]["contacted"]
        line += [ack["total"], ack["late"], ack["missing"]]
        line += [contact["total"], contact["late"], contact["missing"]]
        line += [u["escalated"], u["escalation_steps"], u["lives_saved"]]
        writer.writerow(line)
    return out.getvalue()


def alerts_csv(session: Session, *, query: ReviewQuery) -> str:
    """One row per alert of the review, oldest first, with its intervals in seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = list(stats.INTERVALS)
    writer.writerow(
        [
            "id",
            "received_at",
            "station_id",
            "station_name",
            "circle",
            "district",
            "range",
            "outcome",
            "escalation_level",
            *[f"{n}_s" for n in names],
            "link",
        ]
    )
    stmt = _alert_rows(session, where_clause(query)).order_by(ALERT.c.received_at, ALERT.c.id)
    for row in session.execute(stmt):
        writer.writerow(
            [
                row.id,
                row.received_at.isoformat(),
                row.station_id or "",
                row.station_name or "",
                row.circle or "",
                row.district or "",
                row.range_name or "",
                row.outcome or "",
                row.escalation_level,
                *[_cell(_round(getattr(row, f"i_{n}"))) for n in names],
                ALERT_LINK.format(alert_id=row.id),
            ]
        )
    return out.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
