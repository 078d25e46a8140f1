"""What the real twilio SDK sends for SMS, WhatsApp and calls (only its HTTP client is fake)."""

from __future__ import annotations

import logging
import re
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from twilio.http import HttpClient
from twilio.http.response import Response

from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.notify.console import ConsoleProvider
from dispatch.notify.provider import Channel, OutboundMessage
from dispatch.notify.twilio import TwilioProvider
from dispatch.pii import mask_phone
from tests.escalation.support import PHONES, events_of, new_alert, tick, twilio_app, twilio_settings
from tests.helpers import make_alert
from tests.notify.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE,
    WHATSAPP_FROM,
    RecordingTwilio,
)

API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"


def provider(twilio: HttpClient, **overrides: Any) -> TwilioProvider:
    values: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM_NUMBER,
        "whatsapp_from": WHATSAPP_FROM,
        "public_base_url": PUBLIC_BASE + "/",
        "http_client": twilio,
    }
    values.update(overrides)
    return TwilioProvider(**values)


def test_sms_goes_to_the_messages_resource(twilio: RecordingTwilio) -> None:
    result = provider(twilio).send(
        OutboundMessage(
            channel=Channel.sms,
            to="+919876500001",
            body="CRISIS ALERT #1",
            status_callback=f"{PUBLIC_BASE}/webhooks/twilio/status?n=1",
        )
    )
    (sent,) = twilio.sent
    assert sent.method == "POST" and sent.uri == f"{API}/Messages.json"
    assert sent.data == {
        "To": "+919876500001",
        "From": FROM_NUMBER,
        "Body": "CRISIS ALERT #1",
        "StatusCallback": f"{PUBLIC_BASE}/webhooks/twilio/status?n=1",
    }
    assert result.ok and result.status == "queued" and result.provider_id == sent.sid


def test_whatsapp_free_text_and_template(twilio: RecordingTwilio) -> None:
    p = provider(twilio)
    p.send(OutboundMessage(channel=Channel.whatsapp, to="+919876500001", body="hello"))
    p.send(
        OutboundMessage(
            channel=Channel.whatsapp,
            to="whatsapp:+919876500001",
            body="hello",
            content_sid="HX" + "0" * 32,
            content_variables={"1": "42", "2": "Jaswantnagar"},
        )
    )
    free, template = twilio.sent
    assert free.data == {
        "To": "whatsapp:+919876500001",
        "From": f"whatsapp:{WHATSAPP_FROM}",
        "Body": "hello",
    }
    assert template.data["ContentSid"] == "HX" + "0" * 32
    assert template.data["ContentVariables"] == '{"1": "42", "2": "Jaswantnagar"}'
    assert "Body" not in template.data
    assert template.data["To"] == "whatsapp:+919876500001"


def test_voice_call_carries_its_twiml_and_asks_for_every_call_event(
    twilio: RecordingTwilio,
) -> None:
    twiml = "<Response><Say>x</Say></Response>"
    result = provider(twilio).send(
        OutboundMessage(
            channel=Channel.voice,
            to="+919876500001",
            body="x",
            twiml=twiml,
            status_callback=f"{PUBLIC_BASE}/webhooks/twilio/status?n=7",
        )
    )
    (call,) = twilio.sent
    assert call.uri == f"{API}/Calls.json"
    assert call.data["Twiml"] == twiml and call.data["From"] == FROM_NUMBER
    assert call.data["Timeout"] == 30
    assert call.data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert result.provider_id is not None and result.provider_id.startswith("CA")


def test_refusals_and_network_errors_come_back_as_failed_results(
    twilio: RecordingTwilio,
) -> None:
    twilio.refuse.add("+919876500001")
    result = provider(twilio).send(OutboundMessage(Channel.sms, "+919876500001", "x"))
    assert not result.ok and result.status == "failed"
    assert result.error is not None and "21211" in result.error
    assert "+919876500001" not in result.error  # the number is masked in stored errors

    class Down(HttpClient):
        def __init__(self) -> None:
            super().__init__(logger=logging.getLogger("down"), is_async=False)

        def request(self, *args: Any, **kwargs: Any) -> Response:
            raise ConnectionError("connection refused to api.twilio.com")

    result = provider(Down()).send(OutboundMessage(Channel.voice, "+919876500002", "x"))
    assert not result.ok and "ConnectionError" in str(result.error)

    no_sender = provider(twilio, from_number=None, whatsapp_from=None)
    for channel in Channel:
        result = no_sender.send(OutboundMessage(channel, "+919876500003", "x"))
        assert not result.ok and "is not set" in str(result.error)


