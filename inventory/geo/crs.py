"""Coordinate reference systems: what is stored (WGS84) and what exports and maps use.

Stored coordinates are always WGS84 ``(lon, lat)``. Imports may arrive in CGCS2000 (EPSG:4490,
or projected in one of its Gauss-Krüger 3° zones, EPSG:4534-4554), in UTM (EPSG:32644 for
Bortala), or in one of the two Chinese offset systems that no EPSG code describes:

* **GCJ-02** (国测局坐标, "火星坐标", Amap/Tencent/Ovital/Google China) — WGS84 plus a deliberate
  nonlinear offset of a few hundred metres, published reverse-engineered and used identically by
  eviltransform, PRCoords, coordtransform and gcoord. Outside China it equals WGS84.
* **BD-09** (百度坐标) — GCJ-02 plus Baidu's own rotation and shift.

The forward formulas (WGS84 → GCJ-02 → BD-09) are closed-form. Their inverses are not: the
one-step approximation ``wgs = gcj - (f(gcj) - gcj)`` is off by up to ~5 m over China, so
:func:`gcj02_to_wgs84` and :func:`bd09_to_gcj02` iterate the fixed point ``x ← x - (f(x) - target)``
until the forward image matches to 1e-11° (about a micrometre; four to six iterations).

Every EPSG transformation is a pyproj ``Transformer.from_crs(..., always_xy=True)`` built once and
cached, so ``(x, y)`` is always ``(lon, lat)`` or ``(easting, northing)``.

>>> parse_crs("国家2000"), parse_crs("wgs-84"), parse_crs("火星坐标"), parse_crs("4537")
('CGCS2000', 'WGS84', 'GCJ02', 'EPSG:4537')
>>> lon, lat = from_wgs84(82.0667, 44.9056, "gcj02")
>>> [round(v, 9) for v in to_wgs84(lon, lat, "gcj02")]
[82.0667, 44.9056]
>>> to_wkt(parse_line("82.05,44.90;82.06,44.91"))
'LINESTRING (82.05 44.9, 82.06 44.91)'
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from inventory.errors import ValidationError

WGS84 = "WGS84"
CGCS2000 = "CGCS2000"
GCJ02 = "GCJ02"
BD09 = "BD09"

#: Names that are not EPSG codes, and the EPSG code of the named ones.
_EPSG_OF = {WGS84: "EPSG:4326", CGCS2000: "EPSG:4490"}
_NAMED = {"EPSG:4326": WGS84, "EPSG:4490": CGCS2000}

_ALIASES = {
    WGS84: ("WGS84", "WGS 84", "WGS-84", "WGS1984", "4326", "EPSG4326", "GPS", "WGS84经纬度",
            "地球坐标", "GPS坐标", "国际坐标", "EARTH"),
    CGCS2000: ("CGCS2000", "CGCS-2000", "CGCS", "4490", "EPSG4490", "国家2000", "2000国家大地坐标系",
               "国家2000坐标系", "2000坐标系", "2000坐标", "大地2000", "中国2000"),
    GCJ02: ("GCJ02", "GCJ-02", "GCJ", "火星坐标", "火星坐标系", "国测局坐标", "国测局", "国测局坐标系",
            "高德", "高德坐标", "腾讯坐标", "奥维", "MARS", "GCJ02LL"),
    BD09: ("BD09", "BD-09", "BD09LL", "BAIDU", "百度", "百度坐标", "百度坐标系", "百度经纬度"),
}


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", str(text)).strip().upper()
    return re.sub(r"[\s_\-.:·/]+", "", folded)


_ALIAS_TABLE = {_fold(alias): name for name, names in _ALIASES.items() for alias in names}


def parse_crs(name: str | int) -> str:
    """The canonical name of a coordinate system: ``WGS84``, ``CGCS2000``, ``GCJ02``, ``BD09``
    or ``EPSG:<code>`` for any other system pyproj knows.

    Accepts Chinese and other spellings (``wgs-84``, ``4326``, ``国家2000``, ``火星坐标``,
    ``百度``), EPSG codes with or without the prefix, and pyproj names.

    >>> parse_crs("EPSG:4326"), parse_crs("bd-09"), parse_crs(32644)
    ('WGS84', 'BD09', 'EPSG:32644')
    """
    if name is None or not str(name).strip():
        raise ValidationError("crs", name, "a coordinate system is required")
    folded = _fold(name)
    if folded in _ALIAS_TABLE:
        return _ALIAS_TABLE[folded]
    match = re.fullmatch(r"(?:EPSG)?(\d{4,6})", folded)
    text = f"EPSG:{match.group(1)}" if match else str(name).strip()
    code = _epsg_code(text)
    return _NAMED.get(code, code)


@lru_cache(maxsize=256)
def _epsg_code(text: str) -> str:
    try:
        crs = CRS.from_user_input(text)
    except CRSError:
        raise ValidationError("crs", text, "unknown coordinate system; use WGS84, CGCS2000, "
                              "GCJ02, BD09 or an EPSG code such as EPSG:4537") from None
    epsg = crs.to_epsg()
    if epsg is None:
        raise ValidationError("crs", text, "coordinate system has no EPSG code")
    return f"EPSG:{epsg}"


@lru_cache(maxsize=64)
def transformer(source: str, target: str) -> Transformer:
    """A cached pyproj transformer between two EPSG systems (names as :func:`parse_crs` gives),
    always in ``(x, y)`` = ``(lon, lat)`` / ``(easting, northing)`` order."""
    return Transformer.from_crs(_EPSG_OF.get(source, source), _EPSG_OF.get(target, target),
                                always_xy=True)


# --- GCJ-02 and BD-09 ---------------------------------------------------------------------------
# The published algorithm (the "Krasovsky offset"): see eviltransform (MIT,
# github.com/googollee/eviltransform), PRCoords (CC0, github.com/Artoria2e5/PRCoords) and gcoord
# (MIT, github.com/hujiulong/gcoord), which agree to the last digit.

_GCJ_A = 6378245.0                      # Krasovsky 1940 semi-major axis, metres
_GCJ_EE = 0.00669342162296594323        # its first eccentricity squared
_BD_DLON, _BD_DLAT = 0.0065, 0.006      # Baidu's fixed shift, degrees
_X_PI = math.pi * 3000.0 / 180.0
_INVERSE_TOL_DEG = 1e-11                # ~1 µm: iterate the inverse until this close
_INVERSE_MAX_ITER = 30


def out_of_china(lon: float, lat: float) -> bool:
    """True outside the rectangle where GCJ-02 applies an offset (the bounding box every
    published implementation uses: 73.66-135.05°E, 3.86-53.55°N)."""
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3)
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _GCJ_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 (closed form). Unchanged outside China.

    >>> [round(v, 7) for v in wgs84_to_gcj02(123.0, 45.0)]  # gcoord's published test value
    [123.0060754, 45.0019782]
    """
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _invert(forward: Callable[[float, float], tuple[float, float]], lon: float, lat: float,
            start: tuple[float, float]) -> tuple[float, float]:
    """Solve forward(x) = (lon, lat) by the fixed-point iteration x ← x - (forward(x) - target)."""
    wlon, wlat = start
    for _ in range(_INVERSE_MAX_ITER):
        flon, flat = forward(wlon, wlat)
        dlon, dlat = flon - lon, flat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < _INVERSE_TOL_DEG and abs(dlat) < _INVERSE_TOL_DEG:
            break
    return wlon, wlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS84, exact to about a micrometre (iterated, not the one-step approximation).
    Unchanged outside China."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)

    def forward(x: float, y: float) -> tuple[float, float]:
        ox, oy = _gcj_offset(x, y)   # no out-of-China test inside the iteration
        return x + ox, y + oy

    return _invert(forward, lon, lat, (lon - dlon, lat - dlat))


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → BD-09 (closed form)."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + _BD_DLON, z * math.sin(theta) + _BD_DLAT


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 → GCJ-02: Baidu's published approximate inverse, then refined by iteration."""
    x, y = lon - _BD_DLON, lat - _BD_DLAT
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    start = (z * math.cos(theta), z * math.sin(theta))
    return _invert(gcj02_to_bd09, lon, lat, start)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS = {GCJ02: gcj02_to_wgs84, BD09: bd09_to_wgs84}
