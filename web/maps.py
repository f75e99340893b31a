"""Maps with folium (Leaflet), served entirely by this app: no CDN, works on an intranet.

folium's ``Map`` pulls Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default;
:class:`LocalMap` and :class:`LocalMarkerCluster` load only the vendored Leaflet and
Leaflet.markercluster from ``web/static/vendor/`` instead. folium's own ``Popup`` and
``Tooltip`` are not used: they need jQuery and paste their content into a JavaScript template
literal (where ``${…}`` in a name would run). :class:`SafePopup` and :class:`SafeTooltip` put
the content in as a JSON string, and every value in it is escaped with
:func:`markupsafe.escape` by :func:`popup_html` first.

The tile layer comes from ``TILE_URL`` (``$INVENTORY_TILE_URL``); empty means no tiles:
routes, markers and popups draw all the same, on a plain background.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from folium.plugins import MarkerCluster
from folium.template import Template
from markupsafe import Markup, escape

from web.i18n import t, t_enum
from web.jsonutil import script_json

ROUTE_COLOURS = ["#1565c0", "#e65100", "#6a1b9a", "#2e7d32", "#00838f", "#5d4037"]
SHARED_COLOUR = "#d50000"
MP_COLOUR = "#455a64"
HANDOVER_COLOUR = "#ffd600"
NODE_COLOURS = {"device": "#37474f", "room": "#6d4c41", "point": "#00897b", "site": "#c62828",
                "Equipment": "#37474f", "Room": "#6d4c41", "Point": "#00897b", "Site": "#c62828",
                "MaintenancePoint": MP_COLOUR}
TIER_COLOURS = {"GOLD": "#c9a227", "SILVER": "#8e9aa6", "BRONZE": "#a0522d",
                "STANDARD": "#546e7a"}


def _static(path: str) -> str:
    return url_for("static", filename=path)


class LocalMap(folium.Map):
    """A folium map whose scripts and stylesheets are this app's own files."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("tiles", None)
        super().__init__(*args, **kwargs)
        self.default_js = [("leaflet", _static("vendor/leaflet/leaflet.js"))]
        self.default_css = [("leaflet_css", _static("vendor/leaflet/leaflet.css")),
                            ("inventory_map_css", _static("css/map.css"))]


class LocalMarkerCluster(MarkerCluster):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.default_js = [("markerclusterjs",
                            _static("vendor/leaflet.markercluster/leaflet.markercluster.js"))]
        self.default_css = [
            ("markerclustercss", _static("vendor/leaflet.markercluster/MarkerCluster.css")),
            ("markerclusterdefaultcss",
             _static("vendor/leaflet.markercluster/MarkerCluster.Default.css"))]


class SafePopup(MacroElement):
    """A popup whose (already escaped) HTML travels as a JSON string: no jQuery, no
    template literal."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.content }}, {maxWidth: 360});
        {% endmacro %}
    """)

    def __init__(self, html: Markup | str):
        super().__init__()
        self._name = "SafePopup"
        self.content = script_json(str(html))


class SafeTooltip(MacroElement):
    """A hover label: plain text (Leaflet would read a string as HTML, so it is escaped)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip({{ this.content }}, {sticky: true});
        {% endmacro %}
    """)

    def __init__(self, text: str):
        super().__init__()
        self._name = "SafeTooltip"
        self.content = script_json(str(escape(text)))


class ScriptCall(MacroElement):
    """Call a function of ``web/static/js/inventory-map.js`` with the map and JSON options."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.function }}({{ this._parent.get_name() }}, {{ this.options }});
        {% endmacro %}
    """)

    def __init__(self, function: str, options: dict[str, Any]):
        super().__init__()
        self._name = "ScriptCall"
        if not function.replace(".", "").replace("_", "").isalnum():
            raise ValueError(f"not a function name: {function!r}")
        self.function = function
        self.options = script_json(options)


class _WithAssets(MacroElement):
    """Adds this app's map script (and the cluster plugin) to a map's header."""

    _template = Template("{% macro header(this, kwargs) %}{% endmacro %}")

    def __init__(self, cluster: bool = False):
        super().__init__()
        self._name = "Assets"
        self.cluster = cluster

    def render(self, **kwargs: Any) -> None:
        from branca.element import CssLink, JavascriptLink

        figure = self.get_root()
        if self.cluster:
            figure.header.add_child(JavascriptLink(
                _static("vendor/leaflet.markercluster/leaflet.markercluster.js")),
                name="markerclusterjs")
            figure.header.add_child(CssLink(
                _static("vendor/leaflet.markercluster/MarkerCluster.css")),
                name="markerclustercss")
            figure.header.add_child(CssLink(
                _static("vendor/leaflet.markercluster/MarkerCluster.Default.css")),
                name="markerclusterdefaultcss")
        figure.header.add_child(JavascriptLink(_static("js/inventory-map.js")),
                                name="inventory_map_js")
        super().render(**kwargs)


