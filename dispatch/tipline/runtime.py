"""Start-up, shutdown and demo data of the tip line."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import FastAPI
from sqlmodel import Session

from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import jobs as escalation_jobs
from dispatch.ratelimit import RateLimiter
from dispatch.tipline import jobs
from dispatch.tipline.vault import ContactVault


async def start(app: FastAPI) -> None:
    """The contact vault, the per-informant rate limit, the media client and the sweeps.

    Tests may preset app.state.tipline_http (an httpx.Client on a mock transport).
    """
    settings: Settings = app.state.settings
    app.state.tipline_vault = ContactVault(settings.contact_vault_key)
    app.state.tipline_limiter = RateLimiter(
        settings.tipline_rate_limit, settings.tipline_rate_window_s
    )
    if getattr(app.state, "tipline_http", None) is None:
        app.state.tipline_http = httpx.Client(timeout=settings.tipline_media_timeout_s)
        app.state.tipline_http_owned = True

    def unassigned(database: Database, now: datetime) -> None:
        jobs.escalate_unassigned(database=database, settings=settings, notifier=app.state, now=now)

    def idle(database: Database, now: datetime) -> None:
        jobs.expire_idle(
            database=database,
            settings=settings,
            vault=app.state.tipline_vault,
            provider=app.state.notifier,
            now=now,
        )

    escalation_jobs.register_sweep(app, "tipline.unassigned", unassigned)
    escalation_jobs.register_sweep(app, "tipline.idle", idle)


async def stop(app: FastAPI) -> None:
    """Unregister the sweeps and close the media client."""
    escalation_jobs.unregister_sweep(app, "tipline.unassigned")
    escalation_jobs.unregister_sweep(app, "tipline.idle")
    if getattr(app.state, "tipline_http_owned", False):
        app.state.tipline_http.close()
        app.state.tipline_http = None
        app.state.tipline_http_owned = False


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """Say where the tip line listens and who sees tips."""
    settings: Settings = app.state.settings
    return [
        "Tip line (Police Satark Mitra): WhatsApp webhook "
        f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/whatsapp; "
        f"districts {', '.join(settings.tipline_districts)}; dashboard /tips"
    ]
