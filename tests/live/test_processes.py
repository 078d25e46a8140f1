"""Several service processes on one PostgreSQL: every console gets every event it may see."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from dispatch.auth.models import PartnerCredentials, Role
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.live.listener import APPLICATION_NAME
from dispatch.main import create_app
from tests.conftest import POSTGRES_URL, _postgres_database, reset_postgres
from tests.helpers import make_alert
from tests.live.support import Console, api, has_types, login, post_alert, running

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DISPATCH_TEST_POSTGRES_URL"),
]
REPO = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "dispatch.cli", "serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database() -> Database:
    """Only PostgreSQL here (overrides the parametrised fixture): emptied for each test."""
    db = _postgres_database()
    reset_postgres(db)
    return db


@pytest.fixture
def pg(database: Database) -> Database:
    """The PostgreSQL test database."""
    return database


@pytest.fixture
def two_servers(
    pg: Database, users: dict[str, tuple[Role, str | None]], partner: PartnerCredentials
) -> Iterator[list[str]]:
    """Two `dispatch serve` processes on the same database; the poll is slowed to 60 s so
    only the LISTEN/NOTIFY doorbell can deliver events promptly across processes."""
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": pg.url,
        "DISPATCH_ENV": "development",
        "DISPATCH_LIVE_POLL_S": "60",
        "DISPATCH_SCHEDULER_ENABLED": "false",
    }
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [*SERVE, "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 30
        for proc, base in zip(procs, bases, strict=True):
            while True:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                try:
                    if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()


def test_two_processes_deliver_every_event_to_every_console(
    two_servers: list[str], partner: PartnerCredentials
) -> None:
    one, two = two_servers
    ws_one, ws_two = (b.replace("http://", "ws://") for b in two_servers)
    sho = login(one, "sho_jsw")
    cell = login(two, "cell")
    with Console(ws_one, sho) as station, Console(ws_two, cell) as state_cell:
        started = time.monotonic()
        via_one = post_alert(one, partner, make_alert())
        via_two = post_alert(two, partner, make_alert())
        for console in (station, state_cell):
            got = console.events_until(
                lambda e: (
                    {(x["alert_id"], x["type"]) for x in e}
                    >= {(via_one, "alert.resolved"), (via_two, "alert.resolved")}
                )
            )
            assert [e["id"] for e in got] == sorted(e["id"] for e in got)
        # The station acknowledges through process one; the state cell on two sees it live.
        assert api(one, sho, "POST", f"/api/v1/alerts/{via_two}/ack").status_code == 200
        ack = state_cell.events_until(has_types("alert.acknowledged"))[-1]
        assert ack["alert"]["acknowledged_by"] == "user:sho_jsw"
        assert time.monotonic() - started < 5  # far below the 60 s poll: the doorbell rang


def test_hub_listens_again_after_losing_its_connection(
    pg: Database,
    clock: FrozenClock,
    users: dict[str, tuple[Role, str | None]],
    partner: PartnerCredentials,
) -> None:
    settings = Settings(
        env="test",
        database_url=pg.url,
        scheduler_enabled=False,
        live_poll_s=60,
        live_listen_retry_s=0.2,
    )
    other_process = Database(pg.url)  # commits here ring no in-process doorbell
    other_app = create_app(settings, clock=clock, database=other_process)
    with (
        running(create_app(settings, clock=clock, database=pg)) as server,
        running(other_app) as other,
        Console(server.ws, login(server.http, "cell")) as console,
    ):
        with pg.engine.begin() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": APPLICATION_NAME},
            ).scalar_one()
        assert killed >= 1
        time.sleep(0.5)
        alert_id = post_alert(other.http, partner, make_alert())
        got = console.events_until(has_types("alert.resolved", alert_id=alert_id), timeout=3)
        assert got[0]["alert_id"] == alert_id
    other_process.dispose()
