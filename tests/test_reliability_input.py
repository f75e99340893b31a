"""Bad input, generated: broken exports never crash the importer, never write part of an
import, and every problem is named by file, row and column.

Each example starts from the clean fixture (tests/data/clean/, already imported into the
store, so the store is not empty) and breaks it in one way drawn by hypothesis:

=====================  =================================================  ===================
fault                  how                                                must be reported at
=====================  =================================================  ===================
enormous cell          10,001-200,000 characters in any cell              that cell
non-finite number      NaN / inf / -Infinity / 1e999 in a numeric column  that cell
formula text           ``=HYPERLINK(...)`` in a numeric or enum column    that cell
bad coordinates        lon/lat outside China (and not merely swapped)     that row, lon or lat
self-loop              a section or patch from an element to itself       that row, Z column
dangling reference     an id found neither in the import nor the store    that cell
doubled row            a data row written twice                           the copy, id column
missing column         a required column removed                          the file, header row
doubled header         a column written twice                             the file, header row
no header line         the header line removed                            the file
truncated file         the bytes cut anywhere                             (no crash, no part)
wrong encoding         UTF-16 without BOM, Big5, Shift-JIS, EUC-KR, …     (no crash, no part)
random bytes           the file replaced by arbitrary bytes               the file
control characters     NUL, BEL, ESC … inside a cell                      that cell
cycle                  extra sections and patches closing rings           nothing: accepted
=====================  =================================================  ===================

Whatever the fault, when the import reports a problem ``store.digest()`` is unchanged
(nothing written), and every problem carries a file name, a row when it concerns a row and a
column when it concerns a cell. The same is checked for XLSX workbooks, where formula cells
are real formulas (``=HYPERLINK(...)`` without a saved value) and numbers are real floats
(NaN, inf).
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import import_paths
from importers.spec import ENTITIES, entity_for_name
from inventory.graph.sqlite_store import SqliteStore

DATA = Path(__file__).resolve().parent / "data"
CLEAN = DATA / "clean"

NUMERIC = ("lon", "lat", "length_m", "fiber_count", "cores_used", "capacity")
ENUMS = ("tier", "kind", "type", "layer", "level", "laying", "service_type", "protection")
REFS = ("customer_id", "location_id", "cable_id", "a_id", "z_id", "duct_ids", "a_end", "z_end",
        "site_id")
NON_FINITE = ["NaN", "nan", "inf", "-inf", "Infinity", "-Infinity", "1e999", "-1e400",
              "ＮａＮ", "1,e999"]
FORMULAS = ['=HYPERLINK("http://example.invalid/x","1")', "=1+1", "=SUM(A1:A9)",
            "=cmd|' /C calc'!A0", '=IMPORTXML("http://example.invalid","//a")']
ENCODINGS = ["utf-16-le", "utf-16-be", "utf-32", "big5", "shift_jis", "euc_kr", "cp1252",
             "koi8_r", "utf-7", "hz"]
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f"

#: what the runs of this module saw, for docs/reliability.md (printed with -s)
FIGURES: dict[str, int] = {}


def _count(kind: str) -> None:
    FIGURES[kind] = FIGURES.get(kind, 0) + 1


def _load_clean() -> dict[str, list[list[str]]]:
    tables = {}
    for path in sorted(CLEAN.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            tables[path.name] = [row for row in csv.reader(f)]
    return tables


CLEAN_TABLES = _load_clean()


def _columns(file: str) -> dict[str, str]:
    """Column name -> header as written, for one clean file."""
    entity = ENTITIES[entity_for_name(file).key]
    headers = CLEAN_TABLES[file][0]
    return {entity.column_for_header(h).name: h for h in headers}


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A store holding the clean fixture, copied afresh for every example."""
    path = tmp_path_factory.mktemp("base") / "base.db"
    store = SqliteStore(path)
    store.init()
    assert import_paths(store, [CLEAN]).ok
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path


# --- the faults --------------------------------------------------------------------------------

