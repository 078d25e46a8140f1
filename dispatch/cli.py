"""The `dispatch` command: serve, partners, users, jurisdictions, audit, and each domain's own."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Annotated, Any

import typer

import geo
from dispatch.auth import service as auth_service
from dispatch.auth.models import Role
from dispatch.care import cli as care_cli
from dispatch.clock import SystemClock
from dispatch.config import get_settings
from dispatch.console import cli as console_cli
from dispatch.db import Database, session_scope
from dispatch.escalation import cli as escalation_cli
from dispatch.live import cli as live_cli
from dispatch.notify import cli as notify_cli
from dispatch.review import cli as review_cli
from dispatch.tipline import cli as tipline_cli

app = typer.Typer(help="crisis-dispatch: crisis-alert dispatch for police.", no_args_is_help=True)
partner_app = typer.Typer(help="Partner platforms that push alerts.", no_args_is_help=True)
user_app = typer.Typer(help="Console and API users.", no_args_is_help=True)
jurisdictions_app = typer.Typer(help="Police-station areas.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident timeline.", no_args_is_help=True)
retention_app = typer.Typer(
    help="Removal of personal data after the retention period.", no_args_is_help=True
)
app.add_typer(partner_app, name="partner")
app.add_typer(user_app, name="user")
app.add_typer(jurisdictions_app, name="jurisdictions")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")


def _jurisdictions() -> geo.JurisdictionIndex:
    """The configured jurisdictions, whose units users are scoped to."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", geo.GeoRepairWarning)
        return geo.JurisdictionIndex.from_geojson(get_settings().jurisdictions_path)


def _database() -> Database:
    database = Database(get_settings().database_url)
    database.ensure_schema()
    return database


def listen_url(host: str, port: int) -> str:
    """The base URL of a process listening on host:port (a wildcard host: this machine)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up plus the service's own logs on stderr at the same level:
    `dispatch.access` writes one JSON line per request (method, path, status, ms; never
    bodies, query strings or tokens), the other `dispatch` loggers `LEVEL name: message`."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["dispatch"] = {"format": "%(levelname)s %(name)s: %(message)s"}
    config["formatters"]["dispatch.access"] = {"format": "%(message)s"}  # JSON already
    for name in ("dispatch", "dispatch.access"):
        config["handlers"][name] = {
            "class": "logging.StreamHandler",
            "formatter": name,
            "stream": "ext://sys.stderr",
        }
        config["loggers"][name] = {"handlers": [name], "level": level.upper(), "propagate": False}
    return config


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option(help="Create demo users and partner, print them")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the service (SQLite and the demo jurisdictions unless configured otherwise)."""
    import uvicorn

    from dispatch.main import create_app

    settings = get_settings().model_copy(update={"gc_freeze": True})
    if "public_base_url" not in settings.model_fields_set:
        # Not configured: the address this process listens on, so the printed webhook and the
        # provider callback URLs name the port given here, not the default one.
        settings = settings.model_copy(update={"public_base_url": listen_url(host, port)})
    if demo:
        settings = settings.model_copy(update={"demo": True})
    database = Database(settings.database_url)
    database.ensure_schema()
    application = create_app(settings, database=database, create_tables=False)
    if demo:
        from dispatch.demo import seed
        from dispatch.main import RUNTIMES

        with database.session() as session:
            lines = seed(session, application, SystemClock().now())
            for runtime in RUNTIMES:
                lines += runtime.seed_demo(session, application)
            session.commit()
        typer.echo("\n".join(lines))
        base = settings.public_base_url.rstrip("/")
        typer.echo(f"Console: {base}/   API docs: {base}/docs")
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config(log_level),
        # The service writes its own access line (dispatch.access); uvicorn's carries the
        # query string, which may name a person or a place.
        access_log=False,
        ws_ping_interval=20,
        ws_per_message_deflate=settings.live_ws_deflate,
    )


