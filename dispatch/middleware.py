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
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _too_large(send, limit)
            status_code = 413
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


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body is larger than the {limit} byte limit"}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
