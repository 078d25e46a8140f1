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

Doorbells: in-process commits (Database.on_events_committed), PostgreSQL NOTIFY from other
processes (listener.py), and a slow poll as a safety net. A ring only makes the hub read.
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


@dataclass(frozen=True, slots=True)
class Batch:
    """Events for one connection covering the id range (after, upto]."""

    after: int
    upto: int
    events: list[LiveEvent]


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
        self._rung = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._doorbell: Callable[[], None] | None = None
        self.batches_read = 0

    # ---------- lifecycle ----------

    async def start(self) -> None:
        """Register the doorbells, take the current cursor and start reading."""
        loop = asyncio.get_running_loop()
        self._loop = loop

        def doorbell() -> None:
            # Runs in the committing thread: hand over to the loop and return at once.
            with contextlib.suppress(RuntimeError):  # the loop is closed (shutdown)
                loop.call_soon_threadsafe(self._rung.set)

        self._doorbell = doorbell
        self.database.on_events_committed(doorbell)
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

    # ---------- connections ----------

    def attach(self, conn: Connection) -> None:
        """Start offering batches to a connection from the hub's current cursor."""
        conn.hub_mark = self.cursor
        token = conn.scope.token
        if token is None:
            self._state_wide.add(conn)
        else:
            self._by_token.setdefault(token, set()).add(conn)

    def detach(self, conn: Connection) -> None:
        """Stop offering batches to a connection."""
        token = conn.scope.token
        if token is None:
            self._state_wide.discard(conn)
        else:
            members = self._by_token.get(token)
            if members is not None:
                members.discard(conn)
                if not members:
                    del self._by_token[token]

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
            try:
                while True:
                    after = self.cursor
                    # Encode only the events some console now attached may see (none at all
                    # while nobody is connected): a station without a console costs nothing.
                    tokens = None if self._state_wide else frozenset(self._by_token)
                    if tokens is not None and not tokens:
                        # Nobody connected: move past what is committed without reading it.
                        upto = await self.run_read(live_service.last_id)
                        if upto > after:
                            self._fan_out(after, upto, [], tokens)
                        break
                    wanted = None if tokens is None else partial(_wanted, tokens)
                    upto, new = await self.run_read(
                        partial(live_service.read_new, after=after, limit=limit, wanted=wanted)
                    )
                    if upto <= after:
                        break
                    self.batches_read += 1
                    self._fan_out(after, upto, new, tokens)
                    if upto - after < limit:
                        break
            except Exception:
                # The database is the source of truth: try again shortly from the same cursor.
                log.exception("live hub could not read new events; retrying")
                await asyncio.sleep(0.5)
                self._rung.set()

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
        interval = self.settings.heartbeat_s
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            wall = self.clock.now()
            for conn in self.connections():
                if conn.expires_at is not None and conn.expires_at <= wall:
                    conn.close(CLOSE_UNAUTHORIZED, "token expired; sign in again")
                elif conn.awaiting_pong_since is not None:
                    if now - conn.awaiting_pong_since >= interval * 0.9:
                        conn.close(CLOSE_HEARTBEAT, "no pong; connection presumed dead")
                else:
                    conn.awaiting_pong_since = now
                    conn.send_control(PING_TEXT)


def _wanted(tokens: frozenset[str], scope: str) -> bool:
    """Whether an event with this scope string reaches any of these tokens."""
    return any(token in tokens for token in scope.strip("|").split("|"))
