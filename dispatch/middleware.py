"""ASGI middleware: arrival timestamp, body size limit, security headers, access log."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.clock import Clock

log = logging.getLogger("dispatch.access")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' data: blob:; "
        b"style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self' ws: wss:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]


UPLOAD_PATHS = re.compile(r"/api/v1/tips/[^/]+/action")


class BodyTooLarge(Exception):
    """The request body passed the configured limit."""


class NulInBody(Exception):
    """A JSON or form body holds a NUL character."""


_NUL_PERCENT = b"%00"  # in a query string or a form
_NUL_JSON = b"\\u0000"


def _nul_marker(scope: Scope) -> bytes | None:
    """What a NUL character looks like in this request's body (JSON or a form), else None
    (files and other bodies may hold any byte)."""
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            if kind == b"application/json" or kind.endswith(b"+json"):
                return _NUL_JSON
            if kind == b"application/x-www-form-urlencoded":
                return _NUL_PERCENT
            return None
    return None


def _holds_nul(data: bytes, marker: bytes) -> bool:
    """Whether `data` writes a NUL character: %00 in a form; in JSON a \\u0000 escape whose
    backslash is not itself escaped (an odd run of backslashes)."""
    if marker == _NUL_PERCENT:
        return marker in data
    start = data.find(marker)
    while start != -1:
        run = 0
        while start - run - 1 >= 0 and data[start - run - 1] == 0x5C:  # backslash
            run += 1
        if run % 2 == 0:
            return True
        start = data.find(marker, start + 1)
    return False


class ArrivalMiddleware:
    """Stamps the arrival time first of all, limits body size, adds security headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        clock: Clock,
        max_body_bytes: int,
        upload_max_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        # Routes that take photos and video (a tip's action report) get the upload limit.
        self.upload_max_bytes = max(upload_max_bytes or max_body_bytes, max_body_bytes)

    def limit_for(self, path: str) -> int:
        """The body limit of a request path."""
        return self.upload_max_bytes if UPLOAD_PATHS.fullmatch(path) else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            scope.setdefault("state", {})["received_at"] = self.clock.now()
            await self.app(scope, receive, send)
            return
        received_at = self.clock.now()
        started = time.perf_counter()
        scope.setdefault("state", {})["received_at"] = received_at
        limit = self.limit_for(str(scope.get("path", "")))
        length = _content_length(scope)
        if length is not None and length > limit:
            await _too_large(send, limit)
            return
        # Twilio's signed webhooks are answered whatever a citizen typed: their forms are
        # cleaned of NULs after the signature is checked (notify.webhooks).
        webhook = str(scope.get("path", "")).startswith("/webhooks/")
        if not webhook and _NUL_PERCENT in scope.get("query_string", b""):
            await _unprocessable(send, "the query string holds a NUL character (%00)")
            return
        seen = 0
        status_code = 500

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        app_receive = limited_receive
        marker = None if webhook else _nul_marker(scope)

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            if marker is not None:
                # A JSON or form body is read whole here (the app would read it whole too) and
                # checked before the app sees it: PostgreSQL cannot store a NUL in text or
                # JSONB, and no field needs one. Files and other bodies stream as they come.
                replay = await _read_whole(limited_receive)
                body = replay[0].get("body", b"") if replay[0]["type"] == "http.request" else b""
                if _holds_nul(body, marker):
                    raise NulInBody

                async def replayed_receive() -> Message:
                    return replay.pop(0) if replay else await receive()

                app_receive = replayed_receive
            await self.app(scope, app_receive, send_with_headers)
        except BodyTooLarge:
            await _too_large(send, limit)
            status_code = 413
        except NulInBody:
            await _unprocessable(send, "the body holds a NUL character (\\u0000 or %00)")
            status_code = 422
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    json.dumps(
                        {
                            "method": scope.get("method"),
                            "path": scope.get("path"),
                            "status": status_code,
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    )
                )


async def _read_whole(receive: Receive) -> list[Message]:
    """The request's body as one message (or the disconnect that cut it short)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(send, 413, f"request body is larger than the {limit} byte limit")


async def _unprocessable(send: Send, message: str) -> None:
    await _refuse(send, 422, f"{message}, which no field may hold")


async def _refuse(send: Send, status: int, detail: str) -> None:
    """Answer with a JSON error before the app has seen the request."""
    body = json.dumps({"detail": detail}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
