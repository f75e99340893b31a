"""One measured step of the benchmark, run in its own process by :mod:`bench.run`.

``python -m bench.steps STEP ARGS_JSON`` prints one line ``BENCH-RESULT {json}`` on stdout;
the parent reads it and the child's peak RSS and CPU time (``os.wait4``). Every step measures
itself after its imports, so interpreter start-up is never counted.

Steps: ``import`` (into SQLite or Neo4j, via :func:`importers.core.import_paths`), ``loadcsv``
(Neo4j's own LOAD CSV of the same records), ``audit`` (load_network + audit), ``check``
(load_site_graph + check for random sites), ``impact`` (store_impact for the busiest trunk
duct); ``floor``, not in the bench's run (docs/performance.md): what an import that checked
nothing would take.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "


# --- helpers -----------------------------------------------------------------------------------

def open_bench_store(location: str):
    from inventory.graph.store import open_store

    return open_store(location)


def is_neo4j(location: str) -> bool:
    return "://" in location and not location.startswith(("sqlite://", "file://"))


def wipe(location: str) -> None:
    """An empty store: a fresh SQLite file, or every node of the Neo4j database deleted."""
    if is_neo4j(location):
        store = open_bench_store(location)
        with store.driver.session(database=store.database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } "
                        "IN TRANSACTIONS OF 10000 ROWS").consume()
        store.close()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(location + suffix).unlink(missing_ok=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


# --- steps -------------------------------------------------------------------------------------

#: the export's files in the order an import in parts takes them (README, Import): each
#: refers only to what the files before it hold
PART_ORDER = ("customers", "maintenance_points", "rooms", "sites", "points", "equipment",
              "cables", "ducts", "cable_sections", "circuits", "patches")


def step_import(store: str, data: str, parts: bool = False,
                commit_every: int | None = None) -> dict[str, Any]:
    """Import the generated export into an empty store; the write (upsert) is timed apart.

    ``parts``: one import (one transaction) per file, in :data:`PART_ORDER`, as the README
    says to import an export too big for the Neo4j server's transaction memory.
    ``commit_every``: as ``inventory import --commit-every``."""
    from importers.core import import_paths
    from inventory.gcpause import gc_paused

    wipe(store)
    target = open_bench_store(store)
    write = {"seconds": 0.0, "records": 0, "fast_path": False}

    def timed(method):  # the write, upsert or (the compiled fast path's) load_new
        def write_timed(*args, **kwargs):
            started = time.perf_counter()
            summary = method(*args, **kwargs)
            write["seconds"] += time.perf_counter() - started
            if summary is not None:
                write["fast_path"] |= method.__name__ == "load_new"
                write["records"] += sum(summary.created.values()) + \
                    sum(summary.updated.values()) + sum(summary.unchanged.values())
            return summary
        return write_timed

    target.upsert = timed(target.upsert)
    if hasattr(target, "load_new"):
        target.load_new = timed(target.load_new)
    batches = [[Path(data) / f"{name}.csv"] for name in PART_ORDER] if parts else [[data]]
    rows_read, per_part, seconds, cpu = 0, {}, 0.0, 0.0
    with gc_paused():  # as `inventory import` runs it
        for paths in batches:
            mark, mark_cpu = time.perf_counter(), time.process_time()
            report = import_paths(target, paths, commit_every=commit_every)
            if not report.ok:
                raise SystemExit(f"import of {paths} failed: {report.errors[:3]}")
            rows_read += report.rows_read
            per_part[Path(paths[0]).stem] = time.perf_counter() - mark
            seconds += time.perf_counter() - mark
            cpu += time.process_time() - mark_cpu
            del report
            # what one `inventory import` per part, a process each, frees; not timed (an
            # import does not collect: its process ends)
            gc.collect()
    target.close()
    records = write["records"]
    return {"rows_read": rows_read, "records": records, "parts": len(batches),
            "commit_every": commit_every, "fast_path": write["fast_path"],
            **({"per_part_seconds": per_part} if parts else {}),
            "seconds": seconds,
            "cpu_seconds": cpu, "write_seconds": write["seconds"],
            "check_seconds": seconds - write["seconds"],
            "records_per_s": records / seconds, "rows_per_s": rows_read / seconds,
            "write_records_per_s": records / write["seconds"] if write["seconds"] else None}


def step_floor(store: str, data: str) -> dict[str, Any]:
    """The floor of an import into SQLite: the CSV files read into records with no check
    at all (each row a record of its cells as they are), plus the write of the real records.

    What a faster check could reach: an import that checked nothing would still take
    ``floor_seconds``. The real check runs too, timed apart (``check_seconds``), for the
    records that are written."""
    import io

    from importers.readers import decode
    from importers.spec import REL_OF_ENTITY, entity_for_name
    from inventory.gcpause import gc_paused
    from inventory.graph.store import Node

    wipe(store)
    files = sorted(Path(data).glob("*.csv"))
    with gc_paused():  # as `inventory import` runs it
        started = time.perf_counter()
        bare: list[Node] = []
        for path in files:
            entity = entity_for_name(path.name)
            kind = entity.label or REL_OF_ENTITY[entity.key]
            text, _ = decode(path.read_bytes())
            reader = csv.reader(io.StringIO(text, newline=""))
            headers = next(reader)
            bare += [Node(kind, cells[0], dict(zip(headers, cells))) for cells in reader]
        read_seconds = time.perf_counter() - started
        rows = len(bare)
        del bare
        started = time.perf_counter()
        nodes, rels = _records(data)
        check_seconds = time.perf_counter() - started
        target = open_bench_store(store)
        target.init()
        started = time.perf_counter()
        target.upsert(nodes, rels)
        write_seconds = time.perf_counter() - started
        target.close()
    records = len(nodes) + len(rels)
    floor = read_seconds + write_seconds
    return {"rows_read": rows, "records": records, "read_seconds": read_seconds,
            "check_seconds": check_seconds, "write_seconds": write_seconds,
            "floor_seconds": floor, "floor_records_per_s": records / floor,
            "records_per_s": records / (check_seconds + write_seconds)}


def _records(data: str):
    """The records an import of ``data`` writes (read + check against an empty store)."""
    from importers.build import check
    from importers.readers import read_paths
    from inventory.graph.sqlite_store import SqliteStore

    scratch = SqliteStore(":memory:")
    scratch.init()
    read = read_paths([data])
    builder = check(scratch, read.tables)
    if builder.errors:
        raise SystemExit(f"the export has errors: {builder.errors[:3]}")
    return builder.nodes, builder.rels


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)


def _conversion(values: list[Any]) -> str:
    """The Cypher expression turning the CSV text ``row.x`` back into the stored type."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return "toBoolean({})"
    if isinstance(sample, int):
        return "toInteger({})"
    if isinstance(sample, float):
        return "toFloat({})"
    if isinstance(sample, list):
        return "split({}, '|')"
    return "{}"


