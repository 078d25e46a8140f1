"""The per-process live hub: one reader of the timeline, many console connections.

How no console ever sees a gap or a duplicate:

- Event ids are gapless and assigned in commit order (alerts/events.py), so "every event
  with id > cursor" read from the database never misses a late commit.
- The hub keeps one cursor and, when its doorbell rings, reads the next events in id order
  and offers each connection the events it may see as a Batch covering the id range
  (after, upto]. A connection's `hub_mark` records where its last offered batch ended, so a
  batch says "nothing else for you in (after, upto]" even when earlier batches were empty.
- A connection keeps its own cursor (the last id it has accounted for). It attaches to the
  hub first (hub_mark = hub cursor H0), then replays (since, H0] from the database, then
  consumes batches. A batch starting beyond its cursor triggers a catch-up read of the
  missing range from the database; events at or below the cursor are dropped.
- Offering never blocks the hub: a connection whose queue would overflow is closed with
  CLOSE_TOO_SLOW and the console reconnects with since=<last id>.

This process's own commits are not read back: the committing thread hands the hub its
events (Database.take_committed_events) already encoded (live_service.encode_committed),
and the hub fans them out on the loop when they follow its cursor. Ids are gapless and in
commit order, so a transaction whose first id is cursor + 1 is exactly what comes next.
One beyond a hole (another process's events, or another thread's hand-over still on its
way) is held, and the hub reads only the hole from the database, then sends the held
events. A transaction the committing thread cannot encode (an alert's row not declared with
events.live_copy) just rings the hub, which reads it.

Doorbells for reading: those hand-overs, PostgreSQL NOTIFY from other processes
(listener.py), and a slow poll as a safety net. A ring only makes the hub read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from dispatch import threads
from dispatch.alerts.events import Committed
from dispatch.auth.scope import Scope
from dispatch.clock import Clock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.live import service as live_service
from dispatch.live.service import LiveEvent

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_UNAUTHORIZED = 4401
CLOSE_BAD_REQUEST = 4400
CLOSE_HEARTBEAT = 4408
CLOSE_TOO_SLOW = 4429
CLOSE_SHUTDOWN = 1001
PING_TEXT = '{"type":"ping"}'
PONG_TEXT = '{"type":"pong"}'
# Heartbeats go out in up to this many slices spread over each interval, so that a few hundred
# consoles are not all pinged (and do not all answer) within the same millisecond.
HEARTBEAT_SLICES = 20
HEARTBEAT_MIN_TICK_S = 0.05


@dataclass(frozen=True, slots=True)
class Batch:
    """Events for one connection covering the id range (after, upto]."""

    after: int
    upto: int
    events: list[LiveEvent]


@dataclass(frozen=True, slots=True)
class Pushed:
    """The events of one transaction of this process, ids first..last (internal and unwanted
    ones left out of `events`), encoded for the consoles whose scope tokens were `tokens`
    (None: all)."""

    first: int
    last: int
    events: list[LiveEvent]
    tokens: frozenset[str] | None


class Connection:
    """One console's place in the hub: its scope, cursor and bounded queue."""

    def __init__(
        self,
        *,
        scope: Scope,
        username: str,
        max_queue: int,
        expires_at: datetime | None,
        batched: bool = False,
    ) -> None:
        self.scope = scope
        self.batched = batched  # several events may go out as one `batch` frame
        self.username = username
        self.max_queue = max_queue
        self.expires_at = expires_at
        self.cursor = 0
        self.hub_mark = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.awaiting_pong_since: float | None = None
        self.heartbeat_slot = 0  # which slice of the heartbeat interval pings this console
        self._batches: deque[Batch] = deque()
        self._queued = 0
        self._control: deque[str] = deque()
        self._wake = asyncio.Event()

    def offer(self, batch: Batch) -> None:
        """Queue a batch without blocking; close the connection if it cannot keep up."""
        if self.close_code is not None:
            return
        if self._queued + len(batch.events) > self.max_queue:
            self.close(CLOSE_TOO_SLOW, "console too slow; reconnect with since=<last id>")
            return
        self._batches.append(batch)
        self._queued += len(batch.events)
        self._wake.set()

    def send_control(self, text: str) -> None:
        """Queue a control message (ping, pong), sent before pending events."""
        self._control.append(text)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Ask the connection's sender to close the socket with this code."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self._wake.set()

    def pong(self) -> None:
        """The console answered a ping."""
        self.awaiting_pong_since = None

    async def next_item(self) -> tuple[list[str], Batch | None]:
        """Wait for control messages and/or the next batch (or a close request)."""
        while not self._control and not self._batches and self.close_code is None:
            self._wake.clear()
            await self._wake.wait()
        control = list(self._control)
        self._control.clear()
        batch = None
        if self._batches and self.close_code is None:
            batch = self._batches.popleft()
            self._queued -= len(batch.events)
        return control, batch

    @property
    def queued(self) -> int:
        """Events waiting to be sent."""
        return self._queued


