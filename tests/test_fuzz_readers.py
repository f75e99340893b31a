"""A bounded fuzzing run of the CSV and XLSX readers (importers/readers.py), in CI.

Hypothesis with a fixed number of examples per property and no deadline (the machines are
shared), about 15 s in all. Two kinds of property:

* **round trip**: a table of arbitrary text written the way Excel, LibreOffice or a script
  writes it (UTF-8, UTF-8 with BOM, GB18030, UTF-16 with BOM; comma, and the XLSX format)
  reads back cell for cell, with the row numbers a spreadsheet shows;
* **garbage in, report out**: arbitrary bytes, and valid workbooks with bytes flipped, cut
  short, members removed or replaced by junk, give tables or a problem naming the file —
  never an exception.
"""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from importers.readers import Reader

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Cell text: anything a person can type, Chinese included; no control characters (refused by
# the importer anyway, and not writable in XLSX), no surrogates.
CELL = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=25)
TABLE = st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=8)

FIGURES: dict[str, int] = {}


def _expected(records: list[list[str]]) -> list[tuple[int, list[str]]]:
    """What the reader promises: cells stripped, blank rows skipped, numbered from 1."""
    rows = [(n, [c.strip() for c in r]) for n, r in enumerate(records, start=1)]
    return [(n, cells) for n, cells in rows if any(cells)]


def _read_csv(data: bytes, name: str = "sites.csv") -> Reader:
    reader = Reader()
    reader.read_csv(name, data)
    return reader


def _tables(reader: Reader) -> list[tuple[int, list[str]]]:
    assert len(reader.result.tables) == 1, [str(e) for e in reader.result.errors]
    table = reader.result.tables[0]
    return [(table.header_row, table.headers), *table.rows]


def _pad(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """Trailing empty cells do not matter (a spreadsheet has no 'row length')."""
    out = []
    for n, cells in rows:
        cells = list(cells)
        while cells and not cells[-1]:
            cells.pop()
        out.append((n, cells))
    return out


@FUZZ
@given(TABLE, st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_csv_round_trip(records, encoding):
    # A header line holding more tabs or semicolons than commas is read as a tab- or
    # semicolon-separated file (Excel's "text" export): that is the documented rule.
    header = ",".join(records[0])
    assume(header.count("\t") <= header.count(",") and header.count(";") <= header.count(","))
    assume(any(c.strip() for r in records for c in r))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    data = buffer.getvalue().encode(encoding)
    if encoding == "gb18030":
        try:
            data.decode("utf-8")
            FIGURES["gb18030 bytes that are also UTF-8"] = \
                FIGURES.get("gb18030 bytes that are also UTF-8", 0) + 1
            assume(data.decode("utf-8") == buffer.getvalue())  # ASCII: the same either way
        except UnicodeDecodeError:
            pass
    FIGURES[f"csv round trip {encoding}"] = FIGURES.get(f"csv round trip {encoding}", 0) + 1
    assert _pad(_tables(_read_csv(data))) == _pad(_expected(records))


@FUZZ
@given(st.binary(max_size=3000) | st.text(max_size=1000).map(str.encode)
       | st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00",
                          b'"', b'a,"b\n', b"\x00\x00", b"\r\r\r"]))
def test_csv_any_bytes_give_tables_or_a_named_problem(data):
    FIGURES["csv arbitrary bytes"] = FIGURES.get("csv arbitrary bytes", 0) + 1
    reader = _read_csv(data)
    result = reader.result
    assert result.tables or result.errors
    for error in result.errors:
        assert error.file == "sites.csv" and error.message


def _workbook(records: list[list[str]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("sites")
    for record in records:
        sheet.append(record)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_CELL = CELL.filter(lambda c: not c.startswith("="))   # a leading = is a formula


@settings(FUZZ, max_examples=80)
@given(st.lists(st.lists(XLSX_CELL, min_size=1, max_size=6), min_size=1, max_size=8))
def test_xlsx_round_trip(records):
    assume(any(c.strip() for r in records for c in r))
    FIGURES["xlsx round trip"] = FIGURES.get("xlsx round trip", 0) + 1
    reader = Reader()
    reader.read_xlsx("book.xlsx", _workbook(records))
    assert _pad(_tables(reader)) == _pad(_expected(records))


VALID = _workbook([["站点编码", "客户编码", "站点名称", "经度", "纬度"],
                   ["S-1", "C-1", "一号站", "82.07", "44.90"],
                   ["S-2", "C-1", "二号站", "82.08", "44.91"]])


def _rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def broken_workbooks(draw) -> bytes:
    how = draw(st.sampled_from(["flip", "truncate", "drop", "junk", "xml"]))
    FIGURES[f"xlsx corrupted: {how}"] = FIGURES.get(f"xlsx corrupted: {how}", 0) + 1
    if how == "flip":
        data = bytearray(VALID)
        for _ in range(draw(st.integers(1, 20))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "truncate":
        return VALID[:draw(st.integers(0, len(VALID) - 1))]
    with zipfile.ZipFile(io.BytesIO(VALID)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = draw(st.sampled_from(sorted(members)))
    if how == "drop":
        del members[name]
    elif how == "junk":
        members[name] = draw(st.binary(max_size=500))
    else:  # well-formed XML with the wrong content, or the right tags with odd values
        members[name] = draw(st.sampled_from([
            b"<?xml version='1.0'?><a/>",
            b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
            members[name].replace(b'r="A2"', b'r="XFD1048577"'),
            members[name].replace(b'<row r="2"', b'<row r="-5"'),
            members[name].replace(b't="inlineStr"', b't="n"'),
            members[name].replace(b't="inlineStr"', b't="s"'),
            members[name].replace(b't="inlineStr"', b't="b"'),
            members[name].replace(b't="inlineStr"', b't="d"'),
        ]))
    return _rezip(members)


@settings(FUZZ, max_examples=120)
@given(broken_workbooks())
def test_xlsx_broken_workbook_gives_tables_or_a_named_problem(data):
    reader = Reader()
    reader.read_xlsx("book.xlsx", data)
    result = reader.result
    assert result.tables or result.errors or result.warnings
    for problem in result.errors + result.warnings:
        assert problem.file.startswith("book.xlsx") and problem.message


def test_figures(capsys):
    with capsys.disabled():
        print("\nfuzz figures:", dict(sorted(FIGURES.items())))
