"""The informant contact vault and the notifier, the only code that holds its key.

The pseudonym is a keyed HMAC of the number (to recognise a returning informant and to rate
limit or block one); the WhatsApp address is sealed with DISPATCH_TIPLINE_CONTACT_KEY and
opened only here, to send a message. Nothing here logs an address.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from dispatch.notify.provider import Channel, OutboundMessage, Provider, SendResult
from dispatch.pii import PiiVault
from dispatch.tipline import catalogue as cat
from dispatch.tipline.models import TiplineContact, TiplineLink

log = logging.getLogger(__name__)

WHATSAPP_WINDOW = timedelta(hours=24)


def bare_number(address: str) -> str:
    """'whatsapp:+91 98765-43210' -> '+919876543210' (what the pseudonym is computed over)."""
    value = address.strip().removeprefix("whatsapp:")
    digits = re.sub(r"\D", "", value)
    return "+" + digits if digits else ""


class ContactVault:
    """Pseudonyms and sealed addresses under the tip line's own key."""

    def __init__(self, key: str) -> None:
        self._vault = PiiVault(key)

    def pseudonym(self, address: str) -> str:
        """The keyed HMAC of the number behind a WhatsApp address."""
        return self._vault.blind("whatsapp", bare_number(address))

    def seal(self, address: str) -> str:
        """The number, encrypted."""
        return self._vault.seal(bare_number(address))

    def open(self, sealed: str) -> str:
        """The number again (only to send it a message)."""
        return str(self._vault.open(sealed))

    def contact(self, session: Session, *, address: str, now: datetime) -> TiplineContact:
        """The contact for this address, created on first contact; marks the inbound time."""
        pseudonym = self.pseudonym(address)
        contact = session.exec(
            select(TiplineContact).where(TiplineContact.pseudonym == pseudonym)
        ).first()
        if contact is None:
            contact = TiplineContact(
                pseudonym=pseudonym,
                address_sealed=self.seal(address),
                last_inbound_at=now,
                created_at=now,
            )
        else:
            contact.last_inbound_at = now
        session.add(contact)
        session.flush()
        return contact

    def send_text(self, provider: Provider, contact: TiplineContact, text: str) -> SendResult:
        """Free text to an informant (only inside WhatsApp's 24-hour window)."""
        message = OutboundMessage(
            channel=Channel.whatsapp,
            to=self.open(contact.address_sealed),
            body=text,
            informant=True,
        )
        return provider.send(message)

    def notify_action(
        self,
        *,
        session: Session,
        provider: Provider,
        tip_id: int,
        ref: str,
        language: str,
        content_sid: str | None,
        now: datetime,
    ) -> str:
        """Tell the informant that action was taken: 'sent', 'template', 'failed' or 'none'.

        The notice carries only the reference: never the officer, station or action text.
        """
        link = session.get(TiplineLink, tip_id)
        contact = session.get(TiplineContact, link.contact_id) if link else None
        if contact is None:
            return "none"
        lang = contact.language or language
        to = self.open(contact.address_sealed)
        if now - contact.last_inbound_at < WHATSAPP_WINDOW:
            body = cat.say("action_taken", lang, ref=ref)
            message = OutboundMessage(
                channel=Channel.whatsapp, to=to, body=body, ref=ref, informant=True
            )
            kind = "sent"
        elif content_sid:
            variables: dict[str, Any] = {"1": ref}
            message = OutboundMessage(
                channel=Channel.whatsapp,
                to=to,
                body="",
                ref=ref,
                content_sid=content_sid,
                content_variables=variables,
                informant=True,
            )
            kind = "template"
        else:
            log.warning("tip %s: outside the 24-hour window and no template configured", ref)
            return "failed"
        result = provider.send(message)
        if not result.ok:
            log.warning("tip %s: the action notice was refused", ref)
            return "failed"
        return kind
