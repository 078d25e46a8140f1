"""The bot from "Hi" to a reference, in English and Hindi, with media and a shared location."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from dispatch.clock import FrozenClock
from dispatch.db import Database
from dispatch.tipline.models import Tip, TiplineConversation, TipMedia
from tests.notify.fake_twilio import PUBLIC_BASE
from tests.tipline.support import (
    NUMBER,
    WEBHOOK,
    Informant,
    MediaServer,
    TipTwilio,
    jpeg_with_gps,
    reference,
)


def test_english_flow_with_photos(
    informant: Informant,
    database: Database,
    twilio: TipTwilio,
    media_server: MediaServer,
    auth: dict[str, dict[str, str]],
    client: TestClient,
) -> None:
    first = informant.say("Hi")
    assert "Police Satark Mitra" in first and "English" in first
    assert "What is your tip about?" in informant.say("2")
    menu = informant.say("arms")
    assert "1. Jaunpur" in menu and "3. Chandauli" in menu
    assert "Where is it happening?" in informant.say("jaunpur")
    assert "Describe what you saw" in informant.say("Behind the Sikrara bus stand")
    assert "photos" in informant.say("Two men sell country-made pistols from a shed.")
    assert "1 so far" in informant.say_media_once()
    assert "2 so far" in "\n".join(informant.send_media([(jpeg_with_gps(), "image/jpeg")]))
    assert "Added" in informant.say("They come after 8 pm on a black motorcycle.")
    summary = informant.say("done")
    assert "Illegal arms" in summary and "Jaunpur" in summary and "Attachments: 3" in summary
    submitted = informant.say("1")
    ref = reference(submitted)
    assert f"STATUS {ref}" in submitted and "has not been shared" in submitted

    with database.session() as session:
        tip = session.exec(select(Tip).where(Tip.ref == ref)).one()
        assert tip.category == "arms" and tip.sensitivity == "high"
        assert tip.station_id == "JNP-SIKRARA" and tip.scope == "|d:Jaunpur|r:Varanasi|"
        media = session.exec(select(TipMedia).where(TipMedia.tip_id == tip.id)).all()
        assert session.exec(select(TiplineConversation)).all() == []
    assert [m.status for m in media] == ["stored", "stored"]
    for row in media:
        assert row.metadata_stripped and row.source_url is None and row.path
        with Image.open(Path(row.path)) as image:
            assert not image.getexif(), "EXIF (GPS, make) must be gone"
            assert b"InformantPhoneMaker" not in Path(row.path).read_bytes()
    # Both files were downloaded with the account's credentials and deleted from Twilio.
    assert len(media_server.fetched) == 2
    assert len(twilio.deleted) == 2 and all("/Media/ME" in uri for uri in twilio.deleted)

    r = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"])
    assert r.status_code == 200
    body = r.json()
    assert body["description"].startswith("Two men") and len(body["media"]) == 2
    assert [i["text"] for i in body["items"]] == ["They come after 8 pm on a black motorcycle."]
    assert client.get(f"/api/v1/tips/{ref}", headers=auth["dig_varanasi"]).status_code == 200
    for outsider in ("dig_kanpur", "dcr_etawah", "sho_jsw", "cell"):
        assert client.get(f"/api/v1/tips/{ref}", headers=auth[outsider]).status_code == 404
    got = client.get(
        f"/api/v1/tips/{ref}/media/{body['media'][0]['id']}", headers=auth["sp_jaunpur"]
    )
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"


def test_hindi_flow_by_words(informant: Informant, database: Database) -> None:
    informant.send("नमस्ते")
    assert "आपकी सूचना किस बारे में है" in informant.say("हिंदी")
    districts = informant.say("जुआ")
    assert "1. जौनपुर" in districts
    assert "यह कहाँ हो रहा है" in informant.say("गाजीपुर")
    assert "आपने क्या देखा" in informant.say("सैदपुर बाजार के पीछे वाला बाग")
    assert "DONE" in informant.say("हर रात यहाँ सट्टा और जुआ खेला जाता है, बहुत लोग आते हैं")
    summary = informant.say("हो गया")
    assert "जुआ / सट्टा" in summary and "गाजीपुर" in summary
    reply = informant.say("हाँ")
    ref = reference(reply)
    assert "धन्यवाद" in reply
    with database.session() as session:
        tip = session.exec(select(Tip).where(Tip.ref == ref)).one()
    assert (tip.category, tip.district, tip.language) == ("gambling", "Ghazipur", "hi")
    assert tip.sensitivity == "low" and tip.station_id == "GZP-SAIDPUR"


def test_shared_location_resolves_the_station(
    informant: Informant, database: Database, resolver_point: tuple[float, float]
) -> None:
    for text in ("Hi", "2", "2", "1"):
        informant.send(text)
    outside = informant.share_location(26.8860, 78.9128)  # Jaswantnagar, Etawah
    assert "not in Jaunpur" in "\n".join(outside)
    lat, lon = resolver_point
    reply = "\n".join(informant.share_location(lat, lon, "Kerakat road"))
    assert "Location noted" in reply and "Describe" in reply
    informant.send("Smack is sold near the tea stall to college students daily.")
    assert "Kerakat" in informant.say("done")
    ref = reference(informant.say("yes"))
    with database.session() as session:
        tip = session.exec(select(Tip).where(Tip.ref == ref)).one()
    assert tip.station_id == "JNP-KERAKAT" and (tip.lat, tip.lon) == (lat, lon)


def test_back_cancel_help_and_hints(informant: Informant, database: Database) -> None:
    informant.send("Hi")
    assert "Choose a language" in informant.say("7")
    assert "What is your tip about?" in informant.say("English")
    assert "Please reply with one of the numbers shown" in informant.say("11")
    assert "Which district?" in informant.say("1")
    assert "What is your tip about?" in informant.say("back")
    assert "Which district?" in informant.say("2")
    help_text = informant.say("help")
    assert "BACK" in help_text and "Which district?" in help_text
    assert "Where is it happening?" in informant.say("3")
    assert "Please write the place" in informant.say("x")
    assert "Describe" in informant.say("Chakia canal bridge")
    assert "at least a few words" in informant.say("bad")
    photo_too_early = informant.say_media_once()
    assert "answer the question first" in photo_too_early
    assert "Cancelled" in informant.say("cancel")
    with database.session() as session:
        assert session.exec(select(TiplineConversation)).all() == []
        assert session.exec(select(Tip)).all() == []
        assert session.exec(select(TipMedia)).all() == []
    assert "Police Satark Mitra" in informant.say("hello again")


def test_confirm_no_starts_again_and_back_from_confirm(informant: Informant) -> None:
    for text in ("Hi", "2", "1", "1", "Village Bakshi", "Cattle are loaded into trucks at 2 am."):
        informant.send(text)
    assert "Please check" in informant.say("done")
    assert "photos" in informant.say("back")
    informant.send("done")
    assert "What is your tip about?" in informant.say("2")


def test_expiry_after_idle_time(
    informant: Informant, clock: FrozenClock, twilio: TipTwilio, client: TestClient
) -> None:
    for text in ("Hi", "2", "4"):
        informant.send(text)
    clock.advance(minutes=31)
    reply = informant.say("1")
    assert "discarded after 30 minutes" in reply and "Choose a language" in reply
    # Idle again: the sweeper ends it and tells the informant through the SDK.
    informant.send("2")
    clock.advance(minutes=30)
    from dispatch.escalation import jobs as escalation_jobs

    escalation_jobs.run_registered(client.app, clock.now())  # type: ignore[attr-defined]
    sent = twilio.whatsapp_to(NUMBER)
    assert len(sent) == 1 and "discarded after 30 minutes" in sent[0]["Body"]
    assert "Police Satark Mitra" in informant.say("Hi")


def test_duplicate_message_sid_is_answered_once(informant: Informant, database: Database) -> None:
    fields = informant.form("Hi")
    first = informant.post(fields)
    again = informant.post(fields)
    assert "Police Satark Mitra" in first.text
    assert again.status_code == 200 and "<Message>" not in again.text
    assert "What is your tip about?" in informant.say("2")


def test_unsigned_or_forged_webhooks_are_refused(client: TestClient, informant: Informant) -> None:
    fields = informant.form("Hi")
    assert client.post(WEBHOOK, data=fields).status_code == 403
    forged = client.post(WEBHOOK, data=fields, headers={"X-Twilio-Signature": "AAAA"})
    assert forged.status_code == 403
    from tests.notify.fake_twilio import sign

    other_url = sign(PUBLIC_BASE + "/webhooks/twilio/sms", fields)
    assert (
        client.post(WEBHOOK, data=fields, headers={"X-Twilio-Signature": other_url}).status_code
        == 403
    )


def test_unsupported_and_oversized_media_are_refused(
    informant: Informant, twilio: TipTwilio, app: object, database: Database
) -> None:
    for text in (
        "Hi",
        "2",
        "2",
        "1",
        "Line Bazar crossing",
        "Liquor is sold from a house at night.",
    ):
        informant.send(text)
    refused = informant.send_media([(b"MZ\x90\x00", "application/x-msdownload")])
    assert "could not be accepted" in "\n".join(refused)
    big = b"\xff\xd8" + b"0" * (17 * 1024 * 1024)
    informant.send_media([(big, "image/jpeg")])
    notices = twilio.whatsapp_to(NUMBER)
    assert any("could not be accepted (too large)" in n["Body"] for n in notices)
    with database.session() as session:
        statuses = [m.status for m in session.exec(select(TipMedia)).all()]
    assert statuses == ["refused"]
    assert len(twilio.deleted) == 2  # both copies gone from Twilio all the same
    summary = informant.say("done")
    assert "Attachments: none" in summary


def test_rate_limit_per_informant(client: TestClient, media_server: MediaServer) -> None:
    app = client.app
    app.state.tipline_limiter.limit = 3  # type: ignore[attr-defined]
    flooder = Informant(client, "+919811111111", media_server)
    for _ in range(3):
        flooder.send("Hi")
    assert "many messages" in flooder.say("Hi")
    other = Informant(client, "+919822222222", media_server)
    assert "Police Satark Mitra" in other.say("Hi")
