"""OTDR fault location on a hand-built cable of known geometry.

    R1 (access room, 82.00E 44.90N)
     │ SEC1  straight north along 82°E
    J1 (closure, 44.92N)
     │ SEC2  north, stored z→a (reversed) and with its line drawn the other way
    M1 (manhole, 44.95N)
     │ SEC3  north; recorded length_m = 1.25 × its line
    S1 (customer site, 45.00N)
"""

from __future__ import annotations

import doctest

import pytest

import inventory.geo.otdr as otdr_module
from inventory.errors import InventoryError, NoRoute, ValidationError
from inventory.geo.measure import GEOD, distance_m
from inventory.geo.otdr import CableSection, locate_fault, order_sections, parse_distance

LON = 82.0
R1 = {"id": "R1", "label": "Room", "kind": "ACCESS", "lon": LON, "lat": 44.90}
J1 = {"id": "J1", "label": "Point", "kind": "CLOSURE", "name": "接头盒1", "lon": LON, "lat": 44.92}
M1 = {"id": "M1", "label": "Point", "kind": "MANHOLE", "lon": LON, "lat": 44.95}
S1 = {"id": "S1", "label": "Site", "lon": LON, "lat": 45.00}

LEN1 = distance_m(LON, 44.90, LON, 44.92)
LEN2 = distance_m(LON, 44.92, LON, 44.95)
LEN3_GEOM = distance_m(LON, 44.95, LON, 45.00)
LEN3 = 1.25 * LEN3_GEOM


def cable():
    return [
        {"id": "SEC3", "a": M1, "z": S1, "length_m": LEN3,
         "geometry": "LINESTRING (82 44.95, 82 44.97, 82 45.0)"},
        {"id": "SEC1", "a": R1, "z": J1, "geometry": "LINESTRING (82 44.9, 82 44.92)"},
        {"id": "SEC2", "a": M1, "z": J1, "geometry": "LINESTRING (82 44.92, 82 44.95)"},
    ]


def test_doctests():
    assert doctest.testmod(otdr_module).failed == 0


@pytest.mark.parametrize(("text", "metres"), [
    ("12.35km", 12350.0), ("12350m", 12350.0), ("12350", 12350.0), ("12.35 KM", 12350.0),
    ("12,350 m", 12350.0), ("12.35公里", 12350.0), ("８００米", 800.0), (1500, 1500.0),
])
def test_parse_distance(text, metres):
    assert parse_distance(text) == pytest.approx(metres)


@pytest.mark.parametrize("bad", ["", "12.3.4km", "-5m", "12 miles", "abc"])
def test_parse_distance_rejects(bad):
    with pytest.raises(ValidationError):
        parse_distance(bad)


def test_order_sections_from_either_end():
    chain = order_sections(cable(), "R1")
    assert [(s.id, rev) for s, rev in chain] == [("SEC1", False), ("SEC2", True),
                                                 ("SEC3", False)]
    chain = order_sections(cable(), "S1")
    assert [s.id for s, _ in chain] == ["SEC3", "SEC2", "SEC1"]
    with pytest.raises(InventoryError, match="middle"):
        order_sections(cable(), "J1")
    with pytest.raises(NoRoute):
        order_sections(cable(), "NOPE")
    branched = [*cable(), {"id": "SEC9", "a": J1, "z": {"id": "X"}}]
    with pytest.raises(InventoryError, match="branches at J1"):
        order_sections(branched, "R1")


