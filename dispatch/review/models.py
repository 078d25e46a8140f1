"""Indexes for the response-time review, and the review's API schemas.

The review reads the alert table only. A review selects one period of `received_at`
within one unit, so each unit column gets a composite (unit, received_at) index; the
state-wide review uses the alerts domain's `ix_alert_received_at`. The indexes are
declared here (on `Alert.__table__`) so `create_all` builds them with the table.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from dispatch.alerts.models import Alert

# The alert table as SQLAlchemy Core (typed columns for the review's SQL).
ALERT: sa.Table = Alert.__table__  # type: ignore[attr-defined]
_alert = ALERT.c

REVIEW_INDEXES = (
    sa.Index("ix_review_station_received", _alert.station_id, _alert.received_at),
    sa.Index("ix_review_circle_received", _alert.circle, _alert.received_at),
    sa.Index("ix_review_district_received", _alert.district, _alert.received_at),
    sa.Index("ix_review_range_received", _alert.range_name, _alert.received_at),
)


class IntervalStats(BaseModel):
    """One interval (received -> X) over a set of alerts; seconds, None when no alert has it."""

    count: int
    median_s: float | None
    p90_s: float | None


class Breach(BaseModel):
    """Alerts that missed a target: reached late, or not reached and already overdue."""

    target_s: float
    late: int
    missing: int
    total: int


class UnitStats(BaseModel):
    """Every figure of the review for one set of alerts (a unit, a week, a month)."""

    key: str
    alerts: int
    intervals: dict[str, IntervalStats]
    breaches: dict[str, Breach]
    escalated: int
    escalation_steps: int
    lives_saved: int


class HistogramBin(BaseModel):
    """Alerts acknowledged within [lo_s, hi_s) seconds of receipt (hi_s None: no upper end)."""

    lo_s: float
    hi_s: float | None
    count: int


class SlowAlert(BaseModel):
    """One of the slowest alerts of the period, with a link to its timeline in the console."""

    id: int
    received_at: datetime
    station_id: str | None
    station_name: str | None
    district: str | None
    outcome: str | None
    escalation_level: int
    intervals_s: dict[str, float | None]
    link: str


class ReviewOut(BaseModel):
    """The response-time review of one unit over one period."""

    unit: str
    unit_id: str | None
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    generated_at: datetime
    percentile_method: str
    summary: UnitStats
    outcomes: dict[str, int]
    histogram_acknowledged: list[HistogramBin]
    weekly: list[UnitStats]
    monthly: list[UnitStats]
    league_by: str
    league: list[UnitStats]
    slowest_by: str
    slowest: list[SlowAlert]
