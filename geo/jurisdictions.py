"""Police-station areas and point-to-station resolution with a shapely 2 STRtree."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from geopy.distance import geodesic
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.ops import nearest_points

METRES_PER_DEGREE = 111_320.0
Method = Literal["contains", "nearest", "none"]
REQUIRED = ("id", "name", "district")
OPTIONAL = ("circle", "range", "zone", "name_hi")


class InvalidJurisdictions(ValueError):
    """A jurisdictions file that cannot be used; the message names the feature and problem."""


class GeoRepairWarning(UserWarning):
    """A station area was repaired while loading (e.g. a self-intersecting ring)."""


@dataclass(frozen=True)
class Station:
    """One police station and the units above it."""

    id: str
    name: str
    district: str
    circle: str | None = None
    range: str | None = None
    zone: str | None = None
    name_hi: str | None = None
    approximate: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "id": self.id,
            "name": self.name,
            "district": self.district,
            "circle": self.circle,
            "range": self.range,
            "zone": self.zone,
            "name_hi": self.name_hi,
            "approximate": self.approximate,
        }


@dataclass(frozen=True)
class Candidate:
    """A station that may be responsible, with how much of the uncertainty it covers."""

    station: Station
    share: float
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "station_id": self.station.id,
            "name": self.station.name,
            "district": self.station.district,
            "share": round(self.share, 4),
            "distance_m": round(self.distance_m, 1),
        }


@dataclass(frozen=True)
class Resolution:
    """The responsible station (or None), how it was found, and the candidates."""

    station: Station | None
    method: Method
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "station": self.station.to_dict() if self.station else None,
            "method": self.method,
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass(frozen=True)
class BulkResolution:
    """Vectorised results: station id (None where unresolved) and method per point."""

    station_ids: np.ndarray[Any, np.dtype[np.object_]]
    methods: np.ndarray[Any, np.dtype[np.str_]]


def _load(source: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidJurisdictions(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(data, Mapping):
        raise InvalidJurisdictions(f"{source}: not a GeoJSON FeatureCollection")
    return data


def _text(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def polygonal(geom: Any) -> Any:
    """Keep only the polygonal parts of a geometry (after make_valid)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    if not parts:
        return Polygon()
    return shapely.union_all(parts)


def repair(geom: Any) -> Any:
    """make_valid, keeping polygonal parts; GEOS refuses some inputs, then try harder."""
    try:
        return polygonal(shapely.make_valid(geom))
    except shapely.errors.GEOSException:
        try:
            return polygonal(shapely.make_valid(geom, method="structure"))
        except shapely.errors.GEOSException:
            return polygonal(geom.buffer(0))


