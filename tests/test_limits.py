"""Request size limits: 1 MiB everywhere, larger only where police upload photos and video."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