def _cell_fault(draw, tables, kind: str):
    """Change one cell; return the expected (file, row, header)."""
    candidates = []
    for file, _rows in tables.items():
        for name, header in _columns(file).items():
            if kind == "number" and name not in NUMERIC:
                continue
            if kind == "formula" and name not in NUMERIC + ENUMS:
                continue
            if kind == "reference" and name not in REFS:
                continue
            candidates.append((file, name, header))
    file, name, header = draw(st.sampled_from(sorted(candidates)))
    rows = tables[file]
    index = draw(st.integers(1, len(rows) - 1))
    column = rows[0].index(header)
    if kind == "enormous":
        value = draw(st.sampled_from("x中,\"'=")) * draw(st.integers(10_001, 200_000))
    elif kind == "number":
        value = draw(st.sampled_from(NON_FINITE))
    elif kind == "formula":
        value = draw(st.sampled_from(FORMULAS))
    elif kind == "control":
        text = draw(st.text(max_size=20))
        at = draw(st.integers(0, len(text)))
        # inside the text: at its ends str.strip() trims \x0b, \x0c, \x1c-\x1f away
        value = "x" + text[:at] + draw(st.sampled_from(CONTROL)) + text[at:] + "x"
    else:  # reference
        value = "NOPE-" + draw(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"],
                                                    exclude_characters=";,、|；，｜ \u3000:："),
                                       min_size=1, max_size=30)).strip()
    rows[index][column] = value
    return (file, index + 1, header)


def _coordinate_fault(draw, tables):
    file = draw(st.sampled_from(["站点.csv", "rooms.csv", "maintenance_points.csv",
                                 "points.csv"]))
    cols = _columns(file)
    rows = tables[file]
    index = draw(st.integers(1, len(rows) - 1))
    outside_lon = st.floats(-1e12, 72.9) | st.floats(136.1, 1e12)
    lon = draw(outside_lon)
    lat = draw(st.floats(-1e12, 1e12))
    rows[index][rows[0].index(cols["lon"])] = repr(lon)
    rows[index][rows[0].index(cols["lat"])] = repr(lat)
    return (file, index + 1, {cols["lon"], cols["lat"]})


def _self_loop(draw, tables):
    file = draw(st.sampled_from(["光缆段.csv", "patches.csv"]))
    cols = _columns(file)
    rows = tables[file]
    index = draw(st.integers(1, len(rows) - 1))
    a, z = rows[0].index(cols["a_id"]), rows[0].index(cols["z_id"])
    rows[index][z] = rows[index][a]
    return (file, index + 1, cols["z_id"])


def _cycle(draw, tables):
    """Rings are normal in an access network: they must import, and the analysis must end."""
    sections = tables["光缆段.csv"]
    places = ["R-AGG-01", "R-ACC-01", "R-ACC-02", "P-CAB-01", "P-FB-01", "P-MH-01", "P-CL-01"]
    ring = draw(st.lists(st.sampled_from(places), min_size=2, max_size=6, unique=True))
    for i, a in enumerate(ring):
        z = ring[(i + 1) % len(ring)]
        if len(ring) == 2 and i == 1:
            z = ring[0]
        sections.append([f"SEC-RING-{i}", "环", "CB-T-01", a, z, "48", "2", "", "管道", "",
                         "", "在用"])
    patches = tables["patches.csv"]
    patches.append(["PA-BACK", "E-PTN-01", "E-OLT-01", "回环跳纤"])


