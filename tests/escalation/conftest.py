"""Escalation tests run with Twilio enabled through a recording HTTP client."""

from tests.escalation.support import app, contacts, settings, twilio

__all__ = ["app", "contacts", "settings", "twilio"]
