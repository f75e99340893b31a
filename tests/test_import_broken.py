"""The broken-export corpus: every case gets its exact error report and changes nothing.

Each case in tests/data/broken/<case>/ (written by tests/data/make_broken.py) is imported on
top of the clean fixture; ``expected.json`` lists every expected error (file, row, column and
a substring of the message) and warning. The store's digest must not move.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importers import import_paths

DATA = Path(__file__).resolve().parent / "data"
CASES = sorted(p.name for p in (DATA / "broken").iterdir() if p.is_dir())


def _matches(actual, expected) -> bool:
    return (actual.file == expected["file"] and actual.row == expected["row"]
            and actual.field == expected["column"] and expected["message"] in actual.message)


def _check(problems, expected) -> None:
    shown = [(p.file, p.row, p.field, p.message) for p in problems]
    assert len(problems) == len(expected), shown
    for actual, wanted in zip(problems, expected):
        assert _matches(actual, wanted), (shown, wanted)


def test_corpus_is_large_enough():
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES)
def test_broken_export_is_refused_exactly(case, sqlite_store):
    assert import_paths(sqlite_store, [DATA / "clean"]).ok
    before = sqlite_store.digest()
    expected = json.loads((DATA / "broken" / case / "expected.json").read_text("utf-8"))

    report = import_paths(sqlite_store, [DATA / "broken" / case])

    _check(report.errors, expected["errors"])
    _check(report.warnings, expected["warnings"])
    assert not report.written
    assert sqlite_store.digest() == before


@pytest.mark.neo4j
@pytest.mark.parametrize("case", ["many_problems_one_file", "ambiguous_reference",
                                  "zip_with_bad_member"])
def test_broken_export_leaves_neo4j_unchanged(case, neo4j_store):
    assert import_paths(neo4j_store, [DATA / "clean"]).ok
    before = neo4j_store.digest()
    expected = json.loads((DATA / "broken" / case / "expected.json").read_text("utf-8"))

    report = import_paths(neo4j_store, [DATA / "broken" / case])

    _check(report.errors, expected["errors"])
    assert neo4j_store.digest() == before


@pytest.mark.parametrize("case", CASES)
def test_dry_run_reports_the_same(case, sqlite_store):
    """--dry-run finds exactly the same problems (it is the same check)."""
    assert import_paths(sqlite_store, [DATA / "clean"]).ok
    expected = json.loads((DATA / "broken" / case / "expected.json").read_text("utf-8"))
    report = import_paths(sqlite_store, [DATA / "broken" / case], dry_run=True)
    _check(report.errors, expected["errors"])
