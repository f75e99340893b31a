"""The JSON API under ``/api/``: every page's content, plus the OpenAPI 3 document.

Endpoints are declared with :func:`endpoint`, which registers the Flask route and its
OpenAPI operation together, so the document at ``/api/openapi.json`` cannot forget one
(``tests/test_web_api.py`` checks that every ``/api/`` rule is described).

Reading is open (unless ``READ_REQUIRES_LOGIN``). Writes (import) need a signed-in user
with the right role — the session cookie from ``/login`` — and the CSRF token from
``GET /api/session`` in an ``X-CSRFToken`` header.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from flask_wtf.csrf import generate_csrf

from inventory.graph.plan import apply_plan
from inventory.output import render_csv
from inventory.report import build_fault_report
from web import pages
from web.auth import require
from web.jsonutil import plain

bp = Blueprint("api", __name__, url_prefix="/api")

OPERATIONS: list[dict[str, Any]] = []

_ERROR = {"$ref": "#/components/responses/Error"}
_ANY_OBJECT = {"type": "object", "additionalProperties": True}


def _param(name: str, where: str = "query", description: str = "", required: bool = False,
           schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path",
            "description": description, "schema": schema or {"type": "string"}}


def endpoint(rule: str, *, summary: str, tag: str, params: list[dict[str, Any]] = (),
             methods: tuple[str, ...] = ("GET",), responses: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None, auth: bool = False,
             content: str = "application/json") -> Callable:
    def decorate(view: Callable) -> Callable:
        bp.add_url_rule(rule, view_func=view, methods=list(methods))
        OPERATIONS.append({"rule": "/api" + rule, "methods": methods, "summary": summary,
                           "tag": tag, "params": list(params), "responses": responses,
                           "body": body, "auth": auth, "content": content,
                           "doc": (view.__doc__ or "").strip()})
        return view

    return decorate


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        for method in op["methods"]:
            ok_content = {op["content"]: {"schema": _ANY_OBJECT if op["content"] ==
                                          "application/json" else {"type": "string"}}}
            responses = {"200": {"description": "OK", "content": ok_content},
                         "400": _ERROR, "404": _ERROR, "503": _ERROR}
            if op["auth"]:
                responses.update({"401": _ERROR, "403": _ERROR, "413": _ERROR,
                                  "422": {"description": "The import found errors",
                                          "content": {"application/json":
                                                      {"schema": _ANY_OBJECT}}}})
            responses.update(op["responses"] or {})
            operation: dict[str, Any] = {
                "summary": op["summary"], "tags": [op["tag"]],
                "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op['rule'].lower()).strip('_')}",
                "description": op["doc"], "parameters": op["params"], "responses": responses}
            if op["body"]:
                operation["requestBody"] = op["body"]
            if op["auth"]:
                operation["security"] = [{"session": [], "csrf": []}]
            paths.setdefault(openapi_path(op["rule"]), {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Leased-line access inventory API", "version": "1",
                 "description": "Every page of the web app as JSON. Reading is open; writes "
                                "need a signed-in user (session cookie from /login) with the "
                                "right role and the CSRF token of GET /api/session in an "
                                "X-CSRFToken header."},
        "servers": [{"url": request.host_url.rstrip("/")}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie",
                            "name": current_app.config["SESSION_COOKIE_NAME"]},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "status"],
                                  "properties": {"error": {"type": "string"},
                                                 "message": {"type": "string"},
                                                 "status": {"type": "integer"}}}},
            "responses": {"Error": {"description": "An error, as JSON",
                                    "content": {"application/json": {
                                        "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }


@endpoint("/openapi.json", summary="This document", tag="meta")
def openapi():
    """The OpenAPI 3 description of every endpoint under /api/."""
    return jsonify(openapi_document())


@endpoint("/session", summary="The signed-in user and a CSRF token", tag="meta")
def session_info():
    """Who is signed in (null when nobody), and the CSRF token that writes must send in the
    X-CSRFToken header."""
    user = g.get("user")
    return jsonify({"user": user.as_dict() if user else None, "csrf_token": generate_csrf()})


@endpoint("/dashboard", summary="Counts, compliance per tier, worst findings", tag="pages")
def dashboard():
    return jsonify(plain(pages.dashboard()))


@endpoint("/search", summary="Search customers, sites, addresses, circuits, element ids",
          tag="pages", params=[_param("q", description="text to look for", required=True)])
def search():
    q = request.args.get("q")
    if q is None:
        abort(400, description="q is required")
    return jsonify(pages.search(q))


@endpoint("/customers/<path:customer_id>", summary="A customer: sites, circuits, contacts",
          tag="pages", params=[_param("customer_id", "path")])
def customer(customer_id: str):
    return jsonify(plain(pages.customer_page(customer_id)))


@endpoint("/sites/<path:site_id>", summary="The site card: routes, verdict, SPOF, SLA",
          tag="pages", params=[_param("site_id", "path"),
                               _param("requested", description="request date for due dates",
                                      schema={"type": "string", "format": "date"})])
def site(site_id: str):
    return jsonify(plain(pages.site_page(site_id, requested=request.args.get("requested"))))


@endpoint("/sites/<path:site_id>/routes.<fmt>", summary="A site's routes as GeoJSON or KML",
          tag="exports", content="application/octet-stream",
          params=[_param("site_id", "path"),
                  _param("fmt", "path", schema={"type": "string", "enum": ["geojson", "kml"]}),
                  _param("crs", schema={"type": "string", "enum": ["wgs84", "gcj02"]})])
def site_routes(site_id: str, fmt: str):
    from web.views.sites import routes_export

    return routes_export(site_id, fmt)


@endpoint("/sites.geojson", summary="Sites in a bounding box (clustered when many)",
          tag="map", content="application/geo+json",
          params=[_param("bbox", description="west,south,east,north in degrees"),
                  _param("zoom", schema={"type": "integer", "minimum": 0, "maximum": 30})])
def sites_geojson():
    """Single sites when at most MAP_MAX_POINTS are in the box, else grid clusters with a
    ``count``; ``total_in_view`` counts them all."""
    bbox = pages.parse_bbox(request.args.get("bbox"))
    data = pages.sites_geojson(bbox, current_app.config["MAP_MAX_POINTS"])
    return Response(current_app.json.dumps(data), mimetype="application/geo+json")


@endpoint("/elements/<kind>/<path:element_id>", summary="An element and what runs through it",
          tag="pages", params=[_param("kind", "path", schema={"type": "string",
                                                              "enum": list(pages.ELEMENT_KINDS)}),
                               _param("element_id", "path")])
def element(kind: str, element_id: str):
    data = pages.element_page(kind, element_id, with_impact=True)
    data.pop("position_labels", None)
    return jsonify(plain(data))


@endpoint("/fault", summary="Fault location from an OTDR reading", tag="pages",
          params=[_param("cable", required=True, description="cable id"),
                  _param("from", required=True, description="the node measured from"),
                  _param("distance", required=True, description="e.g. 12.35km or 12350m"),
                  _param("slack", schema={"type": "number", "minimum": 1, "maximum": 1.5})])
def fault():
    from web.views.fault import fault_args

    args = fault_args()
    if not args:
        abort(400, description="cable, from and distance are needed")
    data = pages.fault_location(**args)
    return jsonify(data)


@endpoint("/audit", summary="Every site's verdict, filtered", tag="pages",
          params=[_param("tier", schema={"type": "string",
                                         "enum": ["GOLD", "SILVER", "BRONZE", "STANDARD"]}),
                  _param("verdict", schema={"type": "string", "enum": [
                      "COMPLIANT", "NON_COMPLIANT", "INCOMPLETE"]}),
                  _param("district"),
                  _param("page", schema={"type": "integer", "minimum": 1})])
def audit():
    return jsonify(plain(pages.audit_page(**pages.audit_filters(request.args))))


@endpoint("/audit.csv", summary="The audit as CSV (formulas neutralised)", tag="exports",
          content="text/csv",
          params=[_param("tier", schema={"type": "string",
                                         "enum": ["GOLD", "SILVER", "BRONZE", "STANDARD"]}),
                  _param("verdict", schema={"type": "string", "enum": [
                      "COMPLIANT", "NON_COMPLIANT", "INCOMPLETE"]}),
                  _param("district")])
def audit_csv():
    data = pages.audit_page(**pages.audit_filters(request.args), limit=None)
    return Response("\ufeff" + render_csv(data["rows"], pages.AUDIT_COLUMNS), mimetype="text/csv")


@endpoint("/circuits/<path:circuit_id>/report", summary="The pre-filled fault report of a circuit",
          tag="pages", params=[_param("circuit_id", "path")])
def circuit_report(circuit_id: str):
    pages.get_node_or_404("Circuit", circuit_id)
    return jsonify(plain(build_fault_report(pages.get_store(), circuit_id).as_dict()))


_UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                   "crs": {"type": "string"}}}}}}


@endpoint("/imports", summary="Upload exports and dry-run them (importer)", tag="import",
          methods=("POST",), body=_UPLOAD_BODY, auth=True)
@require("import")
def import_upload():
    """Saves the files and returns the dry-run report; when it has no error, ``token``
    commits it with POST /api/imports/commit."""
    from web.views.imports import run_import, save_upload, upload_root

    crs = (request.form.get("crs") or "").strip()[:40] or None
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        token, paths = save_upload(files, crs)
    except ValueError as exc:
        abort(400, description=str(exc))
    report = run_import(paths, dry_run=True, crs=crs)
    if not report["ok"]:
        import shutil

        shutil.rmtree(upload_root() / token, ignore_errors=True)
        token = None
    return jsonify({"report": report, "token": token}), (200 if report["ok"] else 422)


@endpoint("/imports/commit", summary="Commit a dry-run upload (importer)", tag="import",
          methods=("POST",), auth=True, body={"required": True, "content": {
              "application/x-www-form-urlencoded": {"schema": {
                  "type": "object", "required": ["token"],
                  "properties": {"token": {"type": "string"}}}}}})
@require("import")
def import_commit():
    import json
    import shutil

    from web import cache
    from web.views.imports import _paths, _pending_folder

    folder = _pending_folder(request.form.get("token"))
    if folder is None:
        abort(400, description="no pending upload with this token in this session")
    info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    from flask import session

    from web.views.imports import run_import

    try:
        report = run_import(_paths(folder), dry_run=False, crs=info.get("crs"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        session.pop("import_token", None)
    cache.clear()
    return jsonify({"report": report}), (200 if report["ok"] else 422)


def api_rules() -> list[str]:
    """Every /api/ rule of the app (for the test that the document covers them)."""
    return sorted({r.rule for r in current_app.url_map.iter_rules()
                   if r.rule.startswith("/api/")})



@endpoint("/plans", summary="Upload a plan and validate it (planner)", tag="plan",
          methods=("POST",), body=_UPLOAD_BODY, auth=True)
@require("plan")
def plan_validate():
    """Validates the plan over the inventory without changing it; when accepted, ``token``
    applies it with POST /api/plans/apply."""
    import shutil

    from web.views.imports import save_upload, upload_root
    from web.views.plans import validate

    crs = (request.form.get("crs") or "").strip()[:40] or None
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        token, paths = save_upload(files, crs, kind="plan")
    except ValueError as exc:
        abort(400, description=str(exc))
    _, validation = validate(paths, crs)
    if not validation["accepted"]:
        shutil.rmtree(upload_root() / token, ignore_errors=True)
        token = None
    return jsonify({"validation": validation, "token": token}), \
        (200 if validation["accepted"] else 422)


@endpoint("/plans/apply", summary="Apply a validated plan (planner)", tag="plan",
          methods=("POST",), auth=True, body={"required": True, "content": {
              "application/x-www-form-urlencoded": {"schema": {
                  "type": "object", "required": ["token"],
                  "properties": {"token": {"type": "string"}}}}}})
@require("plan")
def plan_apply():
    import json
    import shutil

    from flask import session

    from web import cache
    from web.extensions import get_store
    from web.views.imports import _paths, _pending_folder
    from web.views.plans import validate

    folder = _pending_folder(request.form.get("token"), kind="plan")
    if folder is None:
        abort(400, description="no validated plan with this token in this session")
    info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    try:
        read, validation = validate(_paths(folder), info.get("crs"))
        if not read.ok or not validation["accepted"]:
            return jsonify({"validation": validation, "applied": None}), 422
        result = plain(apply_plan(get_store(), read.plan))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        session.pop("plan_token", None)
    cache.clear()
    return jsonify({"validation": validation, "applied": result})
