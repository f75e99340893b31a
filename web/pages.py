"""What each page shows, as plain dicts: the HTML page and its ``/api/`` twin share these.

Only the GraphStore contract and the analysis / geo libraries are used here (no query
language). Whole-network reads (search index, map index, audit) are cached per app
(:mod:`web.cache`).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from flask import abort

from inventory import faults, report
from inventory.geo import export, measure
from inventory.geo.sla import sla_profile
from inventory.graph import compliance, impact, network, trace
from inventory.graph.store import GraphStore, Node, Rel
from inventory.model import LABELS, Tier, tier_policy
from web import cache
from web.extensions import get_store
from web.jsonutil import plain
from web.links import element_url

#: element kinds that have an element page, and the store label (or rel type) behind each
ELEMENT_KINDS = ("Equipment", "Room", "Point", "Cable", "Duct", "MaintenancePoint", "Circuit",
                 "SEGMENT")
MAX_SEARCH_RESULTS = 50


# --- records ---------------------------------------------------------------------------------

def node_dict(node: Node | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {"label": node.label, "id": node.id, **node.props}


def rel_dict(rel: Rel) -> dict[str, Any]:
    return {"type": rel.type, "id": rel.id, "start": {"label": rel.start[0], "id": rel.start[1]},
            "end": {"label": rel.end[0], "id": rel.end[1]}, **rel.props}


def get_node_or_404(label: str, element_id: str, store: GraphStore | None = None) -> Node:
    if label not in LABELS:
        abort(404)
    node = (store or get_store()).get_node(label, element_id)
    if node is None:
        abort(404, description=f"{label} {element_id!r} not found")
    return node


def get_customer_or_404(customer_id: str) -> Node:
    return get_node_or_404("Customer", customer_id)


def get_site_or_404(site_id: str) -> Node:
    return get_node_or_404("Site", site_id)


def site_tier(site: Node, customer: Node | None) -> str | None:
    tier = site.props.get("tier") or (customer.props.get("tier") if customer else None)
    return Tier.parse(tier).value if tier else None


# --- whole-network indexes (cached) -----------------------------------------------------------

def _search_index() -> list[tuple[str, str, str, str, str]]:
    """(label, id, name, detail, haystack) of customers, sites and circuits."""
    store = get_store()
    rows: list[tuple[str, str, str, str, str]] = []
    customers: dict[str, str] = {}
    for node in store.iter_nodes("Customer"):
        name = node.props.get("name", "")
        customers[node.id] = name
        detail = node.props.get("address", "")
        rows.append(("Customer", node.id, name, detail,
                     " ".join([node.id, name, detail, node.props.get("contact", ""),
                               node.props.get("account_manager", "")]).casefold()))
    for node in store.iter_nodes("Site"):
        name = node.props.get("name", "")
        detail = node.props.get("address", "")
        owner = customers.get(node.props.get("customer_id", ""), "")
        rows.append(("Site", node.id, name, detail,
                     " ".join([node.id, name, detail, owner,
                               node.props.get("district", "")]).casefold()))
    for node in store.iter_nodes("Circuit"):
        name = node.props.get("name", "")
        owner = customers.get(node.props.get("customer_id", ""), "")
        rows.append(("Circuit", node.id, name, owner, f"{node.id} {name}".casefold()))
    return rows


def search(query: str, limit: int = MAX_SEARCH_RESULTS) -> dict[str, Any]:
    """Customers, sites, circuits by id, name or address (substring, any case); any element
    by its exact id."""
    query = " ".join((query or "").split())[:200]
    if not query:
        return {"query": "", "results": [], "truncated": False}
    store = get_store()
    results: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(label: str, element_id: str, name: str, detail: str, rank: int) -> None:
        if (label, element_id) in seen:
            return
        seen.add((label, element_id))
        results.append({"kind": label, "id": element_id, "name": name, "detail": detail,
                        "url": element_url(label, element_id), "rank": rank})

    for label in LABELS:  # exact id, every label
        node = store.get_node(label, query)
        if node is not None:
            add(label, node.id, node.props.get("name", ""),
                node.props.get("address", "") or node.props.get("type", ""), 0)
    section = store.get_rel("SEGMENT", query)
    if section is not None:
        add("SEGMENT", section.id, section.props.get("name", ""),
            section.props.get("cable_id", ""), 0)
    needle = query.casefold()
    words = needle.split()
    matches = []
    for label, element_id, name, detail, haystack in cache.cached("search_index",
                                                                  _search_index):
        if all(w in haystack for w in words):
            rank = 1 if element_id.casefold() == needle or name.casefold() == needle else \
                2 if name.casefold().startswith(needle) or element_id.casefold().startswith(
                    needle) else 3
            matches.append((rank, label, element_id, name, detail))
            if len(matches) > 20 * limit:
                break
    order = {"Customer": 0, "Site": 1, "Circuit": 2}
    for rank, label, element_id, name, detail in sorted(
            matches, key=lambda m: (m[0], order.get(m[1], 9), m[3], m[2])):
        add(label, element_id, name, detail, rank)
    truncated = len(results) > limit
    for row in results:
        row.pop("rank", None)
    return {"query": query, "results": results[:limit], "truncated": truncated}


def _site_points() -> dict[str, Any]:
    """Every site with coordinates: parallel lists for the map (numpy for the bbox test)."""
    import numpy as np

    store = get_store()
    customers = {n.id: (n.props.get("name", ""), n.props.get("tier"))
                 for n in store.iter_nodes("Customer")}
    ids, names, tiers, owners, lons, lats = [], [], [], [], [], []
    for node in store.iter_nodes("Site"):
        lon, lat = node.props.get("lon"), node.props.get("lat")
        if lon is None or lat is None:
            continue
        owner, owner_tier = customers.get(node.props.get("customer_id", ""), ("", None))
        ids.append(node.id)
        names.append(node.props.get("name", ""))
        tiers.append(node.props.get("tier") or owner_tier or "")
        owners.append(owner)
        lons.append(float(lon))
        lats.append(float(lat))
    return {"ids": ids, "names": names, "tiers": tiers, "customers": owners,
            "lon": np.array(lons, dtype=float), "lat": np.array(lats, dtype=float)}


def network_bounds() -> list[float] | None:
    points = cache.cached("site_points", _site_points)
    if not len(points["lon"]):
        return None
    return [float(points["lon"].min()), float(points["lat"].min()),
            float(points["lon"].max()), float(points["lat"].max())]


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        abort(400, description="bbox is west,south,east,north in degrees")
    if not all(math.isfinite(v) for v in (west, south, east, north)) or south > north \
            or not (-90 <= south <= 90 and -90 <= north <= 90):
        abort(400, description="bbox is west,south,east,north in degrees")
    return west, south, east, north


def sites_geojson(bbox: tuple[float, float, float, float] | None, max_points: int,
                  grid: int = 24) -> dict[str, Any]:
    """Sites in the box as points, or — when more than ``max_points`` — grid clusters
    (``properties.cluster``, ``count``) at the mean position of their sites."""
    import numpy as np

    points = cache.cached("site_points", _site_points)
    lon, lat = points["lon"], points["lat"]
    if bbox is None:
        mask = np.ones(len(lon), dtype=bool)
        west, south, east, north = (network_bounds() or [0, 0, 0, 0])
    else:
        west, south, east, north = bbox
        if east - west >= 360:
            in_lon = np.ones(len(lon), dtype=bool)
        elif west <= east:
            in_lon = (lon >= west) & (lon <= east)
        else:  # crossing the antimeridian
            in_lon = (lon >= west) | (lon <= east)
        mask = in_lon & (lat >= south) & (lat <= north)
    index = np.nonzero(mask)[0]
    features: list[dict[str, Any]] = []
    if len(index) <= max_points:
        for i in index.tolist():
            features.append({"type": "Feature",
                             "geometry": {"type": "Point",
                                          "coordinates": [float(lon[i]), float(lat[i])]},
                             "properties": {"id": points["ids"][i], "name": points["names"][i],
                                            "tier": points["tiers"][i],
                                            "customer": points["customers"][i]}})
        clustered = False
    else:
        width = max(east - west, 1e-9) if west <= east else (east + 360 - west)
        height = max(north - south, 1e-9)
        cx = np.clip(((lon[index] - west) % 360 / width * grid).astype(int), 0, grid - 1)
        cy = np.clip(((lat[index] - south) / height * grid).astype(int), 0, grid - 1)
        cell = cx * grid + cy
        counts = np.bincount(cell, minlength=grid * grid)
        sum_lon = np.bincount(cell, weights=lon[index], minlength=grid * grid)
        sum_lat = np.bincount(cell, weights=lat[index], minlength=grid * grid)
        for c in np.nonzero(counts)[0].tolist():
            n = int(counts[c])
            features.append({"type": "Feature",
                             "geometry": {"type": "Point",
                                          "coordinates": [float(sum_lon[c] / n),
                                                          float(sum_lat[c] / n)]},
                             "properties": {"cluster": True, "count": n}})
        clustered = True
    return {"type": "FeatureCollection", "features": features, "total_in_view": len(index),
            "clustered": clustered}


# --- customers -------------------------------------------------------------------------------

def customer_page(customer_id: str) -> dict[str, Any]:
    store = get_store()
    customer = get_customer_or_404(customer_id)
    sites = store.find_nodes("Site", customer_id=customer_id)
    circuits = store.find_nodes("Circuit", customer_id=customer_id)
    tier = customer.props.get("tier")
    rows = []
    verdicts = site_verdicts([s.id for s in sites])
    for site in sites:
        row = node_dict(site)
        row["tier"] = site_tier(site, customer)
        verdict = verdicts.get(site.id)
        if verdict is not None:
            row["verdict"] = verdict.get("verdict")
            row["failed"] = verdict.get("failed", [])
        rows.append(row)
    return {"customer": node_dict(customer), "tier": tier, "sites": rows,
            "circuits": [node_dict(c) for c in circuits]}


# --- elements --------------------------------------------------------------------------------

def element_page(kind: str, element_id: str, with_impact: bool = False) -> dict[str, Any]:
    """Where an element is, what runs through it and (``with_impact``) what its failure
    would cut."""
    if kind not in ELEMENT_KINDS:
        abort(404)
    store = get_store()
    data: dict[str, Any] = {"kind": kind, "id": element_id}
    sections: list[Rel] = []
    if kind == "SEGMENT":
        rel = store.get_rel("SEGMENT", element_id)
        if rel is None:
            abort(404, description=f"cable section {element_id!r} not found")
        data["element"] = rel_dict(rel)
        ends = [store.get_node(*rel.start), store.get_node(*rel.end)]
        data["ends"] = [node_dict(n) for n in ends if n is not None]
        sections = [rel]
        data["location"] = None
    else:
        node = get_node_or_404(kind, element_id, store)
        data["element"] = node_dict(node)
        if kind == "Cable":
            sections = store.find_rels("SEGMENT", cable_id=element_id)
        elif kind == "Duct":
            sections = store.find_rels("SEGMENT", duct_ids=element_id)
        elif kind == "Circuit":
            data["customer"] = node_dict(store.get_node("Customer",
                                                        node.props.get("customer_id", "")))
            data["ends"] = circuit_ends(node)
        else:
            nodes, rels = store.neighbourhood([node.key])
            by_key = {n.key: n for n in nodes}
            located = [r for r in rels if r.type == "LOCATED_AT"]
            data["location"] = None
            data["installed"] = []
            for rel in located:
                if rel.start == node.key:
                    data["location"] = node_dict(by_key.get(rel.end))
                else:
                    data["installed"].append(node_dict(by_key.get(rel.start)))
            sections = [r for r in rels if r.type == "SEGMENT"]
            data["patches"] = [
                {"id": r.id, "other": node_dict(by_key.get(r.end if r.start == node.key
                                                          else r.start)), **r.props}
                for r in rels if r.type == "PATCH"]
            data["circuits"] = [node_dict(by_key.get(r.start)) for r in rels
                                if r.type == "TERMINATES_AT"]
            data["served"] = [
                {"site": node_dict(by_key.get(r.start)), "distance_km": r.props.get(
                    "distance_km")} for r in rels if r.type == "SERVED_BY"][:500]
    if len(sections) > MAX_SECTIONS:
        data["sections_truncated"] = len(sections)
        sections = sections[:MAX_SECTIONS]
    data["sections"] = section_rows(store, sections)
    data["position_labels"] = _positions(store, data)
    if with_impact and kind != "Circuit" and kind != "MaintenancePoint":
        data["impact"] = element_impact(kind, element_id)
    return data


MAX_SECTIONS = 2000


def _positions(store: GraphStore, data: dict[str, Any]) -> dict[str, tuple]:
    """"Label:id" → (lon, lat, label, name) of the element, its location and section ends."""
    wanted: dict[str, set[str]] = {}
    element = data.get("element") or {}
    if element.get("label"):
        wanted.setdefault(element["label"], set()).add(element["id"])
    for row in data.get("sections", []):
        for end in (row["from"], row["to"]):
            wanted.setdefault(end["label"], set()).add(end["id"])
    location = data.get("location")
    out: dict[str, tuple] = {}
    if location and location.get("lon") is not None:
        out[f"{location['label']}:{location['id']}"] = (
            location["lon"], location["lat"], location["label"], location.get("name"))
    equipment: list[str] = []
    for label, ids in wanted.items():
        if label not in LABELS:
            continue
        for node in store.get_nodes(label, ids).values():
            if node.props.get("lon") is not None and node.props.get("lat") is not None:
                out[f"{label}:{node.id}"] = (node.props["lon"], node.props["lat"], label,
                                             node.props.get("name"))
            elif label == "Equipment":
                equipment.append(node.id)
    if equipment:  # a device is drawn where it is installed
        nodes, rels = store.neighbourhood([("Equipment", e) for e in equipment[:500]])
        by_key = {n.key: n for n in nodes}
        for rel in rels:
            place = by_key.get(rel.end)
            if rel.type == "LOCATED_AT" and place is not None and \
                    place.props.get("lon") is not None:
                out[f"Equipment:{rel.start[1]}"] = (place.props["lon"], place.props["lat"],
                                                    "Equipment", rel.start[1])
    data["positions"] = {k: (v[0], v[1]) for k, v in out.items()}
    return out


def element_impact(kind: str, element_id: str) -> dict[str, Any] | None:
    """What the failure of this element takes DOWN or DEGRADES (inventory.graph.impact)."""
    G = network_graph()
    circuits = cache.cached("circuits_by_site", lambda: impact.circuits_by_site(get_store()))
    depots = cache.cached("depots", _depots)
    result = impact.fault_impact(G, [(kind, element_id)], circuits=circuits, depots=depots)
    data = plain(result.as_dict())
    data["down"] = [s for s in data.get("sites", []) if s.get("status") == "DOWN"]
    data["degraded"] = [s for s in data.get("sites", []) if s.get("status") == "DEGRADED"]
    return data


def section_rows(store: GraphStore, sections: list[Rel]) -> list[dict[str, Any]]:
    keys = {k for r in sections for k in (r.start, r.end)}
    names: dict[tuple[str, str], str] = {}
    by_label: dict[str, list[str]] = {}
    for label, element_id in keys:
        by_label.setdefault(label, []).append(element_id)
    for label, ids in by_label.items():
        for node in store.get_nodes(label, ids).values():
            names[node.key] = node.props.get("name", node.id)
    rows = []
    for rel in sorted(sections, key=lambda r: r.id):
        rows.append({"id": rel.id, "name": rel.props.get("name"),
                     "from": {"label": rel.start[0], "id": rel.start[1],
                              "name": names.get(rel.start, rel.start[1])},
                     "to": {"label": rel.end[0], "id": rel.end[1],
                            "name": names.get(rel.end, rel.end[1])},
                     "cable_id": rel.props.get("cable_id"),
                     "fiber_count": rel.props.get("fiber_count"),
                     "cores_used": rel.props.get("cores_used"),
                     "length_m": rel.props.get("length_m"),
                     "laying": rel.props.get("laying"),
                     "duct_ids": rel.props.get("duct_ids", []),
                     "geometry": rel.props.get("geometry"),
                     "status": rel.props.get("status")})
    return rows


def circuit_ends(circuit: Node) -> list[dict[str, Any]]:
    return [dict(e) for e in report.circuit_ends(get_store(), circuit)]


# --- maintenance point and distance ---------------------------------------------------------

def _depots() -> list[tuple[str, float, float]]:
    return faults.depots(get_store())


def maintenance_point(site: Node, around: tuple[list[Node], list[Rel]] | None = None
                      ) -> dict[str, Any] | None:
    """The site's maintenance point (SERVED_BY, else the nearest), with distance and band.
    ``around``: the site's neighbourhood, when the caller has read it already."""
    store = get_store()
    mp_node, distance = None, None
    nodes, rels = around or store.neighbourhood([site.key])
    by_key = {n.key: n for n in nodes}
    for rel in rels:
        if rel.type == "SERVED_BY" and rel.start == site.key:
            mp_node = by_key.get(rel.end)
            distance = rel.props.get("distance_km")
            break
    lon, lat = site.props.get("lon"), site.props.get("lat")
    if mp_node is None and lon is not None:
        depots = cache.cached("depots", _depots)
        if depots:
            depot_id, distance = measure.DepotIndex(depots).nearest(lon, lat)
            mp_node = store.get_node("MaintenancePoint", depot_id)
    if mp_node is not None and distance is None and lon is not None \
            and mp_node.props.get("lon") is not None:
        distance = measure.distance_km(mp_node.props["lon"], mp_node.props["lat"], lon, lat)
    if mp_node is None:
        return None
    return {**node_dict(mp_node), "distance_km": distance,
            "band": measure.distance_band(distance).as_dict()}


