"""A `dispatch serve` process for fault and load tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from scripts.benchutil import free_port

__all__ = ["free_port", "rss_mb", "service"]

REPO = Path(__file__).resolve().parents[2]
SECRET = "fault-test-secret-0123456789-abcdefghijklmnop"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@contextmanager
def service(
    url: str, port: int, extra_env: dict[str, str] | None = None, *, demo: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """`dispatch serve` in its own process; yields once /readyz answers 200.

    With `demo` the demo contacts exist (as in a deployment); without, no post can be
    reached and every escalation level is paged at once.
    """
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": url,
        "DISPATCH_SECRET_KEY": SECRET,
        "DISPATCH_ENV": "development",
        "DISPATCH_SWEEP_INTERVAL_S": "1",
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port)]
        + (["--demo"] if demo else []),
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the service died on start"
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
