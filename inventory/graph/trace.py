"""Route tracing: the physical routes of a site, as data (the content of a 物理路由图).

A **route** runs from a customer-side device of the site, through the site, cable sections,
points (manholes, closures, cabinets, fiber boxes, poles) and rooms, to an access node
(``Equipment`` of layer ACCESS and type OLT/PTN/MSTP/SDH); an **uplink** runs from an access
node on to the aggregation layer. Splitters (passive) are traced through. The traversal
follows docs/model.md: through rooms and points, never through another site or another
site's device, never past aggregation equipment; on the customer side a room that hosts an
access node is the end of the road (the route ends at one of its access nodes).

The analysis works on **failure elements**: devices, rooms, points, sites, cable sections,
cables and ducts (:func:`route_elements`). A section fails with its cable and with each of its
ducts; a device fails with the room or point it is located in. Diversity is computed with a
minimum-cost flow on the element-expanded graph (every section and node is a vertex of
capacity one, the unavoidable ends are exempt), not by pairing enumerated paths; a cable or
duct that the best vertex-disjoint pair still shares is then avoided by a bounded search.

>>> from inventory.graph.network import example_network
>>> G = example_network()
>>> t = trace(G, "S-1")
>>> [r.name for r in t.routes], t.diverse
(['A', 'B'], 2)
>>> [s.id for s in t.routes[0].steps]
['RT-1', 'S-1', 'SEG-1a', 'MH-1', 'SEG-1b', 'R-ACC1', 'PTN-1']
>>> t.routes[0].length_m
700.0
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import networkx as nx

from inventory.errors import InventoryError, NotFound
from inventory.graph import handover
from inventory.graph.network import (
    ACCESS_NODE,
    AGG,
    AGG_HOST,
    AGG_ROOM,
    AN_ROOM,
    CPE,
    DIST_POINT,
    PASSIVE,
    SITE,
    NetworkIndex,
    network_index,
)
from inventory.graph.store import Key
from inventory.model import Tier, TierPolicy, tier_policy

#: How many routes a trace returns at most (the best diverse pair first, then the next
#: shortest alternatives); configurable per call.
DEFAULT_K = 4
#: How many candidate first routes the shared-cable/duct repair search tries.
REPAIR_CANDIDATES = 24

_BIG = 1 << 40          # "infinite" capacity
_PENALTY = 1e12         # cost of a second unit through a non-exempt vertex (sharing)

#: element key label -> the kind used in results
KIND = {"Equipment": "device", "Room": "room", "Point": "point", "Site": "site",
        "SEGMENT": "section", "Cable": "cable", "Duct": "duct"}
_LABEL = {v: k for k, v in KIND.items()}
POINT_TERMS = {"CABINET": "光交", "FIBER_BOX": "分纤箱", "CLOSURE": "接头盒",
               "BRANCH_CLOSURE": "分歧接头盒", "MANHOLE": "人井", "POLE": "电杆", "ODF": "ODF"}


# --- element references ----------------------------------------------------------------------

def element_key(element: Any) -> Key:
    """Normalise an element reference to its key ``(label, id)``.

    Accepts ``(label, id)`` with a store label (``"Equipment"``, ``"Room"``, ``"Point"``,
    ``"Site"``, ``"Cable"``, ``"Duct"``) or ``"SEGMENT"`` for a cable section, or with a kind
    (``"device"``, ``"room"``, ``"point"``, ``"site"``, ``"section"``, ``"cable"``, ``"duct"``),
    or a ``"kind:id"`` string.

    >>> element_key(("duct", "D-1")), element_key("section:SEG-1a")
    (('Duct', 'D-1'), ('SEGMENT', 'SEG-1a'))
    """
    if isinstance(element, str):
        if ":" not in element:
            raise InventoryError(f"element {element!r}: write it as kind:id, e.g. duct:D-1")
        element = tuple(element.split(":", 1))
    label, element_id = element
    label = _LABEL.get(label, label)
    if label not in KIND:
        raise InventoryError(f"element {element!r}: unknown kind {label!r}; expected one of "
                             f"{', '.join(sorted(_LABEL))}")
    return (label, str(element_id))


def _failed_set(failed: Iterable[Any]) -> frozenset[Key]:
    return frozenset(element_key(e) for e in failed)


# --- regions: the part of the network a site's routes can use ---------------------------------

@dataclass
class Region:
    """Vertices on some walk from a source to a sink, with the walk's successor lists."""

    sources: list[Key]
    sinks: set[Key]
    succ: dict[Key, list[Key]]
    # before pruning (for a partial route when no sink is reached)
    parent: dict[Key, Key | None] = field(default_factory=dict)
    order: list[Key] = field(default_factory=list)


