"""The analysis graph: a networkx ``MultiGraph`` built from store records.

This is the one place where the analysis meets a :class:`~inventory.graph.store.GraphStore`
(the contract, never a concrete store). Everything else in :mod:`inventory.graph.trace`,
:mod:`~inventory.graph.compliance` and :mod:`~inventory.graph.handover` works on the graph
returned here.

The graph
---------
* one node per ``Site``, ``Room``, ``Point`` and ``Equipment``, keyed ``(label, id)``; its
  attributes are the stored properties plus ``label`` and ``id``;
* one edge per ``SEGMENT`` (cable section), ``LOCATED_AT`` and ``PATCH``, keyed by the
  relationship id, with the properties plus ``type`` and ``id``;
* ``G.graph["cables"]``, ``G.graph["ducts"]`` and ``G.graph["customers"]``: ``{id: props}``
  of the Cable, Duct and Customer nodes (no relationship touches a cable or a duct: a section
  names them in ``cable_id`` / ``duct_ids``).

Loaders
-------
:func:`load_site_graph` asks the store for the bounded neighbourhood of one or many sites (for
``trace`` / ``check``); :func:`load_network` streams the whole network once (for ``audit``).
Both return the same kind of graph, so every analysis function runs on either.

>>> G = example_network()
>>> sorted(n[1] for n in G if n[0] == "Room")
['R-ACC1', 'R-ACC2', 'R-AGG']
>>> G.graph["cables"]["C-1"]["level"]
'DISTRIBUTION'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from sys import intern
from typing import Any

import networkx as nx

from inventory.errors import NotFound
from inventory.graph.store import GraphStore, Key, LeaveOut, Node, Rel, StopRule
from inventory.model import ACCESS_NODE_TYPES, PASSIVE_EQUIPMENT

#: Labels that become graph nodes; the others are kept as lookup tables or ignored.
PHYSICAL_LABELS = ("Site", "Room", "Point", "Equipment")
#: Relationship types that carry the physical network.
PHYSICAL_RELS = ("SEGMENT", "LOCATED_AT", "PATCH")
#: Default hop bounds of :func:`load_site_graph`: customer side, then access node to aggregation.
SITE_HOPS = 30
UPLINK_HOPS = 40

_ACCESS_TYPES = frozenset(t.value for t in ACCESS_NODE_TYPES)
_PASSIVE_TYPES = frozenset(t.value for t in PASSIVE_EQUIPMENT)
_AGG_LAYERS = frozenset({"AGGREGATION", "CORE"})
_AGG_ROOM_KINDS = frozenset({"AGGREGATION", "CORE"})
# Rooms where access nodes live (docs/model.md rule 3): the customer-side read stops there.
_STOP_ROOM_KINDS = frozenset({"ACCESS", "BASE_STATION", "AGGREGATION", "CORE"})
# Points of the distribution plant that hangs off an access room (docs/model.md): an uplink
# (access node -> aggregation) never runs through them, nor through a splitter.
DIST_POINT_KINDS = frozenset({"FIBER_BOX", "BRANCH_CLOSURE"})


# --- building ----------------------------------------------------------------------------------

def build_graph(nodes: Iterable[Node], rels: Iterable[Rel], *,
                intern_strings: bool = False) -> nx.MultiGraph:
    """Build the analysis graph from store records.

    Parameters
    ----------
    nodes : iterable of Node
        Records of any label: Site, Room, Point and Equipment become graph nodes; Cable,
        Duct and Customer go to ``G.graph`` lookup tables; other labels are ignored.
    rels : iterable of Rel
        SEGMENT, LOCATED_AT and PATCH become edges; a relationship whose end is not among
        ``nodes`` is dropped (it lies outside the loaded subgraph).
    intern_strings : bool
        Intern the property names and short values (a whole network: a third less memory,
        a little more time).

    Returns
    -------
    networkx.MultiGraph

    Examples
    --------
    >>> from inventory.graph.store import Node, Rel
    >>> G = build_graph([Node("Site", "S1", {"name": "school"}),
    ...                  Node("Point", "P1", {"name": "box", "kind": "FIBER_BOX"})],
    ...                 [Rel("SEGMENT", "SEG-1", ("Site", "S1"), ("Point", "P1"),
    ...                      {"cable_id": "C-1", "length_m": 120.0})])
    >>> G.edges[("Site", "S1"), ("Point", "P1"), "SEG-1"]["length_m"]
    120.0
    """
    # interning pays for a whole network (memory) but not for one site's graph (time)
    copy = _interned if intern_strings else dict
    G = nx.MultiGraph()
    G.graph.update(cables={}, ducts={}, customers={})
    tables = {"Cable": G.graph["cables"], "Duct": G.graph["ducts"],
              "Customer": G.graph["customers"]}
    for node in nodes:
        if node.label in PHYSICAL_LABELS:
            G.add_node(node.key, **copy(node.props), label=node.label, id=node.id)
        elif node.label in tables:
            tables[node.label][node.id] = copy(node.props)
    for rel in rels:
        if rel.type not in PHYSICAL_RELS:
            continue
        if rel.start not in G or rel.end not in G:
            continue
        G.add_edge(rel.start, rel.end, key=rel.id, **copy(rel.props), type=rel.type,
                   id=rel.id)
    return G


def _interned(props: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``props`` whose keys and short strings are interned: a decoded record
    brings its own copy of every key and enum value, and a 100,000-site network has
    millions of them (interning cuts the whole-network graph's memory by about a third).
    orjson shares the keys it decodes, but the Neo4j driver does not (values only: 267 →
    320 MB for the 10k network read from Neo4j)."""
    return {intern(k): intern(v) if type(v) is str and len(v) <= 24 else v
            for k, v in props.items()}


