"""Working an alert: acknowledge, lifecycle, notes, manual intake and routing, scope."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from tests.helpers import JASWANTNAGAR_ID, make_alert, signed_post


def new_alert(client: TestClient, partner: PartnerCredentials, **overrides: object) -> int:
    r = signed_post(client, "/api/v1/alerts", make_alert(**overrides), partner)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_acknowledge_is_idempotent(
    client: TestClient, partner: PartnerCredentials, auth: dict[str, dict[str, str]]
) -> None:
    alert_id = new_alert(client, partner)
    first = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"])
    second = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["co_jsw"])
    assert first.status_code == second.status_code == 200
    assert second.json()["acknowledged_by"] == "user:sho_jsw"
    events = client.get(f"/api/v1/alerts/{alert_id}", headers=auth["cell"]).json()["events"]
    assert [e["type"] for e in events].count("alert.acknowledged") == 1


def test_full_lifecycle_and_illegal_moves(
    client: TestClient, partner: PartnerCredentials, auth: dict[str, dict[str, str]]
) -> None:
    alert_id = new_alert(client, partner)
    url = f"/api/v1/alerts/{alert_id}/status"
    h = auth["sho_jsw"]
    r = client.post(url, json={"status": "en_route"}, headers=h)
    assert r.status_code == 409 and "acknowledge" in r.json()["detail"]
    client.post(f"/api/v1/alerts/{alert_id}/ack", headers=h)
    r = client.post(url, json={"status": "dispatched"}, headers=h)
    assert r.status_code == 409 and "team" in r.json()["detail"]
    r = client.post(
        url,
        json={"status": "dispatched", "team": "SI Verma, 2 constables", "vehicle": "UP75 PRV 112"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    assert client.post(url, json={"status": "en_route"}, headers=h).status_code == 200
    r = client.post(url, json={"status": "dispatched", "team": "x"}, headers=h)
    assert r.status_code == 409 and "only moves forward" in r.json()["detail"]
    assert client.post(url, json={"status": "on_scene"}, headers=h).status_code == 200
    assert (
        client.post(
            url, json={"status": "person_found", "note": "talked down near the forest"}, headers=h
        ).status_code
        == 200
    )
    r = client.post(url, json={"status": "closed"}, headers=h)
    assert r.status_code == 409 and "outcome" in r.json()["detail"]
    r = client.post(url, json={"status": "flying"}, headers=h)
    assert r.status_code == 422
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=h).json()
    assert detail["team"] == "SI Verma, 2 constables"
    assert detail["vehicle"] == "UP75 PRV 112"
    for key in (
        "acknowledged_at",
        "dispatched_at",
        "en_route_at",
        "on_scene_at",
        "person_found_at",
    ):
        assert detail["timings"][key] is not None
    statuses = [e["data"]["to"] for e in detail["events"] if e["type"] == "alert.status"]
    assert statuses == ["dispatched", "en_route", "on_scene", "person_found"]


def test_scope_isolation(
    client: TestClient, partner: PartnerCredentials, auth: dict[str, dict[str, str]]
) -> None:
    alert_id = new_alert(client, partner)
    for user in ("sho_jsw", "co_jsw", "dcr_etawah", "dig_kanpur", "cell", "supervisor", "admin"):
        assert client.get(f"/api/v1/alerts/{alert_id}", headers=auth[user]).status_code == 200, user
        assert [a["id"] for a in client.get("/api/v1/alerts", headers=auth[user]).json()] == [
            alert_id
        ], user
    for user in ("sho_saifai", "sp_jaunpur", "dig_varanasi"):
        assert client.get(f"/api/v1/alerts/{alert_id}", headers=auth[user]).status_code == 404, user
        assert (
            client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth[user]).status_code == 404
        ), user
        assert client.get("/api/v1/alerts", headers=auth[user]).json() == [], user


def test_every_alert_endpoint_needs_a_token(
    client: TestClient, partner: PartnerCredentials
) -> None:
    alert_id = new_alert(client, partner)
    for method, path in [
        ("get", "/api/v1/alerts"),
        ("get", f"/api/v1/alerts/{alert_id}"),
        ("post", f"/api/v1/alerts/{alert_id}/ack"),
        ("post", f"/api/v1/alerts/{alert_id}/status"),
        ("post", f"/api/v1/alerts/{alert_id}/notes"),
        ("post", f"/api/v1/alerts/{alert_id}/assign"),
        ("get", "/api/v1/jurisdictions"),
        ("post", "/api/v1/alerts/manual"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, (method, path, r.status_code)
        r = getattr(client, method)(path, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401, (method, path)


def test_notes_on_the_timeline(
    client: TestClient, partner: PartnerCredentials, auth: dict[str, dict[str, str]]
) -> None:
    alert_id = new_alert(client, partner)
    r = client.post(
        f"/api/v1/alerts/{alert_id}/notes", json={"text": "family informed"}, headers=auth["co_jsw"]
    )
    assert r.status_code == 201
    assert (
        client.post(
            f"/api/v1/alerts/{alert_id}/notes", json={"text": ""}, headers=auth["co_jsw"]
        ).status_code
        == 422
    )
    events = client.get(f"/api/v1/alerts/{alert_id}", headers=auth["sho_jsw"]).json()["events"]
    note = next(e for e in events if e["type"] == "alert.note")
    assert note["data"]["text"] == "family informed" and note["actor"] == "user:co_jsw"


def test_manual_intake_and_unresolved_queue(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    body = {
        "category": "suicide_risk",
        "reported_by": "Meta trust & safety e-mail 22:16",
        "subject": {"name": "Unknown youth", "phones": ["9876500000"]},
        "location": {"address": "somewhere we cannot place"},
    }
    assert (
        client.post("/api/v1/alerts/manual", json=body, headers=auth["sho_jsw"]).status_code == 403
    )
    r = client.post("/api/v1/alerts/manual", json=body, headers=auth["cell"])
    assert r.status_code == 201, r.text
    alert_id = r.json()["id"]
    assert r.json()["station"] is None
    queue = client.get("/api/v1/alerts?unresolved=true", headers=auth["cell"]).json()
    assert [a["id"] for a in queue] == [alert_id]
    r = client.post(
        f"/api/v1/alerts/{alert_id}/assign", json={"station_id": "NOPE"}, headers=auth["cell"]
    )
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]
    r = client.post(
        f"/api/v1/alerts/{alert_id}/assign",
        json={"station_id": JASWANTNAGAR_ID, "reason": "caller named Jaswantnagar"},
        headers=auth["cell"],
    )
    assert r.status_code == 200
    assert r.json()["station"]["id"] == JASWANTNAGAR_ID
    assert client.get("/api/v1/alerts?unresolved=true", headers=auth["cell"]).json() == []
    assert [a["id"] for a in client.get("/api/v1/alerts", headers=auth["sho_jsw"]).json()] == [
        alert_id
    ]


def test_manual_intake_by_address_uses_gazetteer(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    body = {
        "category": "suicide_risk",
        "reported_by": "phone call",
        "location": {"address": "near the railway junction, Mughalsarai, Chandauli"},
    }
    r = client.post("/api/v1/alerts/manual", json=body, headers=auth["cell"])
    assert r.status_code == 201, r.text
    assert r.json()["station"]["district"] == "Chandauli"
    assert r.json()["resolution"]["method"] == "gazetteer"


def scraped(client: TestClient) -> dict[str, float]:
    """The service's /metrics samples, by name and labels."""
    from prometheus_client.parser import text_string_to_metric_families

    r = client.get("/metrics")
    assert r.status_code == 200
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def test_metrics_count_partner_and_manual_alerts_and_acknowledgements(
    client: TestClient,
    partner: PartnerCredentials,
    auth: dict[str, dict[str, str]],
    clock: FrozenClock,
) -> None:
    def received(source: str, resolved: bool) -> str:
        labels = [("resolved", str(resolved)), ("source", source)]
        return "dispatch_alerts_received_total" + str(labels)

    acks = "dispatch_time_to_acknowledge_seconds_count[]"
    before = scraped(client)
    alert_id = new_alert(client, partner)
    r = client.post(
        "/api/v1/alerts/manual",
        json={"category": "suicide_risk", "reported_by": "phone call", "station_id": "ETW-SAIFAI"},
        headers=auth["cell"],
    )
    assert r.status_code == 201
    clock.advance(seconds=45)
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"]).status_code == 200
    after = scraped(client)
    for name in (received("partner", True), received("manual", True), acks):
        assert after.get(name, 0) - before.get(name, 0) == 1, name
    assert "dispatch_consoles_connected[]" in after
    for name in ("dispatch_escalations_total[]", "dispatch_notification_failures_total[]"):
        assert name in after
