"""The dashboard: counts, compliance per tier, the worst findings, the network map."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, url_for

from web import maps, pages

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    return render_template("dashboard.html", data=pages.dashboard())


@bp.route("/map/network")
def network_map():
    bounds = pages.network_bounds()
    html = maps.network_map(url_for("api.sites_geojson"), None, 9, bounds)
    return Response(html, mimetype="text/html")


@bp.route("/favicon.ico")
def favicon():
    return current_app.send_static_file("favicon.svg")


@bp.route("/healthz")
def healthz():
    """Liveness and the store: 200 when it answers, 503 (JSON) when not."""
    from web.extensions import get_store

    counts = get_store().count_nodes()
    return {"status": "ok", "sites": counts.get("Site", 0),
            "store": current_app.config.get("STORE") and str(get_store().location)}
