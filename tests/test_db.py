"""The SQLite writer lock: waiters are served in arrival order; a timed-out waiter's turn
passes on."""

from __future__ import annotations

import threading
import time

from dispatch.db import FairLock


def test_a_thread_that_asks_again_at_once_waits_behind_the_others() -> None:
    lock = FairLock()
    order: list[str] = []
    assert lock.acquire(1)
    waiter = threading.Thread(
        target=lambda: (lock.acquire(5), order.append("waiter"), lock.release())
    )
    waiter.start()
    time.sleep(0.1)  # the waiter is queued
    lock.release()
    assert lock.acquire(5)  # the releasing thread asks again at once ...
    order.append("again")
    lock.release()
    waiter.join(5)
    assert order == ["waiter", "again"]  # ... and is served after the waiter


def test_a_waiter_that_gives_up_does_not_block_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    assert lock.acquire(0.05) is False  # gives up its turn
    got: list[bool] = []
    late = threading.Thread(target=lambda: got.append(lock.acquire(5)))
    late.start()
    time.sleep(0.05)
    lock.release()
    late.join(5)
    assert got == [True]
