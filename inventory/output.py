"""Printing results: one aligned table for people, JSON or CSV for programs."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

FORMATS = ("table", "json", "csv")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def display_width(text: str) -> int:
    """Columns a string takes on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(display_width(c), *(display_width(r[i]) for r in cells))
              for i, c in enumerate(columns)]

    def line(values: Iterable[str]) -> str:
        return "  ".join(v + " " * (w - display_width(v))
                         for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(columns), line("-" * w for w in widths), *map(line, cells)])


def safe_csv_cell(value: Any) -> str:
    """Neutralise spreadsheet formulas: a leading ' makes Excel/LibreOffice show text."""
    text = _cell(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    columns = list(columns or (rows[0].keys() if rows else []))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def render_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def render(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None,
           document: Any = None) -> str:
    """Rows as a table or CSV; ``document`` (default: the rows) as JSON."""
    if fmt == "json":
        return render_json(rows if document is None else document)
    if fmt == "csv":
        return render_csv(rows, columns)
    return render_table(rows, columns)
