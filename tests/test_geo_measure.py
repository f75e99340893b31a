"""Geodesic distances, route lengths, the nearest maintenance point and the distance band."""

from __future__ import annotations

import doctest
import random

import numpy as np
import pytest

import inventory.geo.measure as measure_module
from inventory.errors import InventoryError, ValidationError
from inventory.geo.measure import (
    GEOD,
    DepotIndex,
    distance_band,
    distance_m,
    inverse,
    line_length_m,
    nearest_maintenance_points,
    route_length,
)
from inventory.model import DistancePolicy, default_policy


def test_doctests():
    assert doctest.testmod(measure_module).failed == 0


# Independent references for the WGS84 ellipsoid:
# - GeographicLib's own unit tests (geographiclib test_geodesic.py `testcases`, lines taken from
#   GeodTest.dat, https://geographiclib.sourceforge.io/C++/doc/geodesic.html#testgeod):
#   lat1 lon1 azi1 lat2 lon2 azi2 s12
# - the worked examples of C. F. F. Karney, "Algorithms for geodesics", J. Geodesy 87 (2013) 43-55,
#   and the GeographicLib Python docs (Wellington → Salamanca).
GEODTEST = [
    (35.60777, -139.44815, 111.098748429560326, -11.17491, -69.95921, 129.289270889708762,
     8935244.5604818305),
    (55.52454, 106.05087, 22.020059880982801, 77.03196, 197.18234, 109.112041110671519,
     4105086.1713924406),
    (-21.97856, 142.59065, -32.44456876433189, 41.84138, 98.56635, -41.84359951440466,
     8394328.894657671),
    # Karney (2013), inverse example: nearly antipodal
    (-30.0, 0.0, 161.890524736, 29.9, 179.8, 18.090737246, 19989832.827610),
    # Karney (2013), short line
    (-30.12345, 0.0, None, -30.12344, 0.00005, None, 4.944208),
    # GeographicLib docs: Wellington, NZ → Salamanca, Spain
    (-41.32, 174.81, 161.067669986, 40.96, -5.50, 18.825195123, 19959679.267353),
]


@pytest.mark.parametrize(("lat1", "lon1", "azi1", "lat2", "lon2", "azi2", "s12"), GEODTEST)
def test_geodesic_inverse_against_geographiclib(lat1, lon1, azi1, lat2, lon2, azi2, s12):
    assert distance_m(lon1, lat1, ((lon2 + 180) % 360) - 180, lat2) == pytest.approx(
        s12, abs=1e-6 if s12 < 10 else 1e-3)
    fwd, back, _ = inverse(lon1, lat1, lon2, lat2)
    if azi1 is not None:
        assert fwd == pytest.approx(azi1, abs=1e-8)
        # pyproj's back azimuth points back along the line; GeodTest's azi2 is the forward one
        assert (back + 180) % 360 == pytest.approx(azi2 % 360, abs=1e-8)


def test_direct_problem_karney_example():
    """Karney (2013) Table 2: φ1 = 40°, α1 = 30°, s12 = 10 000 km."""
    lon2, lat2, back = GEOD.fwd(0.0, 40.0, 30.0, 10_000_000.0)
    assert lat2 == pytest.approx(41.79331020506, abs=1e-10)
    assert lon2 == pytest.approx(137.84490004377, abs=1e-10)
    assert back + 180 == pytest.approx(149.09016931807, abs=1e-10)


def test_line_length_is_geodesic_not_degrees():
    line = "LINESTRING (82.00 44.90, 82.01 44.90, 82.01 44.91)"
    expected = distance_m(82.00, 44.90, 82.01, 44.90) + distance_m(82.01, 44.90, 82.01, 44.91)
    assert line_length_m(line) == pytest.approx(expected, abs=1e-6)
    assert line_length_m("82,44.9;82.01,44.9") == pytest.approx(
        distance_m(82, 44.9, 82.01, 44.9))


def test_distance_rejects_missing_or_swapped():
    with pytest.raises(ValidationError):
        distance_m(None, 44.0, 82.0, 44.0)
    with pytest.raises(ValidationError):
        distance_m(44.9, 182.0, 82.0, 44.0)


def test_route_length_of_trace_steps():
    steps = [
        {"kind": "device", "id": "ONU1"},
        {"kind": "site", "id": "S1", "lon": 82.00, "lat": 44.90},
        {"kind": "section", "id": "SEG1", "length_m": 1500.0},                    # recorded
        {"kind": "point", "id": "J1", "lon": 82.01, "lat": 44.90},
        {"kind": "section", "id": "SEG2",
         "geometry": "LINESTRING (82.01 44.90, 82.02 44.90)"},                    # geometry
        {"kind": "point", "id": "J2", "lon": 82.02, "lat": 44.90},
        {"kind": "section", "id": "SEG3"},                                        # straight
        {"kind": "room", "id": "R1", "lon": 82.02, "lat": 44.91},
    ]
    expected = (1500.0 + distance_m(82.01, 44.90, 82.02, 44.90)
                + distance_m(82.02, 44.90, 82.02, 44.91))
    assert route_length(steps) == pytest.approx(expected, abs=0.1)
    assert route_length([]) == 0


def brute(sites, depots):
    lons = np.array([d[1] for d in depots])
    lats = np.array([d[2] for d in depots])
    out = []
    for lon, lat in sites:
        _, _, d = GEOD.inv(np.full(len(depots), lon), np.full(len(depots), lat), lons, lats)
        i = int(np.argmin(d))
        out.append((depots[i][0], round(float(d[i]) / 1000, 2)))
    return out


