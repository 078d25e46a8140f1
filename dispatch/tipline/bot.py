"""The bot side of an inbound WhatsApp message: vault, conversation, STATUS and ADD.

`handle` runs inside the webhook's request and must be quick (Twilio waits at most 15 s):
media are only recorded here and fetched afterwards by `media_jobs`. Nothing here logs or
stores the sender's number, WaId or profile name outside the sealed contact vault.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from dispatch.alerts.resolver import Resolver
from dispatch.config import Settings
from dispatch.ratelimit import RateLimiter
from dispatch.tipline import catalogue as cat
from dispatch.tipline import conversation as conv
from dispatch.tipline import service
from dispatch.tipline.media import base_type
from dispatch.tipline.models import (
    Tip,
    TipItem,
    TiplineContact,
    TiplineConversation,
    TiplineInbound,
    TiplineLink,
    TipMedia,
)
from dispatch.tipline.vault import ContactVault, bare_number

log = logging.getLogger(__name__)

STATUS_WORDS = {"status", "sthiti", "स्थिति"}
ADD_WORDS = {"add", "jodein", "jode", "जोड़ें", "जोड़े"}


@dataclass(frozen=True)
class MediaJob:
    """One attachment to fetch (media_id set) or only to delete from Twilio."""

    url: str
    content_type: str
    media_id: int | None
    contact_id: int


@dataclass
class Handled:
    """The replies for the TwiML answer and the media work for afterwards."""

    replies: list[str] = field(default_factory=list)
    jobs: list[MediaJob] = field(default_factory=list)
    duplicate: bool = False
    # (tip, event kind) to put on the timeline last, after every other row is written.
    events: list[tuple[Tip, str]] = field(default_factory=list)


def scrub(text: str, address: str) -> str:
    """Remove the informant's own number if they typed it into a message, in any digits."""
    number = bare_number(address)
    national = number[-10:]
    if len(national) < 10:
        return text
    separators = r"[\s\-.()]*"
    pattern = r"(?:\+?\s*\(?\s*9\s*1\s*\)?" + separators + r"|0)?" + separators.join(national)
    # Phones type Devanagari (and other) digits too: match on a copy with every digit made
    # ASCII (one character for one, so the positions hold) and cut from the text as typed.
    ascii_digits = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    for match in reversed(list(re.finditer(pattern, ascii_digits))):
        text = text[: match.start()] + "[number removed]" + text[match.end() :]
    return text


def seen_before(session: Session, message_sid: str, now: datetime) -> bool:
    """Record a MessageSid; True if it was already recorded (Twilio retried the webhook)."""
    if not message_sid:
        return False
    try:
        with session.begin_nested():
            session.add(TiplineInbound(message_sid=message_sid[:64], received_at=now))
            session.flush()
    except sa.exc.IntegrityError:
        return True
    return False


