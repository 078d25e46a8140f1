"""Group commit for partner intake: many alerts, one transaction, one commit.

Each intake request does its own checking, resolving and sealing (alerts.service.prepare, on
the event loop: pure computation) and hands the result to the writer. A writer thread takes
every alert waiting, up to DISPATCH_INTAKE_BATCH_MAX, and stores them in one transaction
with their timelines and, through `first_step`, each alert's first escalation step (paging
the station): one commit and one hold of the timeline's sequence lock for the group instead
of three transactions per alert. A lone alert is stored at once, so nothing waits for a
group to fill. The request is answered only after the commit: a 201 still means stored.

Nothing is lost on a failure: if the group's transaction fails, each alert is stored again
in a transaction of its own (without the inline first step, which a sweep then does), so
one bad alert cannot sink the others, and each request gets its own answer (503 while the
database is away). Messages, timers and other after-commit work run in a small executor,
never in the writer thread: a slow provider call must not hold up the next group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlmodel import Session

from dispatch import threads as thread_names
from dispatch.alerts import service as alerts_service
from dispatch.alerts.models import Alert
from dispatch.alerts.resolver import Resolver
from dispatch.db import Database, defer_after_commit
from dispatch.writes import Read

log = logging.getLogger(__name__)

# Run new alerts' first escalation steps in the transaction that creates them.
FirstStep = Callable[[Session, list[Alert]], object]
# What that step will read, as statements to send with intake's own (PostgreSQL).
FirstReads = Callable[[Session, list[Alert]], Sequence[Read]]


class IntakeUnavailable(RuntimeError):
    """The writer is not running (the service is starting or shutting down): retry."""


@dataclass(slots=True)
class _Job:
    prepared: alerts_service.Prepared
    future: asyncio.Future[alerts_service.Intake]
    loop: asyncio.AbstractEventLoop


_Outcome = alerts_service.Intake | BaseException


class IntakeWriter:
    """Stores prepared partner alerts in groups, from its own threads."""

    def __init__(
        self,
        *,
        database: Database,
        resolver: Resolver,
        first_step: FirstStep | None = None,
        first_reads: FirstReads | None = None,
        batch_max: int = 64,
        threads: int = 1,
        after_commit_threads: int = 4,
    ) -> None:
        self.database = database
        self.resolver = resolver
        self.first_step = first_step
        self.first_reads = first_reads
        self.batch_max = batch_max
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"intake-writer-{i}", daemon=True)
            for i in range(threads)
        ]
        self._after = ThreadPoolExecutor(
            after_commit_threads, "intake-after-commit", initializer=thread_names.name_this_thread
        )
        self._accepting = False
        self._counted = threading.Lock()  # several writer threads update the counts
        self.transactions = 0  # committed groups (for tests and benchmarks)
        self.stored = 0

    def start(self) -> None:
        """Start the writer threads."""
        self._accepting = True
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Store what is waiting, then stop; later requests are refused (IntakeUnavailable)."""
        self._accepting = False
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        # A request that slipped in after the stop markers is still stored.
        leftover: list[_Job] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                leftover.append(job)
        if leftover:
            self._write(leftover)
        self._after.shutdown(wait=True)

    async def store(self, prepared: alerts_service.Prepared) -> alerts_service.Intake:
        """Store one prepared alert; returns once its group has committed."""
        if not self._accepting:
            raise IntakeUnavailable("intake is not running (starting or shutting down); retry")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[alerts_service.Intake] = loop.create_future()
        self._queue.put(_Job(prepared, future, loop))
        # A request whose client goes away is still stored: shield the write from cancellation.
        return await asyncio.shield(future)

    # ---------- the writer threads ----------

    def _run(self) -> None:
        thread_names.name_this_thread()  # "intake-writer-0" in top -H
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stopping = False
            while len(batch) < self.batch_max:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[_Job]) -> None:
        outcomes: list[_Outcome]
        try:
            outcomes = list(self._transaction(batch, self.first_step))
        except Exception as exc:
            if len(batch) == 1 and self.first_step is None:
                outcomes = [exc]
            else:
                # One transaction per alert, and the first step left to the sweeper: an alert
                # that cannot be stored must not take the others down with it.
                log.warning(
                    "intake group of %d failed (%s); storing them one by one",
                    len(batch),
                    type(exc).__name__,
                )
                outcomes = [self._alone(job) for job in batch]
        self._settle(batch, outcomes)

    def _alone(self, job: _Job) -> _Outcome:
        try:
            return self._transaction([job], None)[0]
        except Exception as exc:
            return exc

    def _transaction(
        self, batch: list[_Job], first_step: FirstStep | None
    ) -> list[alerts_service.Intake]:
        with self.database.session() as session:
            defer_after_commit(session, self._after)
            group = [job.prepared for job in batch]
            reads: Sequence[Read] = ()
            if first_step is not None and self.first_reads and not self.database.is_sqlite:
                reads = self.first_reads(session, [prepared.alert for prepared in group])
            out = alerts_service.store_many(session, group, self.resolver, reads=reads)
            created = [intake.alert for intake in out if intake.created]
            if first_step is not None and created:
                first_step(session, created)
            session.commit()
        with self._counted:
            self.transactions += 1
            self.stored += sum(1 for intake in out if intake.created)
        return out

    def _settle(self, batch: list[_Job], outcomes: list[_Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, _Outcome]]] = {}
        for job, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(job.loop, []).append((job, outcome))
        for loop, pairs in by_loop.items():
            # A loop that has closed has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_answer, pairs)


def _answer(pairs: list[tuple[_Job, _Outcome]]) -> None:
    for job, outcome in pairs:
        if job.future.done():
            continue
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