def popup_html(title: str, rows: Iterable[tuple[str, Any]], link: str | None = None) -> Markup:
    """Popup content: a title and label/value rows, every value escaped."""
    parts = [Markup("<div class='popup'><b>{}</b>").format(title)]
    if rows:
        parts.append(Markup("<table>"))
        for label, value in rows:
            if value is None or value == "":
                continue
            parts.append(Markup("<tr><th>{}</th><td>{}</td></tr>").format(label, value))
        parts.append(Markup("</table>"))
    if link:
        parts.append(Markup("<a href='{}' target='_top'>{}</a>").format(link, "»"))
    parts.append(Markup("</div>"))
    return Markup("").join(parts)


def new_map(location: Sequence[float] | None = None, zoom: int = 12) -> LocalMap:
    cfg = current_app.config
    m = LocalMap(location=list(location) if location else [44.9, 82.07], zoom_start=zoom, max_zoom=19,
                 control_scale=True, prefer_canvas=False)
    tile_url = (cfg.get("TILE_URL") or "").strip()
    if tile_url and tile_url.lower() != "none":
        folium.TileLayer(tiles=tile_url, attr=cfg.get("TILE_ATTRIBUTION") or " ",
                         name="tiles", max_zoom=19).add_to(m)
    return m


def fit(m: folium.Map, points: Sequence[tuple[float, float]]) -> None:
    """Zoom to the (lat, lon) points."""
    if not points:
        return
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    if max(lats) - min(lats) < 1e-4 and max(lons) - min(lons) < 1e-4:
        m.location = [lats[0], lons[0]]
        return
    m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))


def render(m: folium.Map) -> str:
    return m.get_root().render()


def marker(m: folium.Map | folium.FeatureGroup, lat: float, lon: float, kind: str,
           popup: Markup, tooltip: str | None = None, *, radius: int = 6,
           colour: str | None = None, class_name: str = "", fill: str | None = None,
           weight: int = 2) -> folium.CircleMarker:
    colour = colour or NODE_COLOURS.get(kind, "#37474f")
    circle = folium.CircleMarker(location=[lat, lon], radius=radius, color=colour,
                                 fill=True, fill_color=fill or colour, fill_opacity=0.85,
                                 weight=weight, class_name=f"inv-marker {class_name}".strip())
    circle.add_child(SafePopup(popup))
    if tooltip:
        circle.add_child(SafeTooltip(tooltip))
    circle.add_to(m)
    return circle


def polyline(m: folium.Map | folium.FeatureGroup, coords: Sequence[tuple[float, float]],
             colour: str, popup: Markup | None = None, tooltip: str | None = None, *,
             weight: int = 5, dash: str | None = None, class_name: str = "",
             opacity: float = 0.85) -> folium.PolyLine:
    line = folium.PolyLine(locations=[[lat, lon] for lat, lon in coords], color=colour,
                           weight=weight, opacity=opacity, dash_array=dash,
                           class_name=class_name)
    if popup is not None:
        line.add_child(SafePopup(popup))
    if tooltip:
        line.add_child(SafeTooltip(tooltip))
    line.add_to(m)
    return line


def network_map(bbox_url: str, center: Sequence[float] | None, zoom: int,
                bounds: Sequence[float] | None = None) -> str:
    """The dashboard map: sites fetched from ``bbox_url`` for the current view, clustered."""
    m = new_map(center, zoom)
    m.add_child(_WithAssets(cluster=True))
    if bounds:
        lon1, lat1, lon2, lat2 = bounds
        if lon2 - lon1 > 1e-4 or lat2 - lat1 > 1e-4:
            m.fit_bounds([[lat1, lon1], [lat2, lon2]])
    m.add_child(ScriptCall("inventoryMap.sitesLayer", {
        "url": bbox_url,
        "siteUrl": url_for("sites.show", site_id="__ID__"),
        "labels": {"site": t("site"), "customer": t("customer"), "tier": t("tier"),
                   "sites": t("sites")},
        "tierLabels": {k: t_enum(k) for k in TIER_COLOURS},
        "tierColours": TIER_COLOURS,
    }))
    return render(m)


def blank_map_html(message: str) -> str:
    """A map document with nothing to draw: still a valid page for the iframe."""
    m = new_map(None, 8)
    folium.Element(Markup("<div class='map-note'>{}</div>").format(message)).add_to(
        m.get_root().html)
    return render(m)


def add_assets(m: folium.Map, cluster: bool = False) -> None:
    m.add_child(_WithAssets(cluster=cluster))
