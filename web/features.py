"""Which analysis and geo libraries this installation has, and one adapter per use.

The pages call only these functions; each imports its library on first use. A library
that is not installed makes its feature unavailable (``*_available()`` is False): the page
leaves that part out and the navigation does not offer it — nothing pretends to work.
"""

from __future__ import annotations

import importlib
import logging
from functools import cache
from types import ModuleType

log = logging.getLogger(__name__)


@cache
def module(name: str) -> ModuleType | None:
    """The module, or None when it (not one of its own imports) does not exist."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def _has(name: str, *attrs: str) -> bool:
    mod = module(name)
    return mod is not None and all(hasattr(mod, a) for a in attrs)


def importer_available() -> bool:
    return _has("importers.core", "import_paths")


def trace_available() -> bool:
    return _has("inventory.graph.trace") and _has("inventory.graph.network", "load_site_graph")


def compliance_available() -> bool:
    return _has("inventory.graph.compliance")


def audit_available() -> bool:
    return compliance_available()


def otdr_available() -> bool:
    return _has("inventory.geo.otdr", "locate_fault")


def export_available() -> bool:
    return _has("inventory.geo.export", "route_features", "geojson_text", "kml_text")


def measure_available() -> bool:
    return _has("inventory.geo.measure", "distance_band", "DepotIndex")


def sla_available() -> bool:
    return _has("inventory.geo.sla", "sla_profile")


def impact_available() -> bool:
    return _has("inventory.graph.impact")


def plans_available() -> bool:
    return _has("inventory.graph.plan", "read_plan", "validate_plan") or \
        _has("inventory.graph.planning")


def report_available() -> bool:
    return _has("inventory.report", "build_fault_report", "render_html")
