"""Exactly once: racing timers, sweeps and service processes fire each step once; a restart
rebuilds everything from the database and fires what fell due while the service was down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock, SystemClock
from dispatch.db import Database
from dispatch.escalation.engine import Engine, Outcome, Step
from dispatch.notify.provider import OutboundMessage, Provider, SendResult
from tests.escalation.support import (
    add_chain_contacts,
    alert_row,
    engine_of,
    events_of,
    levels_fired,
    new_alert,
    tick,
    twilio_app,
    twilio_settings,
    wait_for,
)
from tests.notify.fake_twilio import RecordingTwilio


class Slow:
    """A provider that takes its time, so racing runs overlap while a step is sending."""

    def __init__(self, inner: Provider, delay_s: float = 0.05) -> None:
        self.inner = inner
        self.name = inner.name
        self.public_base_url = getattr(inner, "public_base_url", "")
        self.delay_s = delay_s

    def send(self, message: OutboundMessage) -> SendResult:
        time.sleep(self.delay_s)
        return self.inner.send(message)


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(i) in n threads released together; their results (exceptions re-raised)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def second_engine(app: FastAPI, database_url: str, notifier: Provider) -> tuple[Engine, Database]:
    """Another service process: its own connection pool and engine, the same database."""
    database = Database(database_url)
    first = engine_of(app)
    engine = Engine(
        database=database,
        clock=first.clock,
        settings=first.settings,
        policy=first.policy,
        notifier=notifier,
    )
    return engine, database


def test_the_same_step_run_from_two_threads_fires_once(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    engine = engine_of(app)
    engine.notifier = Slow(engine.notifier)
    fence = alert_row(database, alert_id).escalation_fence
    # Two timers for the same (alert, token), e.g. a duplicate job: one fires level 0.
    outcomes: list[Outcome] = race(2, lambda i: engine.run_step(alert_id, fence, clock.now()))
    assert sorted(str(o.step) for o in outcomes) == ["None", "start"]
    assert [o.skipped for o in outcomes if o.step is None] == ["stale"]
    assert len(twilio.sent) == 2 and levels_fired(database, alert_id) == [0]

    # Two sweeps (no token) at +3 min: level 1 once.
    clock.advance(minutes=3)
    race(2, lambda i: engine.run_step(alert_id, None, clock.now()))
    assert len(twilio.sent) == 4 and levels_fired(database, alert_id) == [0, 1]
    # A timer left over with the old token does nothing.
    outcome = engine.run_step(alert_id, fence, clock.now())
    assert outcome.step is None and outcome.skipped == "stale"
    assert len(twilio.sent) == 4


def test_a_step_is_not_run_before_it_is_due(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    row = alert_row(database, alert_id)
    clock.advance(minutes=2)
    outcome = engine_of(app).run_step(alert_id, row.escalation_fence, clock.now())
    assert outcome.step is None and outcome.skipped == "not due"
    assert outcome.due_at == row.escalation_due_at
    assert len(twilio.sent) == 2
    assert engine_of(app).run_step(999_999, None).skipped == "gone or locked"


def test_two_service_processes_sweeping_together_fire_each_step_once(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    ids = [new_alert(client, partner, category=c) for c in ("suicide_risk",) * 6]
    first = engine_of(app)
    first.notifier = Slow(first.notifier, 0.01)
    other, other_db = second_engine(app, database.url, first.notifier)
    engines = [first, other, first, other]
    try:
        for advance in (0, 3, 3, 5, 4):
            clock.advance(minutes=advance)
            race(len(engines), lambda i: engines[i].run_due(clock.now()))
    finally:
        other_db.dispose()
    per_alert = 2 + 2 + 1 + 4 + 4
    assert len(twilio.sent) == per_alert * len(ids)
    for alert_id in ids:
        assert levels_fired(database, alert_id) == [0, 1, 2, 3, 3]
        # No step was recorded twice: one notification event per message sent.
        notes = events_of(database, alert_id, "alert.notification")
        assert len([n for n in notes if n.data["channel"] != "console"]) == per_alert
    sids = [s.sid for s in twilio.sent]
    assert len(set(sids)) == len(sids)


def test_acknowledgement_racing_a_step_wins_or_the_step_is_recorded_before_it(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    engine = engine_of(app)
    engine.notifier = Slow(engine.notifier, 0.05)
    clock.advance(minutes=3)

    def work(i: int) -> Any:
        if i == 0:
            return engine.run_due(clock.now())
        return client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"]).status_code

    results = race(2, work)
    assert results[1] == 200
    tick(app, clock)
    sent = len(twilio.sent)
    assert sent in (2, 4)  # level 1 went out before the ack, or not at all
    tick(app, clock, minutes=5)
    assert len(twilio.sent) == sent
    assert len(events_of(database, alert_id, "alert.escalation_stopped")) == 1
    assert alert_row(database, alert_id).escalation_chain["state"]["stopped"] == "acknowledged"  # type: ignore[index]


def test_nothing_escalates_for_closed_or_acknowledged_alerts(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    # Acknowledged before the first sweep: no page at all, only the stall timers run.
    quick = new_alert(client, partner)
    assert client.post(f"/api/v1/alerts/{quick}/ack", headers=auth["sho_jsw"]).status_code == 200
    tick(app, clock)
    tick(app, clock)
    assert twilio.sent == []
    assert levels_fired(database, quick) == []
    chain = alert_row(database, quick).escalation_chain
    assert chain is not None and chain["state"]["level"] == -1
    # Even a forced sweep with the deadline in the past does nothing more until the stall.
    tick(app, clock, minutes=9)
    assert twilio.sent == []
    assert alert_row(database, quick).escalation_due_at is not None  # the en-route stall
    # Closed: nothing at all, ever, and nothing is due.
    status_url = f"/api/v1/alerts/{quick}/status"
    h = auth["sho_jsw"]
    for status in ("dispatched", "en_route", "on_scene"):
        body: dict[str, Any] = {"status": status}
        if status == "dispatched":
            body["team"] = "PRV 112"
        assert client.post(status_url, json=body, headers=h).status_code == 200
    tick(app, clock)
    assert alert_row(database, quick).escalation_due_at is None
    tick(app, clock, hours=6)
    assert twilio.sent == []


# ---------- restart ----------


@contextmanager
def running(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def test_after_a_restart_overdue_steps_fire_once_from_the_database(
    database: Database,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    partner: PartnerCredentials,
) -> None:
    add_chain_contacts(database, clock)
    # First life: the alerts arrive, level 0 goes out, then the service stops.
    first = twilio_app(twilio_settings(database), clock, database, twilio)
    with running(first) as client:
        ids = [new_alert(client, partner) for _ in range(3)]
        tick(first, clock)
        acked = ids[2]
        client.post(f"/api/v1/alerts/{acked}/ack", headers=_login(client, database))
    assert len(twilio.sent) == 6

    # Down for seven minutes: level 1 of the two open alerts fell due at +3 min.
    clock.advance(minutes=7)
    second = twilio_app(twilio_settings(database, scheduler_enabled=True), clock, database, twilio)
    with running(second):
        took = wait_for(lambda: all(levels_fired(database, i) == [0, 1] for i in ids[:2]), 5.0)
        wait_for(
            lambda: alert_row(database, acked).escalation_chain["state"].get("stopped") is not None
        )  # type: ignore[index]
        time.sleep(0.3)  # a second sweep, woken by the first one's commit, finds nothing due
    assert took < 5.0
    assert len(twilio.sent) == 6 + 2 * 2
    for alert_id in ids[:2]:
        assert levels_fired(database, alert_id) == [0, 1]
        # Level 2 is three minutes after level 1 actually went out (not a burst of levels).
        due = alert_row(database, alert_id).escalation_due_at
        assert due == clock.now() + timedelta(minutes=3)
    assert levels_fired(database, acked) == [0]

    # A third life, at the same instant: nothing is overdue, nothing is sent again.
    third = twilio_app(twilio_settings(database, scheduler_enabled=True), clock, database, twilio)
    with running(third):
        time.sleep(0.5)
    assert len(twilio.sent) == 10


def _login(client: TestClient, database: Database) -> dict[str, str]:
    from dispatch.auth.models import Role
    from tests.helpers import JASWANTNAGAR_ID, add_user, login

    add_user(database, "sho_restart", Role.station, JASWANTNAGAR_ID)
    return login(client, "sho_restart")


def test_the_scheduler_fires_timers_on_time_with_the_real_clock(
    database: Database, twilio: RecordingTwilio, partner: PartnerCredentials
) -> None:
    # Drill speed 120: level 1 at +1.5 s, level 2 at +3 s. The sweeper runs once an hour, so
    # only the APScheduler timers (and the commit doorbell for level 0) can fire the steps.
    clock = SystemClock()
    add_chain_contacts(database, FrozenClock())
    settings = twilio_settings(
        database, scheduler_enabled=True, drill_speed=120, sweep_interval_s=3600 * 120
    )
    app = create(settings, clock, database, twilio)
    with TestClient(app) as client:
        alert_id = new_alert(client, partner)
        wait_for(lambda: levels_fired(database, alert_id) == [0, 1, 2], 10.0)
    fired = events_of(database, alert_id, "alert.escalation_started", "alert.escalated")
    received = alert_row(database, alert_id).received_at
    level0, level1, level2 = (e.at for e in fired)
    assert (level0 - received).total_seconds() < 1.0  # woken by the intake commit
    late1 = (level1 - level0).total_seconds() - 1.5
    late2 = (level2 - level1).total_seconds() - 1.5
    assert 0 <= late1 < 0.5 and 0 <= late2 < 0.5, (late1, late2)
    assert str(twilio.sent[0].data["Body"]).startswith("[अभ्यास] ")  # drill, in Hindi


def test_a_step_minutes_away_gets_its_timer_from_the_sweep_and_fires_on_time(
    database: Database, twilio: RecordingTwilio, partner: PartnerCredentials
) -> None:
    # Drill speed 60: level 1 at +3 s, level 2 at +6 s; sweeps every 0.5 s. A step further
    # away than two sweeps gets no timer when the previous one fires: a sweep sets it once it
    # is near (as with minutes between levels in real use). It must still fire on time.
    clock = SystemClock()
    add_chain_contacts(database, FrozenClock())
    settings = twilio_settings(
        database, scheduler_enabled=True, drill_speed=60, sweep_interval_s=30
    )
    app = create(settings, clock, database, twilio)
    with TestClient(app) as client:
        alert_id = new_alert(client, partner)
        wait_for(lambda: levels_fired(database, alert_id) == [0, 1, 2], 12.0)
    fired = events_of(database, alert_id, "alert.escalation_started", "alert.escalated")
    level0, level1, level2 = (e.at for e in fired)
    late1 = (level1 - level0).total_seconds() - 3
    late2 = (level2 - level1).total_seconds() - 3
    assert 0 <= late1 < 0.25 and 0 <= late2 < 0.25, (late1, late2)  # a timer, not a sweep


def create(settings: Any, clock: Any, database: Database, twilio: RecordingTwilio) -> FastAPI:
    from dispatch.main import create_app

    app = create_app(settings, clock=clock, database=database)
    app.state.twilio_http_client = twilio
    return app


@pytest.mark.parametrize("workers", [1, 4])
def test_a_sweep_with_many_due_alerts_runs_each_once(
    workers: int,
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    engine = engine_of(app)
    engine.settings = engine.settings.model_copy(update={"escalation_workers": workers})
    ids = [new_alert(client, partner) for _ in range(12)]
    outcomes = tick(app, clock)
    assert sorted(o.alert_id for o in outcomes if o.step is Step.start) == ids
    assert len(twilio.sent) == 24
    outcomes = tick(app, clock, minutes=3)
    assert sorted(o.alert_id for o in outcomes if o.step is Step.escalate) == ids
    assert len(twilio.sent) == 48


def test_after_a_restart_steps_due_later_get_their_timers_back(
    database: Database, twilio: RecordingTwilio, partner: PartnerCredentials
) -> None:
    # Timers live in memory. After a restart the start-up sweep sets them again from the
    # stored deadlines, so a step due before the next sweep (a minute away here) is on time.
    clock = SystemClock()
    add_chain_contacts(database, FrozenClock())
    settings = twilio_settings(database, drill_speed=60, sweep_interval_s=3600)
    first = create(settings, clock, database, twilio)
    with TestClient(first) as client:
        alert_id = new_alert(client, partner)
        engine_of(first).run_due()
    assert levels_fired(database, alert_id) == [0]
    due = alert_row(database, alert_id).escalation_due_at
    assert due is not None

    second = create(
        settings.model_copy(update={"scheduler_enabled": True}), clock, database, twilio
    )
    with TestClient(second):
        wait_for(lambda: levels_fired(database, alert_id) == [0, 1], 6.0)
    level1 = events_of(database, alert_id, "alert.escalated")[0].at
    assert 0 <= (level1 - due).total_seconds() < 0.5
