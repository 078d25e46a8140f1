"""Application-wide dependencies: settings, clock, jurisdictions, arrival time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from dispatch.clock import Clock
from dispatch.config import Settings

if TYPE_CHECKING:
    from dispatch.alerts.resolver import Resolver


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    """The app's clock (a frozen one in tests)."""
    clock: Clock = request.app.state.clock
    return clock


async def get_resolver(request: Request) -> Resolver:
    """The loaded jurisdictions and gazetteer."""
    resolver: Resolver = request.app.state.resolver
    return resolver


async def get_received_at(request: Request) -> datetime:
    """The time the request arrived, taken by the first middleware before any other work."""
    received: datetime = request.scope["state"]["received_at"]
    return received


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ResolverDep = Annotated["Resolver", Depends(get_resolver)]

# Row ids are 32-bit integers on PostgreSQL: a larger id in a path or query is a 422, not a
# database error.
MAX_ID = 2_147_483_647
