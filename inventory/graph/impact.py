"""Fault impact: what a failed cable section, cable, duct, point, room or device hits.

The failed elements are removed (by the failure model of :mod:`inventory.graph.trace`: a
section fails with its cable and with each duct it runs in, a device with the room or point
it is located in) and every customer site that could depend on them is analysed again:

``DOWN``
    the site reached the aggregation layer before and no longer does (no route left to any
    access node that still reaches aggregation);
``DEGRADED``
    still up, but a requirement of its tier that passed before no longer does — typically
    one of two diverse routes lost, the second access node lost, or the ring broken.

Candidate sites are found on the graph, not by asking the store site by site: a breadth-first
walk from the failed elements through the passive plant (points, rooms without an access
node, passive devices, cable sections) collects the sites it meets, and the sites behind
every access node that is failed, lives in a failed room, or whose pair of uplinks to
aggregation runs through a failed element. Only those are re-analysed.

Each affected site carries its SLA duties (domain-rules §4, :mod:`inventory.geo.sla`): the
recovery deadline — tier limit + travel time beyond the band from the nearest maintenance
point to the failed element + the cable-cut allowance — and the feedback cadence.

(policy) The travel distance is measured to the point of the failed elements nearest to any
maintenance point (their coordinates and every vertex of their geometries): where the fault
is on a long duct is not known until it is located, and the deadline is never overstated.
(policy) A fault is a cable cut (光缆中断, +3 h) when a cable section, a cable or a duct fails.

>>> from inventory.graph.network import example_network
>>> result = fault_impact(example_network(), [("Duct", "D-1")])
>>> [(s.site_id, s.status, s.lost) for s in result.sites]
[('S-1', 'DEGRADED', ['diverse_routes'])]
>>> [(s.site_id, s.status) for s in fault_impact(example_network(), [("Room", "R-ACC1")]).sites]
[('S-1', 'DOWN')]
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from inventory.errors import InventoryError, NotFound
from inventory.graph.compliance import PASS, SiteCheck, check_from
from inventory.graph.network import (
    ACCESS_NODE,
    AGG,
    AGG_HOST,
    AGG_ROOM,
    AN_ROOM,
    CPE,
    DIST_POINT,
    PASSIVE,
    PHYSICAL_RELS,
    SITE,
    NetworkIndex,
    build_graph,
    load_site_graph,
    network_index,
    own_role,
)
from inventory.graph.store import GraphStore, Key, Node, Rel
from inventory.graph.trace import KIND, SiteAnalysis, analyse_site, route_elements, uplink_side
from inventory.model import Policy, Tier, default_policy, tier_policy

DOWN, DEGRADED = "DOWN", "DEGRADED"
STATUSES = (DOWN, DEGRADED)
#: Labels a bare element id is looked up in, in this order (a cable section is a SEGMENT).
ELEMENT_LABELS = ("SEGMENT", "Cable", "Duct", "Point", "Room", "Equipment")
_CUT_LABELS = frozenset({"SEGMENT", "Cable", "Duct"})
#: Kind prefixes accepted on the command line, besides the labels themselves.
_PREFIXES = {"section": "SEGMENT", "segment": "SEGMENT", "cable_section": "SEGMENT",
             "光缆段": "SEGMENT", "cable": "Cable", "光缆": "Cable", "duct": "Duct",
             "管道": "Duct", "管道段": "Duct", "point": "Point", "设施": "Point",
             "room": "Room", "机房": "Room", "device": "Equipment", "equipment": "Equipment",
             "设备": "Equipment", "site": "Site", "站点": "Site"}


# --- naming the failed elements --------------------------------------------------------------

def _prefix_label(prefix: str) -> str | None:
    for label in (*ELEMENT_LABELS, "Site"):
        if prefix.strip().lower() == label.lower():
            return label
    return _PREFIXES.get(prefix.strip().lower()) or _PREFIXES.get(prefix.strip())


def resolve_elements(store: GraphStore, refs: Iterable[str]) -> list[Key]:
    """Turn command-line element references into keys, checking each against the store.

    ``Duct:D-1`` (or ``duct:D-1``, ``管道段:D-1``) names the label; a bare ``D-1`` is looked
    up as a cable section, cable, duct, point, room and device, and must be exactly one of
    them. Raises :class:`NotFound` or :class:`InventoryError` naming the reference.
    """
    keys: list[Key] = []
    for ref in refs:
        ref = str(ref).strip()
        if not ref:
            raise InventoryError("an empty element reference")
        label = None
        element_id = ref
        for sep in (":", "："):
            if sep in ref:
                prefix, rest = ref.split(sep, 1)
                found_label = _prefix_label(prefix)
                if found_label and rest.strip():
                    label, element_id = found_label, rest.strip()
                break
        candidates = [label] if label else list(ELEMENT_LABELS)
        found = [c for c in candidates if _exists(store, c, element_id)]
        if not found:
            if label:
                raise NotFound("cable section" if label == "SEGMENT" else label, element_id)
            raise InventoryError(f"element {ref!r} not found: no cable section, cable, duct, "
                                 "point, room or device has that id")
        if len(found) > 1:
            options = " or ".join(f"{KIND[c]}:{element_id}" for c in found)
            raise InventoryError(f"element {ref!r} is ambiguous: write {options}")
        keys.append((found[0], element_id))
    return list(dict.fromkeys(keys))


def _exists(store: GraphStore, label: str, element_id: str) -> bool:
    if label == "SEGMENT":
        return store.get_rel("SEGMENT", element_id) is not None
    return store.get_node(label, element_id) is not None


# --- candidate sites ---------------------------------------------------------------------------

def failed_vertices(ix: NetworkIndex, failed: Iterable[Key]) -> set[Key]:
    """The analysis vertices (nodes and ``("SEGMENT", id)``) that the failure takes out."""
    failed = frozenset(failed)
    return {v for v, elements in ix.elements.items() if any(e in failed for e in elements)}


def _plant_walk(ix: NetworkIndex, starts: Iterable[Key],
                stops: Callable[[Key, int, bool], bool]) -> None:
    """Depth-first through the plant from ``starts``: cable sections lead to both their ends,
    other vertices to their neighbours unless ``stops(vertex, role, is_start)`` says so (it
    also records what the caller collects)."""
    role, adj, segments = ix.role, ix.adj, ix.segments
    starts = list(dict.fromkeys(starts))
    start_set = set(starts)
    seen = set(starts)
    stack = list(starts)
    while stack:
        u = stack.pop()
        if u[0] == "SEGMENT":
            a, b, _ = segments[u[1]]
            nxt: Iterable[Key] = (a, b)
        elif stops(u, role.get(u, 0), u in start_set):
            continue
        else:
            nxt = [vertex if vertex is not None else nbr for nbr, _, vertex in adj[u]]
        for v in nxt:
            if v not in seen:
                seen.add(v)
                stack.append(v)


def _walk_customer_side(ix: NetworkIndex, starts: Iterable[Key]) -> tuple[set[Key], set[Key]]:
    """Sites (and access nodes) that a site-to-access-node route through ``starts`` could
    belong to: a walk through the passive plant that stops at sites, customer devices,
    access nodes, rooms hosting them, and aggregation. Start vertices are always expanded."""
    sites: set[Key] = set()
    nodes: set[Key] = set()

    def stops(u: Key, r: int, is_start: bool) -> bool:
        if r & SITE:
            sites.add(u)
            return True
        if r & CPE:
            place = ix.location.get(u)
            if place is not None and place[0] == "Site":
                sites.add(place)
            return True
        if r & ACCESS_NODE:
            nodes.add(u)
            if not is_start:
                return True
        if r & AN_ROOM and not is_start:
            nodes.update(d for d in ix.devices_at.get(u, ()) if ix.role[d] & ACCESS_NODE)
            return True
        return bool(r & (AGG | AGG_ROOM)) and not is_start

    _plant_walk(ix, starts, stops)
    return sites, nodes


def _homed_sites(ix: NetworkIndex, access_nodes: Iterable[Key]) -> set[Key]:
    """Sites whose routes may end at one of these access nodes."""
    starts: list[Key] = []
    for node in access_nodes:
        starts.append(node)
        if node in ix.location:
            starts.append(ix.location[node])
    sites, _ = _walk_customer_side(ix, starts)
    return sites


def _uplink_walk(ix: NetworkIndex, starts: Iterable[Key]) -> set[Key]:
    """Access nodes whose uplink to aggregation may run through ``starts``: an uplink never
    passes a site, a customer device or the aggregation layer, so walking from the failed
    vertices under the same rules and stopping at aggregation reaches every such node."""
    nodes: set[Key] = set()

    def stops(u: Key, r: int, is_start: bool) -> bool:
        if r & (SITE | CPE):
            return True
        if r & ACCESS_NODE:
            nodes.add(u)
        return bool(r & (AGG | AGG_ROOM | AGG_HOST)) and not is_start

    _plant_walk(ix, starts, stops)
    return nodes


def _uplink_hit(ix: NetworkIndex, failed_set: frozenset[Key],
                dead: set[Key]) -> set[Key]:
    """Access nodes whose best pair of uplinks to aggregation uses a failed element (a node
    whose pair avoids them keeps at least the protection it had)."""
    hit = set()
    for node in _uplink_walk(ix, dead):
        side = uplink_side(ix, node)
        if any(route_elements(ix, p) & failed_set for p in side.paths):
            hit.add(node)
    return hit


def candidate_sites(G: Any, failed: Iterable[Key], *, index: NetworkIndex | None = None
                    ) -> set[Key]:
    """Every site whose routes or whose access nodes' uplinks may use a failed element."""
    ix = index or network_index(G)
    failed_set = frozenset(failed)
    dead = failed_vertices(ix, failed_set)
    sites, _ = _walk_customer_side(ix, dead)
    dead_nodes = {v for v in dead if ix.role.get(v, 0) & ACCESS_NODE}
    sites |= _homed_sites(ix, dead_nodes | _uplink_hit(ix, failed_set, dead))
    return sites


