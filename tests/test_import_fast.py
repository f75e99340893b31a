"""The compiled fast path of a first import (importers.fast) writes the very store, and
reports the very report, that the Python importer does; where it is not sure, it gives up
and the Python importer runs.

Each test imports the same export twice, into new SQLite stores: once as ``import_paths``
does (the fast path first), once with the fast path off, and compares the two stores
(``iterdump``, byte for byte) and the two reports.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import tempfile
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import core, fast
from inventory.cli import cli
from inventory.graph.sqlite_store import SqliteStore

DATA = Path(__file__).parent / "data"

def _import_and_digest(path: Path, store_file: Path) -> tuple[dict, str]:
    """(the report without its time, the sha256 of the store's dump)."""
    store = SqliteStore(store_file)
    try:
        report = core.import_paths(store, [path]).as_dict()
    finally:
        store.close()
    report.pop("seconds")
    db = sqlite3.connect(store_file)
    try:
        return report, hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    finally:
        db.close()


def _import(path: Path, store_file: Path, enabled: bool, monkeypatch) -> tuple[bool, dict, str]:
    """(whether the fast path wrote it, the report, the store's digest)."""
    used = []
    real = fast.try_import

    def spy(*args, **kwargs):
        used.append(real(*args, **kwargs))
        return used[-1]

    monkeypatch.setattr(fast, "ENABLED", enabled)
    monkeypatch.setattr(fast, "try_import", spy)
    report, digest = _import_and_digest(path, store_file)
    return bool(used and used[-1]), report, digest


def _both(path: Path, tmp_path: Path, monkeypatch) -> tuple[bool, dict]:
    """Import both ways; assert the same store and report; (fast path used, report)."""
    used, report, digest = _import(path, tmp_path / "fast.db", True, monkeypatch)
    unused, python_report, python_digest = _import(path, tmp_path / "python.db", False,
                                                   monkeypatch)
    assert not unused
    assert report == python_report
    assert digest == python_digest
    return used, report


def _generate(out: Path, sites: int, seed: int) -> Path:
    """A generated export of ``sites`` sites in ``out``."""
    result = CliRunner().invoke(cli, ["generate", "--sites", str(sites), "--seed", str(seed),
                                      str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("generated") / "export", 150, 11)


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.glob("*.csv"):
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _edit(folder: Path, name: str, change, encoding: str = "utf-8") -> None:
    """Rewrite one CSV with ``change(header, rows)`` (csv.writer: CRLF, quotes as needed)."""
    path = folder / name
    with path.open(encoding="utf-8-sig", newline="") as f:
        header, *rows = list(csv.reader(f))
    change(header, rows)
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([header, *rows])


def test_the_compiled_module_is_built():
    # CI builds it (pip install -e .); without it every import silently takes Python
    assert fast._fastimport is not None


def test_a_generated_export_takes_the_fast_path_to_the_same_store(generated, tmp_path,
                                                                   monkeypatch):
    used, report = _both(generated, tmp_path, monkeypatch)
    assert used and report["written"] and report["ok"]
    assert {row["entity"] for row in report["summary"]} >= {"Site", "SEGMENT", "SERVED_BY"}


@pytest.mark.parametrize("seed", [1, 2])
def test_other_generated_exports_too(seed, tmp_path, monkeypatch):
    out = _generate(tmp_path / "export", 60, seed)
    assert _both(out, tmp_path, monkeypatch)[0]


def _variety(header, rows):
    """Cells in every form the fast path handles itself or asks Python about."""
    col = {name: i for i, name in enumerate(header)}
    for n, row in enumerate(rows):
        if "name" in col and n % 7 == 0:
            row[col["name"]] = ' "引号" 名称,逗号\n第二行 \u3000'  # quotes, comma, newline, U+3000
        if "name" in col and n % 7 == 1:
            row[col["name"]] = "Cafe\u0301 é ﹏ \x1c"  # not NFC; strip takes U+001C
        if "address" in col and n % 5 == 0:
            row[col["address"]] = "\t  新疆·博乐市（青得里）大街#12号—A座  "
    header.append("备注")  # a column the import ignores, with a warning
    for row in rows:
        row.append("x")
    rows.insert(1, [""] * len(header))  # a blank line


def test_quotes_crlf_bom_blank_lines_unknown_columns_and_text_that_is_not_nfc(
        generated, tmp_path, monkeypatch):
    folder = _copy(generated, tmp_path / "export")
    for name in ("customers.csv", "sites.csv", "equipment.csv", "points.csv"):
        _edit(folder, name, _variety, encoding="utf-8-sig" if name == "sites.csv" else "utf-8")
    used, report = _both(folder, tmp_path, monkeypatch)
    assert used
    assert len(report["warnings"]) == 4


def test_numbers_ids_and_tiers_in_other_spellings(generated, tmp_path, monkeypatch):
    folder = _copy(generated, tmp_path / "export")

    def sections(header, rows):
        col = {name: i for i, name in enumerate(header)}
        for n, row in enumerate(rows):
            if n % 3 == 0 and row[col["duct_ids"]]:
                ids = row[col["duct_ids"]].split(";")
                row[col["duct_ids"]] = "；".join(ids + ids[:1])  # full-width, a repeat
            if n % 4 == 0:
                row[col["fiber_count"]] = row[col["fiber_count"]] + ".0"
            if n % 5 == 0:
                row[col["length_m"]] = "１,２34.5"  # full-width digits, a comma

    def sites(header, rows):
        col = {name: i for i, name in enumerate(header)}
        for n, row in enumerate(rows):
            if n % 2 == 0:
                row[col["tier"]] = ""  # the customer's
            if n % 3 == 0:
                row[col["lat"]] = row[col["lat"]] + "123456789"  # rounded to 7 decimals

    _edit(folder, "cable_sections.csv", sections)
    _edit(folder, "sites.csv", sites)
    assert _both(folder, tmp_path, monkeypatch)[0]


# Numbers whose text is the repr of their own float stay text on the fast path (and a
# coordinate with at most 7 decimals is its own round(x, 7)); the others are converted.
# Either way the store is the Python importer's. (file, column, value, fast path used)
NUMBER_SPELLINGS = [
    ("sites.csv", "lon", "82.1", True),
    ("sites.csv", "lon", "82.1234567", True),          # 7 decimals: its own round(x, 7)
    ("sites.csv", "lon", "82.12345678", True),         # 8: rounded
    ("sites.csv", "lon", "82.10", True),               # a trailing zero: not its repr
    ("sites.csv", "lon", "82.0", True),
    ("sites.csv", "lon", "82", True),                  # no dot: repr is 82.0
    ("sites.csv", "lat", "044.9", True),               # a leading zero
    ("sites.csv", "lat", "44.900000000000006", True),  # 17 digits
    ("ducts.csv", "length_m", "0.0001", True),         # repr writes 1e-4 as 0.0001
    ("ducts.csv", "length_m", "0.00012", True),
    ("ducts.csv", "length_m", "0.00001", False),       # repr 1e-05: left to Python
    ("ducts.csv", "length_m", "0.0", True),
    ("ducts.csv", "length_m", "12345678901234.5", True),   # 15 digits
    ("ducts.csv", "length_m", "123456789012345.6", True),  # 16
    ("ducts.csv", "length_m", "1e3", True),
    # route points on the edges of "in China" (73-136 E, 3-54 N), read on their text
    ("ducts.csv", "geometry", "73.0,3.0;136.0,54.0", True),
    ("ducts.csv", "geometry", "73.0000000,3.5;135.9999999,53.9999999", True),
    ("ducts.csv", "geometry", "72.9999999,40.1;80.1,40.2", False),
    ("ducts.csv", "geometry", "136.0000001,40.1;80.1,40.2", False),
    ("ducts.csv", "geometry", "80.1,2.9999999;80.2,40.2", False),
    ("ducts.csv", "geometry", "80.1,54.0000001;80.2,40.2", False),
]


@pytest.mark.parametrize("name,column,value,fast_path", NUMBER_SPELLINGS,
                         ids=[f"{n}-{c}-{v}" for n, c, v, _ in NUMBER_SPELLINGS])
def test_numbers_in_any_spelling_give_the_same_store(name, column, value, fast_path,
                                                     generated, tmp_path, monkeypatch):
    folder = _copy(generated, tmp_path / "export")

    def edit(header, rows):
        for row in rows[:3]:
            row[header.index(column)] = value

    _edit(folder, name, edit)
    used, report = _both(folder, tmp_path, monkeypatch)
    assert used is fast_path, report


CHANGES = [
    # problems: the Python importer reports them
    ("sites.csv", "tier", "PLATINUM", 0),
    ("sites.csv", "lon", "east", 0),
    ("sites.csv", "lat", "182.5", 0),
    ("sites.csv", "customer_id", "CUS-NOWHERE", 0),
    ("sites.csv", "name", "a\x07bell", 0),
    ("sites.csv", "name", "", 0),
    ("customers.csv", "id", "CUS-000002", 0),
    ("cable_sections.csv", "cores_used", "999", 0),
    ("cable_sections.csv", "duct_ids", "D-NOWHERE", 0),
    ("equipment.csv", "monitored", "maybe", 0),
    ("ducts.csv", "length_m", "-3", 0),
    # no problem, but not for the fast path: still the same store
    ("sites.csv", "crs", "GCJ02", 0),
    ("sites.csv", "customer_id", "客户:CUS-000001", 0),
    ("ducts.csv", "geometry", "82.1,44.9；82.2,44.95", 0),
    ("ducts.csv", "length_m", "", 0),
    ("cable_sections.csv", "geometry", "", 0),
]


@pytest.mark.parametrize("name,column,value,row", CHANGES,
                         ids=[f"{n}-{c}-{v!r}" for n, c, v, _ in CHANGES])
def test_what_the_fast_path_leaves_to_python_gives_the_same_result(name, column, value, row,
                                                                   generated, tmp_path,
                                                                   monkeypatch):
    folder = _copy(generated, tmp_path / "export")

    def edit(header, rows):
        rows[row][header.index(column)] = value

    _edit(folder, name, edit)
    used, _ = _both(folder, tmp_path, monkeypatch)
    assert not used


@pytest.mark.parametrize("name", ["clean", *sorted(p.name for p in (DATA / "broken").iterdir()
                                                   if p.is_dir())])
def test_the_checked_in_exports_give_the_same_result(name, tmp_path, monkeypatch):
    path = DATA / name if name == "clean" else DATA / "broken" / name
    _both(path, tmp_path, monkeypatch)


def test_a_store_that_is_not_empty_takes_the_python_path(generated, tmp_path, monkeypatch):
    store = SqliteStore(tmp_path / "fast.db")
    core.import_paths(store, [generated])
    store.close()
    used, report, _ = _import(generated, tmp_path / "fast.db", True, monkeypatch)
    assert not used
    assert all(row["created"] == 0 for row in report["summary"])


# --- the compiled helpers, against Python's own ------------------------------------------

def test_strip_removes_what_str_strip_removes():
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    for ch in spaces + ["\u200b", "\ufeff", "\x1b", "a"]:
        for text in (f"{ch}x{ch}", f"{ch}{ch}中{ch}", ch):
            assert fast._fastimport.strip(text.encode()) == text.strip().encode(), repr(ch)


def test_the_nfc_safe_characters_are_their_own_nfc_in_any_string():
    """Each character of the compiled table: canonical combining class 0, its own NFC,
    and never the second of a canonical composition (so NFC_Quick_Check is Yes, and a
    string of them is NFC)."""
    seconds = set()
    for c in range(0x110000):
        decomposition = unicodedata.decomposition(chr(c))
        if decomposition and not decomposition.startswith("<"):
            seconds.update(chr(int(h, 16)) for h in decomposition.split()[1:])
    for low, high in fast._fastimport.nfc_safe_ranges():
        for c in range(low, high + 1):
            ch = chr(c)
            assert unicodedata.combining(ch) == 0, hex(c)
            assert unicodedata.normalize("NFC", ch) == ch, hex(c)
            assert ch not in seconds, hex(c)


@settings(max_examples=500)
@given(st.binary(max_size=12) | st.text(max_size=6).map(lambda s: s.encode("utf-8",
                                                                            "surrogatepass")))
def test_utf8_validation_agrees_with_python(data):
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert fast._fastimport.utf8_valid(data) is valid


# --- fuzzing: any cell, or any bytes, give the Python importer's result ------------------

CELLS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | \
    st.sampled_from(['"', '""', '"a"b', "a\r", "\r\n", "\x00", "\u3000x\u3000", "e\u0301",
                     "１２", "1e5", "-0", "0.00001", "82.1,44.9;82.2,44.9", "Room:R-1",
                     "S-0000001", "GOLD", "是", "WGS84", "GCJ02", "", " ", ";;", "D-1；D-2"])


def _import_quietly(folder: Path, store_file: Path, enabled: bool) -> tuple[dict, str]:
    # hypothesis runs many examples in one test: no monkeypatch (function-scoped)
    saved, fast.ENABLED = fast.ENABLED, enabled
    try:
        return _import_and_digest(folder, store_file)
    finally:
        fast.ENABLED = saved


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("small") / "export", 8, 5)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file=st.integers(0, 10), row=st.integers(0, 400), column=st.integers(0, 12),
       cell=CELLS, raw=st.none() | st.tuples(st.integers(0, 10_000), st.binary(max_size=4)))
def test_any_cell_or_bytes_give_the_python_importers_result(small, file, row, column, cell,
                                                             raw):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(small, Path(tmp) / "export")
        path = sorted(folder.glob("*.csv"))[file]
        if raw is None:
            def edit(header, rows):
                target = rows[row % len(rows)] if rows else header
                target[column % len(target)] = cell
            _edit(folder, path.name, edit)
        else:
            at, junk = raw
            data = path.read_bytes()
            at %= len(data) + 1
            path.write_bytes(data[:at] + junk + data[at:])
        fast_result = _import_quietly(folder, Path(tmp) / "fast.db", True)
        assert fast_result == _import_quietly(folder, Path(tmp) / "python.db", False)
