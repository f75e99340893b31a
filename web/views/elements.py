"""An element (device, point, room, cable, duct, cable section): where it is, what runs
through it, and what its failure would cut."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from web import pages, sitemaps

bp = Blueprint("elements", __name__)


@bp.route("/elements/<kind>/<path:element_id>")
def show(kind: str, element_id: str):
    return render_template("element.html", data=pages.element_page(kind, element_id,
                                                                     with_impact=True))


@bp.route("/map/elements/<kind>/<path:element_id>")
def element_map(kind: str, element_id: str):
    data = pages.element_page(kind, element_id, with_impact=False)
    return Response(sitemaps.element_map(data), mimetype="text/html")
