"""Typed settings, read from DISPATCH_* environment variables (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, model_validator
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
    # Threads that run request handlers at once in one process (anyio's default, 40).
    request_threads: int = Field(default=40, ge=1, le=200)
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

    # Partner intake commits in groups: one writer thread takes every alert waiting and
    # stores up to this many in one transaction (one commit, one timeline lock); a lone alert
    # is stored at once. Writer threads: one by default on both databases. A group costs
    # about eleven round trips whatever its size; a second thread on PostgreSQL made groups
    # smaller and the two contend for the GIL and the timeline lock (console delivery p99
    # at 100 alerts/s: 57-66 ms with one, 94-129 ms with two).
    intake_batch_max: int = Field(default=64, ge=1, le=1000)
    intake_writers: int = Field(default=1, ge=1, le=16)

    demo: bool = False

    # --- live (issue 3) ---
    # Events a console may have queued before it counts as too slow and is closed (it then
    # reconnects with since=<last id> and replays from the database, so nothing is lost).
    live_queue_max: int = Field(default=5000, ge=10)
    live_read_batch: int = Field(default=1000, ge=10)
    live_listen_retry_s: float = Field(default=1.0, gt=0)
    # permessage-deflate on console WebSockets. Off by default: a live message is about 1 KB,
    # and compressing it once per console cost about 7 % of the server's CPU at 100 alerts/s.
    live_ws_deflate: bool = False
    # Move what start-up built out of the garbage collector's reach (`dispatch serve` sets it).
    gc_freeze: bool = False
    # With gc_freeze: a full collection only after this many younger ones (Python's default
    # is 10). Under load a full pass over the consoles' objects stalled every request for
    # about 100 ms, twice in 20 s at 100 alerts/s; reference counting frees everything but
    # cycles, which the rarer full passes still collect.
    gc_full_every: int = Field(default=1000, ge=1)
    # With gc_freeze: a young collection after this many new objects (Python's default is
    # 700). A served process makes thousands of short-lived objects per alert; at 700 the
    # collector ran hundreds of times a second and, every tenth time, went over the middle
    # generation too. At 20,000: about 1.5 % less CPU per alert and a lower delivery tail at
    # 100 alerts/s (README, tenth session); cycles are still collected, a little later.
    gc_young_every: int = Field(default=20_000, ge=1)

    # --- escalation and notify (issue 4) ---
    # Threads that run overdue steps in one sweep (PostgreSQL; SQLite has one writer anyway),
    # and the timer threads (this many, plus one for the sweep).
    escalation_workers: int = Field(default=4, ge=1, le=64)
    # How long a sweep may keep running overdue steps before it yields to the next run.
    escalation_sweep_budget_s: float = Field(default=30.0, gt=0)
    # WhatsApp outside the 24-hour window needs a pre-approved template (Content API sid).
    twilio_whatsapp_content_sid: str | None = None
    twilio_timeout_s: float = Field(default=10.0, gt=0)
    # The voice that reads alert calls. Twilio's default ("man") speaks no Hindi, and a <Say>
    # in hi-IN with it may fail: Amazon Polly's Aditi speaks Hindi and Indian English.
    # Empty: Twilio's default (for an account with a Hindi default voice set in its console).
    twilio_voice: str = Field(default="Polly.Aditi", max_length=60)
    # A message queued this long ago and still not handed to the provider (its process died
    # between the commit and the send) is sent by the sweeper. Longer than a step's sends
    # can take (messages x twilio_timeout_s); not scaled by the drill speed.
    outbox_resend_after_s: float = Field(default=120.0, gt=0)
    # The SharedKey secret, if a Twilio Webhook Rule signs our webhooks with one (the request
    # then carries X-Twilio-Webhooks-Signature-Settings); otherwise the auth token signs them.
    twilio_webhook_shared_key: str | None = None
    # Link to an alert in the web console, put in every message ({base_url}, {alert_id}).
    console_alert_url: str = "{base_url}/#/alerts/{alert_id}"

    # --- care and review (issue 5) ---
    # Review (response times): targets counted as breaches, and what counts as a life saved.
    review_ack_target_minutes: float = Field(default=3.0, gt=0)
    review_contact_target_minutes: float = Field(default=30.0, gt=0)
    review_rescue_outcomes: list[str] = Field(
        default_factory=lambda: ["attempt_interrupted", "found_safe_counselled", "hospitalised"]
    )
    # Outcomes where nobody could be contacted by design: never a missed-contact breach.
    review_contact_exempt_outcomes: list[str] = Field(
        default_factory=lambda: ["false_alarm", "transferred"]
    )
    review_max_days: int = Field(default=400, ge=1)
    review_slowest_limit: int = Field(default=20, ge=1, le=500)
    # Care: follow-up check-ins after a rescue outcome, hours after closing (scaled by the
    # drill speed), and how long past due a check-in may stay before the circle officer is paged.
    followup_offsets_hours: list[PositiveInt] = Field(default_factory=lambda: [24, 7 * 24, 30 * 24])
    followup_grace_hours: float = Field(default=12.0, ge=0)

    # --- tipline (issue 6) ---
    # The informant contact vault (pseudonym HMAC and the sealed WhatsApp address) has its own
    # key, held only by the bot and its notifier: DISPATCH_PII_KEY holders cannot open it.
    # Unset, it is DISPATCH_TIPLINE_VAULT_KEY (refused at its default in production above).
    tipline_contact_key: str | None = None
    tipline_districts: list[str] = Field(default=["Jaunpur", "Ghazipur", "Chandauli"])
    tipline_idle_minutes: float = Field(default=30.0, gt=0)
    # Messages one informant (by pseudonym) may send per window before the bot stops answering.
    tipline_rate_limit: int = Field(default=40, ge=1)
    tipline_rate_window_s: float = Field(default=600.0, gt=0)
    tipline_max_media_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    tipline_media_types: list[str] = Field(
        default=[
            "image/jpeg",
            "image/png",
            "image/webp",
            "video/mp4",
            "video/3gpp",
            "audio/ogg",
            "audio/mpeg",
            "audio/amr",
            "audio/mp4",
        ]
    )
    tipline_media_dir: Path = REPO_ROOT / "var" / "tipline-media"
    tipline_media_timeout_s: float = Field(default=20.0, gt=0)
    # Pre-approved WhatsApp template for "action taken" outside the 24-hour window ({{1}}: ref).
    tipline_action_content_sid: str | None = None
    # A high-sensitivity tip nobody assigned within this time climbs the escalation chain.
    tipline_escalate_minutes: float = Field(default=30.0, gt=0)
    # Counts below this are shown as "<N" in exports that leave the office.
    tipline_min_count: int = Field(default=5, ge=1)

    @property
    def contact_vault_key(self) -> str:
        """The key of the tip line's contact vault."""
        return self.tipline_contact_key or self.tipline_vault_key

    @model_validator(mode="after")
    def _refuse_unsafe_tipline(self) -> Settings:
        shared = self.contact_vault_key == self.pii_key and self.pii_key != DEV_PII_KEY
        if self.env == "production" and (self.tipline_contact_key == DEV_PII_KEY or shared):
            raise ValueError(
                "unsafe settings for production: DISPATCH_TIPLINE_CONTACT_KEY "
                "(its own Fernet key, not the default and not DISPATCH_PII_KEY)"
            )
        return self

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
