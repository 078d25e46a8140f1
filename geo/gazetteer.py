"""An offline gazetteer of station towns, villages and landmarks (a geopy Geocoder)."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geopy.geocoders.base import Geocoder
from geopy.location import Location

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "gazetteer.csv"
KINDS = ("landmark", "village", "station_town", "district_hq")


def normalise(text: str) -> str:
    """Lower-case, punctuation to spaces, Devanagari kept (letters, marks and digits)."""
    text = unicodedata.normalize("NFC", text).lower()
    kept = [c if unicodedata.category(c)[0] in "LMN" else " " for c in text]
    return re.sub(r"\s+", " ", "".join(kept)).strip()


@dataclass(frozen=True)
class Place:
    """One gazetteer entry."""

    name: str
    name_hi: str | None
    aliases: tuple[str, ...]
    lat: float
    lon: float
    kind: str
    district: str
    station_id: str | None

    def raw(self) -> dict[str, Any]:
        """The entry as geopy's Location.raw."""
        return {
            "name": self.name,
            "name_hi": self.name_hi,
            "district": self.district,
            "kind": self.kind,
            "station_id": self.station_id,
        }


class OfflineGazetteer(Geocoder):  # type: ignore[misc]
    """Finds the most specific known place named in free-text address; no network."""

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__()
        self.path = Path(path) if path is not None else DEFAULT_PATH
        self.places: list[Place] = []
        self._names: list[tuple[str, Place]] = []
        self._districts: set[str] = set()
        with self.path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    place = Place(
                        name=row["name"].strip(),
                        name_hi=(row.get("name_hi") or "").strip() or None,
                        aliases=tuple(
                            a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()
                        ),
                        lat=float(row["lat"]),
                        lon=float(row["lon"]),
                        kind=(row.get("kind") or "village").strip(),
                        district=(row.get("district") or "").strip(),
                        station_id=(row.get("station_id") or "").strip() or None,
                    )
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"{self.path}:{line}: bad gazetteer row ({exc})") from exc
                self.places.append(place)
                for name in (place.name, place.name_hi, *place.aliases):
                    if name and normalise(name):
                        self._names.append((normalise(name), place))
                if place.district:
                    self._districts.add(normalise(place.district))

    def geocode(self, query: str, *, exactly_one: bool = True, timeout: Any = None) -> Any:
        """The best place named in the query (or all matches, best first), or None."""
        text = f" {normalise(query or '')} "
        if not text.strip():
            return None
        mentioned = {d for d in self._districts if f" {d} " in text}
        scored: list[tuple[tuple[int, int, int], Place]] = []
        for name, place in self._names:
            if f" {name} " in text:
                specificity = KINDS.index(place.kind) if place.kind in KINDS else len(KINDS)
                in_district = int(normalise(place.district) in mentioned)
                scored.append(((in_district, len(name), -specificity), place))
        if not scored:
            return None
        scored.sort(key=lambda item: item[0], reverse=True)
        seen: set[int] = set()
        locations = []
        for _, place in scored:
            if id(place) in seen:
                continue
            seen.add(id(place))
            address = f"{place.name}, {place.district}" if place.district else place.name
            locations.append(Location(address, (place.lat, place.lon), place.raw()))
        return locations[0] if exactly_one else locations


def make_geocoder(
    online_url: str | None, gazetteer_path: str | Path | None = None
) -> Callable[[str], Location | None]:
    """Gazetteer first; a self-hosted Nominatim only when online_url is configured."""
    gazetteer = (
        OfflineGazetteer(gazetteer_path)
        if gazetteer_path is not None or DEFAULT_PATH.exists()
        else None
    )
    online = None
    if online_url:
        from geopy.geocoders import Nominatim

        parts = urlsplit(online_url)
        online = Nominatim(
            domain=parts.netloc + parts.path.rstrip("/"),
            scheme=parts.scheme or "https",
            user_agent="crisis-dispatch",
            timeout=3,
        )

    def geocode(address: str) -> Location | None:
        place = gazetteer.geocode(address) if gazetteer is not None else None
        if place is None and online is not None:
            place = online.geocode(address, exactly_one=True)
        return place

    return geocode
