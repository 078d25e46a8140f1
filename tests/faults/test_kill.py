"""A service process is killed with SIGKILL in the middle of intake load.

Every alert that got a 201 must be in the database, reach a console after the restart (replay
from the timeline), and have each escalation level fired exactly once, neither lost nor doubled
by the crash and the sweep that follows the restart.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter

import httpx
import pytest
from sqlmodel import select
from websockets.sync.client import connect

from dispatch.alerts.models import Alert, AlertEvent
from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role
from dispatch.clock import SystemClock
from dispatch.config import Settings
from tests.conftest import POSTGRES_URL, _postgres_database, reset_postgres
from tests.faults.support import SECRET, free_port, service
from tests.helpers import encode, make_alert

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DISPATCH_TEST_POSTGRES_URL"),
]
LEVELS = {"alert.escalation_started", "alert.escalated"}


def post_until_stopped(
    base: str, creds: PartnerCredentials, accepted: list[int], stop: threading.Event
) -> None:
    """Post signed alerts back to back; remember the id of every 201."""
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            raw = encode(make_alert())
            headers = {
                "X-Api-Key": creds.api_key,
                "X-Signature": auth_service.sign_body(creds.secret, raw),
                "Content-Type": "application/json",
            }
            try:
                r = client.post(base + "/api/v1/alerts", content=raw, headers=headers)
            except httpx.HTTPError:
                continue  # the process is gone: the client would retry later
            if r.status_code == 201:
                accepted.append(int(r.json()["id"]))


def test_sigkill_under_load_loses_nothing_and_fires_each_step_once() -> None:
    database = _postgres_database()
    reset_postgres(database)
    settings = Settings(env="development", database_url=database.url, secret_key=SECRET)
    now = SystemClock().now()
    with database.session() as session:
        creds = auth_service.create_partner(session=session, name="meta", now=now)
        user = auth_service.create_user(
            session=session,
            username="cell",
            password="correct-horse-1",
            role=Role.operator,
            unit=None,
            now=now,
        )
        session.commit()
        token, _ = auth_service.issue_token(user=user, settings=settings, now=now)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    accepted: list[int] = []

    with service(database.url, port) as proc:
        stop = threading.Event()
        workers = [
            threading.Thread(target=post_until_stopped, args=(base, creds, accepted, stop))
            for _ in range(4)
        ]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 20
        while len(accepted) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=10)
        stop.set()
        for w in workers:
            w.join(timeout=10)
    assert len(accepted) >= 40

    with service(database.url, port):
        # Every accepted alert is stored.
        with database.session() as session:
            stored = set(session.exec(select(Alert.id)).all())
        assert set(accepted) <= stored

        # A console connecting after the restart receives every accepted alert.
        created: set[int] = set()
        with connect(f"ws://127.0.0.1:{port}/ws?token={token}&since=0", open_timeout=10) as ws:
            deadline = time.monotonic() + 30
            while not set(accepted) <= created and time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if message.get("type") == "ping":
                    ws.send('{"type":"pong"}')
                if message.get("type") == "alert.created":
                    created.add(int(message["alert_id"]))
        assert set(accepted) <= created

        # The sweeper finishes the chains: with no contacts every level is unreachable and
        # is paged at once, so each alert shows levels 0..3 -- each exactly once.
        deadline = time.monotonic() + 30
        while True:
            with database.session() as session:
                rows = session.exec(
                    select(AlertEvent).where(AlertEvent.type.in_(LEVELS))  # type: ignore[attr-defined]
                ).all()
            fired = Counter((e.alert_id, e.data.get("level")) for e in rows)
            complete = all(fired[(a, level)] >= 1 for a in stored for level in range(4))
            if complete or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        missing = [(a, lv) for a in stored for lv in range(4) if fired[(a, lv)] == 0]
        doubled = {key: n for key, n in fired.items() if n > 1}
        assert not missing, f"escalation steps lost: {missing[:10]}"
        assert not doubled, f"escalation steps fired twice: {doubled}"
