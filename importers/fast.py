"""The fast path of a first import: a clean CSV export into an empty SQLite store, compiled.

:func:`importers.core.import_paths` tries it first.  The checking and the records of
:mod:`importers.build`, done in Python, cost an import about 10 microseconds per record:
about 60,000 records/s, where the target is 100,000 (docs/performance.md). This path does
the same work in C (``importers/_fastimport.c``) on the file's bytes, and hands SQLite
the JSON text of its bulk statements, without a Python object per cell.

It is a fast path, not a second importer: it only handles what it is sure to turn into the
very store that the Python importer writes (``tests/test_import_fast.py`` compares the two
byte for byte). On anything else it gives up before writing, and the Python importer runs
as always: an error of any kind (the report is the Python importer's), a store that is not
empty, a dry run, ``--commit-every``, a ZIP or XLSX, a file that is not UTF-8, coordinates
that are not WGS84, a route not in the plain form, a reference with a label prefix, a cable
section without a route. Rules that live in Python (enum spellings, crs names, text that is
not plainly NFC) are asked of the column's own parser, once per distinct cell.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from importers import coords, spec
from importers.build import Builder
from importers.readers import CSV_SUFFIXES, XLSX_SUFFIXES, Table, _delimiter
from inventory.geo.crs import WGS84, parse_crs
from inventory.model import NODE_FIELDS, REL_FIELDS, clean_id

try:
    from importers import _fastimport
except ImportError:  # not built (an install without a C compiler): the Python importer
    _fastimport = None

log = logging.getLogger(__name__)

#: INVENTORY_FAST_IMPORT=0 turns the fast path off (the tests compare both paths).
ENABLED = os.environ.get("INVENTORY_FAST_IMPORT", "1") != "0"

# the column kinds of _fastimport.c
K_TEXT, K_ID, K_MEMO, K_NUMBER, K_NON_NEGATIVE, K_COUNT, K_IDS, K_CRS = range(8)
_KIND_OF_PARSER = {spec.text: K_TEXT, clean_id: K_ID, spec.number: K_NUMBER,
                   spec.non_negative: K_NON_NEGATIVE, spec.count: K_COUNT, spec.ids: K_IDS}
_MEMO_PARSERS = {spec.yes_no, spec.split_ratio}
_ENTITY_OF_LABEL = {e.label: e.key for e in spec.ENTITIES.values() if e.label}
_REL_OF_ENTITY = {"cable_sections": "SEGMENT", "patches": "PATCH"}
# a CSV's header is in its first lines: this much is read to find it
_HEAD_BYTES = 1 << 16
# more columns than _fastimport.c takes (an export has at most a few more than its entity)
MAX_HEADERS = 128


class GiveUp(Exception):
    """The fast path does not handle this input; the Python importer will."""


def try_import(store: Any, paths: list[str | Path], default_crs: str,
               expect_version: int | None, progress: Callable[[str, int, int], None] | None,
               report: Any) -> bool:
    """Import ``paths`` into ``store`` if the fast path handles them, filling ``report``
    as the Python importer would; False (and nothing written) when it does not."""
    # a store that takes a first load already encoded (SqliteStore.load_new), and is empty
    load_new = getattr(store, "load_new", None)
    if _fastimport is None or not ENABLED or load_new is None or default_crs != WGS84 or \
            not store.is_empty():
        return False
    try:
        files = _csv_files(paths)
        builder = Builder(store)  # its header mapping, and its warnings
        plans = [_plan(builder, shown, entity, data) for shown, entity, data in files]
    except GiveUp as exc:
        log.debug("fast import: %s", exc)
        return False
    try:
        handle, counts, rows = _fastimport.check(plans, coords.nearest)
    except (ValueError, TypeError) as exc:  # a plan it refuses: a bug, but the import works
        log.warning("fast import: %s; the import goes on without it", exc)
        return False
    if handle is None:
        log.debug("fast import: %s", counts)
        return False
    if progress:
        total = sum(len(data) for _, _, data in files)
        progress("check", total, total)
    records = sum(counts.values())

    def produce(emit: Callable[[str, str, str, int], None]) -> None:
        if progress:
            def emit_with_progress(kind: str, name: str, text: str, n: int) -> None:
                emit(kind, name, text, n)
                if n:
                    progress("write", n, records)
            _fastimport.emit(handle, emit_with_progress)
        else:
            _fastimport.emit(handle, emit)

    summary = load_new(produce, records, expect_version=expect_version)
    if summary is None:  # another import wrote first
        return False
    report.files = [{"file": shown, "entity": entity.key, "rows": n}
                    for (shown, entity, _), n in zip(files, rows)]
    report.warnings = builder.warnings
    report.summary = summary
    report.written = True
    return True


def _csv_files(paths: list[str | Path]) -> list[tuple[str, spec.Entity, bytes]]:
    """(name shown, entity, bytes) of each file, in the order the reader reads them."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():  # as readers.Reader.read_path lists a folder
            members = sorted(p for p in path.iterdir() if p.is_file()
                             and not p.name.startswith((".", "~$")))
            members = [m for m in members if m.suffix.lower() in CSV_SUFFIXES + XLSX_SUFFIXES
                       + (".zip",)]
            if not members:
                raise GiveUp(f"{path}: no files")
        elif path.is_file():
            members = [path]
        else:
            raise GiveUp(f"{path}: not found")
        for member in members:
            if member.suffix.lower() != ".csv":
                raise GiveUp(f"{member.name}: not a CSV file")
            entity = spec.entity_for_name(member.name)
            if entity is None:
                raise GiveUp(f"{member.name}: not a known file name")
            try:
                data = member.read_bytes()
            except OSError as exc:
                raise GiveUp(f"{member.name}: {exc}") from None
            found.append((member.name, entity, data))
    return found


