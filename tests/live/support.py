"""A real uvicorn server in a thread, and small WebSocket and HTTP helpers for live tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from dispatch.alerts.events import Committed
from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials
from dispatch.db import Database
from dispatch.live import service as live_service
from tests.helpers import encode


class LiveServer:
    """uvicorn serving an app on a free 127.0.0.1 port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws_ping_interval=20
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.port = 0

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Shut down cleanly (lifespan shutdown runs, consoles are closed)."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "uvicorn did not stop"

    @property
    def http(self) -> str:
        """Base HTTP URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        """Base WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}"


@contextmanager
def running(app: FastAPI) -> Iterator[LiveServer]:
    """A LiveServer for the duration of a block."""
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def login(base: str, username: str, password: str = "correct-horse-1") -> str:
    """A bearer token for a user."""
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def post_alert(base: str, creds: PartnerCredentials, body: dict[str, Any]) -> int:
    """A signed partner alert through the intake API; returns the alert id."""
    return int(signed(base, "/api/v1/alerts", creds, body).json()["id"])


def signed(base: str, path: str, creds: PartnerCredentials, body: Any) -> httpx.Response:
    """A signed partner POST."""
    raw = encode(body)
    r = httpx.post(
        base + path,
        content=raw,
        headers={
            "X-Api-Key": creds.api_key,
            "X-Signature": auth_service.sign_body(creds.secret, raw),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code in (200, 201), r.text
    return r


def api(base: str, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """An authenticated API call."""
    return httpx.request(
        method, base + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


class Console:
    """A console's WebSocket: hello first, then events; pings are answered automatically."""

    def __init__(
        self, ws_base: str, token: str, since: int | None = None, *, batch: bool = False
    ) -> None:
        query = f"token={token}" + (f"&since={since}" if since is not None else "")
        query += "&batch=1" if batch else ""
        self._stack = ExitStack()
        self.conn: ClientConnection = self._stack.enter_context(
            connect(f"{ws_base}/ws?{query}", open_timeout=5)
        )
        self.hello = self.recv(5)
        assert self.hello["type"] == "hello", self.hello
        self.synced: dict[str, Any] | None = None
        self._want_synced = False

    def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        """The next message (pings are answered and skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.conn.recv(timeout=max(0.0, deadline - time.monotonic())))
            if message.get("type") == "ping":
                self.conn.send('{"type":"pong"}')
                continue
            if message.get("type") == "synced":
                self.synced = message
                if self._want_synced:
                    return {}
                continue
            return dict(message)

    def events_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Collect events until done(events) is true; fails after timeout."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not done(got):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; got {[(e['id'], e['type']) for e in got]}")
            try:
                got.append(self.recv(left))
            except TimeoutError as exc:
                raise AssertionError(
                    f"timed out; got {[(e['id'], e['type']) for e in got]}"
                ) from exc
        return got

    def replay(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The replayed events, up to the server's `synced` message."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        self._want_synced = True
        try:
            while self.synced is None:
                try:
                    message = self.recv(max(0.0, deadline - time.monotonic()))
                except TimeoutError as exc:
                    raise AssertionError(f"no synced; got {[e['id'] for e in got]}") from exc
                if message:
                    got.append(message)
        finally:
            self._want_synced = False
        return got

    def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Every event that arrives within `seconds` (expected: none)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.recv(left))
            except TimeoutError:
                break
        return got

    def closed_with(self, timeout: float = 3.0) -> int | None:
        """Answer pings until the server closes; its close code (an event first fails)."""
        try:
            event = self.recv(timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        raise AssertionError(f"an event before the close: {event}")

    def close(self) -> None:
        """Close from the console's side."""
        self._stack.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def close_code(conn: ClientConnection, timeout: float = 3.0) -> int | None:
    """Read until the server closes; return its close code."""
    try:
        while True:
            conn.recv(timeout=timeout)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


def has_types(*types: str, alert_id: int | None = None) -> Callable[[list[dict[str, Any]]], bool]:
    """A predicate: every type has arrived (for that alert, if given)."""

    def done(events: list[dict[str, Any]]) -> bool:
        seen = {e["type"] for e in events if alert_id is None or e["alert_id"] == alert_id}
        return set(types) <= seen

    return done


def pushed_and_read(database: Database, taken: list[Committed]) -> tuple[list[Any], list[Any]]:
    """The frames the committing transactions encoded themselves, and their events as the
    hub reads them (JSON decoded: PostgreSQL's jsonb orders an event's data keys its own
    way)."""
    pushed: list[Any] = []
    for committed in taken:
        encoded = live_service.encode_committed(committed)
        assert encoded is not None
        pushed.extend(json.loads(e.text) for e in encoded)
    live = live_service.read_engine(database)
    try:
        with Session(live) as session:
            _, read = live_service.read_new(session, after=0, limit=1000)
    finally:
        live.dispose()
    covered = {e.id for committed in taken for e in committed.events}
    return pushed, [json.loads(e.text) for e in read if e.id in covered]