def _explore(ix: NetworkIndex, sources: list[Key], enter: Callable[[Key], bool],
             is_sink: Callable[[Key], bool], only_from: int, only_to: int,
             failed: frozenset[Key]) -> Region:
    """Breadth-first from ``sources``; ``enter(v)`` says whether a physical vertex may be
    entered; a sink is entered but never left; a vertex with a role in ``only_from`` is left
    only towards the devices located there that have a role in ``only_to``."""
    adj, role, elements, segments = ix.adj, ix.role, ix.elements, ix.segments

    def alive(v: Key) -> bool:
        return not any(e in failed for e in elements[v])

    if not failed:
        def alive(v: Key) -> bool:
            return True

    succ: dict[Key, list[Key]] = {}
    parent: dict[Key, Key | None] = {}
    queue = deque()
    for s in sources:
        if s not in parent and alive(s):
            parent[s] = None
            queue.append(s)
    sinks: set[Key] = set()
    order: list[Key] = []
    while queue:
        u = queue.popleft()
        order.append(u)
        out: list[Key] = []
        if u[0] == "SEGMENT":
            a, b, _ = segments[u[1]]
            for v in (a, b):
                if enter(v) and alive(v):
                    out.append(v)
        elif is_sink(u):
            sinks.add(u)
        else:
            restricted = role.get(u, 0) & only_from
            for nbr, _kind, vertex in adj[u]:
                if vertex is not None:
                    # a section is worth entering only if its far end can be entered
                    if restricted or not alive(vertex) or not (enter(nbr) and alive(nbr)):
                        continue
                    out.append(vertex)
                else:
                    if restricted and not role[nbr] & only_to:
                        continue
                    if enter(nbr) and alive(nbr):
                        out.append(nbr)
        succ[u] = out
        for v in out:
            if v not in parent:
                parent[v] = u
                queue.append(v)
    # prune: keep what can still reach a sink
    pred: dict[Key, list[Key]] = {}
    for u, out in succ.items():
        for v in out:
            pred.setdefault(v, []).append(u)
    keep = set(sinks)
    stack = list(sinks)
    while stack:
        v = stack.pop()
        for u in pred.get(v, ()):
            if u not in keep:
                keep.add(u)
                stack.append(u)
    # ... and lies on a simple path: peel dangling branches (a vertex with one neighbour
    # that is neither a source nor a sink is on no simple source-to-sink path)
    ends = set(sources) | sinks
    nbrs: dict[Key, set[Key]] = {u: set() for u in keep}
    for u in keep:
        for v in succ[u]:
            if v in keep and v != u:
                nbrs[u].add(v)
                nbrs[v].add(u)
    leaves = [u for u, ns in nbrs.items() if len(ns) <= 1 and u not in ends]
    while leaves:
        u = leaves.pop()
        if u not in keep:
            continue
        keep.discard(u)
        for v in nbrs.pop(u):
            ns = nbrs[v]
            ns.discard(u)
            if len(ns) <= 1 and v not in ends:
                leaves.append(v)
    pruned = {u: [v for v in out if v in keep] for u, out in succ.items() if u in keep}
    for s in sorted(sinks):
        pruned[s] = []
    return Region([s for s in sources if s in keep], sinks, pruned, parent, order)


def _dangling(ix: NetworkIndex) -> dict[Key, Key]:
    """The plant that hangs off the network as trees (cached per index): peel nodes with at
    most one neighbour, never counting sites and customer devices as neighbours and never
    peeling an access node. Each peeled node maps to its tree: the tree's node next to the
    node it hangs from (or, for a tree hanging from nothing, one node of it). A simple route
    from a site to an access node enters such a tree only when the site (or one of its
    devices) is attached inside it: the tree's only way out is the node it hangs from. (The
    other distribution chains of a cabinet: the site region need not walk them.)"""
    cached = ix.cache.get("dangling")
    if cached is not None:
        return cached
    role, adj = ix.role, ix.adj
    skip = SITE | CPE
    nbrs: dict[Key, set[Key]] = {}
    for u, out in adj.items():
        if role.get(u, 0) & skip:
            continue
        nbrs[u] = {v for v, _, _ in out if v != u and not role.get(v, 0) & skip}
    degree = {u: len(ns) for u, ns in nbrs.items()}
    peeled: set[Key] = set()
    stack = [u for u, d in degree.items() if d <= 1 and not role.get(u, 0) & ACCESS_NODE]
    while stack:
        u = stack.pop()
        if u in peeled:
            continue
        peeled.add(u)
        for v in nbrs[u]:
            if v not in peeled:
                degree[v] -= 1
                if degree[v] <= 1 and not role.get(v, 0) & ACCESS_NODE:
                    stack.append(v)
    hang: dict[Key, Key] = {}
    # one tree per branch: named after its node next to the node it hangs from
    heads = [v for u in nbrs if u not in peeled for v in sorted(nbrs[u]) if v in peeled]
    heads += sorted(peeled)  # trees hanging from nothing: named after one of their nodes
    for head in heads:
        if head in hang:
            continue
        hang[head] = head
        todo = [head]
        while todo:
            u = todo.pop()
            for v in nbrs[u]:
                if v in peeled and v not in hang:
                    hang[v] = head
                    todo.append(v)
    ix.cache["dangling"] = hang
    return hang


