"""Search by customer, site, address, circuit number or element id."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request

from web import pages

bp = Blueprint("search", __name__)


@bp.route("/search")
def index():
    query = request.args.get("q", "")
    data = pages.search(query)
    # one exact hit: straight to its page
    if len(data["results"]) == 1 and request.args.get("go") == "1":
        return redirect(data["results"][0]["url"])
    return render_template("search.html", data=data)
