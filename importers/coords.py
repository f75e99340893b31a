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
import re

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


# The two shapes nearly every route cell has: plain ASCII ``lon,lat;lon,lat`` and the WKT
# ``LINESTRING (lon lat, lon lat)`` (what exports and inventory.geo write).  They are parsed
# with plain float(); anything else (full-width, other separators, Z, errors) takes
# geo_crs.parse_line, which gives the same points and every error message.
_FAST_PAIRS = re.compile(r"[0-9.,;\-]+")
_FAST_WKT = re.compile(r"LINESTRING \(([0-9. ,\-]+)\)")


def _fast_points(text: str) -> list[tuple[float, float]] | None:
    """The points of a route cell in one of the two common shapes, or None (use
    ``geo_crs.parse_line``)."""
    raw = text.strip() if isinstance(text, str) else None
    if not raw:
        return None
    try:
        if _FAST_PAIRS.fullmatch(raw):
            points = []
            for pair in raw.split(";"):
                if not pair:
                    continue
                parts = [p for p in pair.split(",") if p]
                if len(parts) != 2:
                    return None
                points.append((float(parts[0]), float(parts[1])))
        else:
            match = _FAST_WKT.fullmatch(raw)
            if match is None:
                return None
            points = []
            for pair in match[1].split(", "):
                parts = pair.split(" ")
                if len(parts) != 2:
                    return None
                points.append((float(parts[0]), float(parts[1])))
    except ValueError:
        return None
    return points if len(points) >= 2 else None


def route_to_wgs84(text: str, crs: str) -> list[tuple[float, float]]:
    """A route cell (路由坐标 ``lon,lat;…`` or WKT LINESTRING) as WGS84 points, each
    checked; raises ValueError with a readable message."""
    pairs = _fast_points(text)
    if pairs is None:
        try:
            line = geo_crs.parse_line(text)
        except geo_crs.ValidationError as exc:
            raise ValueError(f"bad route: {exc.message}") from None
        pairs = geo_crs.lonlat_pairs(line)
    return [point_to_wgs84(x, y, crs) for x, y in pairs]


def _fast_number(value: float) -> str | None:
    """``value`` as GEOS writes it with 8 decimals, trimmed; only where that is plain
    fixed-point and not a rounding question (0.001 <= |value| < 1000 with at most 7
    decimals, as every checked coordinate is: see DIGITS), else None."""
    if type(value) is not float or not 0.001 <= abs(value) < 1000.0:
        return None
    text = repr(value)  # the shortest text that reads back as value
    head, dot, tail = text.partition(".")
    if not dot or len(tail) > DIGITS or "e" in tail:
        return None
    return head if tail == "0" else text


def to_wkt(points: list[tuple[float, float]]) -> str:
    """WGS84 points as the WKT the store keeps (the same precision as inventory.geo)."""
    if len(points) >= 2:
        parts = []
        for x, y in points:
            fx, fy = _fast_number(x), _fast_number(y)
            if fx is None or fy is None:
                break
            parts.append(f"{fx} {fy}")
        else:
            return f"LINESTRING ({', '.join(parts)})"
    return geo_crs.to_wkt(LineString(points))


# A route of plain WGS84 decimals with at most 7 places, as exports and inventory.geo write
# them: each number is already what point_to_wgs84 would round it to, and its WKT text is
# the cell's with trailing zeros cut (repr of such a float is that decimal). Checked
# against the general path in tests/test_import.py.
_NUMBER = r"[1-9][0-9]{0,2}\.[0-9]{1,7}"
_PLAIN_PAIRS = re.compile(rf"{_NUMBER},{_NUMBER}(?:;{_NUMBER},{_NUMBER})+")
_PLAIN_WKT = re.compile(rf"LINESTRING \(({_NUMBER} {_NUMBER}(?:, {_NUMBER} {_NUMBER})+)\)")


def _plain_route(text: str) -> tuple[list[tuple[float, float]], str] | None:
    """(points, WKT) of a plain WGS84 route inside China, or None (take the general path)."""
    if _PLAIN_PAIRS.fullmatch(text):
        pairs = [pair.split(",") for pair in text.split(";")]
    else:
        match = _PLAIN_WKT.fullmatch(text)
        if match is None:
            return None
        pairs = [pair.split(" ") for pair in match[1].split(", ")]
    points, parts = [], []
    for tx, ty in pairs:
        x, y = float(tx), float(ty)
        if not (CHINA_LON[0] <= x <= CHINA_LON[1] and CHINA_LAT[0] <= y <= CHINA_LAT[1]):
            return None
        points.append((x, y))
        parts.append(f"{tx.rstrip('0').rstrip('.')} {ty.rstrip('0').rstrip('.')}")
    return points, f"LINESTRING ({', '.join(parts)})"


def route_wkt(text: str, crs: str) -> tuple[list[tuple[float, float]], str]:
    """A route cell as WGS84 points and the WKT the store keeps (``route_to_wgs84`` then
    ``to_wkt``); raises ValueError with a readable message."""
    if crs == geo_crs.WGS84 and isinstance(text, str):
        plain = _plain_route(text.strip())
        if plain is not None:
            return plain
    points = route_to_wgs84(text, crs)
    return points, to_wkt(points)


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
