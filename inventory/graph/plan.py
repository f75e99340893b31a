"""Access plans laid over the inventory without changing it (issue 6).

A *plan* is a small export in the import format (docs/import-format.md) — new or changed
customers, sites, rooms, points, devices, cables, ducts, cable sections with geometry,
circuits — plus a ``removals.csv`` naming what the plan takes away (``entity,id``; see
docs/what-if.md). :func:`importers.plan.read_plan` parses it with the importer's own readers
and validation; :class:`PlanView` lays it over a store as a read-only store of its own, so that
every analysis that reads a store (the network loader, trace, compliance, SPOF) sees the
planned network while the real store stays untouched.

>>> plan = Plan(nodes=[Node("Duct", "D-9", {"name": "new", "kind": "TRUNK"})],
...             removed_rels=[("SEGMENT", "CS-1")])
>>> plan.summary()
{'upserts': 1, 'removals': 1}
>>> overlay_subgraph(Subgraph(), plan).nodes[("Duct", "D-9")].props["name"]
'new'
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from inventory.errors import InventoryError
from inventory.graph.store import GraphStore, Key, Node, Rel, Subgraph, T, WriteSummary
from inventory.model import default_policy

RelKey = tuple[str, str]  # (type, id)


@dataclass
class Plan:
    """Records to upsert and keys to remove.

    ``removed_nodes`` are ``(label, id)``; removing a node removes the relationships that
    touch it, and removing a ``Cable`` removes its cable sections too. ``removed_rels`` are
    ``(type, id)`` (a cable section: ``("SEGMENT", id)``).
    """

    nodes: list[Node] = field(default_factory=list)
    rels: list[Rel] = field(default_factory=list)
    removed_nodes: list[Key] = field(default_factory=list)
    removed_rels: list[RelKey] = field(default_factory=list)
    source: str = ""

    def summary(self) -> dict[str, int]:
        return {"upserts": len(self.nodes) + len(self.rels),
                "removals": len(self.removed_nodes) + len(self.removed_rels)}

    @property
    def empty(self) -> bool:
        return not (self.nodes or self.rels or self.removed_nodes or self.removed_rels)


def _matches(props: dict[str, Any], element_id: str, query: dict[str, Any]) -> bool:
    """The contract's find semantics: equality, or membership for a list property."""
    for name, value in query.items():
        if name == "id":
            if element_id != value:
                return False
            continue
        have = props.get(name)
        if isinstance(have, (list, tuple)):
            if value not in have and str(value) not in have:
                return False
        elif have != value:
            return False
    return True


