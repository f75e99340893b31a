"""Validate and normalise: tables of text cells -> Node and Rel records, or problems.

Every problem is collected, none stops the checking: a bad cell is reported and the rest of
the row is still checked, and an id whose row has a problem still counts as "present", so
that one typo does not cascade into a page of unknown-reference errors.  The store is only
read (for references to what it already holds); writing is :mod:`importers.core`'s job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import Any

from importers import coords
from importers.readers import Table
from importers.spec import ENTITIES, LABEL_PREFIXES, MAX_CELL, REL_OF_ENTITY, Column
from importers.spec import ids as spec_ids
from importers.spec import text as spec_text
from inventory.errors import ImportRowError, ValidationError
from inventory.geo.crs import WGS84, parse_crs
from inventory.graph.store import GraphStore, Key, Node, Rel
from inventory.model import (
    MAX_ID,
    NODE_FIELDS,
    REL_FIELDS,
    clean_id,
    clean_rel,
    normalise_token,
    rel_id,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Relationships whose start has exactly one of them get an id naming that start (and
# slot), so that a changed export moves the relationship instead of adding a second one.
_SLOT_RELS = {"HAS_SITE", "LOCATED_AT", "SERVED_BY"}
# error() shows a value longer than 80 characters as its first 77 and "…"; a row keeps
# this much of a cell, enough for the same message.
_KEEP = 81
# The columns whose cells a check after parsing may quote or look at (ids, references,
# coordinates, routes, lengths): a row keeps those cells and drops the others.
_SHARED_LIMIT = 1000
_NOTHING: dict[str, int] = {}
_LATER = frozenset({"id", "lon", "lat", "crs", "geometry", "length_m", "cores_used"})
# The columns of each label's entity that are not properties of its nodes (id, crs)
_NOT_PROPS = {entity.label: tuple(c.name for c in entity.columns
                                  if c.name not in NODE_FIELDS[entity.label])
              for entity in ENTITIES.values() if entity.label}


def slot_rel_id(rel_type: str, owner: str) -> str:
    """``LOCATED_AT:E-1``: the one LOCATED_AT of device E-1, wherever it points."""
    return f"{rel_type}:{owner}"


class Row:
    """One data row of one table: typed values and where each came from.

    Slots, per-table column maps and only the cells that a later message may quote keep a
    row small: a 100,000-site import holds 1.4 million of them until its records are built.
    """

    __slots__ = ("table", "number", "values", "columns", "kept", "cells", "ok", "refs",
                 "lonlat", "id")

    def __init__(self, table: Table, number: int, columns: dict[str, tuple[int, str]],
                 kept: dict[str, int], cells: tuple[str, ...]):
        self.table = table
        self.number = number
        self.values: dict[str, Any] = {}
        self.columns = columns  # column name -> (cell index, header as written)
        self.kept = kept        # column name -> index in cells, for the columns in _LATER
        self.cells = cells      # those cells as read (long ones cut, see _KEEP)
        self.ok = True
        self.refs: dict[str, Any] | None = None  # column -> Key or [Key], once resolved
        self.lonlat: tuple[float, float] | None = None  # WGS84, once checked
        self.id: str | None = None

    def raw(self, name: str) -> str:
        """The cell of column ``name`` as read, for a column in _LATER ("" when empty)."""
        where = self.kept.get(name)
        return "" if where is None else self.cells[where]

    def ref(self, name: str) -> Any:
        """The resolved reference of a column (a Key or a list of Keys), or None."""
        return None if self.refs is None else self.refs.get(name)


class Builder:
    """Turns tables into records; ``errors`` and ``warnings`` collect every problem."""

    def __init__(self, store: GraphStore, crs: str = WGS84,
                 progress: Callable[[str, int, int], None] | None = None):
        self.store = store
        self.default_crs = crs
        self.progress = progress
        self.errors: list[ImportRowError] = []
        self.warnings: list[ImportRowError] = []
        self.rows: dict[str, list[Row]] = {key: [] for key in ENTITIES}
        self.imported: dict[str, dict[str, Row]] = {}   # label -> id -> row
        self.stored: dict[Key, Node] = {}              # store nodes this import refers to
        self.nodes: list[Node] = []
        self.rels: list[Rel] = []
        self.crs_names: dict[str, str] = {}  # a crs cell -> its coordinate system

    # -- problems
    def error(self, row: Row | Table, column: str | None, message: str,
              value: Any = None) -> None:
        table = row.table if isinstance(row, Row) else row
        number = row.number if isinstance(row, Row) else table.header_row
        header = column
        if isinstance(row, Row) and column in row.columns:
            header = row.columns[column][1]
            if value is None:
                value = row.raw(column) or None
        if isinstance(row, Row):
            row.ok = False
        if isinstance(value, str) and len(value) > 80:
            value = value[:77] + "…"
        self.errors.append(ImportRowError(table.file, number, header, value, message))

    # -- 1. cells to typed values
    def parse(self, tables: list[Table]) -> None:
        total = sum(len(t.rows) for t in tables)
        for table in tables:
            self.parse_table(table)
            if self.progress:
                self.progress("check", len(table.rows), total)

    def parse_table(self, table: Table) -> None:
        """Check one table's cells; its rows may be dropped afterwards (the Rows keep what
        the later checks and messages need)."""
        # rows of a table with a missing column are still read: their other cells get
        # checked, and their ids still count for references from other files
        columns, complete = self.map_headers(table)
        plan = [(index, column.name, table.headers[index], column.parse, column.required)
                for index, column in columns.items()]
        where = {name: (index, header) for index, name, header, _, _ in plan}
        later = [name for name, column in ((c.name, c) for c in columns.values())
                 if name in _LATER or column.refs]
        kept = {name: i for i, name in enumerate(later)}
        keep = [where[name][0] for name in later]
        if complete and not table.bad_cells and \
                self._parse_columns(table, plan, where, kept, keep):
            return
        # one str object per distinct value of a repetitive text column (status, vendor,
        # district …): a big import holds millions of cells; a column that turns out to be
        # varied (names, addresses) stops being shared after _SHARED_LIMIT values
        shared = {c.name: {} for c in columns.values() if c.parse is spec_text}
        for number, cells in table.rows:
            self._parse_row(table, plan, where, kept, keep, number, cells,
                            shared).ok &= complete

    def map_headers(self, table: Table) -> tuple[dict[int, Column], bool]:
        """Column index -> Column, and whether every required column is there (problems
        in ``errors``, ignored columns in ``warnings``); importers.fast maps with it too."""
        entity = table.entity
        mapped: dict[int, Column] = {}
        first: dict[str, str] = {}
        for index, header in enumerate(table.headers):
            if not header:
                continue
            column = entity.column_for_header(header)
            if column is None:
                self.warnings.append(ImportRowError(
                    table.file, table.header_row, header, None,
                    f"ignored: not a column of {entity.key}"))
                continue
            if column.name in first:
                self.error(table, header, f"two columns mean {column.name}: "
                                          f"{first[column.name]!r} and {header!r}; keep one")
                continue
            first[column.name] = header
            mapped[index] = column
        present = {c.name for c in mapped.values()}
        missing = [c for c in entity.columns if c.required and c.name not in present]
        for pair in (("lon", "lat"), ("lat", "lon")):
            if pair[0] in present and pair[1] not in present:
                missing.append(entity.column(pair[1]))
                mapped = {i: c for i, c in mapped.items() if c.name != pair[0]}
        for column in missing:
            self.error(table, column.name, f"missing column {column.name} "
                                           f"({column.headers[0]})")
        return mapped, not missing

    def _parse_row(self, table: Table, plan: list[tuple[int, str, str, Any, bool]],
                   where: dict[str, tuple[int, str]], kept: dict[str, int], keep: list[int],
                   number: int, cells: list[str], shared: dict[str, dict[str, str]]) -> Row:
        """``plan``: (index, name, header, parse, required) per mapped column; ``keep``:
        the indexes of the cells the row keeps (``kept`` maps their names)."""
        n_cells, n_headers = len(cells), len(table.headers)
        if n_cells > n_headers:
            extra = [c for c in cells[n_headers:] if c]
        elif n_cells < n_headers:
            extra, cells = [], cells + [""] * (n_headers - n_cells)
        else:
            extra = []
        joined = "".join(cells)
        row = Row(table, number, where, kept, tuple(
            cells[i] if len(cells[i]) <= _KEEP else cells[i][:_KEEP] for i in keep)
            if len(joined) > _KEEP else tuple(cells[i] for i in keep))
        if extra:
            self.error(row, None, f"{n_headers + len(extra)} cells but only "
                                  f"{n_headers} headers: an unquoted comma in a "
                                  "value?", value=extra[0])
        # one look at the whole row; cell by cell only when it found something
        suspect = bool(table.bad_cells) or len(joined) > MAX_CELL or \
            _CONTROL.search(joined) is not None
        values = row.values
        for index, name, _header, parse, required in plan:
            text = cells[index]
            # messages here quote the cell itself (the row keeps only some cells)
            if suspect:
                problem = self._cell_problem(table, number, index, text)
                if problem:
                    self.error(row, name, problem, value=text or None)
                    continue
            if not text:
                if required:
                    self.error(row, name, f"{name} is required")
                continue
            try:
                value = parse(text)
            except (ValueError, TypeError, OverflowError, ValidationError) as exc:
                message = exc.message if isinstance(exc, ValidationError) else str(exc)
                self.error(row, name, message, value=text)
                continue
            same = shared.get(name)
            if same is not None:
                value = same.setdefault(value, value)
                if len(same) > _SHARED_LIMIT:
                    del shared[name]
            values[name] = value
        row.id = values.get("id")
        self.rows[table.entity.key].append(row)
        return row

    def _parse_columns(self, table: Table, plan: list[tuple[int, str, str, Any, bool]],
                       where: dict[str, tuple[int, str]], kept: dict[str, int],
                       keep: list[int]) -> bool:
        """The rows of a clean table, parsed a column at a time; False (and nothing done)
        when any cell has a problem, so that the row-by-row path reports each one.

        An export is millions of cells and nearly always clean: a column's parser then runs
        once per distinct value (status, vendor, tier …) or over the column in one pass,
        and an ASCII column of text is its own value (the reader stripped it), where the
        row path spends a Python loop per cell. Both paths give the same rows
        (tests/test_import.py compares them)."""
        if not table.rows:
            return False
        numbers, records = zip(*table.rows)
        if set(map(len, records)) != {len(table.headers)}:
            return False  # short or long rows: the row path pads them or says so
        cells_of = list(zip(*records))  # column index -> its cells
        parsed = []
        for index, _name, _header, parse, required in plan:
            values = _parse_column(cells_of[index], parse, required)
            if values is None:
                return False
            parsed.append(values)
        names = [name for _, name, _, _, _ in plan]
        # the kept cells, cut as the row path cuts them (see _KEEP)
        kept_cells = [column if max(map(len, column)) <= _KEEP
                      else [c if len(c) <= _KEEP else c[:_KEEP] for c in column]
                      for column in (cells_of[i] for i in keep)]
        kept_rows = zip(*kept_cells) if kept_cells else repeat(())
        # columns with empty cells are added afterwards, a value at a time; the id is
        # required, so it is among the full columns
        full = [i for i, values in enumerate(parsed) if _GAP not in values]
        gappy = [i for i in range(len(parsed)) if i not in full]
        full_names = [names[i] for i in full]
        id_at = full_names.index("id")
        new_rows = []
        for number, cells, values in zip(numbers, kept_rows, zip(*[parsed[i] for i in full])):
            row = Row(table, number, where, kept, cells)
            row.values = dict(zip(full_names, values))
            row.id = values[id_at]
            new_rows.append(row)
        for i in gappy:
            name = names[i]
            for row, value in zip(new_rows, parsed[i]):
                if value is not _GAP:
                    row.values[name] = value
        self.rows[table.entity.key] += new_rows
        return True

    @staticmethod
    def _cell_problem(table: Table, number: int, index: int, text: str) -> str | None:
        """What makes a cell unreadable before its column's parser sees it, if anything."""
        bad = table.bad_cells.get((number, index))
        if bad:
            return bad
        if len(text) > MAX_CELL:
            return f"cell is {len(text):,} characters long; at most {MAX_CELL:,} are accepted"
        control = _CONTROL.search(text)
        if control:
            return f"contains a control character (U+{ord(control[0]):04X})"
        return None

    def finish(self) -> None:
        """After every table is parsed: ids, references, then the records."""
        self.register_ids()
        self.resolve()
        self.build()

    # -- 2. ids: unique per entity, and known for references
    def register_ids(self) -> None:
        for key, rows in self.rows.items():
            label = ENTITIES[key].label or REL_OF_ENTITY[key]
            seen = self.imported.setdefault(label, {})
            for row in rows:
                if row.id is None:
                    continue
                if row.id in seen:
                    other = seen[row.id]
                    self.error(row, "id", f"id used twice: also {other.table.file} row "
                                          f"{other.number}")
                else:
                    seen[row.id] = row

    # -- 3. references: in the import, else in the store
    def resolve(self) -> None:
        # two passes over the reference cells rather than a list of them all (a million
        # at 100,000 sites): what to read from the store, then each reference
        wanted: dict[str, set[str]] = {}
        # only labels the store holds any of can answer (none at all: a first import)
        stored = {label for label, n in self.store.count_nodes().items() if n}
        for _row, column, items in self._references() if stored else ():
            for label, element_id in items:
                for candidate in ([label] if label else column.refs):
                    if candidate in stored and \
                            element_id not in self.imported.get(candidate, {}):
                        wanted.setdefault(candidate, set()).add(element_id)
        for label, element_ids in wanted.items():
            if label in NODE_FIELDS:
                for node in self.store.get_nodes(label, element_ids).values():
                    self.stored[node.key] = node
        for key, rows in self.rows.items():
            for column in ENTITIES[key].columns:
                if column.refs:
                    self._resolve_column(rows, column)

    def _resolve_column(self, rows: list[Row], column: Column) -> None:
        """Each row's references in one column: row.refs gets the keys, row.values the ids."""
        name, many = column.name, column.many
        # the usual reference: a plain ASCII id in one label's rows of this import, and in
        # no stored element it could also mean; _resolve_one takes every other one
        tables = [(label, self.imported.get(label, {})) for label in column.refs]
        ambiguous = {element_id for label, element_id in self.stored if label in column.refs}
        for row in rows:
            value = row.values.get(name)
            if value is None:
                continue
            keys = []
            for item in value if many else (value,):
                key = None
                if item.isascii() and ":" not in item and item not in ambiguous:
                    for label, imported in tables:
                        other = imported.get(item)
                        if other is not None:
                            if key is not None:  # in two labels: _resolve_one says so
                                key = None
                                break
                            key = (label, other.id)
                if key is None:
                    key = self._resolve_one(row, column, *_split_prefix(item))
                keys.append(key)
            if None in keys:
                continue
            if row.refs is None:
                row.refs = {}
            row.refs[name] = keys if many else keys[0]
            plain = [k[1] for k in keys]
            row.values[name] = plain if many else plain[0]

    def _references(self) -> Iterator[tuple[Row, Column, list[tuple[str | None, str]]]]:
        """Each reference cell: its row, column and (label prefix or None, id) items."""
        for key, rows in self.rows.items():
            for column in ENTITIES[key].columns:
                if not column.refs:
                    continue
                for row in rows:
                    value = row.values.get(column.name)
                    if value is not None:
                        yield row, column, [_split_prefix(v)
                                            for v in (value if column.many else [value])]

    def _key(self, label: str, element_id: str) -> Key:
        """The key of a referenced element, with the id string of its own row when it is
        in the import: a reference then costs no second copy of the id."""
        row = self.imported.get(label, {}).get(element_id)
        return (label, element_id if row is None else row.id)

    def _resolve_one(self, row: Row, column: Column, label: str | None,
                     element_id: str) -> Key | None:
        allowed = " / ".join(column.refs)
        if label is not None and label not in column.refs:
            self.error(row, column.name, f"{column.name} must name a {allowed}, not a {label}")
            return None
        if label is None and len(column.refs) == 1:
            label = column.refs[0]  # the same answer, without the list
        if label is not None:
            if element_id in self.imported.get(label, ()) or (label, element_id) in self.stored:
                return self._key(label, element_id)
            found = []
        else:
            found = [c for c in column.refs if self._exists(c, element_id)]
        if not found:
            self.error(row, column.name, f"no {allowed} {element_id!r} in this import or in "
                                         "the store")
            return None
        if len(found) > 1:
            options = " or ".join(f"{c}:{element_id}" for c in found)
            self.error(row, column.name, f"{element_id!r} is both a {' and a '.join(found)}: "
                                         f"write {options}")
            return None
        return self._key(found[0], element_id)

    def _exists(self, label: str, element_id: str) -> bool:
        return element_id in self.imported.get(label, {}) or (label, element_id) in self.stored

    # -- 4. records
    def build(self) -> None:
        for key in ("customers", "maintenance_points", "rooms", "points", "sites", "cables",
                    "ducts", "equipment", "circuits"):
            for row in self.rows[key]:
                self._coordinates(row)
        customers = {r.id: r for r in self.rows["customers"]}
        for key in ("customers", "sites", "rooms", "maintenance_points", "points", "cables",
                    "ducts", "equipment", "circuits"):
            label = ENTITIES[key].label
            for row in self.rows[key]:
                if key == "sites" and "tier" not in row.values:
                    self._default_tier(row, customers)
                if key == "ducts":
                    self._duct_geometry(row)
                self._node(label, row)
            if key == "sites":
                customers.clear()
                self._done("customers")
            elif key in ("cables", "ducts"):
                self._done(key)
        for row in self.rows["sites"]:
            if row.ok and row.ref("customer_id"):
                self._rel(row, "HAS_SITE", slot_rel_id("HAS_SITE", row.id),
                          row.ref("customer_id"), ("Site", row.id))
        for row in self.rows["equipment"]:
            if row.ok and row.ref("location_id"):
                self._rel(row, "LOCATED_AT", slot_rel_id("LOCATED_AT", row.id),
                          ("Equipment", row.id), row.ref("location_id"))
        for row in self.rows["circuits"]:
            for end, column in (("A", "a_end"), ("Z", "z_end")):
                if row.ok and row.ref(column):
                    # one relationship per end, even when both ends are the same site
                    self._rel(row, "TERMINATES_AT", rel_id("TERMINATES_AT", row.id, end),
                              ("Circuit", row.id), row.ref(column), {"end": end})
        self._done("circuits")
        self._sections()
        self._done("cable_sections", "equipment", "rooms", "points")
        for row in self.rows["patches"]:
            a, z = row.ref("a_id"), row.ref("z_id")
            if a is not None and a == z:
                self.error(row, "z_id", "a patch joins a device to itself")
            if row.ok and a is not None and z is not None:
                props = {"name": row.values["name"]} if "name" in row.values else {}
                self._rel(row, "PATCH", row.id, a, z, props)
        self._done("patches")
        self._served_by()

    def _done(self, *keys: str) -> None:
        """Drop the rows of entities that nothing reads any more, now rather than with the
        builder: the rows still held next to the records built so far are the peak memory
        of a big import."""
        for key in keys:
            self.rows[key] = []
            self.imported.pop(ENTITIES[key].label or REL_OF_ENTITY[key], None)

    def _coordinates(self, row: Row) -> None:
        """Check lon/lat and convert them to WGS84 in place."""
        if "lon" not in row.values and "lat" not in row.values:
            if row.values.get("crs"):
                self._crs(row)  # still a mistake worth reporting
            return
        if ("lon" in row.values) != ("lat" in row.values):
            missing = "lat" if "lon" in row.values else "lon"
            if not row.raw(missing):  # a bad number is already reported
                self.error(row, missing, "longitude and latitude come together")
            return
        crs = self._crs(row)
        if crs is None:
            return
        lon, lat = row.values["lon"], row.values["lat"]
        try:
            row.lonlat = coords.point_to_wgs84(lon, lat, crs)
        except ValueError as exc:
            self.error(row, "lon", str(exc), value=f"{lon:g}, {lat:g}")
            return
        row.values["lon"], row.values["lat"] = row.lonlat

    def _crs(self, row: Row) -> str | None:
        """The row's CRS (its column, else --crs, else WGS84); None after a problem."""
        name = row.values.get("crs")
        if not name:
            return self.default_crs
        known = self.crs_names.get(name)
        if known is not None:  # the few spellings of an export, each looked up once
            return known
        try:
            known = self.crs_names[name] = parse_crs(name)
            return known
        except ValidationError:
            self.error(row, "crs", "unknown coordinate system; use WGS84, CGCS2000, GCJ02 "
                                   "(火星坐标), BD09 (百度) or an EPSG code")
            return None

    def _route(self, row: Row) -> tuple[list[tuple[float, float]], str] | None:
        """The row's geometry column, checked and converted to WGS84: points and WKT."""
        if "geometry" not in row.values:
            return None
        crs = self._crs(row)
        if crs is None:
            return None
        try:
            return coords.route_wkt(row.values["geometry"], crs)
        except ValueError as exc:
            self.error(row, "geometry", str(exc))
            return None

    def _default_tier(self, row: Row, customers: dict[str, Row]) -> None:
        key = row.ref("customer_id")
        if key is None:
            return
        customer = customers.get(key[1])
        tier = (customer.values.get("tier") if customer is not None
                else self.stored[key].props.get("tier") if key in self.stored else None)
        if tier is not None:
            row.values["tier"] = tier

    def _duct_geometry(self, row: Row) -> None:
        route = self._route(row)
        if route:
            points, row.values["geometry"] = route
            if "length_m" not in row.values:  # measured only when the export has none
                row.values["length_m"] = coords.route_length_m(points)

    def _node(self, label: str, row: Row) -> None:
        if not row.ok:
            return
        # The column parsers (importers.spec) already give what model.clean_node would:
        # trimmed NFC text, enum values, finite floats, ints, bools; coordinates were
        # checked and converted above and required columns are there (a row without one
        # is not ok). Cleaning again was a fifth of the import's time; test_import checks
        # that every record is its own clean_node.
        props = row.values  # nothing reads the row's values now: they become the props
        for name in _NOT_PROPS[label]:  # the id, crs
            props.pop(name, None)
        row.kept, row.cells = _NOTHING, ()  # nor quotes its cells (its rels cannot fail)
        self.nodes.append(Node(label, row.id, props))

    def _rel(self, row: Row, rel_type: str, element_id: str, start: Key, end: Key,
             props: dict[str, Any] | None = None) -> None:
        if not props:  # HAS_SITE and LOCATED_AT, which have no properties to check
            self.rels.append(Rel(rel_type, element_id, start, end, {}))
            return
        try:
            clean = clean_rel(rel_type, props)
        except ValidationError as exc:
            self.error(row, exc.field, exc.message, value=exc.value)
            return
        self.rels.append(Rel(rel_type, element_id, start, end, clean))

    # -- cable sections
    def _sections(self) -> None:
        for row in self.rows["cable_sections"]:
            values = row.values
            a, z = row.ref("a_id"), row.ref("z_id")
            if a is not None and a == z:
                self.error(row, "z_id", "a cable section cannot start and end at the same "
                                        "place")
            if values.get("cores_used", 0) > values.get("fiber_count", float("inf")):
                self.error(row, "cores_used", f"{values['cores_used']} cores used but the "
                                              f"section has only {values['fiber_count']}")
            route = self._route(row)
            points = None
            if route is not None:
                points, values["geometry"] = route
                values["geometry_approx"] = False
            elif not row.raw("geometry"):
                ends = [self._location(k) for k in (a, z)] if a and z else [None]
                if None not in ends and ends[0] != ends[1]:
                    points = ends
                    values["geometry"] = coords.to_wkt(points)
                    values["geometry_approx"] = True
            if points and "length_m" not in values and not row.raw("length_m"):
                values["length_m"] = coords.route_length_m(points)
            if not row.ok or a is None or z is None:
                continue
            # already clean, as a node's properties are (see _node)
            props = {k: v for k, v in values.items() if k in REL_FIELDS["SEGMENT"]}
            row.values = props  # nothing reads the row's values now
            self.rels.append(Rel("SEGMENT", row.id, a, z, props))

    def _location(self, key: Key) -> tuple[float, float] | None:
        """WGS84 coordinates of a site, room or point, or of the place a device is in."""
        label, element_id = key
        if label == "Equipment":
            row = self.imported.get("Equipment", {}).get(element_id)
            if row is not None:
                where = row.ref("location_id")
            else:
                rel = self.store.get_rel("LOCATED_AT", slot_rel_id("LOCATED_AT", element_id))
                where = rel.end if rel else None
            return None if where is None else self._location(where)
        row = self.imported.get(label, {}).get(element_id)
        if row is not None:
            return row.lonlat
        node = self.stored.get(key) or self.store.get_node(label, element_id)
        if node is None or "lon" not in node.props or "lat" not in node.props:
            return None
        return (node.props["lon"], node.props["lat"])

    # -- SERVED_BY: each site to its nearest maintenance point
    def _served_by(self) -> None:
        depots = {n.id: (n.props["lon"], n.props["lat"])
                  for n in self.store.iter_nodes("MaintenancePoint")
                  if "lon" in n.props and "lat" in n.props}
        stored_depots = dict(depots)
        for row in self.rows["maintenance_points"]:
            if row.ok and row.lonlat:  # a row without a valid id has no depot to serve from
                depots[row.id] = row.lonlat
        sites = {row.id: row.lonlat for row in self.rows["sites"] if row.ok and row.lonlat}
        if depots != stored_depots:
            # a new or moved depot may now be the nearest one for sites already stored
            for node in self.store.iter_nodes("Site"):
                if node.id not in self.imported.get("Site", {}) and "lon" in node.props:
                    sites[node.id] = (node.props["lon"], node.props["lat"])
        for site, (depot, km) in coords.nearest(sites, depots).items():
            self.rels.append(Rel("SERVED_BY", slot_rel_id("SERVED_BY", site), ("Site", site),
                                 ("MaintenancePoint", depot), {"distance_km": km}))


