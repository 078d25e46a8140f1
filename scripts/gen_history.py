"""Fill a database with historical alerts for the response-time review (issue 5, scale).

Usage:
  .venv/bin/python scripts/gen_history.py sqlite:///history.db [--count 1000000]
  .venv/bin/python scripts/gen_history.py postgresql://postgres@127.0.0.1:5432/bench_review

N alerts (default 1,000,000) over --days (default 365) ending --end (default today, India
time), spread over 1,500 synthetic stations: 75 districts of 20 stations in 5 circles, in 18
ranges. Districts 01 and 02 are named Etawah (range Kanpur) and Jaunpur (range Varanasi) so
the demo district and range users see data. Busy stations get more alerts (Zipf-like) and
each station has its own speed, so the league table has a real spread. Intervals are
log-normal (acknowledged ~75 s median, on scene ~25 min, closed ~2 h); outcomes follow a
plausible mix; escalation levels follow late acknowledgements.

Only the alert table is written (COPY on PostgreSQL, executemany on SQLite), in received
order. The timeline (alert_event) is skipped: its rows are hash-chained one by one and the
review reads the alert table only; a historical alert's console page shows no timeline.
An alert's scope string is set as the intake would set it, so scope filters work on it.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dispatch.auth.scope import scope_string, station_tokens
from dispatch.db import Database
from dispatch.review.models import ALERT, REVIEW_INDEXES

DISTRICTS, STATIONS_PER_DISTRICT, CIRCLES_PER_DISTRICT, RANGES = 75, 20, 5, 18
OUTCOMES = {
    "found_safe_counselled": 0.52,
    "attempt_interrupted": 0.14,
    "hospitalised": 0.09,
    "false_alarm": 0.12,
    "not_traced": 0.06,
    "transferred": 0.04,
    "deceased": 0.03,
}
CATEGORIES = {"suicide_risk": 0.8, "self_harm": 0.15, "threat_to_others": 0.03, "other": 0.02}
COLUMNS = [
    "source",
    "category",
    "status",
    "received_at",
    "detected_at",
    "resolved_at",
    "acknowledged_at",
    "acknowledged_by",
    "dispatched_at",
    "en_route_at",
    "on_scene_at",
    "person_found_at",
    "contacted_at",
    "closed_at",
    "updated_at",
    "station_id",
    "station_name",
    "circle",
    "district",
    "range_name",
    "scope",
    "resolution_method",
    "candidates",
    "subject_sealed",
    "content_sealed",
    "extra",
    "raw_body_sealed",
    "platform",
    "outcome",
    "escalation_level",
    "escalation_fence",
]
TIME_COLUMNS = COLUMNS[3:15]


def stations() -> list[dict[str, str]]:
    """1,500 synthetic stations with their circle, district and range."""
    out = []
    for d in range(DISTRICTS):
        district = {0: "Etawah", 1: "Jaunpur"}.get(d, f"District {d + 1:02d}")
        range_name = {0: "Kanpur", 1: "Varanasi"}.get(d, f"Range {d % RANGES + 1:02d}")
        for s in range(STATIONS_PER_DISTRICT):
            circle = f"{district} Circle {s % CIRCLES_PER_DISTRICT + 1}"
            sid = f"SYN-D{d + 1:02d}-S{s + 1:02d}"
            out.append(
                {
                    "id": sid,
                    "name": f"{district} PS {s + 1:02d}",
                    "circle": circle,
                    "district": district,
                    "range": range_name,
                    "scope": scope_string(station_tokens(sid, circle, district, range_name)),
                }
            )
    return out


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> Any:
    """Log-normal seconds with the given median."""
    return rng.lognormal(np.log(median), sigma, n)


def generate(
    rng: np.random.Generator, n: int, start: float, end: float, catalogue: list[dict[str, str]]
) -> dict[str, Any]:
    """One chunk of alerts as column arrays (times as epoch seconds, NaN = not set)."""
    k = len(catalogue)
    weights = 1.0 / np.arange(1, k + 1) ** 0.6
    # Fixed seeds: a station's share of alerts and its speed stay the same in every chunk.
    weights = np.random.default_rng(11).permutation(weights / weights.sum())
    station = rng.choice(k, n, p=weights)
    slowness = np.random.default_rng(7).lognormal(0.0, 0.35, k)[station]
    received = np.sort(rng.uniform(start, end, n))
    outcome = rng.choice(list(OUTCOMES), n, p=list(OUTCOMES.values()))
    unresolved = rng.random(n) < 0.01
    manual = rng.random(n) < 0.05

    nan = np.full(n, np.nan)
    resolved = received + np.where(manual, lognormal(rng, 240, 0.8, n), lognormal(rng, 0.3, 1.0, n))
    resolved = np.where(unresolved, nan, resolved)
    acked = (
        received
        + np.where(unresolved, 0, resolved - received)
        + (lognormal(rng, 75, 0.9, n) * slowness)
    )
    no_ack = rng.random(n) < 0.004
    acked = np.where(no_ack, nan, acked)
    # Transfers and most false alarms are settled by telephone: nobody is sent.
    sent = ~np.isin(outcome, ["transferred"]) & ~(
        (outcome == "false_alarm") & (rng.random(n) < 0.6)
    )
    sent &= ~np.isnan(acked)
    dispatched = np.where(sent, acked + lognormal(rng, 180, 0.7, n) * slowness, nan)
    en_route = dispatched + lognormal(rng, 60, 0.6, n)
    on_scene = en_route + lognormal(rng, 900, 0.6, n) * slowness
    by_phone = rng.random(n) < 0.3
    contacted = np.where(
        by_phone & ~np.isnan(acked),
        acked + lognormal(rng, 400, 0.8, n),
        on_scene + lognormal(rng, 300, 0.8, n),
    )
    reached = ~np.isin(outcome, ["not_traced", "transferred"]) & ~(
        (outcome == "false_alarm") & (rng.random(n) < 0.4)
    )
    contacted = np.where(reached, contacted, nan)
    last = np.fmax(np.fmax(acked, on_scene), contacted)
    last = np.where(np.isnan(last), received + 600, last)
    closed = last + lognormal(rng, 5400, 0.8, n)
    open_now = closed > end  # the most recent alerts are still being worked
    closed = np.where(open_now, nan, closed)
    ack_delay = acked - received
    level = np.select(
        [np.isnan(ack_delay), ack_delay > 1800, ack_delay > 600, ack_delay > 180], [3, 3, 2, 1], 0
    )
    status = np.where(open_now, np.where(np.isnan(acked), "new", "on_scene"), "closed")
    category = rng.choice(list(CATEGORIES), n, p=list(CATEGORIES.values()))
    return {
        "station": np.where(unresolved, -1, station),
        "received_at": received,
        "detected_at": received - lognormal(rng, 40, 0.5, n),
        "resolved_at": resolved,
        "acknowledged_at": acked,
        "dispatched_at": dispatched,
        "en_route_at": en_route,
        "on_scene_at": on_scene,
        "person_found_at": contacted,
        "contacted_at": contacted,
        "closed_at": closed,
        "updated_at": np.fmax(np.fmax(last, closed), received),
        "outcome": np.where(open_now, "", outcome),
        "status": status,
        "category": category,
        "escalation_level": level,
        "manual": manual,
    }


def timestamps(values: npt.NDArray[np.float64], *, sqlite: bool) -> list[str | None]:
    """Epoch seconds as the text each backend stores (SQLite: naive UTC, as SQLAlchemy)."""
    micro = np.round(np.nan_to_num(values) * 1e6).astype("datetime64[us]")
    text = np.datetime_as_string(micro, unit="us")
    text = np.char.replace(text, "T", " ") if sqlite else np.char.add(text, "+00")
    missing = np.isnan(values)
    return [None if m else str(t) for t, m in zip(text, missing, strict=True)]


def rows(
    chunk: dict[str, Any], catalogue: list[dict[str, str]], *, sqlite: bool
) -> list[tuple[Any, ...]]:
    """The chunk as tuples in COLUMNS order."""
    times = {c: timestamps(chunk[c], sqlite=sqlite) for c in TIME_COLUMNS if c in chunk}
    out = []
    for i in range(len(chunk["received_at"])):
        s = chunk["station"][i]
        st = catalogue[s] if s >= 0 else None
        acked = times["acknowledged_at"][i]
        method = "none" if st is None else ("manual" if chunk["manual"][i] else "point")
        out.append(
            (
                "partner",
                chunk["category"][i],
                chunk["status"][i],
                times["received_at"][i],
                times["detected_at"][i],
                times["resolved_at"][i],
                acked,
                (f"user:sho_{s % 1500}" if st else "user:cell") if acked else None,
                times["dispatched_at"][i],
                times["en_route_at"][i],
                times["on_scene_at"][i],
                times["person_found_at"][i],
                times["contacted_at"][i],
                times["closed_at"][i],
                times["updated_at"][i],
                st["id"] if st else None,
                st["name"] if st else None,
                st["circle"] if st else None,
                st["district"] if st else None,
                st["range"] if st else None,
                st["scope"] if st else "|q:state|",
                method,
                "[]",
                "",
                "",
                "{}",
                "",
                "instagram",
                chunk["outcome"][i] or None,
                int(chunk["escalation_level"][i]),
                0,
            )
        )
    return out


def write_postgres(database: Database, batch: list[tuple[Any, ...]]) -> None:
    """COPY a batch (text format; NULL as \\N)."""
    buf = io.StringIO()
    for row in batch:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row))
        buf.write("\n")
    raw = database.engine.raw_connection()
    try:
        sql = f"COPY alert ({', '.join(COLUMNS)}) FROM STDIN"
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[attr-defined]
            copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()


def write_sqlite(database: Database, batch: list[tuple[Any, ...]]) -> None:
    """executemany in one transaction."""
    marks = ", ".join("?" for _ in COLUMNS)
    raw = database.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache for the load
        cur.execute("BEGIN")
        # Column names are this module's constants, never input.
        sql = f"INSERT INTO alert ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
        cur.executemany(sql, batch)
        cur.execute("COMMIT")
    finally:
        raw.close()


def main() -> None:
    """Generate, insert, index, analyse; print what was done and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="SQLite path or sqlite:/// or postgresql:// URL")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last day (IST)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--reset", action="store_true", help="empty the alert table first")
    args = parser.parse_args()

    url = args.database
    if "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    database = Database(url)
    database.create_all()
    sqlite = database.is_sqlite
    # Bulk loads are several times faster without secondary indexes: drop, load, rebuild.
    indexes = sorted({*ALERT.indexes, *REVIEW_INDEXES}, key=lambda i: str(i.name))
    with database.engine.begin() as conn:
        for index in indexes:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    if args.reset:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM alert" if sqlite else "TRUNCATE alert CASCADE")

    ist = timedelta(hours=5, minutes=30)
    end_day = args.end or (datetime.now(UTC) + ist).date()
    end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), UTC) - ist
    start = end - timedelta(days=args.days)
    rng = np.random.default_rng(args.seed)
    catalogue = stations()
    began = time.perf_counter()
    span = (end - start).total_seconds() / args.count
    done = 0
    while done < args.count:
        n = min(args.chunk, args.count - done)
        # Consecutive slices of the period, so ids follow received_at as in production.
        lo = start.timestamp() + done * span
        chunk = generate(rng, n, lo, lo + n * span, catalogue)
        batch = rows(chunk, catalogue, sqlite=sqlite)
        (write_sqlite if sqlite else write_postgres)(database, batch)
        done += n
        print(f"{done:>9,} alerts  {time.perf_counter() - began:6.1f} s", flush=True)
    print("building indexes ...", flush=True)
    with database.engine.begin() as conn:
        for index in indexes:
            index.create(conn, checkfirst=True)
        conn.exec_driver_sql("ANALYZE" if sqlite else "ANALYZE alert")
    print(
        f"inserted {args.count:,} alerts over {len(catalogue):,} stations, "
        f"{start:%Y-%m-%d} .. {end:%Y-%m-%d} UTC, in {time.perf_counter() - began:.1f} s"
    )
    database.dispose()


if __name__ == "__main__":
    main()
