"""The GraphStore contract: every test runs on the embedded store and on a real Neo4j.

A tiny access network used throughout::

    Customer C1 ─HAS_SITE→ Site S1 ←LOCATED_AT─ Equipment ONU1
                              │
                          SEGMENT SEC-1 (cable CB-1, duct D-1)
                              │
                          Point P1 (光交) ─SEGMENT SEC-2 (CB-1, D-1;D-2)─ Room R1 ←LOCATED_AT─ OLT1
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.errors import NotFound, ValidationError
from inventory.graph.store import Node, Rel, canonical
from inventory.model import clean_node, clean_rel, rel_id


def n(label: str, **props) -> Node:
    clean = clean_node(label, props)
    return Node(label, clean.pop("id"), clean)


def r(rel_type: str, element_id: str | None, start: tuple, end: tuple, **props) -> Rel:
    return Rel(rel_type, element_id or rel_id(rel_type, start[1], end[1]), start, end,
               clean_rel(rel_type, props))


def tiny_network() -> tuple[list[Node], list[Rel]]:
    nodes = [
        n("Customer", id="C1", name="博乐市第一中学", tier="金牌"),
        n("Site", id="S1", customer_id="C1", name="一中本部", lon=82.07, lat=44.90),
        n("Equipment", id="ONU1", name="ONU-一中", type="ONU", layer="客户", monitored="是"),
        n("Point", id="P1", name="青得里光交", kind="光交", lon=82.071, lat=44.901),
        n("Room", id="R1", name="博乐接入机房", kind="接入机房", lon=82.08, lat=44.91),
        n("Equipment", id="OLT1", name="OLT-博乐-1", type="OLT", layer="接入"),
        n("Cable", id="CB-1", name="博乐配线光缆1", level="配线", fiber_count=24),
        n("Duct", id="D-1", name="青得里大街管道", kind="主干"),
        n("Duct", id="D-2", name="北京路管道", kind="配线"),
    ]
    rels = [
        r("HAS_SITE", None, ("Customer", "C1"), ("Site", "S1")),
        r("LOCATED_AT", None, ("Equipment", "ONU1"), ("Site", "S1")),
        r("LOCATED_AT", None, ("Equipment", "OLT1"), ("Room", "R1")),
        r("SEGMENT", "SEC-1", ("Site", "S1"), ("Point", "P1"), cable_id="CB-1",
          length_m=150.5, fiber_count=24, cores_used=2, laying="管道", duct_ids="D-1"),
        r("SEGMENT", "SEC-2", ("Point", "P1"), ("Room", "R1"), cable_id="CB-1",
          length_m=900, fiber_count=24, cores_used=4, laying="管道", duct_ids="D-1;D-2"),
    ]
    return nodes, rels


def test_upsert_then_get_find_count(store):
    nodes, rels = tiny_network()
    summary = store.upsert(nodes, rels)
    assert summary.created["Equipment"] == 2
    assert summary.created["SEGMENT"] == 2
    assert store.get_node("Site", "S1").props["name"] == "一中本部"
    assert store.get_node("Site", "missing") is None
    assert [x.id for x in store.find_nodes("Equipment", type="OLT")] == ["OLT1"]
    assert [x.id for x in store.find_nodes("Site", customer_id="C1")] == ["S1"]
    assert store.count_nodes()["Equipment"] == 2
    assert store.count_nodes()["Circuit"] == 0
    assert store.count_rels()["SEGMENT"] == 2
    seg = store.get_rel("SEGMENT", "SEC-2")
    assert seg.start == ("Point", "P1") and seg.end == ("Room", "R1")
    assert seg.props["duct_ids"] == ["D-1", "D-2"]
    assert seg.props["length_m"] == 900.0


def test_find_rels_by_list_membership_and_scalar(store):
    store.upsert(*tiny_network())
    assert [x.id for x in store.find_rels("SEGMENT", duct_ids="D-1")] == ["SEC-1", "SEC-2"]
    assert [x.id for x in store.find_rels("SEGMENT", duct_ids="D-2")] == ["SEC-2"]
    assert [x.id for x in store.find_rels("SEGMENT", cable_id="CB-1")] == ["SEC-1", "SEC-2"]
    assert store.find_rels("SEGMENT", cable_id="nope") == []


def test_reupsert_is_unchanged_and_update_is_counted(store):
    nodes, rels = tiny_network()
    store.upsert(nodes, rels)
    before = store.digest()
    again = store.upsert(nodes, rels)
    assert sum(again.created.values()) == sum(again.updated.values()) == 0
    assert again.unchanged["Site"] == 1 and again.unchanged["SEGMENT"] == 2
    assert store.digest() == before
    renamed = n("Site", id="S1", customer_id="C1", name="一中新校区", lon=82.07, lat=44.90)
    moved = r("SEGMENT", "SEC-1", ("Site", "S1"), ("Room", "R1"), cable_id="CB-1")
    summary = store.upsert([renamed], [moved])
    assert summary.updated["Site"] == 1 and summary.updated["SEGMENT"] == 1
    assert store.get_node("Site", "S1").props["name"] == "一中新校区"
    seg = store.get_rel("SEGMENT", "SEC-1")
    assert seg.end == ("Room", "R1") and "duct_ids" not in seg.props  # replaced, not merged
    assert store.count_rels()["SEGMENT"] == 2
    assert store.digest() != before


def test_batch_failing_halfway_leaves_nothing(store):
    """A relationship to a missing node, after thousands of good rows, writes nothing."""
    nodes, rels = tiny_network()
    store.upsert(nodes[:2], rels[:1])
    before = store.digest()
    many = [n("Point", id=f"MH-{i}", name=f"人井{i}", kind="人井") for i in range(5000)]
    bad = r("SEGMENT", "SEC-X", ("Point", "MH-1"), ("Point", "NOT-THERE"), cable_id="CB-1")
    with pytest.raises(NotFound, match="NOT-THERE"):
        store.upsert(many + nodes, rels + [bad])
    assert store.digest() == before
    assert store.count_nodes()["Point"] == 0


def test_relationships_join_stored_nodes_and_nodes_of_the_same_call(store):
    """A relationship's ends may be stored already, written by the same call into a label
    the store holds (Neo4j finds them by the elementIds its CREATE returned), or both; one
    that moves gets its new ends, and an end that is nowhere is NotFound."""
    nodes, rels = tiny_network()
    store.upsert(nodes, rels)
    later = [r("SEGMENT", "SEC-3", ("Point", "P1"), ("Point", "P2"), cable_id="CB-1"),
             r("SEGMENT", "SEC-4", ("Point", "P2"), ("Room", "R1"), cable_id="CB-1"),
             r("SEGMENT", "SEC-1", ("Site", "S1"), ("Point", "P2"), cable_id="CB-1")]
    summary = store.upsert([n("Point", id="P2", name="新人井", kind="人井")], later)
    assert (summary.created["SEGMENT"], summary.updated["SEGMENT"]) == (2, 1)
    got = store.get_rels("SEGMENT", ["SEC-1", "SEC-3", "SEC-4"])
    assert [(got[i].start, got[i].end) for i in ("SEC-3", "SEC-4", "SEC-1")] == [
        (("Point", "P1"), ("Point", "P2")), (("Point", "P2"), ("Room", "R1")),
        (("Site", "S1"), ("Point", "P2"))]
    before = store.digest()
    with pytest.raises(NotFound, match="NOPE"):
        store.upsert([n("Point", id="P3", name="又一人井", kind="人井")],
                     [r("SEGMENT", "SEC-5", ("Point", "P3"), ("Point", "NOPE"), cable_id="CB-1")])
    assert store.digest() == before


def test_unknown_label_is_refused_before_writing(store):
    before = store.digest()
    with pytest.raises(ValidationError):
        store.upsert([Node("Sites", "x", {})])
    with pytest.raises(ValidationError):
        store.find_nodes("Site", **{"name) RETURN 1 //": "x"})
    assert store.digest() == before


def test_relationship_endpoints_must_fit_the_model(store):
    store.upsert(*tiny_network())
    with pytest.raises(ValidationError, match="cannot join"):
        store.upsert(rels=[Rel("HAS_SITE", "h", ("Site", "S1"), ("Customer", "C1"), {})])


def test_delete_nodes_and_relationships(store):
    store.upsert(*tiny_network())
    assert store.delete(rels=[("SEGMENT", "SEC-1")]) == 1
    assert store.get_rel("SEGMENT", "SEC-1") is None
    deleted = store.delete(nodes=[("Room", "R1")])
    assert deleted == 3  # the room, the OLT's LOCATED_AT and SEC-2
    assert store.get_node("Room", "R1") is None
    assert store.count_rels()["SEGMENT"] == 0
    assert store.get_node("Equipment", "OLT1") is not None


def test_subgraph_hops_and_expand_predicate(store):
    store.upsert(*tiny_network())
    one = store.subgraph([("Site", "S1")], hops=1)
    assert set(one.nodes) == {("Site", "S1"), ("Customer", "C1"), ("Equipment", "ONU1"),
                              ("Point", "P1")}
    assert ("SEGMENT", "SEC-1") in one.rels and ("SEGMENT", "SEC-2") not in one.rels
    three = store.subgraph([("Site", "S1")], hops=3)
    assert ("Equipment", "OLT1") in three.nodes
    assert len(three.rels) == 5
    stopped = store.subgraph([("Site", "S1")], hops=5, expand=lambda node: node.label != "Point")
    assert ("Point", "P1") in stopped.nodes and ("Room", "R1") not in stopped.nodes
    many = store.subgraph([("Room", "R1"), ("Customer", "C1")], hops=1)
    assert {("Equipment", "OLT1"), ("Site", "S1"), ("Point", "P1")} <= set(many.nodes)
    assert store.subgraph([("Site", "none")], hops=3).nodes == {}


def test_subgraph_rel_types(store):
    """``rel_types`` limits the walk (load_site_graph reads the physical relationships only);
    the generic GraphStore walk agrees with the store's own."""
    from inventory.graph.store import GraphStore
    store.upsert(*tiny_network())
    physical = ("SEGMENT", "LOCATED_AT", "PATCH")
    own = store.subgraph([("Site", "S1")], hops=3, rel_types=physical)
    generic = GraphStore.subgraph(store, [("Site", "S1")], hops=3, rel_types=physical)
    for sub in (own, generic):
        assert ("Customer", "C1") not in sub.nodes and ("Equipment", "OLT1") in sub.nodes
        assert {key[0] for key in sub.rels} <= set(physical)
    assert set(own.nodes) == set(generic.nodes) and set(own.rels) == set(generic.rels)


