"""Start-up, shutdown and demo data of this domain (filled in by its issue)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import Session


async def start(app: FastAPI) -> None:
    """Start this domain's background work."""


async def stop(app: FastAPI) -> None:
    """Stop this domain's background work."""


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """Add this domain's demo data; returns lines to print for the demo."""
    return []