def _break(draw, tables: dict[str, list[list[str]]]) -> tuple[str, object, dict[str, bytes]]:
    """Apply one fault; return (kind, expectation, raw bytes overrides)."""
    kind = draw(st.sampled_from(["enormous", "number", "formula", "reference", "control",
                                 "coordinates", "self_loop", "cycle", "doubled_row",
                                 "missing_column", "doubled_header", "no_header", "truncated",
                                 "encoding", "random_bytes"]))
    raw: dict[str, bytes] = {}
    if kind in ("enormous", "number", "formula", "reference", "control"):
        file, row, header = _cell_fault(draw, tables, kind)
        if kind == "enormous" and len(tables[file][row - 1][tables[file][0].index(header)]) \
                > csv.field_size_limit():
            # the csv module refuses the row before our own check sees the cell
            return kind, ("row", file, row, {None}), raw
        return kind, ("cell", file, row, header), raw
    if kind == "coordinates":
        return kind, ("row", *_coordinate_fault(draw, tables)), raw
    if kind == "self_loop":
        return kind, ("cell", *_self_loop(draw, tables)), raw
    if kind == "cycle":
        return kind, ("ok", _cycle(draw, tables)), raw
    file = draw(st.sampled_from(sorted(tables)))
    rows = tables[file]
    if kind == "doubled_row":
        index = draw(st.integers(1, len(rows) - 1))
        rows.append(list(rows[index]))
        return kind, ("cell", file, len(rows), _columns(file)["id"]), raw
    if kind == "missing_column":
        entity = ENTITIES[entity_for_name(file).key]
        required = [c.name for c in entity.columns if c.required]
        name = draw(st.sampled_from(required))
        column = rows[0].index(_columns(file)[name])
        for row in rows:
            del row[column]
        return kind, ("cell", file, 1, name), raw
    if kind == "doubled_header":
        column = draw(st.integers(0, len(rows[0]) - 1))
        for row in rows:
            row.append(row[column])
        return kind, ("cell", file, 1, rows[0][column]), raw
    if kind == "no_header":
        del rows[0]
        return kind, ("file", file), raw
    data = _csv_bytes(rows)
    if kind == "truncated":
        raw[file] = data[:draw(st.integers(0, len(data) - 1))]
        return kind, ("any",), raw
    if kind == "encoding":
        encoding = draw(st.sampled_from(ENCODINGS))
        text = data.decode("utf-8")
        raw[file] = text.encode(encoding, errors="replace")
        return kind, ("any",), raw
    raw[file] = draw(st.binary(max_size=2000))
    return kind, ("file", file), raw


# --- checks ------------------------------------------------------------------------------------

def _check_report(report, expectation, shown_file=lambda f: f) -> None:
    problems = [(e.file, e.row, e.field, e.message) for e in report.errors]
    for error in report.errors:
        assert error.file, problems                      # always names the file
        assert error.message, problems
        if error.field is not None:
            assert error.row is not None, problems         # a column is always on a row
    what = expectation[0]
    if what == "ok":
        assert report.ok, problems
        return
    if what == "any":
        return
    assert not report.ok, f"{expectation} was accepted"
    if what == "file":
        assert any(e.file == shown_file(expectation[1]) for e in report.errors), problems
    elif what == "cell":
        _, file, row, column = expectation
        assert any((e.file, e.row, e.field) == (shown_file(file), row, column)
                   for e in report.errors), (expectation, problems)
    elif what == "row":
        _, file, row, columns = expectation
        assert any(e.file == shown_file(file) and e.row == row and e.field in columns
                   for e in report.errors), (expectation, problems)


def _fresh_store(base_db: Path, folder: Path) -> SqliteStore:
    path = folder / "store.db"
    shutil.copy(base_db, path)
    return SqliteStore(path)


def _import_and_check(store, paths, expectation, before, shown_file=lambda f: f):
    try:
        report = import_paths(store, paths)
    except Exception as exc:
        raise AssertionError(f"unhandled {type(exc).__name__}: {exc}") from exc
    _check_report(report, expectation, shown_file)
    if report.ok:
        _count("accepted")
        if expectation[0] == "ok":
            from inventory.graph.compliance import audit
            from inventory.graph.network import load_network

            checks = list(audit(load_network(store)))   # analysis ends on rings
            assert checks
    else:
        _count("refused")
        _count("problems named")
        FIGURES["problems named"] += len(report.errors) - 1
        assert not report.written
        assert store.digest() == before, "an import with errors changed the store"
    return report


# --- the properties ----------------------------------------------------------------------------

