"""`inventory import` through click's CliRunner: exit codes, reports, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from inventory.cli import cli

DATA = Path(__file__).resolve().parent / "data"
CLEAN = str(DATA / "clean")


def _run(args, env):
    return CliRunner().invoke(cli, ["import", *args], env=env)


def test_clean_import_prints_a_summary_and_reimport_is_unchanged(store_env):
    first = _run([CLEAN, "--quiet"], store_env)
    assert first.exit_code == 0, first.output
    assert "Customer" in first.output and "SEGMENT" in first.output
    again = _run([CLEAN, "--format", "json"], store_env)
    assert again.exit_code == 0
    document = json.loads(again.stdout)
    assert document["ok"] and document["written"] and document["errors"] == []
    assert all(row["created"] == 0 and row["updated"] == 0 for row in document["summary"])
    site = next(row for row in document["summary"] if row["entity"] == "Site")
    assert site["unchanged"] == 5


def test_commit_every_writes_in_parts_what_one_transaction_writes(store_env, tmp_path):
    """--commit-every N: the same counts as an import in one transaction (into a fresh
    SQLite store), and importing again changes nothing; N below 1 is refused."""
    parts = _run([CLEAN, "--commit-every", "7", "--format", "json"], store_env)
    assert parts.exit_code == 0, parts.output
    one = _run([CLEAN, "--format", "json"], {"INVENTORY_STORE": str(tmp_path / "one.db")})
    assert json.loads(parts.stdout)["summary"] == json.loads(one.stdout)["summary"]
    again = _run([CLEAN, "--commit-every", "7", "--format", "json"], store_env)
    assert all(row["created"] == 0 and row["updated"] == 0
               for row in json.loads(again.stdout)["summary"])
    refused = _run([CLEAN, "--commit-every", "0"], store_env)
    assert refused.exit_code == 2 and "--commit-every" in refused.output


def test_broken_import_exits_1_and_names_file_row_column_value(store_env):
    assert _run([CLEAN, "-q"], store_env).exit_code == 0
    result = _run([str(DATA / "broken" / "many_problems_one_file")], store_env)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)   # a clean exit, not a traceback
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    assert any("sites.csv" in ln and " 2 " in ln and "客户编码" in ln and "C-999" in ln
               for ln in lines), result.stdout
    assert any("服务等级" in ln and "黄金" in ln for ln in lines)
    assert "4 problem(s) found; nothing was written" in result.stderr


def test_broken_import_as_json_lists_every_problem(store_env):
    assert _run([CLEAN, "-q"], store_env).exit_code == 0
    result = _run([str(DATA / "broken" / "many_problems_one_file"), "--format", "json"],
                  store_env)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert not document["ok"] and not document["written"]
    assert [(e["row"], e["column"], e["value"]) for e in document["errors"]] == [
        (2, "客户编码", "C-999"), (3, "站点编码", None), (4, "服务等级", "黄金"),
        (4, "纬度", "abc")]


def test_dry_run_writes_nothing(store_env):
    result = _run([CLEAN, "--dry-run"], store_env)
    assert result.exit_code == 0
    assert "would be written (dry run)" in result.stdout
    stats = CliRunner().invoke(cli, ["stats", "--format", "json"], env=store_env)
    assert sum(json.loads(stats.stdout)["nodes"].values()) == 0


def test_missing_path_and_bad_crs_are_reported(sqlite_store):
    env = {"INVENTORY_STORE": sqlite_store.path}
    missing = _run(["/no/such/export"], env)
    assert missing.exit_code == 1 and "no such file or folder" in missing.stdout
    crs = _run([CLEAN, "--crs", "Mars-2"], env)
    assert crs.exit_code == 1 and "--crs" in crs.stdout and "Mars-2" in crs.stdout


def test_no_progress_bar_when_not_a_terminal(sqlite_store):
    result = _run([CLEAN], {"INVENTORY_STORE": sqlite_store.path})
    assert result.exit_code == 0
    assert "writing" not in result.stderr and "checking" not in result.stderr


def test_csv_format_lists_problems_for_spreadsheets(sqlite_store):
    result = _run([str(DATA / "broken" / "unknown_enum"), "--format", "csv"],
                  {"INVENTORY_STORE": sqlite_store.path})
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "file,row,column,value,message"
    assert result.stdout.splitlines()[1].startswith("sites.csv,2,服务等级,钻石级,")


def test_every_broken_case_exits_1_without_traceback(sqlite_store):
    env = {"INVENTORY_STORE": sqlite_store.path}
    assert _run([CLEAN], env).exit_code == 0
    for case in sorted((DATA / "broken").iterdir()):
        result = _run([str(case), "-q"], env)
        assert result.exit_code == 1, case.name
        assert isinstance(result.exception, SystemExit), (case.name, result.exception)
