"""The escalation driver: one run does one step for one alert, exactly once.

A run locks the alert row, checks the fencing token the run was scheduled with and that the
step is due, does the step (its messages queued in the outbox, then timeline events last),
and stores the next deadline with a new token in a conditional UPDATE. Only after the commit
is the next timer set and are the messages sent (notify.service.send_queued), so no provider
call ever holds the row lock or SQLite's write lock: an officer acknowledging, or an intake,
never waits for Twilio. Any number of processes, timers and sweeps can race for a step: the
row lock and the token let exactly one of them fire it.

The chain snapshot on the alert (`Alert.escalation_chain`) carries the runtime state under
"state": the level fired last and when, when the next level is due, the station it was paged
for, whether acknowledgement stopped it, and the stall escalations already fired.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.alerts.models import Alert, AlertStatus
from dispatch.clock import Clock, utc
from dispatch.config import Settings
from dispatch.db import Database, UTCDateTime, after_commit, quiet_for_commit
from dispatch.escalation import service as escalation_service
from dispatch.escalation.messages import Reason, Texts, alert_link, alert_texts
from dispatch.escalation.models import POST_LABEL, Post
from dispatch.escalation.policy import Policy, PolicyChannel, snapshot
from dispatch.notify import service as notify_service
from dispatch.notify.models import SentMessage
from dispatch.notify.provider import Channel, Provider
from dispatch.writes import Read, update_later

log = logging.getLogger(__name__)

# Set while the engine commits, so the commit listener does not wake the sweeper for the
# engine's own events (it would spin).
engine_thread = threading.local()


_ALERTS = Alert.__table__  # type: ignore[attr-defined]
# The fenced write of a step's result: built once, executed without the ORM.
_STORE_STEP = (
    sa.update(_ALERTS)
    .where(
        _ALERTS.c.id == sa.bindparam("aid"),
        _ALERTS.c.escalation_fence == sa.bindparam("old_fence"),
    )
    .values(
        escalation_level=sa.bindparam("level"),
        escalation_due_at=sa.bindparam("due"),
        escalation_fence=sa.bindparam("fence"),
        escalation_chain=sa.bindparam("chain"),
    )
)


# The alert as a step reads it: every column but the sealed personal data and the partner's
# extra fields (escalation never needs them), locked, without building an ORM instance.
_STEP_COLUMNS = [
    c
    for c in _ALERTS.c
    if c.name not in {"subject_sealed", "content_sealed", "raw_body_sealed", "extra", "candidates"}
]
_LOCK_FOR_STEP = {
    skip: sa.select(*_STEP_COLUMNS)
    .where(_ALERTS.c.id == sa.bindparam("aid"))
    .with_for_update(skip_locked=skip)
    for skip in (False, True)
}

_DUE = (
    sa.select(_ALERTS.c.id)
    .where(_ALERTS.c.escalation_due_at.is_not(None))
    .where(_ALERTS.c.escalation_due_at <= sa.bindparam("now", type_=UTCDateTime))
    .order_by(_ALERTS.c.escalation_due_at)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


class Step(StrEnum):
    """What a run can do; `HANDLERS` maps each to its function."""

    start = "start"  # copy the chain onto the alert, page level 0
    escalate = "escalate"  # unacknowledged past the deadline: page the next level
    repeat = "repeat"  # past the last level: page it again
    handover = "handover"  # another station took the alert: page its SHO from level 0
    stop = "stop"  # acknowledged or closed: record that the chain stopped
    stall_en_route = "stall_en_route"  # acknowledged, nobody en route in time
    stall_on_scene = "stall_on_scene"  # acknowledged, nobody on scene in time
    idle = "idle"  # nothing more will be due


@dataclass
class Outcome:
    """What one run did."""

    alert_id: int
    step: Step | None  # None: skipped (stale token, not due, gone, locked elsewhere)
    level: int | None = None
    due_at: datetime | None = None
    fence: int | None = None
    skipped: str | None = None


class Scheduler(Protocol):
    """The part of APScheduler the engine uses (absent in tests that drive time by hand)."""

    def add_job(self, func: Callable[..., Any], trigger: str, **kwargs: Any) -> Any: ...

    def remove_job(self, job_id: str) -> None: ...

    def get_job(self, job_id: str) -> Any: ...


def sweep_interval(settings: Settings) -> float:
    """Seconds between sweeps (divided by the drill speed, at least half a second)."""
    return max(0.5, settings.scaled(settings.sweep_interval_s))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: Any) -> datetime | None:
    return utc(datetime.fromisoformat(value)) if value else None


@dataclass
class Run:
    """One step in progress: the locked alert, a working copy of its chain, pending events."""

    session: Session
    alert: Alert
    chain: dict[str, Any]
    now: datetime
    engine: Engine
    events: list[tuple[EventType, dict[str, Any]]] = field(default_factory=list)
    outbox: list[SentMessage] = field(default_factory=list)  # sent once the step commits

    @property
    def state(self) -> dict[str, Any]:
        """The runtime part of the chain."""
        state: dict[str, Any] = self.chain.setdefault("state", {})
        return state

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The snapshot's levels."""
        steps: list[dict[str, Any]] = self.chain["steps"]
        return steps

    def seconds(self, value: float) -> timedelta:
        """A policy duration, divided by the drill speed."""
        return timedelta(seconds=self.engine.settings.scaled(value))


