"""Every message sent (or, with the console transport, that would have been sent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from dispatch.db import JSONType, UTCDateTime


class OutboundRecord(SQLModel, table=True):
    """One message to one number, with its delivery status as the provider reports it."""

    __tablename__ = "outbound_message"
    __table_args__ = (sa.Index("ix_outbound_to_code", "to", "ack_code"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    channel: str = Field(max_length=20)
    to: str = Field(max_length=40)
    body: str = Field(sa_type=sa.Text)
    ref: str | None = Field(default=None, max_length=200)
    provider: str = Field(default="console", max_length=20)
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(default="sending", max_length=30)
    error: str | None = Field(default=None, max_length=500)
    alert_id: int | None = Field(default=None, index=True)
    contact_id: int | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    post: str | None = Field(default=None, max_length=30)
    unit: str | None = Field(default=None, max_length=200)
    level: int | None = None
    # The code an officer replies with ("ACK K7Q2P") to acknowledge by SMS.
    ack_code: str | None = Field(default=None, max_length=12)
    # What sending needs beyond the body (a call's speech, a WhatsApp template): the outbox
    # sends from the stored record, so a message queued by a process that then died is sent
    # as it would have been.
    options: dict[str, Any] | None = Field(default=None, sa_type=JSONType)


@dataclass(slots=True)
class SentMessage:
    """A message in the outbox, then sent: an OutboundRecord's columns without the ORM.

    notify.service.queue() returns it and send_queued() fills in the provider's answer;
    building an ORM instance costs more than sending to the console transport.
    """

    at: datetime
    updated_at: datetime
    channel: str
    to: str
    body: str
    provider: str
    ref: str | None = None
    provider_id: str | None = None
    status: str = "sending"
    error: str | None = None
    alert_id: int | None = None
    contact_id: int | None = None
    contact_name: str | None = None
    post: str | None = None
    unit: str | None = None
    level: int | None = None
    ack_code: str | None = None
    options: dict[str, Any] | None = None
    id: int | None = None


class NotificationPublic(BaseModel):
    """A sent message as the API shows it: the number masked."""

    id: int
    at: datetime
    channel: str
    to_masked: str
    body: str
    ref: str | None
    provider: str
    status: str
    error: str | None
    alert_id: int | None
    contact_name: str | None
    post: str | None
    unit: str | None
    level: int | None