def parse_features(
    data: Mapping[str, Any],
) -> tuple[list[Station], list[Any], list[str]]:
    """Validate a FeatureCollection into stations, geometries and repair notes."""
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise InvalidJurisdictions("not a GeoJSON FeatureCollection with a 'features' list")
    stations: list[Station] = []
    geoms: list[Any] = []
    notes: list[str] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(data["features"]):
        props = feature.get("properties") or {} if isinstance(feature, Mapping) else {}
        label = f"feature {index}" + (
            f" (id {props.get('id')})" if props.get("id") is not None else ""
        )
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise InvalidJurisdictions(f"{label}: not a GeoJSON Feature")
        for key in REQUIRED:
            if _text(props, key) is None:
                raise InvalidJurisdictions(f"{label}: missing property '{key}'")
        station_id = _text(props, "id") or ""
        if station_id in seen:
            raise InvalidJurisdictions(
                f"{label}: duplicate id '{station_id}' (first used by feature {seen[station_id]})"
            )
        seen[station_id] = index
        values = {key: _text(props, key) for key in (*REQUIRED, *OPTIONAL)}
        for key in ("id", "circle", "district", "range"):
            if values[key] and "|" in str(values[key]):
                raise InvalidJurisdictions(f"{label}: property '{key}' must not contain '|'")
        geometry = feature.get("geometry")
        if not isinstance(geometry, Mapping) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            kind = geometry.get("type") if isinstance(geometry, Mapping) else None
            raise InvalidJurisdictions(
                f"{label}: geometry must be Polygon or MultiPolygon, not {kind}"
            )
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise InvalidJurisdictions(f"{label}: malformed coordinates ({exc})") from exc
        coords = shapely.get_coordinates(geom)
        if coords.size == 0 or geom.is_empty:
            raise InvalidJurisdictions(f"{label}: empty geometry")
        if not np.isfinite(coords).all():
            raise InvalidJurisdictions(f"{label}: coordinates are not finite numbers")
        if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
            raise InvalidJurisdictions(
                f"{label}: coordinates are not lon/lat degrees (found {coords[0, 0]:.1f}, "
                f"{coords[0, 1]:.1f}: projected metres? reproject to WGS84)"
            )
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = repair(geom)
            if geom.is_empty:
                raise InvalidJurisdictions(
                    f"{label}: invalid geometry could not be repaired ({reason})"
                )
            note = f"{label}: {reason}; repaired with make_valid, polygonal parts kept"
            notes.append(note)
            warnings.warn(note, GeoRepairWarning, stacklevel=3)
        approximate = props.get("approximate") in (True, "true", "True", 1, "1")
        stations.append(
            Station(
                id=station_id,
                name=values["name"] or "",
                district=values["district"] or "",
                circle=values["circle"],
                range=values["range"],
                zone=values["zone"],
                name_hi=values["name_hi"],
                approximate=approximate,
            )
        )
        geoms.append(geom)
    if not stations:
        raise InvalidJurisdictions("the FeatureCollection has no features")
    return stations, geoms, notes


