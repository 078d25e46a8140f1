"""The PostgreSQL doorbell: other databases' commits ring, this database's own do not."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from dispatch.db import Database
from dispatch.live import listener
from tests.conftest import POSTGRES_URL, _postgres_database, reset_postgres
from tests.helpers import commit_event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs DISPATCH_TEST_POSTGRES_URL"),
]


@pytest.fixture
def database() -> Database:
    """Only PostgreSQL here (overrides the parametrised fixture): emptied for each test."""
    db = _postgres_database()
    reset_postgres(db)
    return db


async def _rings_after(database: Database, commit_through: Database, ignore: str | None) -> int:
    rings = 0

    def ring() -> None:
        nonlocal rings
        rings += 1

    task = asyncio.create_task(
        listener.listen(database.url, ring, retry_s=0.1, ignore_origin=ignore)
    )
    try:
        # The listener rings once when it starts listening (to read what it may have missed).
        for _ in range(100):
            if rings:
                break
            await asyncio.sleep(0.02)
        assert rings == 1
        await asyncio.to_thread(commit_event, commit_through)
        await asyncio.sleep(0.5)
        return rings - 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _run(database: Database, commit_through: Database, ignore: str | None) -> int:
    # In a thread of its own: an earlier test (Playwright's sync API) may have left an event
    # loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _rings_after(database, commit_through, ignore)).result()


def test_own_commits_are_ignored_and_other_processes_ring(database: Database) -> None:
    other = Database(database.url)
    try:
        assert _run(database, database, database.origin) == 0
        assert _run(database, other, database.origin) == 1
        # Without an origin to ignore (no hub of this database), every commit rings.
        assert _run(database, database, None) == 1
    finally:
        other.dispose()
