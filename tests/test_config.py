"""Settings refuse unsafe values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(env="production")
    message = str(err.value)
    assert "DISPATCH_SECRET_KEY" in message and "DISPATCH_PII_KEY" in message


def test_production_accepts_real_secrets() -> None:
    from cryptography.fernet import Fernet

    settings = Settings(
        env="production",
        secret_key="x" * 40,
        pii_key=Fernet.generate_key().decode(),
        tipline_vault_key=Fernet.generate_key().decode(),
    )
    assert settings.env == "production"


def test_twilio_without_auth_token_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(twilio_account_sid="AC" + "0" * 32)
    assert "DISPATCH_TWILIO_AUTH_TOKEN" in str(err.value)


def test_drill_speed_scales_durations() -> None:
    assert Settings(drill_speed=60).scaled(180) == 3


def test_a_served_process_keeps_its_start_up_objects_out_of_full_collections(
    settings: Settings, clock: FrozenClock, database: Database
) -> None:
    import gc

    from fastapi.testclient import TestClient

    from dispatch.main import create_app

    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    frozen = create_app(
        settings.model_copy(
            update={"gc_freeze": True, "gc_full_every": 500, "gc_young_every": 5000}
        ),
        clock=clock,
        database=database,
    )
    try:
        with TestClient(frozen) as client:
            assert client.get("/healthz").status_code == 200
            # The jurisdiction index, policy and modules are now in the permanent generation.
            assert gc.get_freeze_count() > 10_000
            # And full collections, which stall every request at once, come far more rarely.
            # Young collections too: after 5,000 new objects, not Python's 700.
            assert gc.get_threshold() == (5000, thresholds[1], 500)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
