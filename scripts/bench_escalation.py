"""Escalation timers: lateness of steps fired by the real scheduler, memory, and a restart.

Runs `dispatch serve` (console transport, a contact for every post of the demo
jurisdictions) in drill mode so the suicide-risk chain runs in seconds, posts --count alerts
and lets them climb the chain:

1. live: lateness (fired minus due) p50/p99/max of every timer-fired step (levels 1 and up,
   due while the server ran; steps still not fired when measuring stops count as late until
   then), the delay from intake to level 0, the most escalations pending at once, and the
   server's peak memory (VmHWM) before and after.
2. restart: the server stops, every alert's next step falls overdue, the server starts again;
   how long after the process started each overdue step fired (p50/p99/max).

Targets (issue 4): p99 lateness <= 1 s; after a restart, overdue steps fire within 5 s.

Usage: .venv/bin/python scripts/bench_escalation.py [--count 2000] [--drill-speed 60]
           [--postgres URL] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.benchutil import (
    PYTHON,
    REPO,
    free_port,
    make_partner,
    markdown_table,
    percentile,
    reset_postgres,
    sqlite_url,
    stop_process,
)

# Points inside the demo districts (every alert resolves to a station with contacts).
POINTS = [(26.886, 78.9128), (26.78, 79.02), (25.75, 82.69), (25.58, 83.58), (25.31, 83.01)]
LEVEL_DUE_S = [0, 180, 360, 660]  # the suicide-risk chain: levels 0..3 after arrival


def body(i: int) -> bytes:
    """A partner alert (suicide risk) at one of the demo points."""
    lat, lon = random.choice(POINTS)
    return json.dumps(
        {
            "external_id": f"bench-esc-{i}-{random.random()}",
            "category": "suicide_risk",
            "detected_at": datetime.now(UTC).isoformat(),
            "subject": {"name": "Test Person", "handle": f"@p{i}"},
            "content": {"platform": "instagram", "kind": "story", "text": "farewell"},
            "location": {
                "lat": lat + random.uniform(-0.005, 0.005),
                "lon": lon + random.uniform(-0.005, 0.005),
                "accuracy_m": 50,
                "source": "gps",
            },
        }
    ).encode()


def bench_policy() -> Path:
    """The shipped policy with the last level repeated only after a day: every alert fires
    levels 0..3 once during the run, so the load is the intake rate times four steps."""
    data = json.loads((REPO / "data" / "escalation_policy.json").read_text())
    for chain in data["chains"].values():
        chain["repeat_last_every_s"] = 86400
    for chains in data["districts"].values():
        for chain in chains.values():
            chain["repeat_last_every_s"] = 86400
    path = Path(tempfile.mkdtemp(prefix="dispatch-bench-")) / "policy.json"
    path.write_text(json.dumps(data))
    return path


def seed_contacts(database_url: str) -> int:
    """A contact (fake number) for every post of every demo unit, as `serve --demo` adds."""
    from dispatch.config import Settings
    from dispatch.db import Database
    from dispatch.escalation.models import Contact, Post
    from geo import JurisdictionIndex

    index = JurisdictionIndex.from_geojson(Settings().jurisdictions_path)
    stations = list(index.stations.values())
    wanted: list[tuple[Post, str | None]] = [(Post.sho, s.id) for s in stations]
    wanted += [(Post.circle_officer, c) for c in {s.circle for s in stations if s.circle}]
    wanted += [(Post.district_control, d) for d in {s.district for s in stations}]
    wanted += [(Post.range_office, r) for r in {s.range for s in stations if s.range}]
    wanted.append((Post.state_cell, None))
    database = Database(database_url)
    database.create_all()
    now = datetime.now(UTC)
    with database.session() as session:
        for n, (post, unit) in enumerate(wanted):
            session.add(
                Contact(
                    name=f"{post.value} {unit}",
                    post=post.value,
                    unit=unit,
                    phone=f"+9199999{n:05d}",
                    language="hi",
                    created_at=now,
                )
            )
        session.commit()
    database.dispose()
    return len(wanted)


@contextmanager
def serve(database_url: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`dispatch serve` in a subprocess; yields its base URL and process."""
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "dispatch.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env={
            **os.environ,
            "DISPATCH_DATABASE_URL": database_url,
            "DISPATCH_ENV": "development",
            **env,
        },
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
        yield base, proc
    finally:
        stop_process(proc, timeout_s=30)