def merge_graph(G: nx.MultiGraph, H: nx.MultiGraph) -> nx.MultiGraph:
    """Add the nodes, edges and lookup tables of ``H`` to ``G`` (in place) and return ``G``."""
    G.add_nodes_from(H.nodes(data=True))
    G.add_edges_from(H.edges(keys=True, data=True))
    for name in ("cables", "ducts", "customers"):
        G.graph.setdefault(name, {}).update(H.graph.get(name, {}))
    return G


def _referenced(rels: Iterable[Rel]) -> tuple[set[str], set[str]]:
    cables, ducts = set(), set()
    for rel in rels:
        if rel.type == "SEGMENT":
            if rel.props.get("cable_id"):
                cables.add(rel.props["cable_id"])
            ducts.update(rel.props.get("duct_ids") or ())
    return cables, ducts


# The expand rules of load_site_graph's walks, as data (StopRule) so that a store can run a
# whole walk in one query. UPLINK: never through a site, a customer device or aggregation
# (nor a Circuit or any other non-physical node).
UPLINK = StopRule(("Room", "Point", "Equipment"),
                  ("Room", {"kind": _AGG_ROOM_KINDS}),
                  ("Equipment", {"layer": _AGG_LAYERS | {"CUSTOMER"}}))
# ... nor through the distribution plant (fiber boxes, branch closures, splitters).
UPLINK_ONLY = UPLINK.also(("Point", {"kind": DIST_POINT_KINDS}),
                          ("Equipment", {"type": _PASSIVE_TYPES}))
# ... and, on the customer side, stop at access rooms and access nodes (_is_access_node:
# only Equipment carries layer and type).
CUSTOMER_SIDE = UPLINK.also(("Room", {"kind": _STOP_ROOM_KINDS}),
                            ("Equipment", {"layer": {"ACCESS"}, "type": _ACCESS_TYPES}))


def load_site_graph(store: GraphStore, sites: str | Iterable[str], *,
                    hops: int = SITE_HOPS, uplink_hops: int = UPLINK_HOPS) -> nx.MultiGraph:
    """Load the graph around one or many sites from a store.

    Three bounded breadth-first reads (:meth:`GraphStore.subgraph`):

    1. from each site and its devices, at most ``hops`` relationships, never expanding
       through another site, a customer-side device, an access node, aggregation/core
       equipment or an access/base-station/aggregation room — this holds every route to an
       access node;
    2. one hop around each access node and room where step 1 stopped (the room's devices);
    3. from the access nodes, at most ``uplink_hops`` relationships towards aggregation (the
       ring), again stopping at sites, customer devices and aggregation, and at the
       distribution plant (fiber boxes, branch closures, splitters: an uplink never runs
       through it, docs/analysis.md);

    each over the physical relationships only (never an access node's circuits); then the
    Cable and Duct nodes that the sections name, and the sites' Customers. The other sites
    where the walks stopped are left out: leaves that no route of these sites reaches.

    Parameters
    ----------
    store : GraphStore
    sites : str or iterable of str
        Site ids.

    Raises
    ------
    NotFound
        When a site does not exist.
    """
    site_ids = [sites] if isinstance(sites, str) else list(dict.fromkeys(sites))
    # All the reads in one transaction where the store has them: on Neo4j a session and a
    # transaction per read cost ~2-3 ms each, a third of a small site's load.
    nodes, rels = store.run_reads(lambda: _read_site_graph(store, site_ids, hops, uplink_hops))
    return build_graph(nodes, rels)


