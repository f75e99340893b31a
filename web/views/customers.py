"""A customer: its sites with their compliance, its circuits, tier and contacts."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from inventory.report import build_fault_report, render_html
from web import pages

bp = Blueprint("customers", __name__)


@bp.route("/customers/<path:customer_id>")
def show(customer_id: str):
    return render_template("customer.html", data=pages.customer_page(customer_id))


@bp.route("/circuits/<path:circuit_id>/report")
def circuit_report(circuit_id: str):
    """The pre-filled fault analysis report of a circuit (domain-rules §6), printable."""
    pages.get_node_or_404("Circuit", circuit_id)
    report = build_fault_report(pages.get_store(), circuit_id)
    return Response(render_html(report), mimetype="text/html")
