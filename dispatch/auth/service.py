"""Passwords, bearer tokens, partner keys and signatures."""

from __future__ import annotations

import difflib
import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

import geo
from dispatch.auth.models import STATE_WIDE_ROLES, Partner, PartnerCredentials, Role, User
from dispatch.config import Settings

_hasher = PasswordHasher()
# Verifying against a dummy hash when the user is unknown keeps login timing uniform. It is
# the hash of a random password nobody kept, made with the hasher's own parameters (a test
# checks they still match), and written out here: hashing it at import cost every process
# start 0.2 s.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$oU5+yBHPcv3DDKXNYJglBQ"
    "$7fhT+KdQc9GyqrzPq3qb5thqocsuqwzbzzlhSslfQJ8"
)
TOKEN_ALGORITHM = "HS256"  # noqa: S105


class AuthError(Exception):
    """Credentials were refused; the message is safe to show."""


class UserExists(ValueError):
    """A user with that username already exists."""


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_unit(role: Role, unit: str | None) -> str | None:
    """Check that a role has a unit when it needs one; state-wide roles have none."""
    if role in STATE_WIDE_ROLES:
        if unit:
            raise ValueError(f"role {role} is state-wide and takes no unit")
        return None
    if not unit or not unit.strip():
        raise ValueError(f"role {role} needs a unit (station id, circle, district or range)")
    if "|" in unit:
        raise ValueError("a unit name cannot contain '|'")
    return unit.strip()


def check_unit_known(role: Role, unit: str | None, index: geo.JurisdictionIndex | None) -> None:
    """ValueError unless the unit is one of the jurisdictions' units for this role: a user
    scoped to a unit that does not exist (a typo, a station's name for its id) would be
    given an empty console and never see an alert."""
    if index is None or unit is None or role in STATE_WIDE_ROLES:
        return
    known = index.unit_names(role.value)
    if unit in known:
        return
    kind = "station id" if role is Role.station else f"{role.value} name"
    by_folded = {name.casefold(): name for name in known}
    close = difflib.get_close_matches(unit.casefold(), sorted(by_folded), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(by_folded[c] for c in close)}?" if close else ""
    raise ValueError(f"unknown {kind} {unit!r}: not in the jurisdictions{hint}")


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: Role,
    unit: str | None,
    now: datetime,
    full_name: str = "",
    phone: str | None = None,
    language: str = "en",
    index: geo.JurisdictionIndex | None = None,
) -> User:
    """Add a user; raises UserExists or ValueError for bad input (with the jurisdictions'
    `index`, also for a unit they do not have)."""
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
    unit = validate_unit(role, unit)
    check_unit_known(role, unit, index)
    if session.exec(select(User).where(User.username == username)).first():
        raise UserExists(f"user {username!r} already exists")
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role.value,
        unit=unit,
        phone=phone,
        language=language,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


class Keep:
    """The value of a field that `update_user` leaves as it is."""


KEEP = Keep()


def update_user(
    *,
    session: Session,
    username: str,
    role: Role | Keep = KEEP,
    unit: str | Keep | None = KEEP,
    active: bool | Keep = KEEP,
    password: str | Keep = KEEP,
    full_name: str | Keep = KEEP,
    phone: str | Keep | None = KEEP,
    language: str | Keep = KEEP,
    index: geo.JurisdictionIndex | None = None,
) -> User:
    """Change a user: an officer transferred to another unit, promoted, or gone (inactive);
    a new password, which also lifts a lockout. LookupError for an unknown user, ValueError
    for a bad value (with the jurisdictions' `index`, also for a new unit they do not have). Their
    tokens stop working at once if they are made inactive, and their live consoles close
    within a heartbeat after any change of role, unit or activity."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise LookupError(f"no user {username!r}")
    new_role = Role(user.role) if isinstance(role, Keep) else role
    if not isinstance(role, Keep) or not isinstance(unit, Keep):
        # Another role needs its unit given (a station id is no circle); a state-wide one
        # has none.
        if isinstance(unit, Keep):
            unit = user.unit if new_role.value == user.role else None
        new_unit = validate_unit(new_role, unit)
        check_unit_known(new_role, new_unit, index)
        user.unit = new_unit
        user.role = new_role.value
    if not isinstance(password, Keep):
        if len(password) < 8:
            raise ValueError("password must be at least 8 characters")
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
    if not isinstance(active, Keep):
        user.active = active
    if not isinstance(full_name, Keep):
        user.full_name = full_name
    if not isinstance(phone, Keep):
        user.phone = phone
    if not isinstance(language, Keep):
        if language not in ("en", "hi"):
            raise ValueError("language must be en or hi")
        user.language = language
    session.add(user)
    session.flush()
    return user


def authenticate(
    *, session: Session, username: str, password: str, now: datetime, settings: Settings
) -> User:
    """Check a login; counts failures and locks the account after too many."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise AuthError("incorrect username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise AuthError("account locked after repeated failed logins; try again later")
    if not user.active or not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
        session.add(user)
        session.commit()
        raise AuthError("incorrect username or password")
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
        session.add(user)
        session.commit()
    return user