def test_fault_in_the_middle_of_the_second_section():
    slack = 1.02
    measured = (LEN1 + 0.5 * LEN2) * slack
    hit = locate_fault(cable(), "R1", f"{measured:.3f}m", slack=slack,
                       depots=[("MP-N", LON, 45.10), ("MP-S", LON, 44.80)])
    assert hit.section_id == "SEC2" and hit.section_index == 1
    assert (hit.section_from, hit.section_to) == ("J1", "M1")
    assert hit.offset_m == pytest.approx(0.5 * LEN2, abs=0.1)
    # the point is half of SEC2's geodesic length north of J1, on the meridian
    lon, lat, _ = GEOD.fwd(LON, 44.92, 0.0, 0.5 * LEN2)
    assert distance_m(hit.lon, hit.lat, lon, lat) < 0.05
    assert hit.lat == pytest.approx(44.935, abs=2e-5)
    assert hit.before["id"] == "J1" and hit.before["route_m"] == pytest.approx(0.5 * LEN2, abs=0.1)
    assert hit.before["fiber_m"] == pytest.approx(0.5 * LEN2 * slack, abs=0.2)
    assert hit.after["id"] == "M1" and hit.after["route_m"] == pytest.approx(0.5 * LEN2, abs=0.1)
    assert hit.maintenance_point["id"] == "MP-S"        # 3.5 km vs 16.5 km
    assert hit.maintenance_point["distance_km"] == pytest.approx(
        distance_m(hit.lon, hit.lat, LON, 44.80) / 1000, abs=0.01)
    assert hit.total_route_m == pytest.approx(LEN1 + LEN2 + LEN3, abs=0.2)
    assert hit.total_fiber_m == pytest.approx((LEN1 + LEN2 + LEN3) * slack, abs=0.5)
    assert not hit.beyond_end


def test_recorded_length_scales_along_the_section():
    """SEC3 is recorded 25 % longer than its line: halfway in route terms is halfway along it."""
    measured = LEN1 + LEN2 + 0.5 * LEN3
    hit = locate_fault(cable(), "R1", measured, slack=1.0)
    assert hit.section_id == "SEC3"
    assert hit.offset_m == pytest.approx(0.5 * LEN3, abs=0.1)
    lon, lat, _ = GEOD.fwd(LON, 44.95, 0.0, 0.5 * LEN3_GEOM)
    assert distance_m(hit.lon, hit.lat, lon, lat) < 0.05
    assert hit.before["id"] == "M1" and hit.after is None          # S1 is a site, not a point


def test_measured_from_the_customer_end():
    slack = 1.02
    hit = locate_fault(cable(), "S1", (LEN3 + 0.25 * LEN2) * slack, slack=slack)
    assert hit.section_id == "SEC2" and (hit.section_from, hit.section_to) == ("M1", "J1")
    lon, lat, _ = GEOD.fwd(LON, 44.95, 180.0, 0.25 * LEN2)
    assert distance_m(hit.lon, hit.lat, lon, lat) < 0.05
    assert hit.before["id"] == "M1" and hit.after["id"] == "J1"


def test_default_slack_comes_from_policy():
    hit = locate_fault(cable(), "R1", "1km")
    assert hit.slack_factor == 1.02
    assert hit.route_m == pytest.approx(1000 / 1.02, abs=0.1)


def test_beyond_the_far_end():
    total = (LEN1 + LEN2 + LEN3) * 1.02
    end = locate_fault(cable(), "R1", total + 50, slack=1.02)       # within the 100 m tolerance
    assert end.beyond_end and (end.lon, end.lat) == pytest.approx((LON, 45.0))
    with pytest.raises(InventoryError, match="beyond the far end"):
        locate_fault(cable(), "R1", total + 500, slack=1.02)


def test_zero_and_section_without_geometry():
    sections = [CableSection.of({"id": "A", "a": R1, "z": J1}),
                {"id": "B", "a_id": "J1", "a_lon": LON, "a_lat": 44.92, "a_label": "Point",
                 "a_kind": "CLOSURE", "z_id": "M1", "z_lon": LON, "z_lat": 44.95}]
    hit = locate_fault(sections, "R1", 0, slack=1.0)
    assert (hit.lon, hit.lat) == pytest.approx((LON, 44.90)) and hit.geometry_approx
    mid = locate_fault(sections, "R1", LEN1 + 10, slack=1.0)
    assert mid.section_id == "B" and mid.before["id"] == "J1"
    with pytest.raises(ValidationError):
        locate_fault(sections, "R1", "5m", slack=0.9)
