"""Access plans (tests/data/plans/*) over the hand-drawn network of test_impact_topology.py:
read with the importer, laid over the store without changing it, validated, applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_impact_topology import load

from importers.plan import read_plan
from inventory.cli import cli
from inventory.errors import InventoryError
from inventory.geo.sla import sla_profile
from inventory.graph.compliance import check
from inventory.graph.network import load_network, load_site_graph
from inventory.graph.plan import (
    Plan,
    PlanView,
    apply_plan,
    overlay_subgraph,
    validate_plan,
)
from inventory.graph.store import Node, Rel

PLANS = Path(__file__).parent / "data" / "plans"


def validate(store, name: str, **kwargs):
    return validate_plan(store, read_plan(store, [PLANS / name]), **kwargs)


# --- the overlay ---------------------------------------------------------------------------------

def test_view_reads_as_if_applied_and_writes_nothing(store):
    load(store)
    digest = store.digest()
    plan = Plan(nodes=[Node("Duct", "D-NEW", {"name": "new", "kind": "TRUNK"}),
                       Node("Point", "MH-A", {"name": "renamed", "kind": "MANHOLE"})],
                rels=[Rel("SEGMENT", "CS-NEW", ("Point", "MH-A"), ("Room", "R-ACC1"),
                          {"cable_id": "C-G1A", "duct_ids": ["D-NEW"]})],
                removed_nodes=[("Point", "MH-X2")], removed_rels=[("SEGMENT", "CS-S1")])
    view = PlanView(store, plan)
    assert view.get_node("Point", "MH-A").props["name"] == "renamed"
    assert view.get_node("Point", "MH-X2") is None
    assert view.get_rel("SEGMENT", "CS-S1") is None
    assert [r.id for r in view.find_rels("SEGMENT", duct_ids="D-NEW")] == ["CS-NEW"]
    # the sections of a removed point go with it
    assert {r.id for r in view.find_rels("SEGMENT", duct_ids="D-X")} == {
        "CS-B1A1", "CS-B1A2", "CS-G2A1", "CS-G2A2"}
    assert [r.id for r in view.find_rels("SEGMENT", cable_id="C-G1A")] == [
        "CS-G1A1", "CS-G1A2", "CS-NEW"]
    ids = [n.id for n in view.iter_nodes("Duct")]
    assert ids == sorted(ids) and "D-NEW" in ids
    assert view.count_nodes()["Point"] == store.count_nodes()["Point"] - 1
    assert view.count_rels()["SEGMENT"] == store.count_rels()["SEGMENT"] - 3 + 1
    _, rels = view.neighbourhood([("Point", "MH-A")])
    assert {r.id for r in rels if r.type == "SEGMENT"} == {"CS-G1A1", "CS-G1A2", "CS-NEW"}
    assert view.digest() != digest
    with pytest.raises(InventoryError, match="read-only"):
        view.upsert([Node("Duct", "D-9", {"name": "x", "kind": "TRUNK"})])
    with pytest.raises(InventoryError, match="read-only"):
        view.delete([("Duct", "D-X")])
    # the network loaders work on the view
    G = load_network(view)
    assert ("Point", "MH-X2") not in G and G.graph["ducts"]["D-NEW"]["name"] == "new"
    assert ("Point", "MH-X2") not in load_site_graph(view, "G2")
    assert store.digest() == digest


def test_removing_a_cable_removes_its_sections(sqlite_store):
    load(sqlite_store)
    view = PlanView(sqlite_store, Plan(removed_nodes=[("Cable", "C-G2B")]))
    assert view.find_rels("SEGMENT", cable_id="C-G2B") == []
    assert view.get_rels("SEGMENT", ["CS-G2B1", "CS-G2B2", "CS-G2A1"]).keys() == {"CS-G2A1"}


def test_overlay_subgraph_copies(sqlite_store):
    load(sqlite_store)
    sub = sqlite_store.subgraph([("Site", "S1")], 2)
    plan = Plan(removed_rels=[("SEGMENT", "CS-S1")])
    out = overlay_subgraph(sub, plan)
    assert ("SEGMENT", "CS-S1") in sub.rels and ("SEGMENT", "CS-S1") not in out.rels


# --- validation ----------------------------------------------------------------------------------

def test_plan_that_fixes_a_non_compliant_site_turns_it_compliant(store):
    """G2 (GOLD) has both routes in duct D-X; the plan moves route B into a new duct D-NEW
    through a new manhole and removes the old sections and cable."""
    load(store)
    digest = store.digest()
    assert check(load_network(store), "G2").verdict == "NON_COMPLIANT"
    result = validate(store, "fix-g2", requested="2026-09-30")
    assert result.accepted, [f.message for f in result.findings]
    (g2,) = result.sites
    assert (g2["site_id"], g2["verdict"], g2["new"]) == ("G2", "COMPLIANT", False)
    assert [r["name"] for r in g2["routes"]] == ["A", "B"]
    assert all(r["length_m"] > 0 for r in g2["routes"])
    expected = sla_profile("GOLD", g2["distance_km"], "2026-09-30")
    assert g2["band"] == "within" and 0 < g2["distance_km"] < 10
    assert g2["resource_confirmation_due"] == expected.resource_confirmation_due.isoformat()
    assert g2["provisioning_due"] == expected.provisioning_due.isoformat()
    assert result.existing == []
    assert store.digest() == digest


def test_plan_through_a_duct_a_gold_site_relies_on_flags_that_site(store):
    """The same fix, but the new route runs in D-B through MH-B: G2 becomes compliant and
    G1 (GOLD, route B in D-B) is flagged."""
    load(store)
    digest = store.digest()
    result = validate(store, "fix-g2-via-gold-duct")
    assert result.sites[0]["verdict"] == "COMPLIANT"
    (g1,) = result.existing
    assert g1["site_id"] == "G1" and g1["effect"] == "shared risk"
    assert "duct:D-B" in g1["shared"] and "point:MH-B" in g1["shared"]
    flags = [f for f in result.findings if f.site_id == "G1"]
    assert flags and flags[0].level == "warning" and "duct D-B" in flags[0].message
    assert store.digest() == digest


def test_rerouting_a_standard_site_into_a_gold_duct(sqlite_store):
    load(sqlite_store)
    result = validate(sqlite_store, "reroute-s1-into-gold-duct")
    assert result.accepted and result.sites[0]["site_id"] == "S1"
    assert [e["site_id"] for e in result.existing] == ["G1"]
    assert "duct:D-A" in result.existing[0]["shared"]


def test_free_cores(store):
    """N1 reuses CS-G1A2 (10 free cores): fine; through CS-G1B2 (all 12 used): an error."""
    load(store)
    ok = validate(store, "new-site")
    assert ok.accepted and ok.sites[0]["new"] and ok.sites[0]["verdict"] == "COMPLIANT"
    assert [(r["section_id"], r["free"], r["needed"], r["ok"]) for r in ok.resources] == [
        ("CS-G1A2", 10, 2, True)]
    full = validate(store, "new-site-no-cores")
    assert not full.accepted
    (error,) = full.errors
    assert error.kind == "resources" and error.element == "CS-G1B2"
    assert "0 free core(s) of 12; the plan needs 2" in error.message


def test_two_planned_sites_may_not_use_more_cores_than_are_free(sqlite_store, tmp_path):
    """Two new sites through CS-G1A2 with only 3 free cores: 4 needed."""
    load(sqlite_store)
    section = sqlite_store.get_rel("SEGMENT", "CS-G1A2")
    sqlite_store.upsert(rels=[Rel(section.type, section.id, section.start, section.end,
                                  {**section.props, "cores_used": 9})])
    plan = tmp_path / "two"
    plan.mkdir()
    for name in ("cables.csv", "circuits.csv"):
        (plan / name).write_text((PLANS / "new-site" / name).read_text(encoding="utf-8"),
                                 encoding="utf-8")
    (plan / "sites.csv").write_text(
        "id,customer_id,name,tier,lon,lat\nN1,CU-04,n1,STANDARD,82.045,44.895\n"
        "N2,CU-04,n2,STANDARD,82.046,44.895\n", encoding="utf-8")
    (plan / "equipment.csv").write_text(
        "id,name,type,layer,location_id,monitored\nRT-N1,r1,ROUTER,CUSTOMER,Site:N1,yes\n"
        "RT-N2,r2,ROUTER,CUSTOMER,Site:N2,yes\n", encoding="utf-8")
    (plan / "cable_sections.csv").write_text(
        "id,cable_id,a_id,z_id,duct_ids\nCS-N1,C-N1,Site:N1,MH-A,D-A\n"
        "CS-N2,C-N1,Site:N2,MH-A,D-A\n", encoding="utf-8")
    result = validate_plan(sqlite_store, read_plan(sqlite_store, [plan]))
    assert [(r["section_id"], r["free"], r["needed"]) for r in result.resources] == [
        ("CS-G1A2", 3, 4)]
    assert not result.accepted


def test_bad_removals_are_reported_with_file_and_row(sqlite_store):
    load(sqlite_store)
    read = read_plan(sqlite_store, [PLANS / "bad-removals"])
    messages = [str(e) for e in read.errors]
    assert messages[0] == ("removals.csv, row 2, column id: no Duct 'D-NOPE' in the store to "
                           "remove (value 'D-NOPE')")
    assert messages[1].startswith("removals.csv, row 3, column entity: unknown entity")
    assert any("still runs in it" in m for m in messages)
    assert not validate_plan(sqlite_store, read).accepted


def test_plan_errors_come_from_the_importer(sqlite_store, tmp_path):
    load(sqlite_store)
    (tmp_path / "cable_sections.csv").write_text(
        "id,cable_id,a_id,z_id,laying\nCS-1,C-NOPE,Site:G1,MH-A,sideways\n", encoding="utf-8")
    read = read_plan(sqlite_store, [tmp_path])
    text = "\n".join(str(e) for e in read.errors)
    assert "C-NOPE" in text and "sideways" in text


# --- apply ---------------------------------------------------------------------------------------

def test_apply_writes_the_plan(store):
    load(store)
    read = read_plan(store, [PLANS / "fix-g2"])
    assert validate_plan(store, read).accepted
    result = apply_plan(store, read.plan)
    assert result["deleted"] == 3
    assert store.get_rel("SEGMENT", "CS-G2B1") is None
    assert store.get_node("Cable", "C-G2B") is None
    assert store.get_rel("SEGMENT", "CS-G2N1").props["duct_ids"] == ["D-NEW"]
    assert check(load_network(store), "G2").verdict == "COMPLIANT"


def test_cli_validate_and_apply(store, store_env):
    load(store)
    runner = CliRunner()
    digest = store.digest()
    out = runner.invoke(cli, ["plan", "validate", str(PLANS / "fix-g2-via-gold-duct"),
                              "--format", "json"], env=store_env)
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    assert document["accepted"] and document["existing"][0]["site_id"] == "G1"
    table = runner.invoke(cli, ["plan", "validate", str(PLANS / "new-site-no-cores")],
                          env=store_env)
    assert table.exit_code == 1 and "REJECTED" in table.output and "CS-G1B2" in table.output
    assert store.digest() == digest
    refused = runner.invoke(cli, ["plan", "apply", str(PLANS / "new-site-no-cores")],
                            env=store_env)
    assert refused.exit_code != 0 and store.digest() == digest
    applied = runner.invoke(cli, ["plan", "apply", str(PLANS / "fix-g2")], env=store_env)
    assert applied.exit_code == 0, applied.output
    assert "applied; 3 record(s) removed" in applied.output
    assert store.digest() != digest
    forced = runner.invoke(cli, ["plan", "apply", "--force", str(PLANS / "new-site-no-cores")],
                           env=store_env)
    assert forced.exit_code == 0, forced.output
    assert store.get_node("Site", "N1") is not None
