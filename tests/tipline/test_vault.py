"""The contact vault's key is the tip line's own: the PII key opens nothing in it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlmodel import select

from dispatch.config import Settings
from dispatch.db import Database
from dispatch.pii import PiiVault
from dispatch.tipline.models import TiplineContact
from dispatch.tipline.vault import ContactVault
from tests.tipline.support import NUMBER, Informant


def test_the_pii_key_cannot_open_or_match_the_contact_vault(
    informant: Informant, database: Database, settings: Settings
) -> None:
    informant.send("Hi")
    with database.session() as session:
        contact = session.exec(select(TiplineContact)).one()
    police_vault = PiiVault(Fernet.generate_key().decode())
    with pytest.raises(ValueError):
        police_vault.open(contact.address_sealed)
    assert contact.pseudonym != police_vault.blind("whatsapp", NUMBER)
    vault = ContactVault(settings.contact_vault_key)
    assert vault.open(contact.address_sealed) == NUMBER
    assert vault.pseudonym("whatsapp:+91 98765 43210") == contact.pseudonym


def test_production_wants_a_contact_key_of_its_own() -> None:
    pii = Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="DISPATCH_TIPLINE_CONTACT_KEY"):
        Settings(env="production", secret_key="x" * 40, pii_key=pii, tipline_vault_key=pii)
    own = Settings(
        env="production",
        secret_key="x" * 40,
        pii_key=pii,
        tipline_vault_key=Fernet.generate_key().decode(),
        tipline_contact_key=Fernet.generate_key().decode(),
    )
    assert own.contact_vault_key == own.tipline_contact_key