# --- the impact --------------------------------------------------------------------------------

@dataclass
class AffectedSite:
    """One affected site, with who to call and by when."""

    status: str
    site_id: str
    site_name: str | None
    customer_id: str | None
    customer_name: str | None
    tier: str | None
    circuits: list[str]
    contact: str | None
    phone: str | None
    account_manager: str | None
    account_manager_phone: str | None
    lost: list[str]                  # requirements that passed before and no longer do
    detail: str
    recovery_limit_hours: float | None
    recovery_target_hours: float | None
    deadline: _dt.datetime | None
    feedback_interval_minutes: int | None
    feedback: str

    def as_row(self) -> dict[str, Any]:
        return {"status": self.status, "site_id": self.site_id, "site_name": self.site_name,
                "customer": self.customer_name or self.customer_id, "tier": self.tier,
                "circuits": self.circuits, "contact": self.contact, "phone": self.phone,
                "account_manager": self.account_manager,
                "account_manager_phone": self.account_manager_phone,
                "recovery_limit_h": self.recovery_limit_hours,
                "deadline": self.deadline.isoformat(timespec="minutes") if self.deadline
                else None,
                "feedback": self.feedback, "lost": self.lost, "detail": self.detail}

    def as_dict(self) -> dict[str, Any]:
        row = self.as_row()
        row.update(customer_id=self.customer_id, customer_name=self.customer_name,
                   recovery_target_hours=self.recovery_target_hours,
                   feedback_interval_minutes=self.feedback_interval_minutes)
        return row


