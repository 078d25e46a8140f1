"""`dispatch followups due|escalate`: check-ins waiting per station, and the overdue sweep."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import typer
from sqlmodel import col, select

from dispatch.care import jobs
from dispatch.care.models import FollowUp, FollowUpStatus
from dispatch.clock import SystemClock
from dispatch.config import get_settings
from dispatch.db import Database

followups_app = typer.Typer(help="Follow-up care check-ins after a rescue.", no_args_is_help=True)


def _database() -> Database:
    database = Database(get_settings().database_url)
    database.ensure_schema()
    return database


@followups_app.command("due")
def followups_due() -> None:
    """Check-ins due now, per station (overdue ones past the grace period counted apart)."""
    settings = get_settings()
    now = SystemClock().now()
    grace = timedelta(seconds=settings.scaled(settings.followup_grace_hours * 3600))
    database = _database()
    with database.session() as session:
        rows = session.exec(
            select(FollowUp)
            .where(FollowUp.status == FollowUpStatus.pending.value)
            .where(FollowUp.due_at <= now)
            .order_by(col(FollowUp.station_id))
        ).all()
    due = Counter(r.station_id or "(no station)" for r in rows)
    late = Counter(r.station_id or "(no station)" for r in rows if r.due_at <= now - grace)
    if not due:
        typer.echo("no check-ins due")
        return
    for station, count in sorted(due.items()):
        typer.echo(f"{station}: {count} due, {late[station]} overdue")


@followups_app.command("escalate")
def followups_escalate() -> None:
    """Page circle officers for overdue check-ins now (the server's sweeper does this too)."""
    from dispatch.notify.runtime import build_notifier

    settings = get_settings()
    count = jobs.escalate_overdue(
        _database(), SystemClock().now(), settings=settings, notifier=build_notifier(settings)
    )
    typer.echo(f"{count} overdue check-in(s) escalated")


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the `dispatch` CLI."""
    app.add_typer(followups_app, name="followups")
