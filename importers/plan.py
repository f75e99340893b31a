"""Reading an access plan: the importer's readers and checks, plus ``removals.csv``.

A plan is a small export in the import format (docs/import-format.md) and an optional
removals table (docs/what-if.md). :func:`read_plan` checks it against the store exactly as
``inventory import`` would, writes nothing, and returns a
:class:`~inventory.graph.plan.Plan` for :func:`~inventory.graph.plan.validate_plan`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from inventory.graph.plan import Plan, PlanView
from inventory.graph.store import GraphStore

#: File stems / sheet names of the removals table.
REMOVAL_NAMES = ("removals", "removal", "remove", "删除", "删除清单", "拆除", "拆除清单")


@dataclass
class PlanRead:
    """A plan and every problem found reading it (``plan`` is only usable when ``ok``)."""

    plan: Plan
    errors: list = field(default_factory=list)     # ImportRowError
    warnings: list = field(default_factory=list)   # ImportRowError
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _removal_target(value: str) -> tuple[str, str] | None:
    """What a removals row's ``entity`` names: ``("node", label)`` or ``("rel", type)``."""
    from importers.spec import LABEL_PREFIXES, REL_OF_ENTITY, entity_for_name
    from inventory.model import REL_TYPES, normalise_token

    entity = entity_for_name(value)
    if entity is not None:
        if entity.label:
            return ("node", entity.label)
        return ("rel", REL_OF_ENTITY[entity.key])
    label = LABEL_PREFIXES.get(normalise_token(value))
    if label:
        return ("node", label)
    for rel_type in REL_TYPES:
        if normalise_token(rel_type) == normalise_token(value):
            return ("rel", rel_type)
    return None


