"""The CLI of the analysis — trace, check, audit — on both stores (click's CliRunner)."""

from __future__ import annotations

import csv
import io
import json

import pytest
import topologies as T
from click.testing import CliRunner

from inventory.cli import cli


@pytest.fixture
def loaded(store, store_env):
    T.network().load(store)
    return store_env


def run(env, *args):
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result


def test_audit_finds_every_planted_failure(loaded):
    result = run(loaded, "audit", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    found = {row["site_id"]: (row["verdict"], row["failed"]) for row in doc["sites"]}
    expected = {f"{name}/S": (verdict, failed)
                for name, (_, verdict, failed) in T.CASES.items()}
    assert {k: v for k, v in found.items() if k in expected} == expected
    total = doc["summary"][-1]
    assert total["tier"] == "TOTAL" and total["sites"] == len(found)


def test_audit_filters(loaded):
    doc = json.loads(run(loaded, "audit", "--tier", "gold", "--verdict", "NON_COMPLIANT",
                         "--format", "json").output)
    assert sorted(r["site_id"] for r in doc["sites"]) == [
        "shared_closure/S", "shared_duct/S", "single_device_gold/S", "unmonitored/S"]
    doc = json.loads(run(loaded, "audit", "--customer", "pon_tree/CU2", "--format",
                         "json").output)
    assert [r["site_id"] for r in doc["sites"]] == ["pon_tree/S2"]


def test_audit_table_and_csv(loaded):
    table = run(loaded, "audit").output
    assert "shared_duct/S" in table and "TOTAL" in table and "diverse_routes" in table
    rows = list(csv.DictReader(io.StringIO(run(loaded, "audit", "--format", "csv").output)))
    assert {r["verdict"] for r in rows} == {"COMPLIANT", "NON_COMPLIANT", "INCOMPLETE"}


def test_check(loaded):
    result = run(loaded, "check", "shared_duct/S", "--format", "json")
    doc = json.loads(result.output)
    assert doc["verdict"] == "NON_COMPLIANT" and doc["failed"] == ["diverse_routes"]
    assert [s["id"] for s in doc["spofs"]] == ["shared_duct/DX"]
    table = run(loaded, "check", "shared_duct/S").output
    assert "NON_COMPLIANT" in table and "single points of failure" in table
    rows = list(csv.DictReader(io.StringIO(run(loaded, "check", "gold_ok/S", "--format",
                                               "csv").output)))
    assert [r["requirement"] for r in rows] == ["access_nodes", "customer_devices",
                                                 "diverse_routes", "ring", "monitored"]


def test_trace(loaded):
    doc = json.loads(run(loaded, "trace", "pon_tree/S", "--format", "json").output)
    assert [s["id"] for s in doc["routes"][0]["steps"]] == [
        "pon_tree/ONU1", "pon_tree/F3", "pon_tree/SP2", "pon_tree/F2", "pon_tree/SP1",
        "pon_tree/F1", "pon_tree/OLT1"]
    table = run(loaded, "trace", "shared_duct/S").output
    assert "shared: both routes run in duct shared_duct/DX" in table
    rows = list(csv.DictReader(io.StringIO(run(loaded, "trace", "gold_ok/S", "-k", "2",
                                               "--format", "csv").output)))
    assert {r["route"] for r in rows} >= {"A", "B", "uplink A"}


def test_unknown_site_is_one_line_error(loaded):
    result = CliRunner().invoke(cli, ["check", "NOPE"], env=loaded)
    assert result.exit_code != 0
    assert "NOPE" in str(result.exception) or "NOPE" in result.output


@pytest.mark.neo4j
def test_identical_json_from_both_stores(sqlite_store, neo4j_store, neo4j_server):
    """The same network in SQLite and in Neo4j: byte-identical JSON from every command."""
    topo = T.network()
    topo.load(sqlite_store)
    topo.load(neo4j_store)
    envs = [{"INVENTORY_STORE": sqlite_store.path},
            {"INVENTORY_STORE": neo4j_server["uri"], "INVENTORY_NEO4J_USER": neo4j_server["user"],
             "INVENTORY_NEO4J_PASSWORD": neo4j_server["password"]}]
    commands = [["audit"], ["check", "shared_cable/S"], ["trace", "gold_ok/S"],
                ["trace", "pon_tree/S"], ["check", "missing_section/S"]]
    for command in commands:
        outputs = [run(env, *command, "--format", "json").output for env in envs]
        assert outputs[0] == outputs[1], command
