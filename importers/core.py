"""The bulk import: read, check everything, then write once.

:func:`import_paths` is what the CLI (and the web app) call.  It never writes anything when
any problem is found; clean input is written with a single :meth:`GraphStore.upsert` (one
transaction: nodes, then relationships), so an import is all or nothing and importing the
same files again reports everything unchanged (``commit_every`` trades the all or nothing
for transactions of bounded size).  It only uses the GraphStore contract, so it
does not know which database is behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importers import fast
from importers.build import Builder
from importers.readers import Table, input_size, read_paths
from inventory.errors import ImportRowError, StoreUnavailable, ValidationError
from inventory.geo.crs import WGS84, parse_crs
from inventory.graph.store import GraphStore, Node, Rel, WriteSummary, canonical
from inventory.model import LABELS, REL_TYPES

#: progress(phase, advance, total): phase is "check" (bytes of input) or "write" (records).
Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """What an import found and did.

    ``summary`` counts created / updated / unchanged per label and relationship type: what
    was written, or in a dry run what would be.  Nothing was written unless ``written``.
    """

    files: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    warnings: list[ImportRowError] = field(default_factory=list)
    summary: WriteSummary = field(default_factory=WriteSummary)
    dry_run: bool = False
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_read(self) -> int:
        return sum(f["rows"] for f in self.files)

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per label / relationship type, in the model's order."""
        s = self.summary
        return [{"entity": k, "created": s.created[k], "updated": s.updated[k],
                 "unchanged": s.unchanged[k]}
                for k in (*LABELS, *REL_TYPES) if s.created[k] or s.updated[k] or s.unchanged[k]]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dry_run": self.dry_run, "written": self.written,
                "seconds": round(self.seconds, 3), "files": self.files,
                "rows": self.rows_read, "summary": self.summary_rows(),
                "errors": [e.as_dict() for e in self.errors],
                "warnings": [w.as_dict() for w in self.warnings]}


def import_paths(store: GraphStore, paths: Iterable[str | Path], *, dry_run: bool = False,
                 crs: str | None = None, progress: Progress | None = None,
                 commit_every: int | None = None) -> ImportReport:
    """Import resource-platform exports (folders of CSV, ZIPs, XLSX workbooks) into a store.

    Parameters
    ----------
    store : GraphStore
        Where to write; also read for references to elements already stored.
    paths : iterable of str or Path
        Folders, CSV files, ZIP archives or XLSX workbooks, read in the order given.
    dry_run : bool
        Check everything and predict the counts, write nothing.
    crs : str, optional
        The coordinate system of rows without a 坐标系 (crs) column value; default WGS84.
    progress : callable, optional
        ``progress(phase, advance, total)`` while checking rows and writing records.
    commit_every : int, optional
        Commit the write in parts of at most this many records (nodes first), instead of
        in one transaction: for a first load too big for one. The check still comes
        first; a write that stops part-way raises
        :class:`~inventory.errors.PartlyWritten`, and importing the same files again
        finishes it.

    Returns
    -------
    ImportReport
        With ``errors`` (nothing written) or the write summary.
    """
    return _import_paths(store, paths, dry_run, crs, progress, commit_every)


def _import_paths(store: GraphStore, paths: Iterable[str | Path], dry_run: bool,
                  crs: str | None, progress: Progress | None,
                  commit_every: int | None) -> ImportReport:
    started = time.perf_counter()
    report = ImportReport(dry_run=dry_run)
    try:
        default_crs = parse_crs(crs) if crs else WGS84
    except ValidationError:
        report.errors.append(ImportRowError("--crs", None, None, crs,
                                            "unknown coordinate system; use WGS84, CGCS2000, "
                                            "GCJ02 (火星坐标), BD09 (百度) or an EPSG code"))
        return report
    paths = list(paths)
    if not dry_run:
        store.init()  # like `inventory init`: a new store file just works
    # what the check reads must still hold when it is written (another import meanwhile?)
    version = None if dry_run else store.version()
    # a clean first load into SQLite: compiled, or nothing done (importers.fast)
    if not dry_run and commit_every is None and \
            fast.try_import(store, paths, default_crs, version, progress, report):
        report.seconds = time.perf_counter() - started
        return report
    nodes, rels = _check(store, paths, default_crs, progress, report)
    if report.errors:
        report.seconds = time.perf_counter() - started
        return report
    if dry_run:
        report.summary = preview(store, nodes, rels)
    else:
        records = len(nodes) + len(rels)
        try:
            report.summary = store.upsert(
                nodes, rels,
                progress=(lambda n: progress("write", n, records)) if progress else None,
                commit_every=commit_every,
                **({} if version is None else {"expect_version": version}))
        except StoreUnavailable as exc:
            if not exc.commit_unknown:
                raise
            raise StoreUnavailable(f"{exc}: run the same import again when the store is back "
                                   "(what it already wrote is then reported unchanged)",
                                   commit_unknown=True) from exc
        report.written = True
    report.seconds = time.perf_counter() - started
    return report


def _check(store: GraphStore, paths: list[str | Path], default_crs: str,
           progress: Progress | None, report: ImportReport) -> tuple[list[Node], list[Rel]]:
    """Read and check every table; the records, with every problem in ``report``.

    Each table is checked as soon as it is read and its cells are dropped, so only one
    file's cells are in memory at a time (a 100,000-site export is 1.4 million rows); the
    checked rows go with the builder when this returns, before anything is written.
    """
    builder = Builder(store, default_crs)
    total, done = input_size(paths), 0

    def on_table(table: Table) -> None:
        nonlocal done
        builder.parse_table(table)
        table.rows = []
        if progress:
            progress("check", table.size, total)  # in bytes: rows are not known ahead
            done += table.size

    read = read_paths(paths, on_table)
    if progress and done < total:
        progress("check", total - done, total)
    report.files = [{"file": t.file, "entity": t.entity.key, "rows": t.count}
                    for t in read.tables]
    builder.finish()
    order = {t.file: i for i, t in enumerate(read.tables)}
    report.errors = sorted(read.errors + builder.errors,
                           key=lambda e: (order.get(e.file, -1), e.row or 0))
    report.warnings = read.warnings + builder.warnings
    return builder.nodes, builder.rels


def preview(store: GraphStore, nodes: list[Node], rels: list[Rel]) -> WriteSummary:
    """What ``store.upsert(nodes, rels)`` would report, without writing."""
    summary = WriteSummary()
    by_label: dict[str, list[Node]] = {}
    for node in nodes:
        by_label.setdefault(node.label, []).append(node)
    for label, group in by_label.items():
        stored = store.get_nodes(label, [n.id for n in group])
        for node in group:
            old = stored.get(node.id)
            counter = (summary.created if old is None else summary.unchanged
                       if canonical(old.props) == canonical(node.props) else summary.updated)
            counter[label] += 1
    by_type: dict[str, list[Rel]] = {}
    for rel in rels:
        by_type.setdefault(rel.type, []).append(rel)
    for rel_type, group in by_type.items():
        stored_rels = store.get_rels(rel_type, [r.id for r in group])
        for rel in group:
            old = stored_rels.get(rel.id)
            same = old is not None and (old.start, old.end) == (rel.start, rel.end) and \
                canonical(old.props) == canonical(rel.props)
            counter = (summary.created if old is None else summary.unchanged if same
                       else summary.updated)
            counter[rel_type] += 1
    return summary
