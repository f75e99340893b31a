"""The bulk importer on the clean fixture: round trips, formats, encodings, derived data.

The fixture (tests/data/clean/) is a small piece of the Bortala network: the prefecture
hospital (GOLD, two sites), No. 1 Middle School (SILVER, PON), the ABC bank branch (BRONZE)
and a Jinghe cooperative (STANDARD)::

    R-AGG-01 ==SEC-001== R-ACC-01 --SEC-002-- P-CAB-01 --SEC-003-- P-FB-01 --SEC-004-- S-002
                          |  \\--SEC-005-- P-MH-01 --SEC-006-- E-CPE-01 (at S-001)
                          \\--SEC-007-- P-CL-01 --SEC-008-- R-ACC-02 (Jinghe)
"""

from __future__ import annotations

import csv
import enum
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import import_paths
from importers.readers import _zip_name, decode
from importers.spec import ENTITIES
from inventory.errors import ValidationError
from inventory.geo.crs import to_wgs84
from inventory.geo.measure import distance_km
from inventory.graph.sqlite_store import SqliteStore
from inventory.graph.store import canonical
from inventory.model import NODE_FIELDS, clean_node, clean_rel

DATA = Path(__file__).resolve().parent / "data"
CLEAN = DATA / "clean"
ROWS = {"Customer": 4, "Site": 5, "Room": 3, "Equipment": 9, "Point": 4, "Cable": 5,
        "Duct": 3, "MaintenancePoint": 2, "Circuit": 4}
RELS = {"HAS_SITE": 5, "LOCATED_AT": 9, "SEGMENT": 8, "PATCH": 2, "TERMINATES_AT": 8,
        "SERVED_BY": 5}


