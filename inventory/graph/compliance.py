"""Tier compliance, single points of failure and shared risk (domain-rules.md §2).

Each requirement of a site's tier (``model.tier_policy``) is evaluated on its own:

``access_nodes``
    distinct access nodes the site reaches, counted by room (two in one room are one);
``customer_devices``
    customer-side devices at the site that reach an access node;
``diverse_routes``
    physically diverse routes (sharing no section, cable, duct, point, room or device apart
    from the site and — when the tier or the data has only one of them — the customer device
    and the access node with its room);
``ring``
    the site's access nodes that reach the aggregation layer over two physically diverse
    paths (the node, its room and the aggregation end are exempt);
``monitored``
    active (non-passive) devices on the routes, customer side and access, that are monitored.

Each has ``required``, ``found`` and a verdict ``PASS``/``FAIL``/``UNKNOWN``; the site is
``COMPLIANT``, ``NON_COMPLIANT`` (some requirement fails) or ``INCOMPLETE`` (the data cannot
tell: no customer-side device, no route to any access node, no tier, or a requirement that
cannot be evaluated).

>>> from inventory.graph.network import example_network
>>> c = check(example_network(), "S-1")
>>> c.verdict, [(r.name, r.verdict) for r in c.requirements]  # doctest: +NORMALIZE_WHITESPACE
('COMPLIANT', [('access_nodes', 'PASS'), ('customer_devices', 'PASS'),
 ('diverse_routes', 'PASS'), ('ring', 'PASS'), ('monitored', 'PASS')])
>>> [(s.kind, s.id) for s in single_points_of_failure(example_network(), "S-1")]
[('device', 'PTN-1'), ('device', 'RT-1'), ('room', 'R-ACC1')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from inventory.graph.network import AGG, AGG_HOST, AGG_ROOM, PASSIVE, network_index
from inventory.graph.store import Key
from inventory.graph.trace import (
    KIND,
    SharedElement,
    SiteAnalysis,
    _connected,
    analyse_site,
    describe,
    route_elements,
    shared_elements,
    side_cuts,
)
from inventory.model import Tier, tier_policy

PASS, FAIL, UNKNOWN = "PASS", "FAIL", "UNKNOWN"
COMPLIANT, NON_COMPLIANT, INCOMPLETE = "COMPLIANT", "NON_COMPLIANT", "INCOMPLETE"
VERDICTS = (COMPLIANT, NON_COMPLIANT, INCOMPLETE)
REQUIREMENTS = ("access_nodes", "customer_devices", "diverse_routes", "ring", "monitored")


@dataclass
class Requirement:
    name: str
    required: int
    found: int | None
    verdict: str
    detail: str = ""
    elements: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Spof:
    """A single point of failure: its failure alone cuts the site off from every access node
    (``side="access"``) or every remaining access node from aggregation (``"aggregation"``)."""

    kind: str
    id: str
    name: str | None
    where: str
    side: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SiteCheck:
    site_id: str
    site_name: str | None
    customer_id: str | None
    tier: str | None
    verdict: str
    requirements: list[Requirement]
    spofs: list[Spof] | None
    shared: list[SharedElement]
    notes: list[str]

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.requirements if r.verdict == FAIL]

    @property
    def unknown(self) -> list[str]:
        return [r.name for r in self.requirements if r.verdict == UNKNOWN]

    def requirement(self, name: str) -> Requirement:
        return next(r for r in self.requirements if r.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {"site_id": self.site_id, "site_name": self.site_name,
                "customer_id": self.customer_id, "tier": self.tier, "verdict": self.verdict,
                "failed": self.failed,
                "requirements": [r.as_dict() for r in self.requirements],
                "spofs": None if self.spofs is None else [s.as_dict() for s in self.spofs],
                "shared": [s.as_dict() for s in self.shared], "notes": self.notes}

    def as_row(self) -> dict[str, Any]:
        """One audit row."""
        return {"site_id": self.site_id, "site_name": self.site_name,
                "customer_id": self.customer_id, "tier": self.tier, "verdict": self.verdict,
                "failed": self.failed, "unknown": self.unknown,
                "note": "; ".join(self.notes)}


# --- requirements ------------------------------------------------------------------------------

def _route_devices(a: SiteAnalysis) -> list[Key]:
    """Active devices on the site's routes: every device of the access region."""
    if a.access is None:
        return []
    return sorted(v for v in a.access.region.succ if v[0] == "Equipment"
                  and not a.ix.role[v] & PASSIVE)


