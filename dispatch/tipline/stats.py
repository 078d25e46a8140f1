"""Dashboards for the SP and DIG offices: station table, trends, sensitivity, time to action.

The JSON is for the office's own screen. The CSV export is meant to leave the office, so every
count from 1 to DISPATCH_TIPLINE_MIN_COUNT - 1 is written as "<N" (small counts can point at
an informant in a small place).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

import geo
from dispatch.auth.models import User
from dispatch.tipline import service
from dispatch.tipline.models import OPEN_STATUSES, Tip, TipStatus

IST = ZoneInfo("Asia/Kolkata")
UNKNOWN_STATION = "unknown"


def _tips(
    session: Session,
    user: User,
    district: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Tip]:
    query = select(Tip)
    rule = service.visibility(user)
    if rule is not None:
        query = query.where(rule)
    if district:
        query = query.where(Tip.district == district)
    if since:
        query = query.where(col(Tip.created_at) >= since)
    if until:
        query = query.where(col(Tip.created_at) < until)
    return list(session.exec(query).all())


def compute(
    *,
    session: Session,
    user: User,
    index: geo.JurisdictionIndex,
    district: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Every figure of the dashboard for the tips the user may see."""
    tips = _tips(session, user, district, since, until)
    stations: dict[str, dict[str, Any]] = {}
    weekly: Counter[tuple[str, str]] = Counter()
    monthly: Counter[tuple[str, str]] = Counter()
    hours: list[float] = []
    for tip in tips:
        key = tip.station_id or UNKNOWN_STATION
        row = stations.get(key)
        if row is None:
            station = index.stations.get(tip.station_id or "")
            row = {
                "station_id": key,
                "name": station.name if station else "Unknown place",
                "district": tip.district,
                "total": 0,
                "open": 0,
                "closed": 0,
                "high": 0,
                "medium": 0,
                "low": 0,
            }
            stations[key] = row
        row["total"] += 1
        row["open" if tip.status in OPEN_STATUSES else "closed"] += 1
        row[tip.sensitivity] += 1
        local = tip.created_at.astimezone(IST)
        year, week, _ = local.isocalendar()
        weekly[(f"{year}-W{week:02d}", tip.category)] += 1
        monthly[(local.strftime("%Y-%m"), tip.category)] += 1
        if tip.action_at is not None:
            hours.append((tip.action_at - tip.created_at).total_seconds() / 3600)
    sensitivity = Counter(t.sensitivity for t in tips)
    status = Counter(t.status for t in tips)
    return {
        "total": len(tips),
        "open": sum(status[s] for s in OPEN_STATUSES),
        "closed": len(tips) - sum(status[s] for s in OPEN_STATUSES),
        "by_status": {s.value: status[s] for s in TipStatus},
        "sensitivity": {s: sensitivity[s] for s in ("high", "medium", "low")},
        "stations": sorted(stations.values(), key=lambda r: (-r["total"], r["station_id"])),
        "weekly": _trend(weekly),
        "monthly": _trend(monthly),
        "time_to_action_hours": {
            "count": len(hours),
            "median": round(statistics.median(hours), 2) if hours else None,
            "mean": round(statistics.fmean(hours), 2) if hours else None,
        },
    }


def _trend(counts: Counter[tuple[str, str]]) -> list[dict[str, Any]]:
    by_period: dict[str, dict[str, int]] = defaultdict(dict)
    for (period, category), count in counts.items():
        by_period[period][category] = count
    return [{"period": p, "categories": by_period[p]} for p in sorted(by_period)]


def suppressed(count: int, threshold: int) -> str:
    """A count as it may leave the office: "<N" when small but not zero."""
    return f"<{threshold}" if 0 < count < threshold else str(count)


def to_csv(figures: dict[str, Any], threshold: int) -> str:
    """The dashboard as CSV, small counts suppressed."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["section", "key", "district", "name", "total", "open", "closed", "high", "medium", "low"]
    )
    for row in figures["stations"]:
        writer.writerow(
            ["station", row["station_id"], row["district"], row["name"]]
            + [
                suppressed(row[k], threshold)
                for k in ("total", "open", "closed", "high", "medium", "low")
            ]
        )
    for kind in ("weekly", "monthly"):
        for period in figures[kind]:
            for category, count in sorted(period["categories"].items()):
                writer.writerow(
                    [kind, period["period"], "", category, suppressed(count, threshold)]
                )
    for level, count in figures["sensitivity"].items():
        writer.writerow(["sensitivity", level, "", "", suppressed(count, threshold)])
    writer.writerow(["status", "open", "", "", suppressed(figures["open"], threshold)])
    writer.writerow(["status", "closed", "", "", suppressed(figures["closed"], threshold)])
    tta = figures["time_to_action_hours"]
    median = "" if tta["median"] is None or tta["count"] < threshold else tta["median"]
    writer.writerow(["time_to_action_hours", "median", "", "", median])
    return out.getvalue()
