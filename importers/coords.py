"""Coordinates and routes on import: checks on top of :mod:`inventory.geo`.

Conversion to WGS84 (:func:`inventory.geo.crs.to_wgs84`), route parsing and geodesic
measures (:mod:`inventory.geo.measure`) live in ``inventory.geo``; this module adds what an
import needs: "is this point plausibly in China, or were 经度 and 纬度 swapped?", and
turning a route cell into WGS84 WKT.

>>> check_point(82.07, 44.90) is None
True
>>> check_point(44.90, 82.07)
'longitude 44.9 / latitude 82.07 are outside China: swapped? (经度 is about 73-136, 纬度 about 3-54)'
>>> route_to_wgs84("82.07,44.90;82.08,44.91", "WGS84")
[(82.07, 44.9), (82.08, 44.91)]
>>> round(route_length_m([(82.07, 44.9), (82.08, 44.9)]))
790
"""

from __future__ import annotations

import math

from shapely.geometry import LineString

from inventory.geo import crs as geo_crs
from inventory.geo import measure

# Mainland China with a margin: a point outside is a typo, a swap or a wrong CRS.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)
DIGITS = 7


def check_point(lon: float, lat: float) -> str | None:
    """Why a WGS84 point cannot be in China, or None when it can."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return "coordinates must be finite numbers"
    if _in_china(lon, lat):
        return None
    if _in_china(lat, lon):
        return (f"longitude {lon:g} / latitude {lat:g} are outside China: "
                "swapped? (经度 is about 73-136, 纬度 about 3-54)")
    if not (CHINA_LON[0] <= lon <= CHINA_LON[1]):
        return f"longitude {lon:g} is outside China (73-136)"
    return f"latitude {lat:g} is outside China (3-54)"


def _in_china(lon: float, lat: float) -> bool:
    return CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def point_to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """One point to WGS84; raises ValueError (with the reason) when it cannot be."""
    try:
        # WGS84 is nearly every row: skip the name lookup inside to_wgs84
        x, y = (lon, lat) if crs == geo_crs.WGS84 else geo_crs.to_wgs84(lon, lat, crs)
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(str(exc)) from None
    except geo_crs.ValidationError as exc:
        raise ValueError(exc.message) from None
    problem = check_point(x, y)
    if problem:
        raise ValueError(problem)
    # 1e-7 degree is about 1 cm: keep what the data can mean, not conversion noise
    return (round(float(x), DIGITS), round(float(y), DIGITS))


def route_to_wgs84(text: str, crs: str) -> list[tuple[float, float]]:
    """A route cell (路由坐标 ``lon,lat;…`` or WKT LINESTRING) as WGS84 points, each
    checked; raises ValueError with a readable message."""
    try:
        line = geo_crs.parse_line(text)
    except geo_crs.ValidationError as exc:
        raise ValueError(f"bad route: {exc.message}") from None
    return [point_to_wgs84(x, y, crs) for x, y in geo_crs.lonlat_pairs(line)]


def to_wkt(points: list[tuple[float, float]]) -> str:
    """WGS84 points as the WKT the store keeps (the same precision as inventory.geo)."""
    return geo_crs.to_wkt(LineString(points))


def route_length_m(points: list[tuple[float, float]]) -> float:
    """Geodesic length in metres, to the decimetre (``measure.line_length_m`` without
    building a shapely line)."""
    lons, lats = zip(*points)
    return round(float(measure.GEOD.line_length(lons, lats)), 1)


def nearest(sites: dict[str, tuple[float, float]],
            depots: dict[str, tuple[float, float]]) -> dict[str, tuple[str, float]]:
    """Each site's nearest maintenance point and the geodesic distance in km."""
    if not sites or not depots:
        return {}
    site_ids = sorted(sites)
    found = measure.nearest_maintenance_points(
        [sites[s] for s in site_ids], [(d, *depots[d]) for d in sorted(depots)])
    return {s: (d, km) for s, (d, km) in zip(site_ids, found) if d is not None}
