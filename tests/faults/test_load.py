"""Sustained load against a real `dispatch serve` on PostgreSQL: consoles over many stations,
alerts at a steady rate. No event is lost or duplicated and memory stays flat.

CI runs a bounded size (defaults below); the full size of the issue is the same test with
DISPATCH_LOAD_RATE=100 DISPATCH_LOAD_SECONDS=300 DISPATCH_LOAD_CONSOLES=500.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts import bench_live
from tests.conftest import POSTGRES_URL, _postgres_database, reset_postgres
from tests.faults.support import free_port, rss_mb, service

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DISPATCH_TEST_POSTGRES_URL"),
]
RATE = float(os.environ.get("DISPATCH_LOAD_RATE", "20"))
SECONDS = float(os.environ.get("DISPATCH_LOAD_SECONDS", "20"))
CONSOLES = int(os.environ.get("DISPATCH_LOAD_CONSOLES", "100"))
STATIONS = 20


def test_steady_load_loses_nothing_and_memory_stays_flat() -> None:
    database = _postgres_database()
    reset_postgres(database)
    points = bench_live.station_points(STATIONS)
    creds = bench_live.make_partner(database.url)
    tokens = bench_live.make_tokens(database.url, [s for s, _, _ in points])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DISPATCH_SECRET_KEY": bench_live.SECRET, "DISPATCH_PARTNER_RATE_PER_SECOND": "10000"}
    with service(database.url, port, extra_env=env, demo=True) as proc:

        def phase(seconds: float) -> dict[str, object]:
            load = bench_live.load(
                [base],
                creds,
                points,
                tokens,
                consoles_per_station=CONSOLES // STATIONS,
                rate=RATE,
                seconds=seconds,
            )
            # Its own thread: a browser test's Playwright loop may be running in this one.
            with ThreadPoolExecutor(1) as pool:
                run = pool.submit(asyncio.run, load).result()
            return bench_live.summarise(run)

        warm = phase(SECONDS / 3)  # pools, caches and the interpreter settle
        before = rss_mb(proc.pid)
        steady = phase(SECONDS)
        after = rss_mb(proc.pid)

    for summary in (warm, steady):
        assert summary["errors"] == 0, summary
        assert summary["missing"] == 0, summary
        assert summary["duplicates"] == 0, summary
    assert steady["alerts"] == int(RATE * SECONDS)
    # Flat: growth under load is bounded, not proportional to the alerts handled.
    assert after - before < 40, f"RSS grew from {before:.0f} to {after:.0f} MiB"
