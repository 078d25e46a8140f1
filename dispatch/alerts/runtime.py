"""Start-up and shutdown of partner intake's group-commit writer (alerts.writer)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlmodel import Session

from dispatch.alerts.writer import IntakeWriter
from dispatch.config import Settings


async def start(app: FastAPI) -> None:
    """Start the writer at app.state.intake_writer.

    Runs after the escalation runtime, which leaves the engine's first step for new alerts at
    app.state.intake_first_step (absent when this process does not escalate).
    """
    settings: Settings = app.state.settings
    writer = IntakeWriter(
        database=app.state.database,
        resolver=app.state.resolver,
        first_step=getattr(app.state, "intake_first_step", None),
        first_reads=getattr(app.state, "intake_first_reads", None),
        batch_max=settings.intake_batch_max,
        threads=settings.intake_writers,
        after_commit_threads=max(2, settings.escalation_workers),
    )
    writer.start()
    app.state.intake_writer = writer


async def stop(app: FastAPI) -> None:
    """Store what is waiting, then stop the writer (before escalation stops)."""
    writer: IntakeWriter | None = getattr(app.state, "intake_writer", None)
    if writer is not None:
        await asyncio.get_running_loop().run_in_executor(None, writer.stop)


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """Nothing to seed."""
    return []
