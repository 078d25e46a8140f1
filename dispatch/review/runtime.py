"""Start-up, shutdown and demo data of the review domain."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlmodel import Session

from dispatch.db import Database
from dispatch.review.models import REVIEW_INDEXES


def ensure_indexes(database: Database) -> None:
    """Build the review's indexes on a database whose alert table predates them."""
    with database.engine.begin() as conn:
        for index in REVIEW_INDEXES:
            index.create(conn, checkfirst=True)


async def start(app: FastAPI) -> None:
    """Make sure the review's indexes exist (create_all only adds them to new tables)."""
    await asyncio.to_thread(ensure_indexes, app.state.database)


async def stop(app: FastAPI) -> None:
    """Nothing runs in the background."""


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """No demo data of its own; prints where the review page is."""
    return ["Response-time review: /review (supervisor, admin, district, range, circle users)"]