class Engine:
    """Runs escalation steps against the database; the scheduler is optional."""

    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        settings: Settings,
        policy: Policy,
        notifier: Provider,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings
        self.policy = policy
        self.notifier = notifier
        self.scheduler = scheduler
        # The events-committed listener that brings the sweep forward (runtime sets it).
        self.waker: object | None = None
        self.stopping = threading.Event()

    # ---------- driving ----------

    def run_step(
        self,
        alert_id: int,
        fence: int | None,
        now: datetime | None = None,
        *,
        skip_locked: bool = False,
    ) -> Outcome:
        """Do the step due for one alert if `fence` still matches (None: a sweep, any token)."""
        engine_thread.quiet = True
        try:
            # SQLite's writers queue in arrival order in the Database (db.FairLock); the step
            # takes its time once its transaction has begun, i.e. when it really runs.
            with self.database.session() as session:
                outcome = self._run_locked(session, alert_id, fence, now, skip_locked)
        finally:
            engine_thread.quiet = False
        # A step that ran set its next timer after its commit. Woken before the deadline by
        # our clock: set the timer again, unless the timer's own (wall) clock says it has
        # passed (an injected clock): the sweeper covers it.
        due = outcome.due_at
        if outcome.skipped == "not due" and due is not None and due > datetime.now(UTC):
            self.schedule(alert_id, due, outcome.fence)
        return outcome

    def _run_locked(
        self,
        session: Session,
        alert_id: int,
        fence: int | None,
        now: datetime | None,
        skip_locked: bool,
    ) -> Outcome:
        # A row with the alert's columns as attributes (read only: the step's writes are
        # the fenced UPDATE below).
        statement = _LOCK_FOR_STEP[skip_locked]
        row = session.connection().execute(statement, {"aid": alert_id}).first()
        alert = cast(Alert | None, row)
        now = now or self.clock.now()
        if alert is None:
            session.rollback()
            return Outcome(alert_id, None, skipped="gone or locked")
        if fence is not None and alert.escalation_fence != fence:
            session.rollback()
            return Outcome(alert_id, None, fence=alert.escalation_fence, skipped="stale")
        due = alert.escalation_due_at
        if due is None or due > now:
            session.rollback()
            # A timer that woke a little early: run_step sets it again for this deadline.
            return Outcome(
                alert_id, None, due_at=due, fence=alert.escalation_fence, skipped="not due"
            )
        return self._execute(session, alert, now, commit=True)

    def start_many(self, session: Session, alerts: Sequence[Alert]) -> list[Outcome]:
        """start_new() for each of these new alerts (the intake writer's group), their
        contacts read in one statement for all of them."""
        escalation_service.prefetch_contacts(session, alerts, self._first_posts(alerts))
        now = self.clock.now()
        outcomes = [self.start_new(session, alert, now) for alert in alerts]
        if self.waker is not None:
            # Their steps are done and their timers follow the commit: a sweep brought
            # forward by it would find nothing due (it did, after every intake under load).
            quiet_for_commit(session, self.waker)
        return outcomes

    def first_reads(self, session: Session, alerts: Sequence[Alert]) -> list[Read]:
        """What start_many will read for these alerts, as statements the intake writer
        sends with its own (PostgreSQL, writes.pg_together): the contacts of their
        chains' first level. start_many then finds them read."""
        found = escalation_service.contacts_read(session, alerts, self._first_posts(alerts))
        return [] if found is None else [found]

    def _first_posts(self, alerts: Sequence[Alert]) -> set[Post]:
        # Only the posts of each chain's first level: the first step pages no other.
        return {
            target.post
            for alert in alerts
            for target in self.policy.chain_for(alert.category, alert.district)[1].steps[0].targets
        }

    def start_new(self, session: Session, alert: Alert, now: datetime | None = None) -> Outcome:
        """Run a new alert's first step in the transaction that creates it (the intake
        writer): nobody else can see the row before that commits, so no lock is needed; the
        step is stored with the same fenced UPDATE (fence 0 -> 1) and its messages and timer
        follow the commit, exactly as for a step run later by a timer or a sweep."""
        if alert.escalation_chain or alert.escalation_fence != 0:
            raise ValueError(f"alert {alert.id} has started escalating already")
        return self._execute(session, alert, now or self.clock.now(), commit=False)

    def _execute(self, session: Session, alert: Alert, now: datetime, *, commit: bool) -> Outcome:
        """Do the step due for this alert (read, or locked, in this session's transaction);
        `commit`: end the transaction here. Without it (start_new: the alert was inserted by
        the caller's transaction, which commits) the step is stored with that commit."""
        alert_id = alert.id
        assert alert_id is not None
        run = Run(
            session=session,
            alert=alert,
            chain=copy.deepcopy(alert.escalation_chain) if alert.escalation_chain else {},
            now=now,
            engine=self,
        )
        step, at = plan(alert, run.chain or None, now, self.settings)
        if at is not None and at <= now:
            HANDLERS[step](run)
            done: Step = step
        else:
            done = Step.idle
        next_step, next_at = plan(alert, run.chain or None, now, self.settings)
        del next_step
        old_fence = alert.escalation_fence
        level = int(run.state.get("level", 0)) if run.chain else alert.escalation_level
        stored = {
            "aid": alert_id,
            "old_fence": old_fence,
            "level": max(level, 0),
            "due": next_at,
            "fence": old_fence + 1,
            "chain": run.chain or None,
        }
        if not commit:
            # The row is this transaction's own: the intake writer's first steps are stored
            # together just before its commit, which fails if any fence had moved.
            update_later(session, _STORE_STEP, stored)
            # The live hub encodes the new alert's summary without reading the row back
            # (events.live_copy): it must show the level this step stores. The object itself
            # is left as it was, for a retry of the intake should this transaction fail.
            events.live_copy(session, alert, escalation_level=stored["level"])
        elif getattr(session.connection().execute(_STORE_STEP, stored), "rowcount", 1) != 1:
            session.rollback()
            return Outcome(alert_id, None, skipped="stale")
        for type_, data in run.events:
            events.append(
                session,
                alert_id=alert_id,
                type_=type_,
                at=now,
                actor="escalation",
                scope=alert.scope,
                data=data,
            )
        # After the commit, in this order: the next timer, then the messages (outside any
        # transaction), whose failures may hurry the chain and set the timer again.
        after_commit(session, partial(self.schedule, alert_id, next_at, old_fence + 1))
        notify_service.send_after_commit(
            session,
            self.notifier,
            run.outbox,
            now,
            partial(self.note_failed_sends, level_total=len(run.outbox)),
        )
        if commit:
            session.commit()
        return Outcome(alert_id, done, level, next_at, old_fence + 1)

    def note_failed_sends(
        self,
        session: Session,
        failed: list[SentMessage],
        now: datetime,
        *,
        level_total: int | None = None,
    ) -> None:
        """Refused messages go on the timeline. When every message of a step's level was
        refused (`level_total` of them), nobody was reached: the next level is due at once,
        as for a level without contacts, and its timer is set."""
        hurry_chain = level_total is not None and len(failed) >= level_total
        hurried = escalation_service.note_failed_sends(
            session, failed, now, hurry_chain=hurry_chain
        )
        for alert in hurried:
            assert alert.id is not None
            due, fence = alert.escalation_due_at, alert.escalation_fence
            after_commit(session, partial(self.schedule, alert.id, due, fence))

    def run_due(
        self, now: datetime | None = None, *, budget_s: float | None = None
    ) -> list[Outcome]:
        """Run every step that is due (the sweeper; tests call it after moving the clock)."""
        now = now or self.clock.now()
        budget = budget_s if budget_s is not None else self.settings.escalation_sweep_budget_s
        started = self.clock.now()
        outcomes: list[Outcome] = []
        workers = 1 if self.database.is_sqlite else self.settings.escalation_workers
        pool: ThreadPoolExecutor | None = None
        try:
            while not self.stopping.is_set():
                ids = self.due_ids(now, limit=500)
                if not ids:
                    break
                if pool is None and workers > 1 and len(ids) > 1:
                    pool = ThreadPoolExecutor(max_workers=workers)
                # Each step runs (and is stamped on the timeline) at its own time, not the
                # sweep's: a long sweep must not record steps as earlier than they went out.
                if pool is not None:
                    batch = list(pool.map(lambda i: self.run_step(i, None, skip_locked=True), ids))
                else:
                    batch = [self.run_step(i, None, skip_locked=True) for i in ids]
                outcomes += batch
                if not any(o.step is not None for o in batch):
                    break  # what is left is locked by another process, which will run it
                if (self.clock.now() - started).total_seconds() > budget:
                    break
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return outcomes

    def due_ids(self, now: datetime, *, limit: int) -> list[int]:
        """Alerts whose next step is due, the most overdue first."""
        with self.database.session() as session:
            rows = session.connection().execute(_DUE, {"now": now, "limit": limit}).all()
        return [int(r[0]) for r in rows if r[0] is not None]

    def arm_upcoming(self, now: datetime, horizon_s: float, *, limit: int = 10_000) -> int:
        """Set timers for steps due within horizon_s that have none (the sweeper calls this).

        Timers live in memory: after a restart, or for alerts whose deadline another process
        set, the next step would otherwise wait for a sweep. Returns the timers set.
        """
        if self.scheduler is None or self.stopping.is_set():
            return 0
        with self.database.session() as session:
            rows = session.exec(
                select(Alert.id, Alert.escalation_due_at, Alert.escalation_fence)
                .where(col(Alert.escalation_due_at) > now)
                .where(col(Alert.escalation_due_at) <= now + timedelta(seconds=horizon_s))
                .order_by(col(Alert.escalation_due_at))
                .limit(limit)
            ).all()
        armed = 0
        for alert_id, due_at, fence in rows:
            if alert_id is None or due_at is None:
                continue
            try:
                job = self.scheduler.get_job(f"escalation:{alert_id}")
            except Exception:  # the scheduler is shutting down
                return armed
            if job is not None and list(job.args) == [alert_id, fence]:
                continue
            self.schedule(int(alert_id), due_at, fence)
            armed += 1
        return armed

    def schedule(self, alert_id: int, due_at: datetime | None, fence: int | None) -> None:
        """Set (or clear) the alert's timer; the database stays the truth if this is lost."""
        if self.scheduler is None or self.stopping.is_set():
            return
        job_id = f"escalation:{alert_id}"
        try:
            if due_at is None:
                self.scheduler.remove_job(job_id)
                return
            horizon = timedelta(seconds=2 * sweep_interval(self.settings))
            if due_at > datetime.now(UTC) + horizon:
                # Minutes away: a full sweep arms it once it is within the horizon
                # (arm_upcoming), so the timer is not set and reset at every step.
                return
            self.scheduler.add_job(
                self.run_step,
                "date",
                run_date=due_at,
                args=[alert_id, fence],
                id=job_id,
                replace_existing=True,
                misfire_grace_time=None,
            )
        except Exception as exc:  # JobLookupError, or a scheduler shutting down
            log.debug("timer for alert %s not changed: %s", alert_id, type(exc).__name__)

    # ---------- paging ----------

    def fire_level(
        self,
        run: Run,
        level: int,
        reason: Reason,
        event_type: EventType = EventType.escalated,
    ) -> None:
        """Page every target of a level and record the escalation with its messages."""
        alert = run.alert
        assert alert.id is not None
        spec = run.steps[level]
        state = run.state
        drill = self.settings.drill_speed != 1
        since = alert.acknowledged_at if reason.value.startswith("stalled") else alert.received_at
        minutes = int(
            ((run.now - (since or run.now)).total_seconds() * self.settings.drill_speed) // 60
        )
        link = alert_link(
            self.settings.console_alert_url, notify_service.base_url(self.notifier), alert.id
        )
        texts = alert_texts(
            alert=alert,
            reason=reason,
            level=level,
            minutes=minutes,
            link=link,
            ack_code=run.chain.get("ack_code"),
            drill=drill,
        )
        notifications: list[dict[str, Any]] = []
        phone_targets = 0
        queued = 0
        for target in spec["targets"]:
            post = Post(target["post"])
            unit = escalation_service.unit_of(post, alert)
            channels = [PolicyChannel(c) for c in target["channels"]]
            label = POST_LABEL[post][0]
            if PolicyChannel.console in channels:
                notifications.append(
                    {
                        "channel": "console",
                        "to_masked": f"{label} console",
                        "post": post.value,
                        "unit": unit,
                        "level": level,
                        "body": texts.text_en,
                        "status": "shown",
                    }
                )
            phones = [Channel(c.value) for c in channels if c is not PolicyChannel.console]
            if not phones:
                continue
            phone_targets += 1
            queued += self._page_post(run, post, unit, phones, level, texts, notifications)
        state["level"] = level
        state["level_at"] = _iso(run.now)
        state["station_id"] = alert.station_id
        following = level + 1
        after = (
            run.steps[following]["after_s"]
            if following < len(run.steps)
            else run.chain["repeat_last_every_s"]
        )
        next_at = run.now + run.seconds(after)
        fast = phone_targets > 0 and queued == 0 and following < len(run.steps)
        if fast and not reason.value.startswith("stalled"):
            # Nobody could be reached at this level: do not wait minutes to try the next one.
            next_at = run.now
        if not reason.value.startswith("stalled"):
            state["next_at"] = _iso(next_at)
        run.events.append(
            (
                event_type,
                {
                    "level": level,
                    "reason": reason.value,
                    "posts": [
                        {
                            "post": t["post"],
                            "unit": escalation_service.unit_of(Post(t["post"]), alert),
                            "channels": t["channels"],
                        }
                        for t in spec["targets"]
                    ],
                    "next_level_at": None if reason.value.startswith("stalled") else _iso(next_at),
                    "unreachable": fast,
                    "drill_speed": self.settings.drill_speed,
                    "policy": run.chain.get("policy", {}).get("source"),
                },
            )
        )
        run.events += [(EventType.notification, n) for n in notifications]

    def _page_post(
        self,
        run: Run,
        post: Post,
        unit: str | None,
        channels: list[Channel],
        level: int,
        texts: Texts,
        out: list[dict[str, Any]],
    ) -> int:
        alert = run.alert
        base = {"post": post.value, "unit": unit, "level": level, "body": texts.text_en}
        if unit is None and post is not Post.state_cell:
            out.append({**base, "channel": "none", "to_masked": "-", "status": "no_unit"})
            return 0
        contacts = escalation_service.contacts_for(run.session, post, unit)
        if not contacts:
            out.append({**base, "channel": "none", "to_masked": "-", "status": "no_contact"})
            return 0
        queued = 0
        for contact in contacts:
            for channel in channels:
                if channel is Channel.whatsapp and not contact.whatsapp:
                    continue
                hindi = contact.language == "hi"
                content = self.settings.twilio_whatsapp_content_sid
                record = notify_service.queue(
                    session=run.session,
                    notifier=self.notifier,
                    channel=channel,
                    to=contact.phone,
                    body=texts.text(contact.language),
                    now=run.now,
                    ref=f"alert:{alert.id}:L{level}",
                    alert_id=alert.id,
                    contact_id=contact.id,
                    contact_name=contact.name,
                    post=post.value,
                    unit=unit,
                    level=level,
                    ack_code=run.chain.get("ack_code"),
                    speech=notify_service.Speech(texts.speech_hi, texts.speech_en, hindi),
                    content_sid=content,
                    content_variables=_template_variables(alert, texts, run.chain)
                    if content
                    else None,
                )
                run.outbox.append(record)
                queued += 1
                out.append(notify_service.event_data(record))
        return queued


