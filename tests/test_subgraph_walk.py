"""``subgraph`` with a declarative expand rule (:class:`StopRule`) or none is one query on
Neo4j; it must find exactly what the per-hop walk finds (any other callable still walks
hop by hop), on the generated network and on awkward small cases (missing properties).
A walk told to leave nodes out (:class:`LeaveOut`) finds what it would find if they were
not there."""

from __future__ import annotations

import doctest
import random

import pytest
from click.testing import CliRunner
from test_store_contract import tiny_network

import inventory.graph.store
from importers.core import import_paths
from inventory.cli import cli
from inventory.graph.network import (
    CUSTOMER_SIDE,
    PHYSICAL_RELS,
    SITE_HOPS,
    UPLINK_HOPS,
    UPLINK_ONLY,
    load_site_graph,
)
from inventory.graph.sqlite_store import SqliteStore
from inventory.graph.store import GraphStore, LeaveOut, Node, Rel, StopRule


def plain(sub) -> tuple[dict, dict]:
    """Everything a Subgraph says (Node and Rel compare without their properties)."""
    return ({k: node.props for k, node in sub.nodes.items()},
            {k: (rel.start, rel.end, rel.props) for k, rel in sub.rels.items()})


def edges(G) -> dict:
    return {key: ({u, v}, data) for u, v, key, data in G.edges(keys=True, data=True)}


def per_hop(rule):
    """The same rule as an opaque callable: the store must walk it hop by hop."""
    return lambda node: rule(node)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, neo4j_store_session):
    out = tmp_path_factory.mktemp("generated") / "export"
    result = CliRunner().invoke(cli, ["generate", "--sites", "200", "--seed", "11", str(out)])
    assert result.exit_code == 0, result.output
    with neo4j_store_session.driver.session() as session:
        session.run("MATCH (n) DETACH DELETE n").consume()
    import_paths(neo4j_store_session, [out])
    sqlite = SqliteStore(tmp_path_factory.mktemp("sqlite") / "inventory.db")
    sqlite.init()
    import_paths(sqlite, [out])
    yield neo4j_store_session, sqlite
    sqlite.close()


def _walks(store, site: str):
    """The walks load_site_graph makes for a site, and a few more (hops 0, 1, 2)."""
    seeds = [("Site", site)]
    first = store.subgraph(seeds, 1, rel_types=PHYSICAL_RELS)
    seeds += [k for k in first.nodes if k[0] == "Equipment"
              and first.nodes[k].props.get("layer") == "CUSTOMER"]
    near = store.subgraph(seeds, SITE_HOPS, expand=CUSTOMER_SIDE, rel_types=PHYSICAL_RELS)
    ans = [k for k, node in near.nodes.items() if k[0] == "Equipment"
           and node.props.get("layer") == "ACCESS"]
    walks = [(seeds, SITE_HOPS, CUSTOMER_SIDE, PHYSICAL_RELS),
             (seeds, 1, CUSTOMER_SIDE, PHYSICAL_RELS),
             (seeds, 2, CUSTOMER_SIDE, PHYSICAL_RELS),
             (seeds, 0, CUSTOMER_SIDE, PHYSICAL_RELS),
             (seeds, 3, None, None),
             (seeds, 4, UPLINK_ONLY, None)]
    if ans:
        walks += [(ans, UPLINK_HOPS, UPLINK_ONLY, PHYSICAL_RELS),
                  (ans, 1, UPLINK_ONLY, PHYSICAL_RELS)]
    return walks


@pytest.mark.neo4j
def test_one_query_walk_equals_per_hop_walk_on_generated_network(generated):
    neo4j, sqlite = generated
    sites = sorted(node.id for node in sqlite.iter_nodes("Site"))
    for site in random.Random(3).sample(sites, 25):
        for seeds, hops, rule, types in _walks(sqlite, site):
            one = plain(neo4j.subgraph(seeds, hops, expand=rule, rel_types=types))
            hop = plain(neo4j.subgraph(seeds, hops, expand=rule and per_hop(rule),
                                       rel_types=types))
            assert one == hop, (site, hops, rule)
            assert one == plain(sqlite.subgraph(seeds, hops, expand=rule, rel_types=types))
        assert plain(neo4j.subgraph([("Site", site)], 1)) == plain(
            sqlite.subgraph([("Site", site)], 1))


@pytest.mark.neo4j
def test_walks_that_leave_out_the_other_sites_agree_on_generated_network(generated):
    neo4j, sqlite = generated
    sites = sorted(node.id for node in sqlite.iter_nodes("Site"))
    for site in random.Random(5).sample(sites, 15):
        others = LeaveOut("Site", keep=[site])
        for seeds, hops, rule, types in _walks(sqlite, site):
            one = plain(neo4j.subgraph(seeds, hops, expand=rule, rel_types=types,
                                       leave_out=others))
            hop = plain(neo4j.subgraph(seeds, hops, expand=rule and per_hop(rule),
                                       rel_types=types, leave_out=others))
            assert one == hop, (site, hops, rule)
            assert one == plain(sqlite.subgraph(seeds, hops, expand=rule, rel_types=types,
                                                leave_out=others))
            assert all(k == ("Site", site) for k in one[0] if k[0] == "Site")


@pytest.mark.neo4j
def test_load_site_graph_same_on_both_stores(generated):
    neo4j, sqlite = generated
    sites = sorted(node.id for node in sqlite.iter_nodes("Site"))
    for site in random.Random(4).sample(sites, 10):
        a, b = load_site_graph(neo4j, site), load_site_graph(sqlite, site)
        assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
        assert edges(a) == edges(b)
        assert a.graph == b.graph