def _set_clause(var: str, kind: str, props: list[str], group: list) -> str:
    """`` SET var.p = row.p, …`` for the properties besides ``id``, which the MERGE sets:
    setting it again makes the planner buffer every row (an Eager operator) before writing."""
    from inventory.graph.store import check_prop

    sets = [f"{var}.`{check_prop(kind, p)}` = "
            + _conversion([r.props.get(p) for r in group]).format(f"row.`{p}`")
            for p in props]
    return " SET " + ", ".join(sets) if sets else ""


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


#: rows per transaction of the LOAD CSV anchor (``CALL {…} IN TRANSACTIONS OF``), and the
#: ``--commit-every`` of the import measured beside it
LOADCSV_BATCH = 10_000


def step_loadcsv(store: str, data: str, import_dir: str,
                 batch: int | None = LOADCSV_BATCH) -> dict[str, Any]:
    """Neo4j's native loader on the same records: one CSV per label and per relationship
    shape in the server's import directory, ``LOAD CSV … MERGE`` (an upsert, like ours) in
    ``CALL {…} IN TRANSACTIONS OF batch ROWS``, or with ``batch`` None every statement in
    one explicit transaction, as our import writes; the uniqueness constraints of
    ``inventory init`` exist."""
    from inventory.graph.store import check_label, check_rel_type

    nodes, rels = _records(data)
    call, end = ("CALL (row) { ", f" }} IN TRANSACTIONS OF {batch} ROWS") if batch else ("", "")
    folder = Path(import_dir) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    statements: list[tuple[str, str, int]] = []
    by_label: dict[str, list] = {}
    for node in nodes:
        by_label.setdefault(node.label, []).append(node)
    for label, group in by_label.items():
        check_label(label)
        props = sorted({k for n in group for k in n.props})
        file = folder / f"node-{label}.csv"
        _write_csv(file, [":ID", *props],
                   [[n.id, *(_cell(n.props.get(p)) for p in props)] for n in group])
        sets = _set_clause("n", label, props, group)
        query = (f"LOAD CSV WITH HEADERS FROM 'file:///bench/{file.name}' AS row "
                 f"{call}MERGE (n:`{label}` {{id: row.`:ID`}}){sets}{end}")
        statements.append((query, label, len(group)))
    by_shape: dict[tuple[str, str, str], list] = {}
    for rel in rels:
        by_shape.setdefault((rel.type, rel.start[0], rel.end[0]), []).append(rel)
    for (rel_type, s_label, e_label), group in by_shape.items():
        check_rel_type(rel_type)
        check_label(s_label)
        check_label(e_label)
        props = sorted({k for r in group for k in r.props})
        file = folder / f"rel-{rel_type}-{s_label}-{e_label}.csv"
        _write_csv(file, [":ID", ":START_ID", ":END_ID", *props],
                   [[r.id, r.start[1], r.end[1], *(_cell(r.props.get(p)) for p in props)]
                    for r in group])
        sets = _set_clause("r", rel_type, props, group)
        query = (f"LOAD CSV WITH HEADERS FROM 'file:///bench/{file.name}' AS row "
                 f"{call}MATCH (a:`{s_label}` {{id: row.`:START_ID`}}) "
                 f"MATCH (b:`{e_label}` {{id: row.`:END_ID`}}) "
                 f"MERGE (a)-[r:`{rel_type}` {{id: row.`:ID`}}]->(b){sets}{end}")
        statements.append((query, rel_type, len(group)))
    wipe(store)
    target = open_bench_store(store)
    target.init()
    per_file: dict[str, float] = Counter()
    started = time.perf_counter()
    with target.driver.session(database=target.database) as session:
        tx = None if batch else session.begin_transaction()
        for query, name, _count in statements:
            mark = time.perf_counter()
            (tx or session).run(query).consume()
            per_file[name] += time.perf_counter() - mark
        if tx is not None:
            mark = time.perf_counter()
            tx.commit()
            per_file["commit"] = time.perf_counter() - mark
        seconds = time.perf_counter() - started
        # every record loaded, or the comparison is not on the same rows (a property column
        # named like a key column once silently dropped relationships, session 14)
        loaded = [session.run(q).single()[0] for q in
                  ("MATCH (n) RETURN count(n)", "MATCH ()-[r]->() RETURN count(r)")]
    target.close()
    if loaded != [len(nodes), len(rels)]:
        raise SystemExit(f"LOAD CSV loaded {loaded[0]:,} nodes and {loaded[1]:,} relationships "
                         f"of {len(nodes):,} and {len(rels):,}")
    records = len(nodes) + len(rels)
    return {"records": records, "seconds": seconds, "records_per_s": records / seconds,
            "batch": batch, "per_entity_seconds": dict(per_file)}