@dataclass
class FaultImpact:
    """The result of :func:`fault_impact`."""

    failed: list[Key]
    cable_cut: bool
    fault_start: _dt.datetime | None
    maintenance_point: str | None
    distance_km: float | None          # nearest maintenance point -> failed element
    travel_hours: float
    sites: list[AffectedSite] = field(default_factory=list)
    candidates: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def down(self) -> list[AffectedSite]:
        return [s for s in self.sites if s.status == DOWN]

    @property
    def degraded(self) -> list[AffectedSite]:
        return [s for s in self.sites if s.status == DEGRADED]

    def as_dict(self) -> dict[str, Any]:
        return {"failed": [{"kind": KIND.get(k[0], k[0]), "id": k[1]} for k in self.failed],
                "cable_cut": self.cable_cut,
                "fault_start": self.fault_start.isoformat(timespec="minutes")
                if self.fault_start else None,
                "maintenance_point": self.maintenance_point, "distance_km": self.distance_km,
                "travel_hours": self.travel_hours,
                "summary": {"down": len(self.down), "degraded": len(self.degraded),
                            "candidates": self.candidates},
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "sites": [s.as_dict() for s in self.sites]}


def _up(a: SiteAnalysis, intact: NetworkIndex | None = None) -> bool:
    """Reaches an access node that reaches aggregation (or whose uplink is not in the intact
    network's data at all), as :func:`inventory.graph.trace.connected`."""
    if not a.access_nodes:
        return False
    unknown = True
    for node, up in a.uplinks.items():
        if not uplink_side(intact or a.ix, node).paths:
            continue
        unknown = False
        if up.paths:
            return True
    return unknown


