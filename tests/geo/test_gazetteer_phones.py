"""Offline gazetteer and phone normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

import geo


def test_mughalsarai_aliases_resolve_to_chandauli() -> None:
    gazetteer = geo.OfflineGazetteer()
    for text in (
        "near the junction, Mughalsarai, Chandauli",
        "Pt. Deen Dayal Upadhyaya Nagar station road",
        "DDU Nagar",
        "मुगलसराय",
    ):
        place = gazetteer.geocode(text)
        assert place is not None, text
        assert place.raw["district"] == "Chandauli", text


def test_unknown_address_is_none_and_no_network(tmp_path: Path) -> None:
    csv = tmp_path / "g.csv"
    csv.write_text(
        "name,name_hi,aliases,lat,lon,kind,district,station_id\n"
        "Civil Lines,सिविल लाइंस,,26.77,79.00,station_town,Etawah,E1\n"
        "Civil Lines,,,25.75,82.68,station_town,Jaunpur,J1\n",
        encoding="utf-8",
    )
    gazetteer = geo.OfflineGazetteer(csv)
    assert gazetteer.geocode("somewhere unknown") is None
    # The district named in the text chooses between places with the same name.
    assert gazetteer.geocode("Civil Lines, Jaunpur").raw["station_id"] == "J1"
    assert gazetteer.geocode("सिविल लाइंस").raw["station_id"] == "E1"
    geocode = geo.make_geocoder(None, gazetteer_path=csv)
    assert geocode("Civil Lines, Etawah").raw["station_id"] == "E1"  # type: ignore[union-attr]
    assert geocode("nowhere") is None


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+91 98765 43210", "+919876543210"),
        ("09876543210", "+919876543210"),
        ("919876543210", "+919876543210"),
        ("98765-43210", "+919876543210"),
    ],
)
def test_phone_formats(raw: str, e164: str) -> None:
    assert geo.normalize_phone(raw).e164 == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("12", "too short"), ("call me", "not a phone number"), ("5555555555", "not a valid number")],
)
def test_invalid_phones_have_reasons(raw: str, reason: str) -> None:
    result = geo.normalize_phone(raw)
    assert result.e164 is None and result.error is not None and reason in result.error
