"""Response-time review latency on a filled database (see scripts/gen_history.py).

Starts `dispatch serve` on each database, signs in a supervisor and times, end to end over
HTTP, a one-month review of the whole state, of one district and of one station (JSON), and
the state-wide CSV; each --runs times after --warmup runs. Prints p50/max in a markdown table.

Usage:
  .venv/bin/python scripts/gen_history.py /tmp/history.db
  .venv/bin/python scripts/bench_review.py --sqlite /tmp/history.db \\
      [--postgres postgresql://postgres@127.0.0.1:5432/bench_review] [--runs 10] \\
      [--month 2026-10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dispatch.db import normalise_url
from scripts.benchutil import PYTHON, REPO, markdown_table, percentile, server

USER, PASSWORD = "bench_review_supervisor", "bench-review-pass-1"
DISTRICT, STATION = "Etawah", "SYN-D01-S01"


def last_full_month(url: str) -> str:
    """The last calendar month (India time) that ends before the newest alert."""
    engine = sa.create_engine(normalise_url(url))
    with engine.connect() as conn:
        newest = conn.execute(sa.text("SELECT max(received_at) FROM alert")).scalar()
    engine.dispose()
    if newest is None:
        raise SystemExit("the alert table is empty: run scripts/gen_history.py first")
    day = newest if isinstance(newest, date) else date.fromisoformat(str(newest)[:10])
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


def add_supervisor(url: str) -> None:
    """Create the benchmark supervisor (an existing one is kept)."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url}
    subprocess.run(
        [
            PYTHON,
            "-m",
            "dispatch.cli",
            "user",
            "add",
            USER,
            "--role",
            "supervisor",
            "--password",
            PASSWORD,
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        check=False,
    )


def cases(month: str) -> list[tuple[str, dict[str, str]]]:
    """The reviews to time: (label, query parameters)."""
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    return [
        ("state, one month (JSON)", {**period}),
        (f"district {DISTRICT}, one month", {**period, "unit": "district", "unit_id": DISTRICT}),
        (f"station {STATION}, one month", {**period, "unit": "station", "unit_id": STATION}),
        ("state, one month (CSV per station)", {**period, "format": "csv"}),
    ]


def run(url: str, runs: int, warmup: int, month: str) -> list[dict[str, Any]]:
    """Time each case against a server on this database."""
    add_supervisor(url)
    results = []
    with server(url) as base, httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/api/v1/auth/token", data={"username": USER, "password": PASSWORD})
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for label, params in cases(month):
            timings = []
            alerts = None
            for i in range(warmup + runs):
                started = time.perf_counter()
                r = client.get("/api/v1/review/response-times", params=params, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if r.status_code != 200:
                    raise RuntimeError(f"{label}: {r.status_code} {r.text[:300]}")
                if i >= warmup:
                    timings.append(elapsed)
                if params.get("format") != "csv":
                    alerts = r.json()["summary"]["alerts"]
            results.append(
                {
                    "case": label,
                    "alerts": alerts,
                    "runs": runs,
                    "p50_ms": round(percentile(timings, 50), 1),
                    "max_ms": round(max(timings), 1),
                    "bytes": len(r.content),
                }
            )
    return results


def main() -> None:
    """Run on the given databases; print a markdown table (and write JSON if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, help="SQLite file filled by gen_history.py")
    parser.add_argument("--postgres", help="PostgreSQL URL filled by gen_history.py")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--month", help="YYYY-MM (default: last full month of the data)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    targets = {}
    if args.sqlite:
        targets["sqlite"] = f"sqlite:///{args.sqlite.resolve()}"
    if args.postgres:
        targets["postgres"] = args.postgres
    if not targets:
        parser.error("give --sqlite and/or --postgres")
    out: dict[str, Any] = {}
    rows = []
    for name, url in targets.items():
        month = args.month or last_full_month(url)
        with sa.create_engine(normalise_url(url)).connect() as conn:
            total = conn.execute(sa.text("SELECT count(*) FROM alert")).scalar()
        out[name] = {
            "month": month,
            "alerts_in_database": total,
            "cases": run(url, args.runs, args.warmup, month),
        }
        for r in out[name]["cases"]:
            rows.append(
                [
                    name,
                    f"{total:,}",
                    month,
                    r["case"],
                    r["alerts"] if r["alerts"] is not None else "",
                    r["runs"],
                    r["p50_ms"],
                    r["max_ms"],
                ]
            )
    print(
        markdown_table(
            [
                "backend",
                "alerts in db",
                "month",
                "review",
                "alerts reviewed",
                "runs",
                "p50 ms",
                "max ms",
            ],
            rows,
        )
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