def memory_mb(pid: int) -> dict[str, float]:
    """Current and peak resident memory of a process (Linux /proc)."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


class Db:
    """Read-only queries on the benchmark database."""

    def __init__(self, url: str) -> None:
        from dispatch.db import normalise_url

        self.engine = sa.create_engine(normalise_url(url))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def escalations(self) -> list[tuple[int, datetime, dict[str, Any]]]:
        """(alert id, at, data) of every level fired, in order."""
        sql = (
            "SELECT alert_id, at, data FROM alert_event WHERE type IN "
            "('alert.escalation_started', 'alert.escalated') ORDER BY id"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(sql)).all()
        return [(int(r[0]), _aware(r[1]), _json(r[2])) for r in rows]

    def received(self) -> dict[int, datetime]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, received_at FROM alert")).all()
        return {int(r[0]): _aware(r[1]) for r in rows}

    def dispose(self) -> None:
        self.engine.dispose()


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json(value: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return data


def post_alerts(
    base: str, key: str, secret: str, count: int, clients: int, rate: float | None, first: int = 0
) -> float:
    """Post count alerts from `clients` threads, at most `rate` a second; returns the seconds."""
    local = threading.local()
    begin = time.monotonic()

    def send(i: int) -> None:
        if rate:
            wait = begin + (i - first) / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, timeout=120)
        raw = body(i)
        sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        r = client.post(
            "/api/v1/alerts",
            content=raw,
            headers={"X-Api-Key": key, "X-Signature": sig, "Content-Type": "application/json"},
        )
        if r.status_code != 201:
            raise RuntimeError(f"intake answered {r.status_code}: {r.text}")

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(first, first + count)))
    return time.monotonic() - started


def lateness(
    fired: list[tuple[int, datetime, dict[str, Any]]], since: datetime, until: datetime
) -> list[float]:
    """Seconds each timer step (level >= 1) fired after its deadline; unfired ones until now."""
    late: list[float] = []
    pending: dict[int, datetime] = {}
    for alert_id, at, data in fired:
        due = pending.pop(alert_id, None)
        if due is not None and since <= due <= until:
            late.append((at - due).total_seconds())
        if data.get("next_level_at"):
            pending[alert_id] = datetime.fromisoformat(data["next_level_at"])
    late += [(until - due).total_seconds() for due in pending.values() if since <= due <= until]
    return late


def figures(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 50), 3),
        "p99_s": round(percentile(values, 99), 3),
        "max_s": round(max(values), 3) if values else float("nan"),
    }


def wait_until(db: Db, sql: str, target: int, timeout_s: float, **params: Any) -> int:
    """Poll a count until it reaches target (or the timeout); the last count."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = int(db.scalar(sql, **params))
        if value >= target or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def run(
    database_url: str,
    count: int,
    rate: float,
    restart_count: int,
    drill_speed: float,
    clients: int,
) -> dict[str, Any]:
    """Both phases on one database; returns the figures."""
    contacts = seed_contacts(database_url)
    key, secret = make_partner(database_url)
    env = {
        "DISPATCH_DRILL_SPEED": str(drill_speed),
        "DISPATCH_ESCALATION_POLICY_PATH": str(bench_policy()),
    }
    db = Db(database_url)
    chain_s = LEVEL_DUE_S[-1] / drill_speed
    with serve(database_url, env) as (base, proc):
        idle = memory_mb(proc.pid)
        started = datetime.now(UTC)
        intake_s = post_alerts(base, key, secret, count, clients, rate)
        # Every alert climbs to level 3 (then nothing is due for a day): wait for the last.
        wait_until(
            db, "SELECT count(*) FROM alert WHERE escalation_level >= 3", count, chain_s + 120
        )
        until = datetime.now(UTC)
        pending = int(db.scalar("SELECT count(*) FROM alert WHERE escalation_due_at IS NOT NULL"))
        busy = memory_mb(proc.pid)
    fired = db.escalations()
    received = db.received()
    level0 = [(at - received[a]).total_seconds() for a, at, d in fired if d.get("level") == 0]
    live = figures(lateness(fired, started, until))
    window = (until - started).total_seconds()
    steps_per_s = round(len([f for f in fired if f[1] <= until]) / window, 1)

    # Restart: a burst of alerts at a slower drill speed (level 1 after 18 s, time enough to
    # post them all and stop), level 0 out, the service stops until every level 1 is overdue.
    env = {**env, "DISPATCH_DRILL_SPEED": str(min(drill_speed, 10.0))}
    with serve(database_url, env) as (base, proc):
        post_alerts(base, key, secret, restart_count, clients, None, first=count)
        wait_until(
            db,
            "SELECT count(*) FROM alert_event WHERE type = 'alert.escalation_started'",
            count + restart_count,
            120,
        )
    latest = db.scalar("SELECT max(escalation_due_at) FROM alert WHERE escalation_level = 0")
    if latest is not None:
        time.sleep(max(0.0, (_aware(latest) - datetime.now(UTC)).total_seconds()) + 0.5)
    # The burst's alerts (level 0 fired, level 1 now overdue); the others wait a day.
    overdue = int(db.scalar("SELECT count(*) FROM alert WHERE escalation_level = 0"))
    before = len(db.escalations())
    spawn = datetime.now(UTC)
    with serve(database_url, env) as (base, proc):
        ready_s = (datetime.now(UTC) - spawn).total_seconds()
        wait_until(
            db,
            "SELECT count(*) FROM alert WHERE escalation_level = 1",
            overdue,
            300,
        )
        restart_memory = memory_mb(proc.pid)
    first: dict[int, datetime] = {}
    for alert_id, at, data in db.escalations()[before:]:
        if data.get("level") == 1:
            first.setdefault(alert_id, at)
    restart = figures([(at - spawn).total_seconds() for at in first.values()])
    db.dispose()
    return {
        "alerts": count,
        "rate_per_s": rate,
        "contacts": contacts,
        "drill_speed": drill_speed,
        "intake_s": round(intake_s, 2),
        "steps_per_s": steps_per_s,
        "pending_after": pending,
        "level0_after_intake": figures(level0),
        "lateness": live,
        "memory_mb": {"idle": idle, "busy": busy, "after_restart": restart_memory},
        "restart": {
            "overdue": overdue,
            "fired": len(first),
            "ready_s": round(ready_s, 2),
            "fire_after_start": restart,
        },
    }


