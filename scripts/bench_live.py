"""Console delivery latency, and maximum sustained intake throughput, against real servers.

Delivery: 500 consoles (WebSocket, 10 per station) over 50 stations; signed alerts posted at a
steady rate (default 100/s for 30 s) spread over those stations. Latency is measured per
console receipt: the time the console received `alert.created` minus the time the intake
request was sent. With `--processes 2` (PostgreSQL) two `dispatch serve` processes share the
database, consoles are split between them and alerts are posted to both.

Each run also reports where the CPU went while the alerts were posted and delivered: the
servers', this load generator's and PostgreSQL's CPU milliseconds per alert (/proc), and the
machine's busy share. The server's CPU per alert varies far less from run to run than the
latencies on this machine, so it is the figure to compare two versions of the hot path by.

Throughput (`--throughput`): the offered rate is raised step by step; a step is sustained when
every alert got its 201, every one reached its consoles and the intake p99 stayed under
100 ms. The highest sustained rate is reported.

The measured seconds follow a warm-up at the same rate (`--warmup`, 3 s): a process's
first alerts also pay for one-time work (statements prepared on each database connection,
caches filled), which its steady state does not. The warm-up's alerts are delivered and
checked for loss and duplicates like the rest; their p99 is printed apart. This generator
does not collect garbage while it measures: its own pauses would be timed as delivery.

Usage:
  .venv/bin/python scripts/bench_live.py [--consoles 500] [--stations 50] [--rate 100]
      [--seconds 30] [--warmup 3] [--postgres URL] [--processes 1|2] [--throughput]
      [--json out.json]
      [--rates 400 400 400]   (these throughput steps, all run, on the same servers)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import hmac
import json
import os
import random
import sys
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.benchutil import (
    SERVER_PIDS,
    AsyncHttpClient,
    HttpProtocolError,
    cpu_seconds,
    escalation_worker,
    make_partner,
    markdown_table,
    percentile,
    postgres_cpu_seconds,
    reset_postgres,
    server,
    sqlite_url,
    thread_cpu_seconds,
)

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"  # noqa: S105 - bench only
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """What one load step measured."""

    sent: dict[int, float] = field(default_factory=dict)  # alert id -> send time
    intake_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    receipts: list[tuple[int, float]] = field(default_factory=list)  # (alert id, received)
    warmup: set[int] = field(default_factory=set)  # alerts posted before the measured ones
    expected_per_alert: int = 0
    # CPU seconds used while the alerts were posted and delivered, and the machine's share busy
    cpu: dict[str, float] = field(default_factory=dict)
    # The servers' CPU seconds in that time by kind of thread (benchutil.thread_cpu_seconds)
    threads: dict[str, float] = field(default_factory=dict)


def cpu_snapshot(bases: list[str]) -> dict[str, float]:
    """CPU seconds used so far by the servers, this load generator and PostgreSQL, and the
    machine's busy and total jiffies (/proc/stat), to tell where the time of a run went."""
    busy, total = machine_jiffies()
    return {
        "server": sum(cpu_seconds(SERVER_PIDS[b]) for b in bases if b in SERVER_PIDS),
        "load generator": sum(os.times()[:2]),
        "postgres": postgres_cpu_seconds(),
        "busy": busy,
        "total": total,
    }


def servers_threads(bases: list[str]) -> dict[str, float]:
    """The servers' CPU seconds so far by kind of thread, all servers together."""
    out: dict[str, float] = defaultdict(float)
    for base in bases:
        if base in SERVER_PIDS:
            for name, seconds in thread_cpu_seconds(SERVER_PIDS[base]).items():
                out[name] += seconds
    return dict(out)


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot; idle and iowait count as not busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


