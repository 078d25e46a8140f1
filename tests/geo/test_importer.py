"""`geo.import_polygons` and `geo.import_points`: other schemas in, a loadable file out."""

from __future__ import annotations

from typing import Any

import pytest

import geo


def collection(*features: Any) -> dict[str, Any]:
    """A FeatureCollection of the given features."""
    return {"type": "FeatureCollection", "features": list(features)}


def station(coordinates: Any, name: str = "Lingaraj") -> dict[str, Any]:
    """A feature with another schema's property names."""
    return {
        "type": "Feature",
        "properties": {"Name": name},
        "geometry": {"type": "Polygon", "coordinates": coordinates},
    }


SQUARE = [[[85.80, 20.20], [85.85, 20.20], [85.85, 20.25], [85.80, 20.25], [85.80, 20.20]]]


def test_import_writes_only_what_the_service_can_load() -> None:
    ok = geo.import_polygons(
        collection(station(SQUARE)),
        id_field=None,
        name_field="Name",
        district_field=None,
        district_default="Khordha",
    )
    assert geo.JurisdictionIndex.from_geojson(ok).resolve(20.22, 85.82).station is not None
    # Projected metres, and a ring that is not a list of positions: the file would be
    # written and only `check` or the service's start would refuse it.
    projected = [
        [[431000.0, 2236000.0], [436000.0, 2236000.0], [436000.0, 2241000.0], [431000.0, 2236000.0]]
    ]
    for coordinates, problem in (
        (projected, "not lon/lat"),
        ([[[85.8, 20.2], [85.9]]], "malformed"),
    ):
        with pytest.raises(geo.InvalidJurisdictions, match=problem) as caught:
            geo.import_polygons(
                collection(station(SQUARE, "Capital"), station(coordinates)),
                id_field=None,
                name_field="Name",
                district_field=None,
                district_default="Khordha",
            )
        assert "feature 1" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"type": "FeatureCollection", "features": "x"}, "features list"),
        (collection(1), "feature 0: not a GeoJSON Feature"),
    ],
)
def test_a_collection_that_is_not_one_is_refused_naming_the_problem(
    data: dict[str, Any], problem: str
) -> None:
    with pytest.raises(geo.InvalidJurisdictions, match=problem):
        geo.import_polygons(data, id_field=None, name_field="Name", district_field="district")
    districts = collection(station(SQUARE, "Khordha"))
    with pytest.raises(geo.InvalidJurisdictions, match=problem):
        geo.import_points(
            data,
            districts,
            name_field="Name",
            district_field="Name",
            points_district_field="district",
        )
    with pytest.raises(geo.InvalidJurisdictions, match=problem):
        geo.import_points(
            districts,
            data,
            name_field="Name",
            district_field="Name",
            points_district_field="district",
        )