def _db_time(database_url: str, value: datetime) -> datetime:
    # SQLite stores naive UTC (dispatch.db.UTCDateTime); PostgreSQL compares aware values.
    return value.replace(tzinfo=None) if database_url.startswith("sqlite") else value


def main() -> None:
    """Run on SQLite and, if given, PostgreSQL; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="alerts in the live phase")
    parser.add_argument("--rate", type=float, default=10.0, help="alerts posted a second")
    parser.add_argument(
        "--restart-count", type=int, default=200, help="alerts whose step is overdue at restart"
    )
    parser.add_argument("--drill-speed", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=4, help="threads posting alerts")
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if not args.skip_sqlite:
        results["sqlite"] = run(
            sqlite_url(), args.count, args.rate, args.restart_count, args.drill_speed, args.clients
        )
    if args.postgres:
        reset_postgres(args.postgres)
        results["postgres"] = run(
            args.postgres,
            args.count,
            args.rate,
            args.restart_count,
            args.drill_speed,
            args.clients,
        )
    rows = []
    for name, r in results.items():
        late, first = r["lateness"], r["restart"]["fire_after_start"]
        rows.append(
            [
                name,
                f"{r['alerts']} at {r['rate_per_s']:g}/s",
                r["steps_per_s"],
                r["pending_after"],
                late["n"],
                late["p50_s"],
                late["p99_s"],
                late["max_s"],
                r["level0_after_intake"]["p99_s"],
                f"{r['memory_mb']['idle']['VmRSS']} / {r['memory_mb']['busy']['VmHWM']}",
                f"{first['n']}/{r['restart']['overdue']}",
                r["restart"]["ready_s"],
                first["p50_s"],
                first["p99_s"],
                first["max_s"],
            ]
        )
    header = [
        "backend",
        "alerts",
        "steps/s",
        "pending",
        "timer steps",
        "late p50 s",
        "late p99 s",
        "late max s",
        "level 0 p99 s",
        "RSS idle / peak MB",
        "restart fired/overdue",
        "ready s",
        "fired p50 s",
        "fired p99 s",
        "fired max s",
    ]
    print(
        f"drill speed {args.drill_speed:g}; lateness = fired minus due; "
        "restart figures from process start"
    )
    print(markdown_table(header, rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
