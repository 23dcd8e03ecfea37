"""Region hierarchy (China administrative codes) and custom polygon zones.

Administrative codes are the official 6-digit codes (GB/T 2260): ``310000``
is a province-level unit (上海市), ``310100`` a prefecture/city, ``310115`` a
district (浦东新区).  ``CN`` is the country.  Custom zones (e.g. 北京五环内)
are polygons of (lon, lat) points tested with ray casting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

COUNTRY = "CN"

#: Specificity used for precedence: higher wins.
SPECIFICITY = {"zone": 4, "district": 3, "city": 2, "province": 1, "country": 0}

_CODE_RE = re.compile(r"^\d{6}$")


def is_region_code(code: str) -> bool:
    """True for ``CN`` or a 6-digit administrative code."""
    return code == COUNTRY or bool(_CODE_RE.match(code))


def region_level(code: str) -> str:
    """Return ``country``, ``province``, ``city`` or ``district`` for a code."""
    if code == COUNTRY:
        return "country"
    if not _CODE_RE.match(code):
        raise ValueError(f"not an administrative code: {code!r}")
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "district"


@lru_cache(maxsize=65536)
def region_chain(code: str) -> tuple[str, ...]:
    """Codes from ``code`` up to the country, most specific first.

    >>> region_chain("310115")
    ('310115', '310100', '310000', 'CN')
    """
    level = region_level(code)
    chain: list[str] = [code]
    if level == "district":
        chain.append(code[:4] + "00")
    if level in ("district", "city"):
        chain.append(code[:2] + "0000")
    if level != "country":
        chain.append(COUNTRY)
    return tuple(chain)


def point_in_polygon(lon: float, lat: float, polygon: tuple[tuple[float, float], ...]) -> bool:
    """Ray-casting test: is (lon, lat) inside ``polygon`` (closed or open ring)?

    A horizontal ray is cast from the point towards +lon and edge crossings are
    counted; an odd count means inside.  Points exactly on an edge may fall on
    either side (document-level tolerance is not needed for pricing zones).
    """
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < x_cross:
                inside = not inside
        j = i
    return inside


@dataclass(frozen=True, slots=True)
class Zone:
    """A custom pricing zone drawn as a polygon of (lon, lat) points."""

    id: str
    name: str
    polygon: tuple[tuple[float, float], ...]
    bbox: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))

    @staticmethod
    def build(zone_id: str, name: str, polygon: tuple[tuple[float, float], ...]) -> "Zone":
        """Create a zone and precompute its bounding box."""
        lons = [p[0] for p in polygon]
        lats = [p[1] for p in polygon]
        return Zone(zone_id, name, polygon, (min(lons), min(lats), max(lons), max(lats)))

    def contains(self, lon: float, lat: float) -> bool:
        """True if the point lies inside the zone."""
        x0, y0, x1, y1 = self.bbox
        if lon < x0 or lon > x1 or lat < y0 or lat > y1:
            return False
        return point_in_polygon(lon, lat, self.polygon)