class PlanView(GraphStore):
    """A read-only store: ``base`` with ``plan`` laid over it.

    Reads answer as if the plan had been applied (upserted records replace the stored ones
    entirely, as :meth:`GraphStore.upsert` would; removed records and the relationships of
    removed nodes are gone); writes raise :class:`InventoryError`. Closing the view does not
    close the base store. Nothing is ever written to ``base``.
    """

    def __init__(self, base: GraphStore, plan: Plan):
        self.base = base
        self.plan = plan
        self.location = f"plan {plan.source or '(in memory)'} over {base.location}"
        self._nodes: dict[Key, Node] = {n.key: n for n in plan.nodes}
        self._rels: dict[RelKey, Rel] = {(r.type, r.id): r for r in plan.rels}
        self._removed_nodes: set[Key] = set(plan.removed_nodes) - set(self._nodes)
        self._removed_rels: set[RelKey] = set(plan.removed_rels) - set(self._rels)
        cables = [element_id for label, element_id in self._removed_nodes if label == "Cable"]
        for cable_id in cables:
            for rel in base.find_rels("SEGMENT", cable_id=cable_id):
                if (rel.type, rel.id) not in self._rels:
                    self._removed_rels.add((rel.type, rel.id))

    # -- what the plan does to one record
    def _node_gone(self, key: Key) -> bool:
        return key in self._removed_nodes

    def _rel_visible(self, rel: Rel) -> bool:
        return ((rel.type, rel.id) not in self._removed_rels
                and rel.start not in self._removed_nodes and rel.end not in self._removed_nodes)

    def _overlay_nodes(self, label: str, base_nodes: Iterable[Node],
                       wanted: Callable[[Node], bool]) -> list[Node]:
        result = {}
        for node in base_nodes:
            if node.key in self._removed_nodes or node.key in self._nodes:
                continue
            result[node.id] = node
        for key, node in self._nodes.items():
            if key[0] == label and wanted(node):
                result[node.id] = node
        return [result[i] for i in sorted(result)]

    def _overlay_rels(self, rel_type: str, base_rels: Iterable[Rel],
                      wanted: Callable[[Rel], bool]) -> list[Rel]:
        result = {}
        for rel in base_rels:
            if (rel.type, rel.id) in self._rels or not self._rel_visible(rel):
                continue
            result[rel.id] = rel
        for key, rel in self._rels.items():
            if key[0] == rel_type and self._rel_visible(rel) and wanted(rel):
                result[rel.id] = rel
        return [result[i] for i in sorted(result)]

    # -- schema, lifecycle, writes
    def init(self) -> None:
        raise InventoryError("a plan view is read-only: apply the plan with `inventory plan "
                             "apply` to change the store")

    def close(self) -> None:
        """The view owns nothing; the base store stays open."""

    def upsert(self, nodes: Iterable[Node] = (), rels: Iterable[Rel] = (),
               progress: Callable[[int], None] | None = None, remove: Iterable[Key] = (),
               remove_rels: Iterable[RelKey] = ()) -> WriteSummary:
        self.init()
        raise AssertionError  # pragma: no cover

    def delete(self, nodes: Iterable[Key] = (), rels: Iterable[RelKey] = ()) -> int:
        self.init()
        raise AssertionError  # pragma: no cover

    # -- reads
    def run_reads(self, work: Callable[[], T]) -> T:
        # The view's reads are the base store's (same thread): its transaction serves them.
        # get_nodes_many stays the generic one, built on the overlaid get_nodes.
        return self.base.run_reads(work)

    def get_nodes(self, label: str, ids: Iterable[str]) -> dict[str, Node]:
        ids = list(dict.fromkeys(ids))
        wanted = set(ids)
        found = self._overlay_nodes(label, self.base.get_nodes(label, ids).values(),
                                    lambda n: n.id in wanted)
        return {n.id: n for n in found}

    def get_rels(self, rel_type: str, ids: Iterable[str]) -> dict[str, Rel]:
        ids = list(dict.fromkeys(ids))
        wanted = set(ids)
        found = self._overlay_rels(rel_type, self.base.get_rels(rel_type, ids).values(),
                                   lambda r: r.id in wanted)
        return {r.id: r for r in found}

    def find_nodes(self, label: str, **props: Any) -> list[Node]:
        return self._overlay_nodes(label, self.base.find_nodes(label, **props),
                                   lambda n: _matches(n.props, n.id, props))

    def find_rels(self, rel_type: str, **props: Any) -> list[Rel]:
        return self._overlay_rels(rel_type, self.base.find_rels(rel_type, **props),
                                  lambda r: _matches(r.props, r.id, props))

    def iter_nodes(self, label: str) -> Iterator[Node]:
        mine = sorted((n for k, n in self._nodes.items() if k[0] == label), key=lambda n: n.id)
        theirs = (n for n in self.base.iter_nodes(label)
                  if n.key not in self._nodes and n.key not in self._removed_nodes)
        yield from heapq.merge(theirs, mine, key=lambda n: n.id)

    def iter_rels(self, rel_type: str) -> Iterator[Rel]:
        mine = sorted((r for k, r in self._rels.items()
                       if k[0] == rel_type and self._rel_visible(r)), key=lambda r: r.id)
        theirs = (r for r in self.base.iter_rels(rel_type)
                  if (r.type, r.id) not in self._rels and self._rel_visible(r))
        yield from heapq.merge(theirs, mine, key=lambda r: r.id)

    def count_nodes(self) -> dict[str, int]:
        counts = dict(self.base.count_nodes())
        touched: dict[str, set[str]] = {}
        for label, element_id in (*self._nodes, *self._removed_nodes):
            touched.setdefault(label, set()).add(element_id)
        for label, ids in touched.items():
            existing = set(self.base.get_nodes(label, ids))
            counts[label] += sum(1 for i in ids if (label, i) in self._nodes and i not in existing)
            counts[label] -= sum(1 for i in existing if (label, i) in self._removed_nodes)
        return counts

    def count_rels(self) -> dict[str, int]:
        counts = {rel_type: 0 for rel_type in self.base.count_rels()}
        for rel_type in counts:
            counts[rel_type] = sum(1 for _ in self.iter_rels(rel_type))
        return counts

    def neighbourhood(self, keys: Iterable[Key]) -> tuple[list[Node], list[Rel]]:
        keys = [k for k in dict.fromkeys(keys) if k not in self._removed_nodes]
        wanted = set(keys)
        _, base_rels = self.base.neighbourhood(keys)
        rels: dict[RelKey, Rel] = {}
        for rel in base_rels:
            if (rel.type, rel.id) not in self._rels and self._rel_visible(rel):
                rels[(rel.type, rel.id)] = rel
        for key, rel in self._rels.items():
            if (rel.start in wanted or rel.end in wanted) and self._rel_visible(rel):
                rels[key] = rel
        ends: dict[str, set[str]] = {}
        for rel in rels.values():
            for label, element_id in (rel.start, rel.end):
                ends.setdefault(label, set()).add(element_id)
        nodes: list[Node] = []
        for label, ids in ends.items():
            nodes.extend(self.get_nodes(label, ids).values())
        present = {n.key for n in nodes}
        return nodes, [r for r in rels.values() if r.start in present and r.end in present]


