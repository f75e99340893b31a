"""The embedded default store: one SQLite file, no server.

WAL journal so that readers keep reading while one writer writes; ``BEGIN IMMEDIATE``
so that a second writer waits (``busy_timeout``) and then gets a clear message instead
of interleaving. Properties are stored as JSON; the properties the analysis looks
relationships up by (``cable_id``, ``duct_ids``) are also kept in an indexed side table.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from inventory.errors import InventoryError, NotFound, StoreUnavailable
from inventory.graph.store import (
    GraphStore,
    Key,
    LeaveOut,
    Node,
    Rel,
    Subgraph,
    WriteSummary,
    canonical,
    check_label,
    check_prop,
    check_records,
    check_rel_type,
    last_of_each,
    write_in_parts,
)
from inventory.model import LABELS, NODE_FIELDS, REL_TYPES

BATCH = 2000
# SQLite allows 32766 host parameters since 3.32; stay well below.
CHUNK = 900
# Relationship properties looked up often enough to deserve an index (see find_rels).
INDEXED_REL_PROPS = ("cable_id", "duct_ids")
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    nid   INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    id    TEXT NOT NULL,
    props TEXT NOT NULL,
    UNIQUE (label, id)
);
CREATE TABLE IF NOT EXISTS rels (
    rid       INTEGER PRIMARY KEY,
    type      TEXT NOT NULL,
    id        TEXT NOT NULL,
    start_nid INTEGER NOT NULL REFERENCES nodes(nid),
    end_nid   INTEGER NOT NULL REFERENCES nodes(nid),
    props     TEXT NOT NULL,
    UNIQUE (type, id)
);
CREATE TABLE IF NOT EXISTS rel_refs (
    rid   INTEGER NOT NULL REFERENCES rels(rid) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# The labels whose nodes have a customer_id (find_nodes looks them up by it).
CUSTOMER_LABELS = tuple(label for label, fields in NODE_FIELDS.items() if "customer_id" in fields)
# The indexes besides the tables' own keys: dropped and built again after a bulk load into
# an empty store (one sort each instead of a million random inserts; see upsert).
# nodes_customer is partial: reading every other node's JSON for a NULL made it the
# slowest index to build (10,000 sites: 132 ms, against 39 ms). SQLite plans a statement
# again once its parameters are bound when a partial index depends on them, so find_nodes'
# "label = ?" uses it; a store made before keeps its whole index, which serves as well.
INDEXES = {
    "rels_start": "rels (start_nid)",
    "rels_end": "rels (end_nid)",
    "rel_refs_lookup": "rel_refs (key, value)",
    "rel_refs_rid": "rel_refs (rid)",
    "nodes_customer": "nodes (label, json_extract(props, '$.customer_id')) WHERE "
                      + " OR ".join(f"label = '{label}'" for label in CUSTOMER_LABELS),
}
SCHEMA += "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {on};\n"
                  for name, on in INDEXES.items())
# SQLite's page cache while an import writes (KiB; the default is 2 MB): the indexes of a
# 100,000-site store do not fit in 2 MB, and every insert would read pages back.
WRITE_CACHE_KIB = 64 * 1024

_INSERT_NODE = "INSERT INTO nodes (nid, label, id, props) VALUES (?, ?, ?, ?)"
_INSERT_REL = ("INSERT INTO rels (rid, type, id, start_nid, end_nid, props) "
               "VALUES (?, ?, ?, ?, ?, ?)")
_INSERT_REF = "INSERT INTO rel_refs (rid, key, value) VALUES (?, ?, ?)"
# A bulk load's batch in one statement: SQLite reads its rows from one JSON array
# (json_each) as fast as executemany binds them, and the sqlite3 module releases the GIL for
# the whole statement, so that _BulkInserter can run it on a thread of its own. The array's
# rows hold the columns that differ per row; a label or type, the same for the batch, is ?.
_BULK_NODES = ("INSERT INTO nodes (nid, label, id, props) SELECT json_extract(value, '$[0]'), "
               "?, json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)")
_BULK_RELS = ("INSERT INTO rels (rid, type, id, start_nid, end_nid, props) "
              "SELECT json_extract(value, '$[0]'), ?, json_extract(value, '$[1]'), "
              "json_extract(value, '$[2]'), json_extract(value, '$[3]'), "
              "json_extract(value, '$[4]') FROM json_each(?)")
_BULK_REFS = ("INSERT INTO rel_refs (rid, key, value) SELECT json_extract(value, '$[0]'), "
              "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)")
_ANY_RECORD = "SELECT EXISTS (SELECT 1 FROM nodes) OR EXISTS (SELECT 1 FROM rels)"
_REL_SELECT = """
SELECT r.rid, r.type, r.id, r.props, s.label, s.id, e.label, e.id
FROM rels r JOIN nodes s ON s.nid = r.start_nid JOIN nodes e ON e.nid = r.end_nid
"""


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _decode(text: str) -> dict[str, Any]:
    """Stored properties back to a dict. orjson reads JSON about 3× faster than the standard
    library, and a site's graph decodes ~1,200 records (a whole network millions); text it
    refuses (NaN, which an old json.dumps could have written) goes to the standard library."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_ID, _LABEL, _TYPE = attrgetter("id"), attrgetter("label"), attrgetter("type")


