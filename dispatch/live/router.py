"""The console WebSocket: `/ws?token=<bearer>&since=<event id>&batch=1`.

Protocol (JSON text frames, see docs/live.md):
server -> console: hello {cursor, user, server_time, heartbeat_s}, then replayed events
(when `since` was given) and `synced`, then live events {id, type, alert_id, at, actor, data,
alert} (with `batch=1`, events that are ready together may come as one frame
{"type": "batch", "events": [...]}, in id order); `ping` every heartbeat_s (answer `pong`);
`pong` to a console's `ping`.
Close codes: 4401 bad or expired token, 4400 bad query, 4408 no pong, 4429 too slow
(reconnect with since=<last id>), 1001 shutdown.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import partial

import jwt
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import Session

from dispatch.auth import service as auth_service
from dispatch.auth.models import Role, User
from dispatch.auth.scope import Scope
from dispatch.live import service as live_service
from dispatch.live.hub import (
    CLOSE_BAD_REQUEST,
    CLOSE_UNAUTHORIZED,
    PONG_TEXT,
    Connection,
    Hub,
)
from dispatch.live.service import LiveEvent

router = APIRouter(tags=["live"])
REPLAY_BATCH = 500


@router.websocket("/ws")
async def live_events(websocket: WebSocket) -> None:
    """Push the events of the user's scope: replay from `since`, then live."""
    await websocket.accept()
    hub: Hub = websocket.app.state.hub
    token = websocket.query_params.get("token") or ""
    user = await _authenticate(hub, token)
    if user is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "invalid or expired token")
        return
    raw_since = websocket.query_params.get("since")
    since: int | None = None
    if raw_since not in (None, ""):
        try:
            since = int(str(raw_since))
        except ValueError:
            since = -1
        if since < 0:
            await websocket.close(CLOSE_BAD_REQUEST, "since must be an event id (integer >= 0)")
            return
    conn = Connection(
        scope=Scope(role=Role(user.role), unit=user.unit),
        username=user.username,
        max_queue=hub.settings.live_queue_max,
        expires_at=_expiry(token),
        batched=websocket.query_params.get("batch") in ("1", "true"),
    )
    hub.attach(conn)
    try:
        await _serve(websocket, hub, conn, user, since)
    finally:
        hub.detach(conn)


async def _authenticate(hub: Hub, token: str) -> User | None:
    if not token:
        return None
    now = hub.clock.now()

    def check(session: Session) -> User | None:
        try:
            return auth_service.user_from_token(
                session=session, token=token, settings=hub.settings, now=now
            )
        except auth_service.AuthError:
            return None

    return await hub.run_read(check, replay=True)


def _expiry(token: str) -> datetime | None:
    # Already verified by user_from_token; read exp so the hub can close at expiry.
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(int(claims["exp"]), UTC)


async def _serve(
    websocket: WebSocket, hub: Hub, conn: Connection, user: User, since: int | None
) -> None:
    sender = asyncio.create_task(_send_loop(websocket, hub, conn, user, since))
    receiver = asyncio.create_task(_receive_loop(websocket, conn))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)


async def _receive_loop(websocket: WebSocket, conn: Connection) -> None:
    try:
        while True:
            text = await websocket.receive_text()
            conn.pong()  # any message shows the console is alive
            try:
                kind = json.loads(text).get("type")
            except (ValueError, AttributeError):
                continue
            if kind == "ping":
                conn.send_control(PONG_TEXT)
    except (WebSocketDisconnect, RuntimeError):
        return


async def _send_loop(
    websocket: WebSocket, hub: Hub, conn: Connection, user: User, since: int | None
) -> None:
    try:
        start = conn.hub_mark
        if since is None:
            # Live from now: the console reads its list after this hello, so what was
            # committed before it (even if this process's hub has not read it yet) is history.
            start = max(start, await hub.run_read(live_service.last_id))
        elif since > start:
            # A console may know ids this process has not read yet (another process served
            # it); a cursor past the end of the timeline (a reset database) starts afresh.
            since = min(since, await hub.run_read(live_service.last_id, replay=True))
        conn.cursor = start if since is None else since
        await websocket.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "cursor": conn.cursor,
                    "user": {
                        "username": user.username,
                        "full_name": user.full_name,
                        "role": user.role,
                        "unit": user.unit,
                    },
                    "server_time": hub.clock.now().isoformat(),
                    "heartbeat_s": hub.settings.heartbeat_s,
                    "replay": since is not None,
                }
            )
        )
        if since is not None:
            await _catch_up(websocket, hub, conn, up_to=start)
            await websocket.send_text(json.dumps({"type": "synced", "cursor": conn.cursor}))
        while True:
            control, batch = await conn.next_item()
            for text in control:
                await websocket.send_text(text)
            if conn.close_code is not None:
                await websocket.close(conn.close_code, conn.close_reason)
                return
            if batch is None:
                continue
            if batch.after > conn.cursor:
                await _catch_up(websocket, hub, conn, up_to=batch.after)
            fresh = [event for event in batch.events if event.id > conn.cursor]
            if fresh:
                conn.cursor = fresh[-1].id
                await _send_events(websocket, conn, fresh)
            conn.cursor = max(conn.cursor, batch.upto)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


async def _catch_up(websocket: WebSocket, hub: Hub, conn: Connection, *, up_to: int) -> None:
    """Send the events the user may see in (cursor, up_to] from the database, in batches."""
    while conn.cursor < up_to:
        after = conn.cursor
        covered, found = await hub.run_read(
            partial(
                live_service.read_visible,
                scope=conn.scope,
                after=after,
                up_to=up_to,
                limit=REPLAY_BATCH,
            ),
            replay=True,
        )
        if found:
            conn.cursor = found[-1].id
            await _send_events(websocket, conn, found)
        conn.cursor = max(conn.cursor, covered)


async def _send_events(websocket: WebSocket, conn: Connection, found: list[LiveEvent]) -> None:
    """Send events in order: one frame each, or, for a console that asked for batches, one
    `batch` frame for all of them (an intake and its first escalation step are about six
    events; one frame instead of six per console is most of the cost of fanning out)."""
    if conn.batched and len(found) > 1:
        await websocket.send_text(
            '{"type":"batch","events":[' + ",".join(e.text for e in found) + "]}"
        )
        return
    for event in found:
        await websocket.send_text(event.text)
