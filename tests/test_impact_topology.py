"""A hand-drawn network for the what-if tests (fault impact, plans), and checks that it
is what its diagram says.

::

                           R-AGG [AGG-1]
                          /             \\
             C-R3 in D-R3                 C-R2 in D-R2
                        /                   \\
       R-ACC1 [PTN-1] ------ C-R1 in D-R1 ------ R-ACC2 [PTN-2]
         |   |   |                                  |   |   |
         |   |   +-- C-G2A (D-X) -- MH-X1 --+       |   |   +-- C-S1 (D-Y) -- S1 (STANDARD)
         |   |                              |       |   |
         |   |        G2 (GOLD) ------------+       |   |
         |   |         +-- C-G2B (D-X) -- MH-X2 ----+   |
         |   |                                          |
         |   +-- C-G1A (D-A) -- MH-A -- G1 (GOLD) -- MH-B -- C-G1B (D-B) -+
         |
         +-- C-B1A (D-X) -- MH-X1 -- B1 (BRONZE)
         +-- C-B1B (D-Y) -- MH-Y  --/

* G1: GOLD, two routers, route A in duct D-A to PTN-1, route B in D-B to PTN-2: compliant.
* G2: GOLD, two routers, both routes in duct D-X (to PTN-1 via MH-X1, to PTN-2 via MH-X2):
  NON_COMPLIANT (shared duct).
* B1: BRONZE, one router, route 1 in D-X via MH-X1, route 2 in D-Y via MH-Y, both to PTN-1.
* S1: STANDARD, one router, one route in D-Y to PTN-2.
* Cable section CS-G1B2 (MH-B - R-ACC2) has all 12 cores in use; the others have 10 free.
* Ring R-ACC1 - R-ACC2 - R-AGG - R-ACC1 in three different ducts.

Failing D-X takes G2 down and degrades B1; G1 and S1 are not affected.
"""

from __future__ import annotations

from inventory.graph.store import Node, Rel

MP = Node("MaintenancePoint", "MP-BL", {"name": "博乐维护点", "lon": 82.00, "lat": 44.90,
                                        "contact": "维护班", "phone": "0909-1111111"})


def _customer(cid: str, name: str, tier: str) -> Node:
    return Node("Customer", cid, {"name": name, "tier": tier, "contact": f"{name}联系人",
                                  "phone": f"139{cid[-2:]:0>8}", "account_manager": "马经理",
                                  "account_manager_phone": "13899990000",
                                  "address": f"博乐市{name}路 1 号"})


def _site(sid: str, cid: str, name: str, tier: str, lon: float, lat: float) -> Node:
    return Node("Site", sid, {"customer_id": cid, "name": name, "tier": tier, "lon": lon,
                              "lat": lat, "address": f"博乐市{name}", "contact": "站点联系人",
                              "phone": "0909-2222222"})


def _device(eid: str, kind: str, layer: str) -> Node:
    return Node("Equipment", eid, {"name": eid, "type": kind, "layer": layer,
                                   "monitored": True})


def _point(pid: str, lon: float, lat: float, kind: str = "MANHOLE") -> Node:
    return Node("Point", pid, {"name": pid, "kind": kind, "lon": lon, "lat": lat})


def _room(rid: str, kind: str, lon: float, lat: float) -> Node:
    return Node("Room", rid, {"name": rid, "kind": kind, "lon": lon, "lat": lat})


def located(device: str, label: str, place: str) -> Rel:
    return Rel("LOCATED_AT", f"LOCATED_AT:{device}", ("Equipment", device), (label, place))


def section(sid: str, a: tuple[str, str], z: tuple[str, str], cable: str, duct: str,
            length: float = 500.0, fibers: int = 12, used: int = 2) -> Rel:
    return Rel("SEGMENT", sid, a, z, {"cable_id": cable, "duct_ids": [duct], "length_m": length,
                                      "fiber_count": fibers, "cores_used": used,
                                      "laying": "DUCT"})