class JurisdictionIndex:
    """Station areas with a spatial index; resolves points to the responsible station."""

    def __init__(
        self,
        stations: list[Station],
        geometries: list[Any],
        *,
        nearest_max_m: float = 5000.0,
        repairs: list[str] | None = None,
    ) -> None:
        order = sorted(range(len(stations)), key=lambda i: stations[i].id)
        self._stations = [stations[i] for i in order]
        self._geoms = np.array([geometries[i] for i in order], dtype=object)
        shapely.prepare(self._geoms)
        self._boundaries = shapely.boundary(self._geoms)
        shapely.prepare(self._boundaries)
        self._overlaps: dict[int, bool] = {}
        self._tree = shapely.STRtree(self._geoms)
        self._ids = np.array([s.id for s in self._stations], dtype=object)
        self.stations: dict[str, Station] = {s.id: s for s in self._stations}
        self._position = {s.id: i for i, s in enumerate(self._stations)}
        self.nearest_max_m = nearest_max_m
        self.warnings: list[str] = list(repairs or [])
        angles = np.linspace(0, 2 * np.pi, 33)[:-1]
        self._unit_circle = np.column_stack([np.cos(angles), np.sin(angles)])
        self._build_grid()

    def _build_grid(self, max_cells: int = 2_000_000) -> None:
        """A uniform grid over the STRtree's answers, so a point needs no geometry object.

        Each cell keeps the stations whose areas touch it (asked of the STRtree once, at load
        time); a cell lying wholly inside a single station's interior answers without any
        point-in-polygon test. The single-point hot path then costs a few microseconds.
        """
        bounds = shapely.bounds(self._geoms)
        minx, miny = float(bounds[:, 0].min()), float(bounds[:, 1].min())
        maxx, maxy = float(bounds[:, 2].max()), float(bounds[:, 3].max())
        extent = np.minimum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        size = max(float(np.median(extent)) / 3.0, 1e-4)
        while math.ceil((maxx - minx) / size + 1) * math.ceil((maxy - miny) / size + 1) > max_cells:
            size *= 1.5
        nx = math.ceil((maxx - minx) / size) + 1
        ny = math.ceil((maxy - miny) / size) + 1
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
        x0 = minx + ix.ravel() * size
        y0 = miny + iy.ravel() * size
        boxes = shapely.box(x0, y0, x0 + size, y0 + size)
        cell_idx, geom_idx = self._tree.query(boxes, predicate="intersects")
        order = np.lexsort((geom_idx, cell_idx))
        cell_idx, geom_idx = cell_idx[order], geom_idx[order]
        counts = np.bincount(cell_idx, minlength=nx * ny)
        owner = np.full(nx * ny, -1, dtype=np.int64)  # -1: no station touches the cell
        owner[counts > 0] = -2  # -2: test the candidates
        single = np.flatnonzero(counts == 1)
        if len(single):
            starts = np.searchsorted(cell_idx, single)
            inside = shapely.contains_properly(self._geoms[geom_idx[starts]], boxes[single])
            owner[single[inside]] = geom_idx[starts][inside]
        offsets = np.concatenate([[0], np.cumsum(counts)])
        self._grid = (minx, miny, size, nx, ny)
        self._owner = owner
        self._owner_list: list[int] = owner.tolist()
        self._cell_offsets = offsets
        self._cell_geoms = geom_idx
        self._cell_lists: dict[int, tuple[int, ...]] = {}
        mixed = np.flatnonzero(owner == -2)
        geoms_list = geom_idx.tolist()
        offsets_list = offsets.tolist()
        for cell in mixed.tolist():
            self._cell_lists[cell] = tuple(geoms_list[offsets_list[cell] : offsets_list[cell + 1]])

    def _containing(self, lat: float, lon: float) -> int:
        """Index of the lowest-id station whose area covers the point, or -1."""
        minx, miny, size, nx, ny = self._grid
        ix = int((lon - minx) // size)
        iy = int((lat - miny) // size)
        if not (0 <= ix < nx and 0 <= iy < ny):
            return -1
        cell = iy * nx + ix
        owner = self._owner_list[cell]
        if owner != -2:
            return owner
        for index in self._cell_lists[cell]:  # ascending index = ascending station id
            if shapely.intersects_xy(self._geoms[index], lon, lat):
                return index
        return -1

    @classmethod
    def from_geojson(
        cls, source: str | Path | Mapping[str, Any], *, nearest_max_m: float = 5000.0
    ) -> JurisdictionIndex:
        """Load and validate a FeatureCollection of station areas."""
        stations, geoms, notes = parse_features(_load(source))
        return cls(stations, geoms, nearest_max_m=nearest_max_m, repairs=notes)

    def station(self, station_id: str) -> Station:
        """The station with this id (KeyError if unknown)."""
        return self.stations[station_id]

    def geometry(self, station_id: str) -> Any:
        """The area of a station."""
        return self._geoms[self._position[station_id]]

    # ---------- single points ----------

    def resolve(self, lat: float, lon: float, accuracy_m: float = 0.0) -> Resolution:
        """The station responsible for a point, with candidates if the fix is uncertain."""
        _check_point(lat, lon)
        if not math.isfinite(accuracy_m) or accuracy_m < 0:
            raise ValueError(f"accuracy_m must be a finite number >= 0, not {accuracy_m}")
        # Stations are sorted by id, so a point on a shared boundary goes to the lowest id.
        inside = self._containing(lat, lon)
        if accuracy_m > 0:
            candidates = self._circle_candidates(lat, lon, accuracy_m, inside)
        elif inside >= 0:
            candidates = [Candidate(self._stations[inside], 1.0, 0.0)]
        else:
            candidates = []
        if inside >= 0:
            return Resolution(self._stations[inside], "contains", candidates)
        near = self._nearest(lat, lon, shapely.Point(lon, lat))
        if near is not None:
            index, distance = near
            if not candidates:
                candidates = [Candidate(self._stations[index], 0.0, distance)]
            if distance <= self.nearest_max_m:
                return Resolution(self._stations[index], "nearest", candidates)
        return Resolution(None, "none", candidates)

    def _circle_candidates(
        self, lat: float, lon: float, accuracy_m: float, inside: int
    ) -> list[Candidate]:
        rx = accuracy_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 1e-6))
        ry = accuracy_m / METRES_PER_DEGREE
        if self._wholly_inside(inside, lat, lon, rx, ry):
            # The usual GPS fix: the circle is all the containing station's (no intersection
            # of a circle polygon with every nearby area needed).
            return [Candidate(self._stations[inside], 1.0, 0.0)]
        ring = self._unit_circle * np.array([rx, ry]) + np.array([lon, lat])
        circle = shapely.polygons(ring)
        area = circle.area
        hits = self._tree.query(circle, predicate="intersects")
        if not len(hits):
            return []
        shares = shapely.area(shapely.intersection(self._geoms[hits], circle)) / area
        ranked = sorted(
            zip(hits.tolist(), shares.tolist(), strict=True), key=lambda h: (-h[1], h[0])
        )
        out = [
            Candidate(self._stations[i], min(share, 1.0), 0.0) for i, share in ranked if share > 0
        ]
        if inside >= 0 and all(c.station.id != self._stations[inside].id for c in out):
            out.insert(0, Candidate(self._stations[inside], 0.0, 0.0))
        return out

    def _wholly_inside(self, inside: int, lat: float, lon: float, rx: float, ry: float) -> bool:
        """Whether the uncertainty ellipse (half-axes rx, ry degrees) around the point lies in
        the interior of station `inside` with no other station's area reaching it: then the
        station has all of it, and no circle polygon need be intersected with any area.

        First the grid (cells owned by one station's interior, no geometry at all), then the
        distance from the point to the station's boundary, for a station whose interior no
        other area overlaps (computed once per station).
        """
        if inside < 0:
            return False
        gx, gy, size, nx, ny = self._grid
        x0, x1 = int((lon - rx - gx) // size), int((lon + rx - gx) // size)
        y0, y1 = int((lat - ry - gy) // size), int((lat + ry - gy) // size)
        cells = (x1 - x0 + 1) * (y1 - y0 + 1)
        if min(x0, y0) >= 0 and x1 < nx and y1 < ny and cells <= 4:
            owners = self._owner_list
            if all(
                owners[iy * nx + ix] == inside
                for iy in range(y0, y1 + 1)
                for ix in range(x0, x1 + 1)
            ):
                return True
        if self._overlapped(inside):
            return False
        distance = shapely.distance(self._boundaries[inside], shapely.Point(lon, lat))
        return float(distance) > max(rx, ry)

    def _overlapped(self, index: int) -> bool:
        """Whether another station's area shares interior with this one (data errors that
        `check` reports as overlaps); cached per station."""
        known = self._overlaps.get(index)
        if known is None:
            geom = self._geoms[index]
            others = [i for i in self._tree.query(geom).tolist() if i != index]
            known = bool(
                others and shapely.relate_pattern(self._geoms[others], geom, "T********").any()
            )
            self._overlaps[index] = known
        return known

    def _nearest(self, lat: float, lon: float, point: Any) -> tuple[int, float] | None:
        if self.nearest_max_m <= 0:
            return None
        radius = self.nearest_max_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 1e-6))
        hits = self._tree.query(point, predicate="dwithin", distance=radius * 1.5)
        if not len(hits):
            hits = np.atleast_1d(self._tree.query_nearest(point, all_matches=False))
        best: tuple[int, float] | None = None
        for index in hits.tolist():
            edge = nearest_points(self._geoms[index], point)[0]
            metres = float(geodesic((lat, lon), (edge.y, edge.x)).meters)
            if best is None or metres < best[1] or (metres == best[1] and index < best[0]):
                best = (int(index), metres)
        return best

    # ---------- many points ----------

    def resolve_many(self, lats: Iterable[float], lons: Iterable[float]) -> BulkResolution:
        """Resolve many points at once (bulk jobs). Nearest uses a haversine distance."""
        lat_arr = np.asarray(list(lats) if not isinstance(lats, np.ndarray) else lats, dtype=float)
        lon_arr = np.asarray(list(lons) if not isinstance(lons, np.ndarray) else lons, dtype=float)
        if lat_arr.shape != lon_arr.shape:
            raise ValueError("lats and lons must have the same length")
        valid = (
            np.isfinite(lat_arr)
            & np.isfinite(lon_arr)
            & (np.abs(lat_arr) <= 90)
            & (np.abs(lon_arr) <= 180)
        )
        n = len(lat_arr)
        result = np.full(n, -1, dtype=np.int64)
        minx, miny, size, nx, ny = self._grid
        ix = np.floor((lon_arr - minx) / size)
        iy = np.floor((lat_arr - miny) / size)
        in_grid = valid & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        cells = np.where(in_grid, iy * nx + ix, 0).astype(np.int64)
        owner = np.where(in_grid, self._owner[cells], -1)
        direct = owner >= 0
        result[direct] = owner[direct]
        idx = np.flatnonzero(owner == -2)
        if len(idx):
            pairs = self._tree.query(
                shapely.points(lon_arr[idx], lat_arr[idx]), predicate="intersects"
            )
            if pairs.shape[1]:
                source, target = idx[pairs[0]], pairs[1]
                order = np.lexsort((target, source))
                source, target = source[order], target[order]
                first = np.unique(source, return_index=True)[1]
                result[source[first]] = target[first]
        methods = np.where(result >= 0, "contains", "none").astype("<U8")
        missing = np.flatnonzero((result < 0) & valid)
        if len(missing) and self.nearest_max_m > 0:
            radius = self.nearest_max_m / (METRES_PER_DEGREE * 0.5)
            missing_points = shapely.points(lon_arr[missing], lat_arr[missing])
            near_pairs, _ = self._tree.query_nearest(
                missing_points, max_distance=radius, return_distance=True, all_matches=False
            )
            if near_pairs.shape[1]:
                src = missing[near_pairs[0]]
                tgt = near_pairs[1]
                edges = shapely.shortest_line(self._geoms[tgt], missing_points[near_pairs[0]])
                start = shapely.get_coordinates(shapely.get_point(edges, 0))
                metres = _haversine(lat_arr[src], lon_arr[src], start[:, 1], start[:, 0])
                ok = metres <= self.nearest_max_m
                result[src[ok]] = tgt[ok]
                methods[src[ok]] = "nearest"
        station_ids = np.empty(n, dtype=object)
        found = result >= 0
        station_ids[found] = self._ids[result[found]]
        return BulkResolution(station_ids=station_ids, methods=methods)

    # ---------- maps and hierarchy ----------

    def feature_collection(
        self, station_ids: Iterable[str] | None = None, simplify_m: float = 0
    ) -> dict[str, Any]:
        """GeoJSON of station areas (for drawing maps offline)."""
        wanted = list(station_ids) if station_ids is not None else [s.id for s in self._stations]
        features = []
        for station_id in wanted:
            geom = self.geometry(station_id)
            if simplify_m > 0:
                geom = shapely.simplify(
                    geom, simplify_m / METRES_PER_DEGREE, preserve_topology=True
                )
            features.append(
                {
                    "type": "Feature",
                    "properties": self.stations[station_id].to_dict(),
                    "geometry": mapping(geom),
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def unit_names(self, level: str) -> set[str]:
        """The units of one level of the hierarchy: the station ids ('station'), or the
        names of the circles, districts or ranges ('circle', 'district', 'range')."""
        if level == "station":
            return set(self.stations)
        if level not in ("circle", "district", "range"):
            raise ValueError(f"no unit level {level!r}")
        return {name for s in self.stations.values() if (name := getattr(s, level))}

    def units(self) -> dict[str, Any]:
        """The hierarchy range > district > circle > stations."""
        ranges: dict[str, Any] = {}
        for s in self._stations:
            districts = ranges.setdefault(s.range or "", {"districts": {}})["districts"]
            circles = districts.setdefault(s.district, {"circles": {}})["circles"]
            circles.setdefault(s.circle or "", []).append(s.id)
        return {"ranges": ranges}


def _check_point(lat: float, lon: float) -> None:
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        raise ValueError("lat and lon must be numbers")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("lat and lon must be finite numbers")
    if abs(lat) > 90 or abs(lon) > 180:
        raise ValueError(f"({lat}, {lon}) is not a lat/lon position")


def _haversine(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    lat1, lon1, lat2, lon2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))
