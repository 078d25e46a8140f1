"""Tables and schemas for users and partners."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from dispatch.db import UTCDateTime


class Role(StrEnum):
    """What a user does; each role except the state-wide ones is tied to a unit."""

    operator = "operator"  # state social-media monitoring cell
    station = "station"
    circle = "circle"
    district = "district"
    range = "range"
    supervisor = "supervisor"
    admin = "admin"


STATE_WIDE_ROLES = frozenset({Role.operator, Role.supervisor, Role.admin})
UNIT_PREFIX = {Role.station: "s", Role.circle: "c", Role.district: "d", Role.range: "r"}


class User(SQLModel, table=True):
    """A police user of the console and API."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=80)
    full_name: str = Field(default="", max_length=200)
    password_hash: str
    role: str = Field(max_length=20)
    unit: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    language: str = Field(default="en", max_length=2)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Partner(SQLModel, table=True):
    """A platform (e.g. Meta) allowed to push alerts, with its key and signing secret."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=120)
    api_key: str = Field(index=True, unique=True, max_length=80)
    secret: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class UserPublic(BaseModel):
    """A user as the API shows it (never the password hash)."""

    id: int
    username: str
    full_name: str
    role: Role
    unit: str | None
    language: str
    active: bool = True


class Token(BaseModel):
    """The OAuth2 bearer token answer."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int
    user: UserPublic


class PartnerCredentials(BaseModel):
    """A new partner's key and secret, shown once."""

    name: str
    api_key: str
    secret: str
