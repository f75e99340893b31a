"""``store_impact`` reads only the plant around the failed elements (store_candidates +
load_site_graph), and must answer exactly as the analysis of the whole network: the same
DOWN/DEGRADED sites, the same lost requirements, deadlines and candidates — on both stores,
for trunk and distribution ducts, cables, sections, points, rooms and devices."""

from __future__ import annotations

import datetime as _dt
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from importers.core import import_paths
from inventory.cli import cli
from inventory.graph.impact import circuits_by_site, fault_impact, store_impact
from inventory.graph.network import ACCESS_NODE, AGG, AN_ROOM, CPE, load_network, network_index

START = _dt.datetime(2026, 3, 2, 9, 30)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "export"
    result = CliRunner().invoke(cli, ["generate", "--sites", "300", "--seed", "5", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _sample(G) -> list[list[tuple[str, str]]]:
    """Failures to try: the busiest trunk ducts, distribution ducts, cables, sections, points,
    rooms and devices of every role, and a pair of elements together."""
    rng = random.Random(5)
    ix = network_index(G)
    sections = sorted(ix.segments)
    per_duct: Counter[str] = Counter()
    per_cable: Counter[str] = Counter()
    for _a, _b, data in ix.segments.values():
        per_duct.update(data.get("duct_ids") or ())
        if data.get("cable_id"):
            per_cable[data["cable_id"]] += 1
    ducts = G.graph["ducts"]
    trunk = [d for d, _ in per_duct.most_common() if ducts.get(d, {}).get("kind") == "TRUNK"]
    dist = sorted(d for d in per_duct if ducts.get(d, {}).get("kind") != "TRUNK")
    cables = [c for c, _ in per_cable.most_common(3)] + rng.sample(sorted(per_cable), 4)
    points = sorted(k for k in G if k[0] == "Point")
    by_kind: dict[str, list] = {}
    for p in points:
        by_kind.setdefault(G.nodes[p].get("kind"), []).append(p)
    rooms = sorted(k for k in G if k[0] == "Room")
    devices = sorted(k for k in G if k[0] == "Equipment")
    an_rooms = [r for r in rooms if ix.role[r] & AN_ROOM]
    other_rooms = [r for r in rooms if not ix.role[r] & AN_ROOM]
    picks: list[list[tuple[str, str]]] = []
    picks += [[("Duct", d)] for d in trunk[:4] + rng.sample(trunk, min(3, len(trunk)))]
    picks += [[("Duct", d)] for d in rng.sample(dist, min(6, len(dist)))]
    picks += [[("Cable", c)] for c in cables]
    picks += [[("SEGMENT", s)] for s in rng.sample(sections, 8)]
    for kind in sorted(by_kind, key=str):
        picks += [[p] for p in rng.sample(by_kind[kind], min(2, len(by_kind[kind])))]
    picks += [[r] for r in rng.sample(an_rooms, min(4, len(an_rooms)))]
    picks += [[r] for r in rng.sample(other_rooms, min(3, len(other_rooms)))]
    for role in (ACCESS_NODE, AGG, CPE):
        these = [d for d in devices if ix.role[d] & role]
        picks += [[d] for d in rng.sample(these, min(3, len(these)))]
    picks.append([("Duct", trunk[0]), ("SEGMENT", rng.choice(sections))])
    return picks


def _plain(result) -> dict:
    out = result.as_dict()
    out.pop("seconds")
    return out


def test_bounded_impact_equals_whole_network(store, export):
    import_paths(store, [export])
    G = load_network(store)
    circuits = circuits_by_site(store)
    depots = [(n.id, n.props.get("lon"), n.props.get("lat"))
              for n in store.iter_nodes("MaintenancePoint")
              if n.props.get("lon") is not None and n.props.get("lat") is not None]
    picks = _sample(G)
    assert len(picks) > 40
    affected = 0
    for keys in picks:
        refs = [f"{'section' if k[0] == 'SEGMENT' else k[0]}:{k[1]}" for k in keys]
        bounded = store_impact(store, refs, fault_start=START)
        whole = fault_impact(G, keys, circuits=circuits, depots=depots or None,
                             fault_start=START)
        assert _plain(bounded) == _plain(whole), refs
        affected += len(whole.sites)
    assert affected > 0
