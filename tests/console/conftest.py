"""Fixtures for console tests: the live server (shared with tests/live); headless Chromium
comes from tests/browser.py (loaded by the root conftest)."""

from __future__ import annotations

# The real-uvicorn server and the fast users of the live tests.
from tests.live.conftest import server  # noqa: F401

PASSWORD = "correct-horse-1"