def issue_token(*, user: User, settings: Settings, now: datetime) -> tuple[str, int]:
    """A signed bearer token for the user and its lifetime in seconds."""
    ttl = settings.token_ttl_minutes * 60
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "unit": user.unit,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=TOKEN_ALGORITHM), ttl


def user_from_token(*, session: Session, token: str, settings: Settings, now: datetime) -> User:
    """The active user a bearer token names; AuthError if invalid or expired."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[TOKEN_ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthError("invalid token") from exc
    # Expiry is checked against the injected clock so tests and drills can move time.
    if int(claims["exp"]) <= int(now.timestamp()):
        raise AuthError("token expired")
    user = session.get(User, int(claims["sub"]))
    if user is None or not user.active:
        raise AuthError("invalid token")
    return user


def create_partner(*, session: Session, name: str, now: datetime) -> PartnerCredentials:
    """Register a partner platform; the key and secret are returned once."""
    name = name.strip()
    if not name or len(name) > 120:
        raise ValueError("partner name: 1 to 120 characters (it names the partner's alerts)")
    if session.exec(select(Partner).where(Partner.name == name)).first():
        raise ValueError(f"partner {name!r} already exists")
    creds = PartnerCredentials(
        name=name, api_key="pk_" + secrets.token_urlsafe(24), secret=secrets.token_urlsafe(32)
    )
    session.add(Partner(name=name, api_key=creds.api_key, secret=creds.secret, created_at=now))
    session.flush()
    return creds


def sign_body(secret: str, body: bytes) -> str:
    """The X-Signature header value a partner sends for this body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class PartnerKeys:
    """Active partners by API key, kept in memory for `ttl_s` after each database read.

    Intake is the hottest path, and a partner's key and secret change rarely (adding a
    partner needs no restart; a key deactivated in the database stops working within ttl_s).
    Only keys found active are kept, so unknown keys cannot fill the memory.
    """

    def __init__(self, ttl_s: float = 30.0) -> None:
        self.ttl_s = ttl_s
        self._found: dict[str, tuple[float, Partner]] = {}

    def cached(self, api_key: str) -> Partner | None:
        """The partner if it was read from the database less than ttl_s ago."""
        hit = self._found.get(api_key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        return None

    def load(self, session: Session, api_key: str) -> Partner | None:
        """Read the key's partner from the database (None if unknown or inactive)."""
        partner = session.exec(select(Partner).where(Partner.api_key == api_key)).first()
        if partner is None or not partner.active:
            self._found.pop(api_key, None)
            return None
        session.expunge(partner)
        self._found[api_key] = (time.monotonic(), partner)
        return partner


def authenticate_partner(
    *, partner: Partner | None, api_key: str | None, signature: str | None, body: bytes
) -> Partner:
    """The partner if the key was found and the HMAC signature matches the raw body."""
    if not api_key:
        raise AuthError("missing X-Api-Key header")
    if not signature:
        raise AuthError("missing X-Signature header")
    if partner is None or not partner.active or partner.api_key != api_key:
        raise AuthError("unknown API key")
    expected = sign_body(partner.secret, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise AuthError("bad signature: expected sha256=<hex HMAC-SHA256 of the raw body>")
    return partner
