"""Start-up and shutdown of care: the overdue follow-up sweep on the escalation sweeper."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlmodel import Session

from dispatch.care import jobs
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import jobs as escalation_jobs

SWEEP_NAME = "care.followups"


async def start(app: FastAPI) -> None:
    """Hook the overdue follow-up check onto the escalation sweeper."""
    settings: Settings = app.state.settings
    state = app.state

    def sweep(database: Database, now: datetime) -> None:
        # app.state, not the provider itself: the notifier is resolved at send time.
        jobs.escalate_overdue(database, now, settings=settings, notifier=state)

    escalation_jobs.register_sweep(app, SWEEP_NAME, sweep)


async def stop(app: FastAPI) -> None:
    """Stop the follow-up sweep."""
    escalation_jobs.unregister_sweep(app, SWEEP_NAME)


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """Care has no demo data of its own (close a demo alert to see follow-ups)."""
    return []