def _new_store(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    store.init()
    return store


def _digest_of(paths, tmp_path: Path, name: str) -> str:
    store = _new_store(tmp_path / f"{name}.db")
    try:
        report = import_paths(store, paths)
        assert report.ok, [str(e) for e in report.errors]
        return store.digest()
    finally:
        store.close()


def _numeric(text: str):
    """A cell as Excel would keep it: numbers as numbers, the rest as text."""
    if re.fullmatch(r"-?\d{1,15}", text) and not text.startswith("0"):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text or None


# --- round trip -------------------------------------------------------------------------------

def test_round_trip_and_reimport_changes_nothing(store):
    report = import_paths(store, [CLEAN])

    assert report.ok and report.written, [str(e) for e in report.errors]
    assert {k: v for k, v in store.count_nodes().items() if v} == ROWS
    assert {k: v for k, v in store.count_rels().items() if v} == RELS
    assert dict(report.summary.created) == {**ROWS, **RELS}
    digest = store.digest()

    again = import_paths(store, [CLEAN])

    assert again.ok and not again.summary.created and not again.summary.updated
    assert dict(again.summary.unchanged) == {**ROWS, **RELS}
    assert store.digest() == digest


def test_stored_values_are_normalised(sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    site = sqlite_store.get_node("Site", "S-001")
    assert site.props["tier"] == "GOLD"              # empty: the customer's tier, resolved
    assert sqlite_store.get_node("Site", "S-005").props["tier"] == "SILVER"   # 银牌
    assert sqlite_store.get_node("Customer", "C-004").props["tier"] == "STANDARD"  # 标准级
    splitter = sqlite_store.get_node("Equipment", "E-SPL-01").props
    assert splitter["type"] == "SPLITTER" and splitter["split_ratio"] == "1:8"
    assert splitter["monitored"] is False
    assert sqlite_store.get_node("Point", "P-CAB-01").props["kind"] == "CABINET"
    assert "id" not in site.props and "crs" not in site.props


def test_coordinates_are_converted_to_wgs84(sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    s3 = sqlite_store.get_node("Site", "S-003").props      # 坐标系 GCJ02
    lon, lat = to_wgs84(82.0631, 44.9089, "GCJ02")
    assert (s3["lon"], s3["lat"]) == (round(lon, 7), round(lat, 7))
    s5 = sqlite_store.get_node("Site", "S-005").props      # 坐标系 百度
    lon, lat = to_wgs84(82.0735, 44.9041, "BD09")
    assert (s5["lon"], s5["lat"]) == (round(lon, 7), round(lat, 7))
    s2 = sqlite_store.get_node("Site", "S-002").props      # WGS84: untouched
    assert (s2["lon"], s2["lat"]) == (82.0856, 44.8967)


def test_crs_option_applies_to_rows_without_a_crs(tmp_path, sqlite_store):
    (tmp_path / "rooms.csv").write_text("id,name,kind,lon,lat\nR-9,新机房,接入,82.07,44.90\n",
                                        encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path], crs="火星坐标")
    assert report.ok
    props = sqlite_store.get_node("Room", "R-9").props
    lon, lat = to_wgs84(82.07, 44.90, "GCJ02")
    assert (props["lon"], props["lat"]) == (round(lon, 7), round(lat, 7))


def test_unknown_crs_option_is_a_reported_error(sqlite_store):
    report = import_paths(sqlite_store, [CLEAN], crs="Beijing-54-ish")
    assert [(e.file, e.value) for e in report.errors] == [("--crs", "Beijing-54-ish")]
    assert sqlite_store.count_nodes()["Site"] == 0


def test_relationships_are_derived(sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    located = sqlite_store.get_rel("LOCATED_AT", "LOCATED_AT:E-MC-01")
    assert (located.start, located.end) == (("Equipment", "E-MC-01"), ("Site", "S-003"))
    has_site = sqlite_store.get_rel("HAS_SITE", "HAS_SITE:S-005")
    assert (has_site.start, has_site.end) == (("Customer", "C-001"), ("Site", "S-005"))
    a_end = sqlite_store.get_rel("TERMINATES_AT", "TERMINATES_AT:CIR-001->A")
    assert a_end.end == ("Site", "S-001") and a_end.props == {"end": "A"}
    section = sqlite_store.get_rel("SEGMENT", "SEC-006")
    assert (section.start, section.end) == (("Point", "P-MH-01"), ("Equipment", "E-CPE-01"))
    assert sqlite_store.get_rel("SEGMENT", "SEC-005").props["duct_ids"] == ["D-01", "D-03"]


def test_section_geometry_and_length(sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    given_route = sqlite_store.get_rel("SEGMENT", "SEC-001").props
    assert given_route["geometry_approx"] is False and given_route["length_m"] == 620
    straight = sqlite_store.get_rel("SEGMENT", "SEC-002").props   # no route, no length
    assert straight["geometry_approx"] is True
    assert straight["geometry"] == "LINESTRING (82.0755 44.9055, 82.0801 44.9001)"
    expected_m = distance_km(82.0755, 44.9055, 82.0801, 44.9001) * 1000
    assert straight["length_m"] == pytest.approx(expected_m, abs=0.1)
    # an end that is a device takes the coordinates of the site it is installed at
    to_device = sqlite_store.get_rel("SEGMENT", "SEC-006").props
    assert to_device["geometry"].endswith("82.0721 44.9032)")
    duct = sqlite_store.get_node("Duct", "D-01").props            # length from its route
    assert duct["length_m"] > 700


def test_served_by_nearest_maintenance_point(sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    jinghe = sqlite_store.get_rel("SERVED_BY", "SERVED_BY:S-004")
    assert jinghe.end == ("MaintenancePoint", "MP-JH")
    assert jinghe.props["distance_km"] == pytest.approx(
        distance_km(82.9, 44.6, 82.8944, 44.6021), abs=0.01)
    assert sqlite_store.get_rel("SERVED_BY", "SERVED_BY:S-001").end[1] == "MP-BL"


def test_a_new_depot_moves_stored_sites(tmp_path, sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    (tmp_path / "维护点.csv").write_text(
        "维护点编码,维护点名称,经度,纬度\nMP-HX,红星路维护点,82.0850,44.8965\n", encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path])
    assert report.ok
    moved = sqlite_store.get_rel("SERVED_BY", "SERVED_BY:S-002")
    assert moved.end == ("MaintenancePoint", "MP-HX")
    assert report.summary.updated["SERVED_BY"] >= 1
    assert sqlite_store.count_rels()["SERVED_BY"] == 5


def test_a_changed_export_moves_relationships_instead_of_adding(tmp_path, sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    (tmp_path / "equipment.csv").write_text(
        "设备编码,设备名称,设备类型,网络层级,所属机房\nE-ONU-01,一中ONU,ONU,客户侧,S-001\n",
        encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path])
    assert report.ok
    assert report.summary.updated["LOCATED_AT"] == 1
    assert sqlite_store.count_rels()["LOCATED_AT"] == 9
    assert sqlite_store.get_rel("LOCATED_AT", "LOCATED_AT:E-ONU-01").end == ("Site", "S-001")


def test_references_may_point_into_the_store(tmp_path, sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    (tmp_path / "光缆段.csv").write_text(
        "光缆段编码,所属光缆,A端设施,Z端设施\nSEC-201,CB-D-01,Point:P-FB-01,E-ONU-01\n",
        encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path])
    assert report.ok, [str(e) for e in report.errors]
    section = sqlite_store.get_rel("SEGMENT", "SEC-201")
    assert section.end == ("Equipment", "E-ONU-01")
    # the device's place comes from its stored LOCATED_AT: a straight line to site S-002
    assert section.props["geometry_approx"] is True
    assert section.props["geometry"].endswith("82.0856 44.8967)")


def test_dry_run_predicts_and_writes_nothing(store):
    predicted = import_paths(store, [CLEAN], dry_run=True)
    assert predicted.ok and not predicted.written
    assert sum(store.count_nodes().values()) == 0
    assert dict(predicted.summary.created) == {**ROWS, **RELS}
    real = import_paths(store, [CLEAN])
    assert real.summary_rows() == predicted.summary_rows()
    assert import_paths(store, [CLEAN], dry_run=True).summary_rows() == \
        import_paths(store, [CLEAN]).summary_rows()


def test_progress_reports_checking_and_writing(sqlite_store):
    calls = []
    import_paths(sqlite_store, [CLEAN], progress=lambda *args: calls.append(args))
    phases = {phase for phase, _, _ in calls}
    assert phases == {"check", "write"}
    written = sum(n for phase, n, _ in calls if phase == "write")
    assert written == calls[-1][2] == sum(ROWS.values()) + sum(RELS.values())


# --- the same export in other shapes gives the identical store ------------------------------

def test_gb18030_and_bom_give_the_same_store(tmp_path):
    utf8 = _digest_of([CLEAN], tmp_path, "utf8")
    for encoding in ("gb18030", "gbk", "utf-8-sig", "utf-16"):
        folder = tmp_path / encoding
        folder.mkdir()
        for path in CLEAN.glob("*.csv"):
            (folder / path.name).write_bytes(path.read_text("utf-8").encode(encoding))
        assert decode((folder / "站点.csv").read_bytes())[1] in (
            encoding.replace("gbk", "gb18030"), "utf-16")
        assert _digest_of([folder], tmp_path, encoding) == utf8, encoding


def test_xlsx_workbook_gives_the_same_store(tmp_path):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for path in sorted(CLEAN.glob("*.csv")):
        sheet = book.create_sheet(path.stem)
        for record in csv.reader(io.StringIO(path.read_text("utf-8"))):
            sheet.append([_numeric(cell) for cell in record])
    book.save(tmp_path / "export.xlsx")
    assert _digest_of([tmp_path / "export.xlsx"], tmp_path, "xlsx") == \
        _digest_of([CLEAN], tmp_path, "csv")


def test_zip_and_single_files_give_the_same_store(tmp_path):
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        for path in CLEAN.glob("*.csv"):
            archive.write(path, f"导出/{path.name}")
    files = sorted(CLEAN.glob("*.csv"))
    assert _digest_of([tmp_path / "export.zip"], tmp_path, "zip") == \
        _digest_of(files, tmp_path, "files") == _digest_of([CLEAN], tmp_path, "csv")


def test_zip_member_names_in_gbk_are_decoded():
    info = zipfile.ZipInfo("站点.csv".encode("gbk").decode("cp437"))
    info.flag_bits = 0
    assert _zip_name(info) == "站点.csv"


def test_libreoffice_xlsx_gives_the_same_store(tmp_path):
    """The issue's acceptance check: the export re-saved by LibreOffice Calc.

    Needs Debian's libreoffice-calc-nogui (installed by scripts/system-deps under `make test`).
    """
    if shutil.which("soffice") is None:
        pytest.fail("soffice is missing: install Debian's libreoffice-calc-nogui")
    out = tmp_path / "xlsx"
    files = [str(p) for p in sorted(CLEAN.glob("*.csv"))]
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
         "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(out), *files],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    books = sorted(out.glob("*.xlsx"))
    assert len(books) == len(files)
    assert _digest_of(books, tmp_path, "soffice") == _digest_of([CLEAN], tmp_path, "csv")


def test_xlsx_formula_uses_its_saved_value(tmp_path, sqlite_store):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "客户"
    sheet.append(["客户编码", "客户名称", "服务等级"])
    sheet.append(["C-101", '=HYPERLINK("http://crm/C-101","博乐市财政局")', "金牌"])
    book.save(tmp_path / "book.xlsx")
    # what Excel would have saved: the formula and its result
    with zipfile.ZipFile(tmp_path / "book.xlsx") as source:
        members = {name: source.read(name) for name in source.namelist()}
    xml = members["xl/worksheets/sheet1.xml"].decode()
    xml = re.sub(r'<c r="B2"><f>(.*?)</f><v\s*/?>(</v>)?',
                 r'<c r="B2" t="str"><f>\1</f><v>博乐市财政局</v>', xml)
    members["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(tmp_path / "saved.xlsx", "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    report = import_paths(sqlite_store, [tmp_path / "saved.xlsx"])
    assert report.ok, [str(e) for e in report.errors]
    assert sqlite_store.get_node("Customer", "C-101").props["name"] == "博乐市财政局"


def test_headers_tolerate_width_spaces_units_and_markers(tmp_path, sqlite_store):
    import_paths(sqlite_store, [CLEAN])
    (tmp_path / "02_光缆段.csv").write_text(
        "＊光缆段 编码,所属光缆,A端设施,Z端设施,长度（米）,Laying,\n"
        "SEC-301,CB-D-01,P-CAB-01,P-FB-01,88.5,ａｅｒｉａｌ,\n", encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path])
    assert report.ok, [str(e) for e in report.errors]
    props = sqlite_store.get_rel("SEGMENT", "SEC-301").props
    assert props["length_m"] == 88.5 and props["laying"] == "AERIAL"


def test_unknown_columns_are_warnings(tmp_path, sqlite_store):
    (tmp_path / "customers.csv").write_text("客户编码,客户名称,服务等级,备注\nC-1,甲,金,VIP\n",
                                            encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path])
    assert report.ok
    assert [(w.file, w.row, w.field) for w in report.warnings] == [("customers.csv", 1, "备注")]


def test_blank_rows_keep_spreadsheet_row_numbers(tmp_path, sqlite_store):
    (tmp_path / "customers.csv").write_text(
        "客户编码,客户名称,服务等级\n\nC-1,甲,金\n,,\n\"C-2\",\"乙\n(多行)\",钻石\n",
        encoding="utf-8")
    report = import_paths(sqlite_store, [tmp_path])
    assert [(e.row, e.field) for e in report.errors] == [(5, "服务等级")]


# --- bad input never crashes ------------------------------------------------------------------

@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["customers.csv", "sites.csv", "光缆段.csv", "equipment.csv",
                        "ducts.csv", "export.xlsx", "export.zip"]),
       st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_give_a_report_never_an_exception(tmp_path_factory, name, data):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / name).write_bytes(data)
    store = _new_store(folder / "fuzz.db")
    try:
        report = import_paths(store, [folder])
        assert report.ok or report.errors
    finally:
        store.close()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=30), min_size=1, max_size=12), max_size=6),
       st.sampled_from(["sites", "光缆段", "equipment", "circuits", "ducts", "rooms"]))
