"""Acceptance: ``inventory audit`` on the generated sample finds exactly the defects the
generator planted (OUT/manifest.json), on both stores.

The generator plants, per site, at most one defect and says which requirement it breaks
(``failed_requirement``); ``beyond_50km`` breaks none (it changes deadlines, not protection).
Everything goes through the CLI: generate -> import -> audit.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from inventory.cli import cli

SITES = 300
SEED = 7


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "export"
    result = CliRunner().invoke(cli, ["generate", "--sites", str(SITES), "--seed", str(SEED),
                                      str(out)])
    assert result.exit_code == 0, result.output
    return out


def planted(export) -> set[tuple[str, str]]:
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    return {(d["site_id"], d["failed_requirement"]) for d in manifest["defects"]
            if d["defect"] != "beyond_50km" and d["failed_requirement"]}


def test_audit_finds_exactly_the_planted_defects(store, store_env, export):
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "--quiet", str(export)], env=store_env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["audit", "--format", "json"], env=store_env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["sites"]
    assert len(rows) == SITES
    found = {(row["site_id"], name) for row in rows for name in row["failed"]}
    expected = planted(export)
    assert expected, "the generator planted nothing"
    assert found - expected == set(), "failures the generator did not plant"
    assert expected - found == set(), "planted defects the audit missed"
    # and nothing else is wrong with the sample: every other site is compliant
    assert {row["verdict"] for row in rows if not row["failed"]} == {"COMPLIANT"}
