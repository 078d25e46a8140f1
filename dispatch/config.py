"""Typed settings, read from DISPATCH_* environment variables (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused outside development
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="


class Settings(BaseSettings):
    """Every setting of the service; unsafe values are refused outside development."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{REPO_ROOT / 'dispatch.db'}"
    secret_key: str = DEV_SECRET
    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    jurisdictions_path: Path = REPO_ROOT / "data" / "jurisdictions.geojson"
    gazetteer_path: Path = REPO_ROOT / "data" / "gazetteer.csv"
    escalation_policy_path: Path = REPO_ROOT / "data" / "escalation_policy.json"
    online_geocoder_url: str | None = None
    nearest_max_m: float = Field(default=5000.0, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    default_phone_region: str = "IN"

    # Escalation and drills.
    drill_speed: float = Field(default=1.0, gt=0)
    sweep_interval_s: float = Field(default=15.0, gt=0)
    stall_en_route_minutes: float = Field(default=10.0, gt=0)
    stall_on_scene_minutes: float = Field(default=45.0, gt=0)
    scheduler_enabled: bool = True

    # Live consoles.
    heartbeat_s: float = Field(default=20.0, gt=0)
    live_poll_s: float = Field(default=2.0, gt=0)

    # Twilio: disabled unless an account is configured; then the console transport is used.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_whatsapp_from: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"

    # Personal data: key for encryption at rest and blind indexes (Fernet, urlsafe base64).
    pii_key: str = DEV_PII_KEY
    tipline_vault_key: str = DEV_PII_KEY
    retention_days: int = Field(default=365, ge=1)

    # Abuse controls.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: float = Field(default=15.0, gt=0)
    login_rate_per_minute: int = Field(default=20, ge=1)
    partner_rate_per_second: int = Field(default=500, ge=1)

    demo: bool = False

    # --- live (issue 3) ---
    # Events a console may have queued before it counts as too slow and is closed (it then
    # reconnects with since=<last id> and replays from the database, so nothing is lost).
    live_queue_max: int = Field(default=5000, ge=10)
    live_read_batch: int = Field(default=1000, ge=10)
    live_listen_retry_s: float = Field(default=1.0, gt=0)

    # --- escalation and notify (issue 4) ---
    # Threads that run overdue steps in one sweep (PostgreSQL; SQLite has one writer anyway).
    escalation_workers: int = Field(default=4, ge=1, le=64)
    # How long a sweep may keep running overdue steps before it yields to the next run.
    escalation_sweep_budget_s: float = Field(default=30.0, gt=0)
    # WhatsApp outside the 24-hour window needs a pre-approved template (Content API sid).
    twilio_whatsapp_content_sid: str | None = None
    twilio_timeout_s: float = Field(default=10.0, gt=0)
    # Link to an alert in the web console, put in every message ({base_url}, {alert_id}).
    console_alert_url: str = "{base_url}/#/alerts/{alert_id}"

    # --- care and review (issue 5) ---

    # --- tipline (issue 6) ---

    # --- hardening (issue 7) ---

    @property
    def twilio_enabled(self) -> bool:
        """True when a Twilio account is configured (otherwise the console transport is used)."""
        return bool(self.twilio_account_sid)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.twilio_enabled and not self.twilio_auth_token:
            raise ValueError(
                "DISPATCH_TWILIO_ACCOUNT_SID is set but DISPATCH_TWILIO_AUTH_TOKEN is empty: "
                "webhooks could not be verified"
            )
        if self.env == "production":
            problems = []
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                problems.append("DISPATCH_SECRET_KEY (at least 32 characters, not the default)")
            if self.pii_key == DEV_PII_KEY:
                problems.append("DISPATCH_PII_KEY (a Fernet key, not the default)")
            if self.tipline_vault_key == DEV_PII_KEY:
                problems.append("DISPATCH_TIPLINE_VAULT_KEY (a Fernet key, not the default)")
            if problems:
                raise ValueError("unsafe settings for production: " + ", ".join(problems))
        return self

    def scaled(self, seconds: float) -> float:
        """Divide a policy duration by the drill speed (drills turn minutes into seconds)."""
        return seconds / self.drill_speed


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