def station_points(count: int) -> list[tuple[str, float, float]]:
    """`count` demo stations with a point well inside each."""
    import geo

    index = geo.JurisdictionIndex.from_geojson(REPO / "data" / "jurisdictions.geojson")
    out: list[tuple[str, float, float]] = []
    for station_id in sorted(index.stations):
        point = index.geometry(station_id).representative_point()
        if index.resolve(point.y, point.x).station is None:
            continue
        if index.resolve(point.y, point.x).station.id != station_id:  # type: ignore[union-attr]
            continue
        out.append((station_id, point.y, point.x))
        if len(out) == count:
            break
    if len(out) < count:
        raise SystemExit(f"only {len(out)} usable stations in the demo data")
    return out


def make_tokens(database_url: str, stations: list[str]) -> dict[str, str]:
    """One station user per station (created directly) and a bearer token for each."""
    from sqlmodel import select

    from dispatch.auth import service as auth_service
    from dispatch.auth.models import Role, User
    from dispatch.clock import SystemClock
    from dispatch.config import Settings
    from dispatch.db import Database

    settings = Settings(database_url=database_url, secret_key=SECRET, env="development")
    database = Database(database_url)
    database.ensure_schema()
    password = auth_service.hash_password("bench-password-1")
    now = SystemClock().now()
    tokens: dict[str, str] = {}
    with database.session() as session:
        for station in stations:
            username = f"bench_{station.lower()}"
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                user = User(
                    username=username,
                    full_name=username,
                    password_hash=password,
                    role=Role.station.value,
                    unit=station,
                    created_at=now,
                )
                session.add(user)
                session.flush()
            tokens[station], _ = auth_service.issue_token(user=user, settings=settings, now=now)
        session.commit()
    database.dispose()
    return tokens


def alert_body(seq: int, lat: float, lon: float) -> bytes:
    """A realistic partner alert at a point."""
    return json.dumps(
        {
            "external_id": f"live-{seq}-{random.random()}",
            "category": "suicide_risk",
            "detected_at": datetime.now(UTC).isoformat(),
            "subject": {"name": "Bench Person", "handle": f"@b{seq}", "phones": []},
            "content": {"platform": "instagram", "kind": "story", "text": "farewell"},
            "location": {"lat": lat, "lon": lon, "accuracy_m": 30, "source": "gps"},
        }
    ).encode()


