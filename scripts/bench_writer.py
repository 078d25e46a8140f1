"""The intake writer's group transaction alone: CPU per alert and statements per group.

The live benchmark (bench_live.py) measures the whole path with 500 consoles and takes a
minute a run; this one runs the app in-process (its lifespan: the escalation engine, the
hub, the after-commit senders), prepares signed-alert payloads over 50 demo stations as the
intake route does, and stores them through the writer's own transaction code
(`IntakeWriter._transaction`, with the first escalation step) in groups of a fixed size, in
this thread. It reports, per group size:

- the writer's CPU milliseconds per alert (this thread's CPU time: what the group
  transaction costs the process, the figure to compare two versions of the write path by);
- wall milliseconds per transaction (round trips included, nothing else competing);
- the SQL statements one group sends (BEGIN and COMMIT not counted).

`--profile FILE` writes a cProfile of the measured groups (CPU time, not wall time).

Usage:
  .venv/bin/python scripts/bench_writer.py [--postgres URL] [--groups 1 3 8] [--alerts 600]
      [--profile out.prof] [--json out.json]
Without --postgres it uses a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.bench_live import alert_body, station_points
from scripts.benchutil import calibrate, make_partner, markdown_table, reset_postgres


def run(database_url: str, groups: list[int], alerts: int, profile: Path | None) -> list[dict]:
    os.environ["DISPATCH_DATABASE_URL"] = database_url
    os.environ["DISPATCH_ENV"] = "development"
    import sqlalchemy as sa
    from sqlmodel import select

    from dispatch.alerts import service as alerts_service
    from dispatch.alerts.models import AlertIn
    from dispatch.alerts.writer import _Job
    from dispatch.auth.models import Partner
    from dispatch.clock import SystemClock
    from dispatch.config import get_settings
    from dispatch.db import Database
    from dispatch.demo import seed
    from dispatch.main import RUNTIMES, create_app

    get_settings.cache_clear()
    settings = get_settings().model_copy(update={"demo": True})
    database = Database(settings.database_url)
    database.ensure_schema()
    app = create_app(settings, database=database, create_tables=False)
    clock = SystemClock()
    with database.session() as session:
        seed(session, app, clock.now())
        for runtime in RUNTIMES:
            runtime.seed_demo(session, app)
        session.commit()
    make_partner(database_url)
    with database.session() as session:
        partner = session.exec(select(Partner)).first()
        assert partner is not None and partner.id is not None
        partner_id = partner.id
    points = station_points(50)
    writer_thread = threading.get_ident()
    statements: list[str] = []

    def record(statement: object) -> None:
        text = str(statement)
        if threading.get_ident() == writer_thread and text.strip() != "COMMIT":
            statements.append(text)

    if database.is_sqlite:

        @sa.event.listens_for(database.engine, "before_cursor_execute")
        def count(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
            record(statement)

    else:
        # psycopg's own cursor: SQLAlchemy's statements and those the commit sends on the
        # DB-API cursor itself (events.py, pipelined) alike.
        import psycopg

        def counting(method: Any) -> Any:
            def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                record(query)
                return method(self, query, *args, **kwargs)

            return counted

        psycopg.Cursor.execute = counting(psycopg.Cursor.execute)  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counting(psycopg.Cursor.executemany)  # type: ignore[method-assign]

    async def main() -> list[dict]:
        results: list[dict] = []
        async with app.router.lifespan_context(app):
            writer = app.state.intake_writer
            loop = asyncio.get_running_loop()
            seq = 0

            def job() -> _Job:
                nonlocal seq
                seq += 1
                _, lat, lon = random.choice(points)
                body = alert_body(seq, lat, lon)
                prepared = alerts_service.prepare(
                    partner_id=partner_id,
                    payload=AlertIn.model_validate_json(body),
                    raw_body=body,
                    received_at=clock.now(),
                    resolver=app.state.resolver,
                    vault=app.state.vault,
                    actor="partner:bench",
                )
                return _Job(prepared, loop.create_future(), loop)

            for size in groups:
                for _ in range(20):  # warm up: statement caches, prepared statements
                    writer._transaction([job() for _ in range(size)], writer.first_step)
                statements.clear()
                writer._transaction([job() for _ in range(size)], writer.first_step)
                per_group = list(statements)  # psycopg sends BEGIN and COMMIT itself
                batches = [[job() for _ in range(size)] for _ in range(max(1, alerts // size))]
                profiler = cProfile.Profile(time.thread_time) if profile else None
                cpu0, wall0 = time.thread_time(), time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                for batch in batches:
                    writer._transaction(batch, writer.first_step)
                if profiler is not None:
                    profiler.disable()
                    assert profile is not None
                    profiler.dump_stats(str(profile.with_suffix(f".g{size}{profile.suffix}")))
                cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
                stored = len(batches) * size
                results.append(
                    {
                        "group": size,
                        "alerts": stored,
                        "writer_cpu_ms_per_alert": round(1000 * cpu / stored, 3),
                        "wall_ms_per_transaction": round(1000 * wall / len(batches), 2),
                        "statements_per_group": len(per_group),
                        "statements": [" ".join(s.split())[:70] for s in per_group],
                    }
                )
                await asyncio.sleep(1)  # let the after-commit sends finish
        return results

    try:
        return asyncio.run(main())
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 3, 8])
    parser.add_argument("--alerts", type=int, default=600, help="alerts per group size")
    parser.add_argument("--profile", type=Path, help="write a cProfile (CPU time) per size")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.postgres:
        reset_postgres(args.postgres)
        url = args.postgres
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-writer-')) / 'bench.db'}"
    calibration = calibrate()
    results = run(url, args.groups, args.alerts, args.profile)
    backend = "postgres" if args.postgres else "sqlite"
    print(f"calibration {calibration:.1f} ms (lower is faster)")
    print(
        markdown_table(
            [
                "backend",
                "group",
                "alerts",
                "writer CPU ms/alert",
                "wall ms/transaction",
                "statements/group",
            ],
            [
                [
                    backend,
                    r["group"],
                    r["alerts"],
                    r["writer_cpu_ms_per_alert"],
                    r["wall_ms_per_transaction"],
                    r["statements_per_group"],
                ]
                for r in results
            ],
        )
    )
    last = results[-1]
    print(f"\nthe {last['statements_per_group']} statements of a group of {last['group']}:")
    for statement in last["statements"]:
        print(f"  {statement}")
    if args.json:
        args.json.write_text(
            json.dumps({"calibration_ms": calibration, "backend": backend, "runs": results})
        )


if __name__ == "__main__":
    main()
