"""A cable fault from the store: an OTDR reading → where the break is and which customer
sites it hits.

The store-facing use case behind ``inventory locate-fault`` and the web's fault page, so
both give the same answer: gather a cable's sections from a :class:`GraphStore` as the plain
records the geo functions take (:func:`cable_sections`), index the maintenance points
(:func:`depot_index`), locate the reading on the cable
(:func:`locate`, :func:`inventory.geo.otdr.locate_fault`) and find the sites the broken
section takes down or degrades (:func:`section_impact`, :func:`sites_behind`,
:mod:`inventory.graph.impact`). GraphStore contract only (no query language).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from inventory.errors import InventoryError, NotFound
from inventory.geo.measure import DepotIndex
from inventory.geo.otdr import FaultLocation, locate_fault
from inventory.graph.impact import FaultImpact, fault_impact
from inventory.graph.network import load_network
from inventory.graph.store import GraphStore, Node, Rel
from inventory.graph.trace import trace
from inventory.model import ACCESS_NODE_TYPES

# --- gathering from the store --------------------------------------------------------------


def depots(store: GraphStore) -> list[tuple[str, float, float]]:
    """``(id, lon, lat)`` of every maintenance point (维护点) with coordinates."""
    return [(n.id, float(n.props["lon"]), float(n.props["lat"]))
            for n in store.iter_nodes("MaintenancePoint")
            if n.props.get("lon") is not None and n.props.get("lat") is not None]


def depot_index(store: GraphStore) -> DepotIndex | None:
    """The spatial index of the maintenance points, or None when none has coordinates."""
    rows = depots(store)
    return DepotIndex(rows) if rows else None


def section_records(store: GraphStore, rels: Iterable[Rel]) -> list[dict[str, Any]]:
    """SEGMENT relationships as the plain section records the geo functions take.

    Each record is the section's properties with ``id`` and its ends ``a`` and ``z``
    (``id``, ``label``, ``kind``, ``name``, ``lon``, ``lat``); a device end takes the
    coordinates of the room, point or site it is located at.
    """
    rels = list(rels)
    keys: dict[str, set[str]] = {}
    for rel in rels:
        for label, element_id in (rel.start, rel.end):
            keys.setdefault(label, set()).add(element_id)
    nodes: dict[tuple[str, str], Node] = {}
    for label, ids in keys.items():
        for node in store.get_nodes(label, ids).values():
            nodes[node.key] = node
    located: dict[str, Node] = {}
    equipment = [nodes[k] for k in nodes if k[0] == "Equipment"]
    if equipment:          # a device has no coordinates of its own: use where it is installed
        for rel in store.neighbourhood([e.key for e in equipment])[1]:
            if rel.type == "LOCATED_AT" and rel.start in nodes:
                place = store.get_node(*rel.end)
                if place is not None:
                    located[rel.start[1]] = place

    def end(key: tuple[str, str]) -> dict[str, Any]:
        node = nodes.get(key)
        if node is None:
            return {"id": key[1], "label": key[0]}
        props = dict(node.props)
        if node.label == "Equipment" and node.id in located:
            props.setdefault("lon", located[node.id].props.get("lon"))
            props.setdefault("lat", located[node.id].props.get("lat"))
        return {"id": node.id, "label": node.label,
                "kind": props.get("kind") or props.get("type"), "name": props.get("name"),
                "lon": props.get("lon"), "lat": props.get("lat")}

    return [{"id": rel.id, **rel.props, "a": end(rel.start), "z": end(rel.end)} for rel in rels]


def cable_sections(store: GraphStore, cable_id: str) -> list[dict[str, Any]]:
    """The section records (:func:`section_records`) of a cable.

    Raises :class:`NotFound` when there is no such cable, :class:`InventoryError` when it
    has no sections.
    """
    rels = store.find_rels("SEGMENT", cable_id=cable_id)
    if not rels:
        if store.get_node("Cable", cable_id) is None:
            raise NotFound("Cable", cable_id)
        raise InventoryError(f"cable {cable_id!r} has no sections")
    return section_records(store, rels)


# --- locating ------------------------------------------------------------------------------

class LocatedFault(NamedTuple):
    """An OTDR reading located on a cable: the cable's section records and where the break is."""

    sections: list[dict[str, Any]]
    location: FaultLocation


def locate(store: GraphStore, cable_id: str, from_id: str, measured: float | str, *,
           slack: float | None = None, depots: DepotIndex | None = None) -> LocatedFault:
    """Where an OTDR reading on a cable puts the break.

    Parameters
    ----------
    store : the inventory.
    cable_id : the cable measured.
    from_id : the node the OTDR was connected at: one end of the cable.
    measured : fiber distance, metres or text such as ``12.35km``
        (:func:`inventory.geo.otdr.parse_distance`).
    slack : fiber/route ratio; default the policy's ``[otdr] slack_factor``.
    depots : the maintenance points' index (a caller may keep one); default
        :func:`depot_index` of the store.

    Raises :class:`NotFound` / :class:`InventoryError` as :func:`cable_sections`, and the
    errors of :func:`~inventory.geo.otdr.locate_fault` (a reading beyond the far end, an
    instrument not at an end of the cable, a distance that cannot be read).
    """
    sections = cable_sections(store, cable_id)
    index = depots if depots is not None else depot_index(store)
    return LocatedFault(sections, locate_fault(sections, from_id, measured, slack=slack,
                                               depots=index))


