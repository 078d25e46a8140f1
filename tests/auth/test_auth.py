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


def test_an_unknown_user_is_checked_against_a_hash_as_costly_as_a_real_one() -> None:
    import pytest
    from argon2.exceptions import VerifyMismatchError

    from dispatch.auth import service

    # A real argon2 hash (a mismatch, not an invalid hash) with the hasher's own parameters:
    # verifying against it costs what verifying a real user's password does.
    assert not service._hasher.check_needs_rehash(service._DUMMY_HASH)
    with pytest.raises(VerifyMismatchError):
        service._hasher.verify(service._DUMMY_HASH, "ghost's guess")
    assert service.verify_password(service._DUMMY_HASH, "ghost's guess") is False


def test_an_admin_transfers_deactivates_and_resets_users(
    client: TestClient, auth: dict[str, dict[str, str]], clock: FrozenClock
) -> None:
    sho = auth["sho_jsw"]
    assert client.get("/api/v1/auth/me", headers=sho).json()["unit"] == "ETW-JASWANTNAGAR"
    # Only admins change users.
    r = client.patch("/api/v1/users/sho_jsw", json={"active": False}, headers=auth["cell"])
    assert r.status_code == 403
    # A transfer: the same token now works with the new station's scope.
    r = client.patch("/api/v1/users/sho_jsw", json={"unit": "ETW-SAIFAI"}, headers=auth["admin"])
    assert r.status_code == 200 and r.json()["unit"] == "ETW-SAIFAI", r.text
    assert client.get("/api/v1/auth/me", headers=sho).json()["unit"] == "ETW-SAIFAI"
    # Deactivated: their token is refused at once, and so is signing in.
    r = client.patch("/api/v1/users/sho_jsw", json={"active": False}, headers=auth["admin"])
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=sho).status_code == 401
    login = {"username": "sho_jsw", "password": "correct-horse-1"}
    assert client.post("/api/v1/auth/token", data=login).status_code == 401
    r = client.patch("/api/v1/users/sho_jsw", json={"active": True}, headers=auth["admin"])
    assert client.get("/api/v1/auth/me", headers=sho).status_code == 200
    # A locked-out officer gets a new password, which also lifts the lock.
    for _ in range(5):
        client.post("/api/v1/auth/token", data={**login, "password": "nope-nope"})
    assert "locked" in client.post("/api/v1/auth/token", data=login).json()["detail"]
    new = {**login, "password": "a-new-pass-2"}
    r = client.patch(
        "/api/v1/users/sho_jsw", json={"password": new["password"]}, headers=auth["admin"]
    )
    assert r.status_code == 200
    assert client.post("/api/v1/auth/token", data=new).status_code == 200
    assert client.post("/api/v1/auth/token", data=login).status_code == 401
    # Promotion to a state-wide role drops the unit.
    r = client.patch("/api/v1/users/co_jsw", json={"role": "operator"}, headers=auth["admin"])
    assert r.status_code == 200 and r.json()["unit"] is None and r.json()["role"] == "operator"


def test_bad_user_changes_are_refused_naming_the_problem(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    admin = auth["admin"]
    cases = [
        ("nobody", {"active": False}, 404, "nobody"),
        ("sho_jsw", {"role": "operator", "unit": "ETW-SAIFAI"}, 422, "state-wide"),
        ("sho_jsw", {"unit": None}, 422, "needs a unit"),
        ("sho_jsw", {"role": "circle"}, 422, "needs a unit"),  # a station id is no circle
        ("sho_jsw", {"password": "short"}, 422, "password"),
        ("sho_jsw", {"active": None}, 422, "active"),
        ("sho_jsw", {"rank": "DSP"}, 422, "rank"),
        ("admin", {"active": False}, 409, "own account"),
        ("admin", {"role": "station", "unit": "ETW-SAIFAI"}, 409, "own account"),
    ]
    for username, body, code, words in cases:
        r = client.patch(f"/api/v1/users/{username}", json=body, headers=admin)
        assert r.status_code == code and words in r.text, (username, body, r.text)
    me = client.get("/api/v1/auth/me", headers=auth["sho_jsw"]).json()
    assert me["unit"] == "ETW-JASWANTNAGAR" and me["role"] == "station"  # nothing changed


def test_a_user_is_scoped_only_to_a_unit_the_jurisdictions_have(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    """A typo in a unit, or a station's name given for its id, used to make an account whose
    console stayed empty: the officer would never see an alert."""
    admin = auth["admin"]
    body = {"username": "sho_new", "password": "long-enough-1", "role": "station"}
    for unit, hint in (
        ("Jaswantnagar", "ETW-JASWANTNAGAR"),
        ("ETW-JASWANTNAGR", "ETW-JASWANTNAGAR"),
    ):
        r = client.post("/api/v1/users", json={**body, "unit": unit}, headers=admin)
        assert r.status_code == 422 and "unknown station id" in r.text and hint in r.text, r.text
    for role, unit in (("circle", "jaswantnagar"), ("district", "Etawa"), ("range", "Agra")):
        r = client.post("/api/v1/users", json={**body, "role": role, "unit": unit}, headers=admin)
        assert r.status_code == 422 and f"unknown {role} name" in r.text, r.text
    for role, unit in (("station", "ETW-BAKEWAR"), ("circle", "Jaswantnagar")):
        r = client.post(
            "/api/v1/users",
            json={**body, "username": f"new_{role}", "role": role, "unit": unit},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    r = client.patch("/api/v1/users/sho_jsw", json={"unit": "Saifai"}, headers=admin)
    assert r.status_code == 422 and "ETW-SAIFAI" in r.text
    r = client.patch(
        "/api/v1/users/sho_jsw", json={"role": "district", "unit": "Etawah"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["unit"] == "Etawah"
