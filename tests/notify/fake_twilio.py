"""A twilio.http.HttpClient that records what the real SDK sends and answers as Twilio does."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789"
FROM_NUMBER = "+15005550006"
WHATSAPP_FROM = "+14155238886"
PUBLIC_BASE = "https://dispatch.example.org"


@dataclass(frozen=True)
class Sent:
    """One request the SDK made."""

    method: str
    uri: str
    data: dict[str, Any]
    sid: str | None

    @property
    def kind(self) -> str:
        """'sms', 'whatsapp' or 'voice'."""
        if self.uri.endswith("/Calls.json"):
            return "voice"
        return "whatsapp" if str(self.data.get("To", "")).startswith("whatsapp:") else "sms"

    @property
    def to(self) -> str:
        """The recipient's number without the whatsapp: prefix."""
        return str(self.data["To"]).removeprefix("whatsapp:")


class RecordingTwilio(HttpClient):
    """Answers Messages.json and Calls.json with 201 and Twilio-shaped JSON (status queued)."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("fake-twilio"), is_async=False)
        self.sent: list[Sent] = []
        self.refuse: set[str] = set()  # numbers Twilio answers with 400 21211
        # Called with each request's form before it is answered (a slow or busy Twilio).
        self.during_request: Callable[[dict[str, object]], None] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

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
    ) -> Response:
        body = dict(data or {})
        assert auth == (ACCOUNT_SID, AUTH_TOKEN), "the SDK authenticates with the account"
        if self.during_request is not None:
            self.during_request(body)
        to = str(body.get("To", "")).removeprefix("whatsapp:")
        if to in self.refuse:
            with self._lock:
                self.sent.append(Sent(method, uri, body, None))
            error = {
                "code": 21211,
                "message": f"The 'To' number {to} is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            }
            return Response(400, json.dumps(error))
        with self._lock:
            number = next(self._ids)
        calls = uri.endswith("/Calls.json")
        sid = ("CA" if calls else "SM") + f"{number:032x}"
        with self._lock:
            self.sent.append(Sent(method, uri, body, sid))
        resource = {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": body.get("To"),
            "from": body.get("From"),
            "status": "queued",
            "api_version": "2010-04-01",
            "date_created": "Tue, 24 Nov 2026 16:46:00 +0000",
            "uri": (
                f"/2010-04-01/Accounts/{ACCOUNT_SID}/{'Calls' if calls else 'Messages'}/{sid}.json"
            ),
        }
        if calls:
            resource.update(direction="outbound-api", duration=None, price=None)
        else:
            resource.update(body=body.get("Body", ""), direction="outbound-api", num_segments="1")
        return Response(201, json.dumps(resource))

    def of(self, kind: str) -> list[Sent]:
        """The requests of one kind, in order."""
        return [s for s in self.sent if s.kind == kind]


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature for a webhook Twilio would send to `url` with these form fields."""
    return RequestValidator(token).compute_signature(url, params)


def path_and_query(url: str) -> str:
    """'/webhooks/...?n=1' from an absolute callback URL."""
    parsed = urlparse(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def query_value(url: str, name: str) -> str:
    """One query parameter of a URL."""
    return parse_qs(urlparse(url).query)[name][0]
