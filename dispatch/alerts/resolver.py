"""Turns an alert's location (coordinates or address text) into a responsible station."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geo
from dispatch.auth.scope import station_tokens

log = logging.getLogger(__name__)


@dataclass
class Located:
    """The outcome of resolving one location."""

    station: geo.Station | None
    method: str
    candidates: list[dict[str, Any]]
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    source: str | None = None
    warnings: list[str] = field(default_factory=list)


class Resolver:
    """The loaded jurisdictions and the address geocoder, shared by every request."""

    def __init__(
        self,
        index: geo.JurisdictionIndex,
        geocode: Callable[[str], Any] | None = None,
        *,
        online: bool = False,
    ) -> None:
        self.index = index
        self._geocode = geocode
        # An online geocoder waits on the network: such a lookup must not run on the loop.
        self.online = online

    @classmethod
    def load(
        cls,
        jurisdictions: Path,
        *,
        gazetteer: Path | None,
        online_url: str | None,
        nearest_max_m: float,
    ) -> Resolver:
        """Load the jurisdictions file and set up the offline gazetteer."""
        index = geo.JurisdictionIndex.from_geojson(jurisdictions, nearest_max_m=nearest_max_m)
        geocode = None
        if gazetteer is not None and gazetteer.exists():
            geocode = geo.make_geocoder(online_url, gazetteer_path=gazetteer)
        elif online_url:
            geocode = geo.make_geocoder(online_url)
        return cls(index, geocode, online=bool(online_url))

    def may_block(self, *, lat: float | None, address: str | None) -> bool:
        """Whether resolving this location may wait on the network (an online geocoder)."""
        return self.online and lat is None and bool(address)

    def station(self, station_id: str) -> geo.Station:
        """The station with this id (KeyError if unknown)."""
        return self.index.station(station_id)

    def tokens(self, station: geo.Station) -> list[str]:
        """Scope tokens for a station and the units above it."""
        return station_tokens(station.id, station.circle, station.district, station.range)

    def resolve(
        self,
        *,
        lat: float | None,
        lon: float | None,
        accuracy_m: float | None,
        address: str | None,
        source: str | None,
    ) -> Located:
        """Resolve coordinates if given, else the address text through the gazetteer."""
        warnings: list[str] = []
        if lat is not None and lon is not None:
            result = self.index.resolve(lat, lon, accuracy_m or 0.0)
            return Located(
                station=result.station,
                method=result.method,
                candidates=[c.to_dict() for c in result.candidates],
                lat=lat,
                lon=lon,
                accuracy_m=accuracy_m,
                source=source,
            )
        if address and self._geocode is not None:
            try:
                place = self._geocode(address)
            except Exception as exc:  # an online geocoder may fail; intake must not
                log.warning("geocoder failed: %s", type(exc).__name__)
                warnings.append("address lookup failed; alert waits for manual routing")
                place = None
            if place is not None:
                result = self.index.resolve(place.latitude, place.longitude, 0.0)
                candidates = [c.to_dict() for c in result.candidates]
                method = "gazetteer" if result.station is not None else result.method
                return Located(
                    station=result.station,
                    method=method,
                    candidates=candidates,
                    lat=place.latitude,
                    lon=place.longitude,
                    accuracy_m=None,
                    source="address",
                    warnings=warnings,
                )
            warnings.append("address not found in the gazetteer")
        return Located(station=None, method="none", candidates=[], source=source, warnings=warnings)
