"""Tier compliance, single points of failure and shared risk on hand-drawn topologies
(diagrams in tests/topologies.py), plus property checks on random topologies."""

from __future__ import annotations

import pytest
import topologies as T
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.graph.compliance import (
    REQUIREMENTS,
    audit,
    audit_summary,
    check,
    shared_risk,
    single_points_of_failure,
)
from inventory.graph.network import AGG, AGG_HOST, AGG_ROOM, load_site_graph, network_index
from inventory.graph.trace import analyse_site, connected, route_elements, trace


@pytest.mark.parametrize("name", sorted(T.CASES))
def test_verdicts(name):
    builder, verdict, failed = T.CASES[name]
    result = check(builder().graph(), "S")
    assert result.verdict == verdict
    assert result.failed == failed
    assert [r.name for r in result.requirements] == list(REQUIREMENTS)


@pytest.mark.parametrize("name", sorted(T.CASES))
def test_same_answer_from_the_store(store, name):
    topo = T.CASES[name][0]()
    topo.load(store)
    assert check(load_site_graph(store, "S"), "S").as_dict() == \
        check(topo.graph(), "S").as_dict()


def req(result, name):
    return result.requirement(name)


def test_gold_compliant_has_no_spof():
    result = check(T.gold_ok().graph(), "S")
    assert result.verdict == "COMPLIANT" and result.spofs == []
    r = req(result, "diverse_routes")
    assert (r.required, r.found, r.verdict) == (2, 2, "PASS")


def test_standard_every_element_of_the_one_route_is_a_spof():
    spofs = {(s.kind, s.id) for s in single_points_of_failure(T.standard_ok().graph(), "S")}
    assert {("device", "CPE1"), ("section", "S1a"), ("section", "S1b"), ("cable", "C1"),
            ("duct", "D1"), ("point", "MH1"), ("room", "R1"), ("device", "AN1"),
            ("section", "TR-0"), ("cable", "TC-0"), ("duct", "TD-0")} == spofs
    sides = {s.id: s.side for s in single_points_of_failure(T.standard_ok().graph(), "S")}
    assert sides["TC-0"] == "aggregation" and sides["C1"] == "access"


def test_shared_duct_spof_and_message():
    result = check(T.shared_duct().graph(), "S")
    assert [(s.kind, s.id) for s in result.spofs] == [("duct", "DX")]
    assert "between" in result.spofs[0].where
    r = req(result, "diverse_routes")
    assert (r.found, r.elements) == (1, ["DX"])
    assert "both routes run in duct DX" in r.detail


def test_shared_cable_other_cores():
    result = check(T.shared_cable().graph(), "S")
    assert ("cable", "C1") in {(s.kind, s.id) for s in result.spofs}
    assert req(result, "diverse_routes").elements == ["C1"]


def test_shared_closure():
    result = check(T.shared_closure().graph(), "S")
    assert [(s.kind, s.id) for s in result.spofs] == [("point", "CL1")]


def test_both_access_nodes_in_one_room():
    result = check(T.same_room().graph(), "S")
    r = req(result, "access_nodes")
    assert (r.required, r.found, r.verdict) == (2, 1, "FAIL")
    assert "share" in r.detail and "R1" in r.detail
    assert ("room", "R1") in {(s.kind, s.id) for s in result.spofs}


def test_single_device_gold():
    r = req(check(T.single_device_gold().graph(), "S"), "customer_devices")
    assert (r.required, r.found, r.verdict) == (2, 1, "FAIL")


def test_access_node_not_on_a_ring():
    r = req(check(T.no_ring().graph(), "S"), "ring")
    assert (r.required, r.found, r.verdict) == (2, 1, "FAIL")
    assert r.elements == ["AN2"] and "AN2: single path" in r.detail


def test_ring_not_required_below_silver():
    r = req(check(T.standard_ok().graph(), "S"), "ring")
    assert (r.required, r.verdict) == (0, "PASS")


def test_unmonitored_device():
    r = req(check(T.unmonitored().graph(), "S"), "monitored")
    assert r.verdict == "FAIL" and r.elements == ["CPE2"]


def test_splitters_need_no_monitoring():
    r = req(check(T.pon_tree().graph(), "S"), "monitored")
    assert r.verdict == "PASS" and r.required == 2  # ONU1 and OLT1; SP1/SP2 are passive


def test_missing_section_is_incomplete_not_a_crash():
    result = check(T.missing_section().graph(), "S")
    assert result.verdict == "INCOMPLETE"
    assert req(result, "access_nodes").verdict == "UNKNOWN"
    assert "no route" in result.notes[0]


def test_site_without_device_is_incomplete():
    result = check(T.no_device().graph(), "S")
    assert result.verdict == "INCOMPLETE"
    assert req(result, "customer_devices").verdict == "UNKNOWN"


