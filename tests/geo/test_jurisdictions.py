"""Loading, validating and resolving station areas."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geo

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "jurisdictions.geojson"


def square(x0: float, y0: float, size: float = 0.1) -> list[list[list[float]]]:
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def feature(sid: Any, coords: Any, **props: Any) -> dict[str, Any]:
    base = {"id": sid, "name": f"Station {sid}", "district": "D", "circle": "C", "range": "R"}
    base.update(props)
    return {
        "type": "Feature",
        "properties": base,
        "geometry": {"type": "Polygon", "coordinates": coords},
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


TWO = collection(feature("A", square(80.0, 26.0)), feature("B", square(80.1, 26.0)))


def test_demo_seed_point_resolves_to_jaswantnagar() -> None:
    index = geo.JurisdictionIndex.from_geojson(DEMO)
    result = index.resolve(26.8860, 78.9128)
    assert result.method == "contains"
    assert result.station is not None and result.station.name == "Jaswantnagar"
    assert result.station.district == "Etawah" and result.station.range == "Kanpur"


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([feature("A", square(80, 26)), feature("A", square(81, 26))], "duplicate id 'A'"),
        ([feature("A", square(80, 26), district="")], "missing property 'district'"),
        ([feature("A", square(80, 26), name=None)], "missing property 'name'"),
        ([feature("A", square(500000, 2900000))], "not lon/lat"),
        ([feature("A|B", square(80, 26))], "must not contain '|'"),
        (
            [
                {
                    "type": "Feature",
                    "properties": {"id": "P", "name": "P", "district": "D"},
                    "geometry": {"type": "Point", "coordinates": [80, 26]},
                }
            ],
            "Polygon or MultiPolygon",
        ),
    ],
)
def test_validation_names_the_feature_and_problem(
    features: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(geo.InvalidJurisdictions) as err:
        geo.JurisdictionIndex.from_geojson(collection(*features))
    assert message in str(err.value)
    assert "feature " in str(err.value)


def test_not_a_feature_collection() -> None:
    with pytest.raises(geo.InvalidJurisdictions, match="FeatureCollection"):
        geo.JurisdictionIndex.from_geojson({"type": "Feature"})


def test_self_intersecting_ring_is_repaired_with_a_warning() -> None:
    bowtie = [[[80, 26], [80.1, 26.1], [80.1, 26], [80, 26.1], [80, 26]]]
    with pytest.warns(geo.GeoRepairWarning, match="feature 0"):
        index = geo.JurisdictionIndex.from_geojson(collection(feature("X", bowtie)))
    assert index.warnings and "make_valid" in index.warnings[0]
    assert index.resolve(26.02, 80.05).station is not None


def test_shared_boundary_resolves_deterministically() -> None:
    index = geo.JurisdictionIndex.from_geojson(TWO)
    results = {index.resolve(26.05, 80.1).station.id for _ in range(5)}  # type: ignore[union-attr]
    assert results == {"A"}


def test_accuracy_circle_ranks_candidates_and_keeps_containing_station_primary() -> None:
    index = geo.JurisdictionIndex.from_geojson(TWO)
    # 1 km west of the A/B boundary, with 5 km uncertainty: B covers more of the circle? No:
    # the point is in A, A is primary whatever the shares; both are candidates.
    result = index.resolve(26.05, 80.09, accuracy_m=5000)
    assert result.station is not None and result.station.id == "A"
    ids = [c.station.id for c in result.candidates]
    assert set(ids) == {"A", "B"}
    shares = [c.share for c in result.candidates]
    assert shares == sorted(shares, reverse=True)
    assert 0.99 < sum(shares) <= 1.0001


def test_point_inside_b_with_larger_share_of_a() -> None:
    # B is a small area beside a large A: a wide uncertainty circle is mostly over A,
    # but the station whose area holds the fix stays primary.
    index = geo.JurisdictionIndex.from_geojson(
        collection(feature("A", square(80.0, 26.0)), feature("B", square(80.1, 26.0, 0.02)))
    )
    result = index.resolve(26.01, 80.105, accuracy_m=5000)
    assert result.station is not None and result.station.id == "B"
    assert result.candidates[0].station.id == "A"  # ranked by share
    assert result.candidates[0].share > result.candidates[1].share


def test_nearest_within_limit_and_none_beyond() -> None:
    index = geo.JurisdictionIndex.from_geojson(TWO, nearest_max_m=5000)
    near = index.resolve(26.05, 80.23)  # ~3 km east of B
    assert near.method == "nearest" and near.station is not None and near.station.id == "B"
    assert 2500 < near.candidates[0].distance_m < 3500
    far = index.resolve(26.05, 80.35)  # ~15 km east
    assert far.method == "none" and far.station is None


@pytest.mark.parametrize(("lat", "lon"), [(91, 80), (26, 181), (math.nan, 80), (26, math.inf)])
def test_invalid_coordinates_are_refused(lat: float, lon: float) -> None:
    index = geo.JurisdictionIndex.from_geojson(TWO)
    with pytest.raises(ValueError):
        index.resolve(lat, lon)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(26.0, 27.3), st.floats(78.5, 79.6)),
        min_size=1,
        max_size=40,
    )
)
def test_resolve_many_agrees_with_resolve(points: list[tuple[float, float]]) -> None:
    index = _demo()
    lats = np.array([p[0] for p in points])
    lons = np.array([p[1] for p in points])
    bulk = index.resolve_many(lats, lons)
    for i, (lat, lon) in enumerate(points):
        single = index.resolve(lat, lon)
        if single.method == "contains":
            assert bulk.methods[i] == "contains"
            assert bulk.station_ids[i] == single.station.id  # type: ignore[union-attr]
        elif single.method == "none":
            assert bulk.station_ids[i] is None or bulk.methods[i] == "nearest"


_DEMO_INDEX: list[geo.JurisdictionIndex] = []


def _demo() -> geo.JurisdictionIndex:
    if not _DEMO_INDEX:
        _DEMO_INDEX.append(geo.JurisdictionIndex.from_geojson(DEMO))
    return _DEMO_INDEX[0]


def test_feature_collection_and_units() -> None:
    index = _demo()
    fc = index.feature_collection(["ETW-JASWANTNAGAR"])
    assert fc["features"][0]["properties"]["name"] == "Jaswantnagar"
    json.dumps(fc)
    units = index.units()
    assert (
        "ETW-JASWANTNAGAR"
        in units["ranges"]["Kanpur"]["districts"]["Etawah"]["circles"]["Jaswantnagar"]
    )


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(25.0, 27.3), st.floats(78.5, 84.0), st.floats(1.0, 3000.0)),
        min_size=1,
        max_size=30,
    )
)
def test_accuracy_circle_inside_one_station_ranks_as_the_geometry_does(
    points: list[tuple[float, float, float]],
) -> None:
    """The shortcut for a circle wholly inside one station (grid cells it owns, or the
    distance to its boundary) gives the candidates that intersecting the circle with every
    station's area gives."""
    index = _demo()
    general = geo.JurisdictionIndex.__new__(geo.JurisdictionIndex)
    general.__dict__.update(index.__dict__)
    general._wholly_inside = lambda *args: False  # type: ignore[method-assign]
    for lat, lon, accuracy in points:
        fast = index.resolve(lat, lon, accuracy_m=accuracy)
        slow = general.resolve(lat, lon, accuracy_m=accuracy)
        assert fast.method == slow.method
        assert [c.station.id for c in fast.candidates] == [c.station.id for c in slow.candidates]
        assert [c.share for c in fast.candidates] == pytest.approx(
            [c.share for c in slow.candidates], abs=1e-9
        )


def test_gps_fix_deep_inside_a_station_is_wholly_its_own() -> None:
    index = _demo()
    result = index.resolve(26.8860, 78.9128, accuracy_m=50)
    assert result.station is not None and result.station.id == "ETW-JASWANTNAGAR"
    assert [(c.station.id, c.share) for c in result.candidates] == [("ETW-JASWANTNAGAR", 1.0)]


def test_overlapping_areas_share_a_circle_deep_inside_one_of_them() -> None:
    # B overlaps A's middle (bad data, which `check` reports): a fix there is in both.
    index = geo.JurisdictionIndex.from_geojson(
        collection(feature("A", square(80.0, 26.0, 1.0)), feature("B", square(80.4, 26.4, 0.2)))
    )
    result = index.resolve(26.5, 80.5, accuracy_m=500)
    assert result.station is not None and result.station.id == "A"
    assert sorted(c.station.id for c in result.candidates) == ["A", "B"]
    alone = index.resolve(26.1, 80.1, accuracy_m=500)
    assert [(c.station.id, c.share) for c in alone.candidates] == [("A", 1.0)]
