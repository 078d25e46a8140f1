"""`dispatch demo`: the Etawah case replayed against a running server."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from dispatch.auth.models import PartnerCredentials, Role
from dispatch.cli import app as cli_app
from dispatch.console import cli as console_cli
from dispatch.db import Database
from tests.helpers import JASWANTNAGAR_ID
from tests.live.support import Console, LiveServer, api, has_types, login


def test_demo_posts_the_alert_then_fixes_toward_the_forest(
    server: LiveServer,
    database: Database,
    partner: PartnerCredentials,
    users: dict[str, tuple[Role, str | None]],
) -> None:
    lines: list[str] = []
    naps: list[float] = []
    token = login(server.http, "sho_jsw")
    with Console(server.ws, token) as console:
        alert_id = console_cli.run_demo(
            server.http,
            api_key=partner.api_key,
            secret=partner.secret,
            delay=2.5,
            echo=lines.append,
            sleep=naps.append,
        )
        # The station's console lights up, then follows every fix (no handover on the way).
        events = console.events_until(has_types("alert.created", "alert.signal"), timeout=5)
        while sum(e["type"] == "alert.signal" for e in events) < len(console_cli.TOWARD_FOREST):
            events.append(console.recv(3))
    assert all(e["alert_id"] == alert_id for e in events)
    assert "alert.handover" not in {e["type"] for e in events}
    assert naps == [2.5] * len(console_cli.TOWARD_FOREST)

    detail = api(server.http, token, "GET", f"/api/v1/alerts/{alert_id}").json()
    assert detail["category"] == "suicide_risk"
    assert detail["station"]["id"] == JASWANTNAGAR_ID
    last = console_cli.TOWARD_FOREST[-1]
    assert (detail["location"]["lat"], detail["location"]["lon"]) == (last[0], last[1])
    assert 26.8 < detail["location"]["lat"] < 26.9 and 78.8 < detail["location"]["lon"] < 79.0

    text = "\n".join(lines)
    assert f"alert #{alert_id}" in text and "Jaswantnagar" in text
    assert text.count("new GPS fix") == len(console_cli.TOWARD_FOREST)
    assert "sho_jaswantnagar" in text  # who to sign in as, to watch


def test_demo_command_is_registered() -> None:
    result = CliRunner().invoke(cli_app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "Etawah" in result.output and "--url" in result.output


def test_demo_explains_an_unreachable_server() -> None:
    result = CliRunner().invoke(cli_app, ["demo", "--url", "http://127.0.0.1:9", "--delay", "0"])
    assert result.exit_code == 1
    assert "cannot reach" in result.output


def test_demo_explains_a_server_without_the_demo_partner(server: LiveServer) -> None:
    args: dict[str, Any] = {"api_key": "pk_demo_meta", "secret": "demo-signing-secret"}
    try:
        console_cli.run_demo(server.http, delay=0, echo=lambda _: None, **args)
    except console_cli.DemoError as exc:
        assert "dispatch serve --demo" in str(exc)
    else:
        raise AssertionError("expected DemoError")