def test_any_cells_give_a_report_never_an_exception(tmp_path_factory, records, entity):
    from importers.spec import ENTITIES, entity_for_name

    headers = [c.name for c in ENTITIES[entity_for_name(entity).key].columns]
    folder = tmp_path_factory.mktemp("cells")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(records)
    (folder / f"{entity}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    store = _new_store(folder / "cells.db")
    try:
        import_paths(store, [folder])
    finally:
        store.close()


# --- records come out clean: build.py does not run model.clean_node over them again ----------

_NODE_COLUMNS = [(entity.label, column) for entity in ENTITIES.values() if entity.label
                 for column in entity.columns if column.name in NODE_FIELDS[entity.label]]
_MESSY = ["金牌", " gold ", "ＧＯＬＤ", "1,250", "１２５", "12.50", "1e3", "0", "-0", "是",
          "否", "Yes", "1:8", "1／8", "01:08:00", "e\u0301", "Ａ-01", "x\u3000y", "光交",
          "CABINET", "OptiX PTN 3900", "82.0700", "nan", "在网"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_NODE_COLUMNS),
       st.one_of(st.sampled_from(_MESSY), st.text(min_size=1, max_size=12)))
def test_column_parsers_give_clean_values(label_column, cell):
    label, column = label_column
    cell = cell.strip()  # as the reader gives cells
    if not cell:
        return
    try:
        value = column.parse(cell)
    except (ValueError, TypeError, OverflowError, ValidationError):
        return
    field = NODE_FIELDS[label][column.name]
    again = field.parse(value)
    again = again.value if isinstance(again, enum.Enum) else again
    assert value != "" and canonical({"v": again}) == canonical({"v": value})


