"""The notification provider interface: callers never import twilio."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from dispatch.pii import mask_phone


class Channel(StrEnum):
    """How a message reaches a person."""

    sms = "sms"
    whatsapp = "whatsapp"
    voice = "voice"


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one number.

    For voice, `twiml` is the call's TwiML (e.g. a <Gather> asking to press 1). For WhatsApp
    outside the 24-hour window, `content_sid` and `content_variables` name a pre-approved
    template instead of free text.
    """

    channel: Channel
    to: str
    body: str
    ref: str | None = None
    status_callback: str | None = None
    twiml: str | None = None
    content_sid: str | None = None
    content_variables: dict[str, str] = field(default_factory=dict)
    # The recipient is a tip-line informant: their number is never written anywhere, not
    # even masked (a few digits narrow down who informed).
    informant: bool = False

    def recipient_for_logs(self) -> str:
        """How logs and stored errors name the recipient."""
        return "an informant" if self.informant else mask_phone(self.to)


@dataclass(frozen=True)
class SendResult:
    """What the provider answered."""

    provider_id: str | None
    status: str
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True if the provider accepted the message."""
        return self.error is None


class Provider(Protocol):
    """Something that sends messages (Twilio, or the console transport in demos)."""

    name: str

    def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; never raises for a refused message, returns the error."""
        ...