def test_iteration_is_complete_and_ordered(store):
    points = [n("Point", id=f"MH-{i:05d}", name=f"人井{i}", kind="人井") for i in range(12001)]
    store.upsert(points)
    ids = [p.id for p in store.iter_nodes("Point")]
    assert ids == sorted(p.id for p in points)


def test_awkward_ids_and_text_round_trip(store):
    """Quotes, backticks, braces, Cypher keywords and Chinese text are data, never syntax."""
    awkward = ["a'b", 'a"b', "a`b", "{x}", "MATCH (n) DETACH DELETE n", "光交-博乐-01", "a\\b"]
    nodes = [n("Point", id=i, name=i + " 名称'`", kind="光交") for i in awkward]
    store.upsert(nodes)
    found = store.get_nodes("Point", awkward)
    assert sorted(found) == sorted(awkward)
    assert all(found[i].props["name"] == i + " 名称'`" for i in awkward)
    assert [x.id for x in store.find_nodes("Point", name="a'b 名称'`")] == ["a'b"]


def test_digest_equal_for_equal_content(store, sqlite_store):
    nodes, rels = tiny_network()
    store.upsert(nodes, rels)
    sqlite_store.upsert(list(reversed(nodes)), list(reversed(rels)))
    assert store.digest() == sqlite_store.digest()


