"""Route tracing on hand-drawn topologies (tests/topologies.py; diagrams there)."""

from __future__ import annotations

import doctest

import pytest
import topologies as T

import inventory.graph.compliance
import inventory.graph.handover
import inventory.graph.network
import inventory.graph.trace
from inventory.errors import InventoryError, NotFound
from inventory.graph.network import load_site_graph, network_index
from inventory.graph.trace import element_key, route_elements, trace

STEP_KEYS = {"kind", "id", "name", "lon", "lat", "geometry", "cable_id", "cable_name",
             "duct_ids", "length_m", "laying", "fiber_count", "cores_used", "maintainer",
             "boundary", "shared"}


@pytest.mark.parametrize("module", [inventory.graph.network, inventory.graph.trace,
                                    inventory.graph.compliance, inventory.graph.handover])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def ids(route):
    return [s.id for s in route.steps]


def test_standard_single_route():
    """standard_ok: [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]--TC-0~(AGG)"""
    t = trace(T.standard_ok().graph(), "S")
    assert [ids(r) for r in t.routes] == [["CPE1", "S", "S1a", "MH1", "S1b", "R1", "AN1"]]
    route = t.routes[0]
    assert route.complete and route.length_m == 700.0 and route.access_node == "AN1"
    assert route.elements["cables"] == ["C1"] and route.elements["ducts"] == ["D1"]
    assert route.elements["points"] == ["MH1"] and route.elements["rooms"] == ["R1"]
    assert t.diverse == 1
    # uplink: AN1 on a single trunk to aggregation
    assert [ids(u) for u in t.uplinks] == [["AN1", "R1", "TR-0", "AGG", "AGG-EQ"]]


def test_route_dict_shape():
    """The shape the geo exports read."""
    d = trace(T.gold_ok().graph(), "S").routes[0].as_dict()
    assert {"name", "steps", "length_m", "access_node"} <= set(d)
    for step in d["steps"]:
        assert STEP_KEYS <= set(step)
        assert step["kind"] in {"device", "room", "point", "site", "section"}
        assert step["maintainer"] in {"group", "base"}
    section = next(s for s in d["steps"] if s["kind"] == "section")
    assert section["cable_name"] == "cable C1" and section["cores_used"] == 2
    assert section["fiber_count"] == 12 and section["laying"] == "DUCT"


def test_gold_pair_is_diverse_and_starts_from_both_devices():
    t = trace(T.gold_ok().graph(), "S")
    a, b = t.routes[:2]
    assert t.diverse == 2 and not t.shared
    assert {a.steps[0].id, b.steps[0].id} == {"CPE1", "CPE2"}
    assert {a.access_node, b.access_node} == {"AN1", "AN2"}
    assert not any(s.shared for s in a.steps + b.steps)


def test_k_limits_routes():
    G = T.gold_ok().graph()
    assert len(trace(G, "S", k=1).routes) == 1
    assert len(trace(G, "S", k=10).routes) >= 2
    with pytest.raises(InventoryError):
        trace(G, "S", k=0)


def test_shared_duct_is_named_with_where():
    t = trace(T.shared_duct().graph(), "S")
    assert t.diverse == 1
    [shared] = t.shared
    assert (shared.kind, shared.id) == ("duct", "DX")
    assert "both routes run in duct DX" in shared.message
    assert "人井" in shared.message and "机房" in shared.message
    flagged = [s.id for r in t.routes[:2] for s in r.steps if s.shared]
    assert sorted(flagged) == ["S1b", "S2b"]


def test_shared_cable_on_other_cores_is_one_route():
    t = trace(T.shared_cable().graph(), "S")
    assert t.diverse == 1
    assert [(s.kind, s.id) for s in t.shared] == [("cable", "C1")]
    assert "different cores" in t.shared[0].message


def test_shared_closure():
    t = trace(T.shared_closure().graph(), "S")
    assert [(s.kind, s.id) for s in t.shared] == [("point", "CL1")]
    assert "接头盒" in t.shared[0].message


def test_pon_tree_traced_through_splitters():
    """pon_tree: ONU1 -> drop -> SP2 (in FB1) -> dist -> SP1 (in CAB1) -> feeder -> OLT1."""
    t = trace(T.pon_tree().graph(), "S")
    [route] = t.routes
    assert ids(route) == ["ONU1", "F3", "SP2", "F2", "SP1", "F1", "OLT1"]
    assert route.complete and route.access_node == "OLT1"
    # the splitters' cabinet and fiber box are elements of the route, S2 is not
    assert route.elements["points"] == ["CAB1", "FB1"]
    assert "S2" not in route.elements["sites"] and "ONU2" not in route.elements["devices"]
    # PON equipment is group-maintained end to end; the trunk feeder is the base network's
    by_id = {s.id: s for s in route.steps}
    assert [by_id[d].maintainer for d in ("ONU1", "SP2", "SP1", "OLT1")] == ["group"] * 4
    assert by_id["F1"].maintainer == "base" and by_id["F2"].maintainer == "group"
    assert by_id["SP1"].boundary  # distribution meets the trunk feeder in the cabinet


