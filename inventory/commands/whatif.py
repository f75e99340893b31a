"""What-if commands: ``impact`` (fault impact), ``plan validate|apply`` and ``report``."""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import click

from inventory.cli import echo, format_option, store_option
from inventory.errors import InventoryError
from inventory.graph.store import GraphStore


@click.command("report")
@click.argument("circuit")
@click.option("--format", "fmt", type=click.Choice(["html", "docx"]), default=None,
              help="html (printable) or docx; default: from the -o suffix, else html.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (HTML goes to standard output without it).")
@click.option("--department", help="Issuing department (填报部门).")
@click.option("--author", help="Author (填报人).")
@click.option("--date", "report_date", help="Report date (填报日期), YYYY-MM-DD; default today.")
@click.option("--work-order", help="Work-order number (工单编号).")
@store_option
def report_command(store: GraphStore, circuit: str, fmt: str | None, output: Path | None,
                   department: str | None, author: str | None, report_date: str | None,
                   work_order: str | None) -> None:
    """The fault analysis report of CIRCUIT (集团客户传输专线故障分析报告), pre-filled.

    Customer, address, contact, account manager, circuit number and name and service type
    come from the inventory; the fault fields are left to fill in.
    """
    from inventory.report import build_fault_report, render_docx, render_html

    if fmt is None:
        fmt = "docx" if output is not None and output.suffix.lower() == ".docx" else "html"
    if report_date:
        try:
            date = _dt.date.fromisoformat(report_date)
        except ValueError:
            raise click.BadParameter(f"{report_date!r} is not a date (YYYY-MM-DD)",
                                     param_hint="--date") from None
    else:
        date = _dt.date.today()
    report = build_fault_report(store, circuit, department=department, author=author,
                                report_date=date, work_order=work_order)
    if fmt == "docx":
        if output is None:
            raise click.UsageError("a DOCX report needs -o FILE")
        render_docx(report, output)
        click.echo(f"wrote {output}", err=True)
        return
    html = render_html(report)
    if output is None:
        click.echo(html)
    else:
        output.write_text(html, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


IMPACT_COLUMNS = ["status", "site_id", "site_name", "customer", "tier", "circuits", "contact",
                  "phone", "account_manager", "account_manager_phone", "recovery_limit_h",
                  "deadline", "feedback", "lost"]


def _parse_time(value: str | None) -> _dt.datetime | None:
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (YYYY-MM-DDTHH:MM)",
                                 param_hint="--at") from None


@click.command("impact")
@click.argument("elements", nargs=-1, required=True)
@click.option("--at", "fault_start", metavar="TIME",
              help="When the fault started (YYYY-MM-DDTHH:MM): deadlines as times. "
                   "Default: now.")
@click.option("--timings", is_flag=True, help="Print how long each phase took (stderr).")
@format_option
@store_option
def impact_command(store: GraphStore, elements: tuple[str, ...], fault_start: str | None,
                   timings: bool, fmt: str) -> None:
    """Which customer sites the failure of ELEMENT(s) takes DOWN or DEGRADES.

    ELEMENT is a cable section, cable, duct, point, room or device id; prefix it with its
    kind when the id is ambiguous: Duct:D-1, Cable:C-1, Room:R-1, section:CS-1.
    Sites are sorted by urgency, each with its recovery deadline (tier limit + travel from
    the nearest maintenance point + 3 h for a cable cut) and feedback cadence.
    """
    from inventory.graph.impact import store_impact

    start = _parse_time(fault_start) or _dt.datetime.now().replace(second=0, microsecond=0)
    result = store_impact(store, elements, fault_start=start)
    rows = [s.as_row() for s in result.sites]
    echo(rows, fmt, IMPACT_COLUMNS, document={"store": store.location, **result.as_dict()})
    if fmt == "table":
        where = (f"; nearest maintenance point {result.maintenance_point} at "
                 f"{result.distance_km} km" if result.maintenance_point else "")
        click.echo(f"\n{len(result.down)} down, {len(result.degraded)} degraded "
                   f"({result.candidates} sites examined); "
                   f"{'cable cut (+3 h)' if result.cable_cut else 'no cable cut'}{where}")
    if timings:
        click.echo(" ".join(f"{k}={v:.3f}s" for k, v in result.seconds.items()), err=True)


