"""Tips on the police side: submission, routing, sensitivity, visibility, assignment, action.

Nothing here reads the contact vault except through `vault.ContactVault.notify_action`, which
sends the informant a notice without telling this module where it went.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

import geo
from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.auth.models import Role, User
from dispatch.auth.scope import scope_string
from dispatch.tipline.models import (
    Category,
    Sensitivity,
    Tip,
    TipItem,
    TipItemPublic,
    TipMedia,
    TipMediaPublic,
    TipPublic,
    TipStatus,
    TipSummary,
)

REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read out over a phone
ASSIGNERS = frozenset({Role.district, Role.range, Role.supervisor, Role.admin})
SP_DIG_ROLES = ASSIGNERS

BASE_SENSITIVITY = {
    Category.arms: Sensitivity.high,
    Category.trafficking: Sensitivity.high,
    Category.cow_smuggling: Sensitivity.medium,
    Category.drugs: Sensitivity.medium,
    Category.eve_teasing: Sensitivity.medium,
    Category.corruption: Sensitivity.medium,
    Category.conversion: Sensitivity.medium,
    Category.gambling: Sensitivity.low,
    Category.mining: Sensitivity.low,
    Category.other: Sensitivity.low,
}
HIGH_WORDS = (
    r"child|children|minor|girl child|kid|gun|pistol|rifle|katta|tamancha|weapon|bomb|"
    r"explosive|traffick|kidnap|abduct|rape|murder|bachcha|bachchi|nabalig|"
    r"बच्चा|बच्चे|बच्ची|नाबालिग|हथियार|कट्टा|तमंचा|असलहा|पिस्टल|बम|अपहरण|बलात्कार|हत्या|मानव तस्करी"
)
MEDIUM_WORDS = r"drug|smack|heroin|ganja|charas|daily|every day|रोज|रोजाना|स्मैक|गांजा|चरस|नशा"
POLICE_WORDS = (
    r"thana|thane|police station|\bps\b|kotwali|chowki|chauki|daroga|\bsho\b|\bso\b|"
    r"थाना|थाने|कोतवाली|चौकी|दरोगा|पुलिस"
)


class NotFound(LookupError):
    """No such tip in the caller's view."""


class Forbidden(PermissionError):
    """The caller sees the tip but may not do this."""


class Conflict(ValueError):
    """The change does not fit the tip (a bypassed station, a closed tip)."""


def new_ref(session: Session) -> str:
    """A fresh random reference such as T-7Q4M."""
    for _ in range(50):
        ref = "T-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(4))
        if session.exec(select(Tip.id).where(Tip.ref == ref)).first() is None:
            return ref
    raise RuntimeError("no free tip reference; widen REF_ALPHABET or the length")


def classify(category: str, texts: Sequence[str]) -> Sensitivity:
    """High, medium or low from the category and the words of the tip."""
    text = " ".join(texts).lower()
    base = BASE_SENSITIVITY.get(Category(category), Sensitivity.low)
    if re.search(HIGH_WORDS, text):
        return Sensitivity.high
    if base is Sensitivity.low and re.search(MEDIUM_WORDS, text):
        return Sensitivity.medium
    return base


def named_stations(index: geo.JurisdictionIndex, district: str, texts: Sequence[str]) -> list[str]:
    """Stations of the district a tip names next to a police word ("Kerakat thana")."""
    lowered = [t.lower() for t in texts if re.search(POLICE_WORDS, t.lower())]
    if not lowered:
        return []
    found = []
    for station in index.stations.values():
        if station.district != district:
            continue
        names = {station.name.lower(), station.name.lower().removeprefix("kotwali ")}
        if station.name_hi:
            names.add(station.name_hi)
        for name in (re.escape(n) for n in names if len(n) > 2):
            # The name within two words of "thana", "police station", "चौकी"..., either side.
            near = (
                rf"(?<!\w){name}\W*(?:\s+\S+){{0,2}}\s*(?:{POLICE_WORDS})"
                rf"|(?:{POLICE_WORDS})\W*(?:\s+\S+){{0,2}}\s+{name}(?!\w)"
            )
            if any(re.search(near, text) for text in lowered):
                found.append(station.id)
                break
    return sorted(found)


