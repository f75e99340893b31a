"""Fault location: an OTDR reading → the point on the map and the customers it cuts off,
with their recovery deadlines. A read: a GET form, no sign-in needed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from inventory.errors import InventoryError
from web import pages, sitemaps

bp = Blueprint("fault", __name__)


def fault_args() -> dict[str, Any] | None:
    """The form's values, or None when the form is not filled in; 400 on a bad number."""
    cable = (request.args.get("cable") or "").strip()[:200]
    from_id = (request.args.get("from") or "").strip()[:200]
    distance = (request.args.get("distance") or "").strip()[:40]
    if not (cable and from_id and distance):
        return None
    slack_text = (request.args.get("slack") or "").strip()
    slack = None
    if slack_text:
        try:
            slack = float(slack_text)
        except ValueError:
            abort(400, description="slack is a number such as 1.02")
        if not 1.0 <= slack <= 1.5:
            abort(400, description="slack is between 1.0 and 1.5")
    return {"cable": cable, "from_id": from_id, "measured": distance, "slack": slack}


@bp.route("/fault")
def index():
    args = fault_args()
    result, error = None, None
    if args:
        try:
            result = pages.fault_location(**args)
        except InventoryError as exc:
            error = str(exc)
    query = {}
    if args:
        query = {"cable": args["cable"], "from": args["from_id"], "distance": args["measured"]}
        if args["slack"] is not None:
            query["slack"] = args["slack"]
    return render_template("fault.html", args=args or {}, result=result, error=error,
                           map_url=url_for("fault.fault_map", **query),
                           json_url=url_for("api.fault", **query)), (400 if error else 200)


@bp.route("/map/fault")
def fault_map():
    args = fault_args()
    if not args:
        abort(400, description="cable, from and distance are needed")
    return Response(sitemaps.fault_map(pages.fault_location(**args)), mimetype="text/html")