def without(ix: NetworkIndex, failed: Iterable[Key]) -> NetworkIndex:
    """The analysis index of the network with the failed elements taken out (a failed cable or
    duct takes its sections, a failed room or point the devices in it); ``ix`` is not changed.

    Analysing a site with it (``analyse_site(G, site, index=...)``) answers as analysing it
    with ``failed=...`` — rooms keep the roles their devices gave them, so a route still ends
    at a room whose access nodes are dead — but the uplink analyses of the access nodes are
    cached once for all the sites behind them instead of being redone for every site.
    """
    dead = failed_vertices(ix, frozenset(failed))

    def keep(neighbour: Key, vertex: Key | None) -> bool:
        return neighbour not in dead and (vertex is None or vertex not in dead)

    return replace(
        ix,
        adj={u: [e for e in out if keep(e[0], e[2])] for u, out in ix.adj.items()
             if u not in dead},
        role={v: r for v, r in ix.role.items() if v not in dead},
        location={d: p for d, p in ix.location.items() if d not in dead and p not in dead},
        devices_at={p: [d for d in ds if d not in dead] for p, ds in ix.devices_at.items()
                    if p not in dead},
        segments={k: v for k, v in ix.segments.items() if ("SEGMENT", k) not in dead},
        elements={v: e for v, e in ix.elements.items() if v not in dead},
        cache={})


def failure_points(G: Any, failed: Iterable[Key], *, index: NetworkIndex | None = None
                   ) -> list[tuple[float, float]]:
    """Coordinates of the failed elements: their own, and every vertex of the geometries of
    the cable sections (and ducts) that fail."""
    from inventory.geo.crs import parse_line

    ix = index or network_index(G)
    failed_set = frozenset(failed)
    points: list[tuple[float, float]] = []

    def add_node(key: Key) -> None:
        if key not in G:
            return
        data = G.nodes[key]
        if data.get("lon") is not None and data.get("lat") is not None:
            points.append((float(data["lon"]), float(data["lat"])))
        elif key in ix.location:
            add_node(ix.location[key])

    def add_line(wkt: Any) -> bool:
        if not wkt:
            return False
        try:
            points.extend((float(x), float(y)) for x, y, *_ in parse_line(wkt).coords)
        except (InventoryError, ValueError):
            return False
        return True

    for v in failed_vertices(ix, failed_set):
        if v[0] == "SEGMENT":
            a, b, data = ix.segments[v[1]]
            if not add_line(data.get("geometry")):
                add_node(a)
                add_node(b)
        else:
            add_node(v)
    for label, element_id in failed_set:
        if label == "Duct":
            add_line(G.graph.get("ducts", {}).get(element_id, {}).get("geometry"))
    return points