def build() -> tuple[list[Node], list[Rel]]:
    """The records of the diagram above."""
    nodes = [
        MP,
        _customer("CU-01", "金一", "GOLD"), _customer("CU-02", "金二", "GOLD"),
        _customer("CU-03", "铜一", "BRONZE"), _customer("CU-04", "标一", "STANDARD"),
        _site("G1", "CU-01", "金一本部", "GOLD", 82.05, 44.90),
        _site("G2", "CU-02", "金二本部", "GOLD", 82.06, 44.91),
        _site("B1", "CU-03", "铜一本部", "BRONZE", 82.04, 44.92),
        _site("S1", "CU-04", "标一本部", "STANDARD", 82.07, 44.93),
        _room("R-ACC1", "ACCESS", 82.03, 44.90), _room("R-ACC2", "ACCESS", 82.08, 44.90),
        _room("R-AGG", "AGGREGATION", 82.055, 44.95),
        _device("PTN-1", "PTN", "ACCESS"), _device("PTN-2", "PTN", "ACCESS"),
        _device("AGG-1", "PTN", "AGGREGATION"),
        _device("RT-G1A", "ROUTER", "CUSTOMER"), _device("RT-G1B", "ROUTER", "CUSTOMER"),
        _device("RT-G2A", "ROUTER", "CUSTOMER"), _device("RT-G2B", "ROUTER", "CUSTOMER"),
        _device("RT-B1", "ROUTER", "CUSTOMER"), _device("RT-S1", "ROUTER", "CUSTOMER"),
        _point("MH-A", 82.04, 44.90), _point("MH-B", 82.065, 44.90),
        _point("MH-X1", 82.045, 44.91), _point("MH-X2", 82.07, 44.91),
        _point("MH-Y", 82.035, 44.92),
    ]
    for cable, level in (("C-R1", "TRUNK"), ("C-R2", "TRUNK"), ("C-R3", "TRUNK"),
                         ("C-G1A", "DISTRIBUTION"), ("C-G1B", "DISTRIBUTION"),
                         ("C-G2A", "DISTRIBUTION"), ("C-G2B", "DISTRIBUTION"),
                         ("C-B1A", "DISTRIBUTION"), ("C-B1B", "DISTRIBUTION"),
                         ("C-S1", "DISTRIBUTION")):
        nodes.append(Node("Cable", cable, {"name": cable, "level": level, "fiber_count": 12}))
    for duct, kind in (("D-R1", "TRUNK"), ("D-R2", "TRUNK"), ("D-R3", "TRUNK"),
                       ("D-A", "DISTRIBUTION"), ("D-B", "DISTRIBUTION"), ("D-X", "TRUNK"),
                       ("D-Y", "DISTRIBUTION")):
        nodes.append(Node("Duct", duct, {"name": duct, "kind": kind}))
    for cid, site in (("CU-01", "G1"), ("CU-02", "G2"), ("CU-03", "B1"), ("CU-04", "S1")):
        nodes.append(Node("Circuit", f"CIR-{site}", {
            "name": f"{site} 专线", "customer_id": cid, "service_type": "PTN",
            "a_end": site}))
    R1, R2, AG = ("Room", "R-ACC1"), ("Room", "R-ACC2"), ("Room", "R-AGG")

    def site(s: str) -> tuple[str, str]:
        return ("Site", s)

    def mh(p: str) -> tuple[str, str]:
        return ("Point", p)

    rels = [
        located("PTN-1", "Room", "R-ACC1"), located("PTN-2", "Room", "R-ACC2"),
        located("AGG-1", "Room", "R-AGG"),
        located("RT-G1A", "Site", "G1"), located("RT-G1B", "Site", "G1"),
        located("RT-G2A", "Site", "G2"), located("RT-G2B", "Site", "G2"),
        located("RT-B1", "Site", "B1"), located("RT-S1", "Site", "S1"),
        section("CS-R1", R1, R2, "C-R1", "D-R1", 4000, 48, 8),
        section("CS-R2", R2, AG, "C-R2", "D-R2", 6000, 48, 8),
        section("CS-R3", AG, R1, "C-R3", "D-R3", 6000, 48, 8),
        section("CS-G1A1", site("G1"), mh("MH-A"), "C-G1A", "D-A", 800),
        section("CS-G1A2", mh("MH-A"), R1, "C-G1A", "D-A", 900),
        section("CS-G1B1", site("G1"), mh("MH-B"), "C-G1B", "D-B", 1200),
        section("CS-G1B2", mh("MH-B"), R2, "C-G1B", "D-B", 1300, 12, 12),   # full
        section("CS-G2A1", site("G2"), mh("MH-X1"), "C-G2A", "D-X", 1000),
        section("CS-G2A2", mh("MH-X1"), R1, "C-G2A", "D-X", 1500),
        section("CS-G2B1", site("G2"), mh("MH-X2"), "C-G2B", "D-X", 900),
        section("CS-G2B2", mh("MH-X2"), R2, "C-G2B", "D-X", 1100),
        section("CS-B1A1", site("B1"), mh("MH-X1"), "C-B1A", "D-X", 700),
        section("CS-B1A2", mh("MH-X1"), R1, "C-B1A", "D-X", 1500),
        section("CS-B1B1", site("B1"), mh("MH-Y"), "C-B1B", "D-Y", 600),
        section("CS-B1B2", mh("MH-Y"), R1, "C-B1B", "D-Y", 1800),
        section("CS-S1", site("S1"), R2, "C-S1", "D-Y", 3500),
    ]
    for cid, s in (("CU-01", "G1"), ("CU-02", "G2"), ("CU-03", "B1"), ("CU-04", "S1")):
        rels.append(Rel("HAS_SITE", f"HAS_SITE:{s}", ("Customer", cid), ("Site", s)))
        rels.append(Rel("TERMINATES_AT", f"TERMINATES_AT:CIR-{s}->A", ("Circuit", f"CIR-{s}"),
                        ("Site", s), {"end": "A"}))
        rels.append(Rel("SERVED_BY", f"SERVED_BY:{s}", ("Site", s), MP.key,
                        {"distance_km": 5.0}))
    return nodes, rels


def load(store) -> None:
    nodes, rels = build()
    store.upsert(nodes, rels)


# --- the topology is what the diagram says --------------------------------------------------

def test_topology_routes():
    from inventory.graph.network import build_graph
    from inventory.graph.trace import trace

    G = build_graph(*build())
    assert trace(G, "G1").diverse == 2
    g2 = trace(G, "G2")
    assert g2.diverse < 2 and any(s.id == "D-X" for s in g2.shared)
    assert trace(G, "B1").diverse == 2
    assert len(trace(G, "S1").routes) == 1
