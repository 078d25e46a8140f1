"""Tables of the tip line.

Two sides that never mix:

- the police side (`tip`, `tip_item`, `tip_media`): what the SP and DIG offices read. A tip
  carries a random reference and what the informant chose to say; never a number, WaId or
  profile name.
- the contact vault (`tipline_contact`, `tipline_conversation`, `tipline_link`,
  `tipline_inbound`): only the bot and its notifier read it. A contact is a keyed HMAC of the
  number (to recognise a returning informant) and the WhatsApp address sealed with
  DISPATCH_TIPLINE_CONTACT_KEY, which no police feature holds.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from dispatch.db import JSONType, UTCDateTime


class Category(StrEnum):
    """The ten tip categories of the Varanasi range seed."""

    cow_smuggling = "cow_smuggling"
    drugs = "drugs"
    arms = "arms"
    gambling = "gambling"
    trafficking = "trafficking"
    eve_teasing = "eve_teasing"
    mining = "mining"
    corruption = "corruption"
    conversion = "conversion"
    other = "other"


class Sensitivity(StrEnum):
    """How urgently the SP office should look at a tip."""

    high = "high"
    medium = "medium"
    low = "low"


class TipStatus(StrEnum):
    """Where a tip stands."""

    new = "new"
    assigned = "assigned"
    action_taken = "action_taken"
    closed = "closed"


OPEN_STATUSES = (TipStatus.new, TipStatus.assigned)


# ---------- police side ----------


class Tip(SQLModel, table=True):
    """One submitted tip, as the police see it."""

    __tablename__ = "tip"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=12, unique=True, index=True)
    category: str = Field(max_length=30, index=True)
    sensitivity: str = Field(max_length=10, index=True)
    status: str = Field(default=TipStatus.new, max_length=20, index=True)
    language: str = Field(default="en", max_length=2)
    district: str = Field(max_length=100, index=True)
    range_name: str | None = Field(default=None, max_length=100)
    station_id: str | None = Field(default=None, max_length=100, index=True)
    place_text: str | None = Field(default=None, max_length=1000)
    lat: float | None = None
    lon: float | None = None
    description: str = Field(default="", max_length=10000)
    # Only the SP and DIG offices see a restricted tip (police corruption).
    restricted: bool = False
    # Stations the tip may never be assigned to (named in it, or accused of corruption).
    bypass_stations: list[str] = Field(default_factory=list, sa_type=JSONType)
    scope: str = Field(max_length=500)
    assigned_to: str | None = Field(default=None, max_length=80)
    assigned_station: str | None = Field(default=None, max_length=100, index=True)
    assigned_by: str | None = Field(default=None, max_length=80)
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # "sent" (free text in the 24-hour window), "template", "failed", or None (not yet).
    informant_notice: str | None = Field(default=None, max_length=20)
    escalation_level: int = 0
    escalation_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TipItem(SQLModel, table=True):
    """More text from the informant, or an action report from the police."""

    __tablename__ = "tip_item"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tip.id", index=True)
    kind: str = Field(max_length=20)  # "info" (informant) or "action" (police)
    author: str = Field(max_length=100)  # "informant" or "user:<username>"
    text: str = Field(default="", max_length=10000)
    at: datetime = Field(sa_type=UTCDateTime)


class TipMedia(SQLModel, table=True):
    """A photo, video or voice note: downloaded, stripped of metadata, Twilio's copy deleted.

    While the informant is still answering, `conversation_id` holds it; on submission it moves
    to the tip. `source_url` (Twilio's copy) is cleared once the download is done.
    """

    __tablename__ = "tip_media"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: int | None = Field(default=None, foreign_key="tip.id", index=True)
    conversation_id: int | None = Field(default=None, index=True)
    item_id: int | None = Field(default=None)
    author: str = Field(default="informant", max_length=100)
    content_type: str = Field(max_length=100)
    size: int = 0
    path: str | None = Field(default=None, max_length=500)
    status: str = Field(default="pending", max_length=20)  # pending|stored|refused|failed
    metadata_stripped: bool = False
    source_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)


# ---------- the contact vault (bot side only) ----------


class TiplineContact(SQLModel, table=True):
    """A returning informant: a keyed pseudonym and the sealed WhatsApp address."""

    __tablename__ = "tipline_contact"

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=64, unique=True, index=True)
    address_sealed: str = Field(sa_type=sa.Text)
    language: str | None = Field(default=None, max_length=2)
    blocked: bool = False
    last_inbound_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TiplineConversation(SQLModel, table=True):
    """The informant's place in the conversation and the answers so far."""

    __tablename__ = "tipline_conversation"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="tipline_contact.id", unique=True, index=True)
    state: str = Field(max_length=20)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)


class TiplineLink(SQLModel, table=True):
    """Which contact sent which tip (for status queries and the action notice)."""

    __tablename__ = "tipline_link"

    tip_id: int = Field(foreign_key="tip.id", primary_key=True)
    contact_id: int = Field(foreign_key="tipline_contact.id", index=True)


class TiplineInbound(SQLModel, table=True):
    """Every MessageSid seen, so a webhook Twilio retries is answered once."""

    __tablename__ = "tipline_inbound"

    message_sid: str = Field(max_length=64, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime)


# ---------- API schemas ----------


class TipItemPublic(BaseModel):
    """One entry of a tip's history."""

    kind: str
    author: str
    text: str
    at: datetime


class TipMediaPublic(BaseModel):
    """One attachment (the file stays on the server)."""

    id: int
    author: str
    content_type: str
    size: int
    status: str
    metadata_stripped: bool
    created_at: datetime


class TipSummary(BaseModel):
    """A tip in lists."""

    ref: str
    category: str
    sensitivity: str
    status: str
    district: str
    range_name: str | None
    station_id: str | None
    restricted: bool
    assigned_to: str | None
    assigned_station: str | None
    created_at: datetime
    action_at: datetime | None


class TipPublic(TipSummary):
    """A tip in full, for the SP office."""

    language: str
    place_text: str | None
    lat: float | None
    lon: float | None
    description: str
    bypass_stations: list[str]
    assigned_at: datetime | None
    closed_at: datetime | None
    informant_notice: str | None
    escalation_level: int
    items: list[TipItemPublic]
    media: list[TipMediaPublic]


class AssignBody(BaseModel):
    """Assign a tip to an officer (username) or a station (id); one of them."""

    username: str | None = None
    station_id: str | None = None
