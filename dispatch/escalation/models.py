"""Posts in the chain of command and the contacts who hold them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from dispatch.db import UTCDateTime


class Post(StrEnum):
    """A post that an escalation step pages; each one belongs to a level of the hierarchy."""

    sho = "sho"
    circle_officer = "circle_officer"
    district_control = "district_control"
    sp_office = "sp_office"
    range_office = "range_office"
    dig_office = "dig_office"
    state_cell = "state_cell"


class UnitKind(StrEnum):
    """What a post's unit names."""

    station = "station"
    circle = "circle"
    district = "district"
    range = "range"
    state = "state"


POST_UNIT: dict[Post, UnitKind] = {
    Post.sho: UnitKind.station,
    Post.circle_officer: UnitKind.circle,
    Post.district_control: UnitKind.district,
    Post.sp_office: UnitKind.district,
    Post.range_office: UnitKind.range,
    Post.dig_office: UnitKind.range,
    Post.state_cell: UnitKind.state,
}

POST_LABEL: dict[Post, tuple[str, str]] = {
    Post.sho: ("SHO", "थानाध्यक्ष"),
    Post.circle_officer: ("Circle Officer", "क्षेत्राधिकारी"),
    Post.district_control: ("District control room", "जिला नियंत्रण कक्ष"),
    Post.sp_office: ("SP office", "पुलिस अधीक्षक कार्यालय"),
    Post.range_office: ("Range office", "रेंज कार्यालय"),
    Post.dig_office: ("DIG office", "डीआईजी कार्यालय"),
    Post.state_cell: ("State cell", "राज्य प्रकोष्ठ"),
}

Language = Literal["hi", "en"]


class Contact(SQLModel, table=True):
    """A person or desk holding a post for a unit, with the number to page."""

    __table_args__ = (sa.Index("ix_contact_post_unit", "post", "unit"),)

    id: int | None = SQLField(default=None, primary_key=True)
    name: str = SQLField(max_length=200)
    post: str = SQLField(max_length=30)
    # Station id, circle, district or range name; None for the state cell.
    unit: str | None = SQLField(default=None, max_length=200)
    phone: str = SQLField(max_length=20, index=True)
    whatsapp: bool = True
    language: str = SQLField(default="hi", max_length=2)
    active: bool = True
    created_at: datetime = SQLField(sa_type=UTCDateTime)


class ContactCreate(BaseModel):
    """A new contact; the phone may be written any common way and is stored as E.164."""

    name: str = Field(min_length=1, max_length=200)
    post: Post
    unit: str | None = Field(default=None, max_length=200)
    phone: str = Field(min_length=3, max_length=40)
    whatsapp: bool = True
    language: Language = "hi"


class ContactPublic(BaseModel):
    """A contact as the API shows it (the phone is masked for users who cannot edit contacts)."""

    id: int
    name: str
    post: Post
    unit: str | None
    phone: str
    whatsapp: bool
    language: str
    active: bool