def test_nearest_matches_brute_force_regional():
    rng = random.Random(5)
    depots = [(f"MP{i}", rng.uniform(79.5, 84.0), rng.uniform(43.5, 46.0)) for i in range(60)]
    sites = [(rng.uniform(79.0, 84.5), rng.uniform(43.0, 46.5)) for _ in range(3000)]
    got = nearest_maintenance_points(sites, depots)
    want = brute(sites, depots)
    for (gid, gkm), (wid, wkm) in zip(got, want, strict=True):
        assert gkm == pytest.approx(wkm, abs=0.011)
        assert gid == wid or gkm == pytest.approx(wkm, abs=0.011)


def test_nearest_matches_brute_force_worldwide():
    """The stretch bound holds far from the depots' centre too (and across the antimeridian)."""
    rng = random.Random(9)
    depots = [(f"D{i}", rng.uniform(-180, 180), rng.uniform(-85, 85)) for i in range(200)]
    sites = [(rng.uniform(-180, 180), rng.uniform(-89, 89)) for _ in range(1500)]
    sites += [(179.99, 0.0), (-179.99, 0.0)]
    got = nearest_maintenance_points(sites, depots)
    for (_, gkm), (_, wkm) in zip(got, brute(sites, depots), strict=True):
        assert gkm == pytest.approx(wkm, abs=0.011)


def test_depot_index_single_and_missing():
    index = DepotIndex([("MP1", 82.07, 44.90), ("MP2", 81.10, 44.88), ("NOPOS", None, None)])
    assert len(index) == 2
    depot, km = index.nearest(82.0, 44.9)
    assert depot == "MP1" and km == pytest.approx(distance_m(82.0, 44.9, 82.07, 44.9) / 1000,
                                                  abs=0.01)
    assert index.nearest_many([(None, None), (81.2, 44.88)]) == [
        (None, None), ("MP2", round(distance_m(81.2, 44.88, 81.10, 44.88) / 1000, 2))]
    with pytest.raises(InventoryError, match="maintenance point"):
        DepotIndex([])


def test_nearest_scales_without_scanning(monkeypatch):
    """Bulk queries go through the tree, not a loop over depots per site: 200k sites and 500
    depots need a few geodesics per site, where a scan would need 10^8 (counted, not timed)."""
    from inventory.geo import measure

    pairs, geod = [], measure.GEOD

    class CountingGeod:
        def inv(self, lons1, lats1, lons2, lats2):
            pairs.append(np.size(lons1))
            return geod.inv(lons1, lats1, lons2, lats2)

    monkeypatch.setattr(measure, "GEOD", CountingGeod())
    rng = np.random.default_rng(3)
    depots = [(f"D{i}", float(x), float(y)) for i, (x, y) in
              enumerate(zip(rng.uniform(79, 85, 500), rng.uniform(43, 47, 500), strict=True))]
    sites = np.column_stack([rng.uniform(78, 86, 200_000), rng.uniform(42, 48, 200_000)])
    result = DepotIndex(depots).nearest_many(sites.tolist())
    assert len(result) == 200_000 and all(r[0] for r in result[:100])
    assert 200_000 <= sum(pairs) < 200_000 * 20


def test_depot_projection_is_projs_own():
    """DepotIndex projects with PROJ's pipeline for EPSG:4326 → aeqd, written out (no look-up
    in PROJ's database): the transformer PROJ builds from the CRSs, to a few micrometres
    (PROJ rounds a centre of many decimals when it goes through the CRS); the candidate
    search around it allows 1 m."""
    from pyproj import Transformer

    rng = np.random.default_rng(5)
    for centre_lon, centre_lat in [(82.0, 44.9), (-120.5, -33.25), (179.9, 0.0), (0.0, 89.5)]:
        depots = [("A", centre_lon, centre_lat)]
        index = DepotIndex(depots)
        from_crs = Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={index.centre[1]} +lon_0={index.centre[0]} "
            "+datum=WGS84 +units=m", always_xy=True)
        lons, lats = rng.uniform(-180, 180, 500), rng.uniform(-89, 89, 500)
        ours = index._project.transform(lons, lats)
        theirs = from_crs.transform(lons, lats)
        assert np.allclose(ours, theirs, rtol=0, atol=1e-5)
        if centre_lon == 82.0:  # a centre PROJ keeps as it is: bit for bit
            assert np.array_equal(ours, theirs)


def test_distance_band_policy():
    within = distance_band(49.99)
    assert within.within and within.band == "within" and within.travel_hours == 0
    edge = distance_band(50.0)
    assert edge.within                                  # "within 50 km" includes 50 km
    beyond = distance_band(125.0)
    assert not beyond.within and beyond.beyond_km == 75.0 and beyond.travel_hours == 1.5
    unknown = distance_band(None)
    assert unknown.within and not unknown.known
    base = default_policy()
    road = type(base)(tiers=base.tiers, distance=DistancePolicy(
        road_factor=1.3, band_km=50.0, travel_speed_kmh=50.0, cable_cut_extra_hours=3.0,
        max_cable_cuts_per_year=5))
    banded = distance_band(40.0, road)
    assert banded.distance_km == pytest.approx(52.0) and not banded.within
    assert banded.as_dict()["band"] == "beyond"