def _read_site_graph(store: GraphStore, site_ids: list[str], hops: int,
                     uplink_hops: int) -> tuple[list[Node], list[Rel]]:
    """The nodes and relationships :func:`load_site_graph` builds its graph from."""
    seeds: list[Key] = [("Site", s) for s in site_ids]
    # Every other site is where a walk would stop (none goes through a site): a leaf that no
    # route of these sites reaches. Around a busy access room there are hundreds of them
    # (one 10,000-site audit batch of the 100k bench network met 42,000), so no walk
    # reads them.
    others = LeaveOut("Site", keep=site_ids)
    first = store.subgraph(seeds, 1, rel_types=PHYSICAL_RELS, leave_out=others)
    # The walk holds its seeds: the sites themselves come with it (one read less).
    found = {s: first.nodes[("Site", s)] for s in site_ids if ("Site", s) in first.nodes}
    for site_id in site_ids:
        if site_id not in found:
            raise NotFound("Site", site_id)
    seeds += [k for k in first.nodes if k[0] == "Equipment"
              and first.nodes[k].props.get("layer") == "CUSTOMER"]
    near = store.subgraph(seeds, hops, expand=CUSTOMER_SIDE, rel_types=PHYSICAL_RELS,
                          leave_out=others)
    nodes = dict(near.nodes)
    rels = dict(near.rels)
    seed_set = set(seeds)  # a batch of many sites has thousands of seeds
    stops = [k for k, n in nodes.items() if k not in seed_set and n.label != "Site"
             and (_is_access_node(n.props)
                  or (n.label == "Room" and n.props.get("kind") in _STOP_ROOM_KINDS))]
    if stops:
        around = store.subgraph(stops, 1, rel_types=PHYSICAL_RELS, leave_out=others)
        nodes.update(around.nodes)
        rels.update(around.rels)
        ans = [k for k, n in nodes.items() if k[0] == "Equipment" and _is_access_node(n.props)]
        if ans:
            up = store.subgraph(ans, uplink_hops, expand=UPLINK_ONLY,
                                rel_types=PHYSICAL_RELS, leave_out=others)
            nodes.update(up.nodes)
            rels.update(up.rels)
            aggs = [k for k, n in up.nodes.items() if n.label == "Room"
                    and n.props.get("kind") in _AGG_ROOM_KINDS]
            if aggs:  # their equipment, to know the aggregation layer is there
                agg_around = store.subgraph(aggs, 1, rel_types=PHYSICAL_RELS,
                                            leave_out=others)
                nodes.update(agg_around.nodes)
                rels.update(agg_around.rels)
    cables, ducts = _referenced(rels.values())
    customers = {n.props.get("customer_id") for n in found.values()} - {None}
    # One read for the three labels (one round trip on Neo4j instead of three).
    extra = store.get_nodes_many({"Cable": sorted(cables), "Duct": sorted(ducts),
                                  "Customer": sorted(customers)})
    return ([*nodes.values(), *extra["Cable"].values(), *extra["Duct"].values(),
             *extra["Customer"].values()], list(rels.values()))


def load_network(store: GraphStore) -> nx.MultiGraph:
    """Load the whole physical network from a store in one pass (``iter_nodes``/``iter_rels``).

    This is what ``audit`` uses: every site is then analysed on the one shared graph.
    """
    def nodes() -> Iterable[Node]:
        for label in (*PHYSICAL_LABELS, "Cable", "Duct", "Customer"):
            yield from store.iter_nodes(label)

    def rels() -> Iterable[Rel]:
        for rel_type in PHYSICAL_RELS:
            yield from store.iter_rels(rel_type)

    return build_graph(nodes(), rels(), intern_strings=True)


def _is_access_node(props: dict[str, Any]) -> bool:
    return props.get("layer") == "ACCESS" and props.get("type") in _ACCESS_TYPES


# --- the index the algorithms run on -------------------------------------------------------------

# Roles of a node (bit flags).
SITE, CPE, ACCESS_NODE, AGG, AGG_ROOM, AN_ROOM, PASSIVE, DEVICE, AGG_HOST, DIST_POINT = (
    1 << i for i in range(10))


