"""An injectable clock: code that compares deadlines takes one so tests can move time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from pydantic import AfterValidator, AwareDatetime


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 24, 16, 46, tzinfo=UTC)  # 22:16 IST
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The frozen time."""
        with self._lock:
            return self._now

    def advance(self, **kwargs: float) -> datetime:
        """Move time forward, e.g. advance(minutes=3)."""
        with self._lock:
            self._now += timedelta(**kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to a given time."""
        with self._lock:
            self._now = when


def utc(dt: datetime) -> datetime:
    """Return dt as aware UTC; naive values (SQLite round-trips) are taken as UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware date-time in UTC; ValueError (a 422 naming the field, where it is input) if
    it lies outside the years 1-9999 there ('0001-01-01T00:00:00+05:30' is in year 0 UTC,
    which Python and the databases cannot hold)."""
    try:
        return utc(value)
    except OverflowError as exc:
        raise ValueError("date-time out of range (years 1 to 9999 in UTC)") from exc


# Every date-time a client sends: with its UTC offset, and within range once in UTC.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(as_utc)]
