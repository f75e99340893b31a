"""GeoJSON (RFC 7946) and KML 2.2 exports of routes, cables and the whole network.

Features are built once, as GeoJSON-like dicts in WGS84 whose ``properties.role`` says what they
are (``route_a``, ``route_b``, ``route_other``, ``shared_risk``, ``handover``,
``maintenance_point``, ``site``, ``room``, ``point``, ``device``, ``section``, ``fault``); the
writers turn a stream of them into text, so the whole network is written feature by feature
without holding it in memory. Pure: strings and file objects in, nothing read from disk.

``crs="gcj02"`` shifts every coordinate to GCJ-02 for Chinese map apps such as 奥维互动地图
(Ovital); the GeoJSON is then **not** RFC 7946 (which requires WGS84), and says so in a
top-level ``metadata`` member and in every feature's ``properties.crs``.

>>> features = [point_feature({"id": "S1", "name": "博乐一中", "lon": 82.07, "lat": 44.90},
...                           "site")]
>>> '"coordinates": [82.07, 44.9]' in geojson_text(features)
True
>>> "<Placemark" in kml_text(features, name="demo")
True
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from inventory.errors import ValidationError
from inventory.geo.crs import GCJ02, WGS84, from_wgs84, parse_crs, parse_line
from inventory.geo.measure import GEOD

ROLES = ("route_a", "route_b", "route_other", "shared_risk", "handover", "maintenance_point",
         "site", "room", "point", "device", "section", "fault")
_PRECISION = 7          # decimals of a degree: ~1 cm

# simplestyle-spec colours (geojson.io, GitHub, QGIS plugins) and KML styles, per role.
_STYLE = {
    "route_a": {"stroke": "#d62728", "stroke-width": 4},
    "route_b": {"stroke": "#1f77b4", "stroke-width": 4},
    "route_other": {"stroke": "#7f7f7f", "stroke-width": 3},
    "shared_risk": {"stroke": "#ff00ff", "stroke-width": 6, "marker-color": "#ff00ff"},
    "section": {"stroke": "#555555", "stroke-width": 2},
    "handover": {"marker-color": "#ffbf00", "marker-symbol": "triangle"},
    "maintenance_point": {"marker-color": "#2ca02c", "marker-symbol": "warehouse"},
    "site": {"marker-color": "#9467bd", "marker-symbol": "building"},
    "room": {"marker-color": "#8c564b", "marker-symbol": "town-hall"},
    "point": {"marker-color": "#555555", "marker-symbol": "circle"},
    "device": {"marker-color": "#17becf", "marker-symbol": "square"},
    "fault": {"marker-color": "#000000", "marker-symbol": "danger"},
}
_KML_ICON = "https://maps.google.com/mapfiles/kml/shapes/{}.png"
_KML_ICONS = {"handover": "triangle", "maintenance_point": "homegardenbusiness",
              "site": "square", "room": "placemark_square", "point": "placemark_circle",
              "device": "square", "fault": "caution", "shared_risk": "forbidden"}


def _kml_colour(hex_rgb: str, alpha: str = "ff") -> str:
    """#rrggbb → KML's aabbggrr."""
    r, g, b = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"{alpha}{b}{g}{r}"


# --- building features ---------------------------------------------------------------------------