def _site_region(ix: NetworkIndex, site: Key, sources: list[Key],
                 failed: frozenset[Key], skip_dangling: bool = True) -> Region:
    """The region of a site's routes. With ``skip_dangling`` the walk leaves out the trees
    of :func:`_dangling` the site is not attached in (they lie on no simple route, so the
    pruned region is the same; only the walk's ``order``/``parent`` differ)."""
    role, location = ix.role, ix.location
    hang: dict[Key, Key] = {}
    allowed: set[Key] = set()
    if skip_dangling:
        hang = _dangling(ix)
        for u in [site, *ix.devices_at.get(site, ())]:
            if u in hang:
                allowed.add(hang[u])
            for v, _, _ in ix.adj.get(u, ()):
                if v in hang:
                    allowed.add(hang[v])

    def enter(v: Key) -> bool:
        r = role[v]
        if r & SITE:
            return v == site
        if r & CPE:
            return location.get(v) == site
        if v in hang and hang[v] not in allowed:
            return False
        return not r & (AGG | AGG_ROOM)

    return _explore(ix, sources, enter, lambda v: bool(role.get(v, 0) & ACCESS_NODE),
                    AN_ROOM, ACCESS_NODE, failed)


def _uplink_region(ix: NetworkIndex, node: Key, failed: frozenset[Key]) -> Region:
    role = ix.role

    def enter(v: Key) -> bool:  # not through the distribution plant (docs/analysis.md)
        return not role[v] & (SITE | CPE | PASSIVE | DIST_POINT)

    def is_sink(v: Key) -> bool:  # aggregation equipment, or an aggregation room without any
        r = role.get(v, 0)
        return bool(r & AGG) or bool(r & AGG_ROOM and not r & AGG_HOST)

    return _explore(ix, [node], enter, is_sink, AGG_HOST, AGG, failed)


# --- disjoint paths: minimum-cost flow on the element-expanded graph ---------------------------

def _vertex_cost(ix: NetworkIndex, v: Key) -> float:
    if v[0] == "SEGMENT":
        length = ix.segments[v[1]][2].get("length_m")
        return 1.0 + (float(length) if isinstance(length, (int, float)) else 0.0)
    return 1.0


def _only_path(region: Region) -> list[Key] | None:
    """The region's one source-to-sink path when it is nothing else (one source, one sink,
    no vertex with more than two neighbours); otherwise ``None``."""
    if len(region.sources) != 1 or len(region.sinks) != 1:
        return None
    succ = region.succ
    nbrs: dict[Key, set[Key]] = {u: set() for u in succ}
    for u, out in succ.items():
        for v in out:
            if v != u:
                nbrs[u].add(v)
                nbrs.setdefault(v, set()).add(u)
                if len(nbrs[u]) > 2 or len(nbrs[v]) > 2:
                    return None
    (sink,) = region.sinks
    path = [region.sources[0]]
    prev = None
    while path[-1] != sink:
        nxt = [v for v in nbrs.get(path[-1], ()) if v != prev]
        if len(nxt) != 1:
            return None
        prev = path[-1]
        path.append(nxt[0])
        if len(path) > len(nbrs):
            return None
    return path if len(path) == len(nbrs) else None


