"""Links to elements, for the templates: ``element_link``, ``step_link`` and the rows of a
route's segment table (``segment_row``).

A site page has hundreds of links (every section, cable and duct of every route). As Jinja
macros calling ``url_for`` they were a third of the page's time, so they are plain
functions: each endpoint's URL prefix is built once per request with ``url_for`` and the id
is quoted the way werkzeug's ``path`` converter quotes it. For the same reason a segment
table's row (seven links and five cells, a few hundred rows a page) is written here rather
than in ``_segments.html``: one call per row instead of a dozen template calls.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import g, url_for
from markupsafe import Markup, escape

from web.i18n import fmt_m, t, t_enum

#: labels with a page of their own under /elements/<kind>/<id>
ELEMENT_KINDS = frozenset({"Equipment", "Room", "Point", "Cable", "Duct", "MaintenancePoint",
                           "Circuit", "SEGMENT"})
_SENTINEL = "__ID__"
# werkzeug.routing.converters.PathConverter.to_url
_PATH_SAFE = "!$&'()*+,/:;=@"


def _prefix(label: str) -> str:
    prefixes = g.setdefault("_link_prefixes", {})
    if label not in prefixes:
        if label == "Site":
            url = url_for("sites.show", site_id=_SENTINEL)
        elif label == "Customer":
            url = url_for("customers.show", customer_id=_SENTINEL)
        else:
            url = url_for("elements.show", kind=label, element_id=_SENTINEL)
        prefixes[label] = url[:url.rindex(_SENTINEL)]
    return prefixes[label]


def element_url(label: str, element_id: Any) -> str | None:
    """The page of an element, or None when its label has no page."""
    if label not in ELEMENT_KINDS and label not in ("Site", "Customer"):
        return None
    return _prefix(label) + quote(str(element_id), safe=_PATH_SAFE)


def element_link(label: str, element_id: Any, name: Any = None) -> Markup:
    """``<a href="…">name</a>`` to the element's page (just the name when it has none)."""
    # a page links the same cables, ducts and points many times: built once per request
    made = g.setdefault("_links", {})
    key = (label, element_id, name)
    link = made.get(key)
    if link is None:
        text = escape(name or element_id)
        url = element_url(label, element_id)
        # f-string: Markup.format is slow
        link = made[key] = Markup(text if url is None else f'<a href="{escape(url)}">{text}</a>')
    return link


def step_link(ref: dict[str, Any] | None) -> Markup:
    """The link of a route step reference (see ``web.pages.segment_table``), with a handover
    badge when the step is a maintenance boundary."""
    if not ref:
        return Markup("")
    link = element_link(ref.get("label"), ref.get("id"), ref.get("name"))
    if ref.get("boundary"):
        link += Markup(f' <span class="badge handover" title="{escape(t("handover"))}">⇄</span>')
    return link


def segment_row(row: dict[str, Any], show_route: bool) -> Markup:
    """One ``<tr>`` of a segment table (a row of ``web.pages.segment_table``)."""
    cable = ""
    if row.get("cable_id"):
        cable = element_link("Cable", row["cable_id"], row.get("cable_name") or row["cable_id"])
    if row.get("cable_level"):
        cable += " · " + escape(t_enum(row["cable_level"]))
    cores, fibers = row.get("cores_used"), row.get("fiber_count")
    ducts = ", ".join(element_link("Duct", d, d) for d in row.get("duct_ids") or ())
    shared = f' <span class="badge shared">{escape(t("shared"))}</span>' if row.get("shared") else ""
    return Markup(
        f'<tr class="{"shared" if row.get("shared") else ""}">'
        + (f"<td>{escape(row.get('route'))}</td>" if show_route else "")
        + f"<td>{step_link(row.get('from'))}</td><td>{step_link(row.get('to'))}</td>"
        f"<td>{element_link('SEGMENT', row.get('id'), row.get('id'))}"
        f'<div class="detail">{cable}</div></td>'
        f"<td>{escape('?' if cores is None else cores)}/{escape('?' if fibers is None else fibers)}"
        f'</td><td class="num">{escape(fmt_m(row.get("length_m")))}</td>'
        f"<td>{escape(t_enum(row.get('laying')))}</td><td>{ducts}</td>"
        f"<td>{escape(t_enum(row.get('maintainer')))}{shared}</td></tr>\n")
