"""The police side: routing and bypass, assignment, action reports, the informant's notice."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlmodel import select

from dispatch.alerts.models import AlertEvent
from dispatch.auth.models import Role
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.escalation import jobs as escalation_jobs
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import ContactCreate, Post
from tests.helpers import add_user, login
from tests.tipline.conftest import CONTENT_SID
from tests.tipline.support import NUMBER, Informant, TipTwilio, jpeg_with_gps

Headers = dict[str, dict[str, str]]


def _station_user(
    client: TestClient, database: Database, name: str, station: str
) -> dict[str, str]:
    add_user(database, name, Role.station, station)
    return login(client, name)


def test_routing_assignment_and_notice_inside_the_window(
    informant: Informant,
    client: TestClient,
    database: Database,
    auth: Headers,
    twilio: TipTwilio,
) -> None:
    ref = informant.report(category="2", description="Illicit liquor is brewed in a field hut.")
    listed = client.get("/api/v1/tips", headers=auth["sp_jaunpur"]).json()
    assert [t["ref"] for t in listed] == [ref]
    assert client.get("/api/v1/tips", headers=auth["dig_varanasi"]).json()[0]["ref"] == ref
    assert client.get("/api/v1/tips", headers=auth["dig_kanpur"]).json() == []
    assert client.get("/api/v1/tips", headers=auth["cell"]).json() == []
    assert len(client.get("/api/v1/tips", headers=auth["admin"]).json()) == 1
    filtered = client.get("/api/v1/tips?sensitivity=high", headers=auth["sp_jaunpur"]).json()
    assert filtered == []
    assert (
        len(
            client.get(
                "/api/v1/tips?category=drugs&district=Jaunpur&status=new",
                headers=auth["sp_jaunpur"],
            ).json()
        )
        == 1
    )

    sho = _station_user(client, database, "sho_sikrara", "JNP-SIKRARA")
    assert client.get(f"/api/v1/tips/{ref}", headers=sho).status_code == 404
    denied = client.post(
        f"/api/v1/tips/{ref}/assign", json={"station_id": "JNP-SIKRARA"}, headers=sho
    )
    assert denied.status_code == 404
    r = client.post(
        f"/api/v1/tips/{ref}/assign", json={"username": "sho_sikrara"}, headers=auth["sp_jaunpur"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "assigned" and r.json()["assigned_station"] == "JNP-SIKRARA"
    assert [t["ref"] for t in client.get("/api/v1/tips", headers=sho).json()] == [ref]
    assert client.get("/api/v1/tips", headers=auth["sho_jsw"]).json() == []

    before = len(twilio.whatsapp_to(NUMBER))
    r = client.post(
        f"/api/v1/tips/{ref}/action",
        data={"text": "Raid by SI Verma of Sikrara police station: 40 litres seized."},
        files=[("files", ("raid.jpg", jpeg_with_gps(), "image/jpeg"))],
        headers=sho,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "action_taken" and body["informant_notice"] == "sent"
    assert (
        body["items"][-1]["kind"] == "action" and body["media"][-1]["author"] == "user:sho_sikrara"
    )
    notices = twilio.whatsapp_to(NUMBER)[before:]
    assert len(notices) == 1
    notice = notices[0]
    assert ref in notice["Body"] and "action has been taken" in notice["Body"]
    for detail in ("Verma", "Sikrara", "sho_sikrara", "litres", "SI "):
        assert detail not in notice["Body"], detail
    assert "ContentSid" not in notice
    assert "action has been taken" in informant.say(f"STATUS {ref}")


def test_notice_outside_the_window_uses_the_template(
    informant: Informant,
    client: TestClient,
    auth: Headers,
    twilio: TipTwilio,
    clock: FrozenClock,
) -> None:
    ref = informant.report()
    clock.advance(minutes=25 * 60)
    sp = login(client, "sp_jaunpur")  # the morning shift signs in again
    r = client.post(f"/api/v1/tips/{ref}/action", data={"text": "Two arrested."}, headers=sp)
    assert r.status_code == 200 and r.json()["informant_notice"] == "template"
    sent = twilio.whatsapp_to(NUMBER)[-1]
    assert sent["ContentSid"] == CONTENT_SID and ref in sent["ContentVariables"]
    assert "Body" not in sent and "arrested" not in str(sent)


def test_corruption_tip_bypasses_the_station(
    informant: Informant, client: TestClient, database: Database, auth: Headers
) -> None:
    ref = informant.report(
        category="8",
        place="Kerakat",
        description="The Kerakat thana daroga takes money from sand trucks every night.",
    )
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    assert tip["restricted"] and tip["bypass_stations"] == ["JNP-KERAKAT"]
    sho = _station_user(client, database, "sho_kerakat", "JNP-KERAKAT")
    assert client.get(f"/api/v1/tips/{ref}", headers=sho).status_code == 404
    for body in (
        {"station_id": "JNP-KERAKAT"},
        {"username": "sho_kerakat"},
        {"station_id": "JNP-SIKRARA"},
    ):
        r = client.post(f"/api/v1/tips/{ref}/assign", json=body, headers=auth["sp_jaunpur"])
        assert r.status_code == 409, body
    r = client.post(
        f"/api/v1/tips/{ref}/assign", json={"username": "dig_varanasi"}, headers=auth["sp_jaunpur"]
    )
    assert r.status_code == 200
    assert client.get(f"/api/v1/tips/{ref}", headers=sho).status_code == 404


def test_a_tip_naming_a_station_skips_only_that_station(
    informant: Informant, client: TestClient, database: Database, auth: Headers
) -> None:
    ref = informant.report(
        category="4",
        place="Shahganj",
        description="Satta runs openly near Khetasarai thana, the police there are friends.",
    )
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    assert not tip["restricted"] and tip["bypass_stations"] == ["JNP-KHETASARAI"]
    r = client.post(
        f"/api/v1/tips/{ref}/assign",
        json={"station_id": "JNP-KHETASARAI"},
        headers=auth["sp_jaunpur"],
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/tips/{ref}/assign",
        json={"station_id": "JNP-SHAHGANJ"},
        headers=auth["sp_jaunpur"],
    )
    assert r.status_code == 200


def test_an_office_assigns_tips_only_within_its_own_district_or_range(
    informant: Informant, client: TestClient, database: Database, auth: Headers
) -> None:
    ref = informant.report()  # Jaunpur district, Varanasi range
    sp = auth["sp_jaunpur"]
    # Etawah (Kanpur range): neither its SP nor its DIG oversees a Jaunpur tip.
    for body in (
        {"station_id": "ETW-JASWANTNAGAR"},
        {"username": "sho_jsw"},
        {"username": "co_jsw"},
    ):
        r = client.post(f"/api/v1/tips/{ref}/assign", json=body, headers=sp)
        assert r.status_code == 403, (body, r.text)
    add_user(database, "sho_karanda", Role.station, "GZP-KARANDA")
    r = client.post(f"/api/v1/tips/{ref}/assign", json={"username": "sho_karanda"}, headers=sp)
    assert r.status_code == 403, r.text  # Ghazipur: another SP's district
    for name in ("sho_jsw", "co_jsw", "sho_saifai"):
        assert client.get(f"/api/v1/tips/{ref}", headers=auth[name]).status_code == 404
        assert client.get("/api/v1/tips", headers=auth[name]).json() == []
    tip = client.get(f"/api/v1/tips/{ref}", headers=sp).json()
    assert tip["status"] == "new" and tip["assigned_station"] is None
    # The DIG's range holds Ghazipur; Etawah stays outside it.
    dig = auth["dig_varanasi"]
    r = client.post(f"/api/v1/tips/{ref}/assign", json={"station_id": "ETW-SAIFAI"}, headers=dig)
    assert r.status_code == 403, r.text
    r = client.post(f"/api/v1/tips/{ref}/assign", json={"username": "sho_karanda"}, headers=dig)
    assert r.status_code == 200 and r.json()["assigned_station"] == "GZP-KARANDA", r.text
    r = client.post(f"/api/v1/tips/{ref}/assign", json={"station_id": "JNP-SIKRARA"}, headers=sp)
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/tips/{ref}/assign", json={"station_id": "ETW-JASWANTNAGAR"}, headers=auth["admin"]
    )
    assert r.status_code == 200, r.text  # state-wide


def test_a_tip_is_never_assigned_to_another_district_or_range_office(
    informant: Informant, client: TestClient, auth: Headers
) -> None:
    ref = informant.report()  # high sensitivity (arms), Jaunpur district, Varanasi range
    # Etawah's SP office and the Kanpur DIG could never open a Jaunpur tip: assigning it to
    # them would only stop its escalation, with nobody able to act on it.
    for assigner in ("sp_jaunpur", "dig_varanasi", "admin"):
        for username in ("dcr_etawah", "dig_kanpur"):
            r = client.post(
                f"/api/v1/tips/{ref}/assign", json={"username": username}, headers=auth[assigner]
            )
            assert r.status_code == 409, (assigner, username, r.text)
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    assert tip["status"] == "new" and tip["assigned_to"] is None
    # The tip's own offices still take it, and act on it.
    r = client.post(
        f"/api/v1/tips/{ref}/assign", json={"username": "dig_varanasi"}, headers=auth["sp_jaunpur"]
    )
    assert r.status_code == 200 and r.json()["assigned_to"] == "dig_varanasi", r.text
    r = client.post(
        f"/api/v1/tips/{ref}/action", data={"text": "Raid done"}, headers=auth["dig_varanasi"]
    )
    assert r.status_code == 200, r.text


def test_the_sp_office_closes_a_tip_once(
    informant: Informant, client: TestClient, auth: Headers
) -> None:
    ref = informant.report()
    client.post(
        f"/api/v1/tips/{ref}/assign", json={"station_id": "JNP-SIKRARA"}, headers=auth["sp_jaunpur"]
    )
    r = client.post(f"/api/v1/tips/{ref}/close", headers=auth["sho_jsw"])
    assert r.status_code == 404  # not theirs to see
    r = client.post(f"/api/v1/tips/{ref}/close", headers=auth["sp_jaunpur"])
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    closed_at = r.json()["closed_at"]
    r = client.post(f"/api/v1/tips/{ref}/close", headers=auth["dig_varanasi"])
    assert r.status_code == 409 and "already closed" in r.json()["detail"]
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    assert tip["closed_at"] == closed_at  # the first close stands


def test_an_action_report_holding_a_nul_is_422_and_changes_nothing(
    informant: Informant, client: TestClient, auth: Headers
) -> None:
    ref = informant.report()
    r = client.post(
        f"/api/v1/tips/{ref}/action",
        data={"text": "Raid done\u0000"},
        files=[("files", ("raid.jpg", jpeg_with_gps(), "image/jpeg"))],
        headers=auth["sp_jaunpur"],
    )
    assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    assert tip["status"] == "new" and tip["media"] == []
    assert [i["kind"] for i in tip["items"]] == []


def test_status_and_adding_information(
    informant: Informant, client: TestClient, media_server: object, auth: Headers
) -> None:
    ref = informant.report()
    assert f"Tip {ref}: received" in informant.say(f"status {ref.lower()}")
    assert f"new information for {ref}" in informant.say(f"ADD {ref}")
    assert "Added" in informant.say("The shed has a blue tin roof.")
    informant.send_media([(jpeg_with_gps(), "image/jpeg")])
    assert "added to " + ref in informant.say("done")
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    assert [i["text"] for i in tip["items"]] == ["The shed has a blue tin roof."]
    assert len(tip["media"]) == 1 and tip["media"][0]["status"] == "stored"
    stranger = Informant(client, "+919833333333")
    assert "No tip" in stranger.say(f"STATUS {ref}")
    assert "No tip" in stranger.say(f"ADD {ref}")
    # STATUS in the middle of a new report answers and keeps the place.
    informant.send("Hi")
    informant.send("2")
    assert f"Tip {ref}" in informant.say(f"STATUS {ref}")
    assert "Which district?" in informant.say("5")


def test_high_tip_alerts_live_and_escalates_when_unassigned(
    informant: Informant,
    client: TestClient,
    database: Database,
    clock: FrozenClock,
    twilio: TipTwilio,
    auth: Headers,
) -> None:
    with database.session() as session:
        for name, post, unit, phone in (
            ("SP office Jaunpur", Post.sp_office, "Jaunpur", "+919450000001"),
            ("DIG office Varanasi", Post.dig_office, "Varanasi", "+919450000002"),
        ):
            escalation_service.add_contact(
                session=session,
                body=ContactCreate(name=name, post=post, unit=unit, phone=phone, language="en"),
                index=None,
                now=clock.now(),
            )
        session.commit()
    ref = informant.report(category="3")  # arms: high
    with database.session() as session:
        events = session.exec(select(AlertEvent).where(AlertEvent.type == "tip.event")).all()
    received = [e for e in events if e.data["kind"] == "tip.received"]
    assert len(received) == 1 and received[0].scope == "|d:Jaunpur|r:Varanasi|"
    assert received[0].data["sensitivity"] == "high" and received[0].alert_id is None

    app = client.app
    escalation_jobs.run_registered(app, clock.now())  # type: ignore[arg-type]
    assert twilio.of("sms") == []
    clock.advance(minutes=31)
    escalation_jobs.run_registered(app, clock.now())  # type: ignore[arg-type]
    escalation_jobs.run_registered(app, clock.now())  # type: ignore[arg-type]
    sms = twilio.of("sms")
    assert [s.to for s in sms] == ["+919450000001"] and ref in sms[0].data["Body"]
    clock.advance(minutes=31)
    escalation_jobs.run_registered(app, clock.now())  # type: ignore[arg-type]
    assert [s.to for s in twilio.of("sms")] == ["+919450000001", "+919450000002"]
    client.post(
        f"/api/v1/tips/{ref}/assign", json={"station_id": "JNP-SIKRARA"}, headers=auth["sp_jaunpur"]
    )
    clock.advance(minutes=31)
    escalation_jobs.run_registered(app, clock.now())  # type: ignore[arg-type]
    assert len(twilio.of("sms")) == 2
    assert (
        client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()["escalation_level"]
        == 2
    )


def test_block_list_by_tip(informant: Informant, client: TestClient, auth: Headers) -> None:
    ref = informant.report()
    assert client.post(f"/api/v1/tips/{ref}/block", headers=auth["sp_jaunpur"]).status_code == 204
    assert informant.send("Hi") == []


def test_dashboard_stats_csv_and_page(
    client: TestClient, media_server: object, auth: Headers, clock: FrozenClock
) -> None:
    refs = []
    for n in range(6):
        person = Informant(client, f"+91990000000{n}")
        refs.append(
            person.report(
                category="4" if n < 5 else "3",
                description="Betting on cards every night in the old mill.",
            )
        )
    client.post(
        f"/api/v1/tips/{refs[0]}/assign",
        json={"station_id": "JNP-SIKRARA"},
        headers=auth["sp_jaunpur"],
    )
    clock.advance(minutes=90)
    client.post(
        f"/api/v1/tips/{refs[0]}/action", data={"text": "Raided."}, headers=auth["sp_jaunpur"]
    )
    stats = client.get("/api/v1/tips/stats", headers=auth["sp_jaunpur"]).json()
    assert stats["total"] == 6 and stats["open"] == 5 and stats["closed"] == 1
    assert stats["sensitivity"] == {"high": 1, "medium": 0, "low": 5}
    assert (
        stats["stations"][0]["station_id"] == "JNP-SIKRARA" and stats["stations"][0]["total"] == 6
    )
    assert stats["weekly"][0]["categories"] == {"gambling": 5, "arms": 1}
    assert stats["monthly"][0]["period"] == "2026-11"
    assert stats["time_to_action_hours"]["median"] == 1.5
    assert client.get("/api/v1/tips/stats", headers=auth["dig_kanpur"]).json()["total"] == 0
    assert client.get("/api/v1/tips/stats", headers=auth["sho_jsw"]).status_code == 403
    for bad in ("0001-01-01T00:00:00+05:30", "9999-12-31T23:00:00-05:00", "2026-11-01T00:00"):
        r = client.get("/api/v1/tips/stats", params={"since": bad}, headers=auth["sp_jaunpur"])
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "since"], bad

    exported = client.get("/api/v1/tips/stats?format=csv", headers=auth["dig_varanasi"])
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    station = next(r for r in rows if r[0] == "station")
    assert station[4] == "6" and station[7] == "<5" and station[9] == "5"
    weekly = {r[3]: r[4] for r in rows if r[0] == "weekly"}
    assert weekly == {"arms": "<5", "gambling": "5"}

    page = client.get("/tips")
    assert page.status_code == 200 and "/tips/tips.js" in page.text and "<script>" not in page.text
    script = client.get("/tips/tips.js")
    assert script.status_code == 200 and "/api/v1/jurisdictions" in script.text
    assert "http://" not in script.text.replace("http://www.w3.org/2000/svg", "")