def _requirements(a: SiteAnalysis) -> tuple[list[Requirement], list[str], list[SharedElement]]:
    pol = a.policy or tier_policy(Tier.STANDARD)
    notes: list[str] = []
    routed = bool(a.access_nodes)
    reqs: list[Requirement] = []
    # access nodes, counted by room
    by_room: dict[Key, list[Key]] = {}
    for node in a.access_nodes:
        by_room.setdefault(a.ix.location.get(node, node), []).append(node)
    found = len(by_room)
    detail = ", ".join(f"{n[1]} in {describe(a.G, room)}" for room, ns in by_room.items()
                       for n in ns)
    crowded = [room for room, ns in by_room.items() if len(ns) > 1]
    if crowded:
        detail += "; " + "; ".join(f"{', '.join(n[1] for n in by_room[r])} share "
                                   f"{describe(a.G, r)}" for r in crowded)
    verdict = UNKNOWN if not routed else PASS if found >= pol.access_nodes else FAIL
    reqs.append(Requirement("access_nodes", pol.access_nodes, found if routed else 0, verdict,
                            detail or "no access node reached",
                            [n[1] for n in a.access_nodes]))
    # customer-side devices
    devices = a.routed_devices if routed else a.devices
    if not a.devices:
        reqs.append(Requirement("customer_devices", pol.customer_devices, 0, UNKNOWN,
                                "no customer-side device recorded at the site"))
    else:
        unrouted = sorted(set(a.devices) - set(a.routed_devices)) if routed else []
        detail = ", ".join(d[1] for d in devices)
        if unrouted:
            detail += "; no route from " + ", ".join(d[1] for d in unrouted)
        reqs.append(Requirement("customer_devices", pol.customer_devices, len(devices),
                                PASS if len(devices) >= pol.customer_devices else FAIL,
                                detail, [d[1] for d in devices]))
    # diverse routes
    side = a.access
    shared: list[SharedElement] = []
    if not routed or side is None:
        reqs.append(Requirement("diverse_routes", pol.routes, 0, UNKNOWN, "no route"))
    else:
        diverse = min(side.diverse, max(pol.routes, 2))
        if pol.routes < 2:
            detail = "one route required" + ("; two physically diverse routes exist"
                                             if diverse >= 2 else "")
        elif side.diverse < 2 and len(side.paths) == 2:
            shared = shared_elements(a.G, a.ix, side.paths[0], side.paths[1], side.shared)
            detail = "; ".join(s.message for s in shared)
        elif side.diverse < 2:
            detail = "only one route"
        else:
            detail = "two physically diverse routes"
        reqs.append(Requirement("diverse_routes", pol.routes, diverse,
                                PASS if diverse >= pol.routes else FAIL, detail,
                                [s.id for s in shared]))
    # ring
    rooms_on_ring = {a.ix.location.get(n, n) for n, up in a.uplinks.items() if up.diverse >= 2}
    no_uplink = [n for n, up in a.uplinks.items() if not up.paths]
    needed = min(pol.access_nodes, found) if pol.ring else 0
    detail = ", ".join(f"{n[1]}: {'ring' if up.diverse >= 2 else 'no uplink' if not up.paths else 'single path'}"
                       for n, up in sorted(a.uplinks.items()))
    if not pol.ring:
        verdict = PASS
    elif not routed:
        verdict = UNKNOWN
    elif len(rooms_on_ring) >= needed:
        verdict = PASS
    elif len(no_uplink) == len(a.uplinks):
        verdict = UNKNOWN
        detail += "; no access node reaches the aggregation layer in the data"
    else:
        verdict = FAIL
    reqs.append(Requirement("ring", needed, len(rooms_on_ring) if routed else 0, verdict,
                            detail or "no access node",
                            [n[1] for n, up in sorted(a.uplinks.items()) if up.diverse < 2]))
    # monitored
    devices = _route_devices(a)
    values = {d: a.G.nodes[d].get("monitored") for d in devices}
    off = [d[1] for d, v in values.items() if v is False]
    blank = [d[1] for d, v in values.items() if v is None]
    if not pol.monitored:
        verdict = PASS
    elif not routed:
        verdict = UNKNOWN
    elif off:
        verdict = FAIL
    elif blank:
        verdict = UNKNOWN
    else:
        verdict = PASS
    detail = (f"not monitored: {', '.join(off)}" if off else "") + (
        ("; " if off else "") + f"monitoring unknown: {', '.join(blank)}" if blank else "")
    reqs.append(Requirement("monitored", len(devices), len(devices) - len(off) - len(blank)
                            if routed else 0, verdict, detail or "all monitored", off + blank))
    if not a.devices:
        notes.append("no customer-side device at the site")
    elif not routed:
        notes.append("no route from the site to an access node")
    if a.tier is None:
        notes.append("the site and its customer have no tier; checked as STANDARD")
    return reqs, notes, shared


