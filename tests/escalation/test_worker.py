"""`dispatch escalation worker`: escalation in its own process beside `dispatch serve`
processes that run none (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dispatch.auth import service as auth_service
from dispatch.cli import app as cli_app
from dispatch.clock import SystemClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.main import create_app
from tests.conftest import POSTGRES_URL
from tests.escalation.support import events_of, new_alert

REPO = Path(__file__).resolve().parents[2]


def test_the_worker_refuses_sqlite_with_a_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["escalation", "worker"],
        env={"DISPATCH_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"},
    )
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output


@pytest.fixture
def worker_database() -> Iterator[Database]:
    """A PostgreSQL database of its own: the worker process migrates and uses it."""
    if not POSTGRES_URL:
        pytest.skip("needs DISPATCH_TEST_POSTGRES_URL")
    url = sa.engine.make_url(POSTGRES_URL)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS dispatch_worker_test WITH (FORCE)"))
        conn.execute(sa.text("CREATE DATABASE dispatch_worker_test"))
    database = Database(url.set(database="dispatch_worker_test").render_as_string(False))
    database.ensure_schema()
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS dispatch_worker_test WITH (FORCE)"))
        admin.dispose()


def test_a_worker_process_escalates_what_a_serving_process_took_in(
    worker_database: Database,
) -> None:
    env = {**os.environ, "DISPATCH_DATABASE_URL": worker_database.url, "DISPATCH_ENV": "test"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "dispatch.cli", "escalation", "worker"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(
        target=lambda: output.extend(iter(worker.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        settings = Settings(env="test", database_url=worker_database.url, scheduler_enabled=False)
        serving = create_app(settings, database=worker_database, create_tables=False)
        with worker_database.session() as session:
            partner = auth_service.create_partner(
                session=session, name="meta", now=SystemClock().now()
            )
            session.commit()
        with TestClient(serving) as client:
            deadline = time.monotonic() + 30
            while not any("escalation worker running" in line for line in output):
                assert worker.poll() is None, "".join(output)
                assert time.monotonic() < deadline, "".join(output)
                time.sleep(0.05)
            time.sleep(1.0)  # past its start-up sweep: only a NOTIFY can wake it now
            alert_id = new_alert(client, partner)
            deadline = time.monotonic() + 10
            while not events_of(worker_database, alert_id, "alert.escalation_started"):
                assert worker.poll() is None, "".join(output)
                assert time.monotonic() < deadline, "".join(output)
                time.sleep(0.05)
        # Paged within moments of the intake commit (its NOTIFY woke the worker), not at the
        # next periodic sweep (15 s).
        (started,) = events_of(worker_database, alert_id, "alert.escalation_started")
        (created,) = events_of(worker_database, alert_id, "alert.created")
        assert (started.at - created.at).total_seconds() < 2.0
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
