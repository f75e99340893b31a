"""The maps of the site, element and fault pages (folium documents shown in an iframe).

Every text that comes from the inventory goes through :func:`web.maps.popup_html` or
:class:`web.maps.SafeTooltip` (escaped). Route polylines carry the CSS classes ``route
route-A`` / ``route-B`` …, shared-risk overlays ``shared-risk``, so that tests (and print
styles) can find them.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template
from markupsafe import Markup

from web import maps
from web.i18n import t, t_enum
from web.jsonutil import script_json
from web.links import element_url

_KIND_LABEL = {"device": "Equipment", "room": "Room", "point": "Point", "site": "Site"}


def line_coords(geometry: str | None) -> list[tuple[float, float]]:
    """(lat, lon) pairs of a WKT / ``lon,lat;…`` line; [] when there is none or it is bad."""
    if not geometry:
        return []
    try:
        from inventory.geo.crs import parse_line

        line = parse_line(geometry)
    except Exception:
        return []
    return [(float(y), float(x)) for x, y, *_ in line.coords]


def _has_position(step: dict[str, Any] | None) -> bool:
    return bool(step) and step.get("lon") is not None and step.get("lat") is not None


def section_coords(steps: list[dict[str, Any]], i: int) -> list[tuple[float, float]]:
    """The line of the section at ``steps[i]``: its geometry, else straight between the
    nearest positioned steps on either side."""
    coords = line_coords(steps[i].get("geometry"))
    if coords:
        return coords
    before = next((s for s in reversed(steps[:i]) if s.get("kind") != "section"
                   and _has_position(s)), None)
    after = next((s for s in steps[i + 1:] if s.get("kind") != "section"
                  and _has_position(s)), None)
    if before and after:
        return [(before["lat"], before["lon"]), (after["lat"], after["lon"])]
    return []


class Legend(MacroElement):
    """A small legend in the map's corner (labels escaped: they come from the catalogue)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var legend = L.control({position: "bottomright"});
          legend.onAdd = function () {
            var div = L.DomUtil.create("div", "inv-legend");
            {{ this.entries }}.forEach(function (e) {
              var row = document.createElement("div");
              var swatch = document.createElement("i");
              swatch.style.background = e[1];
              row.appendChild(swatch);
              row.appendChild(document.createTextNode(e[0]));
              div.appendChild(row);
            });
            return div;
          };
          legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, entries: list[tuple[str, str]]):
        super().__init__()
        self._name = "Legend"
        self.entries = script_json(entries)


def _step_popup(step: dict[str, Any]) -> Markup:
    label = _KIND_LABEL.get(step.get("kind", ""), "")
    link = element_url(label, step["id"]) if label else None
    rows = [(t("id"), step.get("id")), (t("kind"), t_enum(step.get("kind"))),
            (t("type"), step.get("type")),
            (t("maintainer"), t_enum(step.get("maintainer")))]
    if step.get("boundary"):
        rows.append((t("handover"), t("yes")))
    if step.get("shared"):
        rows.append((t("shared_risks"), t("yes")))
    return maps.popup_html(step.get("name") or step.get("id"), rows, link)


def _section_popup(step: dict[str, Any], route: str) -> Markup:
    ducts = ", ".join(step.get("duct_ids") or [])
    cores = None
    if step.get("fiber_count") is not None or step.get("cores_used") is not None:
        cores = f"{step.get('cores_used', '?')}/{step.get('fiber_count', '?')}"
    rows = [(t("route"), route), (t("id"), step.get("id")),
            (t("cable"), step.get("cable_name") or step.get("cable_id")),
            (t("cores"), cores), (t("length"), _m(step.get("length_m"))),
            (t("laying"), t_enum(step.get("laying"))), (t("ducts"), ducts),
            (t("maintainer"), t_enum(step.get("maintainer")))]
    if step.get("shared"):
        rows.append((t("shared_risks"), t("yes")))
    return maps.popup_html(step.get("name") or step.get("id"), rows,
                           element_url("SEGMENT", step["id"]))


def _m(value: Any) -> str | None:
    if value is None:
        return None
    value = float(value)
    return f"{value / 1000:.2f} km" if value >= 1000 else f"{value:.0f} m"


def site_map(data: dict[str, Any]) -> str:
    site = data["site"]
    m = maps.new_map([site["lat"], site["lon"]] if site.get("lat") is not None else None, 14)
    maps.add_assets(m)
    legend: list[tuple[str, str]] = []
    focus = draw_site(m, data, legend)
    if legend:
        m.add_child(Legend(legend))
    maps.fit(m, focus)
    return maps.render(m)


