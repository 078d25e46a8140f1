"""Twilio's webhooks: delivery reports on the timeline, failures escalate at once, a keypress
or an SMS 'ACK <code>' acknowledges as that officer, and nothing unsigned gets through."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import select

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.notify.models import OutboundRecord
from tests.escalation.support import (
    PHONES,
    alert_row,
    events_of,
    levels_fired,
    new_alert,
    tick,
    twilio_settings,
    webhook,
)
from tests.notify.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE,
    RecordingTwilio,
    Sent,
    path_and_query,
    query_value,
    sign,
)

STATUS = "/webhooks/twilio/status"
GATHER = "/webhooks/twilio/voice/gather"
SMS = "/webhooks/twilio/sms"


def status_path(sent: Sent) -> str:
    """'/webhooks/twilio/status?n=<record>' from the callback URL the SDK was given."""
    return path_and_query(str(sent.data["StatusCallback"]))


def gather_path(call: Sent) -> str:
    """The <Gather action> of a call's TwiML, as a path with its query."""
    match = re.search(r'<Gather action="([^"]+)"', str(call.data["Twiml"]))
    assert match is not None
    return path_and_query(match.group(1).replace("&amp;", "&"))


def record(database: Database, record_id: int) -> OutboundRecord:
    with database.session() as session:
        found = session.get(OutboundRecord, record_id)
        assert found is not None
        return found


def ack_code(database: Database, alert_id: int) -> str:
    chain = alert_row(database, alert_id).escalation_chain
    assert chain is not None
    return str(chain["ack_code"])


def climb_to_level_1(app: FastAPI, clock: FrozenClock) -> None:
    tick(app, clock)
    tick(app, clock, minutes=3)


# ---------- delivery reports ----------


