"""Geography and time-limit commands: ``distance``, ``sla``, ``locate-fault``, ``export``.

Thin: each gathers plain records from the store (GraphStore contract only) and calls the pure
functions of :mod:`inventory.geo`.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from inventory.cli import echo, format_option, store_option
from inventory.errors import InventoryError, NotFound, ValidationError
from inventory.faults import (
    depot_index,
    locate,
    section_records,
    sites_behind,
)
from inventory.geo.crs import GCJ02, WGS84, parse_crs
from inventory.geo.export import (
    cable_features,
    network_features,
    route_features,
    write,
)
from inventory.geo.measure import DepotIndex, distance_band
from inventory.geo.sla import parse_date, recovery_time, sla_profile
from inventory.graph.network import load_site_graph
from inventory.graph.store import GraphStore, Node, Rel
from inventory.graph.trace import trace

# --- gathering from the store --------------------------------------------------------------------


def _get(store: GraphStore, label: str, element_id: str) -> Node:
    node = store.get_node(label, element_id)
    if node is None:
        raise NotFound(label, element_id)
    return node


def _record(node: Node) -> dict[str, Any]:
    return {"label": node.label, "id": node.id, **node.props}


def _tier(store: GraphStore, site: Node) -> str:
    tier = site.props.get("tier")
    if tier:
        return tier
    customer = store.get_node("Customer", site.props.get("customer_id", ""))
    if customer is None or not customer.props.get("tier"):
        raise InventoryError(f"site {site.id!r} has no tier and its customer "
                             f"{site.props.get('customer_id')!r} none either")
    return customer.props["tier"]


def _nearest(index: DepotIndex | None, node: Node) -> tuple[str | None, float | None]:
    lon, lat = node.props.get("lon"), node.props.get("lat")
    if index is None or lon is None or lat is None:
        return None, None
    return index.nearest(lon, lat)


def _site_distance(store: GraphStore, site: Node) -> dict[str, Any]:
    index = depot_index(store)
    depot_id, km = _nearest(index, site)
    depot = store.get_node("MaintenancePoint", depot_id) if depot_id else None
    band = distance_band(km)
    recorded = [r for r in store.neighbourhood([site.key])[1]
                if r.type == "SERVED_BY" and r.start == site.key]
    why = None
    if site.props.get("lon") is None:
        why = "the site has no coordinates"
    elif index is None:
        why = "no maintenance point has coordinates"
    return {
        "site": site.id, "site_name": site.props.get("name"),
        "maintenance_point": depot_id,
        "maintenance_point_name": depot.props.get("name") if depot else None,
        "geodesic_km": band.geodesic_km, "road_factor": band.road_factor,
        "distance_km": band.distance_km, "band_km": band.band_km,
        "band": band.band if band.known else "unknown", "beyond_km": band.beyond_km,
        "travel_hours": band.travel_hours,
        "recorded_maintenance_point": recorded[0].end[1] if recorded else None,
        "recorded_km": recorded[0].props.get("distance_km") if recorded else None,
        "note": why,
    }


# --- commands ------------------------------------------------------------------------------------

@click.command("distance")
@click.argument("site")
@store_option
@format_option
def distance_command(store: GraphStore, site: str, fmt: str) -> None:
    """Distance from SITE to its nearest maintenance point (维护点), and its §3 band.

    Geodesic on the WGS84 ellipsoid, times the policy's road factor; within or beyond the
    band (50 km) that picks the column of the time-limit tables.
    """
    row = _site_distance(store, _get(store, "Site", site))
    echo([row], fmt)


@click.command("sla")
@click.argument("site")
@click.option("--requested", help="Request date (YYYY-MM-DD) for the due dates; default today.")
@click.option("--cable-cut", is_flag=True, help="The fault is a fiber cable cut (+3 h).")
@click.option("--fault-start", help="Fault start (YYYY-MM-DDTHH:MM) for recovery deadlines.")
@store_option
@format_option
def sla_command(store: GraphStore, site: str, requested: str | None, cable_cut: bool,
                fault_start: str | None, fmt: str) -> None:
    """The SLA profile of SITE: due dates in working days (national calendar), fault recovery
    limit and target, outage budget, feedback, reports and inspections (domain-rules §3-§4)."""
    node = _get(store, "Site", site)
    tier = _tier(store, node)
    distance = _site_distance(store, node)
    day = parse_date(requested) if requested else _dt.date.today()
    start = _parse_datetime(fault_start) if fault_start else None
    profile = sla_profile(tier, distance["geodesic_km"], day, cable_cut=cable_cut,
                          fault_start=start, strict=False)
    for note in profile.notes:
        click.echo(f"note: {note}", err=True)
    document = {"site": node.id, "site_name": node.props.get("name"),
                "maintenance_point": distance["maintenance_point"], **profile.as_dict()}
    rows = [{"item": "site", "value": node.id},
            {"item": "maintenance_point", "value": distance["maintenance_point"]},
            *profile.as_rows()]
    echo(rows, fmt, ["item", "value"], document=document)


def _parse_datetime(text: str) -> _dt.datetime:
    try:
        return _dt.datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise ValidationError("fault-start", text, "expected YYYY-MM-DDTHH:MM") from None


@click.command("locate-fault")
@click.argument("cable")
@click.option("--from", "from_id", required=True, metavar="NODE",
              help="Where the OTDR was connected: the id of one end of the cable.")
@click.option("--distance", "measured", required=True,
              help="Measured fiber distance: 12.35km, 12350m or 12350 (metres).")
@click.option("--slack", type=float, default=None,
              help="Fiber/route ratio (default: policy [otdr] slack_factor).")
@click.option("--fault-start", help="Fault start (YYYY-MM-DDTHH:MM); default now.")
@store_option
@format_option
def locate_fault_command(store: GraphStore, cable: str, from_id: str, measured: str,
                         slack: float | None, fault_start: str | None, fmt: str) -> None:
    """Where on the map an OTDR reading on CABLE puts the break, the nearest closures and
    manholes on either side, the nearest maintenance point, and every customer site behind it
    with its recovery deadline (cable cut: +3 h)."""
    sections, location = locate(store, cable, from_id, measured, slack=slack)
    start = _parse_datetime(fault_start) if fault_start else _dt.datetime.now().replace(
        second=0, microsecond=0)
    depot_km = location.maintenance_point["distance_km"] if location.maintenance_point else None
    sites, how = sites_behind(store, sections, location)
    affected = []
    for site, status, lost in sites:
        try:
            tier = _tier(store, site)
        except InventoryError:
            tier = None
        row = {"site": site.id, "name": site.props.get("name"),
               "customer_id": site.props.get("customer_id"), "tier": tier, "status": status,
               "lost": lost}
        if tier:
            rec = recovery_time(tier, depot_km, cable_cut=True, fault_start=start)
            row.update(limit_hours=rec.total_limit_hours, deadline=rec.as_dict()["deadline"],
                       target_hours=rec.total_target_hours,
                       target_deadline=rec.as_dict()["target_deadline"])
        affected.append(row)
    order = {"GOLD": 0, "SILVER": 1, "BRONZE": 2, "STANDARD": 3}
    rank = {"DOWN": 0, "DEGRADED": 1}
    affected.sort(key=lambda r: (rank.get(r["status"], 2), r.get("deadline") or "9999",
                                 order.get(r["tier"], 9), r["site"]))
    doc = {"cable": cable, **location.as_dict(), "fault_start": start.isoformat(),
           "sites_rule": how, "sites": affected}
    if fmt == "json":
        echo([], fmt, document=doc)
        return
    if fmt == "csv":
        echo([{"cable": cable, "fault_lon": f"{location.lon:.7f}",
               "fault_lat": f"{location.lat:.7f}",
               "section": location.section_id, **row} for row in affected], fmt,
             ["cable", "fault_lon", "fault_lat", "section", "site", "name", "customer_id",
              "tier", "status", "lost", "limit_hours", "deadline", "target_hours", "target_deadline"])
        return
    summary = [
        {"item": "fault point (lon, lat)", "value": f"{location.lon:.6f}, {location.lat:.6f}"},
        {"item": "measured fiber m", "value": location.measured_m},
        {"item": "slack factor", "value": location.slack_factor},
        {"item": "route m from instrument", "value": location.route_m},
        {"item": "section", "value": f"{location.section_id} ({location.section_from} -> "
                                     f"{location.section_to}), {location.offset_m} m in"},
        {"item": "nearest point before", "value": _describe(location.before)},
        {"item": "nearest point after", "value": _describe(location.after)},
        {"item": "maintenance point", "value": (
            f"{location.maintenance_point['id']} ({location.maintenance_point['distance_km']} km)"
            if location.maintenance_point else None)},
        {"item": "beyond far end", "value": location.beyond_end},
        {"item": "sites behind", "value": f"{len(affected)} ({how})"},
    ]
    echo(summary, fmt, ["item", "value"])
    if affected:
        click.echo()
        echo(affected, fmt, ["site", "name", "tier", "status", "lost", "limit_hours",
                             "deadline", "target_hours", "target_deadline"])


def _describe(point: dict[str, Any] | None) -> str | None:
    if not point:
        return None
    return (f"{point['id']} {point.get('kind') or point.get('label') or ''} "
            f"{point.get('name') or ''}: {point['route_m']} m route / {point['fiber_m']} m fiber"
            ).replace("  ", " ")


# --- export --------------------------------------------------------------------------------------

def _site_features(store: GraphStore, site_id: str) -> list[dict[str, Any]]:
    """The site's traced routes (route A, route B, shared risk, handover points) and its
    maintenance point."""
    site = _get(store, "Site", site_id)
    index = depot_index(store)
    depot_id, km = _nearest(index, site)
    depot = None
    if depot_id:
        depot = {**_record(store.get_node("MaintenancePoint", depot_id)), "distance_km": km}
    result = trace(load_site_graph(store, site_id), site_id)
    routes = [r.as_dict() for r in result.routes]
    routes += [{**r.as_dict(), "name": f"uplink {r.name}"} for r in result.uplinks]
    return route_features(routes, site=_record(site), maintenance_point=depot)


def _network_features(store: GraphStore, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    nodes = (_record(n) for label in ("MaintenancePoint", "Room", "Point", "Site")
             for n in store.iter_nodes(label))

    def sections() -> Iterator[dict[str, Any]]:
        batch: list[Rel] = []
        for rel in store.iter_rels("SEGMENT"):
            batch.append(rel)
            if len(batch) >= chunk:
                yield from section_records(store, batch)
                batch = []
        if batch:
            yield from section_records(store, batch)

    yield from network_features(nodes, sections())


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "kml"]), default="geojson",
              show_default=True)
@click.option("--site", "site_id", help="Only this site: its devices and nearby cable sections.")
@click.option("--cable", "cable_id", help="Only this cable: its sections and their ends.")
@click.option("--crs", default="wgs84", show_default=True,
              help="wgs84 (RFC 7946, Google Earth) or gcj02 (奥维互动地图 / Ovital).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@store_option
def export_command(store: GraphStore, fmt: str, site_id: str | None, cable_id: str | None,
                   crs: str, output: Path | None) -> None:
    """Export a site, a cable or the whole network as GeoJSON or KML."""
    if site_id and cable_id:
        raise click.UsageError("give --site or --cable, not both")
    crs = parse_crs(crs)
    if crs not in (WGS84, GCJ02):
        raise ValidationError("crs", crs, "exports are wgs84 or gcj02")
    if site_id:
        features: Iterable[dict[str, Any]] = _site_features(store, site_id)
        name = f"site {site_id}"
    elif cable_id:
        rels = store.find_rels("SEGMENT", cable_id=cable_id)
        cable = store.get_node("Cable", cable_id)
        if not rels and cable is None:
            raise NotFound("Cable", cable_id)
        features = list(cable_features(section_records(store, rels),
                                       {"id": cable_id, **(cable.props if cable else {})}))
        name = f"cable {cable_id}"
    else:
        features = _network_features(store)
        name = "network"
    if output is None:
        count = write(features, sys.stdout, fmt, crs, name)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="\n") as handle:
            count = write(features, handle, fmt, crs, name)
        click.echo(f"wrote {count} features to {output}", err=True)


COMMANDS = [distance_command, sla_command, locate_fault_command, export_command]
