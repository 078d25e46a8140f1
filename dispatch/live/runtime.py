"""Start-up and shutdown of the live hub."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI
from sqlmodel import Session

from dispatch import metrics
from dispatch.live.hub import Hub

_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"]+")
_LOGGERS = ("uvicorn.error", "uvicorn.access")


class RedactTokens(logging.Filter):
    """Uvicorn logs WebSocket paths with their query string: never log the bearer token."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite token=<...> in the record's arguments and message."""
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


_FILTER = RedactTokens()


async def start(app: FastAPI) -> None:
    """Start the hub: doorbells, cursor, heartbeat."""
    hub = Hub(database=app.state.database, settings=app.state.settings, clock=app.state.clock)
    await hub.start()
    app.state.hub = hub
    metrics.CONSOLES.hubs.append(hub)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


async def stop(app: FastAPI) -> None:
    """Close the consoles and stop the hub."""
    hub: Hub | None = getattr(app.state, "hub", None)
    if hub is None:
        return
    if hub in metrics.CONSOLES.hubs:
        metrics.CONSOLES.hubs.remove(hub)
    await hub.stop()


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """The live domain has no demo data of its own."""
    return []
