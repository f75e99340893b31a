"""Reading exports: CSV files in a folder, a ZIP of them, or an XLSX workbook.

Everything comes out as :class:`Table` s of text cells with the row numbers a person
sees in a spreadsheet (the header is row 1 when it is the first line).  Nothing here
knows about columns or the model; problems of the files themselves (unreadable encoding,
an empty file, an unknown file name) are reported as :class:`ImportRowError` s.

Encodings are detected without being told: a BOM (UTF-8, UTF-16), else strict UTF-8,
else strict GB18030 (a superset of GBK and GB2312, what Excel writes on a Chinese
Windows).  A file that is neither is refused rather than guessed at.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from importers.spec import Entity, entity_for_name, entity_names
from inventory.errors import ImportRowError

CSV_SUFFIXES = (".csv", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
# A ZIP that unpacks to more than this is refused (a "zip bomb" or not an export).
MAX_UNPACKED = 2 * 1024 ** 3


@dataclass
class Table:
    """One file or sheet: its entity, the headers as written and the data rows."""

    file: str
    entity: Entity
    headers: list[str]
    header_row: int
    #: (row number, cells), each cell stripped of surrounding white space (the checks rely
    #: on it: a stripped ASCII or NFC cell of text is its own value)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    # (row, column index) -> message, for cells the reader already knows are bad
    bad_cells: dict[tuple[int, int], str] = field(default_factory=dict)
    #: how many data rows were read (``rows`` may have been dropped once checked)
    count: int = 0
    #: bytes of input this table came from, for a progress bar
    size: int = 0


@dataclass
class ReadResult:
    tables: list[Table] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    warnings: list[ImportRowError] = field(default_factory=list)


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # 120.0 is "120" in the CSV of the same sheet; NaN/inf stay visible and get refused
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def decode(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` of a CSV file's bytes, or None when no encoding fits."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None


def _delimiter(text: str) -> str:
    """Comma, unless the first line clearly uses tabs or semicolons (Excel 'text' exports)."""
    # the first megabyte is enough to find the first line: not a list of every line
    first = next((line for line in text[:1 << 20].splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


class Reader:
    """Collects tables and problems from any number of paths."""

    def __init__(self, on_table: Callable[[Table], None] | None = None) -> None:
        self.result = ReadResult()
        # called with each table once its file is read, so that a caller can check its
        # rows and drop them before the next file is read (memory of a big import); never
        # inside the handlers of unreadable files, so that a caller's error stays its own
        self.on_table = on_table
        self._read: list[Table] = []  # tables not yet handed to on_table

    def error(self, file: str, message: str, row: int | None = None,
              column: str | None = None, value: Any = None) -> None:
        self.result.errors.append(ImportRowError(file, row, column, value, message))

    def warn(self, file: str, message: str) -> None:
        self.result.warnings.append(ImportRowError(file, None, None, None, message))

    # -- paths
    def read_path(self, path: Path) -> None:
        shown = str(path)
        if path.is_dir():
            members = sorted(p for p in path.iterdir() if p.is_file()
                             and not p.name.startswith((".", "~$")))
            found = False
            for member in members:
                suffix = member.suffix.lower()
                if suffix in CSV_SUFFIXES + XLSX_SUFFIXES + (".zip",):
                    found = True
                    self.read_path(member)
            if not found:
                self.error(shown, "no CSV, XLSX or ZIP files in this folder")
            return
        if not path.exists():
            self.error(shown, "no such file or folder")
            return
        suffix = path.suffix.lower()
        try:
            if suffix in CSV_SUFFIXES:
                self.read_csv(path.name, path.read_bytes())
            elif suffix in XLSX_SUFFIXES:
                self.read_xlsx(path.name, path.read_bytes())
            elif suffix == ".zip":
                self.read_zip(path.name, path)
            elif suffix in (".xls", ".et"):
                self.error(path.name, "old binary spreadsheet: save it as .xlsx or CSV")
            else:
                self.error(path.name, "not a CSV, XLSX or ZIP file")
        except OSError as exc:
            self.error(shown, f"cannot read: {exc.strerror or exc}")
        tables, self._read = self._read, []
        if self.on_table is not None:
            for table in tables:
                self.on_table(table)

    def read_zip(self, shown: str, path: Path | io.BytesIO) -> None:
        try:
            with zipfile.ZipFile(path) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
                if sum(i.file_size for i in infos) > MAX_UNPACKED:
                    self.error(shown, "the ZIP unpacks to more than 2 GiB: not an export")
                    return
                for info in sorted(infos, key=lambda i: i.filename):
                    name = _zip_name(info)
                    base = name.rsplit("/", 1)[-1]
                    if name.startswith("__MACOSX/") or base.startswith((".", "~$")):
                        continue
                    member = f"{shown}:{name}"
                    suffix = Path(base).suffix.lower()
                    if suffix in CSV_SUFFIXES:
                        self.read_csv(member, archive.read(info), base,
                                      info.compress_size)
                    elif suffix in XLSX_SUFFIXES:
                        self.read_xlsx(member, archive.read(info))
                    else:
                        self.warn(member, "ignored: not a CSV or XLSX file")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
                RuntimeError, ValueError) as exc:
            # RuntimeError: encrypted member; NotImplementedError: unknown compression
            self.error(shown, f"not a readable ZIP file: {exc}")

    # -- CSV
    def read_csv(self, shown: str, data: bytes, name: str | None = None,
                 size: int | None = None) -> None:
        entity = self._entity(shown, name or shown)
        if entity is None:
            return
        decoded = decode(data)
        if decoded is None:
            self.error(shown, "cannot read the text: it is neither UTF-8 nor GB18030/GBK; "
                              "save it as 'CSV UTF-8'")
            return
        text, _ = decoded
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        records: list[tuple[int, list[str]]] = []
        try:
            records.extend(enumerate(reader, start=1))  # keeps the records before an error
        except csv.Error as exc:
            message = f"broken CSV: {exc}"
            if "field limit" in str(exc):  # the csv module's own guard, before ours
                message = (f"a cell longer than {csv.field_size_limit():,} characters; at "
                           "most 10,000 are accepted (or an unclosed quote)")
            self.error(shown, message, row=len(records) + 1)
            return
        self._table(shown, entity, records, size=len(data) if size is None else size)

    # -- XLSX
    def read_xlsx(self, shown: str, data: bytes) -> None:
        import openpyxl

        # Formulas are never evaluated: cells are read as written (data_only=False) so that a
        # formula is recognised; its cached result (what the user saw) is taken from a second,
        # values-only read of the same sheet, and a formula without one is an error.
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as exc:
            self.error(shown, f"not a readable XLSX workbook: {type(exc).__name__}: {exc}")
            return
        values_book = None
        where: dict[str, Any] = {}  # the sheet and row being read, to name a corrupt cell
        if not book.worksheets:  # openpyxl skips a sheet whose part is missing, silently
            self.error(shown, "not a readable XLSX workbook: no worksheet can be read")
        try:
            for sheet in book.worksheets:
                member = f"{shown}:{sheet.title}"
                entity = self._entity(member, sheet.title)
                if entity is None:
                    continue
                if hasattr(sheet, "reset_dimensions"):
                    sheet.reset_dimensions()  # exporters often write a wrong <dimension>
                records, formulas = [], {}
                where.update(file=member, row=1)
                for number, cells in enumerate(sheet.iter_rows(), start=1):
                    row = []
                    for index, cell in enumerate(cells):
                        if getattr(cell, "data_type", None) == "f":
                            formulas[(number, index)] = cell.value
                        row.append(cell_text(cell.value))
                    records.append((number, row))
                    where["row"] = number + 1
                where["row"] = None
                bad: dict[tuple[int, int], str] = {}
                if formulas:
                    if values_book is None:
                        values_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                                             data_only=True)
                    self._cached_values(values_book[sheet.title], records, formulas, bad)
                self._table(member, entity, records, bad,
                            size=len(data) // len(book.worksheets))
        except Exception as exc:
            self.error(where.get("file", shown),
                       f"not a readable XLSX workbook: {type(exc).__name__}: {exc}",
                       row=where.get("row"))
        finally:
            book.close()
            if values_book is not None:
                values_book.close()

    @staticmethod
    def _cached_values(sheet: Any, records: list[tuple[int, list[str]]],
                       formulas: dict[tuple[int, int], str],
                       bad: dict[tuple[int, int], str]) -> None:
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        rows = dict(records)
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            for index, value in enumerate(values):
                if (number, index) in formulas:
                    if value is None:
                        bad[(number, index)] = (
                            f"a formula ({formulas[(number, index)]}) with no saved value; "
                            "formulas are not evaluated: paste the column as values")
                    else:
                        rows[number][index] = cell_text(value)

    # -- shared
    def _entity(self, shown: str, name: str) -> Entity | None:
        entity = entity_for_name(name)
        if entity is None:
            self.warn(shown, f"ignored: not a known file or sheet name; expected one of "
                             f"{entity_names()}")
        return entity

    def _table(self, shown: str, entity: Entity, records: list[tuple[int, list[str]]],
               bad: dict[tuple[int, int], str] | None = None, size: int = 0) -> None:
        strip = str.strip
        rows = [(n, list(map(strip, cells))) for n, cells in records]
        del records[:]  # one copy of the cells at a time
        rows = [(n, cells) for n, cells in rows if any(cells)]
        if not rows:
            self.error(shown, "the file is empty: no header row")
            return
        (header_row, headers), data = rows[0], rows[1:]
        table = Table(shown, entity, headers, header_row, data, bad or {}, len(data), size)
        self.result.tables.append(table)
        self._read.append(table)


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Member names written by Windows tools without the UTF-8 flag are in the local code
    page (GBK in China); zipfile decodes those as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def read_paths(paths: list[str | Path],
               on_table: Callable[[Table], None] | None = None) -> ReadResult:
    """Read every path (folder, CSV, ZIP or XLSX) into tables, collecting problems;
    ``on_table(table)`` is called with the tables of each file (CSV, ZIP or workbook)
    once it is read (see :class:`Reader`)."""
    reader = Reader(on_table)
    for path in paths:
        reader.read_path(Path(path))
    return reader.result


def input_size(paths: list[str | Path]) -> int:
    """Bytes of the files :func:`read_paths` would read (a progress bar's length)."""
    total = 0
    for path in map(Path, paths):
        try:
            if path.is_dir():
                total += sum(p.stat().st_size for p in path.iterdir() if p.is_file() and
                             p.suffix.lower() in CSV_SUFFIXES + XLSX_SUFFIXES + (".zip",))
            elif path.is_file():
                total += path.stat().st_size
        except OSError:
            pass
    return total