# --- the sites it hits ---------------------------------------------------------------------

_OPERATOR_ROOMS = {"CORE", "AGGREGATION", "ACCESS", "BASE_STATION"}


def is_operator_side(node: Mapping[str, Any] | Node) -> bool:
    """An access/aggregation room or an access node: the network side of a cable. ``node``
    is a :class:`Node` or a section end record."""
    label = node.label if isinstance(node, Node) else node.get("label")
    props = node.props if isinstance(node, Node) else node
    if label == "Room":
        return props.get("kind") in _OPERATOR_ROOMS
    if label == "Equipment":
        return (props.get("type") in {t.value for t in ACCESS_NODE_TYPES}
                or props.get("layer") in ("AGGREGATION", "CORE"))
    return False


def customer_expand(blocked: set[tuple[str, str]]) -> Callable[[Node], bool]:
    """Expansion rule (for :meth:`GraphStore.subgraph`) for "what is behind": through
    points, customer rooms, passive and customer devices; never through another site, a
    customer, a circuit, a maintenance point, an operator room or access node, or the
    ``blocked`` nodes."""
    def expand(node: Node) -> bool:
        if node.key in blocked or node.label in ("Site", "Customer", "Circuit",
                                                 "MaintenancePoint"):
            return False
        return not is_operator_side(node)
    return expand


def _sites_near(store: GraphStore, seeds: list[tuple[str, str]], blocked: set[tuple[str, str]],
                hops: int = 12) -> list[Node]:
    if not seeds:
        return []
    graph = store.subgraph(seeds, hops, expand=customer_expand(blocked))
    return sorted((n for n in graph.nodes.values() if n.label == "Site"), key=lambda n: n.id)


def sites_beyond_break(store: GraphStore, sections: Sequence[Mapping[str, Any]],
                       location: FaultLocation) -> tuple[list[Node], str]:
    """The customer sites on the customer side of the break, found by walking the store
    from the cable's nodes on that side (never through the network side): ``(sites, rule)``.

    The customer side is away from the instrument, unless the far end of the cable is the
    network side and the instrument end is not (see docs/geography.md).
    """
    chain = location.chain
    by_id: dict[str, Mapping[str, Any]] = {}
    for s in sections:
        for side in ("a", "z"):
            by_id[s[side]["id"]] = s[side]
    first, last = by_id.get(chain[0]["id"], {}), by_id.get(chain[-1]["id"], {})
    downstream = [n for n in chain if n["route_m"] >= location.route_m]
    upstream = [n for n in chain if n["route_m"] < location.route_m]
    if is_operator_side(last) and not is_operator_side(first):
        customer_side, network_side = upstream, downstream
        how = "sites between the instrument and the break (the far end is the network side)"
    else:
        customer_side, network_side = downstream, upstream
        how = "sites beyond the break, away from the instrument"
    behind = _sites_near(store, [(n["label"], n["id"]) for n in customer_side if n.get("label")],
                         {(n["label"], n["id"]) for n in network_side if n.get("label")})
    return behind, how


def section_impact(store: GraphStore, location: FaultLocation, *, G: Any = None,
                   circuits: Mapping[str, Sequence[str]] | None = None,
                   depots: Sequence[tuple[str, float, float]] | None = None,
                   fault_start: _dt.datetime | None = None) -> FaultImpact:
    """The fault impact (:func:`inventory.graph.impact.fault_impact`) of the broken section
    (not the whole cable): every site it takes DOWN or DEGRADES.

    ``G`` is the network's analysis graph (default: loaded from the store); ``circuits``,
    ``depots`` and ``fault_start`` are passed on (circuits per site, travel time and
    deadlines).
    """
    G = load_network(store) if G is None else G
    return fault_impact(G, [("SEGMENT", location.section_id)], circuits=circuits,
                        depots=depots, fault_start=fault_start)


def sites_behind(store: GraphStore, sections: Sequence[Mapping[str, Any]],
                 location: FaultLocation, *, G: Any = None
                 ) -> tuple[list[tuple[Node, str, list[str]]], str]:
    """The customer sites the located break hits: ``([(site, status, what it lost)], rule)``.

    The broken section is failed (:func:`section_impact`) and every site that goes DOWN or
    is DEGRADED (a diverse route, the second access node or the ring lost) is listed. Sites
    beyond the break (:func:`sites_beyond_break`) that the tracer finds no complete route for
    (no customer device recorded) are added as ``UNTRACED``.
    """
    behind, how = sites_beyond_break(store, sections, location)
    G = load_network(store) if G is None else G
    result = section_impact(store, location, G=G)
    found = store.get_nodes("Site", [a.site_id for a in result.sites])
    hit = [(found[a.site_id], a.status, list(a.lost)) for a in result.sites
           if a.site_id in found]
    listed = {a.site_id for a in result.sites}
    for site in behind:
        if site.id not in listed and not any(r.complete for r in trace(G, site.id).routes):
            hit.append((site, "UNTRACED", []))
    return hit, ("fault impact of the broken section; UNTRACED = no complete route traced, "
                 + how)