def test_records_are_what_clean_node_would_make(tmp_path):
    from importers.build import check
    from importers.generate import generate
    from importers.readers import read_paths

    generated = tmp_path / "generated"
    generate(generated, 60, 5, force=True)
    for folder in (CLEAN, generated):
        store = _new_store(tmp_path / f"{folder.name}.db")
        builder = check(store, read_paths([folder]).tables)
        assert not builder.errors and builder.nodes
        for node in builder.nodes:
            record = {"id": node.id, **node.props}
            assert canonical(clean_node(node.label, record)) == canonical(record)
        for rel in builder.rels:
            assert canonical(clean_rel(rel.type, rel.props)) == canonical(rel.props)
        store.close()


def _decimal(low: int, high: int):
    return st.builds(lambda whole, places: f"{whole}.{places}", st.integers(low, high),
                     st.from_regex(r"[0-9]{1,8}", fullmatch=True))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(_decimal(70, 140), _decimal(1, 60)), min_size=1, max_size=4),
       st.booleans())
def test_plain_routes_take_a_shortcut_to_the_same_wkt(pairs, wkt):
    from importers import coords

    text = (f"LINESTRING ({', '.join(f'{x} {y}' for x, y in pairs)})" if wkt
            else ";".join(f"{x},{y}" for x, y in pairs))
    try:
        points = coords.route_to_wgs84(text, "WGS84")
    except ValueError:
        with pytest.raises(ValueError):
            coords.route_wkt(text, "WGS84")
        return
    assert coords.route_wkt(text, "WGS84") == (points, coords.to_wkt(points))


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.from_regex(r"[-+]?[0-9０-９,_.eE ]{1,10}", fullmatch=True),
                 st.text(max_size=8)))