def _flow_paths(ix: NetworkIndex, region: Region, exempt: Callable[[Key], bool],
                k: int = 2) -> list[list[Key]]:
    """``k`` source-to-sink paths of least total cost that share as few non-exempt vertices as
    possible (a second pass through a vertex costs :data:`_PENALTY`). Paths may be equal when
    there is only one way."""
    if not region.sinks or not region.sources:
        return []
    only = _only_path(region)
    if only is not None:  # one way only: every unit of flow takes it
        return [list(only) for _ in range(k)]
    verts = list(region.succ)
    index = {v: i for i, v in enumerate(verts)}
    n = len(verts)
    S, T = 2 * n, 2 * n + 1
    size = 2 * n + 2
    # The arcs in flat lists, arc e next to its reverse e ^ 1: the node it enters, its
    # residual capacity and cost; out[u] lists u's arcs in the order they were added (the
    # search's relaxation order, which decides between routes of equal cost). A region has
    # ~20 vertices, so the flow's cost is Python's per-operation overhead: few calls and
    # few lists (one vertex's arcs are added in one go).
    head: list[int] = []
    cap: list[int] = []
    cost: list[float] = []
    out: list[list[int]] = [[] for _ in range(size)]
    succ = region.succ
    for v, i in index.items():
        weight = _vertex_cost(ix, v)
        a, b = 2 * i, 2 * i + 1
        e = len(head)
        out_b = out[b]
        if exempt(v):
            head += (b, a)
            cap += (_BIG, 0)
            cost += (weight, -weight)
            out[a].append(e)
            out_b.append(e + 1)
        else:  # a first pass at the vertex's cost, a second one at the penalty
            head += (b, a, b, a)
            cap += (1, 0, k, 0)
            cost += (weight, -weight, weight + _PENALTY, -weight - _PENALTY)
            out[a] += (e, e + 2)
            out_b += (e + 1, e + 3)
        for w in succ[v]:  # to the successors (free, unbounded: capacities and costs below)
            e = len(head)
            c = 2 * index[w]
            head += (c, b)
            out_b.append(e)
            out[c].append(e + 1)
        cap += (_BIG, 0) * len(succ[v])
        cost += (0.0, -0.0) * len(succ[v])
    ends = [(S, 2 * index[s]) for s in region.sources]
    ends += [(2 * index[t] + 1, T) for t in sorted(region.sinks) if t in index]
    for u, v in ends:
        e = len(head)
        head += (v, u)
        cap += (_BIG, 0)
        cost += (0.0, -0.0)
        out[u].append(e)
        out[v].append(e + 1)
    sent = 0
    inf = float("inf")
    while sent < k:
        dist = [inf] * size
        via = [-1] * size  # the arc that reached each node
        inq = [False] * size
        dist[S] = 0.0
        queue = deque([S])
        while queue:  # SPFA (residual costs may be negative)
            u = queue.popleft()
            inq[u] = False
            du = dist[u]
            for e in out[u]:
                if cap[e] > 0:
                    v = head[e]
                    d = du + cost[e]
                    if d < dist[v] - 1e-9:
                        dist[v] = d
                        via[v] = e
                        if not inq[v]:
                            inq[v] = True
                            queue.append(v)
        if via[T] < 0:
            break
        v = T
        while v != S:
            e = via[v]
            cap[e] -= 1
            cap[e ^ 1] += 1
            v = head[e ^ 1]
        sent += 1
    # decompose: the flow on an arc is its reverse's residual capacity (which starts at 0)
    paths = []
    for _ in range(sent):
        u, path, guard = S, [], 0
        while u != T and guard <= size:
            guard += 1
            for e in out[u]:
                if not e & 1 and cap[e + 1] > 0:
                    cap[e + 1] -= 1
                    v = head[e]
                    if v < 2 * n and v % 2 == 0:
                        path.append(verts[v // 2])
                    u = v
                    break
            else:
                break
        if u == T:
            paths.append(path)
    return paths


def _dijkstra_pred(ix: NetworkIndex, region: Region, blocked: Callable[[Key], bool]
                   ) -> list[Key] | None:
    counter = itertools.count()
    dist: dict[Key, float] = {}
    prev: dict[Key, Key | None] = {}
    heap = []
    for s in region.sources:
        if not blocked(s):
            dist[s] = _vertex_cost(ix, s)
            prev[s] = None
            heap.append((dist[s], next(counter), s))
    heapq.heapify(heap)
    done: set[Key] = set()
    while heap:
        d, _, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if u in region.sinks:
            path = [u]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            return path[::-1]
        for v in region.succ.get(u, ()):
            if v in done or blocked(v):
                continue
            nd = d + _vertex_cost(ix, v)
            if nd < dist.get(v, float("inf")):
                dist[v] = nd
                prev[v] = u
                heapq.heappush(heap, (nd, next(counter), v))
    return None


def _simple_paths(ix: NetworkIndex, region: Region, limit: int) -> list[list[Key]]:
    """Up to ``limit`` shortest simple source-to-sink paths (by cost)."""
    if not region.sinks or not region.sources:
        return []
    D = nx.DiGraph()
    src, dst = ("_", "source"), ("_", "sink")
    for u, out in region.succ.items():
        for v in out:
            D.add_edge(u, v, w=_vertex_cost(ix, v))
    for s in region.sources:
        D.add_edge(src, s, w=_vertex_cost(ix, s))
    for t in sorted(region.sinks):
        D.add_edge(t, dst, w=0.0)
    if src not in D or dst not in D or not nx.has_path(D, src, dst):
        return []
    return [p[1:-1] for p in itertools.islice(nx.shortest_simple_paths(D, src, dst, "w"),
                                                limit)]


def route_elements(ix: NetworkIndex, path: Iterable[Key]) -> set[Key]:
    """Every failure element a path depends on: its vertices, each section's cable and ducts,
    each device's location."""
    out: set[Key] = set()
    for v in path:
        out.update(ix.elements[v])
    return out


@dataclass
class Side:
    """One end-to-end question: the best (most diverse) pair of paths over a region."""

    region: Region
    paths: list[list[Key]]
    diverse: int
    shared: list[Key]
    exempt: frozenset[Key]
    _cuts: set[Key] | None = None


def _path_cost(ix: NetworkIndex, path: list[Key]) -> float:
    return sum(_vertex_cost(ix, v) for v in path)


def _solve_side(ix: NetworkIndex, region: Region, exempt: frozenset[Key],
                exempt_vertex: Callable[[Key], bool], want: int = 2) -> Side:
    paths = _flow_paths(ix, region, exempt_vertex, k=max(want, 1))
    distinct: list[list[Key]] = []
    for p in paths:
        if p not in distinct:
            distinct.append(p)
    distinct.sort(key=lambda p: (_path_cost(ix, p), p))
    if not distinct:
        return Side(region, [], 0, [], exempt)
    if len(distinct) == 1 or want < 2:
        return Side(region, distinct[:1] if want < 2 else distinct, 1,
                    [] if want < 2 else sorted(route_elements(ix, distinct[0]) - exempt),
                    exempt)
    p1, p2 = distinct[0], distinct[1]
    shared = (route_elements(ix, p1) & route_elements(ix, p2)) - exempt
    if not shared:
        return Side(region, [p1, p2], 2, [], exempt)
    # The least-sharing pair still shares something. When it shares a vertex (a node or a
    # section) no pair can avoid that (a second pass through a vertex costs more than any
    # route). When it shares only a cable, duct or location that spans several vertices,
    # look for a first route that leaves room for a second one.
    if (set(p1) & set(p2)) - exempt:
        return Side(region, [p1, p2], 1, sorted(shared), exempt)
    # An element every route needs (a cut) cannot be avoided: no search then.
    if any(not _connected(region, ix, frozenset([e])) for e in sorted(shared)):
        return Side(region, [p1, p2], 1, sorted(shared), exempt)
    for first in _simple_paths(ix, region, REPAIR_CANDIDATES):
        used = route_elements(ix, first) - exempt
        second = _dijkstra_pred(
            ix, region, lambda v: any(e in used for e in ix.elements[v]))  # noqa: B023
        if second is not None:
            pair = sorted([first, second], key=lambda p: (_path_cost(ix, p), p))
            return Side(region, pair, 2, [], exempt)
    return Side(region, [p1, p2], 1, sorted(shared), exempt)


def _connected(region: Region, ix: NetworkIndex, failed: frozenset[Key]) -> set[Key]:
    """The sinks still reachable when ``failed`` elements fail."""
    elements = ix.elements

    def alive(v: Key) -> bool:
        return not any(e in failed for e in elements[v])

    seen = {s for s in region.sources if alive(s)}
    stack = list(seen)
    reached = set()
    while stack:
        u = stack.pop()
        if u in region.sinks:
            reached.add(u)
            continue
        for v in region.succ.get(u, ()):
            if v not in seen and alive(v):
                seen.add(v)
                stack.append(v)
    return reached


def side_cuts(ix: NetworkIndex, side: Side, ignore: frozenset[Key] = frozenset()) -> set[Key]:
    """Elements whose failure alone disconnects every source from every sink of the side.

    Every such element lies on every path, so only the elements common to the side's best
    pair (or of its only path) are candidates; each is then checked by removing it.
    """
    if side._cuts is not None:
        return side._cuts
    if not side.paths:
        side._cuts = set()
        return side._cuts
    common = route_elements(ix, side.paths[0])
    for p in side.paths[1:]:
        common &= route_elements(ix, p)
    cuts = {x for x in common - ignore if not _connected(side.region, ix, frozenset([x]))}
    side._cuts = cuts
    return cuts


# --- the analysis of one site ------------------------------------------------------------------

@dataclass
class SiteAnalysis:
    """Everything trace, check and spof need about one site; built by :func:`analyse_site`."""

    G: Any
    ix: NetworkIndex
    site: Key
    props: dict[str, Any]
    tier: str | None
    policy: TierPolicy | None
    failed: frozenset[Key]
    devices: list[Key]             # customer-side devices at the site (alive)
    routed_devices: list[Key]      # ... that reach an access node
    access_nodes: list[Key]        # reachable access nodes
    access_rooms: list[Key]        # their distinct locations
    dual_device: bool
    dual_node: bool
    access: Side | None
    uplinks: dict[Key, Side]


def _tier_of(G: Any, props: dict[str, Any]) -> str | None:
    tier = props.get("tier")
    if not tier:
        tier = G.graph.get("customers", {}).get(props.get("customer_id"), {}).get("tier")
    if not tier:
        return None
    try:
        return Tier.parse(tier).value
    except ValueError:
        return None


def site_key(G: Any, site: str | Key) -> Key:
    """Check a site id and return its node key; :class:`NotFound` names the id."""
    key = site if isinstance(site, tuple) else ("Site", str(site))
    if key[0] != "Site" or key not in G:
        raise NotFound("Site", key[1] if isinstance(key, tuple) else str(site))
    return key


def uplink_side(ix: NetworkIndex, node: Key, failed: frozenset[Key] = frozenset()) -> Side:
    """The best pair of paths from an access node to the aggregation layer (cached per graph
    index when nothing has failed). The node, its room and the aggregation end are exempt."""
    cache_key = ("uplink", node)
    if not failed and cache_key in ix.cache:
        return ix.cache[cache_key]
    role, location = ix.role, ix.location
    region = _uplink_region(ix, node, failed)
    home = location.get(node)
    exempt_set = {node} | ({home} if home else set())
    for v in region.sinks:
        exempt_set.add(v)
        if v in location:
            exempt_set.add(location[v])
    exempt = frozenset(exempt_set)
    side = _solve_side(ix, region, exempt, lambda v: v in exempt
                       or bool(role.get(v, 0) & (AGG | AGG_ROOM)))
    if not failed:
        ix.cache[cache_key] = side
    return side


def analyse_site(G: Any, site: str | Key, *, failed: Iterable[Any] = (),
                 policy: Any = None, index: NetworkIndex | None = None) -> SiteAnalysis:
    """Analyse one site on ``G`` (with the ``failed`` elements removed).

    Parameters
    ----------
    G : networkx.MultiGraph
        From :func:`~inventory.graph.network.load_site_graph` or
        :func:`~inventory.graph.network.load_network`.
    site : str
        The site id.
    failed : iterable of element references
        Elements to treat as failed (see :func:`element_key`): fault impact.
    policy : inventory.model.Policy, optional
    index : NetworkIndex, optional
        ``network_index(G)``, when the caller analyses many sites of one graph.

    Raises
    ------
    NotFound
        When the site is not in ``G``.
    """
    key = site_key(G, site)
    ix = index or network_index(G)
    failed_set = _failed_set(failed)
    props = dict(G.nodes[key])
    tier = _tier_of(G, props)
    pol = tier_policy(tier, policy) if tier else None
    role, location = ix.role, ix.location

    def alive(v: Key) -> bool:
        return not failed_set or not any(e in failed_set for e in ix.elements[v])

    devices = sorted(d for d in ix.devices_at.get(key, ()) if role[d] & CPE and alive(d))
    analysis = SiteAnalysis(G, ix, key, props, tier, pol, failed_set, devices, [], [], [],
                            False, False, None, {})
    if not devices or not alive(key):
        return analysis
    region = _site_region(ix, key, devices, failed_set)
    analysis.routed_devices = sorted(region.sources)
    analysis.access_nodes = sorted(region.sinks)
    analysis.access_rooms = sorted({location.get(a, a) for a in region.sinks})
    want_devices = pol.customer_devices if pol else 1
    want_nodes = pol.access_nodes if pol else 1
    analysis.dual_device = want_devices >= 2 and len(analysis.routed_devices) >= 2
    analysis.dual_node = want_nodes >= 2 and len(analysis.access_rooms) >= 2
    exempt_set = {key}
    if not analysis.dual_device:
        exempt_set.update(devices)
    if not analysis.dual_node:
        exempt_set.update(region.sinks)
        exempt_set.update(location[a] for a in region.sinks if a in location)
    exempt = frozenset(exempt_set)
    analysis.access = _solve_side(ix, region, exempt, lambda v: v in exempt)
    for node in analysis.access_nodes:
        analysis.uplinks[node] = uplink_side(ix, node, failed_set)
    return analysis


# --- routes as data ----------------------------------------------------------------------------

@dataclass
class Step:
    """One step of a route: a device, site, room, point or cable section."""

    kind: str
    id: str
    name: str | None = None
    type: str | None = None
    lon: float | None = None
    lat: float | None = None
    geometry: str | None = None
    cable_id: str | None = None
    cable_name: str | None = None
    cable_level: str | None = None
    duct_ids: list[str] = field(default_factory=list)
    length_m: float | None = None
    laying: str | None = None
    fiber_count: int | None = None
    cores_used: int | None = None
    monitored: bool | None = None
    location_id: str | None = None
    maintainer: str = handover.BASE
    boundary: bool = False
    shared: bool = False
    duct_maintainers: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies recursively, and a site page has
        # hundreds of steps
        data = {name: getattr(self, name) for name in _STEP_FIELDS}
        data["duct_ids"] = list(self.duct_ids)
        return data


_STEP_FIELDS = tuple(f.name for f in fields(Step) if f.name != "duct_maintainers")


@dataclass
class Route:
    """An ordered list of steps plus the flattened element sets and flags (NetBox CablePath)."""

    name: str
    kind: str                    # "access" (site -> access node) or "uplink" (-> aggregation)
    steps: list[Step]
    length_m: float
    access_node: str | None
    complete: bool
    elements: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "access_node": self.access_node,
                "complete": self.complete, "length_m": self.length_m,
                "steps": [s.as_dict() for s in self.steps], "elements": self.elements}


@dataclass
class SharedElement:
    """An element two routes both depend on, with where it lies on them."""

    kind: str
    id: str
    name: str | None
    where: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(G: Any, key: Key) -> str:
    """A short human name of an element: ``人井 MH-1``, ``机房 Bole access 1``, ``PTN PTN-1``."""
    label, element_id = key
    if label in ("Cable", "Duct"):
        props = G.graph.get("cables" if label == "Cable" else "ducts", {}).get(element_id, {})
        return f"{'光缆' if label == 'Cable' else '管道'} {element_id}" + (
            f" ({props['name']})" if props.get("name") and props["name"] != element_id else "")
    if label == "SEGMENT":
        return f"光缆段 {element_id}"
    data = G.nodes[key] if key in G else {}
    name = data.get("name") or element_id
    if label == "Point":
        term = POINT_TERMS.get(data.get("kind"), "点")
    elif label == "Room":
        term = "机房"
    elif label == "Site":
        term = "站点"
    else:
        term = data.get("type") or "设备"
    return f"{term} {name}"


def _make_step(G: Any, ix: NetworkIndex, v: Key) -> Step:
    if v[0] == "SEGMENT":
        _a, _b, data = ix.segments[v[1]]
        cable = G.graph.get("cables", {}).get(data.get("cable_id"), {})
        ducts = [G.graph.get("ducts", {}).get(d) or {} for d in data.get("duct_ids") or ()]
        return Step(
            kind="section", id=v[1], name=data.get("name") or cable.get("name"),
            geometry=data.get("geometry"), cable_id=data.get("cable_id"),
            cable_name=cable.get("name"), cable_level=cable.get("level"),
            duct_ids=list(data.get("duct_ids") or ()), length_m=data.get("length_m"),
            laying=data.get("laying"),
            fiber_count=data.get("fiber_count", cable.get("fiber_count")),
            cores_used=data.get("cores_used"),
            maintainer=handover.section_maintainer(cable),
            duct_maintainers=[handover.duct_maintainer(d) for d in ducts])
    data = G.nodes[v]
    kind = KIND[v[0]]
    step = Step(kind=kind, id=v[1], name=data.get("name"),
                type=data.get("type") if kind == "device" else data.get("kind"),
                lon=data.get("lon"), lat=data.get("lat"))
    if kind == "device":
        step.monitored = data.get("monitored")
        step.maintainer = handover.device_maintainer(data)
        place = ix.location.get(v)
        step.location_id = place[1] if place is not None else None
        if place is not None and place in G and step.lon is None:
            step.lon, step.lat = G.nodes[place].get("lon"), G.nodes[place].get("lat")
    elif kind == "site":
        step.maintainer = handover.maintainer("site", data)
    return step


_ELEMENT_GROUPS = {"SEGMENT": "sections", "Cable": "cables", "Duct": "ducts", "Point": "points",
                   "Room": "rooms", "Equipment": "devices", "Site": "sites"}


def make_route(G: Any, ix: NetworkIndex, path: list[Key], name: str, kind: str = "access",
               shared: Iterable[Key] = (), complete: bool = True) -> Route:
    """Turn a path of vertices into a :class:`Route` with handover marks."""
    shared = set(shared)
    steps = [_make_step(G, ix, v) for v in path]
    for v, step in zip(path, steps):
        step.shared = any(e in shared for e in ix.elements[v])
    handover.mark_boundaries(steps)
    elements: dict[str, list[str]] = {g: [] for g in _ELEMENT_GROUPS.values()}
    for e in sorted(route_elements(ix, path)):
        elements[_ELEMENT_GROUPS[e[0]]].append(e[1])
    length = sum(float(s.length_m or 0.0) for s in steps if s.kind == "section")
    end = path[-1] if path else None
    access_node = None
    if kind == "access" and end is not None and ix.role.get(end, 0) & ACCESS_NODE:
        access_node = end[1]
    elif kind == "uplink" and path:
        access_node = path[0][1]
    return Route(name, kind, steps, round(length, 3), access_node, complete, elements)


def shared_elements(G: Any, ix: NetworkIndex, path_a: list[Key], path_b: list[Key],
                    keys: Iterable[Key]) -> list[SharedElement]:
    """Name every shared element and where it lies on the two routes."""
    out = []
    for key in sorted(keys):
        kind = KIND[key[0]]
        spans = []
        for path in (path_a, path_b):
            sections = [v for v in path if v[0] == "SEGMENT" and key in ix.elements[v]]
            if sections:
                first, last = ix.segments[sections[0][1]], ix.segments[sections[-1][1]]
                ends = [first[0], first[1], last[0], last[1]]
                on_path = [v for v in path if v in ends]
                if on_path:
                    spans.append(f"between {describe(G, on_path[0])} and "
                                 f"{describe(G, on_path[-1])}")
        where = spans[0] if spans else ""
        if len(spans) == 2 and spans[0] != spans[1]:
            where = f"route A {spans[0]}, route B {spans[1]}"
        sep = ": " if where.startswith("route A") else " "
        name = describe(G, key)
        if kind == "duct":
            message = f"both routes run in duct {key[1]}{sep}{where}"
        elif kind == "cable":
            message = (f"both routes use cable {key[1]} (different cores of one cable are one "
                       f"route){sep}{where}")
        elif kind == "section":
            message = f"both routes use cable section {key[1]}{sep}{where}"
        else:
            where = where or "on both routes"
            message = f"both routes pass through {name}"
            location = next((v for v in path_a if ix.location.get(v) == key), None)
            if location is not None and key not in path_a:
                message += f" (where {describe(G, location)} is installed)"
        props = {}
        if key[0] in ("Cable", "Duct"):
            props = G.graph.get("cables" if key[0] == "Cable" else "ducts", {}).get(key[1], {})
        elif key in G:
            props = G.nodes[key]
        out.append(SharedElement(kind, key[1], props.get("name"), where, message.strip()))
    return out


@dataclass
class SiteTrace:
    """The routes of one site: to its access nodes, and from those on to aggregation."""

    site_id: str
    site_name: str | None
    customer_id: str | None
    tier: str | None
    devices: list[str]
    access_nodes: list[str]
    routes: list[Route]
    uplinks: list[Route]
    diverse: int
    shared: list[SharedElement]
    complete: bool

    def as_dict(self) -> dict[str, Any]:
        return {"site_id": self.site_id, "site_name": self.site_name,
                "customer_id": self.customer_id, "tier": self.tier, "devices": self.devices,
                "access_nodes": self.access_nodes, "complete": self.complete,
                "diverse_routes": self.diverse,
                "shared": [s.as_dict() for s in self.shared],
                "routes": [r.as_dict() for r in self.routes],
                "uplinks": [r.as_dict() for r in self.uplinks]}


def _names() -> Iterable[str]:
    for n in itertools.count(1):
        for letters in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=n):
            yield "".join(letters)