class Hub:
    """Reads committed events once per process and fans them out to the connections."""

    def __init__(self, *, database: Database, settings: Settings, clock: Clock) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.cursor = 0
        self._engine: Engine = live_service.read_engine(database)
        self._hub_reader = ThreadPoolExecutor(
            1, thread_name_prefix="live-hub", initializer=threads.name_this_thread
        )
        self._replayers = ThreadPoolExecutor(
            4, thread_name_prefix="live-replay", initializer=threads.name_this_thread
        )
        self._state_wide: set[Connection] = set()
        self._by_token: dict[str, set[Connection]] = {}
        self._slots: list[set[Connection]] = [
            set() for _ in range(heartbeat_slices(settings.heartbeat_s))
        ]
        self._rung = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._doorbell: Callable[[Committed], None] | None = None
        # Events this process committed, encoded by the committing thread, waiting for the
        # cursor to reach them; the scope tokens of the consoles attached (None: a state-wide
        # console is attached, so every event is wanted).
        self._pushed: list[Pushed] = []
        self._reading = False
        self._tokens: frozenset[str] | None = frozenset()
        self.batches_read = 0
        self.batches_pushed = 0

    # ---------- lifecycle ----------

    async def start(self) -> None:
        """Register the doorbells, take the current cursor and start reading."""
        loop = asyncio.get_running_loop()
        self._loop = loop

        def doorbell(committed: Committed) -> None:
            # Runs in the committing thread: encode what it committed (or say it could not)
            # and hand over to the loop.
            pushed = self._encode_pushed(committed)
            with contextlib.suppress(RuntimeError):  # the loop is closed (shutdown)
                loop.call_soon_threadsafe(self._take_pushed, pushed)

        self._doorbell = doorbell
        self.database.take_committed_events(doorbell)
        self.cursor = await self.run_read(live_service.last_id)
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="live-hub-read"),
            asyncio.create_task(self._poll_loop(), name="live-hub-poll"),
            asyncio.create_task(self._heartbeat_loop(), name="live-hub-heartbeat"),
        ]
        if not self.database.is_sqlite:
            from dispatch.live import listener

            self._tasks.append(
                asyncio.create_task(
                    listener.listen(
                        self.database.url,
                        self.ring,
                        retry_s=self.settings.live_listen_retry_s,
                        ignore_origin=self.database.origin,
                    ),
                    name="live-hub-listen",
                )
            )

    async def stop(self) -> None:
        """Close every connection and stop reading."""
        if self._doorbell is not None:
            self.database.remove_listener(self._doorbell)
        for conn in self.connections():
            conn.close(CLOSE_SHUTDOWN, "server shutting down")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._hub_reader.shutdown(wait=True)
        self._replayers.shutdown(wait=True)
        self._engine.dispose()

    def ring(self) -> None:
        """Something may have been committed: read (call from the loop thread)."""
        self._rung.set()

    # ---------- events pushed by this process's commits ----------

    def _encode_pushed(self, committed: Committed) -> Pushed | None:
        """A transaction's events encoded in the committing thread, for the consoles now
        attached; None when only a read can encode them (live_service.encode_committed)."""
        tokens = self._tokens
        encoded = live_service.encode_committed(
            committed, None if tokens is None else partial(_wanted, tokens)
        )
        if encoded is None:
            return None
        return Pushed(committed.events[0].id, committed.events[-1].id, encoded, tokens)

    def _take_pushed(self, pushed: Pushed | None) -> None:
        """Fan out pushed events that follow the cursor; hold those beyond a gap (another
        process's or thread's events, not here yet) and read the gap from the database."""
        if pushed is None:
            self._rung.set()
            return
        self._pushed.append(pushed)
        if not self._reading:
            self._drain_pushed()

    def _drain_pushed(self) -> None:
        if not self._pushed:
            return
        self._pushed.sort(key=lambda p: p.first)
        while self._pushed:
            head = self._pushed[0]
            if head.first > self.cursor + 1:
                self._rung.set()  # a gap: the read loop reads up to the held events
                return
            self._pushed.pop(0)
            if head.last <= self.cursor:
                continue  # read from the database already
            after = self.cursor
            self.batches_pushed += 1
            self._fan_out(after, head.last, [e for e in head.events if e.id > after], head.tokens)

    def _gap_end(self) -> int | None:
        """The last id a read must cover before the held pushed events (None: read on)."""
        if not self._pushed:
            return None
        return min(p.first for p in self._pushed) - 1

    def _update_tokens(self) -> None:
        # Read from committing threads as one reference: never a set being changed.
        self._tokens = None if self._state_wide else frozenset(self._by_token)

    # ---------- connections ----------

    def attach(self, conn: Connection) -> None:
        """Start offering batches to a connection from the hub's current cursor."""
        conn.hub_mark = self.cursor
        slot = min(range(len(self._slots)), key=lambda i: len(self._slots[i]))
        conn.heartbeat_slot = slot
        self._slots[slot].add(conn)
        token = conn.scope.token
        if token is None:
            self._state_wide.add(conn)
        else:
            self._by_token.setdefault(token, set()).add(conn)
        if self._tokens is not None and (token is None or token not in self._tokens):
            self._update_tokens()

    def detach(self, conn: Connection) -> None:
        """Stop offering batches to a connection."""
        self._slots[conn.heartbeat_slot].discard(conn)
        token = conn.scope.token
        if token is None:
            self._state_wide.discard(conn)
        else:
            members = self._by_token.get(token)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self._by_token[token]
        self._update_tokens()

    def connections(self) -> list[Connection]:
        """Every attached connection."""
        out = list(self._state_wide)
        for members in self._by_token.values():
            out.extend(members)
        return out

    def connection_count(self) -> int:
        """How many consoles are connected to this process (the metrics gauge)."""
        return len(self._state_wide) + sum(len(m) for m in self._by_token.values())

    async def run_read(self, fn: Callable[[Session], T], *, replay: bool = False) -> T:
        """Run a read with its own session in the hub's (or a replay) thread."""

        def work() -> T:
            with Session(self._engine) as session:
                return fn(session)

        executor = self._replayers if replay else self._hub_reader
        return await asyncio.get_running_loop().run_in_executor(executor, work)

    # ---------- the loops ----------

    async def _read_loop(self) -> None:
        limit = self.settings.live_read_batch
        while True:
            await self._rung.wait()
            self._rung.clear()
            self._reading = True
            try:
                await self._read(limit)
            except Exception:
                # The database is the source of truth: try again shortly from the same cursor.
                log.exception("live hub could not read new events; retrying")
                await asyncio.sleep(0.5)
                self._rung.set()
            finally:
                self._reading = False
                self._drain_pushed()

    async def _read(self, limit: int) -> None:
        """Read and fan out what is committed after the cursor: up to the events this
        process pushed and holds, or on to the newest."""
        while True:
            after = self.cursor
            up_to = self._gap_end()
            if up_to is not None and up_to <= after:
                return  # the held events follow on: _drain_pushed sends them
            # Encode only the events some console now attached may see (none at all while
            # nobody is connected): a station without a console costs nothing.
            tokens = self._tokens
            if tokens is not None and not tokens:
                # Nobody connected: move past what is committed without reading it.
                upto = await self.run_read(live_service.last_id)
                if up_to is not None:
                    upto = min(upto, up_to)
                if upto > after:
                    self._fan_out(after, upto, [], tokens)
                return
            wanted = None if tokens is None else partial(_wanted, tokens)
            upto, new = await self.run_read(
                partial(live_service.read_new, after=after, up_to=up_to, limit=limit, wanted=wanted)
            )
            if upto <= after:
                if up_to is not None:
                    # The events before the held ones cannot be read (the timeline has a
                    # hole): forget the held events and read everything from the database.
                    log.warning("live hub found no events in (%d, %d]; reading on", after, up_to)
                    self._pushed.clear()
                    continue
                return
            self.batches_read += 1
            self._fan_out(after, upto, new, tokens)
            if upto - after < limit and up_to is None:
                return

    def _fan_out(
        self, after: int, upto: int, new: list[LiveEvent], tokens: frozenset[str] | None = None
    ) -> None:
        """Offer each connection its events of (after, upto].

        `tokens`: the scope tokens the read encoded events for (None: every event). A
        connection that attached during the read may have had its events left out: it gets
        an empty batch starting at `upto`, which makes it read (its cursor, upto] itself.
        """
        per_conn: dict[Connection, list[LiveEvent]] = {}
        state_wide = self._state_wide
        by_token = self._by_token
        if tokens is not None:
            uncovered = list(state_wide)
            for token, members in by_token.items():
                if token not in tokens:
                    uncovered.extend(members)
            for conn in uncovered:
                conn.offer(Batch(after=upto, upto=upto, events=[]))
                conn.hub_mark = upto
            if uncovered:
                state_wide = set()
                by_token = {t: m for t, m in by_token.items() if t in tokens}
        for event in new:
            for conn in state_wide:
                per_conn.setdefault(conn, []).append(event)
            for token in event.scope.strip("|").split("|"):
                found = by_token.get(token)
                if found:
                    for conn in found:
                        per_conn.setdefault(conn, []).append(event)
        for conn, visible in per_conn.items():
            conn.offer(Batch(after=conn.hub_mark, upto=upto, events=visible))
            conn.hub_mark = upto
        self.cursor = upto

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.live_poll_s)
            self._rung.set()

    async def _heartbeat_loop(self) -> None:
        # Each connection is visited once per interval, in its slice: pinged, or closed if it
        # has not answered the previous ping (or its token has expired).
        slices = len(self._slots)
        tick = self.settings.heartbeat_s / slices
        visit = 0
        while True:
            await asyncio.sleep(tick)
            try:
                await self.revalidate(visit % slices)
            except Exception:  # the database is down: keep the heartbeats going
                log.exception("live hub: could not check the consoles' users")
            self.heartbeat(visit % slices)
            visit += 1

    async def revalidate(self, slot: int) -> int:
        """Close (4401) the consoles of one heartbeat slice whose user has been made
        inactive or given another role or unit since they connected: an officer who has left
        or been transferred stops receiving the old station's alerts within a heartbeat
        interval, whichever process or command changed the account. Returns how many."""
        conns = [conn for conn in self._slots[slot] if conn.close_code is None]
        if not conns:
            return 0
        names = sorted({conn.username for conn in conns})
        now = await self.run_read(partial(live_service.scopes_now, usernames=names), replay=True)
        closed = 0
        for conn in conns:
            scope = now.get(conn.username)
            if scope is None:
                conn.close(CLOSE_UNAUTHORIZED, "account deactivated")
            elif scope != conn.scope:
                conn.close(CLOSE_UNAUTHORIZED, "account's role or unit changed; sign in again")
            else:
                continue
            closed += 1
        return closed

    def heartbeat(self, slot: int) -> int:
        """Ping the connections of one heartbeat slice, closing those whose token has
        expired or that left the last ping unanswered; returns how many it pinged."""
        interval = self.settings.heartbeat_s
        now = time.monotonic()
        wall = self.clock.now()
        pinged = 0
        for conn in list(self._slots[slot]):
            if conn.expires_at is not None and conn.expires_at <= wall:
                conn.close(CLOSE_UNAUTHORIZED, "token expired; sign in again")
            elif conn.awaiting_pong_since is not None:
                if now - conn.awaiting_pong_since >= interval * 0.9:
                    conn.close(CLOSE_HEARTBEAT, "no pong; connection presumed dead")
            else:
                conn.awaiting_pong_since = now
                conn.send_control(PING_TEXT)
                pinged += 1
        return pinged


def heartbeat_slices(interval_s: float) -> int:
    """How many slices a heartbeat interval is cut into (ticks no shorter than 50 ms)."""
    return max(1, min(HEARTBEAT_SLICES, int(interval_s / HEARTBEAT_MIN_TICK_S)))


def _wanted(tokens: frozenset[str], scope: str) -> bool:
    """Whether an event with this scope string reaches any of these tokens."""
    return any(token in tokens for token in scope.strip("|").split("|"))