def _template_variables(alert: Alert, texts: Texts, chain: dict[str, Any]) -> dict[str, str]:
    # The approved template's placeholders: {{1}} alert, {{2}} station, {{3}} code, {{4}} text.
    return {
        "1": str(alert.id),
        "2": alert.station_name or alert.station_id or "-",
        "3": str(chain.get("ack_code") or ""),
        "4": texts.text_en,
    }


# ---------- deciding ----------


def plan(
    alert: Alert, chain: dict[str, Any] | None, now: datetime, settings: Settings
) -> tuple[Step, datetime | None]:
    """The next step for an alert and when it is due (None: nothing more will be)."""
    closed = alert.status == AlertStatus.closed
    if not chain:
        return (Step.idle, None) if closed else (Step.start, now)
    state = chain.get("state", {})
    if closed:
        return (Step.idle, None) if state.get("stopped") == "closed" else (Step.stop, now)
    if alert.acknowledged_at is None:
        if alert.station_id and alert.station_id != state.get("station_id"):
            return Step.handover, now
        last = len(chain["steps"]) - 1
        next_at = _time(state.get("next_at")) or now
        return (Step.escalate if int(state.get("level", -1)) < last else Step.repeat), next_at
    if state.get("stopped") != "acknowledged":
        return Step.stop, now
    return _stall_plan(alert, chain, state, settings)