def trace(G: Any, site: str, *, k: int = DEFAULT_K, failed: Iterable[Any] = (),
          policy: Any = None) -> SiteTrace:
    """Trace every physical route of a site that matters.

    Parameters
    ----------
    G : networkx.MultiGraph
        The analysis graph (:mod:`inventory.graph.network`).
    site : str
        Site id.
    k : int
        At most this many routes to access nodes: the most diverse pair first (``A``, ``B``),
        then the next shortest alternatives.
    failed : iterable of element references, optional
        Elements removed first (fault impact; see :func:`element_key`).

    Returns
    -------
    SiteTrace
        ``routes`` (site to access node) and ``uplinks`` (each access node on to aggregation,
        the best pair), ``diverse`` (0, 1 or 2) and, when the best pair is not diverse, the
        ``shared`` elements. When no access node is reached, one incomplete route shows how
        far the data goes.

    Raises
    ------
    NotFound
        When the site is not in ``G``.

    Examples
    --------
    >>> from inventory.graph.network import example_network
    >>> t = trace(example_network(), "S-1")
    >>> [(r.name, r.access_node, r.length_m) for r in t.routes]
    [('A', 'PTN-1', 700.0), ('B', 'PTN-1', 850.0)]
    >>> [(u.name, u.steps[-1].id) for u in t.uplinks]
    [('A', 'AGG-1'), ('B', 'AGG-1')]
    """
    if k < 1:
        raise InventoryError(f"k must be at least 1, not {k}")
    a = analyse_site(G, site, failed=failed, policy=policy)
    return trace_from(a, k=k)


