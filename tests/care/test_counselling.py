"""The counselling log: who was counselled, by whom, when; each entry on the timeline."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from tests.care.support import close, events_of, new_alert

Auth = dict[str, dict[str, str]]


def test_counselling_entries_are_logged_and_listed(
    client: TestClient,
    partner: PartnerCredentials,
    auth: Auth,
    clock: FrozenClock,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    url = f"/api/v1/alerts/{alert_id}/counselling"
    clock.advance(minutes=50)
    at = clock.now() - timedelta(minutes=5)
    r = client.post(
        url,
        json={
            "recipient": "person",
            "by": "police_officer",
            "counsellor_name": "SI Rakesh Yadav",
            "at": at.isoformat(),
            "notes": "talked for an hour; agreed to see a doctor",
        },
        headers=auth["sho_jsw"],
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["recorded_by"] == "user:sho_jsw"
    # Closed alerts still take counselling (it often happens the next day).
    assert (
        close(client, alert_id, auth["sho_jsw"], outcome="found_safe_counselled").status_code == 200
    )
    clock.advance(hours=20)
    for by in ("counsellor", "tele_manas_14416", "dmhp"):
        r = client.post(
            url, json={"recipient": "family", "by": by, "notes": by}, headers=auth["co_jsw"]
        )
        assert r.status_code == 201, r.text
        assert r.json()["at"] == clock.now().isoformat().replace("+00:00", "Z")
    listed = client.get(url, headers=auth["sho_jsw"]).json()
    assert [(e["recipient"], e["by"]) for e in listed] == [
        ("person", "police_officer"),
        ("family", "counsellor"),
        ("family", "tele_manas_14416"),
        ("family", "dmhp"),
    ]
    assert listed[0]["counsellor_name"] == "SI Rakesh Yadav"
    timeline = events_of(database, alert_id, "alert.counselling")
    assert [e.data["by"] for e in timeline] == [
        "police_officer",
        "counsellor",
        "tele_manas_14416",
        "dmhp",
    ]
    assert timeline[0].data["recipient"] == "person"
    assert timeline[0].internal is False


def test_counselling_validation(
    client: TestClient, partner: PartnerCredentials, auth: Auth, clock: FrozenClock
) -> None:
    alert_id = new_alert(client, partner)
    url = f"/api/v1/alerts/{alert_id}/counselling"
    cases = [
        ({"by": "counsellor"}, "recipient"),
        ({"recipient": "neighbour", "by": "counsellor"}, "recipient"),
        ({"recipient": "person"}, "by"),
        ({"recipient": "person", "by": "priest"}, "by"),
        (
            {
                "recipient": "person",
                "by": "counsellor",
                "at": (clock.now() + timedelta(hours=1)).isoformat(),
            },
            "at",
        ),
    ]
    for body, field in cases:
        r = client.post(url, json=body, headers=auth["sho_jsw"])
        assert r.status_code == 422, body
        assert field in [d["field"] for d in r.json()["detail"]], r.text
    assert client.get(url, headers=auth["sho_jsw"]).json() == []


def test_counselling_is_scope_checked(
    client: TestClient, partner: PartnerCredentials, auth: Auth
) -> None:
    alert_id = new_alert(client, partner)
    url = f"/api/v1/alerts/{alert_id}/counselling"
    body = {"recipient": "person", "by": "counsellor"}
    assert client.post(url, json=body, headers=auth["sho_saifai"]).status_code == 404
    assert client.get(url, headers=auth["sho_saifai"]).status_code == 404
    assert client.post(url, json=body, headers=auth["sho_jsw"]).status_code == 201
    assert client.get(url, headers=auth["sho_saifai"]).status_code == 404
    assert len(client.get(url, headers=auth["dcr_etawah"]).json()) == 1
