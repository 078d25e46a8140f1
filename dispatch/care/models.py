"""Care tables and schemas: how an alert ended, the counselling given, follow-up check-ins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from dispatch.alerts.models import AlertSummary
from dispatch.clock import UtcDateTime
from dispatch.db import JSONType, UTCDateTime


class Outcome(StrEnum):
    """How an alert ended; every closure names one."""

    attempt_interrupted = "attempt_interrupted"
    found_safe_counselled = "found_safe_counselled"
    hospitalised = "hospitalised"
    not_traced = "not_traced"
    false_alarm = "false_alarm"
    transferred = "transferred"
    deceased = "deceased"


# A person reached alive and helped: these outcomes start follow-up care.
RESCUE_OUTCOMES = frozenset(
    {Outcome.attempt_interrupted, Outcome.found_safe_counselled, Outcome.hospitalised}
)


class Recipient(StrEnum):
    """Who received counselling."""

    person = "person"
    family = "family"


class CounsellingBy(StrEnum):
    """Who gave the counselling (or where the person was referred)."""

    police_officer = "police_officer"
    counsellor = "counsellor"
    tele_manas_14416 = "tele_manas_14416"
    dmhp = "dmhp"  # District Mental Health Programme


class FollowUpStatus(StrEnum):
    """A check-in is pending until recorded; reopening the alert cancels pending ones."""

    pending = "pending"
    done = "done"
    cancelled = "cancelled"


class Closure(SQLModel, table=True):
    """One closing of an alert (a reopened alert keeps its earlier closures)."""

    __tablename__ = "care_closure"

    id: int | None = SQLField(default=None, primary_key=True)
    alert_id: int = SQLField(foreign_key="alert.id", index=True)
    outcome: str = SQLField(max_length=40)
    transferred_to: str | None = SQLField(default=None, max_length=300)
    contacted_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    attended_by: list[str] = SQLField(default_factory=list, sa_type=JSONType)
    notes: str | None = SQLField(default=None, sa_type=sa.Text)
    status_before: str = SQLField(max_length=20)
    closed_at: datetime = SQLField(sa_type=UTCDateTime)
    closed_by: str = SQLField(max_length=200)
    reopened_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    reopened_by: str | None = SQLField(default=None, max_length=200)
    reopen_reason: str | None = SQLField(default=None, sa_type=sa.Text)


class CounsellingEntry(SQLModel, table=True):
    """Counselling given to the person or the family."""

    __tablename__ = "care_counselling"

    id: int | None = SQLField(default=None, primary_key=True)
    alert_id: int = SQLField(foreign_key="alert.id", index=True)
    recipient: str = SQLField(max_length=20)
    by: str = SQLField(max_length=30)
    counsellor_name: str | None = SQLField(default=None, max_length=200)
    at: datetime = SQLField(sa_type=UTCDateTime)
    notes: str | None = SQLField(default=None, sa_type=sa.Text)
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_type=UTCDateTime)


class FollowUp(SQLModel, table=True):
    """A check-in with a rescued person, assigned to the alert's station."""

    __tablename__ = "care_followup"
    __table_args__ = (sa.Index("ix_care_followup_status_due", "status", "due_at"),)

    id: int | None = SQLField(default=None, primary_key=True)
    alert_id: int = SQLField(foreign_key="alert.id", index=True)
    closure_id: int | None = SQLField(default=None, foreign_key="care_closure.id")
    offset_hours: int
    due_at: datetime = SQLField(sa_type=UTCDateTime)
    status: str = SQLField(default=FollowUpStatus.pending.value, max_length=20)
    station_id: str | None = SQLField(default=None, max_length=120)
    circle: str | None = SQLField(default=None, max_length=200)
    district: str | None = SQLField(default=None, max_length=200)
    # The alert's scope when scheduled, so station users list their own check-ins.
    scope: str = SQLField(default="|q:state|", max_length=2000)
    contact_made: bool | None = None
    person_state: str | None = SQLField(default=None, max_length=300)
    referral: str | None = SQLField(default=None, max_length=300)
    notes: str | None = SQLField(default=None, sa_type=sa.Text)
    done_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    done_by: str | None = SQLField(default=None, max_length=200)
    # Set once, by the sweep that paged the circle officer (so it never pages twice).
    escalated_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    escalated_to: list[dict[str, Any]] = SQLField(default_factory=list, sa_type=JSONType)


