"""Links to elements, for the templates: ``element_link``, ``step_link`` and the rows of a
route's segment table (``segment_rows``).

A site page has hundreds of links (every section, cable and duct of every route). As Jinja
macros calling ``url_for`` they were a third of the page's time, so they are plain
functions: each endpoint's URL prefix is built once per request with ``url_for`` and the id
is quoted the way werkzeug's ``path`` converter quotes it. For the same reason a segment
table's row (seven links and five cells, a few hundred rows a page) is written here rather
than in ``_segments.html``: one call per table instead of a dozen template calls per row.
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


class _Links:
    """The links of one request. A page links the same cables, ducts and points many times,
    so each link is built once; each endpoint's URL prefix too."""

    def __init__(self) -> None:
        self.prefixes: dict[str, str] = {}
        self.made: dict[tuple[Any, Any, Any], Markup] = {}

    def url(self, label: str, element_id: Any) -> str | None:
        prefix = self.prefixes.get(label)
        if prefix is None:
            if label not in ELEMENT_KINDS and label not in ("Site", "Customer"):
                return None
            if label == "Site":
                url = url_for("sites.show", site_id=_SENTINEL)
            elif label == "Customer":
                url = url_for("customers.show", customer_id=_SENTINEL)
            else:
                url = url_for("elements.show", kind=label, element_id=_SENTINEL)
            prefix = self.prefixes[label] = url[:url.rindex(_SENTINEL)]
        return prefix + quote(str(element_id), safe=_PATH_SAFE)

    def link(self, label: str, element_id: Any, name: Any = None) -> Markup:
        key = (label, element_id, name)
        link = self.made.get(key)
        if link is None:
            text = escape(name or element_id)
            url = self.url(label, element_id)
            # f-string: Markup.format is slow
            link = self.made[key] = Markup(text if url is None
                                           else f'<a href="{escape(url)}">{text}</a>')
        return link


def _links() -> _Links:
    links = g.get("_links")
    if links is None:
        links = g._links = _Links()
    return links


def element_url(label: str, element_id: Any) -> str | None:
    """The page of an element, or None when its label has no page."""
    return _links().url(label, element_id)


def element_link(label: str, element_id: Any, name: Any = None) -> Markup:
    """``<a href="…">name</a>`` to the element's page (just the name when it has none)."""
    return _links().link(label, element_id, name)


def step_link(ref: dict[str, Any] | None) -> Markup:
    """The link of a route step reference (see ``web.pages.segment_table``), with a handover
    badge when the step is a maintenance boundary."""
    return _step_link(_links(), ref, t("handover"))


def _step_link(links: _Links, ref: dict[str, Any] | None, handover: str) -> Markup:
    if not ref:
        return Markup("")
    link = links.link(ref.get("label"), ref.get("id"), ref.get("name"))
    if ref.get("boundary"):
        link += Markup(f' <span class="badge handover" title="{escape(handover)}">⇄</span>')
    return link


def segment_rows(rows: list[dict[str, Any]], show_route: bool) -> Markup:
    """The ``<tr>``s of a segment table (rows of ``web.pages.segment_table``), in one call:
    the request's links, the language and the translated words are looked up once per
    table, not once per cell."""
    links = _links()
    link = links.link
    handover, shared_badge = t("handover"), escape(t("shared"))
    enums: dict[Any, str] = {}

    def enum(value: Any) -> str:
        text = enums.get(value)
        if text is None:
            text = enums[value] = escape(t_enum(value))
        return text

    out = []
    for row in rows:
        cable = ""
        if row.get("cable_id"):
            cable = link("Cable", row["cable_id"], row.get("cable_name") or row["cable_id"])
        if row.get("cable_level"):
            cable += " · " + enum(row["cable_level"])
        cores, fibers = row.get("cores_used"), row.get("fiber_count")
        ducts = ", ".join([link("Duct", d, d) for d in row.get("duct_ids") or ()])
        shared = row.get("shared")
        out.append(
            f'<tr class="{"shared" if shared else ""}">'
            + (f"<td>{escape(row.get('route'))}</td>" if show_route else "")
            + f"<td>{_step_link(links, row.get('from'), handover)}</td>"
            f"<td>{_step_link(links, row.get('to'), handover)}</td>"
            f"<td>{link('SEGMENT', row.get('id'), row.get('id'))}"
            f'<div class="detail">{cable}</div></td>'
            f"<td>{escape('?' if cores is None else cores)}/"
            f"{escape('?' if fibers is None else fibers)}"
            f'</td><td class="num">{escape(fmt_m(row.get("length_m")))}</td>'
            f"<td>{enum(row.get('laying'))}</td><td>{ducts}</td>"
            f"<td>{enum(row.get('maintainer'))}"
            + (f' <span class="badge shared">{shared_badge}</span>' if shared else "")
            + "</td></tr>\n")
    return Markup("".join(out))
