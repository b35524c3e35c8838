"""US ZIP code centroids and great-circle distance, offline.

Data comes from the `zipcodes` package (42k US ZIPs with latitude, longitude and
IANA time zone, shipped inside the wheel: no network). Its own lookups scan a list,
so we build a dict once per process for the hot paths (ingest, matching).
"""

import math
import re
from dataclasses import dataclass
from functools import cache

import zipcodes

EARTH_RADIUS_MI = 3958.7613
ZIP_RE = re.compile(r"^\d{5}$")


@dataclass(frozen=True, slots=True)
class ZipPlace:
    zip_code: str
    latitude: float
    longitude: float
    city: str
    state: str
    time_zone: str


@cache
def _zip_table() -> dict[str, ZipPlace]:
    table = {}
    for row in zipcodes.list_all():
        if not row.get("lat") or not row.get("long"):
            continue
        table[row["zip_code"]] = ZipPlace(
            zip_code=row["zip_code"],
            latitude=float(row["lat"]),
            longitude=float(row["long"]),
            city=row.get("city") or "",
            state=row.get("state") or "",
            time_zone=row.get("timezone") or "",
        )
    # The package caches its 42k source dicts (~140 MB) for its own lookups, which we never
    # use again: let them go, so matcher workers keep that memory for the rule index.
    zipcodes._zips_cache = None
    return table


def lookup_zip(zip_code: str) -> ZipPlace | None:
    """The centroid of a 5-digit US ZIP, or None when it is not a known ZIP."""
    if not isinstance(zip_code, str) or not ZIP_RE.match(zip_code):
        return None
    return _zip_table().get(zip_code)


def all_zips() -> list[ZipPlace]:
    return list(_zip_table().values())


def distance_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in statute miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_MI * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_mi: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing a circle: a cheap index-friendly prefilter."""
    dlat = radius_mi / 69.0
    dlon = radius_mi / max(1e-6, 69.172 * math.cos(math.radians(lat)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