def _stall_plan(
    alert: Alert, chain: dict[str, Any], state: dict[str, Any], settings: Settings
) -> tuple[Step, datetime | None]:
    arrived = alert.on_scene_at is not None or alert.person_found_at is not None
    if arrived or alert.status in (AlertStatus.on_scene, AlertStatus.person_found):
        return Step.idle, None
    assert alert.acknowledged_at is not None
    if alert.en_route_at is None:
        kind, step, limit = "en_route", Step.stall_en_route, chain["stall_en_route_s"]
    else:
        kind, step, limit = "on_scene", Step.stall_on_scene, chain["stall_on_scene_s"]
    fired = state.get("stalls", {}).get(kind)
    if fired:
        # Still stalled after the last page: climb again, at the repeat interval.
        at = _time(fired["at"])
        assert at is not None
        return step, at + timedelta(seconds=settings.scaled(chain["repeat_last_every_s"]))
    return step, alert.acknowledged_at + timedelta(seconds=settings.scaled(limit))


# ---------- handlers ----------


def _start(run: Run) -> None:
    alert = run.alert
    engine = run.engine
    run.chain = snapshot(
        engine.policy,
        category=alert.category,
        district=alert.district,
        stall_en_route_s=engine.settings.stall_en_route_minutes * 60,
        stall_on_scene_s=engine.settings.stall_on_scene_minutes * 60,
    )
    run.chain["ack_code"] = escalation_service.new_ack_code()
    run.chain["started_at"] = _iso(run.now)
    state = run.state
    state.update(level=-1, station_id=alert.station_id, stopped=None, stalls={})
    first = run.steps[0]["after_s"]
    if alert.acknowledged_at is not None:
        # Acknowledged before the chain began (a quick console click): only stall timers run.
        state["next_at"] = None
        return
    if first > 0:
        state["next_at"] = _iso(alert.received_at + run.seconds(first))
        run.events.append(
            (
                EventType.escalation_started,
                {"level": None, "next_level_at": state["next_at"], "policy": run.chain["policy"]},
            )
        )
        return
    run.engine.fire_level(run, 0, Reason.new, EventType.escalation_started)


