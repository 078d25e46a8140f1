"""Build a jurisdictions file from other schemas: station polygons, or points and districts."""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPoint, mapping, shape

from geo.jurisdictions import (
    GeoRepairWarning,
    InvalidJurisdictions,
    _load,
    parse_features,
    polygonal,
    repair,
)


def _features(data: Mapping[str, Any], source: object) -> list[Mapping[str, Any]]:
    """The features of a FeatureCollection; InvalidJurisdictions naming what is wrong."""
    features = data.get("features")
    if not isinstance(features, list):
        raise InvalidJurisdictions(
            f"{source}: not a GeoJSON FeatureCollection with a features list"
        )
    for index, feature in enumerate(features):
        if not isinstance(feature, Mapping):
            raise InvalidJurisdictions(f"feature {index}: not a GeoJSON Feature")
    return features


def slug(text: str) -> str:
    """An id-friendly form of a name: 'Lingaraj Police Station' -> 'LINGARAJ-POLICE-STATION'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").upper() or "STATION"


def _unique(base: str, used: set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate


def import_polygons(
    source: str | Path | Mapping[str, Any],
    *,
    id_field: str | None,
    name_field: str,
    district_field: str | None,
    circle_field: str | None = None,
    range_field: str | None = None,
    district_default: str | None = None,
) -> dict[str, Any]:
    """Map station polygons whose properties have other names into our schema."""
    data = _load(source)
    features_out: list[dict[str, Any]] = []
    used: set[str] = set()
    for index, feature in enumerate(_features(data, source)):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise InvalidJurisdictions(
                f"feature {index}: geometry {geometry.get('type')} is not a polygon"
            )
        name = str(props.get(name_field) or "").strip()
        if not name:
            raise InvalidJurisdictions(f"feature {index}: no value in name field '{name_field}'")
        district = str(props.get(district_field) or "").strip() if district_field else ""
        district = district or (district_default or "")
        if not district:
            raise InvalidJurisdictions(
                f"feature {index} ({name}): no district "
                f"(field '{district_field}'; or pass a default)"
            )
        raw_id = props.get(id_field) if id_field else None
        base = (
            slug(f"{district}-{raw_id}") if raw_id not in (None, "") else slug(f"{district}-{name}")
        )
        out_props: dict[str, Any] = {"id": _unique(base, used), "name": name, "district": district}
        if circle_field and props.get(circle_field):
            out_props["circle"] = str(props[circle_field])
        if range_field and props.get(range_field):
            out_props["range"] = str(props[range_field])
        features_out.append({"type": "Feature", "properties": out_props, "geometry": geometry})
    if not features_out:
        raise InvalidJurisdictions("no features to import")
    collection = {"type": "FeatureCollection", "features": features_out}
    # The geometries are copied as they came: refuse what the service could not load
    # (malformed or projected coordinates), rather than write a file `check` rejects.
    # Self-intersections are left to the loader, which repairs them and says so.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoRepairWarning)
        parse_features(collection)
    return collection


def import_points(
    points_source: str | Path | Mapping[str, Any],
    districts_source: str | Path | Mapping[str, Any],
    *,
    name_field: str,
    district_field: str,
    points_district_field: str,
    id_field: str | None = None,
    district_aliases: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Voronoi cells of station points clipped to their district polygon, marked approximate.

    Points whose district is not among the district polygons are skipped and listed in the
    result's top-level "skipped" member.
    """
    aliases = {k.strip().lower(): v for k, v in (district_aliases or {}).items()}
    districts: dict[str, tuple[str, Any]] = {}
    for feature in _features(_load(districts_source), districts_source):
        name = str((feature.get("properties") or {}).get(district_field) or "").strip()
        if name:
            geom = shape(feature["geometry"])
            if not geom.is_valid:
                geom = repair(geom)
            districts[name.lower()] = (name, geom)
    grouped: dict[str, list[tuple[str, Any, Any]]] = {}
    skipped: list[str] = []
    for index, feature in enumerate(_features(_load(points_source), points_source)):
        props = feature.get("properties") or {}
        name = str(props.get(name_field) or "").strip()
        raw_district = str(props.get(points_district_field) or "").strip()
        key = aliases.get(raw_district.lower(), raw_district).lower()
        geometry = feature.get("geometry") or {}
        if not name or geometry.get("type") != "Point" or key not in districts:
            skipped.append(f"feature {index} ({name or '?'}, district {raw_district or '?'})")
            continue
        grouped.setdefault(key, []).append(
            (name, props.get(id_field) if id_field else None, shape(geometry))
        )
    features_out: list[dict[str, Any]] = []
    used: set[str] = set()
    for key, stations in sorted(grouped.items()):
        district_name, outline = districts[key]
        points = [p for _, _, p in stations]
        if len(points) == 1:
            cells = [outline]
        else:
            diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=outline)
            cells = []
            for point in points:
                cell = next((c for c in diagram.geoms if c.covers(point)), None)
                cells.append(cell if cell is not None else point.buffer(0.01))
        for (name, raw_id, point), cell in zip(stations, cells, strict=True):
            clipped = polygonal(shapely.intersection(cell, outline))
            if clipped.is_empty:
                skipped.append(f"{name} ({district_name}): its cell lies outside the district")
                continue
            base = slug(f"{district_name}-{raw_id if raw_id not in (None, '') else name}")
            features_out.append(
                {
                    "type": "Feature",
                    "properties": {
                        "id": _unique(base, used),
                        "name": name,
                        "district": district_name,
                        "approximate": True,
                        "station_point": [round(point.x, 6), round(point.y, 6)],
                    },
                    "geometry": mapping(clipped),
                }
            )
    if not features_out:
        raise InvalidJurisdictions("no station point fell inside any district polygon")
    return {"type": "FeatureCollection", "features": features_out, "skipped": skipped}
