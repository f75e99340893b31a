"""Hand-drawn topologies for the analysis tests, built as store records.

Each builder returns a :class:`Topo`: ``topo.graph()`` gives the networkx graph straight
away, ``topo.load(store)`` writes the records into a store (then
``load_site_graph(store, site)`` must give the same answers). Ids are unique across one
topology, so references need no label.

Legend of the diagrams: ``(X)`` a site or room, ``[X]`` a point or device, ``--C1/D1--`` a
cable section of cable C1 in duct D1, ``~`` the ring towards aggregation.
"""

from __future__ import annotations

import itertools
from typing import Any

from inventory.graph.network import build_graph
from inventory.graph.store import Node, Rel


class Topo:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.rels: list[Rel] = []

    # -- nodes
    def _add(self, label: str, node_id: str, **props: Any) -> str:
        assert node_id not in self.nodes, node_id
        self.nodes[node_id] = Node(label, node_id, {k: v for k, v in props.items()
                                                    if v is not None})
        return node_id

    def key(self, node_id: str) -> tuple[str, str]:
        return self.nodes[node_id].key

    def customer(self, cid: str, tier: str) -> str:
        return self._add("Customer", cid, name=f"customer {cid}", tier=tier)

    def site(self, sid: str, customer: str, tier: str | None = None) -> str:
        return self._add("Site", sid, name=f"site {sid}", customer_id=customer, tier=tier,
                         lon=82.0, lat=44.9)

    def room(self, rid: str, kind: str = "ACCESS") -> str:
        return self._add("Room", rid, name=f"room {rid}", kind=kind, lon=82.1, lat=44.9)

    def point(self, pid: str, kind: str = "MANHOLE") -> str:
        return self._add("Point", pid, name=f"{kind.lower()} {pid}", kind=kind, lon=82.05,
                         lat=44.9)

    def device(self, did: str, type_: str, layer: str, at: str,
               monitored: bool | None = True) -> str:
        self._add("Equipment", did, name=f"{type_} {did}", type=type_, layer=layer,
                  monitored=monitored)
        self.rels.append(Rel("LOCATED_AT", f"LOCATED_AT:{did}->{at}", self.key(did),
                             self.key(at)))
        return did

    def cable(self, cid: str, level: str = "DISTRIBUTION", fiber_count: int = 12) -> str:
        if cid not in self.nodes:
            self._add("Cable", cid, name=f"cable {cid}", level=level, fiber_count=fiber_count)
        return cid

    def duct(self, did: str, kind: str = "DISTRIBUTION") -> str:
        if did not in self.nodes:
            self._add("Duct", did, name=f"duct {did}", kind=kind)
        return did

    # -- relationships
    def seg(self, sid: str, a: str, b: str, cable: str, ducts: tuple[str, ...] = (),
            length: float = 100.0, level: str = "DISTRIBUTION", duct_kind: str | None = None,
            cores_used: int = 2) -> str:
        self.cable(cable, level)
        for d in ducts:
            self.duct(d, duct_kind or ("TRUNK" if level == "TRUNK" else "DISTRIBUTION"))
        self.rels.append(Rel("SEGMENT", sid, self.key(a), self.key(b), {
            "cable_id": cable, "duct_ids": list(ducts), "length_m": float(length),
            "laying": "DUCT" if ducts else "AERIAL", "fiber_count": 12,
            "cores_used": cores_used}))
        return sid

    def patch(self, a: str, b: str) -> None:
        self.rels.append(Rel("PATCH", f"PATCH:{a}->{b}", self.key(a), self.key(b)))

    def drop(self, rel_id: str) -> None:
        self.rels = [r for r in self.rels if r.id != rel_id]

    # -- output
    def graph(self):
        return build_graph(self.nodes.values(), self.rels)

    def load(self, store) -> None:
        store.upsert(self.nodes.values(), self.rels)


# --- building blocks --------------------------------------------------------------------------

def aggregation(t: Topo, ring: list[str], closed: bool = True, tag: str = "") -> None:
    """Aggregation room AGG{tag} with device AGG-EQ{tag}, and a trunk ring
    AGG ~ ring[0] ~ ring[1] ~ … ~ AGG (each hop its own cable and duct); ``closed=False``
    leaves only AGG ~ ring[0] ~ … ~ ring[-1] (a chain: no ring)."""
    agg = t.room(f"AGG{tag}", "AGGREGATION")
    t.device(f"AGG-EQ{tag}", "PTN", "AGGREGATION", agg)
    hops = [agg, *ring] + ([agg] if closed else [])
    for i, (a, b) in enumerate(itertools.pairwise(hops)):
        t.seg(f"TR{tag}-{i}", a, b, f"TC{tag}-{i}", (f"TD{tag}-{i}",), 2000, level="TRUNK")


