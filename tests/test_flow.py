"""The two-route flow (``trace._flow_paths``) on random regions, against networkx's own
minimum-cost flow: the routes found must be real routes of the region and cost exactly the
optimum."""

from __future__ import annotations

from collections import deque

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.graph.network import NetworkIndex
from inventory.graph.trace import _PENALTY, Region, _flow_paths, _only_path

PENALTY = int(_PENALTY)


def _region(n: int, edges: list[tuple[int, int]], one_way: set[int], sinks: int) -> Region:
    """Vertices 0..n-1 (Points, cost 1 each); 0 is the source, the last ``sinks`` are the
    sinks (entered, never left). An edge is walkable both ways, or only from the lower
    vertex to the higher when its index is in ``one_way``."""
    keys = [("Point", f"P{i}") for i in range(n)]
    sink_keys = set(keys[n - sinks:])
    succ: dict = {k: [] for k in keys}
    for index, (a, b) in enumerate(edges):
        if a == b:
            continue
        a, b = min(a, b), max(a, b)
        if keys[a] not in sink_keys and keys[b] not in succ[keys[a]]:
            succ[keys[a]].append(keys[b])
        if index not in one_way and keys[b] not in sink_keys and keys[a] not in succ[keys[b]]:
            succ[keys[b]].append(keys[a])
    return Region([keys[0]], sink_keys, succ)


def _optimum(region: Region, exempt: set, k: int = 2) -> tuple[int, int]:
    """(units of flow, their least cost) by networkx on the vertex-split graph: a vertex
    passed once costs 1, a second time 1 + PENALTY unless exempt."""
    D = nx.DiGraph()
    for v in region.succ:
        if v in exempt:
            D.add_edge((v, "in"), (v, "out"), capacity=k, weight=1)
        else:
            D.add_edge((v, "in"), (v, "out"), capacity=1, weight=1)
            # the second, penalised pass through a middle node (DiGraph has no parallel arcs)
            D.add_edge((v, "in"), (v, "again"), capacity=k, weight=1 + PENALTY)
            D.add_edge((v, "again"), (v, "out"), capacity=k, weight=0)
        for w in region.succ[v]:
            D.add_edge((v, "out"), (w, "in"), capacity=k, weight=0)
    D.add_edge("S", (region.sources[0], "in"), capacity=k, weight=0)
    for t in region.sinks:
        D.add_edge((t, "out"), "T", capacity=k, weight=0)
    flow = nx.max_flow_min_cost(D, "S", "T")
    return sum(flow["S"].values()), nx.cost_of_flow(D, flow)


def _cost(paths: list[list], exempt: set) -> int:
    uses: dict = {}
    for path in paths:
        for v in path:
            uses[v] = uses.get(v, 0) + 1
    return sum(uses.values()) + PENALTY * sum(c - 1 for v, c in uses.items()
                                              if c > 1 and v not in exempt)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_flow_paths_are_routes_of_least_cost(data):
    n = data.draw(st.integers(4, 14), label="vertices")
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                               min_size=n - 1, max_size=2 * n), label="edges")
    one_way = set(data.draw(st.lists(st.integers(0, 2 * n)), label="one-way edges"))
    region = _region(n, edges, one_way, data.draw(st.integers(1, 2), label="sinks"))
    exempt = {region.sources[0], *region.sinks}
    paths = _flow_paths(NetworkIndex(), region, lambda v: v in exempt)
    units, cost = _optimum(region, exempt)
    distinct = {tuple(p) for p in paths}
    # the only-path shortcut returns its one path twice; otherwise one path per unit
    assert len(paths) == units or (units == 1 and len(distinct) == 1)
    if len(paths) == units:
        assert _cost(paths, exempt) == cost
    for path in paths:
        assert path[0] in region.sources and path[-1] in region.sinks
        assert all(b in region.succ[a] for a, b in zip(path, path[1:]))


