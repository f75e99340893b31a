"""Route tracing and tier compliance: ``inventory trace``, ``check`` and ``audit``.

Thin wiring: load the graph from the store (:mod:`inventory.graph.network`), call the pure
analysis, print. ``trace``/``check`` read the bounded subgraph around one site; ``audit``
checks batches of nearby sites in one process per CPU, or with ``--workers 1`` reads the
whole network once and checks every site on it (:mod:`inventory.audits`).
"""

from __future__ import annotations

import click

from inventory.audits import audit_store, default_workers
from inventory.cli import echo, format_option, store_option
from inventory.gcpause import gc_paused
from inventory.graph.compliance import VERDICTS, audit_summary, check
from inventory.graph.network import load_site_graph
from inventory.graph.store import GraphStore
from inventory.graph.trace import DEFAULT_K
from inventory.graph.trace import trace as trace_site
from inventory.model import Tier

STEP_COLUMNS = ["route", "step", "kind", "id", "name", "type", "cable_id", "duct_ids",
                "length_m", "laying", "cores", "maintainer", "boundary", "shared"]


def _step_rows(routes, prefix: str = "") -> list[dict]:
    rows = []
    for route in routes:
        for i, step in enumerate(route.steps, 1):
            cores = (f"{step.cores_used}/{step.fiber_count}" if step.kind == "section"
                     and (step.cores_used or step.fiber_count) else None)
            rows.append({"route": prefix + route.name + ("" if route.complete else " (incomplete)"),
                         "step": i, "kind": step.kind, "id": step.id, "name": step.name,
                         "type": step.type or step.cable_level, "cable_id": step.cable_id,
                         "duct_ids": step.duct_ids, "length_m": step.length_m,
                         "laying": step.laying, "cores": cores, "maintainer": step.maintainer,
                         "boundary": step.boundary, "shared": step.shared})
    return rows


@click.command()
@click.argument("site")
@click.option("-k", "--routes", "k", type=click.IntRange(1, 50), default=DEFAULT_K,
              show_default=True, help="At most this many routes to access nodes.")
@store_option
@format_option
def trace(store: GraphStore, fmt: str, site: str, k: int) -> None:
    """Trace the physical routes of SITE: to its access nodes, then on to aggregation.

    Each step is a device, site, room, point or cable section, marked with who maintains
    it (group / base, domain-rules §5) and whether it is a handover boundary.
    """
    G = load_site_graph(store, site)
    result = trace_site(G, site, k=k)
    rows = _step_rows(result.routes) + _step_rows(result.uplinks, prefix="uplink ")
    if fmt == "table":
        lengths = ", ".join(f"{r.name} {r.length_m:g} m → {r.access_node}"
                            for r in result.routes if r.complete)
        click.echo(f"site {result.site_id} {result.site_name or ''} · tier {result.tier} · "
                   f"diverse routes {result.diverse}" + (f" · {lengths}" if lengths else ""))
        for shared in result.shared:
            click.echo(f"  shared: {shared.message}")
    echo(rows, fmt, STEP_COLUMNS, document=result.as_dict())


@click.command("check")
@click.argument("site")
@store_option
@format_option
def check_command(store: GraphStore, fmt: str, site: str) -> None:
    """Check SITE against its tier: each requirement, the verdict, single points of failure."""
    G = load_site_graph(store, site)
    result = check(G, site)
    rows = [{"requirement": r.name, "required": r.required, "found": r.found,
             "verdict": r.verdict, "detail": r.detail} for r in result.requirements]
    if fmt == "table":
        echo(rows, fmt)
        click.echo(f"\nsite {result.site_id} ({result.tier}): {result.verdict}"
                   + "".join(f"\nnote: {n}" for n in result.notes))
        if result.spofs:
            click.echo("\nsingle points of failure:")
            echo([s.as_dict() for s in result.spofs], fmt)
        return
    echo(rows, fmt, document=result.as_dict())


AUDIT_COLUMNS = ["site_id", "site_name", "customer_id", "tier", "verdict", "failed", "unknown",
                 "note"]


@click.command()
@click.option("--tier", "tiers", multiple=True, type=click.Choice(Tier.choices(),
              case_sensitive=False), help="Only sites of this tier (repeatable).")
@click.option("--customer", "customers", multiple=True, metavar="ID",
              help="Only sites of this customer (repeatable).")
@click.option("--verdict", "verdicts", multiple=True,
              type=click.Choice(VERDICTS, case_sensitive=False),
              help="Only sites with this verdict (repeatable).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes checking the sites [default: one per CPU; 1 on Neo4j]. 1: the "
                   "whole network in this process; N > 1: batches of nearby sites (at most "
                   "10,000 each) in N processes, with the same result.")
@store_option
@format_option
def audit(store: GraphStore, fmt: str, tiers: tuple[str, ...], customers: tuple[str, ...],
          verdicts: tuple[str, ...], workers: int | None) -> None:
    """Check every site: one row per site (verdict, failed requirements), then a summary
    per tier."""
    filters = {"tier": tiers or None, "customer": customers or None,
               "verdict": [v.upper() for v in verdicts] or None}
    with gc_paused():  # the CLI process does nothing else meanwhile
        checks = list(audit_store(store, workers=workers or default_workers(store), **filters))
    rows = [c.as_row() for c in checks]
    summary = audit_summary(checks)
    if fmt == "table":
        echo(rows, fmt, AUDIT_COLUMNS)
        click.echo("")
        echo(summary, fmt)
        return
    echo(rows, fmt, AUDIT_COLUMNS, document={"sites": rows, "summary": summary})


COMMANDS = [trace, check_command, audit]