def base(tier: str = "GOLD", devices: int = 2) -> Topo:
    """A site S of customer CU with ``devices`` customer routers CPE1, CPE2."""
    t = Topo()
    t.customer("CU", tier)
    t.site("S", "CU")
    for i in range(1, devices + 1):
        t.device(f"CPE{i}", "ROUTER", "CUSTOMER", "S")
    return t


def access_room(t: Topo, n: int, type_: str = "PTN") -> str:
    room = t.room(f"R{n}")
    t.device(f"AN{n}", type_, "ACCESS", room)
    return room


# --- compliant topologies, one per tier ---------------------------------------------------------

def standard_ok() -> Topo:
    """STANDARD: one device, one route, one access node (on a spur: no ring needed).

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]--TC-0~(AGG)
    """
    t = base("STANDARD", 1)
    access_room(t, 1)
    t.point("MH1")
    t.seg("S1a", "S", "MH1", "C1", ("D1",), 300)
    t.seg("S1b", "MH1", "R1", "C1", ("D1",), 400)
    aggregation(t, ["R1"], closed=False)
    return t


def bronze_ok() -> Topo:
    """BRONZE: one device, two diverse routes to one access node.

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]--TC-0~(AGG)
                 \\--C2/D2--[FB1]--C2/D2--/
    """
    t = standard_ok()
    t.nodes["CU"] = Node("Customer", "CU", {"name": "customer CU", "tier": "BRONZE"})
    t.point("FB1", "FIBER_BOX")
    t.seg("S2a", "S", "FB1", "C2", ("D2",), 350)
    t.seg("S2b", "FB1", "R1", "C2", ("D2",), 500)
    return t


def silver_ok() -> Topo:
    """SILVER: one device, two diverse routes to two access nodes in two rooms, both on a
    ring.

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]
                 \\--C2/D2--[MH2]--C2/D2--(R2)[AN2]
        ring: (AGG)~TC-0~(R1)~TC-1~(R2)~TC-2~(AGG)
    """
    t = base("SILVER", 1)
    access_room(t, 1)
    access_room(t, 2)
    t.point("MH1")
    t.point("MH2")
    t.seg("S1a", "S", "MH1", "C1", ("D1",), 300)
    t.seg("S1b", "MH1", "R1", "C1", ("D1",), 400)
    t.seg("S2a", "S", "MH2", "C2", ("D2",), 350)
    t.seg("S2b", "MH2", "R2", "C2", ("D2",), 500)
    aggregation(t, ["R1", "R2"])
    return t


def gold_ok() -> Topo:
    """GOLD: two devices, two diverse routes to two access nodes in two rooms, on a ring.

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]
        [CPE2]-/ \\--C2/D2--[MH2]--C2/D2--(R2)[AN2]
        ring: (AGG)~TC-0~(R1)~TC-1~(R2)~TC-2~(AGG)
    """
    t = silver_ok()
    t.nodes["CU"] = Node("Customer", "CU", {"name": "customer CU", "tier": "GOLD"})
    t.device("CPE2", "ROUTER", "CUSTOMER", "S")
    return t


# --- every way to fail --------------------------------------------------------------------------

def shared_duct() -> Topo:
    """GOLD, but both routes run in duct DX between the manholes and the rooms.

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1+DX--(R1)[AN1]
        [CPE2]-/ \\--C2/D2--[MH2]--C2/D2+DX--(R2)[AN2]     (ring as gold_ok)
    """
    t = gold_ok()
    for rel_id in ("S1b", "S2b"):
        t.drop(rel_id)
    t.seg("S1b", "MH1", "R1", "C1", ("D1", "DX"), 400)
    t.seg("S2b", "MH2", "R2", "C2", ("D2", "DX"), 500)
    return t


def shared_cable() -> Topo:
    """SILVER, but the second route's first section uses cable C1 too (other cores).

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]
                 \\--C1/D2--[MH2]--C2/D2--(R2)[AN2]      (ring as silver_ok)
    """
    t = silver_ok()
    t.drop("S2a")
    t.seg("S2a", "S", "MH2", "C1", ("D2",), 350, cores_used=4)
    return t


