"""Headless Debian Chromium for the browser tests, one per test session.

Playwright's sync API keeps its event loop running in the main thread while it is open, so
there must be exactly one: this fixture lives in a plugin loaded by the root conftest, and
every package's browser tests share it. Browser tests skip with a clear message when Chromium
or Playwright is missing, except when DISPATCH_REQUIRE_BROWSER=1 (CI): then they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("DISPATCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"DISPATCH_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def chromium_path() -> str | None:
    """CHROMIUM_PATH, else `chromium` on PATH."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    path = chromium_path()
    if not path or not os.path.exists(path):
        _unavailable(
            "Chromium not found (install Debian `chromium` or set CHROMIUM_PATH to its binary)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(executable_path=path)
        except Exception as exc:  # any launch failure is reported the same way
            _unavailable(f"Chromium at {path} did not start: {exc}")
        yield instance
        instance.close()
