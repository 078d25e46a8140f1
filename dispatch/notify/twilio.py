"""Twilio: SMS, WhatsApp and voice calls through the official SDK (`twilio.rest.Client`)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from dispatch.notify.provider import Channel, OutboundMessage, SendResult
from dispatch.pii import mask_phone

log = logging.getLogger(__name__)

# Call progress Twilio reports to the status callback; busy/no-answer/failed escalate at once.
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


# Twilio's error texts quote the number ("The 'To' number +9198... is not valid"); the error is
# stored and put on the timeline, so numbers in it are masked like everywhere else.
_NUMBER = re.compile(r"\+\d[\d\s-]{6,}\d|\b\d{10,}\b")


def redact_numbers(text: str, *, entirely: bool = False) -> str:
    """The text with every phone-number-like run of digits masked (`entirely`: removed, for
    an informant's number)."""
    if entirely:
        return _NUMBER.sub("[number]", text)
    return _NUMBER.sub(lambda m: mask_phone(re.sub(r"[\s-]", "", m.group(0))), text)


def whatsapp_address(number: str) -> str:
    """'whatsapp:+91...' for a WhatsApp sender or recipient."""
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


class TwilioProvider:
    """Sends through Twilio; a refused message comes back as a SendResult with an error."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None,
        whatsapp_from: str | None,
        public_base_url: str,
        timeout_s: float = 10.0,
        http_client: HttpClient | None = None,
        ring_timeout_s: int = 30,
        voice: str | None = None,
    ) -> None:
        self.client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=timeout_s),
        )
        self.from_number = from_number
        self.whatsapp_from = whatsapp_from
        self.public_base_url = public_base_url.rstrip("/")
        self.ring_timeout_s = ring_timeout_s
        self.voice = voice  # what reads the calls' <Say> (None: the account's default)

    def send(self, message: OutboundMessage) -> SendResult:
        """Create the message or call; errors from Twilio or the network are returned."""

        def failed(error: str) -> SendResult:
            error = redact_numbers(error, entirely=message.informant)
            return SendResult(provider_id=None, status="failed", error=error[:500])

        try:
            if message.channel is Channel.voice:
                return self._call(message)
            return self._message(message)
        except TwilioRestException as exc:
            log.warning(
                "twilio refused %s to %s: %s",
                message.channel,
                message.recipient_for_logs(),
                exc.code,
            )
            return failed(f"twilio {exc.code}: {exc.msg}")
        except (TwilioException, OSError, ValueError) as exc:
            log.warning("twilio unreachable for %s: %s", message.channel, type(exc).__name__)
            return failed(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # requests' errors, without importing requests here
            log.warning("twilio request failed: %s", type(exc).__name__)
            return failed(f"{type(exc).__name__}: {exc}")

    def _message(self, message: OutboundMessage) -> SendResult:
        kwargs: dict[str, Any] = {}
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        if message.channel is Channel.whatsapp:
            sender = self.whatsapp_from or self.from_number
            if not sender:
                return SendResult(None, "failed", error="DISPATCH_TWILIO_WHATSAPP_FROM is not set")
            kwargs["to"] = whatsapp_address(message.to)
            kwargs["from_"] = whatsapp_address(sender)
            if message.content_sid:
                kwargs["content_sid"] = message.content_sid
                kwargs["content_variables"] = json.dumps(message.content_variables)
            else:
                kwargs["body"] = message.body
        else:
            if not self.from_number:
                return SendResult(None, "failed", error="DISPATCH_TWILIO_FROM_NUMBER is not set")
            kwargs.update(to=message.to, from_=self.from_number, body=message.body)
        created = self.client.messages.create(**kwargs)
        return SendResult(
            provider_id=created.sid,
            status=str(created.status or "queued"),
            raw={"sid": created.sid},
        )

    def _call(self, message: OutboundMessage) -> SendResult:
        if not self.from_number:
            return SendResult(None, "failed", error="DISPATCH_TWILIO_FROM_NUMBER is not set")
        kwargs: dict[str, Any] = {
            "to": message.to,
            "from_": self.from_number,
            "twiml": message.twiml or "",
            "timeout": self.ring_timeout_s,
        }
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
            kwargs["status_callback_event"] = CALL_EVENTS
        call = self.client.calls.create(**kwargs)
        return SendResult(
            provider_id=call.sid, status=str(call.status or "queued"), raw={"sid": call.sid}
        )