def shared_closure() -> Topo:
    """GOLD, but both routes pass through splice closure CL1 (different cables and ducts).

    ::

        [CPE1]-(S)--C1/D1--[CL1]--C1/D1--(R1)[AN1]
        [CPE2]-/ \\--C2/D2--/   \\--C2/D2--(R2)[AN2]     (ring as gold_ok)
    """
    t = base("GOLD", 2)
    access_room(t, 1)
    access_room(t, 2)
    t.point("CL1", "CLOSURE")
    t.seg("S1a", "S", "CL1", "C1", ("D1",), 300)
    t.seg("S1b", "CL1", "R1", "C1", ("D1",), 400)
    t.seg("S2a", "S", "CL1", "C2", ("D2",), 300)
    t.seg("S2b", "CL1", "R2", "C2", ("D2",), 500)
    aggregation(t, ["R1", "R2"])
    return t


def same_room() -> Topo:
    """SILVER, but both access nodes are in room R1 (two diverse routes into R1).

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1][AN2]
                 \\--C2/D2--[MH2]--C2/D2--/
        ring: (AGG)~TC-0~(R1)~TC-1~(R9)~TC-2~(AGG)
    """
    t = base("SILVER", 1)
    access_room(t, 1)
    t.device("AN2", "PTN", "ACCESS", "R1")
    t.room("R9")
    t.point("MH1")
    t.point("MH2")
    t.seg("S1a", "S", "MH1", "C1", ("D1",), 300)
    t.seg("S1b", "MH1", "R1", "C1", ("D1",), 400)
    t.seg("S2a", "S", "MH2", "C2", ("D2",), 350)
    t.seg("S2b", "MH2", "R1", "C2", ("D2",), 500)
    aggregation(t, ["R1", "R9"])
    return t


def single_device_gold() -> Topo:
    """GOLD with one customer device only (otherwise as gold_ok).

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]
                 \\--C2/D2--[MH2]--C2/D2--(R2)[AN2]      (ring as gold_ok)
    """
    t = silver_ok()
    t.nodes["CU"] = Node("Customer", "CU", {"name": "customer CU", "tier": "GOLD"})
    return t


def no_ring() -> Topo:
    """SILVER, but R2 hangs off aggregation on a single trunk (a spur, not a ring).

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]  (AGG)~TC-0~(R1)~TC-1~(AGG)
                 \\--C2/D2--[MH2]--C2/D2--(R2)[AN2]--TCB-0--(AGGB)
    """
    t = base("SILVER", 1)
    access_room(t, 1)
    access_room(t, 2)
    t.point("MH1")
    t.point("MH2")
    t.seg("S1a", "S", "MH1", "C1", ("D1",), 300)
    t.seg("S1b", "MH1", "R1", "C1", ("D1",), 400)
    t.seg("S2a", "S", "MH2", "C2", ("D2",), 350)
    t.seg("S2b", "MH2", "R2", "C2", ("D2",), 500)
    aggregation(t, ["R1"])
    aggregation(t, ["R2"], closed=False, tag="B")
    return t


def unmonitored() -> Topo:
    """GOLD, compliant except that CPE2 is not monitored.

    ::

        [CPE1]-(S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]
        [CPE2*]-/ \\--C2/D2--[MH2]--C2/D2--(R2)[AN2]    * monitored = false
    """
    t = gold_ok()
    t.nodes["CPE2"] = Node("Equipment", "CPE2", {"name": "ROUTER CPE2", "type": "ROUTER",
                                                 "layer": "CUSTOMER", "monitored": False})
    return t


def pon_tree() -> Topo:
    """STANDARD PON: OLT -> feeder -> splitter SP1 in cabinet CAB1 -> distribution -> fiber
    box FB1 with splitter SP2 -> drop -> ONU at the site; another site S2 hangs off SP2.

    ::

        [ONU1]-(S)--drop C3--[SP2 in FB1]--dist C2/D2--[SP1 in CAB1]--feeder C1/D1--(R1)[OLT1]
                                  \\--drop C4--(S2)[ONU2]                         |
                                                                      (AGG)~TC-0~(R1)~(AGG)
    """
    t = Topo()
    t.customer("CU", "STANDARD")
    t.customer("CU2", "STANDARD")
    t.site("S", "CU")
    t.site("S2", "CU2")
    t.device("ONU1", "ONU", "CUSTOMER", "S")
    t.device("ONU2", "ONU", "CUSTOMER", "S2")
    t.room("R1")
    t.device("OLT1", "OLT", "ACCESS", "R1")
    t.point("CAB1", "CABINET")
    t.point("FB1", "FIBER_BOX")
    t.device("SP1", "SPLITTER", "ACCESS", "CAB1", monitored=None)
    t.device("SP2", "SPLITTER", "ACCESS", "FB1", monitored=None)
    t.seg("F1", "OLT1", "SP1", "C1", ("D1",), 1500, level="TRUNK", duct_kind="TRUNK")
    t.seg("F2", "SP1", "SP2", "C2", ("D2",), 600)
    t.seg("F3", "SP2", "ONU1", "C3", (), 80, level="DROP")
    t.seg("F4", "SP2", "ONU2", "C4", (), 90, level="DROP")
    aggregation(t, ["R1"])
    return t