def test_relationship_ends_written_by_the_same_call_or_before(store):
    """One upsert's relationships may join nodes it writes (new or changed) and nodes
    stored before it, which it does not write again."""
    nodes, rels = tiny_network()
    store.upsert(nodes[:3], rels[:1])  # C1, S1, ONU1 and HAS_SITE
    renamed = n("Site", id="S1", customer_id="C1", name="一中新校区", lon=82.07, lat=44.90)
    summary = store.upsert([renamed, *nodes[3:]], rels[1:])
    assert summary.updated["Site"] == 1 and summary.created["Point"] == 1
    assert summary.created["LOCATED_AT"] == 2 and summary.created["SEGMENT"] == 2
    graph = store.subgraph([("Customer", "C1")], hops=4)
    assert set(graph.nodes) == {("Customer", "C1"), ("Site", "S1"), ("Equipment", "ONU1"),
                                ("Point", "P1"), ("Room", "R1"), ("Equipment", "OLT1")}
    assert {(x.start, x.end) for x in graph.rels.values()} == {(x.start, x.end) for x in rels}


def test_sqlite_row_ids_are_the_ones_sqlite_gives(sqlite_store):
    """upsert numbers new rows itself, as SQLite numbers them (the largest + 1, in the order
    written: a batch label by label), so that relationships need not read them back."""
    nodes, rels = tiny_network()
    sqlite_store.upsert(nodes, rels)
    db = sqlite_store.db
    assert db.execute("SELECT id FROM nodes ORDER BY nid").fetchall() == [
        ("C1",), ("S1",), ("ONU1",), ("OLT1",), ("P1",), ("R1",), ("CB-1",), ("D-1",), ("D-2",)]
    assert [rid for rid, in db.execute("SELECT rid FROM rels ORDER BY rid")] == [1, 2, 3, 4, 5]
    sqlite_store.delete(nodes=[("Duct", "D-2")], rels=[("SEGMENT", "SEC-2")])
    sqlite_store.upsert([n("Duct", id="D-3", name="新建管道", kind="配线")],
                        [r("SEGMENT", "SEC-3", ("Point", "P1"), ("Room", "R1"), cable_id="CB-1")])
    assert db.execute("SELECT nid FROM nodes WHERE id = 'D-3'").fetchone() == (9,)
    assert db.execute("SELECT rid FROM rels WHERE id = 'SEC-3'").fetchone() == (5,)
    # what SQLite gives a row inserted without one
    assert db.execute("INSERT INTO nodes (label, id, props) VALUES ('Duct', 'D-4', '{}')"
                      ).lastrowid == 10