@click.group("plan")
def plan_group() -> None:
    """Access plans: validate a planned change over the inventory, then apply it.

    A PLAN is an export in the import format (a folder of CSV files, a ZIP or an XLSX
    workbook) with the new or changed records, plus an optional removals.csv
    (columns entity,id). See docs/what-if.md.
    """


_PLAN_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
_CRS = click.option("--crs", metavar="NAME", default=None,
                    help="Coordinate system of rows without a 坐标系 value (default WGS84).")
SITE_COLUMNS = ["site_id", "site_name", "tier", "new", "verdict", "failed", "spofs", "routes",
                "distance_km", "band", "resource_confirmation_due", "provisioning_due"]
FINDING_COLUMNS = ["level", "kind", "site_id", "element", "message"]


def _site_row(site: dict) -> dict:
    return {**site, "spofs": len(site.get("spofs", [])),
            "routes": ", ".join(f"{r['name']} {r['length_m']:.0f} m"
                                for r in site.get("routes", []))}


def _print_validation(validation, fmt: str, store: GraphStore) -> None:
    if fmt == "json":
        echo([], "json", document={"store": store.location, **validation.as_dict()})
        return
    findings = [f.as_dict() for f in validation.findings]
    if fmt == "csv":
        echo(findings, "csv", FINDING_COLUMNS)
        return
    if validation.sites:
        click.echo("Planned sites")
        echo([_site_row(s) for s in validation.sites], "table", SITE_COLUMNS)
        click.echo("")
    if validation.resources:
        click.echo("Free cores on existing cable sections")
        echo(validation.resources, "table", ["section_id", "cable_id", "fiber_count",
                                             "cores_used", "free", "needed", "sites", "ok"])
        click.echo("")
    if validation.existing:
        click.echo("Existing sites the plan changes")
        echo(validation.existing, "table", ["site_id", "site_name", "tier", "verdict_before",
                                            "verdict_after", "effect", "detail"])
        click.echo("")
    if findings:
        click.echo("Findings")
        echo(findings, "table", FINDING_COLUMNS)
        click.echo("")
    click.echo(("ACCEPTED" if validation.accepted else "REJECTED")
               + f": {len(validation.errors)} error(s), "
               f"{sum(f.level == 'warning' for f in validation.findings)} warning(s)")


@plan_group.command("validate")
@_PLAN_PATHS
@click.option("--requested", metavar="DATE", help="Request date for the SLA due dates "
                                                  "(YYYY-MM-DD); default today.")
@_CRS
@format_option
@store_option
def plan_validate(store: GraphStore, paths: tuple[str, ...], requested: str | None,
                  crs: str | None, fmt: str) -> None:
    """Validate PLAN over the inventory without changing it.

    Exit code 0 when the plan is accepted, 1 when it has errors.
    """
    from importers.plan import read_plan
    from inventory.geo.sla import parse_date
    from inventory.graph.plan import validate_plan

    validation = validate_plan(store, read_plan(store, paths, crs=crs),
                               requested=parse_date(requested) if requested else None)
    _print_validation(validation, fmt, store)
    if not validation.accepted:
        sys.exit(1)


@plan_group.command("apply")
@_PLAN_PATHS
@click.option("--force", is_flag=True, help="Apply even if validation finds errors "
                                            "(import errors always refuse).")
@_CRS
@format_option
@store_option
def plan_apply(store: GraphStore, paths: tuple[str, ...], force: bool, crs: str | None,
               fmt: str) -> None:
    """Validate PLAN, then write it: its records in one transaction, then its removals."""
    from importers.plan import read_plan
    from inventory.graph.plan import apply_plan, validate_plan

    read = read_plan(store, paths, crs=crs)
    validation = validate_plan(store, read)
    if not read.ok or (not validation.accepted and not force):
        _print_validation(validation, fmt if fmt != "json" else "json", store)
        raise InventoryError("the plan was not applied: fix the errors above"
                             + ("" if not read.ok else " or use --force"))
    result = apply_plan(store, read.plan)
    echo(result["summary"], fmt, ["entity", "created", "updated", "unchanged"],
         document={"store": store.location, "applied": True, **result,
                   "validation": validation.as_dict()})
    if fmt == "table":
        click.echo(f"\napplied; {result['deleted']} record(s) removed")


COMMANDS = [report_command, impact_command, plan_group]
