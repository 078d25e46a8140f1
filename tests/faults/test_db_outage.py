"""PostgreSQL goes away and comes back: intake answers 503 meanwhile, then recovers alone."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from dispatch.alerts.models import Alert
from dispatch.auth import service as auth_service
from dispatch.clock import FrozenClock, SystemClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.main import create_app
from tests.conftest import POSTGRES_URL, _postgres_database, reset_postgres
from tests.faults.proxy import TcpProxy
from tests.helpers import make_alert, signed_post

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs DISPATCH_TEST_POSTGRES_URL")


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    assert POSTGRES_URL
    parts = urlsplit(POSTGRES_URL)
    p = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    p.start()
    yield p
    p.stop()


def via(proxy: TcpProxy) -> str:
    assert POSTGRES_URL
    parts = urlsplit(POSTGRES_URL)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def test_outage_gives_503_then_recovers_without_losing_accepted_alerts(proxy: TcpProxy) -> None:
    reset_postgres(_postgres_database())
    database = Database(via(proxy))
    settings = Settings(env="test", database_url=database.url, scheduler_enabled=False)
    with database.session() as session:
        creds = auth_service.create_partner(session=session, name="meta", now=SystemClock().now())
        session.commit()
    app = create_app(settings, clock=FrozenClock(), database=database)
    accepted: list[int] = []
    with TestClient(app) as client:
        r = signed_post(client, "/api/v1/alerts", make_alert(), creds)
        assert r.status_code == 201
        accepted.append(r.json()["id"])

        proxy.stop()
        down = signed_post(client, "/api/v1/alerts", make_alert(), creds)
        assert down.status_code == 503, down.text
        assert "database" in down.json()["detail"]
        assert down.headers["retry-after"]
        assert client.get("/readyz").status_code == 503

        proxy.start()
        for _ in range(3):
            r = signed_post(client, "/api/v1/alerts", make_alert(), creds)
            assert r.status_code == 201, r.text
            accepted.append(r.json()["id"])
        assert client.get("/readyz").status_code == 200
    database.dispose()
    with _postgres_database().session() as session:
        stored = {a.id for a in session.exec(select(Alert)).all()}
    assert set(accepted) <= stored
