"""Intake latency: 1,000 sequential signed alerts against a running server, p50/p99.

With PostgreSQL, first the same number of bare one-row commits with no service running: the
server's own commit latency on this machine, under everything the service does.

Usage: .venv/bin/python scripts/bench_intake.py [--count 1000] [--postgres URL] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.benchutil import (
    HttpClient,
    escalation_worker,
    make_partner,
    markdown_table,
    percentile,
    reset_postgres,
    server,
    sqlite_url,
)

# Points inside the demo districts (Etawah and the Varanasi range) plus a few unresolvable ones.
POINTS = [
    (26.886, 78.9128),
    (26.78, 79.02),
    (25.75, 82.69),
    (25.58, 83.58),
    (25.28, 83.12),
    (25.31, 83.01),
]


def body(i: int) -> bytes:
    """A realistic partner alert."""
    lat, lon = random.choice(POINTS)
    return json.dumps(
        {
            "external_id": f"bench-{i}-{random.random()}",
            "category": "suicide_risk",
            "detected_at": "2026-11-24T22:14:00+05:30",
            "subject": {
                "name": "Test Person",
                "handle": f"@p{i}",
                "phones": [f"+9198765{i % 100000:05d}"],
            },
            "content": {"platform": "instagram", "kind": "story", "text": "farewell"},
            "location": {
                "lat": lat + random.uniform(-0.01, 0.01),
                "lon": lon + random.uniform(-0.01, 0.01),
                "accuracy_m": 50,
                "source": "gps",
            },
        }
    ).encode()


def run(database_url: str, count: int, *, worker: bool = False) -> dict[str, float]:
    """Send `count` sequential alerts; return latency figures in ms.

    With `worker`, escalation runs in `dispatch escalation worker` beside a server that runs
    none (PostgreSQL).
    """
    key, secret = make_partner(database_url)
    with ExitStack() as stack:
        if worker:
            stack.enter_context(escalation_worker(database_url))
        env = {"DISPATCH_SCHEDULER_ENABLED": "false"} if worker else None
        base = stack.enter_context(server(database_url, extra_env=env))
        client = stack.enter_context(HttpClient(base, timeout=10))
        return _measure(client, key, secret, count)


def _measure(client: HttpClient, key: str, secret: str, count: int) -> dict[str, float]:
    """Warm up, then time `count` sequential signed alerts."""
    for i in range(50):  # warm-up: connection, caches
        raw = body(-i - 1)
        sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        client.post(
            "/api/v1/alerts",
            raw,
            {"Content-Type": "application/json", "X-Api-Key": key, "X-Signature": sig},
        )
    latencies = []
    for i in range(count):
        raw = body(i)
        sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        started = time.perf_counter()
        status, answer = client.post(
            "/api/v1/alerts",
            raw,
            {"Content-Type": "application/json", "X-Api-Key": key, "X-Signature": sig},
        )
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 201:
            raise RuntimeError(f"intake answered {status}: {answer.decode(errors='replace')}")
    return _figures(latencies)


def _figures(latencies: list[float]) -> dict[str, float]:
    """Count, p50, p99 and max of latencies in ms."""
    return {
        "count": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
    }


def bare_commits(url: str, count: int = 1000) -> dict[str, float]:
    """What PostgreSQL alone costs at the moment: `count` bare one-row commits, one about
    every 10 ms, with no service running (each waits for the server's WAL flush to disk)."""
    import psycopg

    from dispatch.live.listener import conninfo

    latencies = []
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute("CREATE TEMPORARY TABLE bench_commit (x integer)")
        conn.commit()
        for _ in range(count):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit VALUES (1)")
            conn.commit()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.008)
    return _figures(latencies)


def main() -> None:
    """Run on SQLite and, if given, PostgreSQL; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--worker", action="store_true", help="also PostgreSQL with escalation in a worker"
    )
    args = parser.parse_args()
    results = {"sqlite": run(sqlite_url(), args.count)}
    if args.postgres:
        reset_postgres(args.postgres)
        results["postgres, bare one-row commits (no service)"] = bare_commits(
            args.postgres, args.count
        )
        results["postgres"] = run(args.postgres, args.count)
        if args.worker:
            reset_postgres(args.postgres)
            results["postgres, escalation worker"] = run(args.postgres, args.count, worker=True)
    rows = [
        [name, r["count"], r["p50_ms"], r["p99_ms"], r["max_ms"]] for name, r in results.items()
    ]
    print(markdown_table(["intake (sequential)", "alerts", "p50 ms", "p99 ms", "max ms"], rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