def run_loop(main: Any) -> Any:
    """Run the load on uvloop when it is installed (uvicorn[standard] brings it): the
    consoles and the load generator share the server's two cores, and the less the
    generator costs, the less it adds to the latencies it measures."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def console(url: str, run: Run, stop: asyncio.Event, ready: asyncio.Event) -> None:
    """One console: record the receipt time of every alert.created, alone in its frame or
    inside a batch frame (`batch=1`).

    It waits on the socket alone (a timeout per receive would cost the load generator a
    timer per frame, on the same cores as the server) and is closed when `stop` is set.
    """
    async with websockets.connect(url, max_queue=None, open_timeout=30) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        ready.set()
        closer = asyncio.create_task(_close_on(stop, ws))
        try:
            async for raw in ws:
                now = time.perf_counter()
                if raw == '{"type":"ping"}':
                    await ws.send('{"type":"pong"}')
                    continue
                if '"alert.created"' not in raw:
                    continue  # later steps of known alerts: nothing to time, nothing to decode
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "alert.created":
                    run.receipts.append((int(message["alert_id"]), now))
                elif kind == "batch":
                    run.receipts.extend(
                        (int(event["alert_id"]), now)
                        for event in message["events"]
                        if event.get("type") == "alert.created"
                    )
        finally:
            closer.cancel()


async def _close_on(stop: asyncio.Event, ws: Any) -> None:
    await stop.wait()
    await ws.close()


async def load(
    bases: list[str],
    creds: tuple[str, str],
    stations: list[tuple[str, float, float]],
    tokens: dict[str, str],
    *,
    consoles_per_station: int,
    rate: float,
    seconds: float,
    warmup: float = 0.0,
) -> Run:
    """Connect the consoles, post alerts at `rate` for `warmup` seconds (delivered and
    checked, but not in the figures), then for `seconds`; collect every receipt."""
    run = Run(expected_per_alert=consoles_per_station)
    stop = asyncio.Event()
    tasks = []
    readies = []
    for i, (station, _, _) in enumerate(stations):
        for j in range(consoles_per_station):
            base = bases[(i * consoles_per_station + j) % len(bases)]
            url = base.replace("http://", "ws://") + f"/ws?token={tokens[station]}&batch=1"
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(console(url, run, stop, ready)))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
    # No garbage collection in this load generator while it measures: its full collections
    # paused it for up to 178 ms (gen 2 over 500 consoles' objects; young ones up to 24 ms),
    # which the receipts it was processing then counted as the servers' delivery time.
    # Reference counting still frees nearly everything; the servers collect as configured.
    gc.collect()
    gc.disable()
    try:
        await _post_all(run, bases, creds, stations, rate=rate, seconds=seconds, warmup=warmup)
    finally:
        gc.enable()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return run


async def _post_all(
    run: Run,
    bases: list[str],
    creds: tuple[str, str],
    stations: list[tuple[str, float, float]],
    *,
    rate: float,
    seconds: float,
    warmup: float,
) -> None:
    """Post the alerts at `rate` and wait for their receipts (up to 10 s after the last);
    records the CPU the servers, this generator and PostgreSQL used meanwhile."""
    consoles_per_station = run.expected_per_alert
    key, secret = creds
    # At most 200 connections in all, split between the servers (the limit httpx had here).
    clients = [AsyncHttpClient(base, max_connections=200 // len(bases)) for base in bases]
    async with contextlib.AsyncExitStack() as exits:
        for client in clients:
            await exits.enter_async_context(client)

        async def post(seq: int) -> None:
            _, lat, lon = stations[seq % len(stations)]
            raw = alert_body(seq, lat, lon)
            sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            try:
                status, answer = await clients[seq % len(bases)].post(
                    "/api/v1/alerts",
                    raw,
                    {"Content-Type": "application/json", "X-Api-Key": key, "X-Signature": sig},
                )
            except (OSError, TimeoutError, HttpProtocolError) as exc:
                run.errors += 1
                run.error_kinds[type(exc).__name__] += 1
                return
            if seq >= warm:
                run.intake_ms.append((time.perf_counter() - started) * 1000)
            if status != 201:
                run.errors += 1
                run.error_kinds[f"HTTP {status}"] += 1
                return
            alert_id = int(json.loads(answer)["id"])
            run.sent[alert_id] = started
            if seq < warm:
                run.warmup.add(alert_id)

        posts = []
        warm = int(rate * warmup)
        before = cpu_snapshot(bases)
        threads_before = servers_threads(bases)
        total = warm + int(rate * seconds)
        t0 = time.perf_counter()
        for seq in range(total):
            delay = t0 + seq / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if seq == warm and warm:
                before = cpu_snapshot(bases)  # the CPU figures cover the measured alerts
                threads_before = servers_threads(bases)
            posts.append(asyncio.create_task(post(seq)))
        await asyncio.gather(*posts)
    deadline = time.perf_counter() + 10
    expected = len(run.sent) * consoles_per_station
    while len(run.receipts) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    after = cpu_snapshot(bases)
    run.cpu = {name: after[name] - before[name] for name in after}
    threads_after = servers_threads(bases)
    run.threads = {
        name: spent - threads_before.get(name, 0.0) for name, spent in threads_after.items()
    }


def summarise(run: Run) -> dict[str, Any]:
    """Delivery latency per receipt, intake latency per request, losses and duplicates."""
    latencies = [
        (received - run.sent[alert_id]) * 1000
        for alert_id, received in run.receipts
        if alert_id in run.sent and alert_id not in run.warmup
    ]
    warming = [
        (received - run.sent[alert_id]) * 1000
        for alert_id, received in run.receipts
        if alert_id in run.warmup
    ]
    per_alert: dict[int, int] = defaultdict(int)
    for alert_id, _ in run.receipts:
        per_alert[alert_id] += 1
    missing = sum(max(0, run.expected_per_alert - per_alert.get(a, 0)) for a in run.sent)
    duplicates = sum(max(0, n - run.expected_per_alert) for n in per_alert.values())
    alerts = max(1, len(run.sent) - len(run.warmup))
    cpu = run.cpu
    # Delivery p99 by second of the run (by send time): a steady tail, or a few stalls?
    by_second: dict[int, list[float]] = defaultdict(list)
    start = min((t for a, t in run.sent.items() if a not in run.warmup), default=0.0)
    for alert_id, received in run.receipts:
        sent = run.sent.get(alert_id)
        if sent is not None and alert_id not in run.warmup:
            by_second[int(sent - start)].append((received - sent) * 1000)
    return {
        "warmup_alerts": len(run.warmup),
        "warmup_delivery_p99_ms": round(percentile(warming, 99), 1) if warming else None,
        "delivery_p99_ms_by_second": [
            round(percentile(by_second[second], 99), 1) for second in sorted(by_second)
        ],
        "alerts": len(run.sent) - len(run.warmup),
        # CPU ms per alert accepted, while posting and delivering (all servers together)
        "server_cpu_ms": round(cpu.get("server", 0.0) * 1000 / alerts, 2),
        "server_cpu_ms_by_thread": {
            name: round(seconds * 1000 / alerts, 2)
            for name, seconds in sorted(run.threads.items(), key=lambda kv: -kv[1])
            if seconds > 0
        },
        "load_generator_cpu_ms": round(cpu.get("load generator", 0.0) * 1000 / alerts, 2),
        "postgres_cpu_ms": round(cpu.get("postgres", 0.0) * 1000 / alerts, 2),
        "machine_busy_pct": round(100 * cpu["busy"] / cpu["total"], 1) if cpu.get("total") else 0.0,
        "errors": run.errors,
        "error_kinds": dict(run.error_kinds),
        "receipts": len(run.receipts),
        "missing": missing,
        "duplicates": duplicates,
        "delivery_p50_ms": round(percentile(latencies, 50), 1),
        "delivery_p99_ms": round(percentile(latencies, 99), 1),
        "intake_p50_ms": round(percentile(run.intake_ms, 50), 1),
        "intake_p99_ms": round(percentile(run.intake_ms, 99), 1),
    }


def servers(
    database_url: str, processes: int, stack: ExitStack, *, worker: bool = False
) -> list[str]:
    """Start `processes` servers on one database; the first creates the schema. With
    `worker`, escalation runs in `dispatch escalation worker` instead (PostgreSQL)."""
    env = {
        "DISPATCH_SECRET_KEY": SECRET,
        "DISPATCH_LOG_LEVEL": "warning",
        "DISPATCH_PARTNER_RATE_PER_SECOND": "100000",
    }
    if worker:
        env["DISPATCH_SCHEDULER_ENABLED"] = "false"
        stack.enter_context(escalation_worker(database_url))
    return [stack.enter_context(server(database_url, extra_env=env)) for _ in range(processes)]


def measure(
    database_url: str,
    *,
    processes: int,
    stations: int,
    consoles: int,
    rate: float,
    seconds: float,
    throughput: bool,
    worker: bool = False,
    rates: tuple[int, ...] = (),
    warmup: float = 0.0,
) -> dict[str, Any]:
    """Set up a database, start servers, and run the delivery (and throughput) load."""
    points = station_points(stations)
    creds = make_partner(database_url)
    tokens = make_tokens(database_url, [s for s, _, _ in points])
    per_station = max(1, consoles // stations)
    with ExitStack() as stack:
        bases = servers(database_url, processes, stack, worker=worker)
        result = summarise(
            run_loop(
                load(
                    bases,
                    creds,
                    points,
                    tokens,
                    consoles_per_station=per_station,
                    rate=rate,
                    seconds=seconds,
                    warmup=warmup,
                )
            )
        )
        result.update(
            processes=processes, consoles=per_station * stations, rate=rate, warmup_s=warmup
        )
        if rates:
            result["max_sustained_per_s"] = sustained(
                bases, creds, points, tokens, rates, stop_at_failure=False
            )
        elif throughput:
            result["max_sustained_per_s"] = sustained(bases, creds, points, tokens)
    return result


STEPS = (25, 50, 75, 100, 150, 200, 300, 400, 500)


def sustained(
    bases: list[str],
    creds: tuple[str, str],
    points: list[tuple[str, float, float]],
    tokens: dict[str, str],
    rates: tuple[int, ...] = STEPS,
    *,
    stop_at_failure: bool = True,
) -> float:
    """The highest offered rate (alerts/s, 10 s steps) taken, committed and pushed in full.

    With `stop_at_failure` off (`--rates`), every rate given is run, in order, on the same
    servers: to see how often a rate holds, not only the first step that fails."""
    best = 0.0
    for rate in rates:
        summary = summarise(
            run_loop(
                load(
                    bases,
                    creds,
                    points[:10],
                    tokens,
                    consoles_per_station=1,
                    rate=rate,
                    seconds=10,
                )
            )
        )
        ok = (
            summary["errors"] == 0
            and summary["missing"] == 0
            and summary["intake_p99_ms"] < 100
            and summary["alerts"] == rate * 10
        )
        print(f"  throughput step {rate}/s: {summary} -> {'sustained' if ok else 'not'}")
        if not ok:
            if stop_at_failure:
                break
            continue
        best = max(best, float(rate))
    return best


def main() -> None:
    """Run on SQLite (one process) and, if given, PostgreSQL with 1 and/or 2 processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consoles", type=int, default=500)
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds of the same load before the measured ones (0: none); their alerts are "
        "delivered and checked for loss, and their p99 printed, but not in the table",
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--processes", type=int, choices=(1, 2), nargs="*", default=[1, 2])
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument(
        "--rates",
        type=int,
        nargs="+",
        default=(),
        help="throughput steps to run, each 10 s, all of them (no stop at the first failure)",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--worker",
        action="store_true",
        help="PostgreSQL: escalation in `dispatch escalation worker`, not in the servers",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    common = {
        "stations": args.stations,
        "consoles": args.consoles,
        "rate": args.rate,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "throughput": args.throughput,
        "rates": tuple(args.rates),
    }
    results: dict[str, dict[str, Any]] = {}
    if not args.skip_sqlite:
        results["sqlite, 1 process"] = measure(sqlite_url(), processes=1, **common)
    if args.postgres:
        for processes in args.processes:
            reset_postgres(args.postgres)
            name = f"postgres, {processes} process{'es' if processes > 1 else ''}"
            if args.worker:
                name += " + escalation worker"
            results[name] = measure(
                args.postgres, processes=processes, worker=args.worker, **common
            )
    header = [
        "console delivery",
        "consoles",
        "alerts/s",
        "alerts",
        "delivery p50 ms",
        "delivery p99 ms",
        "intake p99 ms",
        "refused or timed out",
        "accepted, not delivered within 10 s",
        "duplicated",
        "server CPU ms/alert",
        "machine busy %",
        "max sustained/s",
    ]
    rows = [
        [
            name,
            r["consoles"],
            r["rate"],
            r["alerts"],
            r["delivery_p50_ms"],
            r["delivery_p99_ms"],
            r["intake_p99_ms"],
            r["errors"],
            r["missing"],
            r["duplicates"],
            r["server_cpu_ms"],
            r["machine_busy_pct"],
            r.get("max_sustained_per_s", "-"),
        ]
        for name, r in results.items()
    ]
    print(markdown_table(header, rows))
    for name, r in results.items():
        by_thread = r.get("server_cpu_ms_by_thread") or {}
        if by_thread:
            parts = ", ".join(f"{thread} {ms}" for thread, ms in by_thread.items())
            print(f"server CPU ms/alert by thread, {name}: {parts}")
        seconds = r.get("delivery_p99_ms_by_second") or []
        if seconds:
            print(f"delivery p99 ms by second, {name}: {' '.join(str(v) for v in seconds)}")
        if r.get("warmup_alerts"):
            print(
                f"warm-up, {name}: {r['warmup_alerts']} alerts in {r['warmup_s']} s before "
                f"the measured ones, delivery p99 {r['warmup_delivery_p99_ms']} ms"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        main()
