"""A site — the maintainer's card: contacts, tier and verdict, routes on a map and as a
segment-by-segment table, maintenance point, SLA, GeoJSON/KML downloads, print view."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from web import pages, sitemaps

bp = Blueprint("sites", __name__)


@bp.route("/sites/<path:site_id>")
def show(site_id: str):
    data = pages.site_page(site_id, requested=request.args.get("requested"))
    return render_template("site.html", data=data)


@bp.route("/map/sites/<path:site_id>")
def site_map(site_id: str):
    data = pages.site_page(site_id)
    return Response(sitemaps.site_map(data), mimetype="text/html")


@bp.route("/sites/<path:site_id>/routes.<fmt>")
def routes_export(site_id: str, fmt: str):
    if fmt not in ("geojson", "kml"):
        abort(404)
    crs = request.args.get("crs", "wgs84").lower()
    if crs not in ("wgs84", "gcj02"):
        abort(400, description="crs is wgs84 or gcj02")
    text = pages.site_export(site_id, fmt, crs)
    mimetype = "application/geo+json" if fmt == "geojson" else \
        "application/vnd.google-earth.kml+xml"
    suffix = "" if crs == "wgs84" else "-gcj02"
    filename = pages.download_name(f"site-{site_id}-routes{suffix}.{fmt}")
    return Response(text, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\""})
