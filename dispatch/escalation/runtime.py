"""Start-up and shutdown of escalation: the policy, the engine, the scheduler; demo contacts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI
from sqlmodel import Session, select

from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import jobs, policy
from dispatch.escalation.engine import Engine, sweep_interval
from dispatch.escalation.models import Contact, Post
from dispatch.notify import service as notify_service

log = logging.getLogger(__name__)


async def start(app: FastAPI) -> None:
    """Load and check the policy, build the engine, start the timers and the sweeper."""
    settings: Settings = app.state.settings
    database: Database = app.state.database
    loaded = policy.load(settings.escalation_policy_path)
    app.state.escalation_policy = loaded
    notifier = notify_service.resolve_notifier(app.state)
    engine = Engine(
        database=database,
        clock=app.state.clock,
        settings=settings,
        policy=loaded,
        notifier=notifier,
    )
    app.state.escalation = engine
    jobs._registry(app)
    jobs.register_sweep(app, "notify.outbox", partial(_resend_stale, engine))
    app.state.scheduler = None
    app.state.escalation_waker = None
    app.state.intake_first_step = None
    app.state.intake_first_reads = None
    if not settings.scheduler_enabled:
        return
    # New partner alerts start escalating (page the station) in the transaction that
    # stores them (alerts.writer), not in a second transaction a sweep runs after it.
    app.state.intake_first_step = engine.start_many
    app.state.intake_first_reads = engine.first_reads
    # Escalation shares the process with intake and the consoles: its threads are bounded
    # (the sweep, and as many timer threads as a sweep has workers) so a backlog of steps
    # queues here instead of crowding out requests; late timers still run, in order.
    scheduler = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=settings.escalation_workers + 1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    interval = sweep_interval(settings)
    scheduler.add_job(
        jobs.sweep,
        "interval",
        seconds=interval,
        args=[app],
        id=jobs.SWEEP_JOB_ID,
        next_run_time=datetime.now(UTC),  # at start-up: whatever fell due while we were down
    )
    waker = jobs.Waker(scheduler)
    engine.scheduler = scheduler
    engine.waker = waker
    app.state.scheduler = scheduler
    app.state.escalation_waker = waker
    database.on_events_committed(waker)
    scheduler.start()
    log.info(
        "escalation running: sweep every %.1f s, drill speed %s, transport %s",
        interval,
        settings.drill_speed,
        notifier.name,
    )


def _resend_stale(engine: Engine, database: Database, now: datetime) -> None:
    notify_service.resend_stale(
        database,
        engine.notifier,
        now,
        older_than_s=engine.settings.outbox_resend_after_s,
        on_failure=engine.note_failed_sends,
    )


async def run_worker(app: FastAPI, stop: asyncio.Event) -> None:
    """Run escalation (and the other domains' sweeps) without serving HTTP until `stop`.

    For PostgreSQL deployments that take escalation out of the `dispatch serve` processes
    (started with DISPATCH_SCHEDULER_ENABLED=false): intake then has their CPU to itself.
    The app must be built with the scheduler enabled (`dispatch escalation worker` checks).
    The worker hears their commits through LISTEN dispatch_events and sweeps at once; the
    fenced engine lets any number of workers and serving processes share the steps.
    """
    from dispatch.live import listener

    settings: Settings = app.state.settings
    async with app.router.lifespan_context(app):
        waker: jobs.Waker = app.state.escalation_waker
        listening = asyncio.create_task(
            listener.listen(settings.database_url, waker, retry_s=settings.live_listen_retry_s)
        )
        log.info("escalation worker running")
        try:
            await stop.wait()
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening


async def stop(app: FastAPI) -> None:
    """Stop the timers; steps not yet fired stay due in the database for the next start."""
    engine: Engine | None = getattr(app.state, "escalation", None)
    if engine is not None:
        engine.stopping.set()
    waker = getattr(app.state, "escalation_waker", None)
    if waker is not None:
        app.state.database.remove_listener(waker)
    scheduler: BackgroundScheduler | None = getattr(app.state, "scheduler", None)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=True)


# Obviously fake numbers (+91 99999 0xxxx); never seeded when Twilio is configured, so a demo
# cannot ring a real phone.
FAKE_PREFIX = "+9199999"


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """A contact for every post of every demo station, circle, district and range."""
    settings: Settings = app.state.settings
    if settings.twilio_enabled:
        return ["Demo contacts: not added (Twilio is configured; add real ones with the CLI)"]
    index = app.state.resolver.index
    stations = sorted(index.stations.values(), key=lambda s: s.id)
    wanted: list[tuple[Post, str | None, str, str]] = []
    for s in stations:
        wanted.append((Post.sho, s.id, f"SHO {s.name}", "hi"))
    for circle in sorted({s.circle for s in stations if s.circle}):
        wanted.append((Post.circle_officer, circle, f"CO {circle}", "hi"))
    for district in sorted({s.district for s in stations}):
        wanted.append((Post.district_control, district, f"Control room {district}", "hi"))
        wanted.append((Post.sp_office, district, f"SP office {district}", "en"))
    for range_name in sorted({s.range for s in stations if s.range}):
        wanted.append((Post.range_office, range_name, f"Range office {range_name}", "en"))
        wanted.append((Post.dig_office, range_name, f"DIG office {range_name}", "en"))
    wanted.append((Post.state_cell, None, "State social-media cell", "en"))
    existing = {(c.post, c.unit) for c in session.exec(select(Contact)).all()}
    now = app.state.clock.now()
    added = 0
    for number, (post, unit, name, language) in enumerate(wanted):
        if (post.value, unit) in existing:
            continue
        session.add(
            Contact(
                name=name,
                post=post.value,
                unit=unit,
                phone=f"{FAKE_PREFIX}{number:05d}",
                whatsapp=post in (Post.sho, Post.circle_officer),
                language=language,
                created_at=now,
            )
        )
        added += 1
    session.flush()
    return [
        f"Demo contacts: {len(wanted)} posts with fake numbers {FAKE_PREFIX}0xxxx "
        f"({added} added); messages go to the console transport"
    ]