def test_plain_numbers_take_a_shortcut_to_the_same_value(cell):
    from importers import spec
    from inventory import model

    try:
        expected = model._float(cell)
    except (ValueError, OverflowError):
        with pytest.raises(ValueError):
            spec.number(cell)
        return
    assert canonical({"v": spec.number(cell)}) == canonical({"v": expected})


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("AB-1 ;,|\t\x1c、；ｘ"), max_size=16)
       | st.text(max_size=16))
def test_ascii_id_lists_take_a_shortcut_to_the_same_ids(cell):
    import unicodedata

    from inventory import model

    pieces = re.split(r"[;；,，|、\s]+", unicodedata.normalize("NFKC", cell))
    assert model._id_list(cell) == [model._text(p) for p in pieces if model._text(p)]


# --- the column-at-a-time check gives what the row-by-row check gives --------------------------

_ALL_COLUMNS = [column for entity in ENTITIES.values() for column in entity.columns]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_ALL_COLUMNS), st.booleans(),
       st.lists(st.one_of(st.sampled_from(_MESSY + ["", "S-001", "a;b,b", "\x07"]),
                          st.text(max_size=12)), min_size=1, max_size=12),
       st.sampled_from([1, 2, 100]))  # 100: few distinct values, each parsed once
def test_a_column_parses_to_what_each_of_its_cells_parses_to(column, required, cells, repeat):
    from importers.build import _CONTROL, _GAP, _parse_column
    from importers.spec import MAX_CELL

    cells = tuple(cell.strip() for cell in cells) * repeat  # stripped, as the reader gives
    expected = []
    for cell in cells:
        if len(cell) > MAX_CELL or _CONTROL.search(cell) or (not cell and required):
            expected = None
            break
        try:
            expected.append(column.parse(cell) if cell else _GAP)
        except (ValueError, TypeError, OverflowError, ValidationError):
            expected = None
            break
    got = _parse_column(cells, column.parse, required)
    if expected is None:
        assert got is None  # the row path then reports each problem
    else:
        assert got == expected


def _records(paths, store, by_row: bool, monkeypatch):
    from importers.build import Builder, check
    from importers.readers import read_paths

    with monkeypatch.context() as patch:
        if by_row:
            patch.setattr(Builder, "_parse_columns", lambda *args: False)
        builder = check(store, read_paths(paths).tables)
    return ([(n.label, n.id, canonical(n.props)) for n in builder.nodes],
            [(r.type, r.id, r.start, r.end, canonical(r.props)) for r in builder.rels],
            [str(e) for e in builder.errors], [str(w) for w in builder.warnings])


def test_the_column_check_builds_the_records_of_the_row_check(tmp_path, monkeypatch):
    from importers.generate import generate

    generated = tmp_path / "generated"
    generate(generated, 200, 3, force=True)
    broken = tmp_path / "broken"
    shutil.copytree(CLEAN, broken)
    sites = broken / "站点.csv"
    sites.write_text(sites.read_text(encoding="utf-8").replace("82.", "８２.", 1)
                     .replace("S-002", "S-002\x07", 1), encoding="utf-8")
    for folder in (CLEAN, generated, broken):
        store = _new_store(tmp_path / f"{folder.name}.db")
        by_column = _records([folder], store, False, monkeypatch)
        assert by_column == _records([folder], store, True, monkeypatch)
        assert by_column[0] and (by_column[2] or folder != broken)
        store.close()
