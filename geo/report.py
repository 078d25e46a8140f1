"""`dispatch jurisdictions check`: features, repairs, overlaps, gaps and area per station."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from geo.jurisdictions import (
    METRES_PER_DEGREE,
    GeoRepairWarning,
    InvalidJurisdictions,
    _load,
    parse_features,
)

NOISE_M2 = 1.0


def area_m2(geom: Any) -> float:
    """Approximate area in m2: degrees scaled by 111.32 km and cos(latitude of the centroid)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return float(geom.area * METRES_PER_DEGREE**2 * math.cos(math.radians(lat)))


@dataclass
class CheckReport:
    """What is in a jurisdictions file and what is wrong with it."""

    features: int = 0
    stations: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    overlaps: list[tuple[str, str, float]] = field(default_factory=list)
    gaps: list[tuple[float, float, float]] = field(default_factory=list)
    areas_km2: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file loads (repairs, overlaps and gaps are reported, not fatal)."""
        return not self.errors

    def to_text(self) -> str:
        """A readable report."""
        lines = [f"features: {self.features}", f"stations: {len(self.stations)}"]
        if self.errors:
            lines += ["ERRORS:"] + [f"  {e}" for e in self.errors]
        lines.append(f"repairs: {len(self.repairs)}")
        lines += [f"  {r}" for r in self.repairs]
        total = sum(a for _, _, a in self.overlaps)
        lines.append(
            f"overlaps: {len(self.overlaps)} ({total:.0f} m2 in all, "
            f"pieces under {NOISE_M2:g} m2 ignored)"
        )
        lines += [f"  {a} x {b}: {m2:.1f} m2" for a, b, m2 in self.overlaps[:50]]
        lines.append(f"gaps (holes inside the covered area): {len(self.gaps)}")
        lines += [f"  near {lon:.5f} E {lat:.5f} N: {m2:.1f} m2" for lon, lat, m2 in self.gaps[:50]]
        lines.append("area per station (km2, approximate):")
        lines += [f"  {sid}: {km2:.2f}" for sid, km2 in sorted(self.areas_km2.items())]
        return "\n".join(lines)


def check_report(source: str | Path | Mapping[str, Any]) -> CheckReport:
    """Validate a jurisdictions file and describe it; loading errors go in `errors`."""
    report = CheckReport()
    try:
        data = _load(source)
        report.features = len(data.get("features") or [])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GeoRepairWarning)
            stations, geoms, notes = parse_features(data)
    except InvalidJurisdictions as exc:
        report.errors.append(str(exc))
        return report
    report.repairs = notes
    report.stations = [s.id for s in stations]
    report.areas_km2 = {s.id: area_m2(g) / 1e6 for s, g in zip(stations, geoms, strict=True)}
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b:
            continue
        m2 = area_m2(shapely.intersection(geoms[a], geoms[b]))
        if m2 >= NOISE_M2:
            report.overlaps.append((stations[a].id, stations[b].id, m2))
    union = shapely.union_all(geoms)
    for poly in getattr(union, "geoms", [union]):
        for ring in getattr(poly, "interiors", []):
            hole = shapely.Polygon(ring)
            point = hole.representative_point()
            report.gaps.append((point.x, point.y, area_m2(hole)))
    return report
