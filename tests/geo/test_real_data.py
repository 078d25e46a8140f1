"""The real public boundary data in ../shared/data/geo (by path, never copied)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import geo

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "geo"
pytestmark = pytest.mark.skipif(
    not SHARED.exists(), reason=f"real boundary data not found at {SHARED}"
)

# The HQ files use 2011 names for six districts (see SOURCES.md there).
ALIASES = {
    "Faizabad": "Ayodhya",
    "Kheri": "Lakhimpur Kheri",
    "Kanshiram Nagar": "Kasganj",
    "Jyotiba Phule Nagar": "Amroha",
    "Sant Ravidas Nagar (Bhadohi)": "Bhadohi",
    "Sant Ravidas Nagar(Bhadohi)": "Bhadohi",
    "Mahrajganj": "Maharajganj",
}


def test_up_districts_load_with_repairs_of_varanasi_and_mirzapur() -> None:
    collection = geo.import_polygons(
        SHARED / "up_districts.geojson",
        id_field="dt_code",
        name_field="district",
        district_field="district",
    )
    with pytest.warns(geo.GeoRepairWarning) as record:
        index = geo.JurisdictionIndex.from_geojson(collection)
    repaired = " ".join(str(w.message) for w in record)
    assert "VARANASI" in repaired and "MIRZAPUR" in repaired
    assert len(index.stations) == 75
    # Etawah district contains the seed point; Varanasi city is in Varanasi.
    assert index.resolve(26.8860, 78.9128).station.name == "Etawah"  # type: ignore[union-attr]
    assert index.resolve(25.3176, 82.9739).station.name == "Varanasi"  # type: ignore[union-attr]


def test_bhubaneswar_police_stations_import_check_and_resolve() -> None:
    collection = geo.import_polygons(
        SHARED / "bhubaneswar_police_jurisdictions.geojson",
        id_field="OBJECTID",
        name_field="Name",
        district_field=None,
        district_default="Khordha",
    )
    index = geo.JurisdictionIndex.from_geojson(collection)
    assert len(index.stations) == 17
    # A point inside a known station's area resolves to it.
    station = index.stations[next(iter(index.stations))]
    inner = index.geometry(station.id).representative_point()
    assert index.resolve(inner.y, inner.x).station == station
    report = geo.check_report(collection)
    assert report.ok and report.features == 17
    assert len(report.overlaps) >= 1  # the dirty sliver edges of real data
    assert report.gaps  # and its tiny holes
    assert all(km2 > 0 for km2 in report.areas_km2.values())
    assert "overlaps:" in report.to_text()


def test_stations_from_tehsil_points_clipped_to_districts() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", geo.GeoRepairWarning)
        collection = geo.import_points(
            SHARED / "up_subdistrict_hq.geojson",
            SHARED / "up_districts.geojson",
            name_field="NAME11",
            district_field="district",
            points_district_field="dtname",
            district_aliases=ALIASES,
        )
        index = geo.JurisdictionIndex.from_geojson(collection)
    assert len(index.stations) > 250
    assert all(s.approximate for s in index.stations.values())
    result = index.resolve(26.8860, 78.9128)
    assert result.station is not None
    assert (
        result.station.name.lower().startswith("jaswant")
        and result.station.district.lower() == "etawah"
    )


def test_dirty_constituencies_are_reported_not_crashed() -> None:
    collection = geo.import_polygons(
        SHARED / "india_parliamentary_constituencies_2019.geojson",
        id_field="pc_id",
        name_field="pc_name",
        district_field="st_name",
    )
    report = geo.check_report(collection)
    assert report.ok
    assert len(report.repairs) >= 10
    assert len(report.overlaps) > 0