_FROM_WGS = {GCJ02: wgs84_to_gcj02, BD09: wgs84_to_bd09}


# --- points -------------------------------------------------------------------------------------

def to_wgs84(x: float, y: float, crs: str) -> tuple[float, float]:
    """A point of ``crs`` (lon/lat, or easting/northing for a projected system) as WGS84
    ``(lon, lat)``."""
    name = parse_crs(crs)
    if name == WGS84:
        return float(x), float(y)
    if name in _TO_WGS:
        return _TO_WGS[name](float(x), float(y))
    lon, lat = transformer(name, WGS84).transform(float(x), float(y))
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValidationError("coordinates", (x, y), f"outside the area of {name}")
    return lon, lat


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A WGS84 ``(lon, lat)`` in ``crs``."""
    name = parse_crs(crs)
    if name == WGS84:
        return float(lon), float(lat)
    if name in _FROM_WGS:
        return _FROM_WGS[name](float(lon), float(lat))
    x, y = transformer(WGS84, name).transform(float(lon), float(lat))
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationError("coordinates", (lon, lat), f"outside the area of {name}")
    return x, y


def transform_point(x: float, y: float, source: str, target: str) -> tuple[float, float]:
    """A point from one system to another (through WGS84 when either is GCJ-02/BD-09)."""
    src, dst = parse_crs(source), parse_crs(target)
    if src == dst:
        return float(x), float(y)
    if src in _TO_WGS or dst in _FROM_WGS or src == WGS84 or dst == WGS84:
        return from_wgs84(*to_wgs84(x, y, src), dst)
    return transformer(src, dst).transform(float(x), float(y))


def transform_coords(coords: np.ndarray | Sequence[Sequence[float]], source: str,
                     target: str) -> np.ndarray:
    """An ``(N, 2)`` array of coordinates from one system to another (vectorised for EPSG)."""
    array = np.asarray(coords, dtype=float).reshape(-1, 2)
    src, dst = parse_crs(source), parse_crs(target)
    if src == dst or len(array) == 0:
        return array.copy()
    if src in _TO_WGS or dst in _FROM_WGS:
        return np.array([transform_point(x, y, src, dst) for x, y in array], dtype=float)
    xs, ys = transformer(src, dst).transform(array[:, 0], array[:, 1])
    return np.column_stack([xs, ys])


def gauss_kruger_zone(lon: float) -> str:
    """The CGCS2000 3° Gauss-Krüger zone (central meridian in the EPSG code, no zone prefix
    in the easting) for a longitude: EPSG:4534 (75°E) … EPSG:4554 (135°E).

    >>> gauss_kruger_zone(82.07), gauss_kruger_zone(83.0)   # Bole city; east of 82.5°E
    ('EPSG:4536', 'EPSG:4537')
    """
    central = 3 * round(lon / 3)
    if not 75 <= central <= 135:
        raise ValidationError("lon", lon, "outside the CGCS2000 Gauss-Krüger zones (75°E-135°E)")
    return f"EPSG:{4534 + (central - 75) // 3}"


# --- geometries ---------------------------------------------------------------------------------

_PAIR_SPLIT = re.compile(r"[;；|\n]+")
_NUM_SPLIT = re.compile(r"[,，\s]+")


def parse_line(text: str | BaseGeometry) -> LineString:
    """A line from WKT (``LINESTRING (lon lat, …)``) or from ``lon,lat;lon,lat;…``.

    >>> parse_line("LINESTRING (82 44, 82.1 44.1)").coords[-1]
    (82.1, 44.1)
    """
    if isinstance(text, LineString):
        return text
    if isinstance(text, BaseGeometry):
        raise ValidationError("geometry", text.wkt[:60], "expected a LINESTRING")
    raw = unicodedata.normalize("NFKC", str(text or "")).strip()
    if not raw:
        raise ValidationError("geometry", text, "empty geometry")
    if re.match(r"^[A-Za-z]", raw):
        try:
            geom = shapely.from_wkt(raw)
        except shapely.errors.GEOSException as exc:
            raise ValidationError("geometry", raw[:60], f"not valid WKT: {exc}") from None
        if isinstance(geom, LineString) and not geom.is_empty:
            return geom
        if geom.geom_type == "MultiLineString" and len(geom.geoms) == 1:
            return geom.geoms[0]
        raise ValidationError("geometry", raw[:60], f"expected a LINESTRING, got {geom.geom_type}")
    points = []
    for pair in _PAIR_SPLIT.split(raw):
        if not pair.strip():
            continue
        parts = [p for p in _NUM_SPLIT.split(pair.strip()) if p]
        if len(parts) != 2:
            raise ValidationError("geometry", pair, "expected lon,lat pairs separated by ';'")
        try:
            points.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise ValidationError("geometry", pair, "not a number") from None
    if len(points) < 2:
        raise ValidationError("geometry", raw[:60], "a line needs at least two points")
    return LineString(points)


def to_wkt(geom: BaseGeometry, precision: int = 8) -> str:
    """WKT with at most ``precision`` decimals (8 decimals of a degree ≈ 1 mm)."""
    return shapely.to_wkt(geom, rounding_precision=precision, trim=True)


def transform_geometry(geom: BaseGeometry | str, source: str, target: str) -> BaseGeometry:
    """Any shapely geometry (or a line as text) from one system to another."""
    if isinstance(geom, str):
        geom = parse_line(geom)
    src, dst = parse_crs(source), parse_crs(target)
    if src == dst:
        return geom
    return shapely.transform(geom, lambda xy: transform_coords(xy, src, dst))


def transform_line_text(text: str, source: str, target: str = WGS84) -> str:
    """A line given as text in ``source``, as WGS84 (by default) WKT: what an importer stores."""
    return to_wkt(transform_geometry(parse_line(text), source, target))


def lonlat_pairs(geom: BaseGeometry) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y, *_ in geom.coords]


def iter_coords(values: Iterable[tuple[float, float]], source: str,
                target: str) -> Iterable[tuple[float, float]]:
    """Transform a stream of points lazily."""
    src, dst = parse_crs(source), parse_crs(target)
    for x, y in values:
        yield transform_point(x, y, src, dst)
