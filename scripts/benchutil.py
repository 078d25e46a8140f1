"""Shared helpers for the benchmark scripts: start a real server, percentiles, tables."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def sqlite_url() -> str:
    """A fresh SQLite file in a temporary folder."""
    folder = tempfile.mkdtemp(prefix="dispatch-bench-")
    return f"sqlite:///{folder}/bench.db"


def reset_postgres(url: str) -> None:
    """Drop and recreate the public schema of a benchmark PostgreSQL database."""
    import sqlalchemy as sa

    from dispatch.db import normalise_url

    engine = sa.create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def make_partner(database_url: str, name: str = "bench") -> tuple[str, str]:
    """Register a partner through the CLI; returns (api_key, secret)."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": database_url}
    out = subprocess.run(
        [PYTHON, "-m", "dispatch.cli", "partner", "add", name, "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["api_key"], data["secret"]


@contextmanager
def server(
    database_url: str,
    *,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    demo: bool = True,
) -> Iterator[str]:
    """Run `dispatch serve` in a subprocess until the block ends; yields its base URL.

    With `demo` (the default) the demo contacts exist, as in a real deployment: without any
    contact every escalation level is unreachable and the engine pages all of them at once,
    which is the right thing to do, but not the usual load.
    """
    port = port or free_port()
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": database_url,
        "DISPATCH_ENV": "development",
        **(extra_env or {}),
    }
    log_path = Path(tempfile.mkdtemp(prefix="dispatch-bench-log-")) / "server.log"
    log = log_path.open("wb")  # a file, not a pipe: an undrained pipe would stall the server
    proc = subprocess.Popen(
        [PYTHON, "-m", "dispatch.cli", "serve", "--port", str(port), "--log-level", "warning"]
        + (["--demo"] if demo else []),
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(log_path.read_text(errors="replace")[-4000:] or "server died")
        else:
            raise RuntimeError("server did not start within 30 s")
        yield base
    finally:
        stop_process(proc)
        log.close()
        errors = log_path.read_text(errors="replace")
        if "Traceback" in errors:
            print(f"server errors (full log: {log_path}):\n{errors[-3000:]}", file=sys.stderr)


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within timeout_s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def escalation_worker(database_url: str) -> Iterator[None]:
    """Run `dispatch escalation worker` (PostgreSQL) until the block ends."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": database_url, "DISPATCH_ENV": "development"}
    log_path = Path(tempfile.mkdtemp(prefix="dispatch-bench-worker-")) / "worker.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [PYTHON, "-m", "dispatch.cli", "escalation", "worker"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while b"escalation worker running" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text(errors="replace")[-4000:])
            time.sleep(0.1)
        yield
    finally:
        stop_process(proc)
        log.close()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A small markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
