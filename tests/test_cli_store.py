"""The CLI skeleton: init and stats on both stores, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from inventory.cli import cli, main


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inventory", *args], capture_output=True,
                          text=True, env={**__import__("os").environ, **env}, timeout=120)


def test_init_and_stats_on_both_stores(store, store_env):
    init = run(["init"], store_env)
    assert init.returncode == 0, init.stderr
    stats = run(["stats", "--format", "json"], store_env)
    assert stats.returncode == 0, stats.stderr
    document = json.loads(stats.stdout)
    assert document["nodes"]["Site"] == 0
    assert set(document["relationships"]) >= {"SEGMENT", "LOCATED_AT", "PATCH"}


def test_store_option_overrides_environment(tmp_path):
    db = tmp_path / "x.db"
    result = CliRunner().invoke(cli, ["init", "--store", str(db)])
    assert result.exit_code == 0 and db.exists()
    table = CliRunner().invoke(cli, ["stats", "--store", str(db)])
    assert "Customer" in table.output and "SEGMENT" in table.output


def test_uninitialised_store_is_one_line_error(tmp_path):
    result = run(["stats", "--store", str(tmp_path / "empty.db")], {})
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'empty.db'} is not an inventory yet: " \
                                    "run `inventory init`"
    assert "Traceback" not in result.stderr


def test_unreachable_neo4j_is_one_line_error():
    result = run(["stats", "--store", "bolt://127.0.0.1:9"],
                 {"INVENTORY_NEO4J_PASSWORD": "x"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: Neo4j at bolt://127.0.0.1:9 is not reachable")
    assert len(result.stderr.strip().splitlines()) == 1


import pytest  # noqa: E402


@pytest.mark.neo4j
def test_wrong_password_is_one_line_error(neo4j_server):
    result = run(["stats", "--store", neo4j_server["uri"]],
                 {"INVENTORY_NEO4J_USER": "neo4j", "INVENTORY_NEO4J_PASSWORD": "wrong"})
    assert result.returncode == 1
    assert "refused the credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_store_scheme(capsys):
    try:
        main(["stats", "--store", "postgres://x"])
    except SystemExit as exit_:
        assert exit_.code == 1
    assert "unknown store" in capsys.readouterr().err