def _verdict(a: SiteAnalysis, reqs: list[Requirement]) -> str:
    if not a.devices or not a.access_nodes or a.tier is None:
        return INCOMPLETE
    if any(r.verdict == FAIL for r in reqs):
        return NON_COMPLIANT
    if any(r.verdict == UNKNOWN for r in reqs):
        return INCOMPLETE
    return COMPLIANT


# --- single points of failure --------------------------------------------------------------------

def _where(G: Any, ix: Any, paths: list[list[Key]], key: Key) -> str:
    for path in paths:
        sections = [v for v in path if v[0] == "SEGMENT" and key in ix.elements[v]]
        if sections:
            first, last = ix.segments[sections[0][1]], ix.segments[sections[-1][1]]
            ends = {first[0], first[1], last[0], last[1]}
            on = [v for v in path if v in ends]
            if on:
                return f"between {describe(G, on[0])} and {describe(G, on[-1])}"
        if key in path:
            place = ix.location.get(key)
            if place is not None:
                return f"in {describe(G, place)}"
            i = path.index(key)
            return f"on the route at step {i + 1}"
        for v in path:
            if ix.location.get(v) == key:
                return f"houses {describe(G, v)}"
    return ""


def spofs_of(a: SiteAnalysis) -> list[Spof]:
    """The single points of failure of an analysed site (see
    :func:`single_points_of_failure`)."""
    side = a.access
    if side is None or not side.paths:
        return []
    ix, G = a.ix, a.G
    ignore = frozenset({a.site})
    cuts = side_cuts(ix, side, ignore)
    out: dict[Key, Spof] = {}

    def add(key: Key, which: str, paths: list[list[Key]]) -> None:
        if key in out:
            return
        if key[0] == "Cable":
            name = G.graph.get("cables", {}).get(key[1], {}).get("name")
        elif key[0] == "Duct":
            name = G.graph.get("ducts", {}).get(key[1], {}).get("name")
        elif key[0] == "SEGMENT":
            name = ix.segments[key[1]][2].get("name")
        else:
            name = G.nodes[key].get("name") if key in G else None
        out[key] = Spof(KIND[key[0]], key[1], name, _where(G, ix, paths, key), which)

    for key in cuts:
        add(key, "access", side.paths)
    ups = {n: up for n, up in a.uplinks.items() if up.paths}
    if ups:
        candidates: set[Key] = set()
        up_cuts = {n: side_cuts(ix, up) for n, up in ups.items()}
        for c in up_cuts.values():
            candidates |= c
        for key in sorted(candidates - set(out) - ignore):
            if ix.role.get(key, 0) & (AGG | AGG_ROOM | AGG_HOST):
                continue  # the aggregation layer protects itself (domain-rules §2)
            reached = _connected(side.region, ix, frozenset([key]))
            live = [n for n in reached if n in ups]
            if live and all(key in up_cuts[n] for n in live):
                add(key, "aggregation", [p for n in live for p in ups[n].paths])
    order = {"access": 0, "aggregation": 1}
    return sorted(out.values(), key=lambda s: (order[s.side], s.kind, s.id))


def single_points_of_failure(G: Any, site: str, *, failed: Iterable[Any] = ()) -> list[Spof]:
    """Every element whose failure alone cuts the site off from every access node, or from
    the aggregation layer.

    Elements are devices (with the room or point they are in), rooms, points, cable sections,
    cables (all their sections at once) and ducts (every section in them). The site itself is
    not reported; a single customer-side device or a single access node is; the aggregation
    layer is not (it protects itself, domain-rules §2).

    Parameters
    ----------
    G : networkx.MultiGraph
    site : str
    failed : iterable of element references, optional
        Elements already failed (see :func:`inventory.graph.trace.element_key`).

    Returns
    -------
    list of Spof
        Sorted by side (access first), kind and id.

    Examples
    --------
    >>> from inventory.graph.network import example_network
    >>> G = example_network()
    >>> [(s.kind, s.id, s.side) for s in single_points_of_failure(G, "S-1",
    ...                                                            failed=[("cable", "C-2")])]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('cable', 'C-1', 'access'), ('device', 'PTN-1', 'access'), ('device', 'RT-1', 'access'),
     ('duct', 'D-1', 'access'), ('point', 'MH-1', 'access'), ('room', 'R-ACC1', 'access'),
     ('section', 'SEG-1a', 'access'), ('section', 'SEG-1b', 'access')]
    """
    return spofs_of(analyse_site(G, site, failed=failed))


def shared_risk(G: Any, route_a: list[Key] | Any, route_b: list[Key] | Any,
                exempt: Iterable[Key] = ()) -> list[SharedElement]:
    """The elements two routes both depend on, each with where it lies on them.

    ``route_a`` / ``route_b`` are :class:`~inventory.graph.trace.Route` objects or vertex
    paths; ``exempt`` element keys (the site, a shared access node) are left out.
    """
    ix = network_index(G)
    paths = [_as_path(r) for r in (route_a, route_b)]
    keys = (route_elements(ix, paths[0]) & route_elements(ix, paths[1])) - set(exempt)
    return shared_elements(G, ix, paths[0], paths[1], keys)