def plan_map(sites: list[dict[str, Any]]) -> str:
    """The planned sites' routes, each drawn like a site map, on one map."""
    m = maps.new_map(None, 13)
    maps.add_assets(m)
    legend: list[tuple[str, str]] = []
    focus: list[tuple[float, float]] = []
    for data in sites:
        focus += draw_site(m, data, legend if not legend else [])
    if not focus:
        return maps.blank_map_html(t("map_no_coordinates"))
    if legend:
        m.add_child(Legend(legend))
    maps.fit(m, focus)
    return maps.render(m)


def draw_site(m: folium.Map, data: dict[str, Any], legend: list[tuple[str, str]]
              ) -> list[tuple[float, float]]:
    """Draw a site's routes, uplinks, steps, the site and its maintenance point; returns
    the points to zoom to (the site and its access routes)."""
    site = data["site"]
    focus: list[tuple[float, float]] = []
    trace = data.get("trace") or {}
    routes = trace.get("routes", [])
    uplinks = trace.get("uplinks", [])
    drawn: set[tuple[str, str]] = set()
    # the first routes widest, so that a later one drawn over the same street still shows
    widths = [9, 5, 3]

    def draw_route(route: dict[str, Any], colour: str, *, weight: int, dash: str | None,
                   css: str, zoom_to: bool) -> None:
        steps = route.get("steps", [])
        for i, step in enumerate(steps):
            if step.get("kind") != "section":
                continue
            coords = section_coords(steps, i)
            if len(coords) < 2:
                continue
            if zoom_to:
                focus.extend(coords)
            maps.polyline(m, coords, colour, _section_popup(step, route.get("name", "")),
                          weight=weight, dash=dash, class_name=css)
            if step.get("shared"):
                maps.polyline(m, coords, maps.SHARED_COLOUR, None,
                              t("shared_risks") + ": " + str(step.get("id")), weight=3,
                              dash="6 6", class_name="shared-risk", opacity=1.0)

    for route in uplinks:
        draw_route(route, "#90a4ae", weight=3, dash="6 6", css="uplink", zoom_to=False)
    for index, route in enumerate(routes):
        colour = maps.ROUTE_COLOURS[index % len(maps.ROUTE_COLOURS)]
        name = str(route.get("name") or index + 1)
        css_name = "".join(ch for ch in name if ch.isalnum()) or str(index + 1)
        draw_route(route, colour, weight=widths[min(index, len(widths) - 1)], dash=None,
                   css=f"route route-{css_name}", zoom_to=True)
        legend.append((f"{t('route')} {name}", colour))
    if uplinks:
        legend.append((t("uplinks"), "#90a4ae"))
    if any(s.get("shared") for r in routes for s in r.get("steps", [])):
        legend.append((t("shared_risks"), maps.SHARED_COLOUR))

    for route in [*routes, *uplinks]:
        for step in route.get("steps", []):
            if step.get("kind") == "section" or not _has_position(step):
                continue
            key = (step.get("kind", ""), step.get("id", ""))
            if key in drawn:
                continue
            drawn.add(key)
            boundary = bool(step.get("boundary"))
            shared = bool(step.get("shared"))
            is_site = step.get("kind") == "site"
            maps.marker(m, step["lat"], step["lon"], step.get("kind", ""), _step_popup(step),
                        step.get("name") or step.get("id"),
                        radius=10 if is_site else 8 if boundary else 6,
                        colour=maps.SHARED_COLOUR if shared else None,
                        fill=maps.HANDOVER_COLOUR if boundary else None,
                        weight=4 if shared else 2,
                        class_name=" ".join(filter(None, [
                            "handover" if boundary else "", "shared-risk" if shared else "",
                            f"step-{step.get('kind')}"])))
    if any(s.get("boundary") for r in routes for s in r.get("steps", [])):
        legend.append((t("handover"), maps.HANDOVER_COLOUR))

    if site.get("lat") is not None:
        focus.append((site["lat"], site["lon"]))
        if ("site", site["id"]) not in drawn:
            maps.marker(m, site["lat"], site["lon"], "Site", maps.popup_html(
                site.get("name") or site["id"], [(t("id"), site["id"]),
                                                 (t("address"), site.get("address"))]),
                site.get("name"), radius=10, class_name="site")
    mp = data.get("maintenance_point")
    if mp and mp.get("lat") is not None:
        popup = maps.popup_html(mp.get("name") or mp["id"], [
            (t("maintenance_point"), mp["id"]), (t("address"), mp.get("address")),
            (t("distance"), f"{mp['distance_km']:.1f} km" if mp.get("distance_km") is not None
             else None)], element_url("MaintenancePoint", mp["id"]))
        mp_marker = folium.Marker([mp["lat"], mp["lon"]])
        mp_marker.add_child(maps.SafePopup(popup))
        mp_marker.add_child(maps.SafeTooltip(f"{t('maintenance_point')}: {mp.get('name')}"))
        mp_marker.add_to(m)
        if site.get("lat") is not None:
            maps.polyline(m, [(mp["lat"], mp["lon"]), (site["lat"], site["lon"])], maps.MP_COLOUR,
                          None, f"{t('maintenance_point')} → {t('site')}"
                          + (f": {mp['distance_km']:.1f} km" if mp.get("distance_km") is not None
                             else ""), weight=2, dash="4 6", class_name="mp-line")
        legend.append((t("maintenance_point"), maps.MP_COLOUR))
    return focus