def trace_from(a: SiteAnalysis, k: int = DEFAULT_K) -> SiteTrace:
    """Build the :class:`SiteTrace` of an analysis (see :func:`trace`)."""
    G, ix = a.G, a.ix
    names = _names()
    routes: list[Route] = []
    paths: list[list[Key]] = []
    shared: list[SharedElement] = []
    side = a.access
    if side is not None and side.paths:
        best = side.paths[:2]
        shared_keys = set(side.shared) if side.diverse < 2 and len(best) == 2 else set()
        paths = list(best)
        if len(best) == 2 and shared_keys:
            shared = shared_elements(G, ix, best[0], best[1], shared_keys)
        def physical(p: list[Key]) -> tuple[Key, ...]:  # the same way from another device
            return tuple(v for v in p if not ix.role.get(v, 0) & CPE)

        seen = {physical(p) for p in paths}
        for p in _simple_paths(ix, side.region, 4 * k + len(best)):
            if len(paths) >= k:
                break
            if physical(p) not in seen:
                seen.add(physical(p))
                paths.append(p)
        paths = paths[:k]
        for i, p in enumerate(paths):
            routes.append(make_route(G, ix, p, next(names), "access",
                                     shared_keys if i < 2 else ()))
    elif a.devices:
        region = _site_region(ix, a.site, a.devices, a.failed, skip_dangling=False)
        far = region.order[-1] if region.order else None
        path = []
        while far is not None:
            path.append(far)
            far = region.parent.get(far)
        if path:
            routes.append(make_route(G, ix, path[::-1], next(names), "access",
                                     complete=False))
    uplinks: list[Route] = []
    for node in a.access_nodes:
        up = a.uplinks.get(node)
        if up is None:
            continue
        up_names = _names()
        for p in up.paths[:2]:
            uplinks.append(make_route(G, ix, p, next(up_names), "uplink",
                                      up.shared if up.diverse < 2 else ()))
        if not up.paths:
            uplinks.append(Route(next(up_names), "uplink", [], 0.0, node[1], False, {}))
    return SiteTrace(
        site_id=a.site[1], site_name=a.props.get("name"),
        customer_id=a.props.get("customer_id"), tier=a.tier,
        devices=[d[1] for d in a.devices], access_nodes=[n[1] for n in a.access_nodes],
        routes=routes, uplinks=uplinks, diverse=side.diverse if side else 0, shared=shared,
        complete=bool(routes) and routes[0].complete)


def connected(G: Any, site: str, failed: Iterable[Any] = ()) -> bool:
    """Whether the site still reaches an access node that still reaches the aggregation layer
    (an access node with no uplink in the data counts as reaching it) once ``failed`` fail.

    >>> from inventory.graph.network import example_network
    >>> G = example_network()
    >>> connected(G, "S-1", [("cable", "C-1")]), connected(G, "S-1", [("room", "R-ACC1")])
    (True, False)
    """
    a = analyse_site(G, site, failed=failed)
    if not a.access_nodes:
        return False
    unknown = True
    for node, up in a.uplinks.items():
        full = uplink_side(a.ix, node)
        if not full.paths:
            continue
        unknown = False
        if up.paths:
            return True
    return unknown