def fault_impact(G: Any, failed: Iterable[Any], *,
                 circuits: Mapping[str, Sequence[str]] | None = None,
                 depots: Sequence[tuple[str, float, float]] | None = None,
                 fault_start: _dt.datetime | None = None,
                 policy: Policy | None = None,
                 candidates: Iterable[Key] | None = None,
                 footprint: Any = None) -> FaultImpact:
    """Every site the failure of ``failed`` takes down or degrades.

    Parameters
    ----------
    G : networkx.MultiGraph
        The analysis graph of the whole network (:func:`~inventory.graph.network.load_network`)
        or of every site around the failed elements.
    failed : iterable of element keys
        ``(label, id)`` with label SEGMENT, Cable, Duct, Point, Room, Equipment or Site (or the
        kinds of :func:`inventory.graph.trace.element_key`).
    circuits : mapping site id -> circuit ids, optional
    depots : sequence of (maintenance point id, lon, lat), optional
        For the travel time; without them travel is not counted.
    fault_start : datetime, optional
        Deadlines are given as times when it is known.
    policy : Policy, optional
    candidates : iterable of site keys, optional
        The sites to analyse, when the caller found them already (:func:`store_candidates`);
        by default :func:`candidate_sites` on ``G``.
    footprint : networkx.MultiGraph, optional
        A graph holding the failed elements, to locate the fault on (default ``G``).

    Returns
    -------
    FaultImpact
        ``sites`` sorted by urgency: DOWN before DEGRADED, then by deadline (limit), higher
        tier first, then site id.
    """
    from inventory.geo.measure import DepotIndex
    from inventory.geo.sla import recovery_time
    from inventory.graph.trace import element_key

    policy = policy or default_policy()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    keys = list(dict.fromkeys(element_key(e) for e in failed))
    if not keys:
        raise InventoryError("name at least one failed element")
    failed_set = frozenset(keys)
    ix = network_index(G)
    timings["index"] = time.perf_counter() - started

    mark = time.perf_counter()
    candidates = sorted(candidate_sites(G, failed_set, index=ix) if candidates is None
                        else set(candidates))
    timings["candidates"] = time.perf_counter() - mark

    mark = time.perf_counter()
    cable_cut = any(k[0] in _CUT_LABELS for k in keys)
    depot_id, distance = None, None
    if depots:
        points = (failure_points(G, keys, index=ix) if footprint is None
                  else failure_points(footprint, keys))
        if points:
            nearest = DepotIndex(depots).nearest_many(points)
            best = min((n for n in nearest if n[0] is not None), key=lambda n: n[1],
                       default=(None, None))
            depot_id, distance = best
    timings["location"] = time.perf_counter() - mark

    mark = time.perf_counter()
    customers = G.graph.get("customers", {})
    circuits = circuits or {}
    sites: list[AffectedSite] = []
    travel = 0.0
    # The failure is applied once, to a copy of the index, so that the uplink analyses of
    # the access nodes are shared by all the sites behind them (cached per index).
    ix_after = without(ix, failed_set)
    timings["without"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for key in candidates:
        before = analyse_site(G, key, policy=policy, index=ix)
        if not _up(before):
            continue        # it was not up before this fault: not this fault's impact
        after = (analyse_site(G, key, policy=policy, index=ix_after)
                 if key in ix_after.role else None)
        if after is not None and _up(after, intact=ix):
            check_before: SiteCheck = check_from(before, spofs=False)
            check_after: SiteCheck = check_from(after, spofs=False)
            lost = [r.name for r in check_before.requirements if r.verdict == PASS
                    and check_after.requirement(r.name).verdict != PASS]
            if not lost:
                continue
            status = DEGRADED
            detail = "; ".join(f"{n}: {check_after.requirement(n).detail}" for n in lost)
        else:
            status, lost = DOWN, []
            detail = "no route left to an access node that reaches aggregation"
        props = before.props
        customer = customers.get(props.get("customer_id"), {})
        # who to call: the site's own contact, else the customer's
        person = props if props.get("contact") or props.get("phone") else customer
        tier = before.tier
        limit = target = deadline = None
        feedback_minutes = None
        feedback = ""
        if tier:
            recovery = recovery_time(tier, distance, cable_cut, fault_start, policy)
            limit, target, deadline = (recovery.total_limit_hours, recovery.total_target_hours,
                                       recovery.deadline)
            travel = recovery.travel_hours
            feedback_minutes = tier_policy(tier, policy).feedback_interval_minutes
            feedback = (f"every {feedback_minutes} min" if feedback_minutes
                        else "on recovery")
        sites.append(AffectedSite(
            status=status, site_id=key[1], site_name=props.get("name"),
            customer_id=props.get("customer_id"), customer_name=customer.get("name"),
            tier=tier, circuits=sorted(circuits.get(key[1], ())),
            contact=person.get("contact"), phone=person.get("phone"),
            account_manager=customer.get("account_manager"),
            account_manager_phone=customer.get("account_manager_phone"),
            lost=lost, detail=detail, recovery_limit_hours=limit, recovery_target_hours=target,
            deadline=deadline, feedback_interval_minutes=feedback_minutes, feedback=feedback))
    timings["analysis"] = time.perf_counter() - mark

    def urgency(s: AffectedSite) -> tuple:
        rank = Tier.parse(s.tier).rank if s.tier else 0
        limit = s.recovery_limit_hours if s.recovery_limit_hours is not None else float("inf")
        return (STATUSES.index(s.status), limit, -rank, s.site_id)

    sites.sort(key=urgency)
    if depots and distance is not None:
        from inventory.geo.measure import distance_band
        travel = distance_band(distance, policy).travel_hours
    timings["total"] = time.perf_counter() - started
    return FaultImpact(failed=keys, cable_cut=cable_cut, fault_start=fault_start,
                       maintenance_point=depot_id, distance_km=distance, travel_hours=travel,
                       sites=sites, candidates=len(candidates), seconds=timings)


# --- from a store ------------------------------------------------------------------------------

def circuits_by_site(store: GraphStore) -> dict[str, list[str]]:
    """Circuit ids per site id, from the TERMINATES_AT relationships (an end at a device
    counts for the site the device is located at)."""
    by_site: dict[str, set[str]] = {}
    device_ends: list[tuple[str, str]] = []
    for rel in store.iter_rels("TERMINATES_AT"):
        if rel.end[0] == "Site":
            by_site.setdefault(rel.end[1], set()).add(rel.start[1])
        elif rel.end[0] == "Equipment":
            device_ends.append((rel.end[1], rel.start[1]))
    if device_ends:
        wanted = {d for d, _ in device_ends}
        where = {}
        for rel in store.iter_rels("LOCATED_AT"):
            if rel.start[1] in wanted and rel.end[0] == "Site":
                where[rel.start[1]] = rel.end[1]
        for device, circuit in device_ends:
            if device in where:
                by_site.setdefault(where[device], set()).add(circuit)
    return {site: sorted(ids) for site, ids in by_site.items()}


def circuits_of(store: GraphStore, G: Any, sites: Iterable[str]) -> dict[str, list[str]]:
    """Circuit ids per site for a few sites: the TERMINATES_AT relationships of the sites and
    of the devices at them, in one batched read."""
    ix = network_index(G)
    keys: list[Key] = []
    owner: dict[Key, str] = {}
    for site in sites:
        key = ("Site", site)
        keys.append(key)
        owner[key] = site
        for device in ix.devices_at.get(key, ()):
            keys.append(device)
            owner[device] = site
    found: dict[str, set[str]] = {}
    if keys:
        _, rels = store.neighbourhood(keys)
        for rel in rels:
            if rel.type == "TERMINATES_AT" and rel.end in owner:
                found.setdefault(owner[rel.end], set()).add(rel.start[1])
    return {site: sorted(ids) for site, ids in found.items()}


# --- candidate sites from a store -----------------------------------------------------------

class _PlantReader:
    """The physical plant around some vertices, read from a store a ring at a time.

    A node is *read* when all its physical relationships (and the nodes at their other end)
    are loaded; its roles are then those :func:`~inventory.graph.network.network_index`
    gives it on the whole network (a place's roles depend on the devices located there).
    The walks below read every vertex they visit, so the analysis walks of this module, run
    on :meth:`graph`, see exactly what they would see on the whole network.
    """

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.nodes: dict[Key, Node] = {}
        self.rels: dict[tuple[str, str], Rel] = {}
        self.adj: dict[Key, list[Rel]] = {}
        self.read: set[Key] = set()
        self._roles: dict[Key, int] = {}

    def load(self, keys: Iterable[Key]) -> None:
        todo = [k for k in dict.fromkeys(keys) if k not in self.read and k[0] != "SEGMENT"]
        if not todo:
            return
        sub = self.store.subgraph(todo, 1, rel_types=PHYSICAL_RELS)
        self.read.update(todo)
        for key, node in sub.nodes.items():
            self.nodes.setdefault(key, node)
        for rk, rel in sub.rels.items():
            if rk in self.rels:
                continue
            self.rels[rk] = rel
            self.adj.setdefault(rel.start, []).append(rel)
            if rel.end != rel.start:
                self.adj.setdefault(rel.end, []).append(rel)

    def add(self, rels: Iterable[Rel]) -> None:
        """Relationships found otherwise (the failed sections); their ends get read."""
        self.load(k for rel in rels for k in (rel.start, rel.end))

    @staticmethod
    def _placed(rel: Rel) -> tuple[Key, Key] | None:
        device, place = (rel.start, rel.end) if rel.start[0] == "Equipment" else (rel.end,
                                                                                  rel.start)
        return (device, place) if device[0] == "Equipment" else None

    def role(self, key: Key) -> int:
        """The roles of a read node (as :func:`network_index` on the whole network)."""
        if key in self._roles:
            return self._roles[key]
        node = self.nodes.get(key)
        if node is None:
            return 0
        role = own_role(key[0], node.props)
        for rel in self.adj.get(key, ()):
            placed = self._placed(rel) if rel.type == "LOCATED_AT" else None
            if placed is None or placed[1] != key or placed[0] not in self.nodes:
                continue
            device_role = own_role("Equipment", self.nodes[placed[0]].props)
            if device_role & ACCESS_NODE:
                role |= AN_ROOM
            if device_role & AGG:
                role |= AGG_HOST
                if key[0] == "Room":
                    role |= AGG_ROOM
        self._roles[key] = role
        return role

    def neighbours(self, key: Key) -> list[Key]:
        return [rel.end if rel.start == key else rel.start for rel in self.adj.get(key, ())]

    def location(self, device: Key) -> Key | None:
        for rel in self.adj.get(device, ()):
            placed = self._placed(rel) if rel.type == "LOCATED_AT" else None
            if placed is not None and placed[0] == device:
                return placed[1]
        return None

    def walk(self, starts: Iterable[Key], seeds: Iterable[Key],
             step: Any) -> set[Key]:
        """Breadth first from ``starts`` (``step(u, role, True)``) and ``seeds``; every visited
        node is read; ``step(u, role, is_start)`` names the neighbours to go on to."""
        starts = [k for k in dict.fromkeys(starts) if k[0] != "SEGMENT"]
        start_set = set(starts)
        seen = set(starts)
        frontier = list(starts)
        for k in seeds:
            if k not in seen:
                seen.add(k)
                frontier.append(k)
        while frontier:
            self.load(frontier)
            nxt: list[Key] = []
            for u in frontier:
                if u not in self.nodes:
                    continue
                for v in step(u, self.role(u), u in start_set):
                    if v not in seen:
                        seen.add(v)
                        nxt.append(v)
            frontier = nxt
        return seen

    def graph(self, extra: Iterable[Node] = ()) -> Any:
        return build_graph([*self.nodes.values(), *extra], self.rels.values())


def _customer_step(reader: _PlantReader) -> Any:
    def step(u: Key, r: int, start: bool) -> list[Key]:  # as _walk_customer_side
        if r & (SITE | CPE):
            return []
        if not start and r & (ACCESS_NODE | AN_ROOM | AGG | AGG_ROOM):
            return []
        return reader.neighbours(u)
    return step


def _uplink_step(reader: _PlantReader) -> Any:
    # as _uplink_walk, but never through the distribution plant either: an uplink path does
    # not pass it (trace._uplink_region), so the access nodes whose uplink can use a failed
    # element are all reached without it
    def step(u: Key, r: int, start: bool) -> list[Key]:
        if r & (SITE | CPE):
            return []
        if not start and r & (PASSIVE | DIST_POINT | AGG | AGG_ROOM | AGG_HOST):
            return []
        return reader.neighbours(u)
    return step


def _region_step(reader: _PlantReader) -> Any:
    # what trace._uplink_region explores from an access node (or more)
    def step(u: Key, r: int, start: bool) -> list[Key]:
        if start:
            return reader.neighbours(u)
        if r & (SITE | CPE | PASSIVE | DIST_POINT) or r & AGG or (r & AGG_ROOM
                                                                    and not r & AGG_HOST):
            return []
        if r & AGG_HOST:
            return [v for v in reader.neighbours(u)
                    if v[0] == "Equipment" and v in reader.nodes
                    and own_role("Equipment", reader.nodes[v].props) & AGG]
        return reader.neighbours(u)
    return step


def _footprint(store: GraphStore, keys: Sequence[Key]) -> tuple[list[Key], list[Rel]]:
    """The failed nodes and cable sections, from the store: a duct's and a cable's sections,
    a section itself; a point, room, site or device itself (its devices fail with it)."""
    nodes: list[Key] = []
    sections: dict[str, Rel] = {}
    for label, element_id in keys:
        if label == "SEGMENT":
            found = store.get_rels("SEGMENT", [element_id]).values()
        elif label == "Cable":
            found = store.find_rels("SEGMENT", cable_id=element_id)
        elif label == "Duct":
            found = store.find_rels("SEGMENT", duct_ids=element_id)
        else:
            nodes.append((label, element_id))
            continue
        for rel in found:
            sections[rel.id] = rel
    return nodes, list(sections.values())


def store_candidates(store: GraphStore, failed: Iterable[Key]) -> tuple[set[Key], Any]:
    """:func:`candidate_sites` of the whole network, from bounded store reads.

    The failed sections and nodes are looked up; the walks of :func:`candidate_sites` (the
    customer side from the failed elements; the access nodes whose uplink could run through
    them, and the uplink region of each; the customer side of the access nodes hit) are
    replayed on the store, reading every node they visit with its relationships; the
    decisions are then taken on the graph of what was read, by the same functions.

    Returns the candidate sites and that graph (it holds the failed elements, to locate the
    fault on; the failed ducts are in ``G.graph["ducts"]``).
    """
    keys = list(dict.fromkeys(failed))
    failed_set = frozenset(keys)
    reader = _PlantReader(store)
    dead_nodes, sections = _footprint(store, keys)
    reader.load(dead_nodes)
    # the devices located at a failed node fail with it
    starts = [k for k in dead_nodes if k in reader.nodes]
    for key in list(starts):
        for rel in reader.adj.get(key, ()):
            placed = reader._placed(rel) if rel.type == "LOCATED_AT" else None
            if placed is not None and placed[1] == key:
                starts.append(placed[0])
    reader.add(sections)
    seeds = [k for rel in sections for k in (rel.start, rel.end)]
    reader.walk(starts, seeds, _customer_step(reader))
    reached = reader.walk(starts, seeds, _uplink_step(reader))
    access_nodes = sorted(k for k in reached if k in reader.nodes
                          and reader.role(k) & ACCESS_NODE)
    region_step = _region_step(reader)
    for node in access_nodes:
        reader.walk([node], [], region_step)
    ducts = [k[1] for k in keys if k[0] == "Duct"]
    duct_nodes = list(store.get_nodes("Duct", ducts).values()) if ducts else []
    G = reader.graph(duct_nodes)
    ix = network_index(G)
    dead = failed_vertices(ix, failed_set)
    sites, _ = _walk_customer_side(ix, dead)
    homes = {v for v in dead if ix.role.get(v, 0) & ACCESS_NODE}
    for node in access_nodes:
        if node in ix.role and any(route_elements(ix, p) & failed_set
                                   for p in uplink_side(ix, node).paths):
            homes.add(node)
    if homes:
        home_starts = [*homes, *(ix.location[n] for n in homes if n in ix.location)]
        before = len(reader.rels), len(reader.nodes)
        reader.walk(home_starts, [], _customer_step(reader))
        if (len(reader.rels), len(reader.nodes)) != before:
            G = reader.graph(duct_nodes)
            ix = network_index(G)
        sites |= _homed_sites(ix, homes)
    return sites, G


def store_impact(store: GraphStore, refs: Iterable[str], *,
                 fault_start: _dt.datetime | None = None,
                 policy: Policy | None = None) -> FaultImpact:
    """Resolve the references against the store, find the candidate sites with bounded reads
    (:func:`store_candidates`), load the graph around them
    (:func:`~inventory.graph.network.load_site_graph`) and compute the impact (see
    :func:`fault_impact`): the same result as on the whole network, without loading it.
    Timings are in ``result.seconds``."""
    started = time.perf_counter()
    keys = resolve_elements(store, refs)
    resolved = time.perf_counter()
    candidates, footprint = store_candidates(store, keys)
    found = time.perf_counter()
    G = (load_site_graph(store, sorted(k[1] for k in candidates)) if candidates
         else build_graph((), ()))
    loaded = time.perf_counter()
    depots = [(n.id, n.props.get("lon"), n.props.get("lat"))
              for n in store.iter_nodes("MaintenancePoint")
              if n.props.get("lon") is not None and n.props.get("lat") is not None]
    extras = time.perf_counter()
    result = fault_impact(G, keys, depots=depots or None, fault_start=fault_start,
                          policy=policy, candidates=candidates, footprint=footprint)
    analysed = time.perf_counter()
    circuits = circuits_of(store, G, [s.site_id for s in result.sites])
    for site in result.sites:
        site.circuits = circuits.get(site.site_id, [])
    result.seconds = {"resolve": resolved - started, "footprint": found - resolved,
                      "load": loaded - found,
                      "depots": extras - loaded, **result.seconds,
                      "circuits": time.perf_counter() - analysed,
                      "total": time.perf_counter() - started}
    return result