def step_audit(store: str, workers: int | None = None) -> dict[str, Any]:
    """What ``inventory audit --workers N`` does, the collector paused as there: with one
    worker the whole network loaded once and every site checked on it (load and analysis
    timed apart), with more ``audit_store``'s batches of nearby sites in N processes."""
    from inventory.audits import audit_store, default_workers
    from inventory.gcpause import gc_paused
    from inventory.graph.compliance import audit
    from inventory.graph.network import load_network

    target = open_bench_store(store)
    workers = workers or default_workers(target)  # as `inventory audit` chooses
    started = time.perf_counter()
    cpu = time.process_time()
    split = {}
    with gc_paused():
        if workers == 1:  # audit_store's own path for one worker, with the load timed
            G = load_network(target)
            split["load_seconds"] = time.perf_counter() - started
            checks = list(audit(G))
        else:
            checks = list(audit_store(target, workers=workers))
    done = time.perf_counter()
    cpu = time.process_time() - cpu
    target.close()
    if split:
        split["analysis_seconds"] = done - started - split["load_seconds"]
    verdicts = Counter(c.verdict for c in checks)
    seconds = done - started
    return {"sites": len(checks), "workers": workers, "seconds": seconds, "cpu_seconds": cpu,
            **split, "sites_per_s": len(checks) / seconds, "verdicts": dict(verdicts)}