def _group(records: list, kind: Callable[[Any], str]) -> dict[str, list]:
    """Records by kind, kinds in order of first appearance (which fixes the new rows' ids)."""
    groups: dict[str, list] = {}
    for key, run in groupby(records, kind):  # runs: an import's records come by kind
        groups.setdefault(key, []).extend(run)
    return groups


class _BulkInserter:
    """The inserts of a bulk load, on a thread of their own.

    Each batch is one statement (_BULK_NODES …), during which the sqlite3 module releases
    the GIL: the calling thread encodes the next batch meanwhile, on the second core. Only
    this thread uses the connection until ``close`` (which waits for it); at most two
    batches wait, and an error of the thread is raised by the next ``insert`` or by ``close``.
    """

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-bulk")
        self.pending: deque[Future] = deque()

    def insert(self, bulk_sql: str, row_sql: str, rows: list[tuple], *same: Any) -> None:
        """Insert ``rows`` (first column, then the rest) with the columns ``same`` after
        the first: with ``bulk_sql`` from JSON, or one by one with ``row_sql``."""
        text = orjson.dumps(rows).decode()  # a str: SQLite takes bytes for a BLOB (JSONB)
        if "\\u0000" in text:  # SQLite's JSON ends a text at a NUL: bind those rows as they are
            self._submit(self.db.executemany, row_sql, [(row[0], *same, *row[1:]) for row in rows])
        else:
            self.insert_text(bulk_sql, text, *same)

    def insert_text(self, bulk_sql: str, text: str, *same: Any) -> None:
        """Insert the rows of ``text``, a JSON array (with no NUL character in it)."""
        self._submit(self.db.execute, bulk_sql, (*same, text))

    def _submit(self, method: Callable[[str, Any], sqlite3.Cursor], sql: str,
                params: Any) -> None:
        self.pending.append(self.pool.submit(self._run, method, sql, params))
        while len(self.pending) > 2:
            self.pending.popleft().result()

    @staticmethod
    def _run(method: Callable[[str, Any], sqlite3.Cursor], sql: str, params: Any) -> None:
        # The cursor is closed on this thread: freed on the caller's, it would reset its
        # statement, which SQLite may be running here again for the next batch (API misuse).
        method(sql, params).close()

    def close(self) -> None:
        """Wait for every batch (also when the caller failed: the connection is then free
        for the rollback); raise the first error of the thread."""
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            for job in self.pending:
                job.cancel()
            self.pool.shutdown(wait=True)


