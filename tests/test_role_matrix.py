"""The role-by-endpoint matrix: every API route called as every role.

A route listed in RESTRICTED answers 403 to every role not listed, and never 403 to those
listed; every other route is open to every signed-in role (scope still applies: an alert
outside the user's area is 404). No route ever answers 401 to a valid token or fails with a
5xx. A new role-restricted route fails this test until it is listed here.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from tests.helpers import make_alert, signed_post
from tests.test_access import PUBLIC, PUBLIC_PREFIXES, concrete, routes

# role -> a fixture user holding it (all around the Jaswantnagar seed alert)
ROLES = {
    "operator": "cell",
    "supervisor": "supervisor",
    "admin": "admin",
    "station": "sho_jsw",
    "circle": "co_jsw",
    "district": "dcr_etawah",
    "range": "dig_kanpur",
}
STATE = {"operator", "supervisor", "admin"}
EVERYONE = set(ROLES)

RESTRICTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users"): {"admin"},
    ("PATCH", "/api/v1/users/{username}"): {"admin"},
    ("POST", "/api/v1/alerts/manual"): STATE,
    ("GET", "/api/v1/alerts/{alert_id}/raw"): STATE,  # the partner's verbatim body
    ("POST", "/api/v1/alerts/{alert_id}/assign"): STATE,
    ("POST", "/api/v1/alerts/{alert_id}/reopen"): {"supervisor", "admin"},
    ("POST", "/api/v1/contacts"): {"operator", "admin"},
    ("DELETE", "/api/v1/contacts/{contact_id}"): {"operator", "admin"},
    ("GET", "/api/v1/review/response-times"): EVERYONE - {"station"},
    ("GET", "/api/v1/tips/stats"): {"supervisor", "admin", "district", "range"},
}
PARTNER_ONLY = {("POST", "/api/v1/alerts"), ("POST", "/api/v1/alerts/{alert_id}/signals")}


def test_every_route_as_every_role(
    client: TestClient,
    app: FastAPI,
    auth: dict[str, dict[str, str]],
    partner: PartnerCredentials,
) -> None:
    alert_id = signed_post(client, "/api/v1/alerts", make_alert(), partner).json()["id"]
    checked = 0
    problems: list[str] = []
    for method, path in routes(app):
        if (
            (method, path) in PUBLIC
            or (method, path) in PARTNER_ONLY
            or path.startswith(PUBLIC_PREFIXES)
            or path.startswith("/webhooks/")
        ):
            continue
        url = concrete(path).replace("/alerts/1", f"/alerts/{alert_id}")
        allowed = RESTRICTED.get((method, path), EVERYONE)
        for role, username in ROLES.items():
            r = client.request(
                method, url, headers=auth[username], json={} if method == "POST" else None
            )
            checked += 1
            if r.status_code == 401 or r.status_code >= 500:
                problems.append(f"{method} {path} as {role}: {r.status_code}")
            elif (r.status_code == 403) != (role not in allowed):
                want = "403" if role not in allowed else "not 403"
                problems.append(f"{method} {path} as {role}: {r.status_code}, expected {want}")
    assert checked > 200
    assert not problems, "\n".join(problems)


def test_another_station_cannot_see_or_work_the_alert(
    client: TestClient, auth: dict[str, dict[str, str]], partner: PartnerCredentials
) -> None:
    alert_id = signed_post(client, "/api/v1/alerts", make_alert(), partner).json()["id"]
    saifai = auth["sho_saifai"]
    for method, path in (
        ("GET", f"/api/v1/alerts/{alert_id}"),
        ("POST", f"/api/v1/alerts/{alert_id}/ack"),
        ("GET", f"/api/v1/alerts/{alert_id}/history"),
        ("GET", f"/api/v1/alerts/{alert_id}/counselling"),
    ):
        assert client.request(method, path, headers=saifai).status_code == 404, path
    listed = client.get("/api/v1/alerts", headers=saifai).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert alert_id not in {a["id"] for a in items}
