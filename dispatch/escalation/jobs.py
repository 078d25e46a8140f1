"""Scheduled entry points: the sweeper, the registry of other domains' sweeps, the doorbell.

Other domains hook periodic work onto the sweeper instead of running their own scheduler:

    from dispatch.escalation import jobs as escalation_jobs

    escalation_jobs.register_sweep(app, "care.followups", care_jobs.due_followups)

`fn(database, now)` is then called on every sweep (every DISPATCH_SWEEP_INTERVAL_S divided by
the drill speed, at start-up, and soon after commits that appended events). It must be
idempotent and quick; an exception is logged and does not stop the other sweeps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from dispatch.db import Database
from dispatch.escalation.engine import Engine, Outcome, engine_thread, sweep_interval

log = logging.getLogger(__name__)

SweepFn = Callable[[Database, datetime], None]
SWEEP_JOB_ID = "escalation-sweep"


def _registry(app: FastAPI) -> dict[str, SweepFn]:
    registry: dict[str, SweepFn] | None = getattr(app.state, "escalation_sweeps", None)
    if registry is None:
        registry = {}
        app.state.escalation_sweeps = registry
    return registry


def register_sweep(app: FastAPI, name: str, fn: SweepFn) -> None:
    """Call fn(database, now) on every sweep; registering a name again replaces it."""
    _registry(app)[name] = fn


def unregister_sweep(app: FastAPI, name: str) -> None:
    """Stop calling the sweep registered under name."""
    _registry(app).pop(name, None)


def run_registered(app: FastAPI, now: datetime) -> None:
    """Run every registered sweep once (a failure is logged, the others still run)."""
    database: Database = app.state.database
    for name, fn in list(_registry(app).items()):
        try:
            fn(database, now)
        except Exception:
            log.exception("sweep %s failed", name)


def sweep(app: FastAPI) -> list[Outcome]:
    """One sweeper run: other domains' sweeps, then every overdue escalation step.

    A run brought forward by a commit (the Waker) only runs the due escalation steps: under
    load that happens after nearly every intake, and the other domains' sweeps and the timer
    arming are periodic work that need not run more often than the sweep interval.
    """
    engine: Engine = app.state.escalation
    waker: Waker | None = getattr(app.state, "escalation_waker", None)
    interval = sweep_interval(engine.settings)
    last_full: float = getattr(app.state, "escalation_last_full_sweep", float("-inf"))
    full = time.monotonic() - last_full >= interval * 0.9
    outcomes: list[Outcome] = []
    while not engine.stopping.is_set():
        if waker is not None:
            waker.clear()
        now = engine.clock.now()
        if full:
            app.state.escalation_last_full_sweep = time.monotonic()
            run_registered(app, now)
        try:
            outcomes += engine.run_due(now)
            if full:
                # Steps due before the next sweep get a timer if they have none (after a
                # restart, or deadlines set by another process), so they fire on time.
                engine.arm_upcoming(engine.clock.now(), 2 * interval)
        except Exception:
            log.exception("escalation sweep failed; the next sweep retries")
            break
        full = False
        # A commit that rang while this sweep ran may have been skipped by the scheduler
        # (one sweep at a time): go round again rather than wait for the interval.
        if waker is None or not waker.pending:
            break
    return outcomes


class Waker:
    """The commit listener: brings the next sweep forward after events are committed.

    Called in the committing thread, so it only flips a flag and moves one job's next run.
    """

    def __init__(self, scheduler: Any, delay_s: float = 0.02) -> None:
        self.scheduler = scheduler
        self.delay = timedelta(seconds=delay_s)
        self._lock = threading.Lock()
        self.pending = False

    def __call__(self) -> None:
        if getattr(engine_thread, "quiet", False):
            return
        with self._lock:
            if self.pending:
                return
            self.pending = True
        try:
            self.scheduler.modify_job(SWEEP_JOB_ID, next_run_time=datetime.now(UTC) + self.delay)
        except Exception as exc:  # the scheduler is shutting down
            log.debug("sweep not woken: %s", type(exc).__name__)

    def clear(self) -> None:
        """Forget earlier rings (a sweep is starting and will see their work)."""
        with self._lock:
            self.pending = False
