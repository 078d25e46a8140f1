"""Contacts (who holds which post) and one-off pages other domains send through them.

`page(...)` is the entry point for care follow-ups, the tip line and anything else that must
reach a post by SMS, WhatsApp or a call; its docstring shows how to call it.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

import geo
from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.alerts.models import Alert
from dispatch.auth.scope import Scope, scope_string, station_tokens
from dispatch.db import for_transaction
from dispatch.escalation.models import (
    POST_UNIT,
    Contact,
    ContactCreate,
    ContactPublic,
    Post,
    UnitKind,
)
from dispatch.notify import service as notify_service
from dispatch.notify.models import SentMessage
from dispatch.notify.provider import Channel, Provider
from dispatch.pii import mask_phone
from dispatch.writes import Read

ACK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read out over a phone


class ContactError(ValueError):
    """A contact that cannot be stored; the message says why."""


def new_ack_code(length: int = 5) -> str:
    """A short code an officer replies with ('ACK K7Q2P') to acknowledge by SMS.

    Five bits of one draw from the system's random source per character: the alphabet has
    exactly 32 letters, so each is equally likely (one draw, not one per character)."""
    bits = secrets.randbits(5 * length)
    return "".join(ACK_ALPHABET[(bits >> (5 * i)) & 31] for i in range(length))


# ---------- contacts ----------


def unit_of(post: Post, alert: Alert) -> str | None:
    """The unit of the alert that a post is paged for (None: the alert has none yet)."""
    kind = POST_UNIT[post]
    if kind is UnitKind.station:
        return alert.station_id
    if kind is UnitKind.circle:
        return alert.circle
    if kind is UnitKind.district:
        return alert.district
    if kind is UnitKind.range:
        return alert.range_name
    return None


def known_units(index: geo.JurisdictionIndex, kind: UnitKind) -> set[str]:
    """Every unit of a kind in the loaded jurisdictions."""
    return set() if kind is UnitKind.state else index.unit_names(kind.value)


def add_contact(
    *,
    session: Session,
    body: ContactCreate,
    index: geo.JurisdictionIndex | None,
    now: datetime,
    region: str = "IN",
) -> Contact:
    """Store a contact after checking its unit and phone (ContactError explains a refusal)."""
    name = body.name.strip()
    if not name:
        raise ContactError("name: say who holds the post (it is what the timeline shows)")
    kind = POST_UNIT[body.post]
    unit = (body.unit or "").strip() or None
    if kind is UnitKind.state:
        if unit is not None:
            raise ContactError("the state cell has no unit: leave unit empty")
    elif unit is None:
        raise ContactError(f"a {body.post.value} contact needs the {kind.value} it serves")
    elif index is not None and unit not in known_units(index, kind):
        raise ContactError(f"unknown {kind.value} {unit!r} for post {body.post.value}")
    phone = geo.normalize_phone(body.phone, region)
    if phone.e164 is None:
        raise ContactError(f"phone: {phone.error}")
    same = session.exec(
        select(Contact.id)
        .where(Contact.post == body.post.value, Contact.phone == phone.e164)
        .where(Contact.unit == unit if unit is not None else col(Contact.unit).is_(None))
        .where(Contact.active == True)  # noqa: E712
    ).first()
    if same is not None:
        # The same number on the same post would be paged twice at every level.
        raise ContactError(f"phone: already contact {same} for this post and unit")
    contact = Contact(
        name=name,
        post=body.post.value,
        unit=unit,
        phone=phone.e164,
        whatsapp=body.whatsapp,
        language=body.language,
        created_at=now,
    )
    session.add(contact)
    session.flush()
    return contact


def remove_contact(*, session: Session, contact_id: int) -> Contact | None:
    """Deactivate a contact (kept, so past messages still name who received them)."""
    contact = session.get(Contact, contact_id)
    if contact is None or not contact.active:
        return None
    contact.active = False
    session.add(contact)
    session.flush()
    return contact


_CONTACTS = Contact.__table__  # type: ignore[attr-defined]
_ACTIVE = (
    sa.select(_CONTACTS)
    .where(_CONTACTS.c.post == sa.bindparam("post"))
    .where(_CONTACTS.c.active == sa.true())
    .order_by(_CONTACTS.c.id)
)
_ACTIVE_FOR_UNIT = _ACTIVE.where(_CONTACTS.c.unit == sa.bindparam("unit"))
_ACTIVE_STATE_WIDE = _ACTIVE.where(_CONTACTS.c.unit.is_(None))
_ACTIVE_IN_UNITS = (
    sa.select(_CONTACTS)
    .where(_CONTACTS.c.active == sa.true())
    .where(_CONTACTS.c.post.in_(sa.bindparam("posts", expanding=True)))
    .where(
        sa.or_(
            _CONTACTS.c.unit.in_(sa.bindparam("units", expanding=True)),
            _CONTACTS.c.unit.is_(None),
        )
    )
    .order_by(_CONTACTS.c.id)
)


# The same read in psycopg's SQL, for writes.pg_together (rows as named tuples, read as
# contacts are: row.phone, row.language...).
_NAMES = postgresql.ARRAY(sa.String)
_PG_ACTIVE_IN_UNITS = str(
    sa.select(_CONTACTS)
    .where(_CONTACTS.c.active == sa.true())
    .where(_CONTACTS.c.post == sa.any_(sa.bindparam("posts", type_=_NAMES)))
    .where(
        sa.or_(
            _CONTACTS.c.unit == sa.any_(sa.bindparam("units", type_=_NAMES)),
            _CONTACTS.c.unit.is_(None),
        )
    )
    .order_by(_CONTACTS.c.id)
    .compile(dialect=postgresql.psycopg.dialect(paramstyle="pyformat"))  # type: ignore[attr-defined,no-untyped-call]
)


def contacts_for(session: Session, post: Post, unit: str | None) -> list[Contact]:
    """Active contacts holding a post for a unit, oldest first.

    Read on every page with a prebuilt Core statement: the rows carry a contact's columns as
    attributes but are not ORM instances (read them, do not change them).
    """
    cache = _contacts_read(session)
    found = cache.get((post.value, unit))
    if found is not None:
        return found
    if unit is None:
        result = session.connection().execute(_ACTIVE_STATE_WIDE, {"post": post.value})
    else:
        result = session.connection().execute(_ACTIVE_FOR_UNIT, {"post": post.value, "unit": unit})
    rows: list[Contact] = result.all()  # type: ignore[assignment]
    cache[(post.value, unit)] = rows
    return rows


def prefetch_contacts(
    session: Session, alerts: Sequence[Alert], posts: Collection[Post] = tuple(Post)
) -> None:
    """Read, in one statement, the active contacts of these posts (default: every post) for
    these alerts' units, for contacts_for() to answer from for the rest of the transaction
    (the intake writer pages many new alerts in one). A post not asked for is read when
    contacts_for() first needs it."""
    read = _unread_contacts(session, alerts, posts)
    if read is not None:
        params, take = read
        take(list(session.connection().execute(_ACTIVE_IN_UNITS, params)))


def contacts_read(
    session: Session, alerts: Sequence[Alert], posts: Collection[Post]
) -> Read | None:
    """prefetch_contacts as a PostgreSQL statement to send together with others
    (writes.pg_together: the intake writer's first round trip); None if all are read."""
    read = _unread_contacts(session, alerts, posts)
    if read is None:
        return None
    params, take = read
    return Read(_PG_ACTIVE_IN_UNITS, params, take)


def _unread_contacts(
    session: Session, alerts: Sequence[Alert], posts: Collection[Post]
) -> tuple[dict[str, Any], Callable[[list[Any]], None]] | None:
    """The parameters of the read of the contacts not read yet in this transaction, and
    what stores its rows for contacts_for(); None if there are none to read."""
    cache = _contacts_read(session)
    wanted = {(post.value, unit_of(post, alert)) for alert in alerts for post in posts}
    fresh: dict[tuple[str, str | None], list[Contact]] = {
        key: [] for key in wanted if key not in cache
    }
    if not fresh:
        return None
    units = sorted({unit for _, unit in fresh if unit is not None})
    asked = sorted({post for post, _ in fresh})

    def take(rows: list[Any]) -> None:
        for row in rows:  # oldest first, as contacts_for reads them
            found = fresh.get((row.post, row.unit))
            if found is not None:
                found.append(row)
        cache.update(fresh)

    return {"units": units, "posts": asked}, take


def _contacts_read(session: Session) -> dict[tuple[str, str | None], list[Contact]]:
    """The contacts read so far in the session's transaction, by (post, unit)."""
    cache: dict[tuple[str, str | None], list[Contact]] = for_transaction(session, "contacts", dict)
    return cache


def list_contacts(
    *,
    session: Session,
    post: Post | None = None,
    unit: str | None = None,
    include_inactive: bool = False,
) -> list[Contact]:
    """Contacts by post and unit."""
    query = select(Contact)
    if post is not None:
        query = query.where(Contact.post == post.value)
    if unit is not None:
        query = query.where(Contact.unit == unit)
    if not include_inactive:
        query = query.where(Contact.active == True)  # noqa: E712
    return list(session.exec(query.order_by(col(Contact.post), col(Contact.unit))).all())


def contact_scope(contact: Contact, index: geo.JurisdictionIndex) -> str:
    """The scope string of the area a contact serves (so unit-bound users see their own)."""
    post = Post(contact.post)
    kind = POST_UNIT[post]
    tokens: set[str] = set()
    for station in index.stations.values():
        unit = {
            UnitKind.station: station.id,
            UnitKind.circle: station.circle,
            UnitKind.district: station.district,
            UnitKind.range: station.range,
        }.get(kind)
        if unit is not None and unit == contact.unit:
            if kind is UnitKind.station:
                tokens.update(
                    station_tokens(station.id, station.circle, station.district, station.range)
                )
            else:
                prefix = {
                    UnitKind.circle: "c",
                    UnitKind.district: "d",
                    UnitKind.range: "r",
                }[kind]
                tokens.add(f"{prefix}:{contact.unit}")
                if kind is not UnitKind.range and station.range:
                    tokens.add(f"r:{station.range}")
                if kind is UnitKind.circle:
                    tokens.add(f"d:{station.district}")
    return scope_string(tokens)


def visible_contacts(
    contacts: Iterable[Contact], scope: Scope, index: geo.JurisdictionIndex
) -> list[Contact]:
    """The contacts a user may see: state-wide roles all; others those of their area."""
    if scope.state_wide:
        return list(contacts)
    return [c for c in contacts if scope.sees(contact_scope(c, index))]


def contact_public(contact: Contact, *, full_phone: bool) -> ContactPublic:
    """The API form; the number is masked unless the reader may edit contacts."""
    assert contact.id is not None
    return ContactPublic(
        id=contact.id,
        name=contact.name,
        post=Post(contact.post),
        unit=contact.unit,
        phone=contact.phone if full_phone else mask_phone(contact.phone),
        whatsapp=contact.whatsapp,
        language=contact.language,
        active=contact.active,
    )


# ---------- one-off pages ----------


def page(
    *,
    session: Session,
    notifier: Provider | Any,
    now: datetime,
    unit_posts: Sequence[tuple[Post, str | None]],
    channels: Sequence[Channel | str],
    text_en: str,
    text_hi: str | None = None,
    ref: str,
    alert_id: int | None = None,
    station_id: str | None = None,
    actor: str = "system",
) -> list[SentMessage]:
    """Send one message to every active contact holding the given posts, and record it.

    `notifier` is a Provider or `app.state`. `station_id` adds that station's SHO to
    `unit_posts`. WhatsApp goes only to contacts with `whatsapp` set; a call says text_hi then
    text_en. With `alert_id`, each message is also an `alert.notification` on that alert's
    timeline and a call lets the officer press 1 to acknowledge it. The records and events are
    part of the caller's transaction; the messages go out once it commits (the outbox).
    """
    provider = notify_service.resolve_notifier(notifier)
    wanted = [Channel(c) for c in channels]
    targets = list(unit_posts)
    if station_id is not None:
        targets.insert(0, (Post.sho, station_id))
    alert = session.get(Alert, alert_id) if alert_id is not None else None
    ack_code = None
    if alert is not None and alert.escalation_chain:
        ack_code = alert.escalation_chain.get("ack_code")
    records: list[SentMessage] = []
    seen: set[tuple[int | None, Channel]] = set()
    for post, unit in targets:
        for contact in contacts_for(session, post, unit):
            for channel in wanted:
                if channel is Channel.whatsapp and not contact.whatsapp:
                    continue
                if (contact.id, channel) in seen:
                    continue
                seen.add((contact.id, channel))
                hindi = contact.language == "hi" and bool(text_hi)
                body = text_hi if hindi and text_hi else text_en
                records.append(
                    notify_service.queue(
                        session=session,
                        notifier=provider,
                        channel=channel,
                        to=contact.phone,
                        body=body,
                        now=now,
                        ref=ref,
                        alert_id=alert_id,
                        contact_id=contact.id,
                        contact_name=contact.name,
                        post=post.value,
                        unit=unit,
                        ack_code=ack_code,
                        speech=notify_service.Speech(text_hi or text_en, text_en, hindi),
                    )
                )
    if alert is not None and alert.id is not None:
        for record in records:
            events.append(
                session,
                alert_id=alert.id,
                type_=EventType.notification,
                at=now,
                actor=actor,
                scope=alert.scope,
                data={**notify_service.event_data(record), "ref": ref},
            )
    notify_service.send_after_commit(session, provider, records, now, note_failed_sends)
    return records


def hurry(alert: Alert, *, level: int | None, now: datetime) -> bool:
    """A message of the current level failed: make the next level due now (True if so).

    Only for an unacknowledged, open alert, only for the level now running, and only when a
    higher level exists (the last level keeps its repeat interval: no call storm).
    """
    chain = alert.escalation_chain
    if not chain or level is None or alert.acknowledged_at is not None:
        return False
    if alert.status == "closed":
        return False
    state = chain.get("state", {})
    if int(state.get("level", -1)) != level or level >= len(chain.get("steps", [])) - 1:
        return False
    next_at = state.get("next_at")
    if next_at is None or datetime.fromisoformat(next_at) <= now:
        return False
    updated = copy.deepcopy(chain)
    updated["state"]["next_at"] = now.isoformat()
    updated["state"]["hurried_level"] = level
    alert.escalation_chain = updated
    alert.escalation_due_at = now
    alert.escalation_fence += 1
    return True


def note_failed_sends(
    session: Session, failed: list[SentMessage], now: datetime, *, hurry_chain: bool = False
) -> list[Alert]:
    """Messages the provider refused go on their alert's timeline (in the caller's
    transaction, which stores the send results). With `hurry_chain` (the whole level
    reached nobody) the alert's chain moves to its next level at once. Returns the alerts
    hurried."""
    hurried: list[Alert] = []
    for record in failed:
        if record.alert_id is None:
            continue
        query = select(Alert).where(Alert.id == record.alert_id).with_for_update()
        alert = session.exec(query).first()
        if alert is None or alert.id is None:
            continue
        now_due = hurry_chain and hurry(alert, level=record.level, now=now)
        if now_due:
            session.add(alert)
            session.flush()
            hurried.append(alert)
        events.append(
            session,
            alert_id=alert.id,
            type_=EventType.delivery,
            at=now,
            actor="notify",
            scope=alert.scope,
            data={**notify_service.event_data(record), "escalating_now": now_due},
        )
    return hurried