def _rel_from_row(row: tuple) -> Rel:
    _, rel_type, rel_id, props, s_label, s_id, e_label, e_id = row
    return Rel(rel_type, rel_id, (s_label, s_id), (e_label, e_id), _decode(props))


class SqliteStore(GraphStore):
    def __init__(self, path: str | Path = "inventory.db", timeout: float = 10.0):
        self.path = str(path)
        self.location = f"sqlite:{self.path}"
        self.timeout = timeout
        self._local = threading.local()
        # Every thread's connection, by thread: closed by close(), or when a new connection
        # is opened after its thread has ended (a web server that starts a thread per request).
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    # -- connections: one per thread, so a Flask worker thread never shares a cursor
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.path != ":memory:":
                parent = Path(self.path).resolve().parent
                if not parent.is_dir():
                    raise StoreUnavailable(f"cannot open {self.path}: no directory {parent}")
            try:
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            except sqlite3.DatabaseError as exc:
                raise StoreUnavailable(f"cannot open {self.path}: {exc}") from None
            self._local.conn = conn
            with self._lock:
                for thread in [t for t in self._connections if not t.is_alive()]:
                    self._connections.pop(thread).close()
                self._connections[threading.current_thread()] = conn
        return conn

    def release_thread(self) -> None:
        """Close the calling thread's connection (a web server thread that is done)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        with self._lock:
            self._connections.pop(threading.current_thread(), None)
        self._local.conn = None
        conn.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _write(self):
        """One write transaction; a second writer waits, then gets a clear message."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise InventoryError(
                    f"{self.path} is being written by another process (an import?); "
                    "try again when it has finished") from None
            raise StoreUnavailable(f"cannot write {self.path}: {exc}") from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise StoreUnavailable(
                    f"{self.path} is not an inventory yet: run `inventory init`") from None
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from None

    def init(self) -> None:
        try:
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(f"cannot initialise {self.path}: {exc}") from None

    # -- writes
    def version(self) -> int:
        """SQLite's ``data_version``: it changes when another connection (or process)
        commits; this thread's connection is the one that will write."""
        return self._read("PRAGMA data_version")[0][0]

    def upsert(self, nodes: Iterable[Node] = (), rels: Iterable[Rel] = (),
               progress: Callable[[int], None] | None = None,
               expect_version: int | None = None, remove: Iterable[Key] = (),
               remove_rels: Iterable[tuple[str, str]] = (),
               commit_every: int | None = None) -> WriteSummary:
        remove, remove_rels = list(remove), list(remove_rels)
        if commit_every is None:
            return self._upsert(nodes, rels, progress, expect_version, remove, remove_rels)
        # each part a transaction of its own; expect_version holds for every part (this
        # connection's own commits do not change data_version)
        return write_in_parts(
            list(nodes), list(rels), commit_every,
            lambda part_nodes, part_rels, last: self._upsert(
                part_nodes, part_rels, progress, expect_version,
                remove if last else [], remove_rels if last else []))

    def _upsert(self, nodes: Iterable[Node], rels: Iterable[Rel],
                progress: Callable[[int], None] | None, expect_version: int | None,
                remove: list[Key], remove_rels: list[tuple[str, str]]) -> WriteSummary:
        """One transaction of :meth:`upsert`."""
        summary = WriteSummary()
        node_list = last_of_each(list(nodes), _LABEL)
        rel_list = last_of_each(list(rels), _TYPE)
        check_records(node_list, rel_list)
        self._read("SELECT 1 FROM nodes LIMIT 1")  # a clear message when not initialised
        with self._write() as db, self._cache(db, len(node_list) + len(rel_list)):
            self._check_version(expect_version)
            # Into an empty store everything is new: no reads of what is stored, and the
            # secondary indexes are built once at the end (same transaction, so a failed
            # or killed import leaves them as they were).
            empty = self._empty(db)
            if empty:
                self._drop_indexes(db)
            # New rows get the ids SQLite would give them one by one (max + 1, in order),
            # given here so that they are known without reading them back.
            last_nid = db.execute("SELECT max(nid) FROM nodes").fetchone()[0] or 0
            last_rid = db.execute("SELECT max(rid) FROM rels").fetchone()[0] or 0
            # label -> id -> nid of every node of this call (no (label, id) tuple per node,
            # ~75 MB at 100,000 sites): the ends of its relationships need no query.
            nids: dict[str, dict[str, int]] = {}
            bulk = _BulkInserter(db) if empty else None
            try:
                for batch in _chunks(node_list, BATCH):
                    last_nid = self._upsert_nodes(db, batch, summary, bulk, last_nid, nids)
                    if progress:
                        progress(len(batch))
                for batch in _chunks(rel_list, BATCH):
                    last_rid = self._upsert_rels(db, batch, summary, bulk, last_rid, nids)
                    if progress:
                        progress(len(batch))
            finally:
                if bulk:
                    bulk.close()
            summary.deleted = self._delete(db, remove, remove_rels)
            if empty:
                self._create_indexes(db)
        return summary

    def load_new(self, produce: Callable[[Callable[[str, str, str, int], None]], None],
                 records: int, expect_version: int | None = None) -> WriteSummary | None:
        """A first load, from rows already encoded (importers.fast): what ``upsert`` does
        into an empty store, in one transaction; None, and nothing written, when the store
        is not empty.

        ``produce(emit)`` calls ``emit(kind, name, text, n)`` for each batch: ``kind`` is
        "nodes" (``name`` the label), "rels" (the type) or "refs" (the rel_refs rows of the
        relationships before); ``text`` the JSON array of its bulk statement's rows (nid,
        id, props / rid, id, start nid, end nid, props / rid, key, value), new ids
        numbered from 1 in order; ``n`` the records in it. ``records``: how many in all.
        """
        summary = WriteSummary()
        self._read("SELECT 1 FROM nodes LIMIT 1")  # a clear message when not initialised
        with self._write() as db, self._cache(db, records):
            self._check_version(expect_version)
            if not self._empty(db):
                return None
            self._drop_indexes(db)
            bulk = _BulkInserter(db)
            statements = {"nodes": _BULK_NODES, "rels": _BULK_RELS, "refs": _BULK_REFS}

            def emit(kind: str, name: str, text: str, n: int) -> None:
                bulk.insert_text(statements[kind], text, *((name,) if kind != "refs" else ()))
                if n:
                    summary.created[name] += n

            try:
                produce(emit)
            finally:
                bulk.close()
            self._create_indexes(db)
        return summary

    def is_empty(self) -> bool:
        """Whether the store holds no node and no relationship."""
        return not self._read(_ANY_RECORD)[0][0]

    def _check_version(self, expect_version: int | None) -> None:
        if expect_version is not None and self.version() != expect_version:
            raise InventoryError(
                f"{self.path} changed while this import was being checked (another "
                "import?); nothing was written: run it again")

    @staticmethod
    def _empty(db: sqlite3.Connection) -> bool:
        return not db.execute(_ANY_RECORD).fetchone()[0]

    @staticmethod
    def _drop_indexes(db: sqlite3.Connection) -> None:
        for name in INDEXES:
            db.execute(f"DROP INDEX IF EXISTS {name}")

    @staticmethod
    def _create_indexes(db: sqlite3.Connection) -> None:
        for name, on in INDEXES.items():
            db.execute(f"CREATE INDEX {name} ON {on}")

    @staticmethod
    @contextmanager
    def _cache(db: sqlite3.Connection, records: int):
        """A bigger page cache for a big write (1 MB per 10,000 records, at most
        WRITE_CACHE_KIB), the default again afterwards."""
        before = db.execute("PRAGMA cache_size").fetchone()[0]
        kib = min(WRITE_CACHE_KIB, records // 10_000 * 1024)
        if kib > abs(before):
            db.execute(f"PRAGMA cache_size = -{kib}")
        try:
            yield
        finally:
            db.execute(f"PRAGMA cache_size = {before}")

    def _upsert_nodes(self, db: sqlite3.Connection, batch: list[Node], summary: WriteSummary,
                      bulk: _BulkInserter | None, last_nid: int,
                      nids: dict[str, dict[str, int]]) -> int:
        """Write a batch of nodes, new ones numbered from ``last_nid + 1``; note every
        node's nid in ``nids``. Returns the last nid given."""
        for label, group in _group(batch, _LABEL).items():
            known = nids.setdefault(label, {})
            if bulk:  # all new, nothing to read: the rows in one go
                new = range(last_nid + 1, last_nid + 1 + len(group))
                bulk.insert(_BULK_NODES, _INSERT_NODE, [(nid, node.id, canonical(node.props))
                                                        for nid, node in zip(new, group)], label)
                known.update(zip(map(_ID, group), new))
                summary.created[label] += len(group)
                last_nid = new[-1]
                continue
            existing = {}
            for part in _chunks([n.id for n in group]):
                for nid, node_id, props in db.execute(
                        f"SELECT nid, id, props FROM nodes WHERE label = ? AND id IN "
                        f"({_marks(len(part))})", (label, *part)):
                    existing[node_id] = (nid, props)
            inserts, updates = [], []
            for node in group:
                text = canonical(node.props)
                old = existing.get(node.id)
                if old is None:
                    last_nid += 1
                    inserts.append((last_nid, label, node.id, text))
                    known[node.id] = last_nid
                else:
                    known[node.id] = old[0]
                    if old[1] != text:
                        updates.append((text, old[0]))
                        summary.updated[label] += 1
                    else:
                        summary.unchanged[label] += 1
            if inserts:
                summary.created[label] += len(inserts)
            db.executemany(_INSERT_NODE, inserts)
            db.executemany("UPDATE nodes SET props = ? WHERE nid = ?", updates)
        return last_nid

    def _nids(self, db: sqlite3.Connection, keys: Iterable[Key]) -> dict[Key, int]:
        by_label: dict[str, list[str]] = {}
        for label, element_id in set(keys):
            by_label.setdefault(label, []).append(element_id)
        found: dict[Key, int] = {}
        for label, ids in by_label.items():
            for part in _chunks(ids):
                for nid, node_id in db.execute(
                        f"SELECT nid, id FROM nodes WHERE label = ? AND id IN "
                        f"({_marks(len(part))})", (label, *part)):
                    found[(label, node_id)] = nid
        return found

    def _find_ends(self, db: sqlite3.Connection, batch: list[Rel],
                   nids: dict[str, dict[str, int]], bulk: _BulkInserter | None) -> None:
        """Add to ``nids`` the stored ends of ``batch`` that this call did not write;
        NotFound for the first end that is nowhere."""
        missing = [end for rel in batch for end in (rel.start, rel.end)
                   if end[1] not in nids.get(end[0], ())]
        if not missing:
            return
        # into an empty store nothing else is stored (and the connection is the inserter's)
        found = {} if bulk else self._nids(db, missing)
        for end in missing:
            if end not in found:
                raise NotFound(end[0], end[1])
        for (label, node_id), nid in found.items():
            nids.setdefault(label, {})[node_id] = nid

    def _upsert_rels(self, db: sqlite3.Connection, batch: list[Rel], summary: WriteSummary,
                     bulk: _BulkInserter | None, last_rid: int,
                     nids: dict[str, dict[str, int]]) -> int:
        """Write a batch of relationships, new ones numbered from ``last_rid + 1`` (so that
        they can be written with executemany and indexed below). Returns the last rid."""
        self._find_ends(db, batch, nids, bulk)
        for rel_type, group in _group(batch, _TYPE).items():
            if bulk:  # all new, nothing to read: the rows in one go
                new = range(last_rid + 1, last_rid + 1 + len(group))
                bulk.insert(_BULK_RELS, _INSERT_REL,
                            [(rid, rel.id, nids[rel.start[0]][rel.start[1]],
                              nids[rel.end[0]][rel.end[1]], canonical(rel.props))
                             for rid, rel in zip(new, group)], rel_type)
                refs = self._refs(zip(new, group))
                if refs:
                    bulk.insert(_BULK_REFS, _INSERT_REF, refs)
                summary.created[rel_type] += len(group)
                last_rid = new[-1]
                continue
            existing = {}
            for part in _chunks([r.id for r in group]):
                for rid, rel_id, s, e, props in db.execute(
                        f"SELECT rid, id, start_nid, end_nid, props FROM rels WHERE type = ? "
                        f"AND id IN ({_marks(len(part))})", (rel_type, *part)):
                    existing[rel_id] = (rid, s, e, props)
            changed_rids, inserts, updates = [], [], []
            for rel in group:
                (s_label, s_id), (e_label, e_id) = rel.start, rel.end
                row = (nids[s_label][s_id], nids[e_label][e_id], canonical(rel.props))
                old = existing.get(rel.id)
                if old is None:
                    last_rid += 1
                    inserts.append((last_rid, rel_type, rel.id, *row))
                    changed_rids.append((last_rid, rel))
                elif old[1:] != row:
                    updates.append((*row, old[0]))
                    changed_rids.append((old[0], rel))
                    summary.updated[rel_type] += 1
                else:
                    summary.unchanged[rel_type] += 1
            if inserts:
                summary.created[rel_type] += len(inserts)
            db.executemany(_INSERT_REL, inserts)
            db.executemany("UPDATE rels SET start_nid = ?, end_nid = ?, props = ? "
                           "WHERE rid = ?", updates)
            self._index_refs(db, changed_rids)
        return last_rid

    @staticmethod
    def _index_refs(db: sqlite3.Connection, changed: list[tuple[int, Rel]]) -> None:
        for part in _chunks([rid for rid, _ in changed]):
            db.execute(f"DELETE FROM rel_refs WHERE rid IN ({_marks(len(part))})", part)
        db.executemany(_INSERT_REF, SqliteStore._refs(changed))

    @staticmethod
    def _refs(changed: Iterable[tuple[int, Rel]]) -> list[tuple[int, str, str]]:
        """The rel_refs rows of these relationships (rid, key, value)."""
        rows = []
        for rid, rel in changed:
            for key in INDEXED_REL_PROPS:
                value = rel.props.get(key)
                if isinstance(value, list):
                    rows += [(rid, key, str(item)) for item in value if item is not None]
                elif value is not None:
                    rows.append((rid, key, str(value)))
        return rows

    def delete(self, nodes: Iterable[Key] = (), rels: Iterable[tuple[str, str]] = ()) -> int:
        node_keys, rel_keys = list(nodes), list(rels)
        with self._write() as db:
            return self._delete(db, node_keys, rel_keys)

    def _delete(self, db: sqlite3.Connection, node_keys: list[Key],
                rel_keys: list[tuple[str, str]]) -> int:
        deleted = 0
        for rel_type, rel_id in rel_keys:
            deleted += db.execute("DELETE FROM rels WHERE type = ? AND id = ?",
                                  (check_rel_type(rel_type), rel_id)).rowcount
        nids = list(self._nids(db, [(check_label(k[0]), k[1]) for k in node_keys]).values())
        for part in _chunks(nids):
            marks = _marks(len(part))
            deleted += db.execute(f"DELETE FROM rels WHERE start_nid IN ({marks}) "
                                  f"OR end_nid IN ({marks})", part + part).rowcount
            deleted += db.execute(f"DELETE FROM nodes WHERE nid IN ({marks})",
                                  part).rowcount
        return deleted

    # -- reads
    def get_nodes(self, label: str, ids: Iterable[str]) -> dict[str, Node]:
        check_label(label)
        found = {}
        for part in _chunks(list(dict.fromkeys(ids))):
            for node_id, props in self._read(
                    f"SELECT id, props FROM nodes WHERE label = ? AND id IN "
                    f"({_marks(len(part))})", (label, *part)):
                found[node_id] = Node(label, node_id, _decode(props))
        return found

    def get_rels(self, rel_type: str, ids: Iterable[str]) -> dict[str, Rel]:
        check_rel_type(rel_type)
        found = {}
        for part in _chunks(list(dict.fromkeys(ids))):
            for row in self._read(f"{_REL_SELECT} WHERE r.type = ? AND r.id IN "
                                  f"({_marks(len(part))})", (rel_type, *part)):
                found[row[2]] = _rel_from_row(row)
        return found

    def find_nodes(self, label: str, **props: Any) -> list[Node]:
        check_label(label)
        sql = "SELECT id, props FROM nodes WHERE label = ?"
        params: list[Any] = [label]
        for name, value in props.items():
            if name == "id":
                sql += " AND id = ?"
            else:  # the path inline (an allow-listed name), so nodes_customer can serve it
                sql += f" AND json_extract(props, '$.{check_prop(label, name)}') = ?"
            params.append(value)
        # "+id" when filtering: sorting the few matches beats walking (label, id) in order,
        # which the planner would otherwise prefer over the nodes_customer index
        order = " ORDER BY +id" if props else " ORDER BY id"
        return [Node(label, i, _decode(p)) for i, p in self._read(sql + order, params)]

    def find_rels(self, rel_type: str, **props: Any) -> list[Rel]:
        check_rel_type(rel_type)
        sql = _REL_SELECT + " WHERE r.type = ?"
        params: list[Any] = [rel_type]
        for name, value in props.items():
            check_prop(rel_type, name)
            if name in INDEXED_REL_PROPS:
                sql += " AND r.rid IN (SELECT rid FROM rel_refs WHERE key = ? AND value = ?)"
                params += [name, str(value)]
            elif name == "id":
                sql += " AND r.id = ?"
                params.append(value)
            else:
                sql += " AND json_extract(r.props, ?) = ?"
                params += [f"$.{name}", value]
        return [_rel_from_row(row) for row in self._read(sql + " ORDER BY r.id", params)]

    def iter_nodes(self, label: str) -> Iterator[Node]:
        check_label(label)
        last = ""
        while True:  # keyset pagination: constant memory, no long-lived cursor
            rows = self._read("SELECT id, props FROM nodes WHERE label = ? AND id > ? "
                              "ORDER BY id LIMIT 5000", (label, last))
            for node_id, props in rows:
                yield Node(label, node_id, _decode(props))
            if len(rows) < 5000:
                return
            last = rows[-1][0]

    def iter_rels(self, rel_type: str) -> Iterator[Rel]:
        check_rel_type(rel_type)
        last = ""
        while True:
            rows = self._read(f"{_REL_SELECT} WHERE r.type = ? AND r.id > ? ORDER BY r.id "
                              "LIMIT 5000", (rel_type, last))
            for row in rows:
                yield _rel_from_row(row)
            if len(rows) < 5000:
                return
            last = rows[-1][2]

    def count_nodes(self) -> dict[str, int]:
        counts = dict(self._read("SELECT label, count(*) FROM nodes GROUP BY label"))
        return {label: counts.get(label, 0) for label in LABELS}

    def count_rels(self) -> dict[str, int]:
        counts = dict(self._read("SELECT type, count(*) FROM rels GROUP BY type"))
        return {rel_type: counts.get(rel_type, 0) for rel_type in REL_TYPES}

    def subgraph(self, seeds: Iterable[Key], hops: int,
                 expand: Callable[[Node], bool] | None = None,
                 rel_types: Iterable[str] | None = None,
                 leave_out: LeaveOut | None = None) -> Subgraph:
        """:meth:`GraphStore.subgraph`, walked on row ids: per hop one query for the
        relationships of the frontier and one for the nodes not read yet (the generic
        version looks every frontier key up again and re-reads both ends of every
        relationship; for ``load_site_graph`` that was most of the time). A node left
        out is known by its label and id: its properties and its relationships' are
        never decoded."""
        graph = Subgraph()
        by_nid: dict[int, Node] = {}
        gone: set[int] = set()  # nids left out
        by_label: dict[str, list[str]] = {}
        seed_keys = list(dict.fromkeys(seeds))
        for label, element_id in seed_keys:
            by_label.setdefault(check_label(label), []).append(element_id)
        left_out = None if leave_out is None else leave_out.with_seeds(seed_keys)
        frontier: list[int] = []
        for label, ids in by_label.items():
            for part in _chunks(ids):
                for nid, node_id, props in self._read(
                        f"SELECT nid, id, props FROM nodes WHERE label = ? AND id IN "
                        f"({_marks(len(part))})", (label, *part)):
                    node = Node(label, node_id, _decode(props))
                    by_nid[nid] = node
                    graph.nodes[node.key] = node
                    frontier.append(nid)
        seen_rids: set[int] = set()
        types = [] if rel_types is None else sorted({check_rel_type(t) for t in rel_types})
        # "+type": filter the rows found by the start/end index, never use the type index
        only = f" AND +type IN ({_marks(len(types))})" if rel_types is not None else ""
        for _ in range(hops):
            if not frontier:
                break
            rows: list[tuple] = []
            for part in _chunks(frontier, CHUNK // 2 - len(types)):
                marks = _marks(len(part))
                rows += self._read(
                    f"SELECT rid, type, id, start_nid, end_nid, props FROM rels "
                    f"WHERE start_nid IN ({marks}){only} UNION ALL "
                    f"SELECT rid, type, id, start_nid, end_nid, props FROM rels "
                    f"WHERE end_nid IN ({marks}){only}", [*part, *types, *part, *types])
            fresh = [row for row in rows if row[0] not in seen_rids]
            missing = list({nid for row in fresh for nid in (row[3], row[4])
                            if nid not in by_nid and nid not in gone})
            new_nids: list[int] = []
            for part in _chunks(missing):
                for nid, label, node_id, props in self._read(
                        f"SELECT nid, label, id, props FROM nodes WHERE nid IN "
                        f"({_marks(len(part))})", part):
                    if left_out is not None and left_out((label, node_id)):
                        gone.add(nid)
                        continue
                    by_nid[nid] = Node(label, node_id, _decode(props))
                    new_nids.append(nid)
            for rid, rel_type, rel_id, start, end, props in fresh:
                if rid in seen_rids or start in gone or end in gone:
                    continue
                seen_rids.add(rid)
                graph.rels[(rel_type, rel_id)] = Rel(rel_type, rel_id, by_nid[start].key,
                                                     by_nid[end].key, _decode(props))
            frontier = []
            for nid in sorted(new_nids):
                node = by_nid[nid]
                if node.key in graph.nodes:
                    continue
                graph.nodes[node.key] = node
                if expand is None or expand(node):
                    frontier.append(nid)
        return graph

    def neighbourhood(self, keys: Iterable[Key]) -> tuple[list[Node], list[Rel]]:
        nids = list(self._nids(self.db, keys).values())
        rel_rows: dict[int, tuple] = {}
        for part in _chunks(nids, CHUNK // 2):
            marks = _marks(len(part))
            for row in self._read(f"{_REL_SELECT} WHERE r.start_nid IN ({marks}) "
                                  f"UNION ALL {_REL_SELECT} WHERE r.end_nid IN ({marks})",
                                  part + part):
                rel_rows[row[0]] = row
        rels = [_rel_from_row(row) for row in rel_rows.values()]
        ends = {end for rel in rels for end in (rel.start, rel.end)}
        nodes: list[Node] = []
        by_label: dict[str, list[str]] = {}
        for label, element_id in ends:
            by_label.setdefault(label, []).append(element_id)
        for label, ids in by_label.items():
            nodes.extend(self.get_nodes(label, ids).values())
        return nodes, rels
