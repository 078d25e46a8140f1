"""The review's arithmetic: counts, medians and 90th percentiles of response intervals.

Percentile method (the same on both backends, and in the tests): linear interpolation
between closest ranks, as PostgreSQL `percentile_cont`, numpy's default and Excel's
PERCENTILE.INC. For n sorted values v[0..n-1] and a fraction q (0.5, 0.9), the position is
p = q * (n - 1) and the percentile is v[floor p] + (p - floor p) * (v[ceil p] - v[floor p]).
The median of [60, 120, 600] is 120 s; their p90 is 120 + 0.8 * 480 = 504 s.

PostgreSQL computes every grouping in one scan with `percentile_cont(ARRAY[0.5, 0.9])` and
GROUPING SETS (whole unit, league units, weeks, months), plus one scan for the outcome and
histogram counts. SQLite has no ordered-set aggregates, so it returns only the period's
interval columns (seconds, computed in SQL with julianday) and numpy sorts and interpolates
every group in a few vectorised passes.

Weeks start on Monday and months on the 1st, in India time; both are keyed by integers
(the Monday's day number since 1970-01-01, and year * 12 + month - 1) and named at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlmodel import Session

from dispatch.review.models import ALERT

# received_at -> each of these, in lifecycle order.
INTERVALS: dict[str, str] = {
    "resolved": "resolved_at",
    "acknowledged": "acknowledged_at",
    "dispatched": "dispatched_at",
    "on_scene": "on_scene_at",
    "contacted": "contacted_at",
    "closed": "closed_at",
}
# Seconds to acknowledge: histogram bin edges (the last bin has no upper end).
HISTOGRAM_EDGES: tuple[float, ...] = (30, 60, 90, 120, 180, 300, 600, 900, 1800, 3600)
IST_OFFSET_S = 5 * 3600 + 30 * 60
NO_UNIT = "(unresolved)"
EPOCH_DAY = date(1970, 1, 1)
# Sorting big groups needs more than PostgreSQL's default 4 MB, or it spills to disk.
PG_WORK_MEM = "64MB"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Targets:
    """What counts as a breach, and which outcomes are rescues."""

    ack_s: float
    contact_s: float
    now_epoch: float
    rescue_outcomes: tuple[str, ...]
    contact_exempt: tuple[str, ...]


@dataclass
class Group:
    """The figures of one group of alerts (a unit, a week, a month) before rounding."""

    key: str
    alerts: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    medians: dict[str, float | None] = field(default_factory=dict)
    p90s: dict[str, float | None] = field(default_factory=dict)
    ack_late: int = 0
    ack_missing: int = 0
    contact_late: int = 0
    contact_missing: int = 0
    escalated: int = 0
    escalation_steps: int = 0
    lives_saved: int = 0


@dataclass
class Aggregate:
    """Every grouping of a review, plus the outcome breakdown and the histogram."""

    total: Group
    league: list[Group]
    weekly: list[Group]
    monthly: list[Group]
    outcomes: dict[str, int]
    histogram: list[int]


FLAG_FIELDS = (
    "ack_late",
    "ack_missing",
    "contact_late",
    "contact_missing",
    "escalated",
    "escalation_steps",
    "lives_saved",
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile of values (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def week_name(monday: int) -> str:
    """ISO date of a Monday given as days since 1970-01-01."""
    return (EPOCH_DAY + timedelta(days=monday)).isoformat()


def month_name(month: int) -> str:
    """'YYYY-MM' of year * 12 + month - 1."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


# ---------- PostgreSQL: percentile_cont over GROUPING SETS ----------


def pg_seconds(column: str) -> sa.ColumnElement[float]:
    """Seconds (double precision) from receipt to a timestamp column; NULL if it is unset."""
    return sa.func.date_part("epoch", ALERT.c[column] - ALERT.c.received_at, type_=sa.Float)


