"""Coordinate systems: parsing, pyproj transforms, GCJ-02 / BD-09 against published values."""

from __future__ import annotations

import doctest

import pytest
from pyproj import Geod

import inventory.geo.crs as crs_module
from inventory.errors import ValidationError
from inventory.geo.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gauss_kruger_zone,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    parse_line,
    to_wgs84,
    to_wkt,
    transform_geometry,
    transform_line_text,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


def metres(a, b) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def test_doctests():
    assert doctest.testmod(crs_module).failed == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("WGS84", "WGS84"), ("wgs-84", "WGS84"), ("4326", "WGS84"), ("EPSG:4326", "WGS84"),
    ("CGCS2000", "CGCS2000"), ("cgcs2000", "CGCS2000"), ("国家2000", "CGCS2000"),
    ("EPSG:4490", "CGCS2000"), ("GCJ02", "GCJ02"), ("gcj-02", "GCJ02"), ("火星坐标", "GCJ02"),
    ("BD09", "BD09"), ("bd09", "BD09"), ("百度", "BD09"), ("EPSG:4537", "EPSG:4537"),
    ("4536", "EPSG:4536"), (32644, "EPSG:32644"), ("epsg:32644", "EPSG:32644"),
])
def test_parse_crs_aliases(text, expected):
    assert parse_crs(text) == expected


@pytest.mark.parametrize("bad", ["", "mars2", "EPSG:999999"])
def test_parse_crs_rejects(bad):
    with pytest.raises(ValidationError):
        parse_crs(bad)


# Published reference values: gcoord (github.com/hujiulong/gcoord, MIT), test/unit/crs/*.spec.ts,
# the same algorithm as eviltransform and PRCoords. gcoord asserts 5 decimals (toBeCloseTo(x, 5));
# its inverses are approximate, ours iterate, hence 2e-6° (≈ 0.2 m) on the inverse ones.
def test_wgs84_to_gcj02_published():
    lon, lat = wgs84_to_gcj02(123.0, 45.0)
    assert lon == pytest.approx(123.00607541, abs=5e-8)
    assert lat == pytest.approx(45.00197815, abs=5e-8)


def test_wgs84_to_bd09_published():
    lon, lat = wgs84_to_bd09(123.0, 45.0)
    assert lon == pytest.approx(123.0124491, abs=5e-7)
    assert lat == pytest.approx(45.0083293, abs=5e-7)


def test_gcj02_to_bd09_published():
    lon, lat = gcj02_to_bd09(123.0, 45.0)
    assert lon == pytest.approx(123.00636499, abs=5e-8)
    assert lat == pytest.approx(45.00636899, abs=5e-8)


def test_inverses_near_published():
    assert gcj02_to_wgs84(123.0, 45.0) == pytest.approx((122.99395597, 44.99804071), abs=2e-6)
    assert bd09_to_gcj02(123.0, 45.0) == pytest.approx((122.99363304, 44.99365430), abs=2e-6)
    assert bd09_to_wgs84(123.0, 45.0) == pytest.approx((122.98762210, 44.99171540), abs=2e-6)


def test_outside_china_is_unchanged():
    assert wgs84_to_gcj02(183.0, 45.0) == (183.0, 45.0)
    assert gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)          # Paris
    assert to_wgs84(139.69, 35.68, "gcj02") == (139.69, 35.68)      # Tokyo


CHINA_GRID = [(lon, lat) for lon in (74.0, 80.8, 82.07, 87.6, 104.0, 116.4, 121.5, 134.5)
              for lat in (18.3, 25.0, 31.2, 39.9, 44.9, 53.0)]


@pytest.mark.parametrize("point", CHINA_GRID)
def test_gcj02_round_trip_under_a_centimetre(point):
    """Iterated inverse: WGS84 → GCJ-02 → WGS84 returns within 1 cm (in fact ~1 µm)."""
    back = gcj02_to_wgs84(*wgs84_to_gcj02(*point))
    assert metres(point, back) < 0.01
    # the forward image of the inverse hits the GCJ-02 point itself
    gcj = wgs84_to_gcj02(*point)
    assert metres(wgs84_to_gcj02(*gcj02_to_wgs84(*gcj)), gcj) < 0.01