def _header(data: bytes) -> tuple[int, int, list[str]]:
    """(offset of the text after a UTF-8 BOM, the header's row number, its cells stripped),
    read with the csv module as the reader reads the whole file."""
    offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise GiveUp("UTF-16")
    head = data[offset:offset + _HEAD_BYTES]
    if len(data) - offset > _HEAD_BYTES:
        head = head[:head.rfind(b"\n") + 1]  # whole lines only
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise GiveUp("not UTF-8 (or a header longer than 64 KiB)") from None
    if _delimiter(text) != ",":
        raise GiveUp("not comma-separated")
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            cells = [c.strip() for c in cells]
            if any(cells):
                return offset, number, cells
    except csv.Error as exc:
        raise GiveUp(f"broken CSV: {exc}") from None
    raise GiveUp("no header in the first 64 KiB")


def _plan(builder: Builder, shown: str, entity: spec.Entity, data: bytes) -> tuple:
    """What _fastimport.check reads of one file: its columns and properties."""
    offset, header_row, headers = _header(data)
    if len(headers) > MAX_HEADERS:
        raise GiveUp(f"{shown}: {len(headers)} columns")
    mapped, complete = builder.map_headers(Table(shown, entity, headers, header_row))
    if builder.errors or not complete:
        raise GiveUp(f"{shown}: a problem with the headers")
    columns = []
    for index, column in mapped.items():
        kind = _KIND_OF_PARSER.get(column.parse)
        parse = column.parse
        if column.kind == "crs":
            kind, parse = K_CRS, _crs_name
        elif column.kind == "enum" or column.parse in _MEMO_PARSERS:
            kind, parse = K_MEMO, _json_of(column.parse)
        if kind is None:
            raise GiveUp(f"{shown}: a column the fast path does not know ({column.name})")
        refs = tuple(_ENTITY_OF_LABEL[label] for label in column.refs)
        columns.append((column.name, index, kind, column.required, parse, refs, column.many))
    names = {column.name for column in mapped.values()}
    if entity.label:
        keys = names & set(NODE_FIELDS[entity.label])
        if entity.key == "sites":
            keys.add("tier")  # the customer's, where the site has none (build._default_tier)
    elif entity.key == "cable_sections":
        keys = (names & set(REL_FIELDS["SEGMENT"])) | {"geometry_approx"}
    else:
        keys = names & {"name"}  # a patch's only property
    props = [(key, key if key in names else None) for key in sorted(keys)]
    return entity.key, data, offset, len(headers), columns, props


def _crs_name(cell: str) -> str:
    """The coordinate system a crs cell names (build._crs); the fast path takes WGS84 only."""
    return parse_crs(spec.text(cell))


def _json_of(parse: Callable[[str], Any]) -> Callable[[str], str]:
    """A parser whose value (text or yes/no) is given as its JSON, as the store keeps it."""
    def parse_to_json(cell: str) -> str:
        value = parse(cell)
        if not isinstance(value, (str, bool)):
            raise ValueError("not text or yes/no")
        return orjson.dumps(value).decode()
    return parse_to_json

