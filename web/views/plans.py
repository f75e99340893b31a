"""Plans: upload a plan → its validation with a map → apply (planner or admin).

A plan is a small export in the import format plus an optional ``removals.csv``
(docs/what-if.md). Validation writes nothing; applying it re-validates and then writes it
(``inventory.graph.plan.apply_plan``). Uploads wait between the two steps like imports do
(``web.views.imports``), under their own session token.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from importers.plan import read_plan
from inventory.geo.sla import parse_date
from inventory.graph import network, trace
from inventory.graph.plan import PlanView, apply_plan, validate_plan
from web import cache, sitemaps
from web.auth import require
from web.extensions import get_store
from web.i18n import t
from web.jsonutil import plain
from web.pages import node_dict
from web.views.imports import _paths, _pending_folder, save_upload

bp = Blueprint("plans", __name__)


def validate(paths: list[Path], crs: str | None, requested: str | None = None
             ) -> tuple[Any, dict[str, Any]]:
    """(PlanRead, validation as a dict) of the uploaded files."""
    store = get_store()
    read = read_plan(store, [str(p) for p in paths], crs=crs)
    validation = validate_plan(store, read, requested=parse_date(requested) if requested
                               else None)
    data = plain(validation.as_dict())
    folder = str(paths[0].parent) + "/" if paths else ""
    for finding in data.get("findings", []):
        if isinstance(finding.get("message"), str):
            finding["message"] = finding["message"].replace(folder, "")
    data["plan"] = None
    return read, data


@bp.route("/plans", methods=["GET"])
@require("plan")
def index():
    return render_template("plan.html", validation=None, token=None, applied=None)


@bp.route("/plans", methods=["POST"])
@require("plan")
def upload():
    """Step 1: save the plan and show its validation."""
    crs = (request.form.get("crs") or "").strip()[:40] or None
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        token, paths = save_upload(files, crs, kind="plan")
    except ValueError as exc:
        flash(str(exc), "error")
        return render_template("plan.html", validation=None, token=None, applied=None), 400
    _, validation = validate(paths, crs)
    current_app.logger.info("user %s validated a plan: %s", g.user.name,
                            "accepted" if validation["accepted"] else "rejected")
    return render_template("plan.html", validation=validation, token=token, applied=None), \
        (200 if validation["accepted"] else 422)


@bp.route("/plans/map")
@require("plan")
def plan_map():
    """The planned sites' routes (the upload of this session, validated again)."""
    folder = _pending_folder(request.args.get("token"), kind="plan")
    if folder is None:
        abort(404)
    info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    read, validation = validate(_paths(folder), info.get("crs"))
    return Response(sitemaps.plan_map(planned_routes(read, validation)), mimetype="text/html")


def planned_routes(read: Any, validation: dict[str, Any]) -> list[dict[str, Any]]:
    """The traced routes of every planned site, on the inventory with the plan laid over."""
    if not read.ok:
        return []
    view = PlanView(get_store(), read.plan)
    out = []
    for row in validation.get("sites", [])[:50]:
        site = view.get_node("Site", row["site_id"])
        if site is None:
            continue
        G = network.load_site_graph(view, site.id)
        out.append({"site": node_dict(site), "trace": trace.trace(G, site.id).as_dict()})
    return out


@bp.route("/plans/apply", methods=["POST"])
@require("plan")
def apply():
    """Step 2: validate again (the inventory may have changed) and apply when accepted."""
    folder = _pending_folder(request.form.get("token"), kind="plan")
    if folder is None:
        flash(t("import_expired"), "error")
        return redirect(url_for("plans.index"))
    info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    try:
        read, validation = validate(_paths(folder), info.get("crs"))
        if not read.ok or not validation["accepted"]:
            return render_template("plan.html", validation=validation, token=None,
                                   applied=None), 422
        result = plain(apply_plan(get_store(), read.plan))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        session.pop("plan_token", None)
    cache.clear()
    current_app.logger.info("user %s applied a plan", g.user.name)
    return render_template("plan.html", validation=validation, token=None, applied=result)