def _clean(props: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in props.items():
        if value is None or key in ("geometry", "lon", "lat"):
            continue
        if isinstance(value, (list, tuple, set)):
            value = [v for v in value]
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out[key] = value
    return out


def point_feature(node: Mapping[str, Any], role: str, **extra: Any) -> dict[str, Any] | None:
    """A Point feature from a node record with ``lon``/``lat`` (None when it has none)."""
    lon, lat = node.get("lon"), node.get("lat")
    if lon is None or lat is None:
        return None
    props = {**_clean(node), **_clean(extra), "role": role, **_STYLE.get(role, {})}
    return {"type": "Feature", "id": _fid(props),
            "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
            "properties": props}


def line_feature(geometry: BaseGeometry | str | Sequence[Sequence[float]], role: str,
                 props: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A LineString feature from WKT, ``lon,lat;…`` text, a shapely line or coordinates."""
    if isinstance(geometry, (str, BaseGeometry)):
        line = parse_line(geometry)
    else:
        line = LineString([tuple(map(float, c[:2])) for c in geometry])
    clean = {**_clean(props or {}), "role": role, **_STYLE.get(role, {})}
    if "length_m" not in clean:
        clean["length_m"] = round(float(GEOD.geometry_length(line)), 1)
    return {"type": "Feature", "id": _fid(clean),
            "geometry": {"type": "LineString",
                         "coordinates": [[float(x), float(y)] for x, y, *_ in line.coords]},
            "properties": clean}


def _fid(props: Mapping[str, Any]) -> str | None:
    if "id" not in props:
        return None
    kind = props.get("kind_of") or props.get("label") or props.get("role")
    return f"{kind}:{props['id']}"


def _position(step: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if step and step.get("lon") is not None and step.get("lat") is not None:
        return float(step["lon"]), float(step["lat"])
    return None


def _route_role(name: Any) -> str:
    text = str(name or "").strip().upper().removeprefix("ROUTE").strip()
    return {"A": "route_a", "B": "route_b"}.get(text, "route_other")


def route_features(routes: Sequence[Mapping[str, Any]], site: Mapping[str, Any] | None = None,
                   maintenance_point: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Features of a site's traced routes (duck-typed route dicts: ``name``, ``steps``,
    ``length_m``; each step ``kind``, ``id``, ``name``, ``lon``, ``lat``, ``geometry``,
    ``cable_id``, ``duct_ids``, ``length_m``, ``maintainer``, ``boundary``, ``shared``).

    Each element becomes one feature listing its ``routes``, styled by the first route it is
    on. It is ``shared_risk`` when a step flags it ``shared`` (the tracer's verdict, which knows
    what a tier may share); when no step carries a ``shared`` key at all, an element on two
    or more routes (other than the site) is taken as shared. A step with ``boundary`` is a
    ``handover`` point. A section without a geometry is drawn straight between its
    neighbours (``geometry_approx``).
    """
    lines: dict[str, dict[str, Any]] = {}
    points: dict[str, dict[str, Any]] = {}
    flagged = any("shared" in step for route in routes for step in route.get("steps", ()))
    for route in routes:
        name = str(route.get("name", "?"))
        steps = list(route.get("steps", ()))
        for i, step in enumerate(steps):
            kind = step.get("kind")
            key = f"{kind}:{step.get('id', i)}"
            table = lines if kind == "section" else points
            entry = table.setdefault(key, {"step": step, "routes": [], "shared": False,
                                           "boundary": False, "index": i, "steps": steps})
            if name not in entry["routes"]:
                entry["routes"].append(name)
            entry["shared"] |= bool(step.get("shared"))
            entry["boundary"] |= bool(step.get("boundary"))
    features: list[dict[str, Any]] = []
    if site is not None:
        feature = point_feature(site, "site", kind_of="site")
        if feature:
            features.append(feature)
    if maintenance_point is not None:
        feature = point_feature(maintenance_point, "maintenance_point",
                                kind_of="maintenance_point")
        if feature:
            features.append(feature)
    for entry in lines.values():
        step, routes_of = entry["step"], entry["routes"]
        shared = entry["shared"] or (not flagged and len(routes_of) > 1)
        role = "shared_risk" if shared else _route_role(routes_of[0])
        props = {k: v for k, v in step.items() if k not in ("geometry",)}
        props.update(routes=routes_of, kind_of="section")
        if step.get("geometry"):
            features.append(line_feature(step["geometry"], role, props))
            continue
        steps, i = entry["steps"], entry["index"]
        ends = [_position(_near(steps, i, -1)), _position(_near(steps, i, +1))]
        if all(ends):
            props["geometry_approx"] = True
            features.append(line_feature(ends, role, props))
    for entry in points.values():
        step, routes_of = entry["step"], entry["routes"]
        if entry["shared"] or (not flagged and len(routes_of) > 1
                               and step.get("kind") != "site"):
            role = "shared_risk"
        elif entry["boundary"]:
            role = "handover"
        else:
            role = {"site": "site", "room": "room", "point": "point",
                    "device": "device"}.get(step.get("kind"), "point")
        if site is not None and step.get("kind") == "site" and step.get("id") == site.get("id"):
            continue
        feature = point_feature(step, role, routes=routes_of, kind_of=step.get("kind"),
                                handover=entry["boundary"] or None)
        if feature:
            features.append(feature)
    return features


def _near(steps: Sequence[Mapping[str, Any]], i: int, direction: int):
    j = i + direction
    while 0 <= j < len(steps):
        if steps[j].get("kind") == "section":
            return None
        if _position(steps[j]):
            return steps[j]
        j += direction
    return None


def section_feature(section: Mapping[str, Any], role: str = "section") -> dict[str, Any] | None:
    """A cable section as a line: its ``geometry``, else straight between its ends ``a``/``z``
    (mappings with ``lon``/``lat``); None when neither is known."""
    props = {k: v for k, v in section.items() if k not in ("a", "z", "geometry")}
    a, z = section.get("a") or {}, section.get("z") or {}
    props.setdefault("a_id", a.get("id"))
    props.setdefault("z_id", z.get("id"))
    props["kind_of"] = "section"
    if section.get("geometry"):
        return line_feature(section["geometry"], role, props)
    ends = [_position(a), _position(z)]
    if all(ends):
        props["geometry_approx"] = True
        return line_feature(ends, role, props)
    return None


def cable_features(sections: Iterable[Mapping[str, Any]],
                   cable: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """One cable: its sections as lines and their ends as points (each once)."""
    seen: set[str] = set()
    cable_props = {f"cable_{k}": v for k, v in (cable or {}).items() if k != "id"}
    for section in sections:
        feature = section_feature({**section, **cable_props})
        if feature:
            yield feature
        for side in ("a", "z"):
            end = section.get(side) or {}
            key = f"{end.get('label')}:{end.get('id')}"
            if end.get("id") is None or key in seen:
                continue
            seen.add(key)
            role = _NODE_ROLES.get(end.get("label"), "point")
            feature = point_feature(end, role, kind_of=role)
            if feature:
                yield feature


_NODE_ROLES = {"Site": "site", "Room": "room", "Point": "point", "Equipment": "device",
               "MaintenancePoint": "maintenance_point"}


def node_feature(node: Mapping[str, Any]) -> dict[str, Any] | None:
    """A node record ``{"label", "id", …props}`` as a Point (None without coordinates)."""
    role = _NODE_ROLES.get(node.get("label"), "point")
    return point_feature(node, role, kind_of=role)


def network_features(nodes: Iterable[Mapping[str, Any]],
                     sections: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """The whole network, lazily: nodes (sites, rooms, points, maintenance points) then cable
    sections (as :func:`section_feature` takes them)."""
    for node in nodes:
        feature = node_feature(node)
        if feature:
            yield feature
    for section in sections:
        feature = section_feature(section)
        if feature:
            yield feature


# --- coordinates in the output system ------------------------------------------------------------

def _convert(coords: Any, crs: str) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        x, y = (coords[0], coords[1]) if crs == WGS84 else from_wgs84(coords[0], coords[1], crs)
        return [round(x, _PRECISION), round(y, _PRECISION)]
    return [_convert(c, crs) for c in coords]


def _output_crs(crs: str) -> str:
    name = parse_crs(crs)
    if name not in (WGS84, GCJ02):
        raise ValidationError("crs", crs, "exports are WGS84 (default) or GCJ02")
    return name


def _metadata(crs: str, name: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "crs": "WGS84" if crs == WGS84 else "GCJ-02",
                            "rfc7946": crs == WGS84}
    if crs != WGS84:
        meta["note"] = ("coordinates are GCJ-02 (国测局/火星坐标) for Chinese map apps such as "
                        "Ovital (奥维互动地图); not RFC 7946, do not mix with WGS84 data")
    return meta


# --- GeoJSON -------------------------------------------------------------------------------------

def write_geojson(features: Iterable[Mapping[str, Any]], out: IO[str], crs: str = WGS84,
                  name: str | None = None) -> int:
    """Stream a FeatureCollection to ``out``; returns the number of features.

    RFC 7946: lon/lat order, WGS84, no ``crs`` member. With ``crs="gcj02"`` coordinates are
    shifted and ``metadata.rfc7946`` is false.
    """
    crs = _output_crs(crs)
    meta = _metadata(crs, name)
    out.write('{"type": "FeatureCollection", "metadata": ')
    out.write(json.dumps(meta, ensure_ascii=False))
    out.write(', "features": [\n')
    count = 0
    for feature in features:
        geometry = feature["geometry"]
        props = dict(feature.get("properties") or {})
        if crs != WGS84:
            props["crs"] = "GCJ-02"
        body = {"type": "Feature"}
        if feature.get("id") is not None:
            body["id"] = feature["id"]
        body["geometry"] = {"type": geometry["type"],
                            "coordinates": _convert(geometry["coordinates"], crs)}
        body["properties"] = props
        out.write(",\n" if count else "")
        out.write(json.dumps(body, ensure_ascii=False, default=str))
        count += 1
    out.write("\n]}\n")
    return count


def geojson_text(features: Iterable[Mapping[str, Any]], crs: str = WGS84,
                 name: str | None = None) -> str:
    buffer = io.StringIO()
    write_geojson(features, buffer, crs, name)
    return buffer.getvalue()


# --- KML -----------------------------------------------------------------------------------------

def _kml_styles() -> str:
    parts = []
    for role in ROLES:
        style = _STYLE.get(role, {})
        inner = ""
        if "stroke" in style:
            inner += (f"<LineStyle><color>{_kml_colour(style['stroke'])}</color>"
                      f"<width>{style.get('stroke-width', 2)}</width></LineStyle>")
        if "marker-color" in style or role in _KML_ICONS:
            colour = _kml_colour(style.get("marker-color", "#ffffff"))
            icon = _KML_ICON.format(_KML_ICONS.get(role, "placemark_circle"))
            inner += (f"<IconStyle><color>{colour}</color><scale>1.1</scale>"
                      f"<Icon><href>{escape(icon)}</href></Icon></IconStyle>")
        parts.append(f'<Style id="{role}">{inner}</Style>')
    return "\n".join(parts)


def _kml_coords(coords: Any, crs: str) -> str:
    converted = _convert(coords, crs)
    if converted and isinstance(converted[0], (int, float)):
        converted = [converted]
    return " ".join(f"{x},{y},0" for x, y in converted)


_SKIP_IN_DATA = {"stroke", "stroke-width", "marker-color", "marker-symbol"}


def _kml_placemark(feature: Mapping[str, Any], crs: str) -> str:
    props = feature.get("properties") or {}
    role = props.get("role", "point")
    title = props.get("name") or props.get("id") or role
    data = [(k, v) for k, v in props.items() if k not in _SKIP_IN_DATA]
    if crs != WGS84:
        data.append(("crs", "GCJ-02"))
    description = "\n".join(f"{k}: {_text(v)}" for k, v in data)
    extended = "".join(f'<Data name={quoteattr(str(k))}><value>{escape(_text(v))}</value></Data>'
                       for k, v in data)
    geometry = feature["geometry"]
    coords = _kml_coords(geometry["coordinates"], crs)
    if geometry["type"] == "Point":
        shape = f"<Point><coordinates>{coords}</coordinates></Point>"
    elif geometry["type"] == "LineString":
        shape = (f"<LineString><tessellate>1</tessellate><coordinates>{coords}</coordinates>"
                 "</LineString>")
    else:
        raise ValidationError("geometry", geometry["type"], "KML export takes points and lines")
    fid = feature.get("id")
    id_attr = f" id={quoteattr(str(fid))}" if fid else ""
    return (f"<Placemark{id_attr}><name>{escape(_text(title))}</name>"
            f"<description>{escape(description)}</description>"
            f"<styleUrl>#{role}</styleUrl><ExtendedData>{extended}</ExtendedData>"
            f"{shape}</Placemark>")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def write_kml(features: Iterable[Mapping[str, Any]], out: IO[str], crs: str = WGS84,
              name: str | None = None) -> int:
    """Stream a KML 2.2 document (one Style per role) to ``out``; returns the placemark count."""
    crs = _output_crs(crs)
    meta = _metadata(crs, name)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>\n')
    out.write(f"<name>{escape(name or 'inventory')}</name>\n")
    about = f"coordinates: {meta['crs']}" + (f"; {meta['note']}" if "note" in meta else "")
    out.write(f"<description>{escape(about)}</description>\n")
    out.write(_kml_styles() + "\n")
    count = 0
    for feature in features:
        out.write(_kml_placemark(feature, crs) + "\n")
        count += 1
    out.write("</Document>\n</kml>\n")
    return count


def kml_text(features: Iterable[Mapping[str, Any]], crs: str = WGS84,
             name: str | None = None) -> str:
    buffer = io.StringIO()
    write_kml(features, buffer, crs, name)
    return buffer.getvalue()


def write(features: Iterable[Mapping[str, Any]], out: IO[str], fmt: str, crs: str = WGS84,
          name: str | None = None) -> int:
    """``fmt`` is ``geojson`` or ``kml``."""
    if fmt == "geojson":
        return write_geojson(features, out, crs, name)
    if fmt == "kml":
        return write_kml(features, out, crs, name)
    raise ValidationError("format", fmt, "expected geojson or kml")