def _awkward():
    """Nodes with and without the properties a rule looks at."""
    nodes, rels = tiny_network()
    nodes += [Node("Point", "P2", {"name": "no kind"}), Node("Room", "R2", {}),
              Node("Equipment", "E2", {"type": "OLT"}), Node("Equipment", "E3", {"layer": "ACCESS"}),
              Node("Equipment", "E4", {"layer": "ACCESS", "type": "OLT"})]
    rels += [Rel("SEGMENT", "SEC-X1", ("Point", "P1"), ("Point", "P2")),
             Rel("SEGMENT", "SEC-X2", ("Point", "P2"), ("Room", "R2")),
             Rel("LOCATED_AT", "LOC-X3", ("Equipment", "E2"), ("Room", "R2")),
             Rel("LOCATED_AT", "LOC-X4", ("Equipment", "E3"), ("Point", "P2")),
             Rel("LOCATED_AT", "LOC-X5", ("Equipment", "E4"), ("Point", "P2")),
             Rel("PATCH", "PATCH-X6", ("Equipment", "E4"), ("Equipment", "E3"))]
    return nodes, rels


RULES = [StopRule(("Room", "Point", "Equipment")),
         StopRule(("Point", "Equipment"), ("Equipment", {"layer": {"ACCESS"}, "type": {"OLT"}})),
         StopRule(("Room", "Point", "Equipment"), ("Point", {"kind": {"FIBER_BOX"}}),
                  ("Room", {"kind": {"ACCESS"}})),
         StopRule(()), CUSTOMER_SIDE, UPLINK_ONLY]


@pytest.mark.parametrize("rule", RULES, ids=range(len(RULES)))
def test_stop_rule_walk_equals_callable_walk(store, rule):
    store.upsert(*_awkward())
    for seeds in ([("Site", "S1")], [("Room", "R1"), ("Customer", "C1")], [("Point", "P2")]):
        for hops in (0, 1, 2, 5):
            for types in (None, PHYSICAL_RELS, ()):
                got = plain(store.subgraph(seeds, hops, expand=rule, rel_types=types))
                want = plain(GraphStore.subgraph(store, seeds, hops, expand=per_hop(rule),
                                                 rel_types=types))
                assert got == want, (seeds, hops, types)


def test_stop_rule_is_data():
    assert StopRule(["Room"], ("Room", {"kind": ["A", "B"]})) == StopRule(
        ("Room",), ("Room", {"kind": {"B", "A"}}))
    with pytest.raises(Exception, match="property"):
        StopRule(("Room",), ("Room", {"kind); DROP": {"x"}}))
    with pytest.raises(Exception, match="label"):
        StopRule(("Room`",))


def _with_other_sites():
    """The awkward network and two more sites: S2 between P2 and P3 (P3 is reached only
    through S2), and S3 with a customer device patched to E4."""
    nodes, rels = _awkward()
    nodes += [Node("Site", "S2", {"name": "another"}), Node("Site", "S3", {}),
              Node("Point", "P3", {"name": "beyond S2"}),
              Node("Equipment", "E5", {"layer": "CUSTOMER", "type": "ONU"})]
    rels += [Rel("SEGMENT", "SEC-Y1", ("Point", "P2"), ("Site", "S2")),
             Rel("SEGMENT", "SEC-Y2", ("Site", "S2"), ("Point", "P3")),
             Rel("LOCATED_AT", "LOC-Y3", ("Equipment", "E5"), ("Site", "S3")),
             Rel("PATCH", "PATCH-Y4", ("Equipment", "E5"), ("Equipment", "E4"))]
    return nodes, rels


LEAVE_OUTS = [LeaveOut("Site"), LeaveOut("Site", keep=["S2"]), LeaveOut("Point", keep=["P1"])]
# the last one walks through sites, so that a site left out is seen not to be walked through
WALK_RULES = [None, CUSTOMER_SIDE, StopRule(("Room", "Point", "Equipment", "Site"))]


@pytest.mark.parametrize("leave_out", LEAVE_OUTS, ids=range(len(LEAVE_OUTS)))
def test_a_walk_that_leaves_nodes_out_finds_what_it_would_without_them(store, tmp_path,
                                                                       leave_out):
    nodes, rels = _with_other_sites()
    store.upsert(nodes, rels)
    for n, seeds in enumerate(([("Site", "S1")], [("Point", "P2")],
                               [("Site", "S2"), ("Room", "R1")])):
        # the oracle: the same network without the nodes left out (a seed always stays)
        gone = {node.key for node in nodes if leave_out.with_seeds(seeds)(node.key)}
        without = SqliteStore(tmp_path / f"without-{n}.db")
        without.init()
        without.upsert([node for node in nodes if node.key not in gone],
                       [rel for rel in rels if rel.start not in gone and rel.end not in gone])
        for rule in WALK_RULES:
            for hops in (0, 1, 2, 5):
                for types in (None, PHYSICAL_RELS):
                    want = plain(without.subgraph(seeds, hops, expand=rule, rel_types=types))
                    walk = (seeds, hops)
                    assert plain(store.subgraph(*walk, expand=rule, rel_types=types,
                                                leave_out=leave_out)) == want, (seeds, hops)
                    callable_rule = rule and per_hop(rule)
                    assert plain(store.subgraph(*walk, expand=callable_rule, rel_types=types,
                                                leave_out=leave_out)) == want, (seeds, hops)
                    assert plain(GraphStore.subgraph(store, *walk, expand=callable_rule,
                                                     rel_types=types,
                                                     leave_out=leave_out)) == want
        without.close()
    # the oracle is not empty-handed: S2 was left out of a walk that would have met it
    assert ("Site", "S2") in store.subgraph([("Point", "P2")], 1).nodes


def test_store_doctests():
    result = doctest.testmod(inventory.graph.store)
    assert result.failed == 0 and result.attempted > 0
