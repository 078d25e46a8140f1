"""A new alert about the same person links to the care history of the earlier ones."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import shape

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from tests.care.support import close, events_of, new_alert
from tests.helpers import make_alert

Auth = dict[str, dict[str, str]]


def _saifai_location(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    fc = client.get("/api/v1/jurisdictions?station=ETW-SAIFAI", headers=headers).json()
    point = shape(fc["features"][0]["geometry"]).representative_point()
    return {"lat": point.y, "lon": point.x, "accuracy_m": 30, "source": "gps"}


def test_repeat_alert_shows_the_earlier_outcome_counselling_and_check_ins(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
) -> None:
    first = new_alert(client, partner)
    client.post(
        f"/api/v1/alerts/{first}/counselling",
        json={"recipient": "family", "by": "tele_manas_14416", "notes": "referred"},
        headers=auth["sho_jsw"],
    )
    close(client, first, auth["sho_jsw"], outcome="attempt_interrupted", attended_by=["SI Yadav"])
    clock.advance(days=2)
    (due,) = client.get("/api/v1/followups?due=1", headers=auth["sho_jsw"]).json()
    client.post(
        f"/api/v1/followups/{due['id']}",
        json={"contact_made": True, "person_state": "low mood"},
        headers=auth["sho_jsw"],
    )
    clock.advance(days=20)
    # Same phone written differently, another name and handle: still the same person.
    subject = {"name": "R Kumar", "handle": "@other", "phones": ["09876543210"]}
    second = new_alert(client, partner, subject=subject)
    unrelated = new_alert(client, partner, subject={"name": "Someone Else", "phones": []})

    r = client.get(f"/api/v1/alerts/{second}/history", headers=auth["sho_jsw"])
    assert r.status_code == 200, r.text
    history = r.json()
    assert history["outside_scope"] == 0
    (entry,) = history["earlier"]
    assert entry["alert"]["id"] == first
    assert entry["outcome"] == "attempt_interrupted"
    assert entry["closures"][0]["attended_by"] == ["SI Yadav"]
    assert [c["by"] for c in entry["counselling"]] == ["tele_manas_14416"]
    followups = entry["followups"]
    assert [f["offset_hours"] for f in followups] == [24, 168, 720]
    assert [f["status"] for f in followups] == ["done", "pending", "pending"]
    assert followups[0]["person_state"] == "low mood"
    assert followups[1]["overdue"] is True

    # Linked by handle too; the earlier alert has no earlier history of its own.
    by_handle = new_alert(client, partner, subject={"handle": "@ravi.k"})
    linked = client.get(f"/api/v1/alerts/{by_handle}/history", headers=auth["sho_jsw"]).json()
    assert [e["alert"]["id"] for e in linked["earlier"]] == [first]  # second has another handle
    assert (
        client.get(f"/api/v1/alerts/{first}/history", headers=auth["sho_jsw"]).json()["earlier"]
        == []
    )
    assert (
        client.get(f"/api/v1/alerts/{unrelated}/history", headers=auth["sho_jsw"]).json()["earlier"]
        == []
    )
    # Seeing someone's history is itself audited, with the viewer.
    (viewed,) = events_of(database, second, "audit.pii_viewed")
    assert viewed.actor == "user:sho_jsw" and viewed.data == {"what": "history"}
    assert viewed.internal is True


def test_history_is_scope_checked(
    client: TestClient, partner: PartnerCredentials, auth: Auth, clock: FrozenClock
) -> None:
    first = new_alert(client, partner)
    close(client, first, auth["sho_jsw"], outcome="found_safe_counselled")
    clock.advance(days=3)
    location = _saifai_location(client, auth["cell"])
    second = new_alert(client, partner, location=location)
    assert client.get(f"/api/v1/alerts/{second}", headers=auth["sho_saifai"]).status_code == 200
    # Another station's user cannot open this alert's history at all...
    assert (
        client.get(f"/api/v1/alerts/{first}/history", headers=auth["sho_saifai"]).status_code == 404
    )
    assert (
        client.get(f"/api/v1/alerts/{second}/history", headers=auth["sho_jsw"]).status_code == 404
    )
    # ...and sees only that earlier alerts exist elsewhere, not what they hold.
    saifai = client.get(f"/api/v1/alerts/{second}/history", headers=auth["sho_saifai"]).json()
    assert saifai == {"alert_id": second, "earlier": [], "outside_scope": 1}
    district = client.get(f"/api/v1/alerts/{second}/history", headers=auth["dcr_etawah"]).json()
    assert [e["alert"]["id"] for e in district["earlier"]] == [first]
    assert district["earlier"][0]["outcome"] == "found_safe_counselled"


def test_intake_names_the_linked_alert(
    client: TestClient, partner: PartnerCredentials, auth: Auth
) -> None:
    first = new_alert(client, partner)
    from tests.helpers import signed_post

    r = signed_post(client, "/api/v1/alerts", make_alert(), partner)
    assert r.json()["linked_alerts"] == [first]