def aggregate_postgres(
    session: Session, *, where: sa.ColumnElement[bool], league_column: str, targets: Targets
) -> Aggregate:
    """All groupings in one statement (percentile_cont per group), counts in a second."""
    session.execute(sa.text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
    local_epoch = sa.func.date_part("epoch", ALERT.c.received_at, type_=sa.Float) + IST_OFFSET_S
    day = sa.cast(sa.func.floor(local_epoch / 86400), sa.Integer)
    local = sa.func.timezone("Asia/Kolkata", ALERT.c.received_at)
    base = sa.select(
        *[pg_seconds(col).label(f"i_{name}") for name, col in INTERVALS.items()],
        sa.func.date_part("epoch", ALERT.c.received_at, type_=sa.Float).label("r_epoch"),
        ALERT.c.outcome,
        ALERT.c.escalation_level,
        ALERT.c[league_column].label("g_league"),
        ((day + 3) // 7 * 7 - 3).label("g_week"),  # the Monday (1970-01-01 was a Thursday)
        sa.cast(
            sa.func.date_part("year", local) * 12 + sa.func.date_part("month", local) - 1,
            sa.Integer,
        ).label("g_month"),
    ).where(where)
    t = base.subquery("t").c
    count = sa.func.count
    columns: list[sa.ColumnElement[Any]] = [
        sa.func.grouping(t.g_league),
        sa.func.grouping(t.g_week),
        sa.func.grouping(t.g_month),
        t.g_league,
        t.g_week,
        t.g_month,
        count(),
    ]
    for name in INTERVALS:
        columns.append(count(t[f"i_{name}"]))
        columns.append(
            sa.func.percentile_cont(sa.literal_column("ARRAY[0.5, 0.9]")).within_group(
                t[f"i_{name}"]
            )
        )
    ack, contacted = t.i_acknowledged, t.i_contacted
    columns += [
        count().filter(ack > targets.ack_s),
        count().filter(ack.is_(None) & (t.r_epoch < targets.now_epoch - targets.ack_s)),
        count().filter(contacted > targets.contact_s),
        count().filter(
            contacted.is_(None)
            & (t.r_epoch < targets.now_epoch - targets.contact_s)
            & (t.outcome.is_(None) | t.outcome.not_in(targets.contact_exempt))
        ),
        count().filter(t.escalation_level > 0),
        sa.func.coalesce(sa.func.sum(t.escalation_level), 0),
        count().filter(t.outcome.in_(targets.rescue_outcomes)),
    ]
    stmt = sa.select(*columns).group_by(
        sa.func.grouping_sets(
            sa.text("()"), sa.tuple_(t.g_league), sa.tuple_(t.g_week), sa.tuple_(t.g_month)
        )
    )
    total = _empty("total")
    league: list[Group] = []
    weekly: list[tuple[int, Group]] = []
    monthly: list[tuple[int, Group]] = []
    for row in session.execute(stmt):
        g = Group(key="", alerts=int(row[6]))
        pos = 7
        for name in INTERVALS:
            g.counts[name] = int(row[pos])
            pcs = row[pos + 1]
            g.medians[name] = float(pcs[0]) if pcs else None
            g.p90s[name] = float(pcs[1]) if pcs else None
            pos += 2
        for attr, value in zip(FLAG_FIELDS, row[pos:], strict=True):
            setattr(g, attr, int(value))
        if row[0] == 0:
            g.key = row[3] or NO_UNIT
            league.append(g)
        elif row[1] == 0:
            g.key = week_name(row[4])
            weekly.append((row[4], g))
        elif row[2] == 0:
            g.key = month_name(row[5])
            monthly.append((row[5], g))
        else:
            g.key = "total"
            total = g

    # Outcomes and the acknowledgement histogram: counts only, one more scan.
    edges = ", ".join(str(float(e)) for e in HISTOGRAM_EDGES)
    counts = sa.select(
        ALERT.c.outcome.label("outcome"),
        sa.func.width_bucket(
            pg_seconds("acknowledged_at"), sa.literal_column(f"ARRAY[{edges}]::float8[]")
        ).label("bucket"),
    ).where(where)
    c = counts.subquery("c").c
    outcomes: dict[str, int] = {}
    histogram = [0] * (len(HISTOGRAM_EDGES) + 1)
    for is_outcome, outcome, bucket, n in session.execute(
        sa.select(sa.func.grouping(c.bucket), c.outcome, c.bucket, count()).group_by(
            sa.func.grouping_sets(sa.tuple_(c.outcome), sa.tuple_(c.bucket))
        )
    ):
        if is_outcome == 1:
            outcomes[outcome or "none"] = int(n)
        elif bucket is not None:
            histogram[int(bucket)] = int(n)
    return Aggregate(
        total=total,
        league=sorted(league, key=lambda g: g.key),
        weekly=[g for _, g in sorted(weekly, key=lambda x: x[0])],
        monthly=[g for _, g in sorted(monthly, key=lambda x: x[0])],
        outcomes=outcomes,
        histogram=histogram,
    )


# ---------- SQLite: interval columns + numpy (also runs on PostgreSQL, as a cross-check) ----


def aggregate_portable(
    session: Session, *, where: sa.ColumnElement[bool], league_column: str, targets: Targets
) -> Aggregate:
    """Fetch the period's interval columns (seconds, computed in SQL) and group in numpy."""
    # Timestamps as numbers straight from the database (SQLite: Julian days, one julianday()
    # per column and row; PostgreSQL: epoch seconds); numpy subtracts.
    postgres = session.get_bind().dialect.name == "postgresql"
    offset, scale = (0.0, 1.0) if postgres else (2440587.5, 86400.0)

    def as_number(column: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
        if postgres:
            return sa.func.date_part("epoch", column, type_=sa.Float)
        return sa.func.julianday(column, type_=sa.Float)

    stmt = sa.select(
        as_number(ALERT.c.received_at),
        *[as_number(ALERT.c[col]) for col in INTERVALS.values()],
        ALERT.c.escalation_level,
        ALERT.c.outcome,
        ALERT.c[league_column],
    ).where(where)
    result = session.connection().execute(stmt)
    # Plain tuples straight from the driver: these columns need no type conversion, and
    # building 85,000 Row objects would cost more than the whole numpy part.
    rows: Sequence[Any] = result.cursor.fetchall() if result.cursor is not None else result.all()
    result.close()
    if not rows:
        return Aggregate(
            total=_empty("total"),
            league=[],
            weekly=[],
            monthly=[],
            outcomes={},
            histogram=[0] * (len(HISTOGRAM_EDGES) + 1),
        )
    # None becomes NaN; julianday is exact to ~50 microseconds, so round to milliseconds
    # (an acknowledgement after exactly 180 s must not count as 180.00002, a breach).
    numbers = np.array([r[:8] for r in rows], dtype=np.float64)
    julian = numbers[:, 0]
    r_epoch = ((julian - offset) * scale).round(3)
    ivals = {
        name: ((numbers[:, 1 + i] - julian) * scale).round(3) for i, name in enumerate(INTERVALS)
    }
    escalation = np.nan_to_num(numbers[:, 7]).astype(np.int64)
    outcome_codes, outcome_names = _factorize([r[8] or "none" for r in rows])
    league_codes, league_names = _factorize([r[9] or NO_UNIT for r in rows])

    day = np.floor((r_epoch + IST_OFFSET_S) / 86400.0).astype(np.int64)
    monday = day - (day + 3) % 7  # 1970-01-01 was a Thursday
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12

    ack, contacted = ivals["acknowledged"], ivals["contacted"]
    rescue = np.isin(outcome_codes, _codes_of(outcome_names, targets.rescue_outcomes))
    exempt = np.isin(outcome_codes, _codes_of(outcome_names, targets.contact_exempt))
    flags: dict[str, Any] = {
        "ack_late": np.nan_to_num(ack, nan=-np.inf) > targets.ack_s,
        "ack_missing": np.isnan(ack) & (r_epoch < targets.now_epoch - targets.ack_s),
        "contact_late": np.nan_to_num(contacted, nan=-np.inf) > targets.contact_s,
        "contact_missing": np.isnan(contacted)
        & (r_epoch < targets.now_epoch - targets.contact_s)
        & ~exempt,
        "escalated": escalation > 0,
        "escalation_steps": escalation,
        "lives_saved": rescue,
    }
    n = len(rows)
    orders = _sorted(ivals)
    (total,) = _grouped(np.zeros(n, dtype=np.int64), ["total"], ivals, flags, orders)
    order = sorted(range(len(league_names)), key=lambda i: league_names[i])
    league = _grouped(league_codes, league_names, ivals, flags, orders)
    weeks, week_codes = np.unique(monday, return_inverse=True)
    months, month_codes = np.unique(month, return_inverse=True)
    outcome_counts = np.bincount(outcome_codes, minlength=len(outcome_names)).tolist()
    acked = ack[~np.isnan(ack)]
    bins = np.searchsorted(np.array(HISTOGRAM_EDGES, dtype=np.float64), acked, side="right")
    return Aggregate(
        total=total,
        league=[league[i] for i in order],
        weekly=_grouped(
            week_codes.astype(np.int64), [week_name(int(w)) for w in weeks], ivals, flags, orders
        ),
        monthly=_grouped(
            month_codes.astype(np.int64), [month_name(int(m)) for m in months], ivals, flags, orders
        ),
        outcomes={name: int(c) for name, c in zip(outcome_names, outcome_counts, strict=True) if c},
        histogram=[int(h) for h in np.bincount(bins, minlength=len(HISTOGRAM_EDGES) + 1).tolist()],
    )


def _factorize(keys: list[str]) -> tuple[IntArray, list[str]]:
    """Integer codes for string keys (first-seen order) and the distinct keys."""
    index: dict[str, int] = {}
    codes = [index.setdefault(k, len(index)) for k in keys]
    return np.array(codes, dtype=np.int64), list(index)


def _codes_of(names: list[str], wanted: Sequence[str]) -> list[int]:
    chosen = set(wanted)
    return [i for i, name in enumerate(names) if name in chosen]


def _sorted(ivals: dict[str, FloatArray]) -> dict[str, IntArray]:
    """For each interval, the indices of its set values in ascending order."""
    out: dict[str, IntArray] = {}
    for name, values in ivals.items():
        valid = np.flatnonzero(~np.isnan(values))
        out[name] = valid[np.argsort(values[valid], kind="stable")]
    return out


def _grouped(
    codes: IntArray,
    labels: list[str],
    ivals: dict[str, FloatArray],
    flags: dict[str, Any],
    sorted_orders: dict[str, IntArray],
) -> list[Group]:
    """Counts, medians and p90s per group code, vectorised over all groups at once."""
    k = len(labels)
    sizes = np.bincount(codes, minlength=k).tolist()
    stats: dict[str, tuple[list[int], list[float], list[float]]] = {}
    for name, values in ivals.items():
        # `values` arrive sorted (NaN last, see _sorted): a stable integer sort by group
        # keeps each group's values in order, far cheaper than sorting floats per grouping.
        order = sorted_orders[name]
        v, c = values[order], codes[order]
        by_group = np.argsort(c, kind="stable")
        v, c = v[by_group], c[by_group]
        n = np.bincount(c, minlength=k)
        start = np.concatenate(([0], np.cumsum(n)[:-1])).astype(np.int64)
        stats[name] = (
            n.tolist(),
            _interpolate(v, start, n, 0.5).tolist(),
            _interpolate(v, start, n, 0.9).tolist(),
        )
    totals = {
        attr: np.bincount(codes, weights=np.asarray(mask, dtype=np.float64), minlength=k)
        .astype(np.int64)
        .tolist()
        for attr, mask in flags.items()
    }
    out = []
    for i, label in enumerate(labels):
        g = Group(key=label, alerts=sizes[i])
        for name, (n_, med, p90) in stats.items():
            g.counts[name] = n_[i]
            g.medians[name] = med[i] if n_[i] else None
            g.p90s[name] = p90[i] if n_[i] else None
        for attr, values in totals.items():
            setattr(g, attr, values[i])
        out.append(g)
    return out


def _interpolate(v: FloatArray, start: IntArray, n: IntArray, q: float) -> FloatArray:
    if v.size == 0:
        return np.zeros(len(n), dtype=np.float64)
    pos = q * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    frac = pos - lo
    top = v.size - 1
    a = v[np.minimum(start + lo, top)]
    b = v[np.minimum(start + hi, top)]
    result: FloatArray = a + (b - a) * frac
    return result


def _empty(key: str) -> Group:
    g = Group(key=key)
    for name in INTERVALS:
        g.counts[name] = 0
        g.medians[name] = None
        g.p90s[name] = None
    return g
