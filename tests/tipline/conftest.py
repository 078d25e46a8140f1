"""Tip line tests: Twilio enabled through the recorder, media from a mock api.twilio.com."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.main import create_app
from tests.escalation.support import twilio_settings
from tests.tipline.support import Informant, MediaServer, TipTwilio

CONTENT_SID = "HX" + "0" * 32


@pytest.fixture
def twilio() -> TipTwilio:
    """Records every request the twilio SDK makes (and answers media deletion)."""
    return TipTwilio()


@pytest.fixture
def media_server() -> MediaServer:
    """Twilio's media URLs."""
    return MediaServer()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """Twilio on the recorder, media under tmp_path, the action template configured."""
    return twilio_settings(
        database,
        tipline_media_dir=tmp_path / "media",
        tipline_action_content_sid=CONTENT_SID,
    )


@pytest.fixture
def app(
    settings: Settings,
    clock: FrozenClock,
    database: Database,
    twilio: TipTwilio,
    media_server: MediaServer,
) -> FastAPI:
    """The service sending through the recorder and fetching media from the mock server."""
    app = create_app(settings, clock=clock, database=database)
    app.state.twilio_http_client = twilio
    app.state.tipline_http = media_server.client()
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client (runs start-up and shutdown)."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def informant(client: TestClient, media_server: MediaServer) -> Informant:
    """The citizen +91 98765 43210 on WhatsApp."""
    return Informant(client, media=media_server)


@pytest.fixture
def resolver_point(app: FastAPI) -> tuple[float, float]:
    """A point inside the Kerakat station area (Jaunpur)."""
    point = app.state.resolver.index.geometry("JNP-KERAKAT").representative_point()
    return (point.y, point.x)