@partner_app.command("add")
def partner_add(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """Register a partner; prints its API key and signing secret once."""
    with session_scope(_database()) as session:
        try:
            creds = auth_service.create_partner(session=session, name=name, now=SystemClock().now())
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(creds.model_dump_json())
    else:
        typer.echo(f"partner: {creds.name}\napi key: {creds.api_key}\nsecret:  {creds.secret}")
        typer.echo("Store the secret now: it is not shown again.")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[
        Role, typer.Option(help="operator, station, circle, district, range, supervisor, admin")
    ],
    unit: Annotated[
        str | None, typer.Option(help="Station id, or circle, district or range name")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Prompted for when not given")] = None,
    full_name: Annotated[str, typer.Option(help="Shown in the console")] = "",
    phone: Annotated[str | None, typer.Option(help="E.164 mobile number")] = None,
    language: Annotated[str, typer.Option(help="en or hi")] = "en",
) -> None:
    """Add a user with a role scoped to a unit of the hierarchy."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope(_database()) as session:
        try:
            user = auth_service.create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                unit=unit,
                now=SystemClock().now(),
                full_name=full_name,
                phone=phone,
                language=language,
                index=_jurisdictions(),
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(
            f"user {user.username} ({user.role}{', ' + user.unit if user.unit else ''}) added"
        )


@user_app.command("set")
def user_set(
    username: str,
    role: Annotated[Role | None, typer.Option(help="A new role")] = None,
    unit: Annotated[
        str | None, typer.Option(help="A new station id, or circle, district or range name")
    ] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Reactivate or deactivate")
    ] = None,
    reset_password: Annotated[
        bool, typer.Option("--reset-password", help="Prompt for a new password (lifts a lockout)")
    ] = False,
) -> None:
    """Change a user: transfer (role, unit), deactivate or reactivate, reset the password.
    Their live consoles close within a heartbeat and sign in again."""
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = role
    if unit is not None:
        changes["unit"] = unit
    if active is not None:
        changes["active"] = active
    if reset_password:
        changes["password"] = typer.prompt(
            "New password", hide_input=True, confirmation_prompt=True
        )
    if not changes:
        typer.echo(
            "error: nothing to change (--role, --unit, --active/--inactive, --reset-password)",
            err=True,
        )
        raise typer.Exit(2)
    with session_scope(_database()) as session:
        try:
            user = auth_service.update_user(
                session=session,
                username=username,
                index=_jurisdictions() if "role" in changes or "unit" in changes else None,
                **changes,
            )
        except (LookupError, ValueError) as exc:
            typer.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
            raise typer.Exit(1) from exc
        state = "active" if user.active else "inactive"
        typer.echo(
            f"user {user.username} ({user.role}{', ' + user.unit if user.unit else ''}, "
            f"{state}) changed"
        )


@jurisdictions_app.command("check")
def jurisdictions_check(file: Path) -> None:
    """Validate a jurisdictions file: features, repairs, overlaps, gaps, area per station."""
    try:
        report = geo.check_report(file)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(report.to_text())
    if not report.ok:
        raise typer.Exit(1)


@jurisdictions_app.command("import")
def jurisdictions_import(
    source: Path,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the result")],
    id_field: Annotated[str | None, typer.Option(help="Property holding the station id")] = None,
    name_field: Annotated[str, typer.Option(help="Property holding the station name")] = "name",
    district_field: Annotated[str, typer.Option(help="Property holding the district")] = "district",
    circle_field: Annotated[str | None, typer.Option(help="Property holding the circle")] = None,
    range_field: Annotated[str | None, typer.Option(help="Property holding the range")] = None,
    district: Annotated[str | None, typer.Option(help="District for every feature")] = None,
    districts: Annotated[
        Path | None, typer.Option(help="District polygons: SOURCE holds station points (Voronoi)")
    ] = None,
    districts_name_field: Annotated[str, typer.Option(help="District name property")] = "district",
) -> None:
    """Build a jurisdictions file from station polygons, or from station points and districts."""
    try:
        if districts is not None:
            collection = geo.import_points(
                source,
                districts,
                name_field=name_field,
                district_field=districts_name_field,
                points_district_field=district_field,
                id_field=id_field,
            )
        else:
            collection = geo.import_polygons(
                source,
                id_field=id_field or "id",
                name_field=name_field,
                district_field=district_field,
                circle_field=circle_field,
                range_field=range_field,
                district_default=district,
            )
        output.write_text(json.dumps(collection, ensure_ascii=False))
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {len(collection['features'])} stations to {output}")
    skipped = collection.get("skipped") or []
    if skipped:
        # A district named differently in the two files loses all its stations: say so.
        typer.echo(f"skipped {len(skipped)} station points (also listed in the file):", err=True)
        for line in skipped:
            typer.echo(f"  {line}", err=True)


@retention_app.command("purge")
def retention_purge(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Retention period in days (default: DISPATCH_RETENTION_DAYS)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; change nothing")
    ] = False,
) -> None:
    """Remove the personal data of alerts closed longer than the retention period (the
    subject, content, raw body, exact location and free-text events); the anonymous
    statistics and the timeline's hash chain stay. Run it nightly."""
    from dispatch.alerts import retention

    days = days or get_settings().retention_days
    with session_scope(_database()) as session:
        result = retention.purge(
            session=session, now=SystemClock().now(), retention_days=days, dry_run=dry_run
        )
    verb = "would remove" if dry_run else "removed"
    typer.echo(
        f"{verb} the personal data of {result.alerts} alerts closed more than {days} days "
        f"ago ({result.events_redacted} timeline events redacted)"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole timeline hash chain; exit 1 naming the first broken event."""
    from dispatch.alerts import events

    with _database().session() as session:
        checked, broken = events.verify_chain(session)
    if broken is not None:
        typer.echo(
            f"BROKEN at event {broken.event_id}: {broken.reason} "
            f"({checked} events verified before it)"
        )
        raise typer.Exit(1)
    typer.echo(f"OK: {checked} events, hash chain intact")


for module in (
    live_cli,
    escalation_cli,
    notify_cli,
    care_cli,
    review_cli,
    tipline_cli,
    console_cli,
):
    module.register(app)


def main() -> None:
    """Entry point for `python -m dispatch.cli`."""
    app(prog_name="dispatch")


if __name__ == "__main__":
    main()
