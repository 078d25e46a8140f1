"""`dispatch tips list|block|unblock|expire`: the tip line from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import col, select

from dispatch.clock import SystemClock
from dispatch.config import get_settings
from dispatch.db import Database, session_scope
from dispatch.tipline import bot, jobs
from dispatch.tipline.models import Tip, TiplineContact, TiplineLink
from dispatch.tipline.vault import ContactVault

tips_app = typer.Typer(help="The anonymous WhatsApp tip line.", no_args_is_help=True)


def _database() -> Database:
    database = Database(get_settings().database_url)
    database.ensure_schema()
    return database


@tips_app.command("list")
def tips_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """The newest tips (reference, category, sensitivity, status, district)."""
    with session_scope(_database()) as session:
        rows = session.exec(select(Tip).order_by(col(Tip.id).desc()).limit(limit)).all()
        for tip in rows:
            typer.echo(
                f"{tip.ref}  {tip.category:14} {tip.sensitivity:6} {tip.status:12} "
                f"{tip.district}  {tip.station_id or '-'}"
            )


def _set_blocked(ref: str, blocked: bool) -> None:
    with session_scope(_database()) as session:
        tip = session.exec(select(Tip).where(Tip.ref == ref.upper())).first()
        link = session.get(TiplineLink, tip.id) if tip else None
        contact = session.get(TiplineContact, link.contact_id) if link else None
        if contact is None:
            typer.echo(f"no informant for tip {ref}")
            raise typer.Exit(1)
        if blocked and tip is not None and tip.id is not None:
            bot.block_sender(session, tip.id)
        else:
            contact.blocked = blocked
            session.add(contact)
    typer.echo(f"the informant of {ref.upper()} is {'blocked' if blocked else 'unblocked'}")


@tips_app.command("block")
def tips_block(ref: str) -> None:
    """Stop answering whoever sent this tip (their number stays sealed)."""
    _set_blocked(ref, True)


@tips_app.command("unblock")
def tips_unblock(ref: str) -> None:
    """Answer the sender of this tip again."""
    _set_blocked(ref, False)


@tips_app.command("expire")
def tips_expire() -> None:
    """End idle conversations now (the sweeper does this every run)."""
    settings = get_settings()
    from dispatch.notify.runtime import build_notifier

    count = jobs.expire_idle(
        database=_database(),
        settings=settings,
        vault=ContactVault(settings.contact_vault_key),
        provider=build_notifier(settings),
        now=SystemClock().now(),
    )
    typer.echo(f"{count} idle conversation(s) ended")


def register(app: typer.Typer) -> None:
    """Add `dispatch tips ...` to the CLI."""
    app.add_typer(tips_app, name="tips")