def sla(tier: str | None, distance_km: float | None,
        requested: _dt.date | None = None) -> dict[str, Any] | None:
    if not tier:
        return None
    try:
        profile = sla_profile(tier, distance_km, requested=requested or _dt.date.today(),
                              strict=False)
    except Exception as exc:
        return {"error": str(exc)}
    return profile.as_dict()


def tier_requirements(tier: str | None) -> dict[str, Any] | None:
    if not tier:
        return None
    policy = tier_policy(tier)
    return {"tier": policy.tier, "label_zh": policy.label_zh,
            "access_nodes": policy.access_nodes, "customer_devices": policy.customer_devices,
            "routes": policy.routes, "ring": policy.ring, "monitored": policy.monitored}


# --- dashboard -------------------------------------------------------------------------------

def dashboard() -> dict[str, Any]:
    store = get_store()
    return {"nodes": store.count_nodes(), "relationships": store.count_rels(),
            "audit": audit_summary()}


# --- the site card ---------------------------------------------------------------------------

def site_analysis(site_id: str) -> dict[str, Any]:
    """Routes, verdict, single points of failure and shared risks of one site."""
    G = network.load_site_graph(get_store(), site_id)
    analysed = trace.analyse_site(G, site_id)
    checked = compliance.check_from(analysed).as_dict()
    spofs = [{**s, "label": KIND_LABEL.get(s.get("kind"), "")}
             for s in checked.pop("spofs", None) or []]
    shared = checked.pop("shared", [])
    traced = trace.trace_from(analysed).as_dict()
    traced["shared"] = traced.get("shared") or shared
    return {"check": checked, "spof": spofs, "trace": traced}