def _awkward_network(count: int) -> tuple[list[Node], list[Rel]]:
    """Several batches of points and sections, with text SQLite's JSON functions or a JSON
    encoder could get wrong: a NUL, an escape's own text, quotes, astral characters."""
    names = ["a\x00b", "\\u0000", 'q"\\', "𠀀😀", "\u2028行", "{x}"]
    nodes = [Node("Point", f"MH-{i}" if i % 7 else f"MH-{i}{names[i % 6]}",
                  {"name": names[i % 6], "kind": "人井"}) for i in range(count)]
    rels = [Rel("SEGMENT", f"SEC-{i}", ("Point", nodes[i].id), ("Point", nodes[i + 1].id),
                {"cable_id": f"CB-{i % 5}", "duct_ids": [f"D-{i % 3}", names[i % 6]],
                 "length_m": i * 0.5})
            for i in range(count - 1)]
    return nodes, rels


def test_sqlite_bulk_load_writes_what_row_by_row_writes(sqlite_store, tmp_path):
    """Into an empty store upsert inserts whole batches from JSON on a thread of its own;
    into a store that holds something, row by row: the same content either way."""
    from inventory.graph.sqlite_store import SqliteStore

    nodes, rels = _awkward_network(5000)
    sqlite_store.upsert(nodes, rels)  # empty: the bulk load
    other = SqliteStore(tmp_path / "other.db")
    other.init()
    other.upsert([Node("Duct", "D-0", {"kind": "主干"})])
    other.upsert(nodes, rels)  # not empty: row by row
    other.delete(nodes=[("Duct", "D-0")])
    assert sqlite_store.digest() == other.digest()
    assert sqlite_store.get_node("Point", "MH-0a\x00b").props["name"] == "a\x00b"
    for store in (sqlite_store, other):
        assert len(store.find_rels("SEGMENT", duct_ids="a\x00b")) == len(
            [r for r in rels if "a\x00b" in r.props["duct_ids"]])
        assert len(store.find_rels("SEGMENT", cable_id="CB-3")) == 1000
    other.close()


def test_sqlite_bulk_load_failing_in_its_thread_leaves_nothing(sqlite_store):
    """A row SQLite refuses in the third batch of a bulk load: the error comes out of the
    inserting thread, nothing is written, and the store takes the next write."""
    import sqlite3

    nodes, rels = _awkward_network(5000)
    broken = [*nodes[:4500], Node("Point", None, {"kind": "人井"}), *nodes[4500:]]
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        sqlite_store.upsert(broken, rels)
    assert not any(sqlite_store.count_nodes().values())
    assert not any(sqlite_store.count_rels().values())
    assert sqlite_store.upsert(nodes, rels).created["SEGMENT"] == 4999


def test_upsert_with_removals_is_one_transaction(store):
    """An access plan adds and removes in one call: both happen, or neither."""
    store.upsert(*tiny_network())
    new_duct = n("Duct", id="D-3", name="新建管道", kind="配线")
    summary = store.upsert([new_duct], remove=[("Room", "R1")], remove_rels=[("SEGMENT", "SEC-1")])
    assert summary.created["Duct"] == 1
    assert summary.deleted == 4  # SEC-1, the room, the OLT's LOCATED_AT and SEC-2
    assert store.get_node("Duct", "D-3") is not None and store.get_node("Room", "R1") is None
    assert store.count_rels()["SEGMENT"] == 0
    before = store.digest()
    bad = r("SEGMENT", "SEC-X", ("Point", "P1"), ("Point", "NOT-THERE"), cable_id="CB-1")
    with pytest.raises(NotFound):
        store.upsert([n("Duct", id="D-4", name="x", kind="主干")], [bad],
                     remove=[("Point", "P1")])
    assert store.digest() == before  # the failed write removed nothing either


def test_commit_every_writes_what_one_transaction_writes(store, tmp_path):
    """Parts of at most N records, each committed: the same records, the same counts, as
    one transaction; relationships find ends written by earlier parts (into labels the
    store held none of, and into ones it held), and writing them again changes nothing."""
    from inventory.graph.sqlite_store import SqliteStore

    nodes, rels = tiny_network()
    points = [n("Point", id=f"MH-{i}", name=f"人井{i}", kind="人井") for i in range(7)]
    chain = [r("SEGMENT", f"SEC-M{i}", ("Point", f"MH-{i}"), ("Point", f"MH-{i + 1}"),
               cable_id="CB-1") for i in range(6)]
    store.upsert(nodes[:2])  # Customer and Site held already, the rest new
    summary = store.upsert(nodes + points, rels + chain, commit_every=3)
    assert summary.created["Point"] == 8 and summary.unchanged["Customer"] == 1
    assert summary.created["SEGMENT"] == 8 and summary.created["LOCATED_AT"] == 2

    with SqliteStore(tmp_path / "one.db") as one:  # the same records in one transaction
        one.init()
        one.upsert(nodes[:2])
        assert one.upsert(nodes + points, rels + chain).as_rows() == summary.as_rows()
        assert store.digest() == one.digest()
    again = store.upsert(nodes + points, rels + chain, commit_every=4)
    assert not any(again.created.values()) and not any(again.updated.values())