def _reference_flow_paths(region: Region, exempt, k: int = 2) -> list[list]:
    """The flow as first written (a list per node for each arc field, arcs added by a helper):
    the compact version in ``trace`` must pick the same routes, ties included."""
    verts = list(region.succ)
    index = {v: i for i, v in enumerate(verts)}
    n = len(verts)
    S, T = 2 * n, 2 * n + 1
    size = 2 * n + 2
    to: list[list[int]] = [[] for _ in range(size)]
    cap: list[list[int]] = [[] for _ in range(size)]
    cost: list[list[float]] = [[] for _ in range(size)]
    rev: list[list[int]] = [[] for _ in range(size)]
    original: list[list[int]] = [[] for _ in range(size)]

    def add(u, v, capacity, weight):
        rev[u].append(len(to[v]))
        to[u].append(v)
        cap[u].append(capacity)
        cost[u].append(weight)
        original[u].append(capacity)
        rev[v].append(len(to[u]) - 1)
        to[v].append(u)
        cap[v].append(0)
        cost[v].append(-weight)
        original[v].append(0)

    for v, i in index.items():
        if exempt(v):
            add(2 * i, 2 * i + 1, 1 << 40, 1.0)
        else:
            add(2 * i, 2 * i + 1, 1, 1.0)
            add(2 * i, 2 * i + 1, k, 1.0 + _PENALTY)
        for w in region.succ[v]:
            add(2 * i + 1, 2 * index[w], 1 << 40, 0.0)
    for s in region.sources:
        add(S, 2 * index[s], 1 << 40, 0.0)
    for t in sorted(region.sinks):
        add(2 * index[t] + 1, T, 1 << 40, 0.0)
    sent = 0
    while sent < k:
        dist = [float("inf")] * size
        via = [None] * size
        inq = [False] * size
        dist[S] = 0.0
        queue = deque([S])
        while queue:
            u = queue.popleft()
            inq[u] = False
            for j, v in enumerate(to[u]):
                if cap[u][j] > 0 and dist[u] + cost[u][j] < dist[v] - 1e-9:
                    dist[v] = dist[u] + cost[u][j]
                    via[v] = (u, j)
                    if not inq[v]:
                        inq[v] = True
                        queue.append(v)
        if via[T] is None:
            break
        v = T
        while v != S:
            u, j = via[v]
            cap[u][j] -= 1
            cap[v][rev[u][j]] += 1
            v = u
        sent += 1
    flow = {(u, j): original[u][j] - c for u in range(size) for j, c in enumerate(cap[u])
            if original[u][j] > c}
    paths = []
    for _ in range(sent):
        u, path, guard = S, [], 0
        while u != T and guard <= size:
            guard += 1
            for j, v in enumerate(to[u]):
                if flow.get((u, j), 0) > 0:
                    flow[(u, j)] -= 1
                    if v < 2 * n and v % 2 == 0:
                        path.append(verts[v // 2])
                    u = v
                    break
            else:
                break
        if u == T:
            paths.append(path)
    return paths


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_flow_paths_match_the_reference_search(data):
    # every vertex costs 1: routes of equal cost everywhere, so the search order shows
    n = data.draw(st.integers(4, 14), label="vertices")
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                               min_size=n - 1, max_size=2 * n), label="edges")
    one_way = set(data.draw(st.lists(st.integers(0, 2 * n)), label="one-way edges"))
    region = _region(n, edges, one_way, data.draw(st.integers(1, 3), label="sinks"))
    exempt = {region.sources[0], *region.sinks}
    exempt |= set(data.draw(st.lists(st.sampled_from(list(region.succ)), max_size=3),
                            label="more exempt"))
    if _only_path(region) is not None:
        return  # the shortcut, not the search
    assert _flow_paths(NetworkIndex(), region, exempt.__contains__) == \
        _reference_flow_paths(region, exempt.__contains__)
