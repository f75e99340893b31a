"""``inventory import``: load resource-platform exports (CSV folders, ZIPs, XLSX workbooks)."""

from __future__ import annotations

import sys

import click

from inventory.cli import echo, format_option, store_option
from inventory.graph.store import GraphStore

#: How many problems the table format prints; JSON always has all of them.
SHOWN_ERRORS = 200


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--dry-run", is_flag=True, help="Check everything and show what would change; "
                                              "write nothing.")
@click.option("--crs", metavar="NAME", default=None,
              help="Coordinate system of rows without a 坐标系 value: WGS84 (default), "
                   "CGCS2000, GCJ02 (火星坐标), BD09 (百度) or an EPSG code.")
@click.option("--commit-every", metavar="N", type=click.IntRange(min=1), default=None,
              help="Commit the write every N records instead of in one transaction (a "
                   "first load too big for one): a write that stops part-way keeps what "
                   "was committed; importing the same files again finishes it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@format_option
@store_option
def import_command(paths: tuple[str, ...], dry_run: bool, crs: str | None,
                   commit_every: int | None, quiet: bool, store: GraphStore,
                   fmt: str) -> None:
    """Import exports: folders of CSV files, ZIPs of them, or XLSX workbooks.

    Everything is checked before anything is written. Any problem: nothing is written,
    every problem is listed with file, row, column and value, and the exit code is 1.
    Clean input is written in one transaction (or, with --commit-every, in parts);
    importing it again changes nothing.
    """
    from importers import import_paths
    from inventory.gcpause import gc_paused

    bars: dict[str, object] = {}

    def progress(phase: str, advance: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            label = {"check": "checking", "write": "writing"}.get(phase, phase)
            bar = bars[phase] = click.progressbar(length=total, label=label.ljust(9),
                                                  file=sys.stderr)
            bar.__enter__()
        bar.update(advance)

    show_progress = not quiet and sys.stderr.isatty()
    try:
        with gc_paused():
            report = import_paths(store, paths, dry_run=dry_run, crs=crs,
                                  commit_every=commit_every,
                                  progress=progress if show_progress else None)
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)

    if fmt == "json":
        echo([], "json", document={"store": store.location, **report.as_dict()})
    else:
        _print_text(report, fmt)
    if not report.ok:
        click.echo(f"error: {len(report.errors)} problem(s) found; nothing was written",
                   err=True)
        sys.exit(1)


def _print_text(report, fmt: str) -> None:
    problems = [e.as_dict() for e in report.errors]
    columns = ["file", "row", "column", "value", "message"]
    if report.warnings and not (fmt == "csv" and problems):
        click.echo(f"{len(report.warnings)} warning(s):", err=True)
        for warning in report.warnings:
            click.echo(f"  {warning}", err=True)
    if problems:
        rows = problems if fmt == "csv" else [_short(p) for p in problems[:SHOWN_ERRORS]]
        echo(rows, fmt, columns)
        if fmt != "csv" and len(problems) > SHOWN_ERRORS:
            click.echo(f"… and {len(problems) - SHOWN_ERRORS} more (--format json or csv "
                       "lists them all)")
        return
    echo(report.summary_rows(), fmt, ["entity", "created", "updated", "unchanged"])
    if fmt == "table":
        verb = "would be written (dry run)" if report.dry_run else "written"
        rate = report.rows_read / report.seconds if report.seconds else 0
        click.echo(f"{report.rows_read} rows from {len(report.files)} file(s) {verb} "
                   f"in {report.seconds:.2f} s ({rate:,.0f} rows/s)")


def _short(problem: dict) -> dict:
    value = problem["value"]
    if value is not None and len(value) > 40:
        problem = {**problem, "value": value[:39] + "…"}
    return problem


COMMANDS = [import_command]