def apply_plan(store: GraphStore, plan: Plan) -> dict[str, Any]:
    """Write a plan to the store: its records and its removals in one upsert, one
    transaction, all or nothing. Returns ``{"summary": rows, "deleted": n}``."""
    removed_rels = set(plan.removed_rels)
    if plan.removed_nodes or plan.removed_rels:
        view = PlanView(store, Plan(removed_nodes=plan.removed_nodes,
                                    removed_rels=plan.removed_rels))
        removed_rels |= view._removed_rels   # a removed cable's sections
    summary = store.upsert(plan.nodes, plan.rels, remove=plan.removed_nodes,
                           remove_rels=sorted(removed_rels))
    return {"summary": summary.as_rows(), "deleted": summary.deleted}


def overlay_subgraph(graph: Subgraph, plan: Plan) -> Subgraph:
    """A copy of ``graph`` with the plan applied to it (the input is not modified).

    Only records already in ``graph`` or upserted by the plan are present; a planned
    relationship whose ends are not both in the result is left out.
    """
    view = PlanView(_NullStore(), plan)
    result = Subgraph()
    for key, node in graph.nodes.items():
        if not view._node_gone(key):
            result.nodes[key] = view._nodes.get(key, node)
    for node in plan.nodes:
        result.nodes[node.key] = node
    for key, rel in graph.rels.items():
        if key not in view._rels and view._rel_visible(rel):
            result.rels[key] = rel
    for key, rel in view._rels.items():
        if view._rel_visible(rel) and rel.start in result.nodes and rel.end in result.nodes:
            result.rels[key] = rel
    for key in list(result.rels):
        rel = result.rels[key]
        if rel.start not in result.nodes or rel.end not in result.nodes:
            del result.rels[key]
    return result


class _NullStore(GraphStore):
    """An empty store, for applying a plan to records alone."""

    location = "(empty)"

    def init(self) -> None: ...
    def close(self) -> None: ...

    def upsert(self, nodes=(), rels=(), progress=None, remove=(), remove_rels=()):
        raise InventoryError("read-only")

    def delete(self, nodes=(), rels=()) -> int:
        raise InventoryError("read-only")

    def get_nodes(self, label, ids):
        return {}

    def get_rels(self, rel_type, ids):
        return {}

    def find_nodes(self, label, **props):
        return []

    def find_rels(self, rel_type, **props):
        return []

    def iter_nodes(self, label):
        return iter(())

    def iter_rels(self, rel_type):
        return iter(())

    def count_nodes(self):
        return {}

    def count_rels(self):
        return {}

    def neighbourhood(self, keys):
        return [], []


# --- validation --------------------------------------------------------------------------------

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass
class Finding:
    """One line of a validation: ``level`` error (blocks apply), warning or info."""

    level: str
    kind: str            # import, tier, resources, existing-site, shared-risk
    site_id: str | None
    element: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "kind": self.kind, "site_id": self.site_id,
                "element": self.element, "message": self.message}