def context(resolver: Resolver, settings: Settings, media_kept: int = 0) -> conv.Context:
    """The conversation's view of the jurisdictions."""
    index = resolver.index

    def locate(lat: float, lon: float) -> conv.Place | None:
        try:
            station = index.resolve(lat, lon).station
        except ValueError:
            return None
        return conv.Place(station.id, station.name, station.district) if station else None

    def place_station(text: str, district: str) -> conv.Place | None:
        lowered = text.lower()
        for station in index.stations.values():
            if station.district != district:
                continue
            names = [station.name.lower(), station.name_hi or ""]
            if any(n and re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", lowered) for n in names):
                return conv.Place(station.id, station.name, station.district)
        located = resolver.resolve(lat=None, lon=None, accuracy_m=None, address=text, source=None)
        if located.station is not None and located.station.district == district:
            s = located.station
            return conv.Place(s.id, s.name, s.district)
        return None

    return conv.Context(
        districts=list(settings.tipline_districts),
        locate=locate,
        place_station=place_station,
        media_kept=media_kept,
    )


def parse(form: dict[str, str]) -> tuple[conv.Message, list[tuple[str, str]]]:
    """The message and its attachments (url, content type) from Twilio's form fields."""
    lat = _float(form.get("Latitude"))
    lon = _float(form.get("Longitude"))
    text = form.get("Body", "")
    if lat is not None and lon is not None and not text:
        text = form.get("Address") or form.get("Label") or ""
    count = _int(form.get("NumMedia"))
    media = []
    for n in range(min(count, 10)):
        url = form.get(f"MediaUrl{n}")
        if url:
            media.append((url, base_type(form.get(f"MediaContentType{n}", ""))))
    return conv.Message(text=text[:5000], lat=lat, lon=lon, media_count=len(media)), media


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and abs(number) <= 180 else None


def _int(value: str | None) -> int:
    return int(value) if value and value.isdecimal() else 0


def handle(
    *,
    session: Session,
    form: dict[str, str],
    vault: ContactVault,
    resolver: Resolver,
    settings: Settings,
    limiter: RateLimiter,
    now: datetime,
) -> Handled:
    """Answer one inbound WhatsApp message; the caller commits and then runs the jobs."""
    if seen_before(session, form.get("MessageSid") or form.get("SmsMessageSid", ""), now):
        return Handled(duplicate=True)
    address = form.get("From", "")
    if not bare_number(address):
        return Handled()
    contact = vault.contact(session, address=address, now=now)
    assert contact.id is not None
    message, attachments = parse(form)
    message = conv.Message(
        text=scrub(message.text, address),
        lat=message.lat,
        lon=message.lon,
        media_count=message.media_count,
    )
    handled = Handled()
    # Twilio's copy of every attachment goes, whatever happens to the message.
    handled.jobs = [MediaJob(url, kind, None, contact.id) for url, kind in attachments]
    if contact.blocked:
        return handled
    if not limiter.hit(contact.pseudonym):
        handled.replies.append(cat.say("rate_limited", contact.language))
        return handled
    allowed = set(settings.tipline_media_types)
    refused = [kind for _, kind in attachments if kind not in allowed]
    if refused:
        max_mb = settings.tipline_max_media_bytes // (1024 * 1024)
        reason = "unsupported type" if contact.language != "hi" else "असमर्थित प्रकार"
        handled.replies.append(
            cat.say("media_refused", contact.language, reason=reason, max_mb=max_mb)
        )
        attachments = [(u, k) for u, k in attachments if k in allowed]
        message = conv.Message(message.text, message.lat, message.lon, len(attachments))
        if not attachments and not message.text.strip():
            return handled
    if _command(session, contact, message, handled, settings, now):
        _schedule(session, handled, contact, attachments, now, conversation_id=None, tip_id=None)
        return handled
    _converse(session, contact, message, attachments, handled, resolver, settings, now)
    for tip, kind in handled.events:
        service.record_event(session, tip, kind, at=now, actor="informant")
    return handled


def _command(
    session: Session,
    contact: TiplineContact,
    message: conv.Message,
    handled: Handled,
    settings: Settings,
    now: datetime,
) -> bool:
    """STATUS T-7Q4M and ADD T-7Q4M work at any point of a conversation."""
    words = cat.normalise(message.text).split(" ")
    if len(words) != 2 or words[0] not in STATUS_WORDS | ADD_WORDS:
        return False
    match = cat.REF_PATTERN.fullmatch(words[1].upper())
    if match is None:
        return False
    ref = "T-" + match.group(1).upper()
    lang = contact.language
    tip = _own_tip(session, contact, ref)
    if tip is None:
        handled.replies.append(cat.say("status_unknown", lang, ref=ref))
        return True
    if words[0] in STATUS_WORDS:
        label = cat.status_label(tip.status, lang)
        handled.replies.append(cat.say("status", lang, ref=ref, status=label))
        return True
    conversation = _conversation(session, contact)
    if conversation is not None:
        _drop_media(session, conversation)
        session.delete(conversation)
        session.flush()
    data: dict[str, Any] = {"lang": lang or tip.language, "add_ref": ref, "add_tip_id": tip.id}
    session.add(
        TiplineConversation(
            contact_id=contact.id or 0, state=conv.State.adding, data=data, updated_at=now
        )
    )
    handled.replies.append(cat.say("add_start", data["lang"], ref=ref))
    return True


def _own_tip(session: Session, contact: TiplineContact, ref: str) -> Tip | None:
    return session.exec(
        select(Tip)
        .join(TiplineLink, col(TiplineLink.tip_id) == col(Tip.id))
        .where(Tip.ref == ref, TiplineLink.contact_id == contact.id)
    ).first()


def _conversation(session: Session, contact: TiplineContact) -> TiplineConversation | None:
    return session.exec(
        select(TiplineConversation).where(TiplineConversation.contact_id == contact.id)
    ).first()


def _converse(
    session: Session,
    contact: TiplineContact,
    message: conv.Message,
    attachments: list[tuple[str, str]],
    handled: Handled,
    resolver: Resolver,
    settings: Settings,
    now: datetime,
) -> None:
    conversation = _conversation(session, contact)
    idle = timedelta(minutes=settings.tipline_idle_minutes)
    if conversation is not None and conversation.updated_at + idle <= now:
        lang = conversation.data.get("lang")
        minutes = int(settings.tipline_idle_minutes)
        handled.replies.append(cat.say("expired", lang, minutes=minutes))
        expire(session, conversation)
        conversation = None
    kept = _kept(session, conversation)
    ctx = context(resolver, settings, kept)
    if conversation is None:
        outcome = conv.start(message, ctx, contact.language)
        conversation = TiplineConversation(
            contact_id=contact.id or 0, state=conv.State.language, data={}, updated_at=now
        )
    else:
        outcome = conv.step(conv.State(conversation.state), conversation.data, message, ctx)
    handled.replies.extend(outcome.replies)
    if outcome.data.get("lang"):
        contact.language = outcome.data["lang"]
        session.add(contact)
    if outcome.discard and conversation.id is not None:
        _drop_media(session, conversation)
    session.add(conversation)
    session.flush()
    tip_id = None
    if conversation.state == conv.State.adding:
        tip_id = conversation.data.get("add_tip_id")
    if outcome.keep_media:
        _schedule(
            session,
            handled,
            contact,
            attachments,
            now,
            conversation.id if tip_id is None else None,
            tip_id,
        )
    if outcome.add_text and tip_id is not None:
        session.add(
            TipItem(tip_id=tip_id, kind="info", author="informant", text=outcome.add_text, at=now)
        )
        _touch(session, handled, tip_id, now)
    elif outcome.keep_media and tip_id is not None:
        _touch(session, handled, tip_id, now)
    if outcome.submit:
        tip = _submit(session, contact, conversation, outcome.data, resolver, settings, now)
        handled.events.append((tip, "tip.received"))
        handled.replies.append(cat.say("submitted", outcome.data.get("lang"), ref=tip.ref))
    if outcome.state is None:
        session.delete(conversation)
    else:
        conversation.state = outcome.state
        conversation.data = outcome.data
        conversation.updated_at = now
        session.add(conversation)
    session.flush()


def _kept(session: Session, conversation: TiplineConversation | None) -> int:
    if conversation is None or conversation.id is None:
        return 0
    rows = session.exec(
        select(TipMedia.id).where(
            TipMedia.conversation_id == conversation.id, TipMedia.status != "refused"
        )
    ).all()
    return len(rows)


def _schedule(
    session: Session,
    handled: Handled,
    contact: TiplineContact,
    attachments: list[tuple[str, str]],
    now: datetime,
    conversation_id: int | None,
    tip_id: int | None,
) -> None:
    if conversation_id is None and tip_id is None:
        return
    kept = {url for url, _ in attachments}
    jobs = [j for j in handled.jobs if j.url not in kept]
    for url, kind in attachments:
        row = TipMedia(
            tip_id=tip_id,
            conversation_id=conversation_id,
            content_type=kind,
            source_url=url[:500],
            created_at=now,
        )
        session.add(row)
        session.flush()
        jobs.append(MediaJob(url, kind, row.id, contact.id or 0))
    handled.jobs = jobs


def _touch(session: Session, handled: Handled, tip_id: int, now: datetime) -> None:
    tip = session.get(Tip, tip_id)
    if tip is not None:
        tip.updated_at = now
        session.add(tip)
        session.flush()
        handled.events.append((tip, "tip.info_added"))


def _submit(
    session: Session,
    contact: TiplineContact,
    conversation: TiplineConversation,
    data: dict[str, Any],
    resolver: Resolver,
    settings: Settings,
    now: datetime,
) -> Tip:
    tip = service.submit(
        session=session,
        data=data,
        index=resolver.index,
        now=now,
        escalate_after=timedelta(minutes=settings.tipline_escalate_minutes),
    )
    assert tip.id is not None
    session.add(TiplineLink(tip_id=tip.id, contact_id=contact.id or 0))
    for row in session.exec(
        select(TipMedia).where(TipMedia.conversation_id == conversation.id)
    ).all():
        row.tip_id = tip.id
        row.conversation_id = None
        session.add(row)
    session.flush()
    return tip


def _drop_media(session: Session, conversation: TiplineConversation) -> None:
    """Forget the attachments of an abandoned conversation (and their working copies)."""
    from pathlib import Path

    for row in session.exec(
        select(TipMedia).where(TipMedia.conversation_id == conversation.id)
    ).all():
        if row.path:
            Path(row.path).unlink(missing_ok=True)
        session.delete(row)
    session.flush()


def expire(session: Session, conversation: TiplineConversation) -> None:
    """End an idle conversation: its answers and attachments are discarded."""
    _drop_media(session, conversation)
    session.delete(conversation)
    session.flush()


def block_sender(session: Session, tip_id: int) -> bool:
    """Block the contact that sent a tip (by its link; the number stays sealed)."""
    link = session.get(TiplineLink, tip_id)
    contact = session.get(TiplineContact, link.contact_id) if link else None
    if contact is None:
        return False
    contact.blocked = True
    session.add(contact)
    conversation = _conversation(session, contact)
    if conversation is not None:
        expire(session, conversation)
    session.flush()
    return True
