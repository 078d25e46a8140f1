"""Every route refuses anonymous callers, except the few that are public by design."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

# Public by design: liveness/readiness for load balancers, the console's static shell (it
# holds no data; every call it makes needs a token), the OpenAPI docs, metrics (bind it to an
# internal interface in production; it holds only counts).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/console"),
    ("GET", "/review"),
    ("POST", "/api/v1/auth/token"),  # the login itself
}
PUBLIC_PREFIXES = ("/static", "/docs", "/openapi.json", "/redoc")


def concrete(path: str) -> str:
    """Fill path parameters with plausible values."""
    path = path.replace("{ref}", "T-ABCD")
    return re.sub(r"\{[^}]+\}", "1", path)


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented operation (the OpenAPI schema lists every API route)."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() not in ("HEAD", "OPTIONS"):
                out.append((method.upper(), path))
    return out


def test_every_route_needs_credentials(client: TestClient, app: FastAPI) -> None:
    checked = 0
    for method, path in routes(app):
        if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        r = client.request(method, concrete(path))
        checked += 1
        if path.startswith("/webhooks/"):
            assert r.status_code == 403, (method, path, r.status_code)
        else:
            assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
    assert checked >= 10


def test_bad_token_refused_everywhere(client: TestClient, app: FastAPI) -> None:
    headers = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}
    for method, path in routes(app):
        if (
            (method, path) in PUBLIC
            or path.startswith(PUBLIC_PREFIXES)
            or path.startswith("/webhooks/")
        ):
            continue
        if path in ("/api/v1/alerts", "/api/v1/alerts/{alert_id}/signals") and method == "POST":
            continue  # partner endpoints use the signature, covered in tests/alerts
        r = client.request(method, concrete(path), headers=headers)
        assert r.status_code == 401, (method, path, r.status_code)


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/healthz", "/api/v1/alerts"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in r.headers["content-security-policy"]
