"""The policy file: its format and checks, overrides per district and per category."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dispatch import cli
from dispatch.auth.models import PartnerCredentials
from dispatch.clock import FrozenClock
from dispatch.config import REPO_ROOT, Settings
from dispatch.db import Database
from dispatch.escalation import policy as policy_mod
from dispatch.escalation import service as escalation_service
from dispatch.escalation.models import ContactCreate, Post
from tests.escalation.support import (
    alert_row,
    events_of,
    levels_fired,
    new_alert,
    tick,
    twilio_app,
    twilio_settings,
)
from tests.notify.fake_twilio import RecordingTwilio

DEFAULT_FILE = REPO_ROOT / "data" / "escalation_policy.json"
VARANASI_CHOWK = {"lat": 25.3176, "lon": 83.0104, "accuracy_m": 50, "source": "gps"}


def minimal(**chain: Any) -> dict[str, Any]:
    steps = [{"after_s": 0, "targets": [{"post": "sho", "channels": ["sms"]}]}]
    return {"version": 1, "chains": {"default": {"steps": steps, **chain}}}


def test_the_shipped_policy_is_valid_and_matches_the_issue() -> None:
    loaded = policy_mod.load(DEFAULT_FILE)
    source, chain = loaded.chain_for("suicide_risk", "Etawah")
    assert source == "chains.suicide_risk"
    assert [s.after_s for s in chain.steps] == [0, 180, 180, 300]
    targets = [
        [(t.post.value, [c.value for c in t.channels]) for t in s.targets] for s in chain.steps
    ]
    assert targets[0] == [("sho", ["console", "sms", "whatsapp"])]
    assert targets[1] == [("sho", ["voice"]), ("circle_officer", ["sms"])]
    assert targets[2] == [("district_control", ["voice"])]
    assert {p for p, _ in targets[3]} == {"range_office", "state_cell"}
    assert chain.repeat_last_every_s == 240
    # Category and district overrides, and the fallbacks.
    assert loaded.chain_for("self_harm", "Etawah")[0] == "chains.self_harm"
    assert loaded.chain_for("other", "Etawah")[0] == "chains.default"
    assert loaded.chain_for("threat_to_others", "Varanasi")[0] == (
        "districts.Varanasi.threat_to_others"
    )
    assert loaded.chain_for("threat_to_others", "Etawah")[0] == "chains.default"
    assert loaded.chain_for("suicide_risk", "Varanasi")[0] == "chains.suicide_risk"
    assert loaded.chain_for("suicide_risk", None)[0] == "chains.suicide_risk"


def test_a_district_default_chain_overrides_every_category_there() -> None:
    data = minimal()
    data["chains"]["suicide_risk"] = data["chains"]["default"]
    local = {"steps": [{"after_s": 0, "targets": [{"post": "state_cell", "channels": ["sms"]}]}]}
    data["districts"] = {"Jaunpur": {"default": local}}
    loaded = policy_mod.parse(data)
    assert loaded.chain_for("suicide_risk", "Jaunpur")[0] == "districts.Jaunpur.default"
    assert loaded.chain_for("suicide_risk", "Etawah")[0] == "chains.suicide_risk"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["chains"].pop("default"), 'must contain a "default" chain'),
        (
            lambda d: d["chains"]["default"]["steps"][0]["targets"][0].update(post="mayor"),
            "chains.default.steps.0.targets.0.post",
        ),
        (
            lambda d: d["chains"]["default"]["steps"][0]["targets"][0].update(
                channels=["sms", "sms"]
            ),
            "a channel is listed twice",
        ),
        (
            lambda d: d["chains"]["default"]["steps"][0].update(after_s=-1),
            "chains.default.steps.0.after_s",
        ),
        (lambda d: d["chains"]["default"].update(steps=[]), "chains.default.steps"),
        (lambda d: d["chains"]["default"].update(repeat_last_every_s=1), "repeat_last_every_s"),
        (lambda d: d["chains"]["default"].update(colour="red"), "chains.default.colour"),
        (lambda d: d.update(version=0), "version"),
        # A misspelt category would never be looked up: its alerts would follow "default".
        (
            lambda d: d["chains"].update({"suicide-risk": d["chains"]["default"]}),
            "chains: unknown alert category 'suicide-risk'",
        ),
        (
            lambda d: d.update(districts={"Varanasi": {"threat": d["chains"]["default"]}}),
            "districts.Varanasi: unknown alert category 'threat'",
        ),
    ],
)
def test_invalid_policies_are_refused_with_the_path_of_the_problem(
    change: Any, message: str, tmp_path: Path
) -> None:
    data = minimal()
    change(data)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    with pytest.raises(policy_mod.PolicyError, match=message) as info:
        policy_mod.load(path)
    assert str(path) in str(info.value)


def test_unreadable_or_broken_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(policy_mod.PolicyError, match="cannot read"):
        policy_mod.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,,}')
    with pytest.raises(policy_mod.PolicyError, match="line 1 column"):
        policy_mod.load(broken)
    utf16 = tmp_path / "utf16.json"
    utf16.write_bytes('{"description": "Śrāvastī"}'.encode("utf-16"))
    with pytest.raises(policy_mod.PolicyError, match="is not UTF-8 text"):
        policy_mod.load(utf16)


def test_the_service_refuses_to_start_with_an_invalid_policy(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    from dispatch.main import create_app

    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"version": 1, "chains": {}}))
    settings = Settings(
        env="test", database_url=database.url, scheduler_enabled=False, escalation_policy_path=path
    )
    app = create_app(settings, clock=clock, database=database)
    with pytest.raises(policy_mod.PolicyError), TestClient(app):
        pass


def test_snapshot_fills_in_the_stall_timers_and_names_its_source() -> None:
    loaded = policy_mod.parse(minimal(stall_on_scene_s=1200))
    snap = policy_mod.snapshot(
        loaded, category="other", district=None, stall_en_route_s=600, stall_on_scene_s=2700
    )
    assert snap["stall_en_route_s"] == 600  # from the settings
    assert snap["stall_on_scene_s"] == 1200  # the chain's own
    assert snap["policy"] == {"version": 1, "source": "chains.default"}
    assert snap["steps"][0]["targets"] == [{"post": "sho", "channels": ["sms"]}]


def test_the_check_command_prints_each_chain_with_its_timing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli.app, ["escalation", "check", str(DEFAULT_FILE)])
    assert result.exit_code == 0, result.output
    assert "chains.suicide_risk" in result.output
    assert "level 1 at +3 min: sho (voice), circle_officer (sms)" in result.output
    assert "level 2 at +6 min: district_control (voice)" in result.output
    assert "level 3 at +11 min" in result.output
    assert "then level 3 again every 4 min" in result.output
    assert "districts.Varanasi.threat_to_others" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "chains": {}}))
    result = runner.invoke(cli.app, ["escalation", "check", str(bad)])
    assert result.exit_code == 1 and "default" in result.output


def _contact(
    database: Database, clock: FrozenClock, post: Post, unit: str | None, phone: str
) -> None:
    with database.session() as session:
        escalation_service.add_contact(
            session=session,
            body=ContactCreate(name=f"{post.value} {unit}", post=post, unit=unit, phone=phone),
            index=None,
            now=clock.now(),
        )
        session.commit()


def test_district_and_category_overrides_drive_a_running_escalation(
    client: TestClient,
    app: FastAPI,
    partner: PartnerCredentials,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    database: Database,
) -> None:
    _contact(database, clock, Post.sho, "VNS-CHOWK", "+919876511001")
    _contact(database, clock, Post.district_control, "Varanasi", "+919876511002")
    _contact(database, clock, Post.circle_officer, "Dashashwamedh", "+919876511003")
    _contact(database, clock, Post.sho, "ETW-JASWANTNAGAR", "+919876511004")

    # Varanasi, threat to others: the district's own chain (control room told at once,
    # level 1 after two minutes by calls to the SHO and the circle officer).
    threat = new_alert(client, partner, category="threat_to_others", location=VARANASI_CHOWK)
    # Jaswantnagar, self-harm: the category chain (level 2 after four more minutes).
    harm = new_alert(client, partner, category="self_harm")
    # Jaswantnagar, other: the default chain (level 1 after five minutes).
    other = new_alert(client, partner, category="other")
    tick(app, clock)
    assert sorted((s.kind, s.to) for s in twilio.sent if s.to.startswith("+9198765110")) == [
        ("sms", "+919876511001"),
        ("sms", "+919876511002"),
        ("sms", "+919876511004"),
        ("sms", "+919876511004"),
        ("whatsapp", "+919876511001"),
        ("whatsapp", "+919876511004"),
        ("whatsapp", "+919876511004"),
    ]
    chain = alert_row(database, threat).escalation_chain
    assert chain is not None
    assert chain["policy"]["source"] == "districts.Varanasi.threat_to_others"
    assert alert_row(database, harm).escalation_chain["policy"]["source"] == "chains.self_harm"  # type: ignore[index]
    assert alert_row(database, other).escalation_chain["policy"]["source"] == "chains.default"  # type: ignore[index]

    tick(app, clock, minutes=2)
    assert levels_fired(database, threat) == [0, 1]
    assert levels_fired(database, harm) == [0] and levels_fired(database, other) == [0]
    calls = {s.to for s in twilio.of("voice")}
    assert calls == {"+919876511001", "+919876511003"}
    tick(app, clock, minutes=1)  # +3
    assert levels_fired(database, harm) == [0, 1] and levels_fired(database, other) == [0]
    tick(app, clock, minutes=2)  # +5
    assert levels_fired(database, other) == [0, 1]
    assert levels_fired(database, threat) == [0, 1, 2]
    tick(app, clock, minutes=1)  # +6: self-harm level 2 is 4 min after its level 1 (+7)
    assert levels_fired(database, harm) == [0, 1]
    tick(app, clock, minutes=1)  # +7
    # Etawah's control room has no contact here: level 2 reached nobody, level 3 at once.
    assert levels_fired(database, harm) == [0, 1, 2, 3]
    for alert_id in (threat, harm, other):
        for event in events_of(database, alert_id, "alert.escalated"):
            assert (
                event.data["policy"]
                == alert_row(database, alert_id).escalation_chain["policy"]["source"]
            )  # type: ignore[index]


def test_a_policy_file_given_in_the_settings_is_used(
    database: Database,
    clock: FrozenClock,
    twilio: RecordingTwilio,
    partner: PartnerCredentials,
    tmp_path: Path,
) -> None:
    path = tmp_path / "policy.json"
    data = minimal(repeat_last_every_s=60)
    data["chains"]["default"]["steps"].append(
        {"after_s": 30, "targets": [{"post": "sho", "channels": ["voice"]}]}
    )
    path.write_text(json.dumps(data))
    _contact(database, clock, Post.sho, "ETW-JASWANTNAGAR", "+919876511004")
    app = twilio_app(
        twilio_settings(database, escalation_policy_path=path), clock, database, twilio
    )
    with TestClient(app) as client:
        alert_id = new_alert(client, partner)
        tick(app, clock)
        tick(app, clock, seconds=30)
        tick(app, clock, seconds=60)
        r = client.get("/api/v1/escalation/policy", headers=_admin(client, database))
        assert r.status_code == 200 and r.json()["chains"]["default"]["repeat_last_every_s"] == 60
    assert [s.kind for s in twilio.sent] == ["sms", "voice", "voice"]
    assert levels_fired(database, alert_id) == [0, 1, 1]


def _admin(client: TestClient, database: Database) -> dict[str, str]:
    from dispatch.auth.models import Role
    from tests.helpers import add_user, login

    add_user(database, "policy_admin", Role.admin)
    return login(client, "policy_admin")
