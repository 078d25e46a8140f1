"""Driving the tip line as Twilio does: signed webhooks, a media server, the recording SDK."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient
from PIL import Image
from twilio.http.response import Response as TwilioResponse

from tests.notify.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE,
    WHATSAPP_FROM,
    RecordingTwilio,
    sign,
)

NUMBER = "+919876543210"
PROFILE_NAME = "Ramesh Kumar Informant"
# Every way the informant's number could be written down.
NUMBER_FORMS = [
    "+919876543210",
    "919876543210",
    "9876543210",
    "98765 43210",
    "+91 98765 43210",
    "98765-43210",
    "whatsapp:+919876543210",
    "+9198xxxxxx10",  # masked as police contacts' numbers are: still 4 of the 10 digits
]
WEBHOOK = "/webhooks/twilio/whatsapp"
_sids = itertools.count(1)


class TipTwilio(RecordingTwilio):
    """The recorder, also answering media deletion (204) as Twilio does."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        if method.upper() == "DELETE":
            assert auth == (ACCOUNT_SID, AUTH_TOKEN)
            self.deleted.append(uri)
            return TwilioResponse(204, "")
        return super().request(method, uri, params, data, headers, auth, timeout, allow_redirects)

    def whatsapp_to(self, number: str = NUMBER) -> list[dict[str, Any]]:
        """Messages the SDK sent to one WhatsApp number."""
        return [s.data for s in self.of("whatsapp") if s.to == number]


@dataclass
class MediaServer:
    """Twilio's media URLs: files by id, served only with the account's basic auth."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def add(self, content: bytes, content_type: str) -> str:
        """Host a file; returns its Twilio-style URL."""
        message_sid = f"MM{next(_sids):032x}"
        media_sid = f"ME{next(_sids):032x}"
        url = (
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}"
            f"/Media/{media_sid}"
        )
        self.files[url] = (content, content_type)
        return url

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer a GET as api.twilio.com would (401 without the account's credentials)."""
        expected = httpx.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
        probe = next(expected.auth_flow(httpx.Request("GET", "https://x")))
        if request.headers.get("authorization") != probe.headers["authorization"]:
            return httpx.Response(401)
        found = self.files.get(str(request.url))
        if found is None:
            return httpx.Response(404)
        self.fetched.append(str(request.url))
        return httpx.Response(200, content=found[0], headers={"content-type": found[1]})

    def client(self) -> httpx.Client:
        """An httpx client whose transport is this server."""
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def jpeg_with_gps() -> bytes:
    """A small JPEG carrying EXIF with a GPS position and a camera make."""
    image = Image.new("RGB", (32, 24), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "InformantPhoneMaker"  # Make
    exif[0x0131] = "WhatsApp 9876543210"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (25.0, 44.0, 0.0)
    gps[3] = "E"
    gps[4] = (82.0, 57.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def twiml_messages(xml: str) -> list[str]:
    """The texts of the <Message> elements of a TwiML answer."""
    root = ET.fromstring(xml)  # noqa: S314 - our own service's TwiML in a test
    return [m.text or "" for m in root.iter("Message")]


class Informant:
    """A citizen on WhatsApp: each send() is a webhook signed as Twilio signs it."""

    def __init__(self, client: TestClient, number: str = NUMBER, media: MediaServer | None = None):
        self.client = client
        self.number = number
        self.media = media
        self.last_sid = ""

    def form(self, body: str = "", **extra: str) -> dict[str, str]:
        """The form fields Twilio posts for a WhatsApp message."""
        self.last_sid = f"SM{next(_sids):032x}"
        fields = {
            "MessageSid": self.last_sid,
            "SmsMessageSid": self.last_sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{self.number}",
            "To": f"whatsapp:{WHATSAPP_FROM}",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "WaId": self.number.lstrip("+"),
            "ProfileName": PROFILE_NAME,
            "ApiVersion": "2010-04-01",
        }
        fields.update(extra)
        return fields

    def post(self, fields: dict[str, str]) -> httpx.Response:
        """POST the fields with Twilio's signature."""
        signature = sign(PUBLIC_BASE + WEBHOOK, fields)
        return self.client.post(WEBHOOK, data=fields, headers={"X-Twilio-Signature": signature})

    def send(self, body: str = "", **extra: str) -> list[str]:
        """Send a message; returns the bot's replies."""
        response = self.post(self.form(body, **extra))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        return twiml_messages(response.text)

    def say(self, body: str) -> str:
        """Send text; returns all replies joined."""
        return "\n".join(self.send(body))

    def send_media(self, files: list[tuple[bytes, str]], body: str = "") -> list[str]:
        """Send photos/videos/voice notes (hosted on the media server)."""
        assert self.media is not None
        extra: dict[str, str] = {"NumMedia": str(len(files))}
        for n, (content, content_type) in enumerate(files):
            extra[f"MediaUrl{n}"] = self.media.add(content, content_type)
            extra[f"MediaContentType{n}"] = content_type
        return self.send(body, **extra)

    def say_media_once(self) -> str:
        """Send one photo; returns the replies joined."""
        return "\n".join(self.send_media([(jpeg_with_gps(), "image/jpeg")]))

    def share_location(self, lat: float, lon: float, address: str = "") -> list[str]:
        """A WhatsApp shared location."""
        extra = {"Latitude": str(lat), "Longitude": str(lon)}
        if address:
            extra["Address"] = address
        return self.send("", **extra)

    def report(
        self,
        *,
        language: str = "2",
        category: str = "3",
        district: str = "1",
        place: str = "Near the brick kiln, Sikrara market",
        description: str = "Two men sell country-made pistols from a shed every evening.",
        photos: int = 0,
    ) -> str:
        """A whole conversation from Hi to the reference; returns the reference."""
        self.send("Hi")
        self.send(language)
        self.send(category)
        self.send(district)
        self.send(place)
        self.send(description)
        for _ in range(photos):
            self.send_media([(jpeg_with_gps(), "image/jpeg")])
        self.send("done")
        replies = "\n".join(self.send("1"))
        return reference(replies)


def reference(text: str) -> str:
    """The T-XXXX reference in a reply."""
    import re

    match = re.search(r"T-[A-Z2-9]{4}", text)
    assert match, text
    return match.group(0)