def test_other_site_is_not_traversed():
    """From S2 the only way is through SP2 — never through site S or ONU1."""
    t = trace(T.pon_tree().graph(), "S2")
    assert ids(t.routes[0])[:2] == ["ONU2", "F4"]
    assert all(s.id not in {"S", "ONU1", "F3"} for r in t.routes for s in r.steps)


def test_handover_boundaries():
    """handover: CPE1-(S)--C1 DIST in DD1,TD1--[CAB1]--C9 TRUNK--(R1)[MSTP AN1]"""
    route = trace(T.handover().graph(), "S").routes[0]
    by_id = {s.id: s for s in route.steps}
    assert [(s.id, s.maintainer) for s in route.steps] == [
        ("CPE1", "group"), ("S", "group"), ("H1", "group"), ("CAB1", "base"),
        ("H2", "base"), ("R1", "base"), ("AN1", "base")]
    assert by_id["CAB1"].boundary          # distribution cable joins the trunk at the 光交
    assert by_id["H1"].boundary            # its distribution duct joins the trunk duct
    assert not by_id["H2"].boundary and not by_id["S"].boundary


def test_missing_section_gives_incomplete_partial_route():
    t = trace(T.missing_section().graph(), "S")
    assert not t.complete
    [route] = t.routes
    assert not route.complete and ids(route) == ["CPE1", "S", "S1a", "MH1"]


def test_no_device_no_route():
    t = trace(T.no_device().graph(), "S")
    assert t.routes == [] and not t.complete and t.devices == []


def test_unknown_site():
    with pytest.raises(NotFound, match="NOPE"):
        trace(T.gold_ok().graph(), "NOPE")


def test_failed_elements_remove_routes():
    G = T.bronze_ok().graph()
    t = trace(G, "S", failed=[("cable", "C1")])
    assert [ids(r) for r in t.routes] == [["CPE1", "S", "S2a", "FB1", "S2b", "R1", "AN1"]]
    t = trace(G, "S", failed=["room:R1"])
    assert not t.complete


def test_element_key():
    assert element_key(("SEGMENT", "x")) == ("SEGMENT", "x")
    assert element_key("device:AN1") == ("Equipment", "AN1")
    with pytest.raises(InventoryError):
        element_key("AN1")
    with pytest.raises(InventoryError):
        element_key(("bogus", "AN1"))


def test_route_elements_follow_devices_into_their_room():
    G = T.pon_tree().graph()
    ix = network_index(G)
    assert ("Point", "CAB1") in route_elements(ix, [("Equipment", "SP1")])


@pytest.mark.parametrize("name", sorted(T.CASES))
def test_store_subgraph_traces_like_the_whole_graph(store, name):
    """load_site_graph (both stores) gives the same trace as the graph built in memory."""
    topo = T.CASES[name][0]()
    topo.load(store)
    expected = trace(topo.graph(), "S").as_dict()
    assert trace(load_site_graph(store, "S"), "S").as_dict() == expected


def test_load_site_graph_stops_at_other_sites(store):
    topo = T.pon_tree()
    topo.load(store)
    G = load_site_graph(store, "S")
    # S2's ONU is seen (one section past SP2) but the read goes no further
    assert ("Equipment", "ONU2") in G and ("Site", "S2") not in G
    assert G.graph["cables"].keys() >= {"C1", "C2", "C3"}
    with pytest.raises(NotFound):
        load_site_graph(store, "NOPE")


def test_uplink_never_runs_through_the_distribution_plant(store):
    """standard_ok with a second way from R1 to aggregation through a fiber box: not a ring
    (docs/analysis.md, Traversal); through a closure it is. The site read does not follow
    the fiber box either, and gives the same answer as the whole graph."""
    def topo(kind):
        t = T.standard_ok()
        t.point("X1", kind)
        t.seg("U1", "R1", "X1", "UC", ("UD",), 900, level="TRUNK")
        t.seg("U2", "X1", "AGG", "UC", ("UD2",), 900, level="TRUNK")
        return t

    for kind, diverse in (("FIBER_BOX", 1), ("CLOSURE", 2)):
        t = topo(kind)
        assert trace(t.graph(), "S").uplinks[0].name == "A"
        up = inventory.graph.trace.uplink_side(network_index(t.graph()), ("Equipment", "AN1"))
        assert up.diverse == diverse, kind
    t = topo("FIBER_BOX")
    t.load(store)
    G = load_site_graph(store, "S")
    assert ("Point", "X1") in G
    assert trace(G, "S").as_dict() == trace(t.graph(), "S").as_dict()
