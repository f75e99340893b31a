"""Links to elements, for the templates: ``element_link`` and ``step_link``.

A site page has hundreds of links (every section, cable and duct of every route). As Jinja
macros calling ``url_for`` they were a third of the page's time, so they are plain
functions: each endpoint's URL prefix is built once per request with ``url_for`` and the id
is quoted the way werkzeug's ``path`` converter quotes it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import g, url_for
from markupsafe import Markup, escape

from web.i18n import t

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
    text = escape(name or element_id)
    url = element_url(label, element_id)
    if url is None:
        return Markup(text)
    return Markup(f'<a href="{escape(url)}">{text}</a>')  # f-string: Markup.format is slow


def step_link(ref: dict[str, Any] | None) -> Markup:
    """The link of a route step reference (see ``web.pages.segment_table``), with a handover
    badge when the step is a maintenance boundary."""
    if not ref:
        return Markup("")
    link = element_link(ref.get("label"), ref.get("id"), ref.get("name"))
    if ref.get("boundary"):
        link += Markup(f' <span class="badge handover" title="{escape(t("handover"))}">⇄</span>')
    return link