def read_plan(store: GraphStore, paths: Iterable[Any], crs: str | None = None) -> PlanRead:
    """Read a plan: an export in the import format (folder of CSV, ZIP or XLSX) plus an
    optional removals table (``removals.csv`` / sheet ``removals`` / ``删除``: columns
    ``entity`` (实体) and ``id`` (编码)).

    The tables are read by :mod:`importers.readers` and checked by :func:`importers.build.check`
    against ``store`` — the same checks and the same messages as ``inventory import``; nothing
    is written. Then the plan's own consistency: a removed element must exist in the store,
    cannot also be upserted, and no planned record may depend on a removed one.
    """
    from pathlib import Path

    from importers.build import check
    from importers.readers import Reader
    from importers.spec import Column, Entity, fold_header
    from inventory.errors import ImportRowError, ValidationError
    from inventory.geo.crs import WGS84, parse_crs
    from inventory.model import clean_id

    removals_entity = Entity("removals", None, REMOVAL_NAMES, (
        Column("entity", ("实体", "类型", "对象类型", "entity type"), required=True),
        Column("id", ("编码", "编号", "ID"), required=True),
    ))
    removal_names = {fold_header(n) for n in REMOVAL_NAMES}

    class PlanReader(Reader):
        def _entity(self, shown: str, name: str):
            stem = name.rsplit("/", 1)[-1]
            for suffix in (".csv", ".tsv", ".txt"):
                if stem.lower().endswith(suffix):
                    stem = stem[: -len(suffix)]
            if fold_header(stem) in removal_names:
                return removals_entity
            return super()._entity(shown, name)

    result = PlanRead(Plan(source=", ".join(str(p) for p in paths)))
    try:
        default_crs = parse_crs(crs) if crs else WGS84
    except ValidationError:
        result.errors.append(ImportRowError("--crs", None, None, crs,
                                            "unknown coordinate system"))
        return result
    reader = PlanReader()
    for path in paths:
        reader.read_path(Path(path))
    tables = [t for t in reader.result.tables if t.entity is not removals_entity]
    removal_tables = [t for t in reader.result.tables if t.entity is removals_entity]
    result.files = [{"file": t.file, "entity": t.entity.key, "rows": len(t.rows)}
                    for t in reader.result.tables]
    result.errors += reader.result.errors
    result.warnings += reader.result.warnings
    if not tables and not removal_tables and not result.errors:
        result.errors.append(ImportRowError(result.plan.source, None, None, None,
                                            "the plan holds no table"))
    builder = check(store, tables, default_crs)
    result.errors += builder.errors
    result.warnings += builder.warnings
    plan = result.plan
    plan.nodes, plan.rels = list(builder.nodes), list(builder.rels)

    # removals
    for table in removal_tables:
        columns = {i: removals_entity.column_for_header(h) for i, h in enumerate(table.headers)}
        index = {c.name: i for i, c in columns.items() if c is not None}
        missing = [n for n in ("entity", "id") if n not in index]
        if missing:
            result.errors.append(ImportRowError(table.file, table.header_row, None, None,
                                                f"missing column(s) {', '.join(missing)}: a "
                                                "removals table has entity and id"))
            continue
        for number, cells in table.rows:
            what, raw_id = (cells[index[name]].strip() if index[name] < len(cells) else ""
                            for name in ("entity", "id"))
            target = _removal_target(what) if what else None
            if target is None:
                result.errors.append(ImportRowError(
                    table.file, number, table.headers[index["entity"]], what or None,
                    "unknown entity: use a label (Site, Equipment, Point, Room, Cable, Duct, "
                    "Circuit …), cable_sections (光缆段) or patches (跳纤)"))
                continue
            try:
                element_id = clean_id(raw_id)
            except ValidationError as exc:
                result.errors.append(ImportRowError(table.file, number,
                                                    table.headers[index["id"]], raw_id or None,
                                                    exc.message))
                continue
            kind, name = target
            exists = (store.get_node(name, element_id) if kind == "node"
                      else store.get_rel(name, element_id))
            if exists is None:
                result.errors.append(ImportRowError(
                    table.file, number, table.headers[index["id"]], element_id,
                    f"no {name} {element_id!r} in the store to remove"))
                continue
            if kind == "node":
                plan.removed_nodes.append((name, element_id))
            else:
                plan.removed_rels.append((name, element_id))

    # the plan against itself
    upserted_nodes = {n.key for n in plan.nodes}
    upserted_rels = {(r.type, r.id) for r in plan.rels}
    where = removal_tables[0].file if removal_tables else "removals"
    for key in plan.removed_nodes:
        if key in upserted_nodes:
            result.errors.append(ImportRowError(where, None, None, key[1],
                                                f"{key[0]} {key[1]!r} is both removed and "
                                                "changed by the plan"))
    for key in plan.removed_rels:
        if key in upserted_rels:
            result.errors.append(ImportRowError(where, None, None, key[1],
                                                f"{key[0]} {key[1]!r} is both removed and "
                                                "changed by the plan"))
    removed = set(plan.removed_nodes)
    removed_cables = {i for label, i in removed if label == "Cable"}
    for rel in plan.rels:
        gone = [end for end in (rel.start, rel.end) if end in removed]
        if rel.type == "SEGMENT" and rel.props.get("cable_id") in removed_cables:
            gone.append(("Cable", rel.props["cable_id"]))
        gone += [("Duct", d) for d in rel.props.get("duct_ids") or () if ("Duct", d) in removed]
        for label, element_id in gone:
            result.errors.append(ImportRowError(
                where, None, None, element_id,
                f"the plan removes {label} {element_id!r} but its {rel.type} {rel.id!r} "
                "still uses it"))
    removed_ducts = [i for label, i in removed if label == "Duct"]
    if removed_ducts:
        view = PlanView(store, Plan(plan.nodes, plan.rels, plan.removed_nodes,
                                    plan.removed_rels))
        for duct_id in removed_ducts:
            for rel in view.find_rels("SEGMENT", duct_ids=duct_id):
                result.errors.append(ImportRowError(
                    where, None, None, duct_id,
                    f"the plan removes duct {duct_id!r} but cable section {rel.id!r} still "
                    "runs in it: remove or change that section too"))
    return result