@dataclass
class NetworkIndex:
    """Plain-dict adjacency and roles of a graph, built once per graph (see
    :func:`network_index`); the analysis walks this rather than the networkx views, for speed.

    ``adj[v]`` lists ``(neighbour, edge type, vertex)`` where, for a cable section, ``vertex``
    is the section's own element key ``("SEGMENT", id)`` (sections are vertices of the
    analysis so that parallel sections stay apart).
    """

    adj: dict[Key, list[tuple[Key, str, Key | None]]] = field(default_factory=dict)
    role: dict[Key, int] = field(default_factory=dict)
    location: dict[Key, Key] = field(default_factory=dict)
    devices_at: dict[Key, list[Key]] = field(default_factory=dict)
    segments: dict[str, tuple[Key, Key, dict[str, Any]]] = field(default_factory=dict)
    #: element keys that fail together with a vertex: a section -> (section, cable, ducts);
    #: a device -> (device, its location); any other node -> (node,)
    elements: dict[Key, tuple[Key, ...]] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)


def own_role(label: str, data: dict[str, Any]) -> int:
    """The roles a node has by itself (its label and properties); a place also gets
    ``AN_ROOM``, ``AGG_HOST`` (and ``AGG_ROOM``) from the devices located there."""
    if label == "Site":
        return SITE
    if label == "Equipment":
        role = DEVICE
        layer = data.get("layer")
        if layer == "CUSTOMER":
            role |= CPE
        elif layer in _AGG_LAYERS:
            role |= AGG
        elif _is_access_node(data):
            role |= ACCESS_NODE
        if data.get("type") in _PASSIVE_TYPES:
            role |= PASSIVE
        return role
    if label == "Room" and data.get("kind") in _AGG_ROOM_KINDS:
        return AGG_ROOM
    if label == "Point" and data.get("kind") in DIST_POINT_KINDS:
        return DIST_POINT
    return 0


def network_index(G: nx.MultiGraph) -> NetworkIndex:
    """The :class:`NetworkIndex` of ``G``, cached in ``G.graph`` until nodes or edges are added
    or removed (an attribute changed in place needs ``G.graph.pop("_index")``)."""
    stamp = (G.number_of_nodes(), G.number_of_edges())
    ix = G.graph.get("_index")
    if ix is not None and ix.stamp == stamp:
        return ix
    ix = NetworkIndex(stamp=stamp)
    nodes = G.nodes
    for key, data in nodes(data=True):
        ix.adj[key] = []
        ix.role[key] = own_role(key[0], data)
        ix.elements[key] = (key,)
    for u, v, rel_id, data in G.edges(keys=True, data=True):
        kind = data.get("type")
        if kind == "SEGMENT":
            vertex = ("SEGMENT", rel_id)
            ix.segments[rel_id] = (u, v, data)
            elems: list[Key] = [vertex]
            if data.get("cable_id"):
                elems.append(("Cable", data["cable_id"]))
            elems += [("Duct", d) for d in data.get("duct_ids") or ()]
            ix.elements[vertex] = tuple(dict.fromkeys(elems))
            ix.adj[u].append((v, kind, vertex))
            if u != v:
                ix.adj[v].append((u, kind, vertex))
        elif kind == "LOCATED_AT":
            device, place = (u, v) if u[0] == "Equipment" else (v, u)
            if device[0] != "Equipment":
                continue
            ix.location[device] = place
            ix.devices_at.setdefault(place, []).append(device)
            ix.adj[u].append((v, kind, None))
            ix.adj[v].append((u, kind, None))
        else:
            ix.adj[u].append((v, kind, None))
            ix.adj[v].append((u, kind, None))
    for out in ix.adj.values():  # the same order whatever order the store returned
        out.sort(key=lambda item: (item[0], item[1], item[2] or ("", "")))
    for device, place in ix.location.items():
        ix.elements[device] = (device, place)
        if ix.role[device] & ACCESS_NODE:
            ix.role[place] |= AN_ROOM
        if ix.role[device] & AGG:
            ix.role[place] |= AGG_HOST
            if place[0] == "Room":
                ix.role[place] |= AGG_ROOM
    G.graph["_index"] = ix
    return ix


# --- a tiny topology for examples ----------------------------------------------------------------