@dataclass
class PlanValidation:
    """What :func:`validate_plan` found: per planned site, per affected existing site, and
    every finding. ``accepted`` when there is no error."""

    plan: Plan
    sites: list[dict[str, Any]] = field(default_factory=list)
    existing: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def accepted(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.source, "accepted": self.accepted,
                "summary": {**self.plan.summary(), "sites": len(self.sites),
                            "existing_sites_changed": len(self.existing),
                            "errors": len(self.errors),
                            "warnings": sum(f.level == WARNING for f in self.findings)},
                "sites": self.sites, "existing": self.existing, "resources": self.resources,
                "findings": [f.as_dict() for f in self.findings],
                "seconds": round(self.seconds, 3)}


def plan_elements(plan: Plan) -> set[Key]:
    """The failure-model elements a plan adds, changes or removes (see
    :func:`inventory.graph.trace.element_key`): its nodes, its cable sections with their
    cables and ducts, and what it removes."""
    elements: set[Key] = set()
    for node in plan.nodes:
        if node.label in ("Site", "Room", "Point", "Equipment", "Cable", "Duct"):
            elements.add(node.key)
    for rel in plan.rels:
        if rel.type == "SEGMENT":
            elements.add(("SEGMENT", rel.id))
            if rel.props.get("cable_id"):
                elements.add(("Cable", rel.props["cable_id"]))
            elements.update(("Duct", d) for d in rel.props.get("duct_ids") or ())
        elif rel.type in ("LOCATED_AT", "PATCH"):
            elements.update((rel.start, rel.end))
    for key in plan.removed_nodes:
        if key[0] in ("Site", "Room", "Point", "Equipment", "Cable", "Duct"):
            elements.add(key)
    for rel_type, rel_id in plan.removed_rels:
        if rel_type == "SEGMENT":
            elements.add(("SEGMENT", rel_id))
    return elements


def _touched_sites(view: PlanView, plan: Plan) -> set[str]:
    """Sites the plan is about: its own sites, sites its devices are installed at, and the
    sites its circuits terminate at."""
    sites = {n.id for n in plan.nodes if n.label == "Site"}
    for rel in plan.rels:
        if rel.type == "LOCATED_AT" and rel.end[0] == "Site":
            sites.add(rel.end[1])
        if rel.type == "TERMINATES_AT" and rel.end[0] == "Site":
            sites.add(rel.end[1])
        if rel.type == "SEGMENT":
            sites.update(end[1] for end in (rel.start, rel.end) if end[0] == "Site")
    return {s for s in sites if view.get_node("Site", s) is not None}


def _rank(verdict: str) -> int:
    return {"COMPLIANT": 2, "NON_COMPLIANT": 1, "INCOMPLETE": 0}.get(verdict, 0)


