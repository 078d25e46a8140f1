"""Resolution speed on 17,000 generated station polygons: single calls and bulk.

Usage: .venv/bin/python scripts/bench_resolve.py [--stations N] [--points N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, box, mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import geo
from scripts.benchutil import markdown_table

UP_BOX = (77.0, 23.8, 84.6, 30.4)  # Uttar Pradesh's bounding box, lon/lat


def generate(stations: int, seed: int = 7) -> dict[str, object]:
    """Voronoi cells of a jittered grid over UP: station-like polygons of ~10-20 vertices."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = UP_BOX
    side = int(np.ceil(np.sqrt(stations * (x1 - x0) / (y1 - y0))))
    rows = int(np.ceil(stations / side))
    xs = np.linspace(x0, x1, side)
    ys = np.linspace(y0, y1, rows)
    gx, gy = np.meshgrid(xs, ys)
    step = (x1 - x0) / side
    pts = np.column_stack([gx.ravel(), gy.ravel()])[:stations]
    pts += rng.uniform(-0.35 * step, 0.35 * step, pts.shape)
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=box(*UP_BOX))
    frame = box(*UP_BOX)
    features = []
    for i, cell in enumerate(cells.geoms):
        clipped = cell.intersection(frame)
        if clipped.is_empty or clipped.geom_type != "Polygon":
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "id": f"S{i:05d}",
                    "name": f"Station {i}",
                    "district": f"D{i // 20}",
                },
                "geometry": mapping(clipped),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    """Time single and bulk resolution; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=17_000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    data = generate(args.stations)
    started = time.perf_counter()
    index = geo.JurisdictionIndex.from_geojson(data)
    load_s = time.perf_counter() - started

    rng = np.random.default_rng(1)
    x0, y0, x1, y1 = UP_BOX
    lats = rng.uniform(y0, y1, args.points)
    lons = rng.uniform(x0, x1, args.points)

    single_n = min(args.points, 50_000)
    for i in range(2000):  # warm-up
        index.resolve(lats[i], lons[i])
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(single_n):
            index.resolve(float(lats[i]), float(lons[i]))
        rounds.append((time.perf_counter() - t0) / single_n * 1e6)
    accuracy: dict[float, list[float]] = {50.0: [], 500.0: []}
    for i in range(5000):
        # A station's first circle asks whether other areas overlap it (once per station).
        index.resolve(float(lats[i]), float(lons[i]), 50.0)
    for metres, times in accuracy.items():
        for i in range(5000):
            t0 = time.perf_counter()
            index.resolve(float(lats[i]), float(lons[i]), metres)
            times.append((time.perf_counter() - t0) * 1e6)

    bulk_rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        result = index.resolve_many(lats, lons)
        bulk_rounds.append((time.perf_counter() - t0) / args.points * 1e6)
    resolved = int(np.count_nonzero(result.methods != "none"))

    figures = {
        "stations": len(index.stations),
        "load_s": round(load_s, 2),
        "single_us": round(statistics.median(rounds), 2),
        "single_accuracy_50m_us": round(statistics.median(accuracy[50.0]), 2),
        "single_accuracy_500m_us": round(statistics.median(accuracy[500.0]), 2),
        "bulk_us_per_point": round(statistics.median(bulk_rounds), 3),
        "bulk_resolved_share": round(resolved / args.points, 4),
    }
    print(
        markdown_table(
            ["resolve on generated polygons", "figure", "target"],
            [
                ["stations", figures["stations"], "17,000"],
                ["single resolve (accuracy 0), us/call", figures["single_us"], "<= 30"],
                [
                    "single resolve, 50 m accuracy (a GPS fix; stations seen before), us/call",
                    figures["single_accuracy_50m_us"],
                    "-",
                ],
                [
                    "single resolve, 500 m accuracy, us/call",
                    figures["single_accuracy_500m_us"],
                    "-",
                ],
                ["bulk resolve_many, us/point", figures["bulk_us_per_point"], "<= 3"],
                ["index load, s", figures["load_s"], "-"],
            ],
        )
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