def range_of(index: geo.JurisdictionIndex, district: str) -> str | None:
    """The range a district belongs to."""
    for station in index.stations.values():
        if station.district == district and station.range:
            return station.range
    return None


def tip_scope(tip: Tip, *extra: str) -> str:
    """SP office of the district and DIG range office: never the station by default."""
    tokens = [f"d:{tip.district}", *extra]
    if tip.range_name:
        tokens.append(f"r:{tip.range_name}")
    return scope_string(tokens)


def submit(
    *,
    session: Session,
    data: dict[str, Any],
    index: geo.JurisdictionIndex,
    now: datetime,
    escalate_after: timedelta,
) -> Tip:
    """Store a finished conversation as a tip, routed to the SP and DIG offices."""
    category = str(data["category"])
    district = str(data["district"])
    texts = [str(data.get("place_text") or ""), str(data.get("description", ""))]
    texts += [str(t) for t in data.get("extra_texts", [])]
    sensitivity = classify(category, texts)
    bypass = named_stations(index, district, texts)
    restricted = category == Category.corruption
    if restricted and data.get("station_id"):
        bypass = sorted({*bypass, str(data["station_id"])})
    tip = Tip(
        ref=new_ref(session),
        category=category,
        sensitivity=sensitivity,
        status=TipStatus.new,
        language=str(data.get("lang") or "en"),
        district=district,
        range_name=range_of(index, district),
        station_id=data.get("station_id"),
        place_text=data.get("place_text"),
        lat=data.get("lat"),
        lon=data.get("lon"),
        description=str(data.get("description", "")),
        restricted=restricted,
        bypass_stations=bypass,
        scope="",
        escalation_due_at=now + escalate_after if sensitivity is Sensitivity.high else None,
        created_at=now,
        updated_at=now,
    )
    tip.scope = tip_scope(tip)
    session.add(tip)
    session.flush()
    assert tip.id is not None
    for text in data.get("extra_texts", []):
        session.add(TipItem(tip_id=tip.id, kind="info", author="informant", text=text, at=now))
    session.flush()
    return tip


def record_event(
    session: Session, tip: Tip, kind: str, *, at: datetime, actor: str, **data: Any
) -> None:
    """Put a tip event on the timeline for the SP and DIG consoles (pushed live); append last."""
    payload = {
        "kind": kind,
        "ref": tip.ref,
        "category": tip.category,
        "sensitivity": tip.sensitivity,
        "district": tip.district,
        "status": tip.status,
        **data,
    }
    extra = [f"s:{tip.assigned_station}"] if tip.assigned_station and kind != "tip.received" else []
    events.append(
        session,
        alert_id=None,
        type_=EventType.tip,
        at=at,
        actor=actor,
        scope=tip_scope(tip, *extra),
        data=payload,
    )


# ---------- who sees what ----------


def visibility(user: User) -> sa.ColumnElement[bool] | None:
    """A filter for the tips a user may see (None: all of them)."""
    role = Role(user.role)
    if role in (Role.admin, Role.supervisor):
        return None
    if role is Role.district:
        return col(Tip.district) == user.unit
    if role is Role.range:
        return col(Tip.range_name) == user.unit
    if role is Role.station:
        return sa.or_(col(Tip.assigned_station) == user.unit, col(Tip.assigned_to) == user.username)
    return col(Tip.assigned_to) == user.username


