"""Request size limits (1 MiB everywhere, larger only where police upload photos and video),
and rate limits: logins per address, alerts per partner key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.main import create_app
from tests.alerts.test_intake import count_alerts
from tests.helpers import make_alert, signed_post


def test_intake_body_over_one_mib_is_413(client: TestClient) -> None:
    r = client.post(
        "/api/v1/alerts",
        content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


def test_action_report_may_carry_media_larger_than_one_mib(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    files = {"files": ("raid.jpg", b"\xff\xd8" + b"0" * (3 * 1024 * 1024), "image/jpeg")}
    r = client.post(
        "/api/v1/tips/T-ZZZZ/action",
        data={"text": "raid done"},
        files=files,
        headers=auth["sp_jaunpur"],
    )
    assert r.status_code != 413, r.text
    assert r.status_code == 404  # the size passed; the tip does not exist


def test_a_nul_character_in_json_a_form_or_the_query_is_422_and_nothing_is_stored(
    client: TestClient,
    partner: PartnerCredentials,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    # PostgreSQL cannot store a NUL in text or JSONB: it used to fail there with a 500.
    for body in (make_alert(external_id="a\u0000b"), make_alert(note="x\u0000")):
        r = signed_post(client, "/api/v1/alerts", body, partner)
        assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text
    assert count_alerts(database) == 0
    # A backslash written before "u0000" is text, not a NUL: accepted.
    r = signed_post(client, "/api/v1/alerts", make_alert(external_id="a\\u0000b"), partner)
    assert r.status_code == 201, r.text
    r = client.get("/api/v1/alerts", params={"station": "a\u0000"}, headers=auth["cell"])
    assert r.status_code == 422 and "query string" in r.json()["detail"]
    r = client.post("/api/v1/auth/token", data={"username": "cell\u0000", "password": "x"})
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    # A photo's bytes are not text: an upload with NUL bytes is not refused for them.
    files = {"files": ("raid.jpg", b"\xff\xd8\x00\x00%00\\u0000", "image/jpeg")}
    r = client.post(
        "/api/v1/tips/T-ZZZZ/action", data={"text": "ok"}, files=files, headers=auth["sp_jaunpur"]
    )
    assert r.status_code == 404  # past the check; the tip does not exist


def test_a_nul_escape_is_told_from_an_escaped_backslash() -> None:
    from dispatch.middleware import _NUL_JSON, _holds_nul

    assert _holds_nul(b'{"a": "x\\u0000"}', _NUL_JSON)
    assert not _holds_nul(b'{"a": "x\\\\u0000"}', _NUL_JSON)  # an escaped backslash
    assert _holds_nul(b'{"a": "x\\\\\\u0000"}', _NUL_JSON)  # \\ then the escape


def test_logins_from_one_address_are_limited_even_with_the_right_password(
    settings: Settings, clock: FrozenClock, database: Database, users: object
) -> None:
    app = create_app(
        settings.model_copy(update={"login_rate_per_minute": 3}), clock=clock, database=database
    )
    with TestClient(app) as client:
        wrong = {"username": "sho_jsw", "password": "guess-guess"}
        for _ in range(3):
            assert client.post("/api/v1/auth/token", data=wrong).status_code == 401
        right = {"username": "cell", "password": "correct-horse-1"}
        r = client.post("/api/v1/auth/token", data=right)
        assert r.status_code == 429 and "too many login attempts" in r.json()["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 61
        # Another address is not held back by this one.
        other = TestClient(app, client=("203.0.113.9", 50000))
        assert other.post("/api/v1/auth/token", data=right).status_code == 200


def test_a_partner_over_its_rate_is_429_and_nothing_is_stored(
    settings: Settings, clock: FrozenClock, database: Database
) -> None:
    from dispatch.auth import service as auth_service

    with database.session() as session:
        meta = auth_service.create_partner(session=session, name="meta", now=clock.now())
        other = auth_service.create_partner(session=session, name="other", now=clock.now())
        session.commit()
    app = create_app(
        settings.model_copy(update={"partner_rate_per_second": 2}), clock=clock, database=database
    )
    with TestClient(app) as client:
        codes = [
            signed_post(client, "/api/v1/alerts", make_alert(external_id=f"m-{n}"), meta)
            for n in range(3)
        ]
        assert [r.status_code for r in codes[:2]] == [201, 201]
        assert codes[2].status_code == 429 and codes[2].headers["retry-after"] == "1"
        assert "idempotent" in codes[2].json()["detail"]
        assert count_alerts(database) == 2
        # The limit is per partner key: another partner is served.
        r = signed_post(client, "/api/v1/alerts", make_alert(external_id="o-1"), other)
        assert r.status_code == 201
