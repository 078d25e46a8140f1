"""`dispatch contacts add|list|remove`, `dispatch escalation check` and `... worker`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.clock import SystemClock
from dispatch.config import get_settings
from dispatch.db import Database, session_scope
from dispatch.deps import MAX_ID
from dispatch.escalation import policy as policy_mod
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import ContactCreate, Language, Post

contacts_app = typer.Typer(
    help="Who is paged for which post (SHO, circle officer, ...).", no_args_is_help=True
)
escalation_app = typer.Typer(help="The escalation policy.", no_args_is_help=True)


def _database() -> Database:
    database = Database(get_settings().database_url)
    database.ensure_schema()
    return database


def _index() -> object | None:
    import geo

    try:
        return geo.JurisdictionIndex.from_geojson(get_settings().jurisdictions_path)
    except (OSError, ValueError):
        return None


@contacts_app.command("add")
def contacts_add(
    name: Annotated[str, typer.Option(help="Person or desk, e.g. 'Insp. R. Yadav'")],
    post: Annotated[
        Post,
        typer.Option(
            help="sho, circle_officer, district_control, sp_office, range_office, dig_office "
            "or state_cell"
        ),
    ],
    phone: Annotated[str, typer.Option(help="Mobile number, e.g. +91 98xxx xxxxx")],
    unit: Annotated[
        str | None, typer.Option(help="Station id, circle, district or range (none for state_cell)")
    ] = None,
    whatsapp: Annotated[bool, typer.Option(help="Also send WhatsApp messages")] = True,
    language: Annotated[str, typer.Option(help="hi or en")] = "hi",
) -> None:
    """Add a contact for a post."""
    import geo

    if language not in ("hi", "en"):
        typer.echo("error: --language must be hi or en", err=True)
        raise typer.Exit(1)
    lang: Language = "hi" if language == "hi" else "en"
    index = _index()
    with session_scope(_database()) as session:
        try:
            contact = escalation_service.add_contact(
                session=session,
                body=ContactCreate(
                    name=name, post=post, unit=unit, phone=phone, whatsapp=whatsapp, language=lang
                ),
                index=index if isinstance(index, geo.JurisdictionIndex) else None,
                now=SystemClock().now(),
                region=get_settings().default_phone_region,
            )
        except (escalation_service.ContactError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(
            f"contact {contact.id} added: {contact.name}, {contact.post} "
            f"{contact.unit or ''} {contact.phone}"
        )


@contacts_app.command("list")
def contacts_list(
    post: Annotated[Post | None, typer.Option(help="Only this post")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include removed contacts")] = False,
) -> None:
    """List contacts."""
    with session_scope(_database()) as session:
        contacts = escalation_service.list_contacts(
            session=session, post=post, unit=unit, include_inactive=all_
        )
        for c in contacts:
            flags = ("WA " if c.whatsapp else "   ") + c.language + ("" if c.active else " removed")
            typer.echo(
                f"{c.id:>5}  {c.post:<16} {c.unit or '-':<22} {c.phone:<15} {flags}  {c.name}"
            )
        typer.echo(f"{len(contacts)} contact(s)")


@contacts_app.command("remove")
def contacts_remove(
    contact_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The contact's id")],
) -> None:
    """Stop paging a contact."""
    with session_scope(_database()) as session:
        if escalation_service.remove_contact(session=session, contact_id=contact_id) is None:
            typer.echo(f"error: no active contact {contact_id}", err=True)
            raise typer.Exit(1)
    typer.echo(f"contact {contact_id} removed")


@escalation_app.command("check")
def escalation_check(
    file: Annotated[
        Path | None, typer.Argument(help="Policy file (default: the configured one)")
    ] = None,
) -> None:
    """Validate an escalation policy file and print its chains."""
    path = file or get_settings().escalation_policy_path
    try:
        loaded = policy_mod.load(path)
    except policy_mod.PolicyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    sections = [(f"chains.{k}", v) for k, v in loaded.chains.items()]
    sections += [
        (f"districts.{d}.{k}", v)
        for d, chains in loaded.districts.items()
        for k, v in chains.items()
    ]
    for name, chain in sections:
        total = 0.0
        typer.echo(name)
        for level, step in enumerate(chain.steps):
            total += step.after_s
            who = ", ".join(
                f"{t.post.value} ({'+'.join(c.value for c in t.channels)})" for t in step.targets
            )
            typer.echo(f"  level {level} at +{total / 60:g} min: {who}")
        typer.echo(
            f"  then level {len(chain.steps) - 1} again "
            f"every {chain.repeat_last_every_s / 60:g} min"
        )
    typer.echo(f"OK: {path}")


@escalation_app.command("worker")
def escalation_worker() -> None:
    """Run escalation, follow-up and tip-line sweeps without HTTP (PostgreSQL only).

    Start `dispatch serve` with DISPATCH_SCHEDULER_ENABLED=false beside it; stop with
    SIGTERM or Ctrl-C (steps not yet fired stay due in the database).
    """
    import asyncio
    import logging
    import signal

    from dispatch.escalation.runtime import run_worker
    from dispatch.main import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    refusal = None
    if settings.database_url.startswith("sqlite"):
        refusal = (
            "the escalation worker needs PostgreSQL (SQLite has one writer: "
            "leave escalation inside `dispatch serve`)"
        )
    elif not settings.scheduler_enabled:
        refusal = "the escalation worker needs DISPATCH_SCHEDULER_ENABLED=true"
    if refusal is not None:
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(2)
    database = Database(settings.database_url)
    database.ensure_schema()
    application = create_app(settings, database=database, create_tables=False)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(application, stop)

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the `dispatch` CLI."""
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(escalation_app, name="escalation")