def element_map(data: dict[str, Any]) -> str:
    m = maps.new_map(None, 14)
    maps.add_assets(m)
    points: list[tuple[float, float]] = []
    element = data.get("element") or {}
    for row in data.get("sections", []):
        coords = line_coords(row.get("geometry"))
        ends = [row["from"], row["to"]]
        if not coords:
            positions = [data.get("positions", {}).get(f"{e['label']}:{e['id']}") for e in ends]
            if all(positions):
                coords = [(p[1], p[0]) for p in positions]
        if len(coords) < 2:
            continue
        points.extend(coords)
        maps.polyline(m, coords, maps.ROUTE_COLOURS[0], maps.popup_html(
            row.get("name") or row["id"], [(t("id"), row["id"]), (t("cable"), row.get("cable_id")),
                                           (t("length"), _m(row.get("length_m"))),
                                           (t("ducts"), ", ".join(row.get("duct_ids") or []))],
            element_url("SEGMENT", row["id"])), weight=5, class_name="section")
    for key, (lon, lat, label, name) in (data.get("position_labels") or {}).items():
        points.append((lat, lon))
        element_id = key.split(":", 1)[1]
        maps.marker(m, lat, lon, label, maps.popup_html(name or element_id, [
            (t("kind"), t_enum(label)), (t("id"), element_id)], element_url(label, element_id)),
            name or element_id, radius=7 if element_id == element.get("id") else 5)
    if not points:
        return maps.blank_map_html(t("map_no_coordinates"))
    maps.fit(m, points)
    return maps.render(m)


def fault_map(data: dict[str, Any]) -> str:
    m = maps.new_map([data["lat"], data["lon"]], 14)
    maps.add_assets(m)
    points = [(data["lat"], data["lon"])]
    for row in data.get("sections", []):
        coords = line_coords(row.get("geometry"))
        if not coords and row.get("a") and row.get("z") and _has_position(row["a"]) \
                and _has_position(row["z"]):
            coords = [(row["a"]["lat"], row["a"]["lon"]), (row["z"]["lat"], row["z"]["lon"])]
        if len(coords) < 2:
            continue
        points.extend(coords)
        colour = maps.SHARED_COLOUR if row["id"] == data.get("section_id") else \
            maps.ROUTE_COLOURS[0]
        maps.polyline(m, coords, colour, maps.popup_html(row.get("name") or row["id"], [
            (t("id"), row["id"]), (t("length"), _m(row.get("length_m")))],
            element_url("SEGMENT", row["id"])), weight=5, class_name="section")
    for side in ("before", "after"):
        point = data.get(side)
        if point and _has_position(point):
            points.append((point["lat"], point["lon"]))
            maps.marker(m, point["lat"], point["lon"], "Point", maps.popup_html(
                point.get("name") or point.get("id"), [(t("id"), point.get("id")),
                                                       (t("kind"), t_enum(point.get("kind")))]),
                point.get("name") or point.get("id"), radius=7, class_name="nearest-point")
    fault = folium.Marker([data["lat"], data["lon"]])
    fault.add_child(maps.SafePopup(maps.popup_html(t("fault_point"), [
        ("lon, lat", f"{data['lon']:.6f}, {data['lat']:.6f}"),
        (t("measured_distance"), _m(data.get("measured_m")))])))
    fault.add_to(m)
    mp = data.get("maintenance_point")
    if mp and _has_position(mp):
        maps.marker(m, mp["lat"], mp["lon"], "MaintenancePoint", maps.popup_html(
            mp.get("name") or mp["id"], [(t("distance"), f"{mp.get('distance_km')} km")]),
            mp.get("name"), radius=8)
        maps.polyline(m, [(mp["lat"], mp["lon"]), (data["lat"], data["lon"])], maps.MP_COLOUR,
                      None, t("maintenance_point"), weight=2, dash="4 6", class_name="mp-line")
    maps.fit(m, points)
    return maps.render(m)
