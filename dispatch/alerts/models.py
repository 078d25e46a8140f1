"""Alert tables and the schemas of the intake and console API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from dispatch.clock import UtcDateTime
from dispatch.db import JSONType, UTCDateTime


class Category(StrEnum):
    """What the partner flagged."""

    suicide_risk = "suicide_risk"
    self_harm = "self_harm"
    threat_to_others = "threat_to_others"
    other = "other"


class AlertStatus(StrEnum):
    """The lifecycle of an alert, in order."""

    new = "new"
    acknowledged = "acknowledged"
    dispatched = "dispatched"
    en_route = "en_route"
    on_scene = "on_scene"
    person_found = "person_found"
    closed = "closed"


class LocationSource(StrEnum):
    """Where a location came from."""

    gps = "gps"
    ip = "ip"
    cell = "cell"
    address = "address"
    profile = "profile"


OPEN_STATUSES = tuple(s.value for s in AlertStatus if s is not AlertStatus.closed)


class Alert(SQLModel, table=True):
    """One alert about one person, from a partner or entered by hand."""

    __table_args__ = (
        sa.UniqueConstraint("partner_id", "external_id", name="uq_alert_partner_external"),
        sa.Index("ix_alert_received_at", "received_at"),
        sa.Index("ix_alert_status_station", "status", "station_id"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    partner_id: int | None = SQLField(default=None, foreign_key="partner.id")
    external_id: str | None = SQLField(default=None, max_length=200)
    source: str = SQLField(default="partner", max_length=20)
    category: str = SQLField(max_length=30)
    status: str = SQLField(default=AlertStatus.new.value, max_length=20)

    detected_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    received_at: datetime = SQLField(sa_type=UTCDateTime)
    resolved_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = SQLField(default=None, max_length=120)
    dispatched_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    en_route_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    on_scene_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    person_found_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    contacted_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)

    station_id: str | None = SQLField(default=None, max_length=120, index=True)
    station_name: str | None = SQLField(default=None, max_length=200)
    circle: str | None = SQLField(default=None, max_length=200)
    district: str | None = SQLField(default=None, max_length=200, index=True)
    range_name: str | None = SQLField(default=None, max_length=200)
    # '|s:STATION|c:CIRCLE|d:DISTRICT|r:RANGE|' (all stations ever responsible) or '|q:state|'.
    scope: str = SQLField(default="|q:state|", max_length=2000)
    resolution_method: str = SQLField(default="none", max_length=20)
    candidates: list[dict[str, Any]] = SQLField(default_factory=list, sa_type=JSONType)

    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    address: str | None = SQLField(default=None, max_length=2000)
    location_source: str | None = SQLField(default=None, max_length=20)

    # Personal data, encrypted at rest (dispatch.pii): the subject and the verbatim body.
    subject_sealed: str = SQLField(default="", sa_type=sa.Text)
    subject_label: str | None = SQLField(default=None, max_length=40)
    # What was posted (often a farewell message): sealed too; only the platform stays plain.
    content_sealed: str = SQLField(default="", sa_type=sa.Text)
    platform: str | None = SQLField(default=None, max_length=100)
    extra: dict[str, Any] = SQLField(default_factory=dict, sa_type=JSONType)
    raw_body_sealed: str = SQLField(default="", sa_type=sa.Text)
    pii_purged_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)

    team: str | None = SQLField(default=None, max_length=200)
    vehicle: str | None = SQLField(default=None, max_length=200)
    outcome: str | None = SQLField(default=None, max_length=40)

    # Escalation runtime, owned by dispatch.escalation: any lifecycle change sets
    # escalation_due_at to now and bumps the fence so the engine re-evaluates exactly once.
    escalation_level: int = 0
    escalation_due_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime, index=True)
    escalation_fence: int = 0
    escalation_chain: dict[str, Any] | None = SQLField(default=None, sa_type=JSONType)


class SubjectKey(SQLModel, table=True):
    """A blind index (keyed HMAC) of a subject's phone, handle or e-mail, to link repeat alerts."""

    __tablename__ = "subject_key"
    __table_args__ = (sa.Index("ix_subject_key_digest", "digest"),)

    id: int | None = SQLField(default=None, primary_key=True)
    alert_id: int = SQLField(foreign_key="alert.id", index=True)
    kind: str = SQLField(max_length=10)
    digest: str = SQLField(max_length=64)


class AlertEvent(SQLModel, table=True):
    """One append-only timeline entry; ids are gapless and hash-chained."""

    __tablename__ = "alert_event"

    id: int = SQLField(primary_key=True, sa_column_kwargs={"autoincrement": False})
    alert_id: int | None = SQLField(default=None, index=True)
    type: str = SQLField(max_length=40)
    at: datetime = SQLField(sa_type=UTCDateTime)
    actor: str = SQLField(max_length=200)
    data: dict[str, Any] = SQLField(default_factory=dict, sa_type=JSONType)
    data_digest: str = SQLField(max_length=64)
    scope: str = SQLField(default="|q:state|", max_length=2000)
    internal: bool = False
    prev_hash: str = SQLField(max_length=64)
    hash: str = SQLField(max_length=64)


