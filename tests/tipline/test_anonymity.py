"""The core promise: after whole conversations, the informant's number is nowhere police-side.

Searched: every text-like column of every table, the captured logs, every API response the
police can fetch, and the stored (stripped) media files.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.escalation import jobs as escalation_jobs
from tests.helpers import login
from tests.tipline.support import NUMBER_FORMS, PROFILE_NAME, Informant, jpeg_with_gps

Headers = dict[str, dict[str, str]]


def _forms() -> list[str]:
    return [*NUMBER_FORMS, PROFILE_NAME]


def _leaks(text: str) -> list[str]:
    return [form for form in _forms() if form in text]


def _whole_conversations(
    informant: Informant, client: TestClient, clock: FrozenClock, auth: Headers
) -> list[str]:
    refs = []
    # English, photos, extra text; the informant even types their own number.
    refs.append(
        informant.report(
            photos=2,
            description="Guns are sold here. Call me on 98765 43210 or +91-98765-43210.",
        )
    )
    # Hindi, shared location, a voice note.
    informant.send("Hi")
    for text in ("1", "2", "जौनपुर"):
        informant.send(text)
    point = client.app.state.resolver.index.geometry("JNP-KERAKAT").representative_point()  # type: ignore[attr-defined]
    informant.share_location(point.y, point.x, "9876543210 के घर के पास")
    informant.send("यहाँ रोज शराब बेची जाती है, मेरा नंबर 9876543210 है")
    informant.send_media([(b"OggS" + b"\x00" * 200, "audio/ogg")], body="आवाज़ सुनें")
    informant.send("हो गया")
    from tests.tipline.support import reference

    refs.append(reference(informant.say("1")))
    # Corruption, then STATUS and ADD, an abandoned conversation and an expired one.
    refs.append(informant.report(category="8", description="Kerakat thana daroga takes bribes."))
    informant.send(f"STATUS {refs[0]}")
    informant.send(f"ADD {refs[0]}")
    informant.send("Also my brother 9876543210 saw it")
    informant.send_media([(jpeg_with_gps(), "image/jpeg")])
    informant.send("done")
    for text in ("Hi", "2", "cancel", "Hi", "2", "1"):
        informant.send(text)
    clock.advance(minutes=40)
    escalation_jobs.run_registered(client.app, clock.now())  # type: ignore[arg-type]
    # The police work the tips; the informant is told in and out of the 24-hour window.
    sp = login(client, "sp_jaunpur")
    client.post(f"/api/v1/tips/{refs[0]}/assign", json={"station_id": "JNP-SIKRARA"}, headers=sp)
    client.post(f"/api/v1/tips/{refs[0]}/action", data={"text": "Seized two pistols."}, headers=sp)
    clock.advance(minutes=26 * 60)
    sp = login(client, "sp_jaunpur")
    client.post(f"/api/v1/tips/{refs[1]}/action", data={"text": "Shop sealed."}, headers=sp)
    client.post(f"/api/v1/tips/{refs[2]}/block", headers=sp)
    return refs


def _api_responses(client: TestClient, refs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    headers = {
        name: login(client, name) for name in ("admin", "sp_jaunpur", "dig_varanasi", "supervisor")
    }
    app = client.app
    paths = []
    for route in app.routes:  # type: ignore[attr-defined]
        methods = getattr(route, "methods", set()) or set()
        path = getattr(route, "path", "")
        if "GET" in methods and "{" not in path and path.startswith(("/api/", "/tips")):
            paths.append(path)
    for ref in refs:
        paths += [f"/api/v1/tips/{ref}", "/api/v1/tips/stats?format=csv"]
    for name, header in headers.items():
        for path in paths:
            response = client.get(path, headers=header)
            out[f"{name} {path}"] = response.text
        for ref in refs:
            tip = client.get(f"/api/v1/tips/{ref}", headers=header).json()
            for media in tip.get("media", []):
                got = client.get(f"/api/v1/tips/{ref}/media/{media['id']}", headers=header)
                out[f"{name} media {media['id']}"] = got.content.decode("latin-1")
    return out


def _database_text(database: Database) -> dict[str, str]:
    found: dict[str, str] = {}
    with database.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, int | float | bool):
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    found[f"{table.name}.{column}#{len(found)}"] = text
    return found


def test_the_number_never_reaches_the_police_side(
    informant: Informant,
    client: TestClient,
    clock: FrozenClock,
    auth: Headers,
    database: Database,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    refs = _whole_conversations(informant, client, clock, auth)
    assert len(refs) == 3

    columns = _database_text(database)
    assert any(k.startswith("tip.description") for k in columns), "the search must see tips"
    assert any(k.startswith("tipline_contact.address_sealed") for k in columns)
    leaks = {key: _leaks(text) for key, text in columns.items() if _leaks(text)}
    assert leaks == {}

    logged = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.__dict__}" for r in caplog.records
    )
    assert _leaks(logged) == []

    responses = _api_responses(client, refs)
    assert any("Guns are sold here" in body for body in responses.values())
    leaks = {key: _leaks(body) for key, body in responses.items() if _leaks(body)}
    assert leaks == {}

    files = list(Path(settings.tipline_media_dir).glob("*"))
    assert len(files) >= 3
    for path in files:
        assert _leaks(path.read_bytes().decode("latin-1")) == []

    # The typed-in number was removed, the rest of the text kept.
    sp = login(client, "sp_jaunpur")
    tip = client.get(f"/api/v1/tips/{refs[0]}", headers=sp).json()
    assert "Call me on [number removed] or [number removed]" in tip["description"]


def test_a_number_typed_in_devanagari_digits_or_brackets_is_removed(
    informant: Informant, client: TestClient, auth: Headers
) -> None:
    # Phones set to Hindi type Devanagari digits; the menus already read them as numbers.
    ref = informant.report(
        language="1",
        description="यहाँ रोज़ कट्टा बिकता है। मेरा नंबर ९८७६५४३२१० है, +९१ ९८७६५-४३२१० पर फोन करें",
    )
    informant.send(f"ADD {ref}")
    informant.send("Or call +91 (98765) 43210 after 6 pm")
    informant.send("done")
    tip = client.get(f"/api/v1/tips/{ref}", headers=auth["sp_jaunpur"]).json()
    texts = [tip["description"], *(i["text"] for i in tip["items"])]
    for text in texts:
        assert "९८७६५" not in text and "४३२१०" not in text and "98765" not in text, text
    assert tip["description"] == (
        "यहाँ रोज़ कट्टा बिकता है। मेरा नंबर [number removed] है, [number removed] पर फोन करें"
    )
    assert texts[1] == "Or call [number removed] after 6 pm"
