"""The console transport: the default without Twilio. Nothing leaves the building.

Every message is still recorded (table `outbound_message`, by notify.service.deliver) and put
on the alert's timeline, so a demo shows the whole chain of calls and messages.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque

from dispatch.notify.provider import OutboundMessage, SendResult

log = logging.getLogger(__name__)


class ConsoleProvider:
    """Accepts every message and keeps the latest ones in memory; never sends anything."""

    name = "console"

    def __init__(self, public_base_url: str = "", keep: int = 1000) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.sent: deque[OutboundMessage] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        """Record the message as if it had gone out."""
        with self._lock:
            self.sent.append(message)
            number = next(self._ids)
        log.info(
            "console transport: %s to %s (%s)",
            message.channel.value,
            message.recipient_for_logs(),
            message.ref or "-",
        )
        return SendResult(provider_id=f"CONSOLE{number:08d}", status="recorded")
