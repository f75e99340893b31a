"""Audit: every site's verdict, filterable by tier, verdict and district; CSV export."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from inventory.output import render_csv
from web import pages

bp = Blueprint("audit", __name__)


@bp.route("/audit")
def index():
    data = pages.audit_page(**pages.audit_filters(request.args))
    return render_template("audit.html", data=data)


@bp.route("/audit.csv")
def csv_export():
    data = pages.audit_page(**pages.audit_filters(request.args), limit=None)
    text = render_csv(data["rows"], pages.AUDIT_COLUMNS)
    return Response("\ufeff" + text, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=\"audit.csv\""})