class EventSequence(SQLModel, table=True):
    """The single row whose lock orders timeline appends across processes."""

    __tablename__ = "event_sequence"

    id: int = SQLField(default=1, primary_key=True)
    last_id: int = 0
    last_hash: str = SQLField(default="0" * 64, max_length=64)


# ---------- API schemas ----------


# How deep a partner's unknown fields may nest. They are kept and shown back on the alert's
# page, and the API's JSON encoder stops at a few hundred levels: an alert stored deeper
# could never be opened. Real partner payloads nest a handful of levels.
MAX_EXTRA_DEPTH = 32


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether a JSON value holds objects or arrays more than `limit` levels deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _not_too_deep(self) -> _Open:
        for key, value in (self.model_extra or {}).items():
            if nests_deeper_than(value, MAX_EXTRA_DEPTH):
                raise ValueError(f"field {key!r} nests deeper than {MAX_EXTRA_DEPTH} levels")
        return self


class SubjectIn(_Open):
    """The person the alert is about."""

    name: str | None = Field(default=None, max_length=300)
    handle: str | None = Field(default=None, max_length=300)
    profile_url: str | None = Field(default=None, max_length=2000)
    phones: list[str] = Field(default_factory=list, max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)


class ContentIn(_Open):
    """What was posted."""

    platform: str | None = Field(default=None, max_length=100)
    kind: str | None = Field(default=None, max_length=100)
    text: str | None = Field(default=None, max_length=20000)
    urls: list[str] = Field(default_factory=list, max_length=50)


class LocationIn(_Open):
    """Where the person probably is."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=1_000_000)
    address: str | None = Field(default=None, max_length=2000)
    source: LocationSource | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> LocationIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class AlertIn(_Open):
    """The body of POST /api/v1/alerts; unknown fields are kept."""

    external_id: str = Field(min_length=1, max_length=200)
    category: Category
    detected_at: UtcDateTime | None = None
    subject: SubjectIn | None = None
    content: ContentIn | None = None
    location: LocationIn | None = None


class SignalIn(_Open):
    """A follow-up signal: a new location fix and/or new content."""

    detected_at: UtcDateTime | None = None
    location: LocationIn | None = None
    content: ContentIn | None = None

    @model_validator(mode="after")
    def _something(self) -> SignalIn:
        if self.location is None and self.content is None:
            raise ValueError("a signal needs a location or content")
        return self


class ManualAlertIn(BaseModel):
    """An alert that reached the state cell by phone or e-mail, entered by an operator."""

    category: Category
    reported_by: str = Field(min_length=1, max_length=300)
    subject: SubjectIn | None = None
    content: ContentIn | None = None
    location: LocationIn | None = None
    station_id: str | None = Field(default=None, max_length=120)
    notes: str | None = Field(default=None, max_length=5000)


class StationRef(BaseModel):
    """The station responsible for an alert."""

    id: str
    name: str
    district: str
    circle: str | None = None
    range: str | None = None


class ResolutionOut(BaseModel):
    """How the station was found."""

    method: str
    candidates: list[dict[str, Any]]


class IntakeOut(BaseModel):
    """The answer to a partner's alert."""

    id: int
    received_at: datetime
    status: AlertStatus
    station: StationRef | None
    resolution: ResolutionOut
    linked_alerts: list[int] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class LocationOut(BaseModel):
    """A location as shown on the console."""

    lat: float | None
    lon: float | None
    accuracy_m: float | None
    address: str | None
    source: str | None


class AlertSummary(BaseModel):
    """What the console list and live events show: no phone numbers, e-mails or content."""

    id: int
    category: str
    status: AlertStatus
    source: str
    received_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    station: StationRef | None
    location: LocationOut | None
    subject_label: str | None
    resolution_method: str
    escalation_level: int = 0
    updated_at: datetime


class EventOut(BaseModel):
    """A timeline entry."""

    id: int
    alert_id: int | None
    type: str
    at: datetime
    actor: str
    data: dict[str, Any]


class AlertDetail(AlertSummary):
    """The whole alert, for users in scope (viewing it is an audit event)."""

    external_id: str | None
    detected_at: datetime | None
    subject: dict[str, Any]
    content: dict[str, Any]
    extra: dict[str, Any]
    candidates: list[dict[str, Any]]
    team: str | None
    vehicle: str | None
    outcome: str | None
    timings: dict[str, datetime | None]
    linked_alerts: list[AlertSummary]
    events: list[EventOut]


class StatusChange(BaseModel):
    """A move along the lifecycle; team and vehicle go with `dispatched`."""

    status: AlertStatus
    team: str | None = Field(default=None, max_length=200)
    vehicle: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=5000)


class NoteIn(BaseModel):
    """A free-text note on an alert."""

    text: str = Field(min_length=1, max_length=5000)


class AssignIn(BaseModel):
    """A station chosen by hand for an alert (state cell)."""

    station_id: str = Field(min_length=1, max_length=120)
    reason: str | None = Field(default=None, max_length=2000)
