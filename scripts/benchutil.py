"""Shared helpers for the benchmark scripts: start a real server, percentiles, tables, and a
small HTTP/1.1 client for the load loops."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

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


def calibrate(rounds: int = 5) -> float:
    """Milliseconds this machine takes now for a fixed piece of Python work like a request's
    (build a payload, JSON encode and decode it, hash it, insert it into SQLite in memory),
    best of `rounds`. Lower is faster. The benchmarks print it beside their figures: this
    machine's speed has varied by a factor of two or more within a day, and figures are only
    comparable at a similar calibration.
    """
    best = float("inf")
    for _ in range(rounds):
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, digest TEXT)")
        started = time.perf_counter()
        for i in range(2000):
            payload = {
                "external_id": f"cal-{i}",
                "category": "suicide_risk",
                "subject": {"name": "Test Person", "phones": [f"+91987650{i:04d}"]},
                "location": {"lat": 26.886 + i * 1e-6, "lon": 78.9128, "accuracy_m": 50},
            }
            text = json.dumps(payload, sort_keys=True)
            digest = hashlib.sha256(text.encode()).hexdigest()
            db.execute("INSERT INTO t (body, digest) VALUES (?, ?)", (text, digest))
            json.loads(text)
        db.commit()
        best = min(best, (time.perf_counter() - started) * 1000)
        db.close()
    return round(best, 1)


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


# base URL -> pid of each `dispatch serve` that server() is running (for cpu_seconds).
SERVER_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User plus system CPU time a process has used so far (Linux /proc), 0.0 if gone; with
    `reaped_children`, also that of its children that have exited and been waited for."""
    return _stat_seconds(Path(f"/proc/{pid}/stat"), reaped_children=reaped_children)


def _stat_seconds(stat: Path, *, reaped_children: bool = False) -> float:
    """The CPU seconds in a /proc stat file (a process's or a thread's), 0.0 if gone."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15, cutime 16 and
    # cstime 17 (1-based, man proc).
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds used so far by each kind of thread of a process, by the name the
    service gives its threads at the operating-system level (dispatch.threads), with a
    trailing number dropped ("intake-writer-0" -> "intake-writer"); the main thread (the
    event loop in `dispatch serve`) is "event loop", threads left unnamed are "other"."""
    out: dict[str, float] = {}
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        # An unnamed thread keeps the process's name ("python", or "dispatch" when started
        # through the console script).
        unnamed = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return out
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            name = Path(f"{base}/comm").read_text().strip()
        except OSError:
            continue  # the thread ended
        if tid == pid:
            name = "event loop"
        elif name == unnamed:
            name = "other"
        else:
            name = name.rstrip("0123456789").rstrip("_-")
        out[name] = out.get(name, 0.0) + _stat_seconds(Path(f"{base}/stat"))
    return out


def postgres_cpu_seconds() -> float:
    """CPU time used so far by every process of the local `postgres` user (the server and
    its backends; 0.0 where there is no such user or /proc cannot be read).

    Backends that have exited count too, through their parent's reaped-children time: a
    connection closed during a run would otherwise take its CPU out of the sum (a run once
    showed PostgreSQL at -0.44 ms per alert)."""
    import pwd

    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        total += cpu_seconds(int(entry.name), reaped_children=True)
    return total


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
        SERVER_PIDS[base] = proc.pid
        yield base
    finally:
        SERVER_PIDS.pop(base, None)
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


# ---------- a minimal HTTP/1.1 keep-alive client for the load loops ----------
#
# httpx costs a large share of a 2-core machine's CPU per request, taken from the server being
# measured. These clients do only what the benchmarks need: POST a body to a server on
# 127.0.0.1 over persistent connections and read a Content-Length (or close-delimited) answer.

MAX_HEAD_BYTES = 64 * 1024


class HttpProtocolError(Exception):
    """The server's answer was not a well-formed HTTP/1.x response this client can read."""


class _Unanswered(HttpProtocolError):
    """The connection closed before any byte of an answer (a reused one may be retried)."""


