"""The geo commands on both stores: distance, sla, locate-fault, export.

    MP1 (维护点, 82.00E 44.80N)                         MP2 (81.00E 44.90N)

    R1 (access room, 44.90N) ─SEC1─ J1 (closure, 44.92N) ─SEC2─ M1 (manhole, 44.95N) ─SEC3─ S1
       OLT1                          │ D2 (cable CB2)             │ D3 (CB3, 3 km recorded)   (GOLD)
                                     S2 (STANDARD)                S3 (SILVER)                │ D4
                                     ONU2                         ONU3        S4 (no device) ┘

Cable CB1 = SEC1 + SEC2 (stored M1→J1) + SEC3, all along the meridian 82°E.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inventory.cli import cli
from inventory.geo.crs import wgs84_to_gcj02
from inventory.geo.measure import distance_m
from inventory.graph.store import Node, Rel
from inventory.model import clean_node, clean_rel


def node(label, **props):
    clean = clean_node(label, props)
    return Node(label, clean.pop("id"), clean)


def rel(rel_type, rel_id, start, end, **props):
    return Rel(rel_type, rel_id, start, end, clean_rel(rel_type, props))


def build(store):
    nodes = [
        node("Customer", id="C1", name="博乐市第一中学", tier="金牌"),
        node("Customer", id="C2", name="超市", tier="STANDARD"),
        node("Site", id="S1", customer_id="C1", name="一中本部", lon=82.0, lat=45.0),
        node("Site", id="S2", customer_id="C2", name="超市一店", lon=82.01, lat=44.93),
        node("Site", id="S3", customer_id="C2", name="超市二店", lon=82.02, lat=44.97,
             tier="SILVER"),
        node("Site", id="S9", customer_id="C2", name="无坐标"),
        node("Room", id="R1", name="接入机房1", kind="ACCESS", lon=82.0, lat=44.90),
        node("Point", id="J1", name="接头盒1", kind="CLOSURE", lon=82.0, lat=44.92),
        node("Point", id="M1", name="人井1", kind="MANHOLE", lon=82.0, lat=44.95),
        node("Equipment", id="OLT1", name="OLT1", type="OLT", layer="ACCESS"),
        node("Equipment", id="ONU1", name="ONU1", type="ONU", layer="CUSTOMER"),
        node("Equipment", id="ONU2", name="ONU2", type="ONU", layer="CUSTOMER"),
        node("Equipment", id="ONU3", name="ONU3", type="ONU", layer="CUSTOMER"),
        node("Site", id="S4", customer_id="C2", name="未录设备", lon=82.0, lat=45.01),
        node("MaintenancePoint", id="MP1", name="博乐维护点", lon=82.0, lat=44.80),
        node("MaintenancePoint", id="MP2", name="温泉维护点", lon=81.0, lat=44.90),
        node("Cable", id="CB1", name="一中配线光缆", level="DISTRIBUTION", fiber_count=24),
    ]
    rels = [
        rel("HAS_SITE", "h1", ("Customer", "C1"), ("Site", "S1")),
        rel("HAS_SITE", "h2", ("Customer", "C2"), ("Site", "S2")),
        rel("HAS_SITE", "h3", ("Customer", "C2"), ("Site", "S3")),
        rel("HAS_SITE", "h9", ("Customer", "C2"), ("Site", "S9")),
        rel("LOCATED_AT", "l1", ("Equipment", "OLT1"), ("Room", "R1")),
        rel("LOCATED_AT", "l2", ("Equipment", "ONU1"), ("Site", "S1")),
        rel("LOCATED_AT", "l3", ("Equipment", "ONU2"), ("Site", "S2")),
        rel("LOCATED_AT", "l4", ("Equipment", "ONU3"), ("Site", "S3")),
        rel("HAS_SITE", "h4", ("Customer", "C2"), ("Site", "S4")),
        rel("SEGMENT", "D4", ("Site", "S1"), ("Site", "S4"), cable_id="CB4"),
        rel("SERVED_BY", "sb1", ("Site", "S1"), ("MaintenancePoint", "MP1"), distance_km=22.2),
        rel("SEGMENT", "SEC1", ("Room", "R1"), ("Point", "J1"), cable_id="CB1",
            geometry="LINESTRING (82 44.9, 82 44.92)"),
        rel("SEGMENT", "SEC2", ("Point", "M1"), ("Point", "J1"), cable_id="CB1",
            geometry="LINESTRING (82 44.92, 82 44.95)"),
        rel("SEGMENT", "SEC3", ("Point", "M1"), ("Site", "S1"), cable_id="CB1",
            geometry="LINESTRING (82 44.95, 82 44.97, 82 45.0)"),
        rel("SEGMENT", "D2", ("Point", "J1"), ("Site", "S2"), cable_id="CB2"),
        rel("SEGMENT", "D3", ("Point", "M1"), ("Site", "S3"), cable_id="CB3", length_m=3000),
    ]
    store.upsert(nodes, rels)


@pytest.fixture
def network(store, store_env):
    build(store)
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, list(args), env=store_env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_distance(network):
    row = json.loads(network("distance", "S1", "--format", "json"))[0]
    assert row["maintenance_point"] == "MP1" and row["band"] == "within"
    assert row["geodesic_km"] == pytest.approx(distance_m(82.0, 45.0, 82.0, 44.8) / 1000,
                                               abs=0.01)
    assert row["recorded_maintenance_point"] == "MP1" and row["recorded_km"] == 22.2
    row = json.loads(network("distance", "S9", "--format", "json"))[0]
    assert row["band"] == "unknown" and row["note"] == "the site has no coordinates"
    assert "博乐维护点" in network("distance", "S1")
    csv = network("distance", "S1", "--format", "csv").splitlines()
    assert csv[0].startswith("site,site_name,maintenance_point")


def test_sla(network):
    doc = json.loads(network("sla", "S1", "--requested", "2026-02-12", "--format", "json"))
    assert doc["tier"] == "GOLD" and doc["distance"]["band"] == "within"
    assert doc["resource_confirmation_due"] == "2026-02-24"
    assert doc["provisioning_due"] == "2026-02-14"
    assert doc["recovery"]["total_limit_hours"] == 3
    cut = json.loads(network("sla", "S1", "--requested", "2026-02-12", "--cable-cut",
                             "--fault-start", "2026-02-12T23:30", "--format", "json"))
    assert cut["recovery"]["total_limit_hours"] == 6
    assert cut["recovery"]["deadline"] == "2026-02-13T05:30"
    table = network("sla", "S3", "--requested", "2026-09-30")
    assert "2026-10-12" in table and "SILVER" in table           # 4 working days over 国庆


def test_locate_fault(network):
    measured = (distance_m(82, 44.90, 82, 44.92) + 0.5 * distance_m(82, 44.92, 82, 44.95)) * 1.02
    doc = json.loads(network("locate-fault", "CB1", "--from", "R1", "--distance",
                             f"{measured / 1000:.5f}km", "--fault-start", "2026-11-24T10:00",
                             "--format", "json"))
    assert doc["section_id"] == "SEC2" and doc["lat"] == pytest.approx(44.935, abs=2e-5)
    assert doc["before"]["id"] == "J1" and doc["after"]["id"] == "M1"
    assert doc["maintenance_point"]["id"] == "MP1"
    sites = {s["site"]: s for s in doc["sites"]}
    assert set(sites) == {"S1", "S3", "S4"}            # S2 hangs off J1, before the fault
    assert sites["S1"]["status"] == "DOWN" and sites["S3"]["status"] == "DOWN"
    assert sites["S4"]["status"] == "UNTRACED"         # behind the break, but no device
    assert sites["S1"]["tier"] == "GOLD" and sites["S1"]["limit_hours"] == 6   # 3 h + 3 h cut
    assert sites["S1"]["deadline"] == "2026-11-24T16:00"
    assert sites["S3"]["limit_hours"] == 7
    # near the room: S2 is behind too
    doc = json.loads(network("locate-fault", "CB1", "--from", "R1", "--distance", "500m",
                             "--format", "json"))
    assert {s["site"] for s in doc["sites"]} == {"S1", "S2", "S3", "S4"}
    table = network("locate-fault", "CB1", "--from", "R1", "--distance", "500")
    assert "SEC1" in table and "接头盒1" in table
    csv = network("locate-fault", "CB1", "--from", "R1", "--distance", "500", "--format", "csv")
    assert csv.splitlines()[0].startswith("cable,fault_lon,fault_lat,section,site")


def test_export(network, tmp_path):
    data = json.loads(network("export", "--cable", "CB1"))
    ids = sorted(f["properties"]["id"] for f in data["features"])
    assert ids == ["J1", "M1", "R1", "S1", "SEC1", "SEC2", "SEC3"]
    whole = json.loads(network("export"))
    assert len(whole["features"]) == 2 + 1 + 2 + 4 + 6      # MPs, room, points, sites, sections
    approx = next(f for f in whole["features"] if f["properties"]["id"] == "D2")
    assert approx["geometry"]["coordinates"] == [[82.0, 44.92], [82.01, 44.93]]
    site = json.loads(network("export", "--site", "S1", "--crs", "gcj02"))
    assert site["metadata"]["crs"] == "GCJ-02"
    s1 = next(f for f in site["features"] if f["properties"]["id"] == "S1")
    assert s1["geometry"]["coordinates"] == pytest.approx(list(wgs84_to_gcj02(82.0, 45.0)),
                                                          abs=1e-7)
    roles = {f["properties"]["role"]: f for f in site["features"]}
    assert {"site", "device", "maintenance_point", "route_a", "room", "point"} <= set(roles)
    assert roles["route_a"]["properties"]["routes"] == ["A"]
    out = tmp_path / "net.kml"
    network("export", "--format", "kml", "-o", str(out))
    assert out.read_text(encoding="utf-8").count("<Placemark") == 15


def test_sites_beyond_the_break(network, store):
    """The store walk behind UNTRACED: every site on the customer side, device or not."""
    from inventory.faults import locate, sites_beyond_break

    measured = (distance_m(82, 44.90, 82, 44.92) + 0.5 * distance_m(82, 44.92, 82, 44.95)) * 1.02
    sections, location = locate(store, "CB1", "R1", measured)
    sites, how = sites_beyond_break(store, sections, location)
    assert [s.id for s in sites] == ["S1", "S3", "S4"]
    assert how == "sites beyond the break, away from the instrument"


def test_errors_are_one_line(store, store_env):
    build(store)
    env = {**os.environ, **store_env}
    for args, message in [
        (["distance", "NOPE"], "error: Site 'NOPE' not found"),
        (["locate-fault", "CBX", "--from", "R1", "--distance", "1km"],
         "error: Cable 'CBX' not found"),
        (["locate-fault", "CB1", "--from", "J1", "--distance", "1km"], "middle of the cable"),
        (["locate-fault", "CB1", "--from", "R1", "--distance", "99km"], "beyond the far end"),
        (["locate-fault", "CB1", "--from", "R1", "--distance", "12 miles"], "distance="),
        (["sla", "S1", "--requested", "yesterday"], "expected a date"),
        (["export", "--crs", "bd09"], "exports are wgs84 or gcj02"),
    ]:
        done = subprocess.run([sys.executable, "-m", "inventory", *args], capture_output=True,
                              text=True, env=env, timeout=120, check=False)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, \
            (args, done.stderr)