def test_an_informants_number_is_named_nowhere_not_even_masked(
    twilio: RecordingTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    # A masked police number keeps 4 of its 10 digits; for a tip-line informant that would
    # narrow down who informed, so their number is never written at all.
    caplog.set_level(logging.INFO)
    number = "+919811122233"
    twilio.refuse.add(number)
    tip_notice = OutboundMessage(Channel.whatsapp, number, "x", informant=True)
    result = provider(twilio).send(tip_notice)
    assert not result.ok and "21211" in str(result.error)
    console = ConsoleProvider("http://127.0.0.1:8000")
    assert console.send(tip_notice).ok
    written = caplog.text + str(result.error)
    assert "informant" in caplog.text
    for digits in (number, mask_phone(number), "981112", "2233"):
        assert digits not in written, digits
    # A police contact's number is still shown masked, so a refusal can be traced.
    twilio.refuse.add("+919876500001")
    provider(twilio).send(OutboundMessage(Channel.sms, "+919876500001", "x"))
    assert mask_phone("+919876500001") in caplog.text


def _gathers(twiml: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(twiml)  # noqa: S314 - TwiML the service itself built
    return root.findall("Gather")


def test_alert_calls_read_hindi_and_english_and_gather_one_key(
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
    for minutes in (3, 3, 5):
        tick(app, clock, minutes=minutes)
    calls = {s.to: s for s in twilio.of("voice")}
    # The SHO speaks Hindi (Hindi first), the range office English (English first).
    for number, first in ((PHONES["sho_jsw"], "hi-IN"), (PHONES["range_kanpur"], "en-IN")):
        twiml = str(calls[number].data["Twiml"])
        gathers = _gathers(twiml)
        assert len(gathers) == 2  # said twice
        for gather in gathers:
            assert gather.get("numDigits") == "1" and gather.get("method") == "POST"
            action = str(gather.get("action"))
            assert re.fullmatch(
                re.escape(PUBLIC_BASE) + r"/webhooks/twilio/voice/gather\?n=\d+", action
            )
            says = gather.findall("Say")
            assert [s.get("language") for s in says] == (
                [first, "en-IN" if first == "hi-IN" else "hi-IN"]
            )
            # Twilio's default voice speaks no Hindi: every <Say> names one that does.
            assert {s.get("voice") for s in says} == {"Polly.Aditi"}
            texts = " ".join(str(s.text) for s in says)
            assert f"Crisis alert number {alert_id}" in texts
            assert f"संकट अलर्ट संख्या {alert_id}" in texts
            assert "Press 1 to acknowledge" in texts and "1 दबाएँ" in texts
        # The record named in the gather URL is the call itself.
        record_id = re.search(r"n=(\d+)", str(gathers[0].get("action")))
        callback = str(calls[number].data["StatusCallback"])
        assert record_id is not None and callback.endswith(f"n={record_id.group(1)}")
    dcr = str(calls[PHONES["dcr_etawah"]].data["Twiml"])
    assert "NOT acknowledged for 6 min" in dcr


def test_messages_carry_no_subject_data_or_post_content(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    contacts: dict[str, int],
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    body = make_alert(
        subject={
            "name": "Sunita Devi",
            "handle": "@sunita.d",
            "profile_url": "https://instagram.com/sunita.d",
            "phones": ["+91 91234 56789", "09123456780"],
            "emails": ["sunita@example.com"],
        },
        content={
            "platform": "instagram",
            "kind": "post",
            "text": "alvida duniya goodbye everyone",
            "urls": ["https://instagram.com/p/XYZ123"],
        },
    )
    alert_id = new_alert(client, partner, **{k: body[k] for k in ("subject", "content")})
    tick(app, clock)
    for minutes in (3, 3, 5, 4):
        tick(app, clock, minutes=minutes)
    assert len(twilio.sent) >= 10
    forbidden = [
        "Sunita",
        "sunita",
        "91234",
        "9123456789",
        "9123456780",
        "example.com",
        "alvida",
        "goodbye",
        "XYZ123",
        "instagram",
    ]
    for sent in twilio.sent:
        text = " ".join(str(v) for v in sent.data.values())
        for word in forbidden:
            assert word not in text, (word, sent.kind)
    # The timeline's copies of the messages carry no more than the messages themselves.
    for note in events_of(database, alert_id, "alert.notification"):
        for word in forbidden:
            assert word not in str(note.data)


def test_whatsapp_template_is_used_when_configured(
    database: Database, clock: FrozenClock, twilio: RecordingTwilio, partner: PartnerCredentials
) -> None:
    from tests.escalation.support import add_chain_contacts

    settings = twilio_settings(database, twilio_whatsapp_content_sid="HX" + "1" * 32)
    app = twilio_app(settings, clock, database, twilio)
    add_chain_contacts(database, clock)
    with TestClient(app) as client:
        alert_id = new_alert(client, partner)
        tick(app, clock)
    (whatsapp,) = twilio.of("whatsapp")
    assert whatsapp.data["ContentSid"] == "HX" + "1" * 32
    variables = str(whatsapp.data["ContentVariables"])
    assert f'"1": "{alert_id}"' in variables and "Jaswantnagar" in variables
    assert "Ravi" not in variables
    # SMS still carries the free text.
    assert "Body" in twilio.of("sms")[0].data


@pytest.mark.parametrize("whatsapp", [True, False])
def test_whatsapp_only_to_contacts_who_have_it(
    whatsapp: bool,
    database: Database,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    partner: PartnerCredentials,
) -> None:
    from dispatch.escalation import service as escalation_service
    from dispatch.escalation.models import ContactCreate, Post
    from tests.helpers import JASWANTNAGAR_ID

    with database.session() as session:
        escalation_service.add_contact(
            session=session,
            body=ContactCreate(
                name="SHO",
                post=Post.sho,
                unit=JASWANTNAGAR_ID,
                phone="98765 00001",
                whatsapp=whatsapp,
            ),
            index=None,
            now=clock.now(),
        )
        session.commit()
    app = twilio_app(twilio_settings(database), clock, database, twilio)
    with TestClient(app) as client:
        new_alert(client, partner)
        tick(app, clock)
    assert [s.kind for s in twilio.sent] == (["sms", "whatsapp"] if whatsapp else ["sms"])