def list_tips(
    *,
    session: Session,
    user: User,
    district: str | None = None,
    status: str | None = None,
    sensitivity: str | None = None,
    category: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Tip]:
    """Tips the user may see, newest first, filtered."""
    query = select(Tip)
    rule = visibility(user)
    if rule is not None:
        query = query.where(rule)
    for column, value in (
        (Tip.district, district),
        (Tip.status, status),
        (Tip.sensitivity, sensitivity),
        (Tip.category, category),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    query = (
        query.order_by(col(Tip.created_at).desc(), col(Tip.id).desc()).offset(offset).limit(limit)
    )
    return list(session.exec(query).all())


def get_or_404(*, session: Session, ref: str, user: User, lock: bool = False) -> Tip:
    """The tip with this reference if the user may see it (NotFound otherwise, never 403)."""
    query = select(Tip).where(Tip.ref == ref.upper())
    rule = visibility(user)
    if rule is not None:
        query = query.where(rule)
    if lock:
        query = query.with_for_update()
    tip = session.exec(query).first()
    if tip is None:
        raise NotFound(f"no tip {ref}")
    return tip


def can_assign(user: User) -> bool:
    """SP and DIG offices, supervisors and admins assign tips."""
    return Role(user.role) in ASSIGNERS


def assign(
    *,
    session: Session,
    tip: Tip,
    by: User,
    username: str | None,
    station_id: str | None,
    index: geo.JurisdictionIndex,
    now: datetime,
) -> Tip:
    """Give a tip to an officer or a station; a bypassed station can never receive it."""
    if not can_assign(by):
        raise Forbidden("only the SP or DIG office assigns tips")
    if tip.status == TipStatus.closed:
        raise Conflict("the tip is closed")
    if bool(username) == bool(station_id):
        raise ValueError("give either username or station_id")
    assignee: User | None = None
    if username:
        assignee = session.exec(select(User).where(User.username == username)).first()
        if assignee is None or not assignee.active:
            raise ValueError(f"no active user {username}")
        role = Role(assignee.role)
        if tip.restricted and role not in SP_DIG_ROLES:
            raise Conflict("a police corruption tip stays with the SP and DIG offices")
        if role is Role.station and assignee.unit in tip.bypass_stations:
            raise Conflict("the tip names that officer's station; it bypasses the station")
        if role in (Role.station, Role.circle) and not _within(by, assignee, index):
            raise Forbidden(f"{username} serves outside your {by.role}")
        if not _office_covers(assignee, tip):
            raise Conflict(f"{username} serves outside this tip's {assignee.role}")
        station_id = assignee.unit if role is Role.station else None
    else:
        assert station_id is not None
        if station_id not in index.stations:
            raise ValueError(f"unknown station {station_id}")
        if tip.restricted:
            raise Conflict("a police corruption tip stays with the SP and DIG offices")
        if station_id in tip.bypass_stations:
            raise Conflict("the tip names that station; it bypasses the station")
        if not _station_within(by, index.stations[station_id]):
            raise Forbidden(f"station {station_id} is outside your {by.role}")
    tip.assigned_to = assignee.username if assignee else None
    tip.assigned_station = station_id
    tip.assigned_by = by.username
    tip.assigned_at = now
    if tip.status == TipStatus.new:
        tip.status = TipStatus.assigned
    tip.escalation_due_at = None
    tip.updated_at = now
    session.add(tip)
    session.flush()
    record_event(
        session,
        tip,
        "tip.assigned",
        at=now,
        actor=f"user:{by.username}",
        assigned_to=tip.assigned_to,
        station_id=station_id,
    )
    return tip


def _station_within(by: User, station: geo.Station) -> bool:
    """Whether a station lies in the assigner's own district or range (state-wide: anywhere).

    Assigning a tip shows it, the informant's words and media, to the station: an SP or DIG
    office may hand it only to its own stations, never past its own oversight.
    """
    role = Role(by.role)
    if role is Role.district:
        return station.district == by.unit
    if role is Role.range:
        return station.range == by.unit
    return True


def _office_covers(assignee: User, tip: Tip) -> bool:
    """Whether an SP or DIG office user is the tip's own (only they could see and act on it).

    Another district's office would get a tip it can never open, and a high-sensitivity
    tip stops escalating once assigned: nobody would act on it.
    """
    role = Role(assignee.role)
    if role is Role.district:
        return assignee.unit == tip.district
    if role is Role.range:
        return assignee.unit == tip.range_name
    return True


def _within(by: User, assignee: User, index: geo.JurisdictionIndex) -> bool:
    """Whether a station or circle officer serves inside the assigner's district or range."""
    if Role(by.role) not in (Role.district, Role.range):
        return True
    if Role(assignee.role) is Role.station:
        own = index.stations.get(assignee.unit or "")
        stations = [own] if own is not None else []
    else:
        stations = [s for s in index.stations.values() if s.circle == assignee.unit]
    return bool(stations) and all(_station_within(by, s) for s in stations)


def can_act(user: User, tip: Tip) -> bool:
    """The assignee (officer or station) and the SP and DIG offices report action."""
    if can_assign(user):
        return True
    if tip.assigned_to and tip.assigned_to == user.username:
        return True
    return Role(user.role) is Role.station and tip.assigned_station == user.unit


def record_action(*, session: Session, tip: Tip, by: User, text: str, now: datetime) -> TipItem:
    """File an action report on a tip (the informant is told separately, without details)."""
    if not can_act(by, tip):
        raise Forbidden("only the assignee or the SP/DIG office reports action")
    if tip.status == TipStatus.closed:
        raise Conflict("the tip is closed")
    text = text.strip()
    if not text:
        raise ValueError("text: the action report is empty")
    if "\x00" in text:
        # A multipart form is not scanned by the middleware (files may hold any byte), and
        # PostgreSQL cannot store a NUL in text.
        raise ValueError("text: holds a NUL character, which no field may hold")
    assert tip.id is not None
    item = TipItem(tip_id=tip.id, kind="action", author=f"user:{by.username}", text=text, at=now)
    session.add(item)
    tip.status = TipStatus.action_taken
    tip.action_at = tip.action_at or now
    tip.escalation_due_at = None
    tip.updated_at = now
    session.add(tip)
    session.flush()
    return item


def close(*, session: Session, tip: Tip, by: User, now: datetime) -> Tip:
    """Close a tip (SP/DIG office)."""
    if not can_assign(by):
        raise Forbidden("only the SP or DIG office closes tips")
    if tip.status == TipStatus.closed:
        raise Conflict(f"tip {tip.ref} is already closed")
    tip.status = TipStatus.closed
    tip.closed_at = now
    tip.escalation_due_at = None
    tip.updated_at = now
    session.add(tip)
    session.flush()
    record_event(session, tip, "tip.closed", at=now, actor=f"user:{by.username}")
    return tip


# ---------- shapes ----------


def summary(tip: Tip) -> TipSummary:
    """A tip in lists."""
    return TipSummary.model_validate(tip, from_attributes=True)


def public(session: Session, tip: Tip) -> TipPublic:
    """A tip in full, with its history and attachments."""
    items = session.exec(
        select(TipItem).where(TipItem.tip_id == tip.id).order_by(col(TipItem.id))
    ).all()
    media = session.exec(
        select(TipMedia).where(TipMedia.tip_id == tip.id).order_by(col(TipMedia.id))
    ).all()
    base = summary(tip).model_dump()
    return TipPublic(
        **base,
        language=tip.language,
        place_text=tip.place_text,
        lat=tip.lat,
        lon=tip.lon,
        description=tip.description,
        bypass_stations=list(tip.bypass_stations),
        assigned_at=tip.assigned_at,
        closed_at=tip.closed_at,
        informant_notice=tip.informant_notice,
        escalation_level=tip.escalation_level,
        items=[TipItemPublic.model_validate(i, from_attributes=True) for i in items],
        media=[
            TipMediaPublic(
                id=m.id or 0,
                author=m.author,
                content_type=m.content_type,
                size=m.size,
                status=m.status,
                metadata_stripped=m.metadata_stripped,
                created_at=m.created_at,
            )
            for m in media
        ],
    )
