"""Work after the webhook answered, and the sweeps: media, idle conversations, escalation.

Each entry point opens its own session and is idempotent: a media job finds its row (or
finds it gone, when the informant cancelled meanwhile), a sweep moves only rows still due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col, select

from dispatch.config import Settings
from dispatch.db import Database, session_scope
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import Post
from dispatch.notify.provider import Channel, Provider
from dispatch.tipline import bot, media, service
from dispatch.tipline import catalogue as cat
from dispatch.tipline.models import (
    Sensitivity,
    Tip,
    TiplineContact,
    TiplineConversation,
    TipMedia,
    TipStatus,
)
from dispatch.tipline.vault import ContactVault

log = logging.getLogger(__name__)

# Who hears about a high-sensitivity tip nobody assigned, one level per overdue period.
ESCALATION_LEVELS: list[tuple[Post, ...]] = [
    (Post.sp_office, Post.district_control),
    (Post.dig_office, Post.range_office),
    (Post.state_cell,),
]


@dataclass
class MediaWorker:
    """What a media job needs: where to download from and how to tell the informant."""

    database: Database
    settings: Settings
    http: httpx.Client
    vault: ContactVault
    provider: Provider

    @property
    def twilio_client(self) -> Any:
        """The twilio SDK client of the notifier (None with the console transport)."""
        return getattr(self.provider, "client", None)

    def run(self, jobs: list[bot.MediaJob]) -> None:
        """Fetch, strip and store each kept attachment; delete every one from Twilio."""
        for job in jobs:
            try:
                self._one(job)
            except Exception:
                log.exception("tip line media job failed")

    def _one(self, job: bot.MediaJob) -> None:
        settings = self.settings
        refusal: str | None = None
        if job.media_id is not None:
            sid, token = settings.twilio_account_sid or "", settings.twilio_auth_token or ""
            stored: Path | None = None
            status, size, stripped = "failed", 0, False
            try:
                fetched = media.download(
                    self.http,
                    job.url,
                    auth=(sid, token),
                    max_bytes=settings.tipline_max_media_bytes,
                    timeout_s=settings.tipline_media_timeout_s,
                )
                kind = fetched.content_type or job.content_type
                if kind not in settings.tipline_media_types:
                    raise media.MediaRefused("unsupported type")
                clean, stripped = media.strip_metadata(fetched.content, kind)
                stored = media.save(settings.tipline_media_dir, clean, kind)
                status, size = "stored", len(clean)
            except media.MediaRefused as exc:
                status, refusal = "refused", str(exc)
            except httpx.HTTPError as exc:
                log.warning("could not download a tip attachment: %s", type(exc).__name__)
            self._record(job.media_id, status, size, stripped, stored)
        # The working copy (if any) is ours now; Twilio keeps nothing.
        media.delete_twilio_copy(self.twilio_client, job.url)
        if refusal is not None:
            self._tell_refused(job.contact_id, refusal)

    def _record(
        self, media_id: int, status: str, size: int, stripped: bool, stored: Path | None
    ) -> None:
        with session_scope(self.database) as session:
            row = session.get(TipMedia, media_id)
            if row is None:  # the conversation was cancelled meanwhile
                if stored is not None:
                    stored.unlink(missing_ok=True)
                return
            row.status = status
            row.size = size
            row.metadata_stripped = stripped
            row.path = str(stored) if stored else None
            row.source_url = None
            session.add(row)

    def _tell_refused(self, contact_id: int, reason: str) -> None:
        with session_scope(self.database) as session:
            contact = session.get(TiplineContact, contact_id)
            if contact is None:
                return
            max_mb = self.settings.tipline_max_media_bytes // (1024 * 1024)
            reason_text = {"too large": ("too large", "बहुत बड़ी")}.get(reason, (reason, reason))
            text = cat.say(
                "media_refused",
                contact.language,
                reason=reason_text[1] if contact.language == "hi" else reason_text[0],
                max_mb=max_mb,
            )
            self.vault.send_text(self.provider, contact, text)


def expire_idle(
    *,
    database: Database,
    settings: Settings,
    vault: ContactVault,
    provider: Provider,
    now: datetime,
) -> int:
    """End conversations idle past DISPATCH_TIPLINE_IDLE_MINUTES and tell the informant."""
    cutoff = now - timedelta(minutes=settings.tipline_idle_minutes)
    done = 0
    with session_scope(database) as session:
        idle = session.exec(
            select(TiplineConversation).where(col(TiplineConversation.updated_at) <= cutoff)
        ).all()
        for conversation in idle:
            contact = session.get(TiplineContact, conversation.contact_id)
            lang = conversation.data.get("lang")
            bot.expire(session, conversation)
            if contact is not None and not contact.blocked:
                minutes = int(settings.tipline_idle_minutes)
                vault.send_text(provider, contact, cat.say("expired", lang, minutes=minutes))
            done += 1
    return done


def escalate_unassigned(
    *, database: Database, settings: Settings, notifier: Any, now: datetime
) -> list[str]:
    """Page the next level for every high-sensitivity tip still unassigned when due."""
    paged: list[str] = []
    with session_scope(database) as session:
        due = session.exec(
            select(Tip).where(
                col(Tip.escalation_due_at) <= now,
                Tip.status == TipStatus.new,
                Tip.sensitivity == Sensitivity.high,
            )
        ).all()
        candidates = [(t.id, t.escalation_level) for t in due]
    for tip_id, level in candidates:
        with session_scope(database) as session:
            # Conditional on the level we saw: two sweepers never page the same level twice.
            last = level + 1 >= len(ESCALATION_LEVELS)
            next_due = None if last else now + timedelta(minutes=settings.tipline_escalate_minutes)
            moved = session.execute(
                sa.update(Tip)
                .where(
                    col(Tip.id) == tip_id,
                    col(Tip.escalation_level) == level,
                    col(Tip.status) == TipStatus.new,
                )
                .values(escalation_level=level + 1, escalation_due_at=next_due)
            )
            if moved.rowcount != 1 or level >= len(ESCALATION_LEVELS):  # type: ignore[attr-defined]
                continue
            tip = session.get(Tip, tip_id)
            assert tip is not None
            session.refresh(tip)
            units: dict[Post, str | None] = {
                Post.sp_office: tip.district,
                Post.district_control: tip.district,
            }
            units |= {Post.dig_office: tip.range_name, Post.range_office: tip.range_name}
            posts = [(post, units.get(post)) for post in ESCALATION_LEVELS[level]]
            minutes = int(settings.tipline_escalate_minutes * (level + 1))
            escalation_service.page(
                session=session,
                notifier=notifier,
                now=now,
                unit_posts=posts,
                channels=[Channel.sms],
                text_en=(
                    f"High-sensitivity tip {tip.ref} ({tip.category}, {tip.district}) is not "
                    f"assigned after {minutes} min. Open the tip console."
                ),
                text_hi=(
                    f"उच्च संवेदनशील सूचना {tip.ref} ({tip.district}) {minutes} मिनट से किसी को "
                    "सौंपी नहीं गई। टिप कंसोल खोलें।"
                ),
                ref=tip.ref,
                actor="escalation",
            )
            service.record_event(
                session, tip, "tip.escalated", at=now, actor="escalation", level=level + 1
            )
            paged.append(tip.ref)
    return paged
