"""Phone numbers: normalised to E.164; an invalid one is reported with a reason, never raised."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException


@dataclass(frozen=True)
class PhoneResult:
    """A phone number as given, its E.164 form if valid, or why not."""

    raw: str
    e164: str | None
    error: str | None


_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


def normalize_phone(raw: str, region: str = "IN") -> PhoneResult:
    """E.164 for a phone number written any common way ('+91 98765 43210', '09876543210')."""
    text = (raw or "").strip()
    if not text:
        return PhoneResult(raw=raw, e164=None, error="empty")
    digits = sum(c.isdigit() for c in text)
    if digits == 0:
        return PhoneResult(raw=raw, e164=None, error="not a phone number")
    if digits < 5:
        return PhoneResult(raw=raw, e164=None, error="too short")
    candidate = text
    # '919876543210' (country code without '+') is common in platform exports.
    bare = "".join(c for c in text if c.isdigit())
    if region == "IN" and not text.startswith("+") and len(bare) == 12 and bare.startswith("91"):
        candidate = "+" + bare
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        return PhoneResult(raw=raw, e164=None, error=_PARSE_ERRORS.get(exc.error_type, str(exc)))
    if not phonenumbers.is_valid_number(number):
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible == phonenumbers.ValidationResult.TOO_SHORT:
            reason = "too short"
        elif possible == phonenumbers.ValidationResult.TOO_LONG:
            reason = "too long"
        else:
            reason = f"not a valid number for region {region}"
        return PhoneResult(raw=raw, e164=None, error=reason)
    return PhoneResult(
        raw=raw,
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        error=None,
    )