def _as_path(route: Any) -> list[Key]:
    if isinstance(route, list):
        return route
    label = {"device": "Equipment", "room": "Room", "point": "Point", "site": "Site",
             "section": "SEGMENT"}
    return [(label[s.kind], s.id) for s in route.steps]


# --- the check of one site, and of every site -------------------------------------------------

def check_from(a: SiteAnalysis, spofs: bool = True) -> SiteCheck:
    """The :class:`SiteCheck` of an analysis (see :func:`check`)."""
    reqs, notes, shared = _requirements(a)
    return SiteCheck(a.site[1], a.props.get("name"), a.props.get("customer_id"), a.tier,
                     _verdict(a, reqs), reqs, spofs_of(a) if spofs else None, shared, notes)


def check(G: Any, site: str, *, failed: Iterable[Any] = (), policy: Any = None,
          spofs: bool = True) -> SiteCheck:
    """Check a site against its tier.

    Parameters
    ----------
    G : networkx.MultiGraph
    site : str
        Site id; its tier is the site's own or else its customer's.
    failed : iterable of element references, optional
        Evaluate with these elements failed: "is the tier still met" for fault impact.
    policy : inventory.model.Policy, optional
    spofs : bool
        Also list the single points of failure.

    Returns
    -------
    SiteCheck
        Never raises on bad data: what cannot be told is ``UNKNOWN`` / ``INCOMPLETE``.

    Raises
    ------
    NotFound
        When the site is not in ``G``.

    Examples
    --------
    >>> from inventory.graph.network import example_network
    >>> c = check(example_network(), "S-1", failed=[("duct", "D-2")])
    >>> c.verdict, c.failed
    ('NON_COMPLIANT', ['diverse_routes'])
    """
    return check_from(analyse_site(G, site, failed=failed, policy=policy), spofs=spofs)


def audit(G: Any, *, tier: str | Iterable[str] | None = None,
          customer: str | Iterable[str] | None = None, verdict: str | Iterable[str] | None = None,
          policy: Any = None, spofs: bool = False,
          sites: Iterable[str] | None = None) -> Iterator[SiteCheck]:
    """Check every site of ``G`` (in id order), optionally only some tiers, customers or
    verdicts, or only the ``sites`` given (ids; those not in ``G`` are left out). Uplink
    analyses are shared between the sites of one access node.

    >>> from inventory.graph.network import example_network
    >>> [(c.site_id, c.verdict) for c in audit(example_network())]
    [('S-1', 'COMPLIANT')]
    """
    tiers = _choice(tier, lambda t: Tier.parse(t).value)
    customers = _choice(customer, str)
    verdicts = _choice(verdict, lambda v: _parse_verdict(v))
    if sites is None:
        keys = sorted(k for k in G if k[0] == "Site")
    else:
        keys = sorted(k for k in {("Site", s) for s in sites} if k in G)
    ix = network_index(G)
    for key in keys:
        props = G.nodes[key]
        if customers is not None and props.get("customer_id") not in customers:
            continue
        a = analyse_site(G, key, policy=policy, index=ix)
        if tiers is not None and a.tier not in tiers:
            continue
        result = check_from(a, spofs=spofs)
        if verdicts is not None and result.verdict not in verdicts:
            continue
        yield result


def _parse_verdict(value: str) -> str:
    token = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    if token not in VERDICTS:
        from inventory.errors import InventoryError
        raise InventoryError(f"unknown verdict {value!r}; expected one of {', '.join(VERDICTS)}")
    return token


def _choice(value: Any, parse: Any) -> set[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        return None
    try:
        return {parse(v) for v in values}
    except ValueError as exc:
        from inventory.errors import InventoryError
        raise InventoryError(str(exc)) from None


def audit_summary(checks: Iterable[SiteCheck]) -> list[dict[str, Any]]:
    """One row per tier (and a total): sites, verdict counts, failures per requirement."""
    rows: dict[str, Counter] = {}
    for c in checks:
        for key in (c.tier or "(none)", "TOTAL"):
            row = rows.setdefault(key, Counter())
            row["sites"] += 1
            row[c.verdict] += 1
            for name in c.failed:
                row[name] += 1
    order = [t.value for t in Tier] + ["(none)", "TOTAL"]
    out = []
    for tier in order:
        if tier not in rows:
            continue
        row = rows[tier]
        out.append({"tier": tier, "sites": row["sites"],
                    **{v: row[v] for v in VERDICTS},
                    **{f"fail_{r}": row[r] for r in REQUIREMENTS}})
    return out