#: route-step / element kinds → store label (SEGMENT for a cable section)
KIND_LABEL = {"device": "Equipment", "room": "Room", "point": "Point", "site": "Site",
              "section": "SEGMENT", "cable": "Cable", "duct": "Duct"}


def segment_table(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The route diagram as rows: one per cable section, from and to its neighbours."""
    rows = []
    for route in routes:
        steps = route.get("steps", [])
        for i, step in enumerate(steps):
            if step.get("kind") != "section":
                continue
            before = next((s for s in reversed(steps[:i]) if s.get("kind") != "section"), None)
            after = next((s for s in steps[i + 1:] if s.get("kind") != "section"), None)
            rows.append({"route": route.get("name"), "id": step.get("id"),
                         "name": step.get("name"),
                         "from": _step_ref(before), "to": _step_ref(after),
                         "cable_id": step.get("cable_id"), "cable_name": step.get("cable_name"),
                         "cable_level": step.get("cable_level"),
                         "fiber_count": step.get("fiber_count"),
                         "cores_used": step.get("cores_used"), "length_m": step.get("length_m"),
                         "laying": step.get("laying"), "duct_ids": step.get("duct_ids") or [],
                         "maintainer": step.get("maintainer"),
                         "boundary": bool(step.get("boundary")),
                         "shared": bool(step.get("shared"))})
    return rows


_STEP_LABEL = {"device": "Equipment", "room": "Room", "point": "Point", "site": "Site",
               "section": "SEGMENT"}


def _step_ref(step: dict[str, Any] | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"kind": step.get("kind"), "label": _STEP_LABEL.get(step.get("kind"), ""),
            "id": step.get("id"), "name": step.get("name") or step.get("id"),
            "boundary": bool(step.get("boundary"))}


def site_page(site_id: str, requested: str | None = None) -> dict[str, Any]:
    store = get_store()
    site = get_site_or_404(site_id)
    customer = store.get_node("Customer", site.props.get("customer_id", ""))
    tier = site_tier(site, customer)
    around = store.neighbourhood([site.key])  # read once: maintenance point and devices
    mp = maintenance_point(site, around)
    request_date = None
    if requested:
        try:
            request_date = _dt.date.fromisoformat(requested)
        except ValueError:
            abort(400, description="requested is a date YYYY-MM-DD")
    data: dict[str, Any] = {
        "site": node_dict(site), "customer": node_dict(customer), "tier": tier,
        "requirements": tier_requirements(tier), "maintenance_point": mp,
        "sla": sla(tier, mp.get("distance_km") if mp else None, request_date),
        "circuits": [node_dict(c) for c in circuits_of_site(site)],
        "devices": [node_dict(d) for d in devices_at(site, around)],
    }
    analysis = site_analysis(site_id)
    data.update(analysis)
    data["segments"] = segment_table(analysis["trace"].get("routes", []))
    data["uplink_segments"] = segment_table(analysis["trace"].get("uplinks", []))
    return data


def circuits_of_site(site: Node) -> list[Node]:
    customer_id = site.props.get("customer_id", "")
    if not customer_id:
        return []
    found = []
    for circuit in get_store().find_nodes("Circuit", customer_id=customer_id):
        p = circuit.props
        if site.id in (p.get("site_id"), p.get("a_end"), p.get("z_end")):
            found.append(circuit)
    return found


def devices_at(site: Node, around: tuple[list[Node], list[Rel]] | None = None) -> list[Node]:
    nodes, rels = around or get_store().neighbourhood([site.key])
    by_key = {n.key: n for n in nodes}
    return [by_key[r.start] for r in rels
            if r.type == "LOCATED_AT" and r.end == site.key and r.start in by_key]


def site_export(site_id: str, fmt: str, crs: str) -> str:
    data = site_page(site_id)
    routes = data["trace"].get("routes", [])
    mp = data["maintenance_point"]
    features = export.route_features(routes, data["site"], mp)
    name = f"{data['site'].get('name') or site_id}"
    crs_name = "GCJ02" if crs == "gcj02" else "WGS84"
    if fmt == "geojson":
        return export.geojson_text(features, crs=crs_name, name=name)
    return export.kml_text(features, crs=crs_name, name=name)


def download_name(name: str) -> str:
    """A filename safe in a Content-Disposition header (ASCII, no quotes or slashes)."""
    import re

    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "download"
    return cleaned[:120]


# --- fault location --------------------------------------------------------------------------

def fault_location(cable: str, from_id: str, measured: str, slack: float | None = None,
                   fault_start: _dt.datetime | None = None) -> dict[str, Any]:
    """An OTDR reading → the point on the map, the nearest closures and manholes, the
    maintenance point, and the customer sites behind the break with their deadlines.

    Uses :mod:`inventory.faults`, as ``inventory locate-fault`` does, so both give the same
    location and the same affected sites.
    """
    store = get_store()
    index = cache.cached("depot_index", lambda: faults.depot_index(store))
    sections, location = faults.locate(store, cable, from_id, measured, slack=slack,
                                       depots=index)
    start = fault_start or _dt.datetime.now().replace(second=0, microsecond=0)
    affected, how = _fault_impact_rows(location, start)
    result = {"cable": cable, "from": from_id, **location.as_dict(),
              "fault_start": start.isoformat(), "sites_rule": how, "sites": affected,
              "sections": sections}
    if result.get("maintenance_point") and result["maintenance_point"].get("lon") is None:
        mp = store.get_node("MaintenancePoint", result["maintenance_point"].get("id", ""))
        if mp is not None:
            result["maintenance_point"] = {**node_dict(mp), **result["maintenance_point"],
                                           "lon": mp.props.get("lon"),
                                           "lat": mp.props.get("lat")}
    return plain_result(result)


def _fault_impact_rows(location: Any, start: _dt.datetime) -> tuple[list[dict], str]:
    """The sites the cut section takes DOWN or DEGRADES (inventory.faults.section_impact),
    with their recovery deadlines from the fault start."""
    store = get_store()
    circuits = cache.cached("circuits_by_site", lambda: impact.circuits_by_site(store))
    result = faults.section_impact(store, location, G=network_graph(), circuits=circuits,
                                   depots=cache.cached("depots", _depots), fault_start=start)
    rows = []
    for site in result.sites:
        row = plain(site.as_dict())
        rows.append({"site": row["site_id"], "name": row.get("site_name"),
                     "customer_id": row.get("customer_id"),
                     "customer": row.get("customer_name") or row.get("customer"),
                     "contact": row.get("contact"), "phone": row.get("phone"),
                     "account_manager": row.get("account_manager"),
                     "tier": row.get("tier"), "status": row.get("status"),
                     "circuits": row.get("circuits", []),
                     "limit_hours": row.get("recovery_limit_h") or row.get(
                         "recovery_limit_hours"),
                     "deadline": row.get("deadline"), "feedback": row.get("feedback")})
    return rows, ("sites whose routes run through the cut section: DOWN (no route left) "
                  "or DEGRADED (tier no longer met)")


def plain_result(value: Any) -> Any:
    return plain(value)


# --- audit -----------------------------------------------------------------------------------

AUDIT_COLUMNS = ["site_id", "site_name", "customer_id", "customer", "tier", "district",
                 "verdict", "failed"]
AUDIT_PAGE_SIZE = 200
VERDICTS = ("COMPLIANT", "NON_COMPLIANT", "INCOMPLETE")


def audit_filters(args: Any) -> dict[str, Any]:
    tier = (args.get("tier") or "").strip().upper() or None
    verdict = (args.get("verdict") or "").strip().upper() or None
    district = (args.get("district") or "").strip()[:100] or None
    if tier and tier not in {t.value for t in Tier}:
        abort(400, description="tier is GOLD, SILVER, BRONZE or STANDARD")
    if verdict and verdict not in VERDICTS:
        abort(400, description="verdict is COMPLIANT, NON_COMPLIANT or INCOMPLETE")
    try:
        page = max(1, int(args.get("page") or 1))
    except ValueError:
        abort(400, description="page is a whole number")
    return {"tier": tier, "verdict": verdict, "district": district, "page": min(page, 100_000)}


def network_graph() -> Any:
    """The analysis graph of the whole network, cached (audit and fault impact share it)."""
    return cache.cached("network", lambda: network.load_network(get_store()))


def audit_rows() -> list[dict[str, Any]]:
    """One row per site: verdict and failed requirements (cached with the network)."""
    G = network_graph()
    store = get_store()
    sites = {n.id: n for n in store.iter_nodes("Site")}
    customers = {n.id: n.props.get("name") for n in store.iter_nodes("Customer")}
    rows = []
    for check in compliance.audit(G):
        row = check.as_row()
        site = sites.get(row["site_id"])
        failed = list(row.get("failed") or [])
        rows.append({"site_id": row["site_id"], "site_name": row.get("site_name"),
                     "customer_id": row.get("customer_id"),
                     "customer": customers.get(row.get("customer_id") or ""),
                     "tier": row.get("tier"),
                     "district": site.props.get("district") if site else None,
                     "verdict": row.get("verdict"), "failed": ", ".join(failed),
                     "failed_list": failed})
    return rows


def site_verdicts(site_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{site id: {"verdict", "failed"}}: from the cached audit when it is there, else the
    sites are checked on their own neighbourhood (a customer has few sites)."""
    if not site_ids:
        return {}
    rows = cache.peek("audit_rows")
    if rows is not None:
        wanted = set(site_ids)
        return {r["site_id"]: {"verdict": r["verdict"], "failed": r["failed_list"]}
                for r in rows if r["site_id"] in wanted}
    ids = site_ids[:200]
    G = network.load_site_graph(get_store(), ids)
    out = {}
    for site_id in ids:
        check = compliance.check(G, site_id, spofs=False)
        out[site_id] = {"verdict": check.verdict, "failed": list(check.failed)}
    return out


def current_audit() -> list[dict[str, Any]] | None:
    """The audit rows; computed in the request for a network of at most
    ``AUDIT_SYNC_MAX_SITES`` sites, else in the background (None until ready)."""
    from flask import current_app

    rows = cache.peek("audit_rows")
    if rows is not None:
        return rows
    if get_store().count_nodes().get("Site", 0) <= current_app.config.get(
            "AUDIT_SYNC_MAX_SITES", 5000):
        return cache.cached("audit_rows", audit_rows)
    return cache.background("audit_rows", audit_rows)


def audit_summary() -> dict[str, Any]:
    rows = current_audit()
    if rows is None:
        return {"computing": True, "per_tier": {}, "worst": [], "sites": None}
    tiers: dict[str, dict[str, int]] = {t.value: {v: 0 for v in VERDICTS}
                                        for t in reversed(list(Tier))}
    for row in rows:
        if row.get("tier") in tiers and row.get("verdict") in VERDICTS:
            tiers[row["tier"]][row["verdict"]] += 1
    rank = {t.value: t.rank for t in Tier}
    worst = sorted((r for r in rows if r.get("verdict") == "NON_COMPLIANT"),
                   key=lambda r: (-rank.get(r.get("tier"), 0), -len(r.get("failed_list", [])),
                                  r["site_id"]))[:15]
    return {"computing": False, "per_tier": tiers, "worst": worst, "sites": len(rows)}


def audit_page(tier: str | None = None, verdict: str | None = None,
               district: str | None = None, page: int = 1,
               limit: int | None = AUDIT_PAGE_SIZE) -> dict[str, Any]:
    rows = current_audit()
    if rows is None:
        return {"computing": True, "filters": {"tier": tier, "verdict": verdict,
                                               "district": district},
                "districts": [], "total": 0, "counts": {}, "page": 1, "pages": 1, "rows": []}
    selected = [r for r in rows
                if (not tier or r.get("tier") == tier)
                and (not verdict or r.get("verdict") == verdict)
                and (not district or r.get("district") == district)]
    districts = sorted({r.get("district") for r in rows if r.get("district")})
    total = len(selected)
    if limit:
        pages_count = max(1, -(-total // limit))
        page = min(page, pages_count)
        shown = selected[(page - 1) * limit: page * limit]
    else:
        pages_count, shown = 1, selected
    counts = {v: sum(1 for r in selected if r.get("verdict") == v) for v in VERDICTS}
    return {"computing": False,
            "filters": {"tier": tier, "verdict": verdict, "district": district},
            "districts": districts, "total": total, "counts": counts, "page": page,
            "pages": pages_count,
            "rows": [{k: v for k, v in r.items() if k != "failed_list"} for r in shown]}