@pytest.mark.parametrize("point", CHINA_GRID)
def test_bd09_round_trip_under_a_centimetre(point):
    assert metres(point, bd09_to_wgs84(*wgs84_to_bd09(*point))) < 0.01
    assert metres(point, to_wgs84(*from_wgs84(*point, "百度"), "bd09")) < 0.01


def test_one_step_inverse_would_not_do():
    """The one-step approximation is off by metres where the offset varies fastest; ours is not."""
    worst = 0.0
    for point in CHINA_GRID:
        gcj = wgs84_to_gcj02(*point)
        forward = wgs84_to_gcj02(*gcj)
        rough = (2 * gcj[0] - forward[0], 2 * gcj[1] - forward[1])
        worst = max(worst, metres(point, rough))
    assert worst > 0.5


def test_gcj_offset_is_hundreds_of_metres_in_bortala():
    bole = (82.0667, 44.9056)
    assert 50 < metres(bole, wgs84_to_gcj02(*bole)) < 700


def test_gauss_kruger_zones_and_central_meridian():
    assert gauss_kruger_zone(82.07) == "EPSG:4536"   # CM 81°E covers 79.5-82.5°E
    assert gauss_kruger_zone(83.0) == "EPSG:4537"    # CM 84°E
    # On the central meridian the easting is the false easting and the northing the meridian
    # arc (scale 1 for these zones), which the geodesic gives independently (GRS80 ≈ WGS84).
    x, y = from_wgs84(84.0, 45.0, "EPSG:4537")
    assert x == pytest.approx(500000.0, abs=1e-3)
    assert y == pytest.approx(Geod(ellps="GRS80").inv(84.0, 0.0, 84.0, 45.0)[2], abs=1e-3)
    assert to_wgs84(x, y, "4537") == pytest.approx((84.0, 45.0), abs=1e-9)


def test_utm_44n():
    x, y = from_wgs84(81.0, 45.0, "EPSG:32644")
    assert x == pytest.approx(500000.0, abs=1e-3)
    assert y == pytest.approx(0.9996 * GEOD.inv(81.0, 0.0, 81.0, 45.0)[2], abs=1e-3)
    x, y = from_wgs84(82.0667, 44.9056, 32644)
    assert to_wgs84(x, y, "32644") == pytest.approx((82.0667, 44.9056), abs=1e-9)


def test_cgcs2000_geographic_is_wgs84_to_the_centimetre():
    assert to_wgs84(82.0667, 44.9056, "国家2000") == pytest.approx((82.0667, 44.9056), abs=1e-7)


def test_parse_line_forms():
    wkt = parse_line("LINESTRING (82.05 44.90, 82.06 44.91, 82.07 44.92)")
    text = parse_line("82.05,44.90;82.06,44.91；82.07,44.92")
    assert wkt.equals(text)
    assert to_wkt(text) == "LINESTRING (82.05 44.9, 82.06 44.91, 82.07 44.92)"
    assert parse_line("MULTILINESTRING ((1 2, 3 4))").coords[:] == [(1, 2), (3, 4)]
    for bad in ("", "82.05,44.90", "POINT (1 2)", "LINESTRING (1 2,", "1,2;x,y"):
        with pytest.raises(ValidationError):
            parse_line(bad)


def test_transform_geometry_and_text():
    line = parse_line("82.05,44.90;82.06,44.91")
    gcj = transform_geometry(line, "wgs84", "gcj02")
    first = gcj.coords[0]
    assert first == pytest.approx(wgs84_to_gcj02(82.05, 44.90))
    back = transform_geometry(gcj, "gcj02", "wgs84")
    assert all(metres(a, b) < 0.01 for a, b in zip(line.coords, back.coords, strict=True))
    projected = transform_geometry(line, "WGS84", "EPSG:4536")
    assert projected.coords[0][0] > 500000       # east of 81°E
    assert transform_line_text(to_wkt(gcj), "gcj02").startswith("LINESTRING (82.05 44.9")
