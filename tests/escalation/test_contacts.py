"""Contacts (who holds which post, and their number) through the API and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dispatch import cli
from dispatch.config import get_settings
from dispatch.db import Database
from tests.helpers import JASWANTNAGAR_ID

URL = "/api/v1/contacts"

ROSTER: list[dict[str, Any]] = [
    {"name": "Insp. R. Yadav", "post": "sho", "unit": JASWANTNAGAR_ID, "phone": "098765 00001"},
    {"name": "Insp. S. Singh", "post": "sho", "unit": "ETW-SAIFAI", "phone": "+91 98765-00002"},
    {
        "name": "CO Jaswantnagar",
        "post": "circle_officer",
        "unit": "Jaswantnagar",
        "phone": "9876500003",
        "language": "en",
    },
    {
        "name": "Control room Etawah",
        "post": "district_control",
        "unit": "Etawah",
        "phone": "+919876500004",
        "whatsapp": False,
    },
    {
        "name": "Range office Kanpur",
        "post": "range_office",
        "unit": "Kanpur",
        "phone": "+919876500005",
    },
    {"name": "SP office Jaunpur", "post": "sp_office", "unit": "Jaunpur", "phone": "+919876500007"},
    {"name": "State cell", "post": "state_cell", "phone": "+919876500006"},
]


@pytest.fixture
def roster(client: TestClient, auth: dict[str, dict[str, str]]) -> dict[str, int]:
    ids = {}
    for body in ROSTER:
        r = client.post(URL, json=body, headers=auth["admin"])
        assert r.status_code == 201, r.text
        ids[body["name"]] = r.json()["id"]
    return ids


def names(client: TestClient, headers: dict[str, str], query: str = "") -> set[str]:
    r = client.get(URL + query, headers=headers)
    assert r.status_code == 200, r.text
    return {c["name"] for c in r.json()}


def test_admins_and_operators_add_contacts_numbers_stored_as_e164(
    client: TestClient, auth: dict[str, dict[str, str]], roster: dict[str, int]
) -> None:
    r = client.get(URL, headers=auth["admin"])
    by_name = {c["name"]: c for c in r.json()}
    assert by_name["Insp. R. Yadav"]["phone"] == "+919876500001"
    assert by_name["Insp. S. Singh"]["phone"] == "+919876500002"
    assert by_name["CO Jaswantnagar"]["language"] == "en"
    assert by_name["Control room Etawah"]["whatsapp"] is False
    assert by_name["State cell"]["unit"] is None
    body = {"name": "Night desk", "post": "state_cell", "phone": "+919876500008"}
    assert client.post(URL, json=body, headers=auth["cell"]).status_code == 201


def test_other_roles_cannot_change_contacts(
    client: TestClient, auth: dict[str, dict[str, str]], roster: dict[str, int]
) -> None:
    body = {"name": "X", "post": "sho", "unit": JASWANTNAGAR_ID, "phone": "+919876500009"}
    contact_id = roster["Insp. R. Yadav"]
    for user in ("supervisor", "sho_jsw", "co_jsw", "dcr_etawah", "dig_kanpur"):
        assert client.post(URL, json=body, headers=auth[user]).status_code == 403, user
        assert client.delete(f"{URL}/{contact_id}", headers=auth[user]).status_code == 403
    assert client.post(URL, json=body).status_code == 401
    assert "X" not in names(client, auth["admin"])


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"post": "sho", "unit": "ETW-NOWHERE"}, "unknown station"),
    ({"post": "sho", "unit": None}, "needs the station"),
    ({"post": "circle_officer", "unit": "Etawah"}, "unknown circle"),
    ({"post": "range_office", "unit": "Etawah"}, "unknown range"),
    ({"post": "state_cell", "unit": "Etawah"}, "state cell has no unit"),
    ({"post": "sho", "unit": JASWANTNAGAR_ID, "phone": "12"}, "phone"),
    ({"post": "mayor", "unit": "Etawah"}, "post"),
    ({"post": "sho", "unit": JASWANTNAGAR_ID, "language": "fr"}, "language"),
    # Blank once trimmed: the timeline and "acknowledged by" would name nobody.
    ({"name": "   ", "post": "sho", "unit": JASWANTNAGAR_ID}, "name"),
]


def test_contacts_are_checked_against_the_jurisdictions(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    for body, message in INVALID:
        full = {"name": "X", "phone": "+919876500009", **body}
        r = client.post(URL, json=full, headers=auth["admin"])
        assert r.status_code == 422, body
        assert message in r.text, (message, r.text)
    assert names(client, auth["admin"]) == set()


def test_the_same_number_on_the_same_post_is_refused_not_paged_twice(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    body = {
        "name": "Insp. R. Yadav",
        "post": "sho",
        "unit": JASWANTNAGAR_ID,
        "phone": "+919876500009",
    }
    first = client.post(URL, json=body, headers=auth["admin"])
    assert first.status_code == 201, first.text
    again = client.post(URL, json={**body, "phone": "098765 00009"}, headers=auth["admin"])
    assert again.status_code == 422 and "already contact" in again.text, again.text
    # The same officer may also hold another post, and a removed contact may come back.
    other = client.post(
        URL, json={**body, "post": "circle_officer", "unit": "Jaswantnagar"}, headers=auth["admin"]
    )
    assert other.status_code == 201, other.text
    client.delete(f"{URL}/{first.json()['id']}", headers=auth["admin"])
    assert client.post(URL, json=body, headers=auth["admin"]).status_code == 201


def test_users_see_the_contacts_of_their_area_with_masked_numbers(
    client: TestClient, auth: dict[str, dict[str, str]], roster: dict[str, int]
) -> None:
    everyone = {c["name"] for c in ROSTER}
    assert names(client, auth["admin"]) == everyone
    assert names(client, auth["supervisor"]) == everyone
    assert names(client, auth["sho_jsw"]) == {"Insp. R. Yadav"}
    assert names(client, auth["co_jsw"]) == {"Insp. R. Yadav", "CO Jaswantnagar"}
    assert names(client, auth["dcr_etawah"]) == {
        "Insp. R. Yadav",
        "Insp. S. Singh",
        "CO Jaswantnagar",
        "Control room Etawah",
    }
    assert names(client, auth["dig_kanpur"]) == everyone - {"SP office Jaunpur", "State cell"}
    assert names(client, auth["sp_jaunpur"]) == {"SP office Jaunpur"}
    # Numbers in full only for those who edit contacts.
    r = client.get(URL, headers=auth["dcr_etawah"])
    assert all("xxxx" in c["phone"] for c in r.json())
    assert "+919876500001" not in r.text
    r = client.get(URL, headers=auth["supervisor"])
    assert all("xxxx" in c["phone"] for c in r.json())
    # Filters.
    assert names(client, auth["admin"], "?post=sho") == {"Insp. R. Yadav", "Insp. S. Singh"}
    assert names(client, auth["admin"], "?unit=Etawah") == {"Control room Etawah"}
    assert client.get(URL).status_code == 401


def test_removing_a_contact_keeps_it_for_the_record(
    client: TestClient, auth: dict[str, dict[str, str]], roster: dict[str, int]
) -> None:
    contact_id = roster["Insp. R. Yadav"]
    assert client.delete(f"{URL}/{contact_id}", headers=auth["cell"]).status_code == 204
    assert "Insp. R. Yadav" not in names(client, auth["admin"])
    assert "Insp. R. Yadav" in names(client, auth["admin"], "?include_inactive=true")
    assert client.delete(f"{URL}/{contact_id}", headers=auth["cell"]).status_code == 404
    assert client.delete(f"{URL}/999999", headers=auth["cell"]).status_code == 404


# ---------- CLI ----------


@pytest.fixture
def cli_env(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DISPATCH_DATABASE_URL", database.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_contacts_cli_add_list_remove(cli_env: CliRunner) -> None:
    runner = cli_env
    result = runner.invoke(
        cli.app,
        [
            "contacts",
            "add",
            "--name",
            "Insp. R. Yadav",
            "--post",
            "sho",
            "--unit",
            JASWANTNAGAR_ID,
            "--phone",
            "098765 00001",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "+919876500001" in result.output
    result = runner.invoke(
        cli.app,
        [
            "contacts",
            "add",
            "--name",
            "State cell",
            "--post",
            "state_cell",
            "--phone",
            "+919876500006",
            "--no-whatsapp",
            "--language",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    contact_id = int(result.output.split()[1])

    result = runner.invoke(cli.app, ["contacts", "list"])
    assert result.exit_code == 0
    assert "2 contact(s)" in result.output and "Insp. R. Yadav" in result.output
    result = runner.invoke(cli.app, ["contacts", "list", "--post", "state_cell"])
    assert "1 contact(s)" in result.output

    assert runner.invoke(cli.app, ["contacts", "remove", str(contact_id)]).exit_code == 0
    result = runner.invoke(cli.app, ["contacts", "list"])
    assert "1 contact(s)" in result.output
    result = runner.invoke(cli.app, ["contacts", "list", "--all"])
    assert "2 contact(s)" in result.output and "removed" in result.output
    assert runner.invoke(cli.app, ["contacts", "remove", str(contact_id)]).exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--post", "sho", "--unit", "ETW-NOWHERE", "--phone", "+919876500001"],
        ["--post", "sho", "--phone", "+919876500001"],
        ["--post", "sho", "--unit", JASWANTNAGAR_ID, "--phone", "12"],
        [
            "--post",
            "sho",
            "--unit",
            JASWANTNAGAR_ID,
            "--phone",
            "+919876500001",
            "--language",
            "fr",
        ],
    ],
)
def test_contacts_cli_refuses_bad_contacts(cli_env: CliRunner, args: list[str]) -> None:
    result = cli_env.invoke(cli.app, ["contacts", "add", "--name", "X", *args])
    assert result.exit_code == 1
    assert "error:" in result.output


def test_contacts_cli_refuses_a_blank_name_and_an_id_out_of_range(cli_env: CliRunner) -> None:
    args = ["--post", "sho", "--unit", JASWANTNAGAR_ID, "--phone", "+919876500001"]
    result = cli_env.invoke(cli.app, ["contacts", "add", "--name", "  ", *args])
    assert result.exit_code == 1 and "error: name" in result.output, result.output
    assert "0 contact(s)" in cli_env.invoke(cli.app, ["contacts", "list"]).output
    # A number beyond any id is a usage error, not a database traceback.
    result = cli_env.invoke(cli.app, ["contacts", "remove", "99999999999999999999"])
    assert result.exit_code == 2 and result.exception is not None
    assert isinstance(result.exception, SystemExit), result.exception


def test_ack_codes_use_the_whole_alphabet_evenly_in_every_position() -> None:
    """Codes are read out over a phone: only unambiguous letters, and unguessable."""
    from collections import Counter

    from dispatch.escalation.service import ACK_ALPHABET, new_ack_code

    codes = [new_ack_code() for _ in range(6400)]
    assert all(len(code) == 5 and set(code) <= set(ACK_ALPHABET) for code in codes)
    assert not set("01IO") & set("".join(codes))
    for position in range(5):
        counts = Counter(code[position] for code in codes)
        # 200 expected per letter: every letter in every position, none far off.
        assert set(counts) == set(ACK_ALPHABET)
        assert min(counts.values()) > 120 and max(counts.values()) < 290
    assert len(set(codes)) > 6300  # 32**5 codes: repeats are rare