def test_status_callbacks_land_on_the_timeline(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    sms = twilio.of("sms")[0]
    path = status_path(sms)
    record_id = int(query_value(path, "n"))

    # 'queued' is stored but not worth a timeline entry; 'sent' and 'delivered' are.
    params = {"MessageSid": str(sms.sid), "MessageStatus": "queued", "AccountSid": ACCOUNT_SID}
    assert webhook(client, path, params).status_code == 204
    assert events_of(database, alert_id, "alert.delivery") == []
    assert record(database, record_id).status == "queued"

    params = {"MessageSid": str(sms.sid), "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    assert webhook(client, path, params).status_code == 204
    assert record(database, record_id).status == "delivered"
    (delivery,) = events_of(database, alert_id, "alert.delivery")
    assert delivery.actor == "twilio"
    assert delivery.data["status"] == "delivered"
    assert delivery.data["notification_id"] == record_id
    assert delivery.data["to_masked"] == "+9198xxxxxx01"
    assert delivery.data["escalating_now"] is False
    assert PHONES["sho_jsw"] not in str(delivery.data)

    # A callback whose sid is not the record's is ignored (no change, no event).
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"}
    assert webhook(client, path, params).status_code == 204
    assert record(database, record_id).status == "delivered"
    assert len(events_of(database, alert_id, "alert.delivery")) == 1
    # And the delivered SMS did not move the chain.
    assert levels_fired(database, alert_id) == [0]


def test_undelivered_sms_escalates_to_the_next_level_at_once(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    sms = twilio.of("sms")[0]
    clock.advance(seconds=20)
    params = {"MessageSid": str(sms.sid), "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert webhook(client, status_path(sms), params).status_code == 204
    delivery = events_of(database, alert_id, "alert.delivery")[-1]
    assert delivery.data["escalating_now"] is True and delivery.data["error_code"] == "30003"
    assert alert_row(database, alert_id).escalation_due_at == clock.now()

    # Not three minutes: the next sweep (same instant) pages level 1.
    tick(app, clock)
    assert levels_fired(database, alert_id) == [0, 1]
    assert [(s.kind, s.to) for s in twilio.sent[2:]] == [
        ("voice", PHONES["sho_jsw"]),
        ("sms", PHONES["co_jsw"]),
    ]
    # A second failure report for the same level-0 message does not skip another level.
    params["MessageStatus"] = "failed"
    webhook(client, status_path(sms), params)
    tick(app, clock)
    assert levels_fired(database, alert_id) == [0, 1]
    # Level 2 comes three minutes after level 1 fired, as usual.
    tick(app, clock, minutes=2, seconds=59)
    assert levels_fired(database, alert_id) == [0, 1]
    tick(app, clock, seconds=1)
    assert levels_fired(database, alert_id) == [0, 1, 2]


@pytest.mark.parametrize("call_status", ["no-answer", "busy", "failed"])
def test_unanswered_or_failed_call_escalates_at_once(
    call_status: str,
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    climb_to_level_1(app, clock)
    call = twilio.of("voice")[0]
    assert call.to == PHONES["sho_jsw"]
    clock.advance(seconds=40)
    for status in ("initiated", "ringing", call_status):
        params = {"CallSid": str(call.sid), "CallStatus": status, "AccountSid": ACCOUNT_SID}
        assert webhook(client, status_path(call), params).status_code == 204
    deliveries = events_of(database, alert_id, "alert.delivery")
    assert [d.data["status"] for d in deliveries] == ["ringing", call_status]
    assert deliveries[-1].data["escalating_now"] is True
    tick(app, clock)
    assert levels_fired(database, alert_id) == [0, 1, 2]
    assert twilio.sent[-1].kind == "voice" and twilio.sent[-1].to == PHONES["dcr_etawah"]


def test_a_completed_call_and_failures_after_acknowledgement_change_nothing(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    alert_id = new_alert(client, partner)
    climb_to_level_1(app, clock)
    call, co_sms = twilio.sent[2:4]
    params = {"CallSid": str(call.sid), "CallStatus": "completed", "CallDuration": "17"}
    assert webhook(client, status_path(call), params).status_code == 204
    (done,) = events_of(database, alert_id, "alert.delivery")
    assert done.data["duration_s"] == "17" and done.data["escalating_now"] is False
    tick(app, clock)
    assert levels_fired(database, alert_id) == [0, 1]

    assert client.post(f"/api/v1/alerts/{alert_id}/ack", headers=auth["sho_jsw"]).status_code == 200
    tick(app, clock)
    params = {"MessageSid": str(co_sms.sid), "MessageStatus": "undelivered"}
    assert webhook(client, status_path(co_sms), params).status_code == 204
    assert events_of(database, alert_id, "alert.delivery")[-1].data["escalating_now"] is False
    sent = len(twilio.sent)
    tick(app, clock, minutes=5)
    assert len(twilio.sent) == sent


def test_refused_message_counts_as_unreachable_and_the_chain_moves_on(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    # Twilio refuses the SHO's number (400 21211): nobody at level 0 can be reached.
    twilio.refuse.add(PHONES["sho_jsw"])
    alert_id = new_alert(client, partner)
    tick(app, clock)
    notes = events_of(database, alert_id, "alert.delivery")
    failed = [n.data for n in notes if n.data["status"] == "failed" and n.data["level"] == 0]
    assert {n["channel"] for n in failed} == {"sms", "whatsapp"}
    assert "21211" in str(failed[0]["error"])
    assert PHONES["sho_jsw"] not in str(failed[0]["error"])
    assert [n["escalating_now"] for n in failed].count(True) == 1  # the chain moved once
    # The level-1 call to the same SHO also fails, the CO's SMS goes: level 1 waits as usual.
    assert levels_fired(database, alert_id) == [0, 1]
    assert twilio.sent[-1].to == PHONES["co_jsw"]


# ---------- acknowledgement by phone ----------


def test_pressing_1_on_the_call_acknowledges_as_that_officer(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    climb_to_level_1(app, clock)
    call = twilio.of("voice")[0]
    path = gather_path(call)
    assert path.startswith(GATHER + "?n=")

    # Another key: nothing happens, the officer is told so.
    r = webhook(client, path, {"CallSid": str(call.sid), "Digits": "2"})
    assert r.status_code == 200 and "Not acknowledged" in r.text
    assert alert_row(database, alert_id).acknowledged_at is None
    # A keypress for some other call's sid: refused.
    r = webhook(client, path, {"CallSid": "CA" + "e" * 32, "Digits": "1"})
    assert "Unknown call" in r.text
    assert alert_row(database, alert_id).acknowledged_at is None

    clock.advance(seconds=30)
    r = webhook(client, path, {"CallSid": str(call.sid), "Digits": "1", "From": FROM_NUMBER})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert f"Alert {alert_id} acknowledged" in r.text and 'language="hi-IN"' in r.text
    assert 'voice="Polly.Aditi"' in r.text  # a voice that speaks Hindi
    alert = alert_row(database, alert_id)
    assert alert.acknowledged_at == clock.now()
    assert alert.acknowledged_by is not None
    assert alert.acknowledged_by.startswith(f"contact:{contacts['sho_jsw']} sho_jsw")
    (acked,) = events_of(database, alert_id, "alert.acknowledged")
    assert acked.data["via"] == "voice"

    # The chain stops at once and for good.
    tick(app, clock)
    assert [
        e.data["reason"] for e in events_of(database, alert_id, "alert.escalation_stopped")
    ] == ["acknowledged"]
    sent = len(twilio.sent)
    tick(app, clock, minutes=9)
    assert len(twilio.sent) == sent
    # Pressing 1 again says who acknowledged first.
    r = webhook(client, path, {"CallSid": str(call.sid), "Digits": "1"})
    assert "already acknowledged" in r.text


@pytest.mark.parametrize("text", ["ACK {code}", "ack {lower}", "  Ack #{code} thanks"])
def test_sms_reply_ack_code_acknowledges(
    text: str,
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    code = ack_code(database, alert_id)
    assert f"ACK {code}" in str(twilio.of("sms")[0].data["Body"])
    clock.advance(minutes=1)
    body = text.format(code=code, lower=code.lower())
    r = webhook(client, SMS, {"From": PHONES["sho_jsw"], "To": FROM_NUMBER, "Body": body})
    assert r.status_code == 200
    assert f"Alert {alert_id} acknowledged" in r.text and "<Message>" in r.text
    alert = alert_row(database, alert_id)
    assert alert.acknowledged_at == clock.now()
    assert str(alert.acknowledged_by).startswith(f"contact:{contacts['sho_jsw']} sho_jsw")
    assert events_of(database, alert_id, "alert.acknowledged")[0].data["via"] == "sms"
    tick(app, clock)
    sent = len(twilio.sent)
    tick(app, clock, minutes=3)
    tick(app, clock, minutes=3)
    assert len(twilio.sent) == sent
    assert levels_fired(database, alert_id) == [0]


def test_sms_ack_needs_the_code_from_the_number_it_was_sent_to(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    code = ack_code(database, alert_id)
    # The circle officer has not been paged yet: the code is not theirs to use.
    r = webhook(client, SMS, {"From": PHONES["co_jsw"], "Body": f"ACK {code}"})
    assert "not known for this number" in r.text
    r = webhook(client, SMS, {"From": PHONES["sho_jsw"], "Body": "ACK ZZZZZ"})
    assert "not known for this number" in r.text
    r = webhook(client, SMS, {"From": PHONES["sho_jsw"], "Body": "hello"})
    assert "Reply ACK" in r.text
    assert alert_row(database, alert_id).acknowledged_at is None
    # Once paged (level 1 SMS), the circle officer may acknowledge with the same code.
    tick(app, clock, minutes=3)
    r = webhook(client, SMS, {"From": "+91 98765 00003", "Body": f"ACK {code}"})
    assert f"Alert {alert_id} acknowledged" in r.text
    assert str(alert_row(database, alert_id).acknowledged_by).startswith(
        f"contact:{contacts['co_jsw']} co_jsw"
    )


def test_a_whatsapp_reply_ack_acknowledges_and_never_reaches_the_tip_line(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    # The WhatsApp number is shared with the anonymous tip line; the page says "reply ACK".
    from dispatch.tipline.models import TiplineContact

    alert_id = new_alert(client, partner)
    tick(app, clock)
    code = ack_code(database, alert_id)
    page = twilio.of("whatsapp")[0]
    assert f"ACK {code}" in str(page.data["Body"])
    clock.advance(minutes=1)
    whatsapp = "/webhooks/twilio/whatsapp"
    reply = {"From": str(page.data["To"]), "Body": f"ack {code}", "MessageSid": "SM" + "a" * 32}
    r = webhook(client, whatsapp, reply)
    assert r.status_code == 200 and f"Alert {alert_id} acknowledged" in r.text, r.text
    alert = alert_row(database, alert_id)
    assert str(alert.acknowledged_by).startswith(f"contact:{contacts['sho_jsw']} sho_jsw")
    assert events_of(database, alert_id, "alert.acknowledged")[0].data["via"] == "whatsapp"
    # A wrong code from a paged officer is answered as such, still not by the tip line.
    r = webhook(client, whatsapp, {**reply, "Body": "ACK ZZZZZ", "MessageSid": "SM" + "b" * 32})
    assert "not known for this number" in r.text
    with database.session() as session:
        assert session.exec(select(TiplineContact)).all() == []
    # Anyone never paged who writes "ACK ..." is an informant like any other.
    informant = {
        "From": "whatsapp:+919811100099",
        "Body": "ACK ABCDE",
        "MessageSid": "SM" + "c" * 32,
    }
    r = webhook(client, whatsapp, informant)
    assert r.status_code == 200 and "not known for this number" not in r.text
    with database.session() as session:
        assert len(session.exec(select(TiplineContact)).all()) == 1


@pytest.mark.parametrize("text", ["OK sir, on the way", "ACK", "Hi", ""])
def test_any_other_whatsapp_reply_of_a_paged_officer_stays_out_of_the_tip_line(
    text: str,
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    # An officer answers the page in their own words, or forgets the code: the shared
    # WhatsApp number tells them how to acknowledge; the tip-line bot never greets them
    # with its menu nor keeps their number in its vault.
    from dispatch.tipline.models import TiplineContact

    alert_id = new_alert(client, partner)
    tick(app, clock)
    page = twilio.of("whatsapp")[0]
    reply = {"From": str(page.data["To"]), "Body": text, "MessageSid": "SM" + "d" * 32}
    r = webhook(client, "/webhooks/twilio/whatsapp", reply)
    assert r.status_code == 200
    assert "Reply ACK &lt;code&gt; to acknowledge" in r.text, r.text
    assert "Police Satark Mitra" not in r.text
    with database.session() as session:
        assert session.exec(select(TiplineContact)).all() == []
    assert alert_row(database, alert_id).acknowledged_at is None


def test_a_removed_contact_cannot_acknowledge(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
    auth: dict[str, dict[str, str]],
) -> None:
    alert_id = new_alert(client, partner)
    tick(app, clock)
    code = ack_code(database, alert_id)
    r = client.delete(f"/api/v1/contacts/{contacts['sho_jsw']}", headers=auth["admin"])
    assert r.status_code == 204
    r = webhook(client, SMS, {"From": PHONES["sho_jsw"], "Body": f"ACK {code}"})
    assert "cannot acknowledge" in r.text
    assert alert_row(database, alert_id).acknowledged_at is None


# ---------- signatures ----------


def _state(database: Database, alert_id: int) -> tuple[Any, ...]:
    alert = alert_row(database, alert_id)
    with database.session() as session:
        statuses = tuple(r.status for r in session.exec(select(OutboundRecord)).all())
    return (
        alert.acknowledged_at,
        alert.escalation_fence,
        alert.escalation_due_at,
        len(events_of(database, alert_id)),
        statuses,
    )


def test_every_twilio_webhook_rejects_a_bad_signature_and_changes_nothing(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    alert_id = new_alert(client, partner)
    climb_to_level_1(app, clock)
    call = twilio.of("voice")[0]
    sms = twilio.of("sms")[0]
    code = ack_code(database, alert_id)
    requests = [
        (status_path(call), {"CallSid": str(call.sid), "CallStatus": "no-answer"}),
        (status_path(sms), {"MessageSid": str(sms.sid), "MessageStatus": "undelivered"}),
        (gather_path(call), {"CallSid": str(call.sid), "Digits": "1"}),
        (SMS, {"From": PHONES["sho_jsw"], "Body": f"ACK {code}"}),
    ]
    # Every route under /webhooks/twilio/ is in the list (a new one must be added here).
    routes = {getattr(r, "path", "") for r in app.routes}
    twilio_routes = {p for p in routes if p.startswith("/webhooks/twilio/")}
    assert twilio_routes <= {STATUS, GATHER, SMS} | {p for p in twilio_routes if "whatsapp" in p}
    before = _state(database, alert_id)
    for path, params in requests:
        url = PUBLIC_BASE + path
        forged = [
            None,  # no header at all
            "",
            sign(url, params, token="some-other-token"),
            sign(url, {**params, "Digits": "9"} if "Digits" in params else {}),
            sign("http://testserver" + path, params),  # the internal URL, not the public one
        ]
        if "?" in path:  # without the query (the record id) of the URL it was sent to
            forged.append(sign(url.split("?")[0], params))
        for signature in forged:
            headers = {} if signature is None else {"X-Twilio-Signature": signature}
            r = client.post(path, data=params, headers=headers)
            assert r.status_code == 403, (path, signature)
        # Tampered parameters with a signature for the originals.
        tampered = {**params, "From": PHONES["co_jsw"]}
        r = client.post(path, data=tampered, headers={"X-Twilio-Signature": sign(url, params)})
        assert r.status_code == 403
    for path in twilio_routes - {STATUS, GATHER, SMS}:
        assert client.post(path, data={"Body": "x"}).status_code == 403
    assert _state(database, alert_id) == before
    tick(app, clock)
    assert levels_fired(database, alert_id) == [0, 1]


def test_signatures_are_checked_against_the_configured_public_url(
    database: Database, clock: FrozenClock, twilio: RecordingTwilio, partner: PartnerCredentials
) -> None:
    # Behind a reverse proxy under a path prefix: Twilio signs the public URL.
    from tests.escalation.support import twilio_app

    base = "https://police.example.in:8443/dispatch"
    settings = twilio_settings(database, public_base_url=base)
    app = twilio_app(settings, clock, database, twilio)
    with TestClient(app) as client:
        params = {"From": "+919999900000", "Body": "hello"}
        good = sign(base + SMS, params)
        r = client.post(SMS, data=params, headers={"X-Twilio-Signature": good})
        assert r.status_code == 200
        assert "Reply ACK" in r.text
        r = client.post(
            SMS, data=params, headers={"X-Twilio-Signature": sign(PUBLIC_BASE + SMS, params)}
        )
        assert r.status_code == 403


def test_without_twilio_every_webhook_is_refused(database: Database, clock: FrozenClock) -> None:
    from dispatch.main import create_app

    app = create_app(
        Settings(env="test", database_url=database.url, scheduler_enabled=False),
        clock=clock,
        database=database,
    )
    with TestClient(app) as client:
        params = {"From": "+919999900000", "Body": "ACK ABCDE"}
        r = client.post(SMS, data=params, headers={"X-Twilio-Signature": sign("x", params)})
        assert r.status_code == 403


def test_the_service_refuses_to_start_with_twilio_but_no_auth_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="DISPATCH_TWILIO_AUTH_TOKEN"):
        Settings(env="test", twilio_account_sid=ACCOUNT_SID)
    with pytest.raises(ValidationError, match="DISPATCH_TWILIO_AUTH_TOKEN"):
        Settings(env="test", twilio_account_sid=ACCOUNT_SID, twilio_auth_token="")
    monkeypatch.setenv("DISPATCH_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.delenv("DISPATCH_TWILIO_AUTH_TOKEN", raising=False)
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("DISPATCH_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    assert Settings().twilio_enabled


def test_webhooks_signed_with_a_shared_key_are_checked_with_its_secret_and_algorithm(
    database: Database, clock: FrozenClock, twilio: RecordingTwilio
) -> None:
    from twilio.request_validator import RequestValidator

    from tests.escalation.support import twilio_app

    secret = "shared-key-secret-0123456789"
    header = "X-Twilio-Webhooks-Signature-Settings"
    settings = twilio_settings(database, twilio_webhook_shared_key=secret)
    app = twilio_app(settings, clock, database, twilio)
    params = {"From": "+919999900000", "Body": "hello"}
    url = PUBLIC_BASE + SMS
    sha256 = RequestValidator(secret).compute_signature(url, params, "HMAC_SHA256")
    with TestClient(app) as client:
        settings_value = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
        ok = {"X-Twilio-Signature": sha256, header: settings_value}
        assert client.post(SMS, data=params, headers=ok).status_code == 200
        # The auth token's signature does not pass for a shared-key request, nor the other way.
        wrong = {"X-Twilio-Signature": sign(url, params), header: settings_value}
        assert client.post(SMS, data=params, headers=wrong).status_code == 403
        assert (
            client.post(SMS, data=params, headers={"X-Twilio-Signature": sha256}).status_code == 403
        )
        # An algorithm the SDK does not know is refused.
        odd = {"X-Twilio-Signature": sha256, header: "key=k,algorithm=HMAC_MD5"}
        assert client.post(SMS, data=params, headers=odd).status_code == 403
        # Legacy auth-token signatures still work.
        legacy = {"X-Twilio-Signature": sign(url, params)}
        assert client.post(SMS, data=params, headers=legacy).status_code == 200
    # Without a configured shared key, shared-key requests are refused.
    plain = twilio_app(twilio_settings(database), clock, database, twilio)
    with TestClient(plain) as client:
        assert client.post(SMS, data=params, headers=ok).status_code == 403