def missing_section() -> Topo:
    """STANDARD, but the section between MH1 and R1 is missing from the data.

    ::

        [CPE1]-(S)--C1/D1--[MH1]   ...gap...   (R1)[AN1]--TC-0~(AGG)
    """
    t = standard_ok()
    t.drop("S1b")
    return t


def no_device() -> Topo:
    """A BRONZE site with routes but no customer-side device recorded.

    ::

        (S)--C1/D1--[MH1]--C1/D1--(R1)[AN1]
    """
    t = bronze_ok()
    del t.nodes["CPE1"]
    t.drop("LOCATED_AT:CPE1->S")
    return t


def handover() -> Topo:
    """STANDARD over MSTP: a distribution cable to cabinet CAB1 (in a distribution duct, then
    the trunk duct), a trunk cable on to the access room.

    ::

        [CPE1]-(S)--C1 (DIST) in DD1,TD1--[CAB1 光交]--C9 (TRUNK) in TD9--(R1)[MSTP AN1]
    """
    t = base("STANDARD", 1)
    access_room(t, 1, "MSTP")
    t.point("CAB1", "CABINET")
    t.duct("DD1", "DISTRIBUTION")
    t.duct("TD1", "TRUNK")
    t.seg("H1", "S", "CAB1", "C1", ("DD1", "TD1"), 300)
    t.seg("H2", "CAB1", "R1", "C9", ("TD9",), 900, level="TRUNK")
    aggregation(t, ["R1"])
    return t


#: name -> (builder, tier verdict expected, failed requirements expected)
CASES: dict[str, tuple[Any, str, list[str]]] = {
    "standard_ok": (standard_ok, "COMPLIANT", []),
    "bronze_ok": (bronze_ok, "COMPLIANT", []),
    "silver_ok": (silver_ok, "COMPLIANT", []),
    "gold_ok": (gold_ok, "COMPLIANT", []),
    "shared_duct": (shared_duct, "NON_COMPLIANT", ["diverse_routes"]),
    "shared_cable": (shared_cable, "NON_COMPLIANT", ["diverse_routes"]),
    "shared_closure": (shared_closure, "NON_COMPLIANT", ["diverse_routes"]),
    "same_room": (same_room, "NON_COMPLIANT", ["access_nodes"]),
    "single_device_gold": (single_device_gold, "NON_COMPLIANT", ["customer_devices"]),
    "no_ring": (no_ring, "NON_COMPLIANT", ["ring"]),
    "unmonitored": (unmonitored, "NON_COMPLIANT", ["monitored"]),
    "pon_tree": (pon_tree, "COMPLIANT", []),
    "missing_section": (missing_section, "INCOMPLETE", []),
    "no_device": (no_device, "INCOMPLETE", []),
    "handover": (handover, "COMPLIANT", []),
}


def renamed(topo: Topo, prefix: str) -> Topo:
    """A copy of ``topo`` with every id (and every reference to one) prefixed."""
    out = Topo()

    def ref(value: str) -> str:
        return prefix + value

    for node in topo.nodes.values():
        props = dict(node.props)
        if "customer_id" in props:
            props["customer_id"] = ref(props["customer_id"])
        out.nodes[ref(node.id)] = Node(node.label, ref(node.id), props)
    for rel in topo.rels:
        props = dict(rel.props)
        if "cable_id" in props:
            props["cable_id"] = ref(props["cable_id"])
        if "duct_ids" in props:
            props["duct_ids"] = [ref(d) for d in props["duct_ids"]]
        out.rels.append(Rel(rel.type, ref(rel.id), (rel.start[0], ref(rel.start[1])),
                            (rel.end[0], ref(rel.end[1])), props))
    return out


def network(names: list[str] | None = None) -> Topo:
    """Every case of :data:`CASES` side by side, ids prefixed ``<name>/``: a small network
    with one site ``<name>/S`` per case."""
    out = Topo()
    for name in names or sorted(CASES):
        part = renamed(CASES[name][0](), f"{name}/")
        out.nodes.update(part.nodes)
        out.rels += part.rels
    return out
