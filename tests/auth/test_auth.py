"""Login, tokens, lock-out and rate limits, user management."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dispatch.auth.models import Role
from dispatch.clock import FrozenClock
from tests.helpers import login


def test_login_and_me(client: TestClient, users: dict[str, tuple[Role, str | None]]) -> None:
    headers = login(client, "sho_jsw")
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me["role"] == "station" and me["unit"] == "ETW-JASWANTNAGAR"
    assert "password" not in str(me)


def test_wrong_password_is_401(
    client: TestClient, users: dict[str, tuple[Role, str | None]]
) -> None:
    r = client.post(
        "/api/v1/auth/token", data={"username": "sho_jsw", "password": "wrong-password"}
    )
    assert r.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "wrong-password"})
    assert r.status_code == 401
    assert r.json()["detail"] == "incorrect username or password"


def test_lockout_after_repeated_failures(
    client: TestClient, users: dict[str, tuple[Role, str | None]], clock: FrozenClock
) -> None:
    for _ in range(5):
        client.post("/api/v1/auth/token", data={"username": "co_jsw", "password": "nope-nope"})
    r = client.post(
        "/api/v1/auth/token", data={"username": "co_jsw", "password": "correct-horse-1"}
    )
    assert r.status_code == 401 and "locked" in r.json()["detail"]
    clock.advance(minutes=16)
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": "co_jsw", "password": "correct-horse-1"}
        ).status_code
        == 200
    )


def test_token_expires(
    client: TestClient, users: dict[str, tuple[Role, str | None]], clock: FrozenClock
) -> None:
    headers = login(client, "cell")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    clock.advance(hours=13)
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["detail"] == "token expired"


def test_admin_creates_users_others_cannot(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    body = {
        "username": "sho_bakewar",
        "password": "long-enough-1",
        "role": "station",
        "unit": "ETW-BAKEWAR",
    }
    assert client.post("/api/v1/users", json=body, headers=auth["cell"]).status_code == 403
    assert client.post("/api/v1/users", json=body, headers=auth["admin"]).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=auth["admin"]).status_code == 409
    bad = {**body, "username": "x2", "unit": None}
    r = client.post("/api/v1/users", json=bad, headers=auth["admin"])
    assert r.status_code == 422 and "needs a unit" in r.json()["detail"]
    assert "sho_bakewar" in [
        u["username"] for u in client.get("/api/v1/users", headers=auth["admin"]).json()
    ]
