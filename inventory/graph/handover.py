"""Maintenance boundary (domain-rules.md §5): who maintains each step of a route.

Every step of a route is maintained either by the group-customer maintainers (``"group"``)
or by the base-network maintainers (``"base"``). The rules are one table,
:data:`MAINTENANCE_RULES` — data, first matching row wins — documented in docs/analysis.md.
Rooms and points take the side of the sections around them; where the two sides of a room
or point differ (a distribution cable joins a trunk cable at a 光交, 机房 or 分歧接头盒; a
distribution duct joins the trunk duct) the step is a **boundary** (handover point).

>>> device_maintainer({"type": "OLT", "layer": "ACCESS"})
'group'
>>> device_maintainer({"type": "PTN", "layer": "ACCESS"})
'base'
>>> section_maintainer({"level": "DROP"})
'group'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GROUP = "group"
BASE = "base"


@dataclass(frozen=True)
class Rule:
    """One row: a ``what`` (device, section, duct, site) whose property ``prop`` equals
    ``value`` (``None``: any) is maintained by ``maintainer``; ``why`` cites §5."""

    what: str
    prop: str | None
    value: str | None
    maintainer: str
    why: str


#: The §5 table. First matching row wins; the last row of each ``what`` is its default.
MAINTENANCE_RULES: tuple[Rule, ...] = (
    # Equipment level
    Rule("device", "layer", "CUSTOMER", GROUP, "§5.2/§5.4: customer-side equipment"),
    Rule("device", "type", "OLT", GROUP, "§5.3: PON maintained end to end"),
    Rule("device", "type", "SPLITTER", GROUP, "§5.3: PON maintained end to end"),
    Rule("device", "type", "ONU", GROUP, "§5.3: PON maintained end to end"),
    Rule("device", "type", "MEDIA_CONVERTER", GROUP, "§5.3: other access equipment"),
    Rule("device", "type", "PROTOCOL_CONVERTER", GROUP, "§5.3/§5.5: converters and adapters"),
    Rule("device", "type", "MICROWAVE", GROUP, "§5.3: microwave"),
    Rule("device", "type", "OPTICAL_TERMINAL_8M", GROUP, "§5.3: 8M optical terminal"),
    Rule("device", "type", "WIMAX", GROUP, "§5.3: WiMAX"),
    Rule("device", "type", "ROUTER", GROUP, "§5.4: customer-side routers"),
    Rule("device", "type", "SWITCH", GROUP, "§5.4: customer-side switches"),
    Rule("device", "type", "HUB", GROUP, "§5.4: customer-side hubs"),
    Rule("device", "type", "PTN", BASE, "§5.2: MSTP/SDH/PTN access: only the customer side is ours"),
    Rule("device", "type", "MSTP", BASE, "§5.2"),
    Rule("device", "type", "SDH", BASE, "§5.2"),
    Rule("device", None, None, BASE, "(policy) any other operator device"),
    # Line level
    Rule("section", "level", "DISTRIBUTION", GROUP, "§5 line level: distribution cables"),
    Rule("section", "level", "DROP", GROUP, "§5 line level: drop cables to the customer"),
    Rule("section", "level", "TRUNK", BASE, "§5 line level: trunk cables are the base network's"),
    Rule("section", None, None, BASE, "(policy) a cable of unknown level"),
    Rule("duct", "kind", "DISTRIBUTION", GROUP, "§5 line level: distribution ducts"),
    Rule("duct", "kind", "TRUNK", BASE, "§5: the trunk duct is the boundary"),
    Rule("duct", None, None, BASE, "(policy) a duct of unknown kind"),
    Rule("site", None, None, GROUP, "§5.1: the customer's premises"),
)


def maintainer(what: str, props: dict[str, Any] | None) -> str:
    """The maintainer of an element of kind ``what`` with these properties (first rule)."""
    props = props or {}
    for rule in MAINTENANCE_RULES:
        if rule.what == what and (rule.prop is None or props.get(rule.prop) == rule.value):
            return rule.maintainer
    return BASE


def device_maintainer(props: dict[str, Any] | None) -> str:
    return maintainer("device", props)


def section_maintainer(cable: dict[str, Any] | None) -> str:
    return maintainer("section", cable)


def duct_maintainer(duct: dict[str, Any] | None) -> str:
    return maintainer("duct", duct)


def mark_boundaries(steps: Sequence[Any]) -> None:
    """Set ``maintainer`` of room/point steps and ``boundary`` of every step, in place.

    ``steps`` are objects with ``kind``, ``maintainer``, ``boundary`` and
    ``duct_maintainers`` (a list, sections only) attributes, in route order; devices,
    sites and sections already carry their maintainer.

    * a room or point is ``base`` when a base-maintained section or device touches it on the
      route, ``group`` otherwise; it is a boundary when its two sides differ, or when the
      ducts on its two sides are maintained by different sides (a distribution duct joins
      the trunk duct there);
    * a section is itself a boundary when its own ducts change side along it;
    * a device is a boundary when a section or device next to it on the route is maintained
      by the other side (a splitter in the 光交 where the distribution cable meets the trunk
      feeder; a customer device patched straight to an operator's PTN).
    """
    n = len(steps)
    for i, step in enumerate(steps):
        if step.kind in ("room", "point"):
            sides = [steps[j].maintainer for j in (i - 1, i + 1)
                     if 0 <= j < n and steps[j].kind in ("section", "device")]
            step.maintainer = BASE if BASE in sides else GROUP
            duct_sides = set()
            if i > 0 and steps[i - 1].kind == "section" and steps[i - 1].duct_maintainers:
                duct_sides.add(steps[i - 1].duct_maintainers[-1])
            if i + 1 < n and steps[i + 1].kind == "section" and steps[i + 1].duct_maintainers:
                duct_sides.add(steps[i + 1].duct_maintainers[0])
            step.boundary = len(set(sides)) > 1 or len(duct_sides) > 1
        elif step.kind == "section":
            step.boundary = len(set(step.duct_maintainers or ())) > 1
        elif step.kind == "device":
            sides = {steps[j].maintainer for j in (i - 1, i + 1)
                     if 0 <= j < n and steps[j].kind in ("section", "device")}
            step.boundary = bool(sides - {step.maintainer})
        else:
            step.boundary = False
