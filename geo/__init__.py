"""Jurisdiction resolution for crisis-dispatch: a plain library, usable without FastAPI."""

from geo.gazetteer import OfflineGazetteer, make_geocoder
from geo.importer import import_points, import_polygons
from geo.jurisdictions import (
    BulkResolution,
    Candidate,
    GeoRepairWarning,
    InvalidJurisdictions,
    JurisdictionIndex,
    Resolution,
    Station,
)
from geo.phones import PhoneResult, normalize_phone
from geo.report import CheckReport, check_report

__all__ = [
    "BulkResolution",
    "Candidate",
    "CheckReport",
    "GeoRepairWarning",
    "InvalidJurisdictions",
    "JurisdictionIndex",
    "OfflineGazetteer",
    "PhoneResult",
    "Resolution",
    "Station",
    "check_report",
    "import_points",
    "import_polygons",
    "make_geocoder",
    "normalize_phone",
]
