"""Fault impact on the hand-drawn network of test_impact_topology.py (diagram there), on
both stores, through the library and the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from test_impact_topology import build, load

from inventory.cli import cli
from inventory.errors import InventoryError, NotFound
from inventory.graph.compliance import check
from inventory.graph.impact import (
    DEGRADED,
    DOWN,
    candidate_sites,
    fault_impact,
    resolve_elements,
    store_impact,
)
from inventory.graph.network import build_graph
from inventory.graph.trace import connected


@pytest.fixture
def G():
    return build_graph(*build())


def statuses(result) -> dict[str, str]:
    return {s.site_id: s.status for s in result.sites}


def test_shared_duct_takes_down_the_site_with_both_routes_in_it(store):
    """G2 (GOLD) has both routes in D-X: DOWN. B1 (BRONZE) has one of its two routes in
    D-X: DEGRADED (diverse_routes lost). G1 and S1 do not use D-X."""
    load(store)
    result = store_impact(store, ["Duct:D-X"])
    assert statuses(result) == {"G2": DOWN, "B1": DEGRADED}
    b1 = next(s for s in result.sites if s.site_id == "B1")
    assert b1.lost == ["diverse_routes"]
    assert result.cable_cut
    g2 = result.down[0]
    assert g2.customer_name == "金二" and g2.circuits == ["CIR-G2"]
    assert g2.account_manager == "马经理" and g2.account_manager_phone == "13899990000"
    assert g2.contact == "站点联系人"
    assert g2.feedback == "every 30 min"


def test_statuses_are_true_on_the_graph(G):
    """Property: every DOWN site is really disconnected, every DEGRADED one still connected
    and failing a requirement; every other site keeps its verdict."""
    for failed in ([("Duct", "D-X")], [("Duct", "D-Y")], [("Room", "R-ACC1")],
                   [("Point", "MH-X1")], [("Cable", "C-G1A")], [("SEGMENT", "CS-R1")],
                   [("Equipment", "PTN-2")], [("Duct", "D-A"), ("Duct", "D-B")]):
        result = fault_impact(G, failed)
        found = statuses(result)
        for site in ("G1", "G2", "B1", "S1"):
            before = check(G, site, spofs=False)
            after = check(G, site, failed=failed, spofs=False)
            if found.get(site) == DOWN:
                assert connected(G, site) and not connected(G, site, failed)
            elif found.get(site) == DEGRADED:
                assert connected(G, site, failed)
                assert set(after.failed) - set(before.failed) or \
                    set(after.unknown) - set(before.unknown)
            else:
                assert connected(G, site, failed) == connected(G, site)
                assert after.verdict == before.verdict, (failed, site)


def test_room_failure(G):
    """R-ACC1 fails with PTN-1: B1 (homed only there) is down, G1 and G2 keep their PTN-2
    route but lose dual node and diversity; S1 (on PTN-2, STANDARD, no ring needed) is fine."""
    result = fault_impact(G, [("Room", "R-ACC1")])
    assert statuses(result) == {"B1": DOWN, "G1": DEGRADED, "G2": DEGRADED}
    g1 = next(s for s in result.sites if s.site_id == "G1")
    assert "access_nodes" in g1.lost and "ring" in g1.lost
    assert not result.cable_cut


def test_ring_section_degrades_ring_protection(G):
    """CS-R1 (ring R-ACC1 - R-ACC2) fails: both access nodes lose their ring; the GOLD
    sites that need it are degraded, BRONZE and STANDARD do not need a ring."""
    result = fault_impact(G, [("SEGMENT", "CS-R1")])
    assert statuses(result) == {"G1": DEGRADED, "G2": DEGRADED}
    assert all(s.lost == ["ring"] for s in result.sites)


def test_candidates_are_bounded(G):
    """A distribution duct only brings the sites behind it; the ring brings its nodes' sites."""
    assert {k[1] for k in candidate_sites(G, {("Duct", "D-A")})} == {"G1"}
    assert {k[1] for k in candidate_sites(G, {("Duct", "D-Y")})} == {"B1", "S1"}
    assert {k[1] for k in candidate_sites(G, {("SEGMENT", "CS-R1")})} == {"G1", "G2", "B1",
                                                                        "S1"}


def test_deadline_and_urgency(G):
    """Travel from MP-BL (82.00, 44.90) to D-X is well within 50 km: GOLD 3 h + 3 h cable cut;
    BRONZE 5 h + 3 h. DOWN first."""
    start = dt.datetime(2026, 3, 2, 9, 0)
    result = fault_impact(G, [("Duct", "D-X")], depots=[("MP-BL", 82.0, 44.9)],
                          fault_start=start)
    assert [s.site_id for s in result.sites] == ["G2", "B1"]
    g2, b1 = result.sites
    assert g2.recovery_limit_hours == 6.0 and g2.deadline == start + dt.timedelta(hours=6)
    assert b1.recovery_limit_hours == 8.0
    assert result.maintenance_point == "MP-BL" and result.travel_hours == 0.0


def test_travel_beyond_50_km_is_added(G):
    """A depot ~80 km away (further west): the part beyond 50 km at 50 km/h is added."""
    result = fault_impact(G, [("Room", "R-ACC1")], depots=[("FAR", 81.0, 44.90)])
    g1 = next(s for s in result.sites if s.site_id == "G1")
    assert 50 < result.distance_km < 90
    expected = round(3 + (result.distance_km - 50) / 50, 1)
    assert round(g1.recovery_limit_hours, 1) == expected


def test_resolve_elements(store):
    load(store)
    assert resolve_elements(store, ["D-X", "Cable:C-G1A", "section:CS-R1", "机房:R-ACC1"]) == [
        ("Duct", "D-X"), ("Cable", "C-G1A"), ("SEGMENT", "CS-R1"), ("Room", "R-ACC1")]
    with pytest.raises(InventoryError, match="not found"):
        resolve_elements(store, ["nope"])
    with pytest.raises(NotFound):
        resolve_elements(store, ["Duct:nope"])


def test_ambiguous_id_needs_a_prefix(sqlite_store):
    from inventory.graph.store import Node

    load(sqlite_store)
    sqlite_store.upsert([Node("Cable", "D-X", {"name": "a cable named like a duct",
                                               "level": "TRUNK"})])
    with pytest.raises(InventoryError, match="ambiguous: write cable:D-X or duct:D-X"):
        resolve_elements(sqlite_store, ["D-X"])


def test_cli_impact_formats(store, store_env):
    load(store)
    runner = CliRunner()
    result = runner.invoke(cli, ["impact", "Duct:D-X", "--format", "json",
                                 "--at", "2026-03-02T09:00"], env=store_env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["summary"]["down"] == 1 and document["summary"]["degraded"] == 1
    assert [s["site_id"] for s in document["sites"]] == ["G2", "B1"]
    assert document["sites"][0]["deadline"] == "2026-03-02T15:00"
    table = runner.invoke(cli, ["impact", "D-X"], env=store_env)
    assert table.exit_code == 0, table.output
    assert "DOWN" in table.output and "G2" in table.output and "马经理" in table.output
    csv_out = runner.invoke(cli, ["impact", "D-X", "--format", "csv"], env=store_env)
    assert csv_out.output.splitlines()[0].startswith("status,site_id")
    assert len([line for line in csv_out.output.splitlines() if line]) == 3


def test_cli_impact_unknown_element(sqlite_store):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "inventory", "impact", "nope", "--store",
                             sqlite_store.location.removeprefix("sqlite:")],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: element 'nope' not found")
