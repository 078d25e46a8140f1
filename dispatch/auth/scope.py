"""Which alerts a user may see: scope tokens shared by the API, the hub and replay."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch.auth.models import STATE_WIDE_ROLES, UNIT_PREFIX, Role

STATE_QUEUE_TOKEN = "q:state"  # noqa: S105 - a scope token, not a secret


@dataclass(frozen=True)
class Scope:
    """A role and unit; `token` is None for state-wide roles (they see everything)."""

    role: Role
    unit: str | None

    @property
    def state_wide(self) -> bool:
        """True for operators, supervisors and admins."""
        return self.role in STATE_WIDE_ROLES

    @property
    def token(self) -> str | None:
        """The token an alert's scope string must contain for this user to see it."""
        if self.state_wide:
            return None
        return f"{UNIT_PREFIX[self.role]}:{self.unit}"

    def sees(self, scope_string: str) -> bool:
        """True if this user may see something with that scope string."""
        token = self.token
        return token is None or f"|{token}|" in scope_string

    def sql_pattern(self) -> str | None:
        """A LIKE pattern matching scope strings this user may see (None: everything)."""
        token = self.token
        if token is None:
            return None
        escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%|{escaped}|%"


def station_tokens(
    station_id: str, circle: str | None, district: str, range_name: str | None
) -> list[str]:
    """The scope tokens of one station and the units above it."""
    tokens = [f"s:{station_id}", f"d:{district}"]
    if circle:
        tokens.append(f"c:{circle}")
    if range_name:
        tokens.append(f"r:{range_name}")
    return tokens


def scope_string(tokens: Iterable[str]) -> str:
    """Encode tokens as '|a|b|' so a LIKE '%|token|%' finds exact tokens."""
    unique = sorted(set(tokens))
    if not unique:
        unique = [STATE_QUEUE_TOKEN]
    return "|" + "|".join(unique) + "|"


def merge_scope(existing: str, tokens: Iterable[str]) -> str:
    """Add tokens to a scope string (a handover keeps the first station in scope)."""
    current = {t for t in existing.strip("|").split("|") if t and t != STATE_QUEUE_TOKEN}
    return scope_string(current | set(tokens))
