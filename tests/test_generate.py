"""The sample-network generator (issue 3): format, determinism, references, planted defects.

The route checks trace the generated data independently of the analysis: from a site, each
drop section is followed through points and passive devices (never through another site)
until an access node is reached; the outside plant is a tree, so exactly one access node is
reachable from each drop. A tiny picture of a GOLD site::

    PTN-A ── feeder ── cabinet A ── chain ── box A ── drop 1 ──┐
      (room A, on a ring)                                      site (2 devices)
    PTN-B ── feeder ── cabinet B ── chain ── box B ── drop 2 ──┘
      (room B, ring neighbour of A)
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from collections import defaultdict
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from pyproj import Geod

from importers.generate import DEFECTS, TABLE_LABELS, TABLES, class_counts, generate, read_manifest
from inventory.cli import cli
from inventory.model import ACCESS_NODE_TYPES, EquipmentType, Layer, clean_node, clean_rel

N = 400
SEED = 7


def load(out: Path) -> dict[str, list[dict[str, str]]]:
    tables = {}
    for table in TABLES:
        with open(out / f"{table}.csv", encoding="utf-8", newline="") as handle:
            tables[table] = list(csv.DictReader(handle))
    return tables


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, dict, dict]:
    out = tmp_path_factory.mktemp("gen") / "out"
    generate(out, sites=N, seed=SEED)
    return out, load(out), read_manifest(out)


def digest(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}


# --- format -------------------------------------------------------------------------------

def test_headers_exactly_as_specified(export):
    out, _, _ = export
    for table, columns in TABLES.items():
        with open(out / f"{table}.csv", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == list(columns)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t}.csv" for t in TABLES] + ["manifest.json"])


def test_every_row_validates_with_the_model(export):
    """Every enum spelling, number and coordinate parses with inventory.model."""
    _, tables, _ = export
    for table, label in TABLE_LABELS.items():
        for row in tables[table]:
            props = {k: v for k, v in row.items() if k != "crs"}
            clean_node(label, props)
            if "crs" in row:
                assert row["crs"] == "WGS84"
    for row in tables["cable_sections"]:
        props = {k: v for k, v in row.items() if k not in ("id", "a_id", "z_id")}
        clean_rel("SEGMENT", props)
    for row in tables["patches"]:
        clean_rel("PATCH", {"name": row["name"]})


def test_spellings_are_mixed(export):
    _, tables, _ = export
    tiers = {row["tier"] for row in tables["sites"]}
    assert {"金牌", "GOLD"} <= tiers or {"金牌级", "GOLD"} <= tiers
    assert any(not r["kind"].isascii() for r in tables["points"])
    assert any(r["kind"].isascii() for r in tables["points"])


def test_ids_unique_across_all_tables_and_prefixed(export):
    _, tables, _ = export
    prefixes = {"customers": "CUS-", "sites": "S-", "rooms": "R-", "maintenance_points": "MP-",
                "equipment": "EQ-", "points": "P-", "cables": "CB-", "ducts": "D-",
                "cable_sections": "SEC-", "circuits": "CIR-", "patches": "PA-"}
    seen = set()
    for table, rows in tables.items():
        for row in rows:
            assert row["id"].startswith(prefixes[table]), row["id"]
            assert row["id"] not in seen, row["id"]
            seen.add(row["id"])


def test_every_reference_resolves(export):
    check_references(export[1])


def check_references(tables):
    ids = {t: {r["id"] for r in rows} for t, rows in tables.items()}
    physical = ids["sites"] | ids["rooms"] | ids["points"] | ids["equipment"]
    for row in tables["sites"]:
        assert row["customer_id"] in ids["customers"]
    for row in tables["equipment"]:
        assert row["location_id"] in ids["sites"] | ids["rooms"] | ids["points"]
    used_cables, used_ducts = set(), set()
    for row in tables["cable_sections"]:
        assert row["a_id"] in physical and row["z_id"] in physical, row["id"]
        assert row["cable_id"] in ids["cables"]
        used_cables.add(row["cable_id"])
        for duct in filter(None, row["duct_ids"].split(";")):
            assert duct in ids["ducts"], (row["id"], duct)
            used_ducts.add(duct)
    for row in tables["circuits"]:
        assert row["customer_id"] in ids["customers"]
        assert row["site_id"] in ids["sites"]
        assert {row["a_end"], row["z_end"]} <= ids["sites"] | ids["equipment"]
    for row in tables["patches"]:
        assert {row["a_id"], row["z_id"]} <= ids["equipment"]
    assert used_cables == ids["cables"], "every cable has a section"
    assert used_ducts == ids["ducts"], "every duct carries a section"
    customers_with_sites = {r["customer_id"] for r in tables["sites"]}
    assert customers_with_sites == ids["customers"]


def test_section_geometry_follows_its_ducts(export):
    _, tables, _ = export
    ducts = {r["id"]: r for r in tables["ducts"]}
    coords = {}
    for t in ("sites", "rooms", "points"):
        for r in tables[t]:
            coords[r["id"]] = (float(r["lon"]), float(r["lat"]))
    where = {r["id"]: r["location_id"] for r in tables["equipment"]}
    for row in tables["cable_sections"]:
        line = [tuple(map(float, p.split(","))) for p in row["geometry"].split(";")]
        a = coords.get(row["a_id"]) or coords[where[row["a_id"]]]
        z = coords.get(row["z_id"]) or coords[where[row["z_id"]]]
        assert _close(line[0], a) and _close(line[-1], z), row["id"]
        vertices = set(line)
        for duct in filter(None, row["duct_ids"].split(";")):
            wkt = ducts[duct]["geometry"]
            assert wkt.startswith("LINESTRING (")
            for pair in wkt[12:-1].split(", "):
                assert tuple(map(float, pair.split())) in vertices, (row["id"], duct)
        assert abs(float(row["length_m"]) - _length(line)) < 1 + 0.001 * float(row["length_m"])


def _close(p, q) -> bool:
    return abs(p[0] - q[0]) < 2e-6 and abs(p[1] - q[1]) < 2e-6


GEOD = Geod(ellps="WGS84")


def _length(line) -> float:
    return sum(GEOD.inv(*line[i], *line[i + 1])[2] for i in range(len(line) - 1))


# --- manifest and counts ----------------------------------------------------------------------

def test_manifest_matches_files(export):
    _, tables, manifest = export
    assert manifest["seed"] == SEED and manifest["sites"] == N
    assert manifest["counts"] == {t: len(rows) for t, rows in tables.items()}
    assert len(tables["sites"]) == N
    assert len(tables["circuits"]) == N
    site_ids = {r["id"] for r in tables["sites"]}
    for d in manifest["defects"]:
        assert d["site_id"] in site_ids
        assert d["failed_requirement"] == DEFECTS[d["defect"]]
    kinds = [d["defect"] for d in manifest["defects"]]
    assert set(kinds) == set(DEFECTS), "every kind planted when N >= 50"
    assert len({d["site_id"] for d in manifest["defects"]}) == len(kinds), "one defect a site"
    for kind in DEFECTS:
        assert kinds.count(kind) == round(0.03 * N)


def test_tier_mix(export):
    _, tables, _ = export
    from inventory.model import Tier
    count = defaultdict(int)
    for row in tables["sites"]:
        count[Tier.parse(row["tier"]).value] += 1
    assert count == {"GOLD": 48, "SILVER": 72, "BRONZE": 100, "STANDARD": 180}


@pytest.mark.parametrize("n", [10, 49, 50, 51, 120, 1000, 100_000])
def test_class_counts_add_up(n):
    classes = class_counts(n)
    assert sum(c for _, _, c in classes) == n
    kinds = {d for _, d, c in classes if d}
    if n >= 50:
        assert kinds == set(DEFECTS)


def test_backbone_scales_with_n(tmp_path):
    small = generate(tmp_path / "a", sites=50, seed=1)["counts"]
    large = generate(tmp_path / "b", sites=3000, seed=1)["counts"]
    assert large["rooms"] > small["rooms"]
    assert large["points"] > 10 * small["points"] / 4


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a", sites=120, seed=3)
    generate(tmp_path / "b", sites=120, seed=3)
    generate(tmp_path / "c", sites=120, seed=4)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a")["sites.csv"] != digest(tmp_path / "c")["sites.csv"]


# --- the network: routes, rings, defects ------------------------------------------------------

class Network:
    """Just enough of a tracer to check the generated topology."""

    def __init__(self, tables):
        self.tables = tables
        self.equipment = {r["id"]: r for r in tables["equipment"]}
        self.sites = {r["id"]: r for r in tables["sites"]}
        self.rooms = {r["id"]: r for r in tables["rooms"]}
        self.points = {r["id"] for r in tables["points"]}
        self.adj = defaultdict(list)
        for row in tables["cable_sections"]:
            self.adj[row["a_id"]].append((row, row["z_id"]))
            self.adj[row["z_id"]].append((row, row["a_id"]))

    def is_access_node(self, node: str) -> bool:
        e = self.equipment.get(node)
        return e is not None and Layer.parse(e["layer"]) is Layer.ACCESS and \
            EquipmentType.parse(e["type"]) in ACCESS_NODE_TYPES

    def routes(self, site: str) -> list[dict[str, set[str]]]:
        out = []
        for drop, start in self.adj[site]:
            parent = {start: (drop, site)}
            stack, found = [start], []
            while stack:
                node = stack.pop()
                if self.is_access_node(node):
                    found.append(node)
                    continue
                for row, other in self.adj[node]:
                    if other in parent or other == site or other in self.sites:
                        continue
                    e = self.equipment.get(other)
                    if e is not None and Layer.parse(e["layer"]) is Layer.CUSTOMER:
                        continue
                    parent[other] = (row, node)
                    stack.append(other)
            assert len(found) == 1, (site, found)     # the plant is a tree
            node = found[0]
            route = {"sections": set(), "cables": set(), "ducts": set(), "points": set(),
                     "devices": {node}, "rooms": {self.equipment[node]["location_id"]},
                     "node": {node}}
            while node != site:
                row, prev = parent[node]
                route["sections"].add(row["id"])
                route["cables"].add(row["cable_id"])
                route["ducts"].update(filter(None, row["duct_ids"].split(";")))
                if prev in self.points:
                    route["points"].add(prev)
                elif prev in self.equipment:
                    route["devices"].add(prev)
                node = prev
            out.append(route)
        return out


@pytest.fixture(scope="module")
def network(export):
    return Network(export[1])


def shared(r1, r2, allow=()) -> dict[str, set[str]]:
    return {k: (r1[k] & r2[k]) for k in r1 if k not in allow and r1[k] & r2[k]}


def test_routes_per_tier_and_planted_defects(export, network):
    check_routes(export[1], export[2], network)


def check_routes(tables, manifest, network):
    from inventory.model import Tier
    planted = {d["site_id"]: d for d in manifest["defects"]}
    customer_devices = defaultdict(list)
    for e in tables["equipment"]:
        if Layer.parse(e["layer"]) is Layer.CUSTOMER:
            customer_devices[e["location_id"]].append(e)
    seen = defaultdict(int)
    for site_id, site in network.sites.items():
        tier = Tier.parse(site["tier"]).value
        d = planted.get(site_id)
        defect = d["defect"] if d else None
        routes = network.routes(site_id)
        devices = customer_devices[site_id]
        assert len(devices) == (2 if tier == "GOLD" else 1), site_id
        unmonitored = [e["id"] for e in devices if e["monitored"] == "否"]
        if defect == "unmonitored_device":
            assert unmonitored == [d["element_id"]]
        else:
            assert unmonitored == [], site_id
        if tier == "STANDARD":
            assert len(routes) == 1, site_id
            continue
        assert len(routes) == 2, site_id
        r1, r2 = routes
        if tier == "BRONZE" or defect == "single_access_node":
            assert r1["node"] == r2["node"]
            assert shared(r1, r2) == {"devices": r1["node"], "rooms": r1["rooms"],
                                      "node": r1["node"]}, site_id
            if defect == "single_access_node":
                assert d["element_id"] in r1["node"]
            seen[defect] += 1
            continue
        # dual node: two nodes in two rooms that are neighbours on one access ring
        assert r1["node"] != r2["node"] and r1["rooms"] != r2["rooms"]
        common = shared(r1, r2)
        if defect == "shared_duct":
            assert common == {"ducts": {d["element_id"]}}, site_id
        elif defect == "shared_cable":
            assert common == {"cables": {d["element_id"]}}, site_id
        else:
            assert common == {}, (site_id, common)
        seen[defect] += 1
    if manifest["sites"] >= 50:
        assert seen["shared_duct"] and seen["shared_cable"] and seen["single_access_node"]
    # every device that is not passive is monitored, apart from the planted ones
    for e in tables["equipment"]:
        if EquipmentType.parse(e["type"]) is EquipmentType.SPLITTER:
            assert e["monitored"] == ""
        elif e["monitored"] == "否":
            assert planted[e["location_id"]]["element_id"] == e["id"]
        else:
            assert e["monitored"] == "是"


def test_every_access_node_sits_on_a_ring(export, network):
    """Two node-disjoint trunk paths from each access room to the aggregation layer, with
    no common cable or duct."""
    check_rings(export[1], network)


def check_rings(tables, network):
    from inventory.model import RoomKind
    graph = nx.Graph()
    for row in tables["cable_sections"]:
        if row["id"].startswith("SEC-BB"):
            graph.add_edge(row["a_id"], row["z_id"], row=row)
    kinds = {r["id"]: RoomKind.parse(r["kind"]) for r in tables["rooms"]}
    for room, kind in kinds.items():
        if kind in (RoomKind.AGGREGATION, RoomKind.CORE):
            graph.add_edge(room, "AGG-LAYER")
    nodes = [e for e in tables["equipment"] if network.is_access_node(e["id"])]
    assert nodes
    for e in nodes:
        room = e["location_id"]
        assert kinds[room] in (RoomKind.ACCESS, RoomKind.BASE_STATION)
        h = graph
        paths = list(nx.node_disjoint_paths(h, room, "AGG-LAYER"))
        assert len(paths) >= 2, room
        used = []
        for path in paths[:2]:
            cables, ducts = set(), set()
            for a, b in itertools.pairwise(path):
                if "AGG-LAYER" in (a, b):
                    continue
                row = h[a][b]["row"]
                cables.add(row["cable_id"])
                ducts.update(row["duct_ids"].split(";"))
            used.append((cables, ducts))
        assert not used[0][0] & used[1][0] and not used[0][1] & used[1][1], room


def test_distances_to_maintenance_points(export):
    check_distances(*export[1:])


def check_distances(tables, manifest):
    mps = [(r["id"], float(r["lon"]), float(r["lat"])) for r in tables["maintenance_points"]]
    far = {d["site_id"]: d for d in manifest["defects"] if d["defect"] == "beyond_50km"}
    assert far or manifest["sites"] < 50
    for site in tables["sites"]:
        lon, lat = float(site["lon"]), float(site["lat"])
        km, mp = min((GEOD.inv(m_lon, m_lat, lon, lat)[2] / 1000, m) for m, m_lon, m_lat in mps)
        if site["id"] in far:
            assert km > 50 and abs(km - far[site["id"]]["distance_km"]) < 0.01
            assert far[site["id"]]["element_id"] == mp
        else:
            assert km < 50, site["id"]


def test_pon_trees_have_splitters_in_cabinets(export, network):
    _, tables, _ = export
    from inventory.model import PointKind
    kinds = {r["id"]: PointKind.parse(r["kind"]) for r in tables["points"]}
    splitters = [e for e in tables["equipment"]
                 if EquipmentType.parse(e["type"]) is EquipmentType.SPLITTER]
    assert splitters
    for e in splitters:
        assert kinds[e["location_id"]] is PointKind.CABINET
    onu_sites = [e["location_id"] for e in tables["equipment"]
                 if EquipmentType.parse(e["type"]) is EquipmentType.ONU]
    assert onu_sites
    for site in onu_sites[:50]:
        for route in network.routes(site):
            (node,) = route["node"]
            assert EquipmentType.parse(network.equipment[node]["type"]) is EquipmentType.OLT
            assert any(EquipmentType.parse(network.equipment[x]["type"])
                       is EquipmentType.SPLITTER for x in route["devices"] - {node})


@pytest.mark.parametrize("n, seed", [(10, 1), (60, 11), (2500, 5)])
def test_other_sizes_and_seeds(tmp_path, n, seed):
    generate(tmp_path, sites=n, seed=seed)
    tables, manifest = load(tmp_path), read_manifest(tmp_path)
    assert manifest["counts"] == {t: len(rows) for t, rows in tables.items()}
    network = Network(tables)
    check_references(tables)
    check_routes(tables, manifest, network)
    check_rings(tables, network)
    check_distances(tables, manifest)


# --- the command ------------------------------------------------------------------------------

def test_cli_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "new" / "export"
    result = CliRunner().invoke(cli, ["generate", "--sites", "60", "--seed", "2", str(out)])
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    assert "sites=60" in line and "shared_duct=" in line
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sites"] == 60
    again = CliRunner().invoke(cli, ["generate", "--sites", "60", str(out)])
    assert again.exit_code != 0 and "not empty" in again.output + str(again.exception)
    forced = CliRunner().invoke(cli, ["generate", "--sites", "60", "--seed", "2", "--force",
                                      str(out)])
    assert forced.exit_code == 0
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
