"""The `dispatch` command: partners, users, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dispatch.cli import app
from dispatch.config import get_settings

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DISPATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_partner_add_prints_credentials_once(db_env: str) -> None:
    result = runner.invoke(app, ["partner", "add", "meta", "--json"])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    assert creds["api_key"].startswith("pk_") and len(creds["secret"]) > 30
    again = runner.invoke(app, ["partner", "add", "meta"])
    assert again.exit_code == 1 and "already exists" in again.output


def test_user_add_validates_role_and_unit(db_env: str) -> None:
    ok = runner.invoke(
        app,
        [
            "user",
            "add",
            "sho1",
            "--role",
            "station",
            "--unit",
            "ETW-JASWANTNAGAR",
            "--password",
            "pass-word-1",
        ],
    )
    assert ok.exit_code == 0, ok.output
    missing_unit = runner.invoke(
        app, ["user", "add", "sho2", "--role", "station", "--password", "pass-word-1"]
    )
    assert missing_unit.exit_code == 1 and "needs a unit" in missing_unit.output
    bad_role = runner.invoke(
        app, ["user", "add", "x", "--role", "king", "--password", "pass-word-1"]
    )
    assert bad_role.exit_code != 0

    # A unit the jurisdictions do not have would give the officer an empty console.
    typo = runner.invoke(
        app,
        [
            "user",
            "add",
            "sho3",
            "--role",
            "station",
            "--unit",
            "Jaswantnagar",
            "--password",
            "pw-123456",
        ],
    )
    assert typo.exit_code == 1 and "did you mean ETW-JASWANTNAGAR" in typo.output
    moved = runner.invoke(app, ["user", "set", "sho1", "--unit", "ETW-SAIFAl"])
    assert moved.exit_code == 1 and "unknown station id" in moved.output
    moved = runner.invoke(app, ["user", "set", "sho1", "--role", "circle", "--unit", "Saifai"])
    assert moved.exit_code == 0, moved.output


def test_user_set_transfers_deactivates_and_resets(db_env: str) -> None:
    add = ["user", "add", "sho1", "--role", "station", "--unit", "ETW-JASWANTNAGAR"]
    assert runner.invoke(app, [*add, "--password", "pass-word-1"]).exit_code == 0
    moved = runner.invoke(app, ["user", "set", "sho1", "--unit", "ETW-SAIFAI"])
    assert moved.exit_code == 0 and "station, ETW-SAIFAI, active" in moved.output
    gone = runner.invoke(app, ["user", "set", "sho1", "--inactive"])
    assert gone.exit_code == 0 and "inactive" in gone.output
    reset = runner.invoke(
        app, ["user", "set", "sho1", "--reset-password"], input="new-pass-22\nnew-pass-22\n"
    )
    assert reset.exit_code == 0, reset.output
    engine = sa.create_engine(db_env)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT unit, active, password_hash FROM user WHERE username = 'sho1'")
        ).one()
    engine.dispose()
    assert row.unit == "ETW-SAIFAI" and not row.active and row.password_hash.startswith("$argon2")
    from dispatch.auth.service import verify_password

    assert verify_password(row.password_hash, "new-pass-22")
    unknown = runner.invoke(app, ["user", "set", "nobody", "--inactive"])
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    nothing = runner.invoke(app, ["user", "set", "sho1"])
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    bad = runner.invoke(app, ["user", "set", "sho1", "--role", "operator", "--unit", "Etawah"])
    assert bad.exit_code == 1 and "state-wide" in bad.output
    no_unit = runner.invoke(app, ["user", "set", "sho1", "--role", "circle"])
    assert no_unit.exit_code == 1 and "needs a unit" in no_unit.output


def test_user_add_prompts_for_password(db_env: str) -> None:
    result = runner.invoke(
        app, ["user", "add", "cell1", "--role", "operator"], input="pass-word-1\npass-word-1\n"
    )
    assert result.exit_code == 0, result.output


def test_a_partner_needs_a_name_and_an_empty_database_verifies(db_env: str) -> None:
    blank = runner.invoke(app, ["partner", "add", "  "])
    assert blank.exit_code == 1 and "partner name" in blank.output
    empty = runner.invoke(app, ["audit", "verify"])  # a new install: nothing to check yet
    assert empty.exit_code == 0 and "OK: 0 events" in empty.output, empty.output


def test_audit_verify_passes_then_names_tampered_event(db_env: str) -> None:
    from dispatch.alerts import events
    from dispatch.alerts.events import EventType
    from dispatch.clock import FrozenClock
    from dispatch.db import Database

    database = Database(db_env)
    database.create_all()
    clock = FrozenClock()
    for i in range(3):
        with database.session() as session:
            events.append(
                session,
                alert_id=1,
                type_=EventType.note,
                at=clock.now(),
                actor="u",
                scope="|s:A|",
                data={"i": i},
            )
            session.commit()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 events" in ok.output
    with database.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alert_event SET data = '{\"i\": 9}' WHERE id = 2"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "event 2" in bad.output


def test_jurisdictions_check_on_demo_data(db_env: str) -> None:
    result = runner.invoke(app, ["jurisdictions", "check", str(get_settings().jurisdictions_path)])
    assert result.exit_code == 0, result.output
    assert "ETW-JASWANTNAGAR" in result.output or "stations" in result.output.lower()


SHARED_GEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "geo"


@pytest.mark.skipif(not SHARED_GEO.exists(), reason="real boundary data not found")
def test_jurisdictions_import_says_what_it_skipped_and_what_it_could_not_write(
    db_env: str, tmp_path: Path
) -> None:
    points = [
        str(SHARED_GEO / "up_subdistrict_hq.geojson"),
        "--name-field",
        "LOC_NAME",
        "--district-field",
        "dtname",
        "--districts",
        str(SHARED_GEO / "up_districts.geojson"),
    ]
    out = tmp_path / "stations.geojson"
    result = runner.invoke(app, ["jurisdictions", "import", *points, "-o", str(out)])
    assert result.exit_code == 0, result.output
    # The tehsil points name six districts by their 2011 names (SOURCES.md): their
    # stations are left out, and the operator is told which.
    assert "skipped 21 station points" in result.output
    assert "Bikapur, district Faizabad" in result.output
    assert len(json.loads(out.read_text())["features"]) == 291
    check = runner.invoke(app, ["jurisdictions", "check", str(out)])
    assert check.exit_code == 0, check.output
    nowhere = tmp_path / "missing-dir" / "stations.geojson"
    result = runner.invoke(app, ["jurisdictions", "import", *points, "-o", str(nowhere)])
    # Refused with a message, not a traceback.
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "error:" in result.output and "No such file or directory" in result.output
    projected = tmp_path / "projected.geojson"
    ring = [[431000, 2236000], [436000, 2236000], [436000, 2241000], [431000, 2236000]]
    feature = {
        "type": "Feature",
        "properties": {"Name": "Capital"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    projected.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    args = [str(projected), "-o", str(out), "--name-field", "Name", "--district", "Khordha"]
    result = runner.invoke(app, ["jurisdictions", "import", *args])
    assert result.exit_code == 1 and "not lon/lat" in result.output


@pytest.mark.parametrize(
    ("port", "configured", "expected"),
    [
        (8123, None, "http://127.0.0.1:8123"),
        (8123, "https://dispatch.example.org", "https://dispatch.example.org"),
    ],
)
def test_serve_names_the_address_it_listens_on(
    db_env: str,
    monkeypatch: pytest.MonkeyPatch,
    port: int,
    configured: str | None,
    expected: str,
) -> None:
    """The demo's printed console and tip-line webhook URLs, and the provider callbacks,
    use the port given to `serve` unless a public URL is configured."""
    import uvicorn

    if configured is not None:
        monkeypatch.setenv("DISPATCH_PUBLIC_BASE_URL", configured)
    get_settings.cache_clear()
    served: dict[str, object] = {}

    def fake_run(application: object, **options: object) -> None:
        served["app"] = application
        served.update(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    result = runner.invoke(app, ["serve", "--demo", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert served["port"] == port
    assert served["app"].state.settings.public_base_url == expected  # type: ignore[attr-defined]
    assert f"Console: {expected}/" in result.output
    assert f"webhook {expected}/webhooks/twilio/whatsapp" in result.output


def test_listen_url_for_wildcard_and_ipv6_hosts() -> None:
    from dispatch.cli import listen_url

    assert listen_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"  # noqa: S104
    assert listen_url("::", 9000) == "http://[::1]:9000"
    assert listen_url("::1", 9000) == "http://[::1]:9000"
    assert listen_url("dispatch.local", 80) == "http://dispatch.local:80"


def test_serve_logs_one_json_line_per_request_without_query_or_body(tmp_path: Path) -> None:
    """docs/operations.md: one JSON line per request on `dispatch.access` (method, path,
    status, ms), never bodies, query strings or tokens."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "DISPATCH_ENV": "development",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        secret = "+919876543210"
        httpx.get(f"{base}/api/v1/alerts", params={"station": secret, "token": "tok-abc"})
        httpx.post(f"{base}/api/v1/alerts", json={"subject": {"phones": [secret]}})
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    logged = (out + err).decode()
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert {"method": "GET", "path": "/api/v1/alerts", "status": 401} in [
        {k: v for k, v in line.items() if k != "ms"} for line in lines
    ]
    assert {"method", "path", "status", "ms"} == set(lines[-1])
    assert "POST" in [line["method"] for line in lines]
    assert secret not in logged and "tok-abc" not in logged and "station=" not in logged
