"""The service's threads carry their names to the operating system (top -H, ps -L)."""

from __future__ import annotations

import sys
import threading

import pytest
from fastapi.testclient import TestClient

from dispatch import threads
from dispatch.auth.models import PartnerCredentials
from tests.helpers import make_alert, signed_post

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="thread names are set on Linux only"
)


def _os_thread_names() -> dict[int, str]:
    """This process's live threads as the operating system names them, by native id."""
    names: dict[int, str] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        try:
            names[thread.native_id] = _os_name_of(thread)
        except OSError:
            continue  # the thread ended meanwhile
    return names


def _os_name_of(thread: threading.Thread) -> str:
    assert thread.native_id is not None
    with open(f"/proc/self/task/{thread.native_id}/comm", encoding="utf-8") as comm:
        return comm.read().strip()


def test_a_thread_is_shown_by_its_python_name_cut_to_fifteen_bytes() -> None:
    seen: dict[str, str] = {}
    ready, done = threading.Event(), threading.Event()

    def work() -> None:
        threads.name_this_thread()
        ready.set()
        done.wait(5)

    for name in ("intake-writer-7", "a-very-long-thread-name"):
        ready.clear()
        done.clear()
        thread = threading.Thread(target=work, name=name)
        thread.start()
        assert ready.wait(5)
        seen[name] = _os_name_of(thread)
        assert _os_thread_names()[thread.native_id] == seen[name]  # type: ignore[index]
        done.set()
        thread.join()
    assert seen == {
        "intake-writer-7": "intake-writer-7",
        "a-very-long-thread-name": "a-very-long-thr",
    }


def test_the_services_threads_are_named_while_it_runs(
    client: TestClient, partner: PartnerCredentials
) -> None:
    r = signed_post(client, "/api/v1/alerts", make_alert(), partner)
    assert r.status_code == 201, r.text
    names = set(_os_thread_names().values())
    # The intake writer and the hub's reader of this app, by name, not "python".
    assert {"intake-writer-0", "live-hub_0"} <= names
