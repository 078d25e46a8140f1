"""The PostgreSQL doorbell: LISTEN dispatch_events on a dedicated connection, reconnecting.

Each commit that appends timeline events also runs pg_notify('dispatch_events', <origin>) in
the same transaction, so PostgreSQL delivers the notification only once the events are
visible. The notification carries no event: it only tells this process's hub to read the event
table, which stays the one source of truth (a lost notification is covered by the hub's poll).
Its payload is the committing Database's `origin`; the hub ignores its own, having been rung
directly after that commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

from dispatch.alerts.events import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
APPLICATION_NAME = "dispatch-live-listen"


def conninfo(url: str) -> str:
    """A libpq connection string from the service's SQLAlchemy URL."""
    parsed = sa.engine.make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def listen(
    url: str, ring: Callable[[], None], *, retry_s: float, ignore_origin: str | None = None
) -> None:
    """Ring on every notification until cancelled; reconnect after any failure.

    A notification whose payload is `ignore_origin` came from a commit through this
    process's own Database, which rang the hub directly already: one read, not two.
    """
    info = conninfo(url)
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                info, autocommit=True, application_name=APPLICATION_NAME
            )
        except (psycopg.Error, OSError) as exc:
            log.warning("live LISTEN connection failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(retry_s)
            continue
        try:
            await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            # Anything committed while we were not listening is read now.
            ring()
            async for notify in conn.notifies():
                if ignore_origin is None or notify.payload != ignore_origin:
                    ring()
        except (psycopg.Error, OSError) as exc:
            log.warning("live LISTEN connection lost (%s); reconnecting", type(exc).__name__)
            await asyncio.sleep(retry_s)
        finally:
            await conn.close()