def test_commit_every_stopping_part_way_keeps_the_committed_parts(store):
    """A part that fails after others were committed: PartlyWritten says how far the
    write got, the committed parts stay, and writing the same records again finishes it.
    A first part that fails has written nothing and raises its own error."""
    from inventory.errors import PartlyWritten

    nodes, rels = tiny_network()
    bad = r("SEGMENT", "SEC-X", ("Point", "P1"), ("Point", "NOT-THERE"), cable_id="CB-1")
    with pytest.raises(PartlyWritten, match=r"NOT-THERE.*stopped after 9 of 15 records, "
                                            r"committed in 3 part\(s\)") as failed:
        store.upsert(nodes, [bad, *rels], commit_every=3, remove=[("Point", "P1")])
    assert isinstance(failed.value.cause, NotFound)
    assert sum(store.count_nodes().values()) == 9  # every node part, and no removal
    assert not any(store.count_rels().values())
    finished = store.upsert(nodes, rels, commit_every=3)
    assert sum(finished.unchanged.values()) == 9 and sum(finished.created.values()) == 5

    before = store.digest()
    with pytest.raises(NotFound, match="NOT-THERE"):
        store.upsert([], [bad, *rels], commit_every=3)
    assert store.digest() == before


def test_commit_every_removes_with_the_last_part(store):
    store.upsert(*tiny_network())
    summary = store.upsert([n("Duct", id=f"D-{i}", name="新建管道", kind="配线")
                            for i in range(3, 8)],
                           remove=[("Room", "R1")], commit_every=2)
    assert summary.created["Duct"] == 5 and summary.deleted == 3  # the room, 2 relationships
    assert store.get_node("Room", "R1") is None
    with pytest.raises(ValueError, match="at least 1"):
        store.upsert(*tiny_network(), commit_every=0)


def test_get_nodes_many_answers_as_get_nodes_per_label(store):
    """One call for several labels (one round trip on Neo4j), each label as ``get_nodes``."""
    store.upsert(*tiny_network())
    many = store.get_nodes_many({"Duct": ["D-2", "D-1", "D-1", "nope"], "Cable": ["CB-1"],
                                 "Customer": [], "Site": ["S1"]})
    assert list(many) == ["Duct", "Cable", "Customer", "Site"]  # every asked label
    for label, ids in (("Duct", ["D-1", "D-2"]), ("Cable", ["CB-1"]), ("Site", ["S1"])):
        assert many[label] == store.get_nodes(label, ids)
        assert ({i: n.props for i, n in many[label].items()}
                == {i: n.props for i, n in store.get_nodes(label, ids).items()})
    assert many["Customer"] == {}
    assert store.get_nodes_many({}) == {}
    with pytest.raises(ValidationError):
        store.get_nodes_many({"NoSuchLabel": ["x"]})


def test_get_nodes_many_on_a_plan_view_sees_the_plan(store):
    """PlanView keeps the generic get_nodes_many, built on its overlaid get_nodes."""
    from inventory.graph.plan import Plan, PlanView
    store.upsert(*tiny_network())
    view = PlanView(store, Plan(nodes=[n("Duct", id="D-2", name="改道管道", kind="配线"),
                                       n("Duct", id="D-9", name="新建管道", kind="配线")],
                                removed_nodes=[("Cable", "CB-1")]))
    many = view.get_nodes_many({"Duct": ["D-1", "D-2", "D-9"], "Cable": ["CB-1"]})
    assert sorted(many["Duct"]) == ["D-1", "D-2", "D-9"]
    assert many["Duct"]["D-2"].props["name"] == "改道管道"
    assert many["Cable"] == {}


def test_run_reads_runs_the_reads_together(store):
    """``run_reads(work)`` returns what ``work()`` returns; reads inside (nested too) answer
    as outside; an error inside comes out as it is."""
    store.upsert(*tiny_network())

    def work():
        inner = store.run_reads(lambda: store.get_node("Site", "S1"))  # nested
        return (inner, store.get_nodes_many({"Duct": ["D-1"]}),
                store.subgraph([("Site", "S1")], hops=3), list(store.iter_nodes("Duct")))

    site, many, sub, ducts = store.run_reads(work)
    assert site.props["name"] == "一中本部" and sorted(many["Duct"]) == ["D-1"]
    assert set(sub.nodes) == set(store.subgraph([("Site", "S1")], hops=3).nodes)
    assert [d.id for d in ducts] == ["D-1", "D-2"]
    def missing():
        store.get_node("Site", "S1")
        raise NotFound("Site", "x")

    with pytest.raises(NotFound):
        store.run_reads(missing)
    with pytest.raises(ValidationError):  # a store error inside is the project's own
        store.run_reads(lambda: store.get_nodes("NoSuchLabel", ["x"]))
    assert store.get_node("Site", "S1") is not None  # and the store reads on afterwards


# -- canonical: orjson where it writes the standard library's text, the library elsewhere

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4), max_leaves=8)