# ---------- API schemas ----------


class CloseIn(BaseModel):
    """The body of POST /alerts/{id}/close: the outcome is required."""

    outcome: Outcome
    transferred_to: str | None = Field(
        default=None, max_length=300, validate_default=True, description="Needed for transferred"
    )
    contacted_at: UtcDateTime | None = None
    attended_by: list[str] = Field(default_factory=list, max_length=50)
    notes: str | None = Field(default=None, max_length=10000)

    @field_validator("transferred_to")
    @classmethod
    def _transferred_needs_whom(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip() if value else None
        if info.data.get("outcome") == Outcome.transferred and not value:
            raise ValueError("transferred needs transferred_to: the district or state taking over")
        return value

    @field_validator("attended_by")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [v.strip() for v in value if v.strip()]
        if any(len(n) > 200 for n in names):
            raise ValueError("each name is at most 200 characters")
        return names


class ReopenIn(BaseModel):
    """Why a closed alert is being reopened."""

    reason: str = Field(min_length=1, max_length=5000, pattern=r"\S")


class ClosureOut(BaseModel):
    """A closure as the API shows it."""

    id: int
    alert_id: int
    outcome: Outcome
    transferred_to: str | None
    contacted_at: datetime | None
    attended_by: list[str]
    notes: str | None
    closed_at: datetime
    closed_by: str
    reopened_at: datetime | None
    reopened_by: str | None
    reopen_reason: str | None


class CounsellingIn(BaseModel):
    """One counselling session (or referral)."""

    recipient: Recipient
    by: CounsellingBy
    counsellor_name: str | None = Field(default=None, max_length=200)
    at: UtcDateTime | None = None
    notes: str | None = Field(default=None, max_length=10000)


class CounsellingOut(BaseModel):
    """A counselling entry as the API shows it."""

    id: int
    alert_id: int
    recipient: Recipient
    by: CounsellingBy
    counsellor_name: str | None
    at: datetime
    notes: str | None
    recorded_by: str
    recorded_at: datetime


class FollowUpIn(BaseModel):
    """What a check-in found."""

    contact_made: bool
    person_state: str | None = Field(default=None, max_length=300)
    referral: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=10000)


class FollowUpOut(BaseModel):
    """A check-in as the API shows it."""

    id: int
    alert_id: int
    offset_hours: int
    due_at: datetime
    status: FollowUpStatus
    overdue: bool
    station_id: str | None
    subject_label: str | None = None
    contact_made: bool | None
    person_state: str | None
    referral: str | None
    notes: str | None
    done_at: datetime | None
    done_by: str | None
    escalated_at: datetime | None


class CloseOut(BaseModel):
    """The closed alert, its closure and the check-ins it scheduled."""

    alert: AlertSummary
    closure: ClosureOut
    followups: list[FollowUpOut]


class ReopenOut(BaseModel):
    """The reopened alert and the closure that was undone (None if it predates care)."""

    alert: AlertSummary
    closure: ClosureOut | None


class HistoryEntry(BaseModel):
    """An earlier alert about the same person, with the care it led to."""

    alert: AlertSummary
    outcome: str | None
    contacted_at: datetime | None
    closed_at: datetime | None
    closures: list[ClosureOut]
    counselling: list[CounsellingOut]
    followups: list[FollowUpOut]


class HistoryOut(BaseModel):
    """The person's earlier alerts the user may see (and how many others exist elsewhere)."""

    alert_id: int
    earlier: list[HistoryEntry]
    outside_scope: int