@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(st.data())
def test_broken_csv_export_is_refused_whole_and_named(tmp_path_factory, base_db, data):
    tables = {f: [list(r) for r in rows] for f, rows in CLEAN_TABLES.items()}
    kind, expectation, raw = _break(data.draw, tables)
    _count(f"csv:{kind}")
    folder = tmp_path_factory.mktemp("broken")
    export = folder / "export"
    export.mkdir()
    for file, rows in tables.items():
        (export / file).write_bytes(raw.get(file, _csv_bytes(rows)))
    store = _fresh_store(base_db, folder)
    try:
        before = store.digest()
        _import_and_check(store, [export], expectation, before)
    finally:
        store.close()


NON_FINITE_MARK = "@@non-finite@@"


def _patch_xlsx(path: Path, old: str, new: str) -> None:
    """Replace text in the sheets' XML (what openpyxl will not write)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(old.encode(), new.encode())
            archive.writestr(info, data)


def _xlsx(tables: dict[str, list[list]], path: Path) -> None:
    book = openpyxl.Workbook(write_only=True)
    for file, rows in tables.items():
        sheet = book.create_sheet(Path(file).stem)
        for row in rows:
            sheet.append(row)
    book.save(path)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(st.data())
def test_broken_xlsx_workbook_is_refused_whole_and_named(tmp_path_factory, base_db, data):
    """Real formulas (never evaluated: no saved value, so refused at their cell), real NaN
    and infinite floats, enormous cells, dangling references and self-loops in a workbook."""
    tables: dict[str, list[list]] = {f: [list(r) for r in rows]
                                     for f, rows in CLEAN_TABLES.items()}
    kind = data.draw(st.sampled_from(["formula", "float", "enormous", "reference",
                                      "self_loop", "cycle"]), label="fault")
    _count(f"xlsx:{kind}")
    if kind in ("formula", "enormous", "reference"):
        expectation = ("cell", *_cell_fault(data.draw, tables, kind))
    elif kind == "float":
        file = data.draw(st.sampled_from(["站点.csv", "rooms.csv", "points.csv",
                                          "光缆段.csv"]))
        cols = _columns(file)
        name = data.draw(st.sampled_from(sorted(set(cols) & set(NUMERIC))))
        index = data.draw(st.integers(1, len(tables[file]) - 1))
        # openpyxl writes a NaN float as an empty <v/>; write what a file can really hold:
        # a number cell reading NaN / INF, or Excel's own error value #NUM!
        tables[file][index][tables[file][0].index(cols[name])] = NON_FINITE_MARK
        non_finite = data.draw(st.sampled_from(['t="n"><v>NaN</v>', 't="n"><v>INF</v>',
                                                't="n"><v>-inf</v>', 't="e"><v>#NUM!</v>',
                                                't="n"><v>1e999</v>']))
        expectation = ("cell", file, index + 1, cols[name])
        if "NaN" in non_finite or "INF" in non_finite or "inf" in non_finite:
            # openpyxl itself cannot read such a number: the sheet and row are named
            expectation = ("row", file, index + 1, {None})
    elif kind == "self_loop":
        expectation = ("cell", *_self_loop(data.draw, tables))
    else:
        expectation = ("ok", _cycle(data.draw, tables))
    folder = tmp_path_factory.mktemp("xlsx")
    book = folder / "export.xlsx"
    _xlsx(tables, book)
    if kind == "float":
        _patch_xlsx(book, 't="inlineStr"><is><t>' + NON_FINITE_MARK + '</t></is>', non_finite)
    store = _fresh_store(base_db, folder)
    try:
        before = store.digest()
        _import_and_check(store, [book], expectation, before,
                          shown_file=lambda f: f"export.xlsx:{Path(f).stem}")
    finally:
        store.close()


def test_figures(capsys):
    """Print what the two properties above tried (run with -s to see it)."""
    with capsys.disabled():
        print("\nreliability input figures:", dict(sorted(FIGURES.items())))