def _escalate(run: Run) -> None:
    level = int(run.state.get("level", -1)) + 1
    run.engine.fire_level(run, level, Reason.new if level == 0 else Reason.unacknowledged)


def _repeat(run: Run) -> None:
    run.engine.fire_level(run, len(run.steps) - 1, Reason.repeat)


def _handover(run: Run) -> None:
    run.engine.fire_level(run, 0, Reason.handover)


def _stop(run: Run) -> None:
    alert = run.alert
    closed = alert.status == AlertStatus.closed
    reason = "closed" if closed else "acknowledged"
    run.state["stopped"] = reason
    run.state["next_at"] = None
    data: dict[str, Any] = {"reason": reason, "level": run.state.get("level")}
    if not closed and alert.acknowledged_at is not None:
        data["acknowledged_by"] = alert.acknowledged_by
        chain = run.chain
        speed = run.engine.settings
        data["en_route_due_by"] = _iso(
            alert.acknowledged_at + timedelta(seconds=speed.scaled(chain["stall_en_route_s"]))
        )
        data["on_scene_due_by"] = _iso(
            alert.acknowledged_at + timedelta(seconds=speed.scaled(chain["stall_on_scene_s"]))
        )
    run.events.append((EventType.escalation_stopped, data))


def _stall(kind: str, reason: Reason) -> Callable[[Run], None]:
    def handler(run: Run) -> None:
        level = min(int(run.state.get("level", 0)) + 1, len(run.steps) - 1)
        run.engine.fire_level(run, level, reason)
        stalls = run.state.setdefault("stalls", {})
        previous = stalls.get(kind, {})
        stalls[kind] = {"at": _iso(run.now), "count": int(previous.get("count", 0)) + 1}

    return handler


def _idle(run: Run) -> None:
    run.state["next_at"] = None


HANDLERS: dict[Step, Callable[[Run], None]] = {
    Step.start: _start,
    Step.escalate: _escalate,
    Step.repeat: _repeat,
    Step.handover: _handover,
    Step.stop: _stop,
    Step.stall_en_route: _stall("en_route", Reason.stalled_en_route),
    Step.stall_on_scene: _stall("on_scene", Reason.stalled_on_scene),
    Step.idle: _idle,
}
