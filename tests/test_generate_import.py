"""Acceptance (issue 3): generate -> import round-trips on both stores with matching counts,
and importing the same export again changes nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from importers.core import import_paths
from inventory.cli import cli

# One node label per export table; the relationships each table gives rise to.
LABEL_OF_TABLE = {"customers": "Customer", "sites": "Site", "rooms": "Room",
                  "maintenance_points": "MaintenancePoint", "equipment": "Equipment",
                  "points": "Point", "cables": "Cable", "ducts": "Duct", "circuits": "Circuit"}


def test_generated_export_round_trips_with_matching_counts(store, tmp_path):
    out = tmp_path / "export"
    result = CliRunner().invoke(cli, ["generate", "--sites", "120", "--seed", "3", str(out)])
    assert result.exit_code == 0, result.output
    counts = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]

    report = import_paths(store, [out])
    assert not report.errors, [e.as_dict() for e in report.errors[:5]]

    nodes, rels = store.count_nodes(), store.count_rels()
    assert {label: nodes[label] for label in LABEL_OF_TABLE.values()} == \
        {label: counts[table] for table, label in LABEL_OF_TABLE.items()}
    assert rels["HAS_SITE"] == counts["sites"]            # every site has its customer
    assert rels["LOCATED_AT"] == counts["equipment"]      # every device is somewhere
    assert rels["SEGMENT"] == counts["cable_sections"]
    assert rels["PATCH"] == counts["patches"]
    assert rels["TERMINATES_AT"] == 2 * counts["circuits"]  # ends A and Z
    assert rels["SERVED_BY"] == counts["sites"]           # every generated site has coordinates

    digest = store.digest()
    again = import_paths(store, [out])
    assert not again.errors
    assert sum(again.summary.created.values()) == sum(again.summary.updated.values()) == 0
    assert store.digest() == digest