def site_sample(store, count: int, seed: int) -> list[str]:
    ids = sorted(n.id for n in store.iter_nodes("Site"))
    return random.Random(seed).sample(ids, min(count, len(ids)))


def step_check(store: str, samples: int = 200, seed: int = 1) -> dict[str, Any]:
    """trace + check of one site, as ``inventory check`` does it (load_site_graph + check)."""
    from inventory.gcpause import settle_heap
    from inventory.graph.compliance import check
    from inventory.graph.network import load_site_graph

    target = open_bench_store(store)
    sites = site_sample(target, samples, seed)
    check(load_site_graph(target, sites[0]), sites[0])  # warm-up, not counted
    settle_heap()  # a process serving many sites, as the web server's workers do
    wall, cpu, sizes = [], [], []
    for site in sites:
        started = time.perf_counter()
        cpu_start = time.process_time()
        G = load_site_graph(target, site)
        check(G, site)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_start)
        sizes.append(G.number_of_nodes() + G.number_of_edges())
    target.close()
    return {"samples": len(sites), "p50_ms": 1000 * percentile(wall, 50),
            "p95_ms": 1000 * percentile(wall, 95), "max_ms": 1000 * max(wall),
            "cpu_p50_ms": 1000 * percentile(cpu, 50), "cpu_p95_ms": 1000 * percentile(cpu, 95),
            "graph_size_p50": percentile(sizes, 50)}


def busiest_trunk_duct(store) -> tuple[str | None, int]:
    trunk = {n.id for n in store.iter_nodes("Duct") if n.props.get("kind") == "TRUNK"}
    counts: Counter = Counter()
    for rel in store.iter_rels("SEGMENT"):
        for duct in rel.props.get("duct_ids") or ():
            if duct in trunk:
                counts[duct] += 1
    if not counts:
        return None, 0
    duct, n = min(counts.items(), key=lambda item: (-item[1], item[0]))
    return duct, n


def step_impact(store: str) -> dict[str, Any]:
    try:
        from inventory.graph.impact import store_impact
    except ImportError:
        return {"skipped": "inventory.graph.impact is not in this tree"}
    target = open_bench_store(store)
    duct, sections = busiest_trunk_duct(target)
    if duct is None:
        target.close()
        return {"skipped": "no trunk duct"}
    started = time.perf_counter()
    result = store_impact(target, [f"Duct:{duct}"])
    seconds = time.perf_counter() - started
    target.close()
    statuses = Counter(s.status for s in result.sites)
    return {"duct": duct, "sections": sections, "seconds": seconds,
            "analysis_seconds": result.seconds.get("analysis"),
            "load_seconds": result.seconds.get("load"), "candidates": result.candidates,
            "affected": dict(statuses)}


STEPS = {"import": step_import, "loadcsv": step_loadcsv, "audit": step_audit,
         "check": step_check, "impact": step_impact, "floor": step_floor}


def main(argv: list[str]) -> int:
    step, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    result = STEPS[step](**args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kB on Linux
    result["process_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    if result.get("workers", 1) > 1:
        # the workers run at once: their peaks add up (an upper bound: the largest
        # worker's peak for each), and their CPU is the step's too
        result["worker_peak_rss_mb"] = children.ru_maxrss / 1024
        result["peak_rss_mb"] += result["workers"] * children.ru_maxrss / 1024
        result["process_cpu_seconds"] += children.ru_utime + children.ru_stime
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main(sys.argv[1:]))