def test_monitoring_unknown_makes_incomplete():
    topo = T.gold_ok()
    props = dict(topo.nodes["AN1"].props)
    del props["monitored"]
    topo.nodes["AN1"] = type(topo.nodes["AN1"])("Equipment", "AN1", props)
    result = check(topo.graph(), "S")
    assert result.verdict == "INCOMPLETE" and result.unknown == ["monitored"]


def test_site_tier_overrides_customer_tier():
    topo = T.gold_ok()
    topo.nodes["S"].props["tier"] = "STANDARD"
    assert check(topo.graph(), "S").tier == "STANDARD"


def test_fault_impact_with_failed_elements():
    G = T.gold_ok().graph()
    degraded = check(G, "S", failed=[("duct", "D1")])
    assert degraded.verdict == "NON_COMPLIANT"
    assert set(degraded.failed) >= {"diverse_routes"}
    assert connected(G, "S", [("duct", "D1")])
    assert not connected(G, "S", [("duct", "D1"), ("cable", "C2")])
    assert check(G, "S").verdict == "COMPLIANT"  # the graph itself is untouched


def test_shared_risk_of_two_routes():
    G = T.shared_duct().graph()
    a, b = trace(G, "S").routes[:2]
    shared = shared_risk(G, a, b, exempt=[("Site", "S")])
    assert [(s.kind, s.id) for s in shared] == [("duct", "DX")]


def test_audit_filters_and_summary():
    topo = T.pon_tree()
    G = topo.graph()
    checks = list(audit(G))
    assert [c.site_id for c in checks] == ["S", "S2"]
    assert [c.site_id for c in audit(G, customer="CU2")] == ["S2"]
    assert list(audit(G, tier="GOLD")) == []
    assert [c.site_id for c in audit(G, verdict="COMPLIANT")] == ["S", "S2"]
    summary = audit_summary(checks)
    assert summary[-1]["tier"] == "TOTAL" and summary[-1]["sites"] == 2


# --- properties on random topologies ---------------------------------------------------------

@st.composite
def random_topology(draw):
    """A site with 1-2 devices, 2-7 points, 1-3 access rooms and an aggregation ring, joined
    by random sections of a few cables in a few ducts (so cables and ducts span sections)."""
    tier = draw(st.sampled_from(["STANDARD", "BRONZE", "SILVER", "GOLD"]))
    t = T.base(tier, draw(st.integers(1, 2)))
    points = [t.point(f"P{i}", draw(st.sampled_from(["MANHOLE", "CLOSURE", "CABINET"])))
              for i in range(draw(st.integers(2, 7)))]
    rooms = [T.access_room(t, i) for i in range(1, draw(st.integers(1, 3)) + 1)]
    if draw(st.booleans()) and len(rooms) > 1:  # a second access node in a room
        t.device("ANX", "PTN", "ACCESS", rooms[0])
    places = ["S", *points, *rooms]
    n_sections = draw(st.integers(2, 14))
    for i in range(n_sections):
        a = draw(st.sampled_from(places))
        b = draw(st.sampled_from([p for p in places if p != a]))
        cable = f"C{draw(st.integers(0, 4))}"
        ducts = tuple(sorted(set(draw(st.lists(st.sampled_from(["D0", "D1", "D2", "D3"]),
                                               max_size=2)))))
        t.seg(f"X{i}", a, b, cable, ducts, draw(st.integers(10, 900)))
    T.aggregation(t, rooms, closed=draw(st.booleans()))
    return t


def universe(G):
    ix = network_index(G)
    keys = {k for k in G if k[0] != "Site" and not ix.role[k] & (AGG | AGG_ROOM | AGG_HOST)}
    keys |= {e for v in ix.elements if v[0] == "SEGMENT" for e in ix.elements[v]}
    return keys


PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(random_topology())
def test_every_spof_really_cuts_and_nothing_else_does(topo):
    G = topo.graph()
    if not connected(G, "S"):
        return
    spofs = {(s.kind, s.id) for s in single_points_of_failure(G, "S")}
    from inventory.graph.trace import KIND
    for key in universe(G):
        cut = not connected(G, "S", [key])
        assert cut == ((KIND[key[0]], key[1]) in spofs), key


@PROPERTY
@given(random_topology())
def test_routes_reported_diverse_share_nothing(topo):
    G = topo.graph()
    a = analyse_site(G, "S")
    if a.access is None or a.access.diverse < 2:
        return
    ix = network_index(G)
    p1, p2 = a.access.paths[:2]
    shared = route_elements(ix, p1) & route_elements(ix, p2)
    assert shared <= a.access.exempt
    # what may be exempt: the site, and a single device / access node with its room
    allowed = {("Site", "S")} | set(a.devices) | set(a.access_nodes) | {
        ix.location[n] for n in a.access_nodes}
    assert a.access.exempt <= allowed
    if a.dual_device:
        assert p1[0] != p2[0]
    if a.dual_node:
        assert p1[-1] != p2[-1] and ix.location[p1[-1]] != ix.location[p2[-1]]
    # and the trace says the same
    t = trace(G, "S")
    assert t.diverse == 2 and not t.shared
