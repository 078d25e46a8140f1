"""Start-up of notifications: Twilio when an account is configured, else the console transport."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import Session

from dispatch.config import Settings
from dispatch.notify.console import ConsoleProvider
from dispatch.notify.provider import Provider
from dispatch.notify.twilio import TwilioProvider


def build_notifier(settings: Settings, http_client: object | None = None) -> Provider:
    """The provider for these settings (`http_client`: a twilio.http.HttpClient, for tests)."""
    if settings.twilio_enabled:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        return TwilioProvider(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            whatsapp_from=settings.twilio_whatsapp_from,
            public_base_url=settings.public_base_url,
            timeout_s=settings.twilio_timeout_s,
            voice=settings.twilio_voice or None,
            http_client=http_client,  # type: ignore[arg-type]
        )
    return ConsoleProvider(settings.public_base_url)


async def start(app: FastAPI) -> None:
    """Put the notifier at app.state.notifier (tests may preset app.state.twilio_http_client)."""
    app.state.notifier = build_notifier(
        app.state.settings, getattr(app.state, "twilio_http_client", None)
    )


async def stop(app: FastAPI) -> None:
    """Nothing to stop: sending is synchronous."""


def seed_demo(session: Session, app: FastAPI) -> list[str]:
    """Say which transport the demo uses."""
    settings: Settings = app.state.settings
    if settings.twilio_enabled:
        return ["Notifications: Twilio (real SMS, WhatsApp and calls)"]
    return ["Notifications: console transport (nothing is sent; see each alert's timeline)"]
