"""Personal data at rest: Fernet encryption and keyed blind indexes for lookups."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class PiiVault:
    """Seals personal data with a key from the environment; the database never holds it plain."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as exc:
            raise ValueError(
                "DISPATCH_PII_KEY must be a Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc
        self._blind_key = hmac.new(key.encode(), b"blind-index-v1", hashlib.sha256).digest()

    def seal(self, value: Any) -> str:
        """Encrypt a JSON-serialisable value."""
        return self._fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def open(self, token: str) -> Any:
        """Decrypt what seal() produced (None for an empty or purged value)."""
        if not token:
            return None
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError("sealed personal data cannot be decrypted with this key") from exc

    def seal_bytes(self, value: bytes) -> str:
        """Encrypt raw bytes (the verbatim request body)."""
        return self._fernet.encrypt(value).decode()

    def open_bytes(self, token: str) -> bytes:
        """Decrypt what seal_bytes() produced."""
        if not token:
            return b""
        return self._fernet.decrypt(token.encode())

    def blind(self, kind: str, value: str) -> str:
        """A keyed digest of a normalised value, to find equal values without storing them."""
        normalised = normalise_identifier(kind, value)
        return hmac.new(
            self._blind_key, f"{kind}:{normalised}".encode(), hashlib.sha256
        ).hexdigest()


def normalise_identifier(kind: str, value: str) -> str:
    """Canonical form of a phone (E.164 expected), handle or e-mail before hashing."""
    value = value.strip().lower()
    if kind == "handle":
        value = value.lstrip("@")
        value = re.sub(r"^https?://(www\.)?[^/]+/", "", value).strip("/")
    return value


def mask_phone(e164: str) -> str:
    """'+919876543210' -> '+91 98xxxxxx10' (for places that must not show the number)."""
    if len(e164) < 6:
        return "x" * len(e164)
    return e164[:5] + "x" * (len(e164) - 7) + e164[-2:]


def label_for(name: str | None, handle: str | None) -> str | None:
    """Initials for lists and live events, so a glance shows who without showing the name."""
    if name and name.strip():
        parts = [p for p in re.split(r"\s+", name.strip()) if p]
        return " ".join(p[0].upper() + "." for p in parts[:3])
    if handle and handle.strip():
        h = handle.strip().lstrip("@")
        return "@" + h[:2] + "…" if h else None
    return None