@given(st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
@settings(max_examples=400, deadline=None)
def test_canonical_is_the_standard_librarys_text(props):
    expected = json.JSONEncoder(sort_keys=True, ensure_ascii=False,
                                separators=(",", ":")).encode(props)
    assert canonical(props) == expected


@pytest.mark.parametrize("value", [1e-5, 1.5e-7, 1e16, 1e300, 2 ** 70, -0.0, 0.1, 123.456,
                                   float("nan"), float("inf"), None, "\ud800", "e-mail",
                                   "名字\u2028\x1f\"\\", [1e-9, "a"], "single-mode",
                                   "x:null", "a,0.00001", "[2e-5", ["in-service", 2e-5],
                                   [None, "e-"], {"k": 1e-12}, -3.5e-6])
def test_canonical_edge_values(value):
    """Numbers orjson writes otherwise, and text that merely looks like them (which takes
    orjson's faster path: canonical's pattern tells the two apart)."""
    props = {"v": value, "名": 1}
    assert canonical(props) == json.dumps(props, sort_keys=True, ensure_ascii=False,
                                          separators=(",", ":"))


def test_canonical_keeps_orjsons_text_for_words_that_look_like_numbers(monkeypatch):
    """Text such as "single-mode" holds "e-" but no number: orjson's text is kept (the
    standard library's encoder, about twice as slow here, is not called)."""
    from inventory.graph import store as store_module

    class Refuse:
        def encode(self, props):
            raise AssertionError(f"the standard library's encoder was called for {props}")

    monkeypatch.setattr(store_module, "_CANONICAL", Refuse())
    for text in ("single-mode", "in-service", "e-mail", "0.0000 km", "nullable"):
        assert canonical({"kind": text, "n": 2}) == f'{{"kind":"{text}","n":2}}'
    with pytest.raises(AssertionError):
        canonical({"length_m": 1e-5})


@pytest.mark.neo4j
def test_neo4j_relationship_lookups_by_id_seek_the_types_id_index(neo4j_store):
    """A relationship looked up by id is a seek in its type's id index, whatever the
    planner's statistics say (a plan made while the store held few of the type scanned the
    whole index for every id: 18 million db hits for 1,814 ids)."""
    from inventory.graph.neo4j_store import _match_rel

    neo4j_store.upsert(*tiny_network())
    with neo4j_store.driver.session() as session:
        for query in ("UNWIND $ids AS id " + _match_rel("SEGMENT", "id", "a", "b") + "RETURN r",
                      _match_rel("SEGMENT", "$id") + "RETURN r"):
            plan = session.run("EXPLAIN " + query, ids=["SEC-1"], id="SEC-1").consume().plan
            operators = []
            pending = [plan]
            while pending:
                step = pending.pop()
                operators.append(step["operatorType"].split("@")[0])
                pending += step.get("children", [])
            assert "DirectedRelationshipUniqueIndexSeek" in operators, operators
            assert not any("Scan" in op for op in operators), operators
    assert set(neo4j_store.get_rels("SEGMENT", ["SEC-1", "nope"])) == {"SEC-1"}


@pytest.mark.neo4j
def test_neo4j_init_makes_relationship_ids_unique_also_in_an_older_store(neo4j_store):
    """A relationship id is unique within its type (a constraint, whose index the writes'
    reads use); init replaces the plain index an older store has by it."""
    from neo4j.exceptions import ConstraintError

    with neo4j_store.driver.session() as session:
        session.run("DROP CONSTRAINT `PATCH_id`").consume()
        session.run("CREATE INDEX `PATCH_id` FOR ()-[r:PATCH]-() ON (r.id)").consume()
    neo4j_store.init()
    neo4j_store.init()  # and again: nothing left to do
    with neo4j_store.driver.session() as session:
        kinds = {row["name"]: row["owningConstraint"] for row in session.run(
            "SHOW RANGE INDEXES YIELD name, owningConstraint "
            "WHERE name ENDS WITH '_id' RETURN name, owningConstraint")}
        assert kinds["PATCH_id"] == "PATCH_id" and kinds["SEGMENT_id"] == "SEGMENT_id"
        neo4j_store.upsert([n("Equipment", id="E1", name="a", type="ONU", layer="客户"),
                            n("Equipment", id="E2", name="b", type="ONU", layer="客户")],
                           [r("PATCH", "P-1", ("Equipment", "E1"), ("Equipment", "E2"))])
        with pytest.raises(ConstraintError):
            session.run("MATCH (a:Equipment {id: 'E2'}), (b:Equipment {id: 'E1'}) "
                        "CREATE (a)-[:PATCH {id: 'P-1'}]->(b)").consume()
    assert neo4j_store.count_rels()["PATCH"] == 1


@pytest.mark.neo4j
@pytest.mark.parametrize("refused", ["node", "relationship"])
def test_neo4j_write_refused_in_an_early_batch_leaves_nothing(neo4j_store, refused):
    """The write sends each batch's create before it reads the results of the earlier ones
    (the client packs a batch while the server runs the one before): a create the server
    refuses with batches after it still fails the whole write, and nothing is written."""
    from inventory.errors import InventoryError
    from inventory.graph.neo4j_store import BATCH

    sites = [Node("Site", f"S{i}", {"name": f"站点{i}"}) for i in range(2 * BATCH + 10)]
    rels = [r("SERVED_BY", f"SB-{i}", ("Site", f"S{i}"), ("MaintenancePoint", "M1"),
              distance_km=1.0) for i in range(2 * BATCH + 10)]
    depot = Node("MaintenancePoint", "M1", {"name": "博乐维护点"})
    # a list of mixed types: the model lets it through, Neo4j stores no such property
    if refused == "node":
        sites[3] = Node("Site", "S3", {"name": ["站点", 3]})
    else:
        rels[3] = Rel("SERVED_BY", "SB-3", ("Site", "S3"), ("MaintenancePoint", "M1"),
                      {"distance_km": ["1", 1]})
    with pytest.raises(InventoryError, match="Neo4j at"):
        neo4j_store.upsert([depot, *sites], rels)
    assert not any(neo4j_store.count_nodes().values())
    assert not any(neo4j_store.count_rels().values())


@pytest.mark.neo4j
def test_neo4j_statements_keep_their_rows_out_of_the_drivers_debug_line(neo4j_store):
    """The driver formats each statement's parameters for its debug log whether or not
    anything logs: a batch's rows are a short ``<list of N>`` there, not their repr."""
    import logging

    from inventory.graph.neo4j_store import BATCH

    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("neo4j")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        neo4j_store.upsert([Node("Site", f"S{i}", {"name": f"站点{i}"}) for i in range(BATCH + 1)])
        assert set(neo4j_store.get_nodes("Site", [f"S{i}" for i in range(BATCH + 1)])) == \
            {f"S{i}" for i in range(BATCH + 1)}
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    runs = [line for line in lines if "C: RUN" in line]
    assert any(f"<list of {BATCH}>" in line for line in runs), runs
    assert not any("站点1" in line or "'S1'" in line for line in runs), runs


@pytest.mark.neo4j
def test_neo4j_write_lets_go_of_its_rows_when_its_transaction_is_over(neo4j_store):
    """The driver's Result keeps its parameters, in reference cycles that only the cyclic
    collector frees (an import pauses it): the rows of a write's statements are emptied when
    its transaction is over, so no part of a write in parts keeps them to the end."""
    import gc

    from inventory.graph.neo4j_store import _ListParam

    sites = [Node("Site", f"S{i}", {"name": f"站点-gc-{i}"}) for i in range(300)]
    depot = Node("MaintenancePoint", "M1", {"name": "博乐维护点"})
    rels = [r("SERVED_BY", f"SB-{i}", ("Site", f"S{i}"), ("MaintenancePoint", "M1"),
              distance_km=1.0) for i in range(300)]
    gc.collect()
    gc.disable()
    try:
        neo4j_store.upsert([depot, *sites], rels, commit_every=100)
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection would free, kept for a look
        gc.collect()
        # (a dict of plain values is not tracked by the collector: look at the lists)
        kept = [o for o in gc.garbage if isinstance(o, _ListParam) and o]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert neo4j_store.count_nodes()["Site"] == 300
    assert kept == []


def _commit_fails(monkeypatch, failing: int, error: Exception, applied: bool) -> list:
    """The driver's ``failing``-th commit from now raises ``error``, after the commit was
    done on the server (``applied``: its reply lost) or without it (the transaction is
    rolled back as the driver does after an error). Returns a list that holds the error
    once it has been raised."""
    from neo4j._sync.work.transaction import TransactionBase

    commit, seen, raised = TransactionBase._commit, [], []

    def failing_commit(tx):
        seen.append(tx)
        if len(seen) != failing:
            return commit(tx)
        if applied:
            commit(tx)
        raised.append(error)
        raise error

    monkeypatch.setattr(TransactionBase, "_commit", failing_commit)
    return raised


@pytest.mark.neo4j
@pytest.mark.parametrize("applied", [True, False])
def test_neo4j_write_in_parts_says_perhaps_only_when_a_commit_is_unconfirmed(
        neo4j_store, monkeypatch, applied):
    """A part's commit that the server applied but answered with an error (Neo4j stopping
    answers DatabaseUnavailable to a commit it has done): the part is not done again;
    PartlyWritten counts the parts confirmed and says the next one may be written. A
    commit refused (a ClientError) is no such doubt: the count is exact. Either way the
    same write again finishes it."""
    from neo4j.exceptions import Neo4jError

    from inventory.errors import PartlyWritten

    sites = [Node("Site", f"S{i}", {"name": f"站点{i}"}) for i in range(10)]
    code = ("Neo.TransientError.General.DatabaseUnavailable" if applied
            else "Neo.ClientError.Transaction.TransactionTimedOut")
    _commit_fails(monkeypatch, 2, Neo4jError._hydrate_neo4j(code=code, message="test"),
                  applied)
    with pytest.raises(PartlyWritten) as stopped:
        neo4j_store.upsert(sites, commit_every=4)
    monkeypatch.undo()
    assert (stopped.value.written, stopped.value.perhaps) == (4, 4 if applied else 0)
    assert ("perhaps the next 4" in str(stopped.value)) is applied
    assert ("did not confirm a commit" in str(stopped.value)) is applied
    assert neo4j_store.count_nodes()["Site"] == (8 if applied else 4)
    again = neo4j_store.upsert(sites, commit_every=4)
    assert again.created["Site"] == (2 if applied else 6)
    assert neo4j_store.count_nodes()["Site"] == 10


@pytest.mark.neo4j
@pytest.mark.parametrize("lost", ["DatabaseUnavailable", "IncompleteCommit"])
def test_neo4j_write_whose_commit_is_unconfirmed_is_not_done_again(neo4j_store, monkeypatch,
                                                                   lost):
    """One transaction whose commit the server applied, answered with a transient error
    (which the driver would retry: the retry would find everything stored and report it
    unchanged) or with the connection gone (IncompleteCommit). The write says that its
    commit is unconfirmed, and the same write again reports the truth."""
    from neo4j.exceptions import IncompleteCommit, Neo4jError

    from inventory.errors import StoreUnavailable

    sites = [Node("Site", f"S{i}", {"name": f"站点{i}"}) for i in range(10)]
    error = (Neo4jError._hydrate_neo4j(code="Neo.TransientError.General.DatabaseUnavailable",
                                       message="Database 'neo4j' unavailable")
             if lost == "DatabaseUnavailable"
             else IncompleteCommit("Failed to read from defunct connection"))
    _commit_fails(monkeypatch, 1, error, applied=True)
    with pytest.raises(StoreUnavailable, match="did not confirm a commit") as unconfirmed:
        neo4j_store.upsert(sites)
    monkeypatch.undo()
    assert unconfirmed.value.commit_unknown
    assert neo4j_store.count_nodes()["Site"] == 10
    assert neo4j_store.upsert(sites).unchanged["Site"] == 10


@pytest.mark.neo4j
def test_neo4j_write_is_done_again_after_a_transient_error_before_its_commit(neo4j_store,
                                                                            monkeypatch):
    """A transient error while the write's statements run (a deadlock, a leader switch):
    nothing was committed, so the whole transaction is done again, and its counts are the
    second attempt's alone."""
    from neo4j import Transaction
    from neo4j.exceptions import Neo4jError

    run, calls, raised = Transaction.run, [], []

    def run_failing_once(tx, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3 and not raised:
            raised.append(1)
            raise Neo4jError._hydrate_neo4j(
                code="Neo.TransientError.Transaction.DeadlockDetected", message="test")
        return run(tx, *args, **kwargs)

    monkeypatch.setattr(Transaction, "run", run_failing_once)
    monkeypatch.setattr(type(neo4j_store), "FIRST_RETRY_DELAY", 0.01)
    nodes, rels = tiny_network()
    summary = neo4j_store.upsert(nodes, rels)
    monkeypatch.undo()
    assert raised
    assert summary.created["Equipment"] == 2 and summary.created["SEGMENT"] == 2
    assert sum(summary.unchanged.values()) == 0
    assert neo4j_store.count_nodes()["Equipment"] == 2


@pytest.mark.neo4j
@pytest.mark.parametrize("next_begin", ["ClientError", "ServiceUnavailable"])
def test_neo4j_write_does_not_begin_again_after_an_unconfirmed_commit(neo4j_store, monkeypatch,
                                                                     next_begin):
    """After a commit answered with a transient error, a retry would begin a new
    transaction: if that failed with a ClientError, the write was reported as refused
    (nothing written) although its commit may have been applied; with the server gone, the
    report came only after the driver's 15 s of reconnecting. No transaction is begun after
    a commit that failed: the report is at once, and says the commit is unconfirmed."""
    from neo4j._sync.work.session import Session
    from neo4j.exceptions import Neo4jError, ServiceUnavailable

    from inventory.errors import StoreUnavailable

    sites = [Node("Site", f"S{i}", {"name": f"站点{i}"}) for i in range(10)]
    failed = _commit_fails(monkeypatch, 1, Neo4jError._hydrate_neo4j(
        code="Neo.TransientError.General.DatabaseUnavailable", message="stopping"),
        applied=True)
    begun_after = []
    open_transaction = Session._open_transaction

    def begin(session, *args, **kwargs):
        if failed:  # the server stopping: the next BEGIN fails too
            begun_after.append(next_begin)
            raise (ServiceUnavailable("gone") if next_begin == "ServiceUnavailable" else
                   Neo4jError._hydrate_neo4j(code="Neo.ClientError.Database.DatabaseNotFound",
                                             message="no database"))
        return open_transaction(session, *args, **kwargs)

    monkeypatch.setattr(Session, "_open_transaction", begin)
    with pytest.raises(StoreUnavailable, match="did not confirm a commit") as unconfirmed:
        neo4j_store.upsert(sites)
    monkeypatch.undo()
    assert unconfirmed.value.commit_unknown
    assert begun_after == []
    assert neo4j_store.count_nodes()["Site"] == 10