def _origin(base_url: str) -> tuple[str, int]:
    """(host, port) of an `http://host:port` base URL."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"expected http://host:port, got {base_url!r}")
    return parts.hostname, parts.port or 80


def _request_head(
    host: str, port: int, path: str, length: int, headers: Mapping[str, str]
) -> bytes:
    """The request line and headers of a POST with a `length`-byte body."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if " " in path or any(c in line for line in lines for c in "\r\n\0"):
        raise ValueError("the path and headers must not contain spaces (path), CR, LF or NUL")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(head: bytes) -> tuple[int, int | None, bool]:
    """(status, body length or None when delimited by close, keep the connection) of a
    response head ending in CRLF CRLF."""
    status_line, *lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code = rest[:3]
    if (
        version not in (b"HTTP/1.1", b"HTTP/1.0")
        or len(code) != 3
        or not code.isdigit()
        or rest[3:4] not in (b"", b" ")
    ):
        raise HttpProtocolError(f"malformed status line {status_line[:100]!r}")
    status = int(code)
    if status < 200:  # we never send Expect: 100-continue, nor ask to switch protocols
        raise HttpProtocolError(f"unexpected informational response {status}")
    length: int | None = None
    keep = version == b"HTTP/1.1"
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b"\n" in line:
            raise HttpProtocolError(f"malformed header line {line[:100]!r}")
        name = name.lower()
        value = value.strip()
        if name == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise HttpProtocolError(f"bad Content-Length {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            raise HttpProtocolError(f"Transfer-Encoding {value[:40]!r} is not supported")
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"close" in tokens:
                keep = False
            elif b"keep-alive" in tokens:
                keep = True
    if status in (204, 304):  # never a body, whatever the headers say
        length = 0
    if length is None:  # the body runs to the end of the connection
        keep = False
    return status, length, keep


class _AsyncConnection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        """False once the server has closed (or broken) this idle connection."""
        reader = self.reader
        return not (self.writer.is_closing() or reader.at_eof() or reader.exception())


class AsyncHttpClient:
    """POST to one server over a pool of keep-alive connections (opened as needed, at most
    `max_connections` at once; a request beyond that waits for one to come free)."""

    def __init__(self, base_url: str, *, max_connections: int = 100, timeout: float = 30) -> None:
        self.host, self.port = _origin(base_url)
        self.timeout = timeout
        self._idle: list[_AsyncConnection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Send one POST and read its whole answer: (status, body). Raises OSError,
        TimeoutError (the whole exchange, waiting for a connection included) or
        HttpProtocolError."""
        request = _request_head(self.host, self.port, path, len(body), headers) + body
        async with asyncio.timeout(self.timeout), self._slots:
            conn, reused = await self._connection()
            try:
                return await self._exchange(conn, request)
            except (ConnectionError, _Unanswered):
                # The server closed an idle keep-alive connection just as we reused it
                # (nothing was answered): send once more on a new one, as HTTP clients do.
                if not reused:
                    raise
            conn, _ = await self._connection(fresh=True)
            return await self._exchange(conn, request)

    async def _exchange(self, conn: _AsyncConnection, request: bytes) -> tuple[int, bytes]:
        keep = False
        try:
            conn.writer.write(request)
            await conn.writer.drain()
            status, answer, keep = await self._response(conn.reader)
            return status, answer
        finally:
            if keep:
                self._idle.append(conn)
            else:
                conn.writer.close()

    async def _connection(self, *, fresh: bool = False) -> tuple[_AsyncConnection, bool]:
        while self._idle and not fresh:
            conn = self._idle.pop()
            if conn.usable():
                return conn, True
            conn.writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_HEAD_BYTES)
        return _AsyncConnection(reader, writer), False

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Unanswered("connection closed before answering") from None
            raise HttpProtocolError("connection closed in the response head") from None
        except asyncio.LimitOverrunError:
            raise HttpProtocolError("response head too long") from None
        status, length, keep = _parse_head(head)
        if length is None:
            return status, await reader.read(), False
        try:
            return status, await reader.readexactly(length), keep
        except asyncio.IncompleteReadError as exc:
            raise HttpProtocolError(
                f"connection closed after {len(exc.partial)} of {length} body bytes"
            ) from None

    async def aclose(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.writer.close()
        for conn in idle:
            with suppress(OSError):
                await conn.writer.wait_closed()

    async def __aenter__(self) -> AsyncHttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class HttpClient:
    """POST to one server over one keep-alive connection (blocking; reopened when the server
    closes it)."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        self.host, self.port = _origin(base_url)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Send one POST and read its whole answer: (status, body). Raises OSError (a socket
        timeout included) or HttpProtocolError; the connection is dropped after any error."""
        request = _request_head(self.host, self.port, path, len(body), headers) + body
        sock = self._connection()
        keep = False
        try:
            sock.sendall(request)
            head = self._read_head(sock)
            status, length, keep = _parse_head(head)
            answer = self._read_to_end(sock) if length is None else self._read_exactly(sock, length)
            if self._buf:
                keep = False
                raise HttpProtocolError(f"{len(self._buf)} bytes after the response body")
            return status, answer
        finally:
            if not keep:
                self.close()

    def _connection(self) -> socket.socket:
        sock = self._sock
        # An idle keep-alive connection is readable only once the server has closed it (or
        # sent something unasked for): either way it cannot carry the next request.
        if sock is not None and select.select([sock], [], [], 0)[0]:
            self.close()
            sock = None
        if sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return sock

    def _fill(self, sock: socket.socket) -> bool:
        chunk = sock.recv(65536)
        self._buf += chunk
        return bool(chunk)

    def _read_head(self, sock: socket.socket) -> bytes:
        start = 0
        while (end := self._buf.find(b"\r\n\r\n", start)) < 0:
            if len(self._buf) > MAX_HEAD_BYTES:
                raise HttpProtocolError("response head too long")
            start = max(0, len(self._buf) - 3)
            if not self._fill(sock):
                what = "before answering" if not self._buf else "in the response head"
                raise HttpProtocolError(f"connection closed {what}")
        head = bytes(self._buf[: end + 4])
        del self._buf[: end + 4]
        return head

    def _read_exactly(self, sock: socket.socket, length: int) -> bytes:
        while len(self._buf) < length:
            if not self._fill(sock):
                raise HttpProtocolError(
                    f"connection closed after {len(self._buf)} of {length} body bytes"
                )
        answer = bytes(self._buf[:length])
        del self._buf[:length]
        return answer

    def _read_to_end(self, sock: socket.socket) -> bytes:
        while self._fill(sock):
            pass
        answer = bytes(self._buf)
        self._buf.clear()
        return answer

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