def example_network() -> nx.MultiGraph:
    """A tiny fiber topology for examples and doctests: a BRONZE site with two routes.

    ::

        [RT-1]--(S-1 school)--C-1--[MH-1 人井]--C-1--(R-ACC1)--[PTN-1]
                     |                                   | trunk C-9 / D-9
                     +--------C-2--[FB-1 分纤箱]--C-2----+        ring
                                                  (R-ACC2)[PTN-2]--C-8--(R-AGG)[AGG-1]
                                                       \\----------C-7 (D-7)--/

    ``S-1`` reaches ``PTN-1`` in room ``R-ACC1`` over cable C-1 (via manhole MH-1, in duct
    D-1) and over cable C-2 (via fiber box FB-1, in duct D-2); ``R-ACC1`` is on a ring
    R-ACC1 - R-ACC2 - R-AGG - R-ACC1.
    """
    P = Node
    nodes = [
        P("Customer", "CU-1", {"name": "Bole No.1 school", "tier": "BRONZE"}),
        P("Site", "S-1", {"name": "school", "customer_id": "CU-1", "lon": 82.07, "lat": 44.9}),
        P("Equipment", "RT-1", {"name": "router", "type": "ROUTER", "layer": "CUSTOMER",
                                "monitored": True}),
        P("Point", "MH-1", {"name": "MH-1", "kind": "MANHOLE", "lon": 82.071, "lat": 44.901}),
        P("Point", "FB-1", {"name": "FB-1", "kind": "FIBER_BOX", "lon": 82.069, "lat": 44.902}),
        P("Room", "R-ACC1", {"name": "Bole access 1", "kind": "ACCESS", "lon": 82.072,
                             "lat": 44.903}),
        P("Room", "R-ACC2", {"name": "Bole access 2", "kind": "ACCESS", "lon": 82.08,
                             "lat": 44.91}),
        P("Room", "R-AGG", {"name": "Bole aggregation", "kind": "AGGREGATION", "lon": 82.09,
                            "lat": 44.92}),
        P("Equipment", "PTN-1", {"name": "PTN-1", "type": "PTN", "layer": "ACCESS",
                                 "monitored": True}),
        P("Equipment", "PTN-2", {"name": "PTN-2", "type": "PTN", "layer": "ACCESS",
                                 "monitored": True}),
        P("Equipment", "AGG-1", {"name": "AGG-1", "type": "PTN", "layer": "AGGREGATION",
                                 "monitored": True}),
        P("Cable", "C-1", {"name": "school cable 1", "level": "DISTRIBUTION", "fiber_count": 12}),
        P("Cable", "C-2", {"name": "school cable 2", "level": "DISTRIBUTION", "fiber_count": 12}),
        P("Cable", "C-7", {"name": "ring 7", "level": "TRUNK", "fiber_count": 48}),
        P("Cable", "C-8", {"name": "ring 8", "level": "TRUNK", "fiber_count": 48}),
        P("Cable", "C-9", {"name": "ring 9", "level": "TRUNK", "fiber_count": 48}),
        P("Duct", "D-1", {"name": "duct 1", "kind": "DISTRIBUTION"}),
        P("Duct", "D-2", {"name": "duct 2", "kind": "DISTRIBUTION"}),
        P("Duct", "D-7", {"name": "duct 7", "kind": "TRUNK"}),
        P("Duct", "D-8", {"name": "duct 8", "kind": "TRUNK"}),
        P("Duct", "D-9", {"name": "duct 9", "kind": "TRUNK"}),
    ]

    def seg(sid, a, b, cable, ducts, length):
        return Rel("SEGMENT", sid, a, b, {"cable_id": cable, "duct_ids": ducts,
                                          "length_m": length, "laying": "DUCT",
                                          "fiber_count": 12, "cores_used": 2})

    def at(device, place):
        return Rel("LOCATED_AT", f"LOCATED_AT:{device[1]}->{place[1]}", device, place, {})

    S, MH, FB = ("Site", "S-1"), ("Point", "MH-1"), ("Point", "FB-1")
    A1, A2, AG = ("Room", "R-ACC1"), ("Room", "R-ACC2"), ("Room", "R-AGG")
    rels = [
        at(("Equipment", "RT-1"), S), at(("Equipment", "PTN-1"), A1),
        at(("Equipment", "PTN-2"), A2), at(("Equipment", "AGG-1"), AG),
        seg("SEG-1a", S, MH, "C-1", ["D-1"], 300.0), seg("SEG-1b", MH, A1, "C-1", ["D-1"], 400.0),
        seg("SEG-2a", S, FB, "C-2", ["D-2"], 350.0), seg("SEG-2b", FB, A1, "C-2", ["D-2"], 500.0),
        seg("SEG-9", A1, A2, "C-9", ["D-9"], 2000.0), seg("SEG-8", A2, AG, "C-8", ["D-8"], 3000.0),
        seg("SEG-7", A1, AG, "C-7", ["D-7"], 4000.0),
    ]
    return build_graph(nodes, rels)
