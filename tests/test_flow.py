"""The two-route flow (``trace._flow_paths``) on random regions, against networkx's own
minimum-cost flow: the routes found must be real routes of the region and cost exactly the
optimum."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.graph.network import NetworkIndex
from inventory.graph.trace import _PENALTY, Region, _flow_paths

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