def validate_plan(store: GraphStore, read: Any, *, requested: Any = None,
                  policy: Any = None) -> PlanValidation:
    """Validate a plan (``read``: an :class:`importers.plan.PlanRead`) over the store
    without writing anything.

    For every site the plan touches (its sites, the sites of its devices, circuits and cable
    sections): the tier check, single points of failure and shared risks, route lengths,
    distance band and SLA due dates (from ``requested``, default today), and the resource
    check — every existing cable section on a planned route has ``cores_per_route`` (policy) free
    cores (fiber_count − cores_used) per route, the plan's routes together included. For
    every existing site whose routes use an element the plan adds, changes or removes: its
    verdict before and after, and whether the plan makes it share a duct, cable, point, room
    or section with a planned route (a GOLD or SILVER site so flagged is a warning).
    """
    import datetime as _dt
    import time

    from inventory.geo.measure import DepotIndex
    from inventory.geo.sla import CalendarNotCovered, sla_profile
    from inventory.graph.compliance import check_from, spofs_of
    from inventory.graph.impact import candidate_sites
    from inventory.graph.network import load_network, network_index
    from inventory.graph.trace import KIND, analyse_site, route_elements, trace_from

    started = time.perf_counter()
    plan = read.plan
    result = PlanValidation(plan)
    for error in read.errors:
        result.findings.append(Finding(ERROR, "import", None, None, str(error)))
    for warning in read.warnings:
        result.findings.append(Finding(WARNING, "import", None, None, str(warning)))
    if not read.ok:
        result.seconds = time.perf_counter() - started
        return result
    requested = requested or _dt.date.today()
    view = PlanView(store, plan)
    before = load_network(store)
    after = load_network(view)
    ix_before, ix_after = network_index(before), network_index(after)
    touched = sorted(_touched_sites(view, plan))
    depots = [(n.id, n.props.get("lon"), n.props.get("lat"))
              for n in view.iter_nodes("MaintenancePoint")
              if n.props.get("lon") is not None and n.props.get("lat") is not None]
    depot_index = DepotIndex(depots) if depots else None

    def exempt(a: Any) -> set[Key]:
        keep = {a.site, *a.devices}
        for node in a.access_nodes:
            keep.add(node)
            if node in a.ix.location:
                keep.add(a.ix.location[node])
        return keep

    # 1. the planned sites
    demand: dict[str, list[str]] = {}          # existing section id -> sites needing cores
    planned_elements: dict[Key, set[str]] = {}  # element -> planned sites whose routes use it
    for site_id in touched:
        a = analyse_site(after, site_id, policy=policy, index=ix_after)
        c = check_from(a, spofs=False)
        spofs = spofs_of(a)
        t = trace_from(a, k=2)
        props = a.props
        distance = None
        if props.get("lon") is not None and depot_index is not None:
            distance = depot_index.nearest(props["lon"], props["lat"])[1]
        row: dict[str, Any] = {
            "site_id": site_id, "site_name": props.get("name"), "tier": c.tier,
            "new": ("Site", site_id) not in before, "verdict": c.verdict, "failed": c.failed,
            "requirements": [r.as_dict() for r in c.requirements],
            "spofs": [s.as_dict() for s in spofs],
            "shared": [s.as_dict() for s in c.shared],
            "routes": [{"name": r.name, "access_node": r.access_node,
                        "length_m": r.length_m, "complete": r.complete} for r in t.routes],
            "distance_km": distance}
        if c.tier:
            try:
                sla = sla_profile(c.tier, distance, requested, policy=policy)
                row.update(band=sla.distance.band,
                           resource_confirmation_due=sla.resource_confirmation_due.isoformat(),
                           provisioning_due=sla.provisioning_due.isoformat(),
                           recovery_limit_hours=sla.recovery.total_limit_hours)
            except CalendarNotCovered as exc:
                result.findings.append(Finding(WARNING, "sla", site_id, None, str(exc)))
        result.sites.append(row)
        if c.verdict != "COMPLIANT":
            why = "; ".join(f"{r.name}: {r.detail}" for r in c.requirements
                            if r.verdict != "PASS") or "; ".join(c.notes)
            result.findings.append(Finding(ERROR, "tier", site_id, None,
                                           f"{c.verdict} for {c.tier or 'no tier'}: {why}"))
        # routes of the plan: elements (for shared risk) and existing sections (for cores)
        old_sections: set[str] = set()
        old_elements: set[Key] = set()
        if ("Site", site_id) in before:
            b = analyse_site(before, site_id, policy=policy, index=ix_before)
            if b.access is not None:
                for p in b.access.paths:
                    old_sections |= {v[1] for v in p if v[0] == "SEGMENT"}
                    old_elements |= route_elements(ix_before, p)
        paths = a.access.paths if a.access is not None else []
        keep = exempt(a) | old_elements   # what the site already relied on is not news
        for p in paths:
            for element in route_elements(ix_after, p) - keep:
                planned_elements.setdefault(element, set()).add(site_id)
            for v in p:
                if v[0] == "SEGMENT" and v[1] not in old_sections and \
                        ("SEGMENT", v[1]) in ix_before.elements:
                    demand.setdefault(v[1], []).append(site_id)

    # 2. resources: free cores on existing sections
    cores_per_route = (policy or default_policy()).plan.cores_per_route
    stored = store.get_rels("SEGMENT", sorted(demand))
    changed = {r.id: r for r in plan.rels if r.type == "SEGMENT"}
    cables = after.graph.get("cables", {})
    for section_id, sites in sorted(demand.items()):
        rel = stored.get(section_id)
        if rel is None:
            continue
        props = rel.props
        fibers = props.get("fiber_count") or cables.get(props.get("cable_id"), {}).get(
            "fiber_count")
        used = props.get("cores_used")
        need = cores_per_route * len(sites)
        row = {"section_id": section_id, "cable_id": props.get("cable_id"),
               "fiber_count": fibers, "cores_used": used,
               "free": None if fibers is None or used is None else fibers - used,
               "needed": need, "sites": sorted(set(sites)), "ok": None}
        if fibers is None or used is None:
            result.findings.append(Finding(
                WARNING, "resources", sites[0], section_id,
                f"cable section {section_id}: "
                f"{'fiber count' if fibers is None else 'cores used'} unknown, free cores "
                "cannot be checked"))
        else:
            row["ok"] = need <= fibers - used
            if not row["ok"]:
                result.findings.append(Finding(
                    ERROR, "resources", ", ".join(row["sites"]), section_id,
                    f"cable section {section_id} (cable {props.get('cable_id')}) has "
                    f"{fibers - used} free core(s) of {fibers}; the plan needs {need}"))
            elif section_id in changed and changed[section_id].props.get("cores_used") == used:
                result.findings.append(Finding(
                    INFO, "resources", ", ".join(row["sites"]), section_id,
                    f"cable section {section_id}: remember to book {need} more core(s) "
                    "(cores_used unchanged by the plan)"))
        result.resources.append(row)

    # 3. existing sites the plan changes or puts at shared risk
    touched_elements = plan_elements(plan) | set(planned_elements)
    candidates = candidate_sites(before, touched_elements, index=ix_before)
    candidates |= {k for k in candidate_sites(after, touched_elements, index=ix_after)
                   if k in before}
    for key in sorted(candidates):
        if key[1] in touched:
            continue
        b = analyse_site(before, key, policy=policy, index=ix_before)
        cb = check_from(b, spofs=False)
        if key in after:
            a = analyse_site(after, key, policy=policy, index=ix_after)
            ca = check_from(a, spofs=False)
            verdict_after, failed_after = ca.verdict, ca.failed
        else:
            a, verdict_after, failed_after = None, "REMOVED", []
        relied = set()
        if b.access is not None:
            for p in b.access.paths:
                relied |= route_elements(ix_before, p)
        relied -= exempt(b)
        order_of = {"Duct": 0, "Cable": 1, "Room": 2, "Point": 3, "Equipment": 4, "SEGMENT": 5}
        shared = sorted((e for e in relied if e in planned_elements),
                        key=lambda e: (order_of.get(e[0], 9), e[1]))
        change = _rank(verdict_after) - _rank(cb.verdict)
        newly_failed = sorted(set(failed_after) - set(cb.failed))
        fixed = sorted(set(cb.failed) - set(failed_after))
        if change == 0 and not newly_failed and not fixed and not shared:
            continue
        effect = ("worse" if change < 0 or newly_failed else "better" if change > 0 or fixed
                  else "shared risk")
        parts = []
        if change or newly_failed or fixed:
            parts.append(f"{cb.verdict} -> {verdict_after}")
        if newly_failed:
            parts.append("now fails " + ", ".join(newly_failed))
        if fixed:
            parts.append("now passes " + ", ".join(fixed))
        by_users: dict[str, list[Key]] = {}
        for element in shared:
            by_users.setdefault(", ".join(sorted(planned_elements[element])), []).append(element)
        for users, elements in by_users.items():
            named = ", ".join(f"{KIND.get(e[0], e[0])} {e[1]}" for e in elements)
            parts.append(f"relies on {named}, which the planned route of {users} now "
                         f"{'uses' if ',' not in users else 'use'} too")
        message = "; ".join(parts)
        result.existing.append({"site_id": key[1], "site_name": b.props.get("name"),
                                "tier": cb.tier, "verdict_before": cb.verdict,
                                "verdict_after": verdict_after, "effect": effect,
                                "shared": [f"{KIND.get(e[0], e[0])}:{e[1]}" for e in shared],
                                "detail": message})
        high = cb.tier in ("GOLD", "SILVER")
        level = ERROR if effect == "worse" else WARNING if (shared and high) else INFO
        result.findings.append(Finding(level, "existing-site", key[1],
                                       ", ".join(f"{KIND.get(e[0], e[0])}:{e[1]}"
                                                 for e in shared) or None,
                                       f"{cb.tier or ''} site {key[1]}: {message}"))
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    result.findings.sort(key=lambda f: order[f.level])
    result.seconds = time.perf_counter() - started
    return result