#: an empty cell in a parsed column (the row gets no value for it)
_GAP = object()
# Parsers whose value of a stripped NFC cell (as the reader gives) is the cell itself.
_IDENTITY_WHEN_NFC = (spec_text, clean_id)
# How many cells of a column tell whether its values repeat.
_SAMPLE = 256


def _parse_column(cells: tuple[str, ...], parse: Callable[[str], Any],
                  required: bool) -> list[Any] | None:
    """A column's values (``_GAP`` where a cell is empty), or None when a cell has a
    problem: too long, a control character, required but empty, or refused by ``parse``."""
    # Each pass over the cells of a big export is a cache miss per cell (a column's cells
    # lie a row apart in memory): their lengths are read once, then looked at instead.
    joined = "".join(cells)
    if not joined.isprintable() and _CONTROL.search(joined):
        return None
    lengths = list(map(len, cells))
    longest = max(lengths)
    if longest > MAX_CELL:
        return None
    empty = 0 in lengths
    if empty and required:
        return None
    try:
        sample = cells[:_SAMPLE]
        if len(set(sample)) * 4 <= len(sample) and parse is not spec_ids:
            # few distinct values (status, vendor, tier …): each parsed once, and one object
            # per value for all its rows (memory of a big import); results are immutable
            by_text = {value: parse(value) for value in set(cells) if value}
            by_text[""] = _GAP
            return list(map(by_text.__getitem__, cells))
        if parse in _IDENTITY_WHEN_NFC and \
                (joined.isascii() or unicodedata.is_normalized("NFC", "\n".join(cells))) and \
                (parse is spec_text or longest <= MAX_ID):
            return [value or _GAP for value in cells] if empty else list(cells)
        return [parse(value) if value else _GAP for value in cells]
    except (ValueError, TypeError, OverflowError, ValidationError):
        return None


def _split_prefix(value: str) -> tuple[str | None, str]:
    """``Room:R-001`` -> ("Room", "R-001"); an id that merely contains a colon stays whole."""
    folded = value if value.isascii() else unicodedata.normalize("NFKC", value)
    if ":" in folded:
        prefix, rest = folded.split(":", 1)
        label = LABEL_PREFIXES.get(normalise_token(prefix))
        if label and rest.strip():
            return label, rest.strip()
    return None, value


def check(store: GraphStore, tables: Iterable[Table], crs: str = WGS84,
          progress: Callable[[str, int, int], None] | None = None) -> Builder:
    """Run every check and build the records; see ``Builder.errors``."""
    builder = Builder(store, crs, progress)
    builder.parse(list(tables))
    builder.finish()
    return builder
