"""The Neo4j store: the official driver, managed transactions, UNWIND batches.

Values always travel as parameters. The only names ever placed in a query's text are
labels, relationship types and property names, and those come from the model's fixed
allow-lists (checked by :func:`~inventory.graph.store.check_label` and friends).
Each node carries exactly one label, so ``labels(n)[0]`` is its label.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from operator import attrgetter
from typing import Any, NamedTuple

from neo4j import GraphDatabase, ManagedTransaction, Result, Transaction
from neo4j import exceptions as neo4j_errors

from inventory.errors import InventoryError, NotFound, StoreUnavailable
from inventory.graph.store import (
    GraphStore,
    Key,
    LeaveOut,
    Node,
    Rel,
    StopRule,
    Subgraph,
    T,
    WriteSummary,
    canonical,
    check_label,
    check_prop,
    check_records,
    check_rel_type,
    last_of_each,
    write_in_parts,
)
from inventory.model import LABELS, REL_TYPES

BATCH = 2000
PAGE = 5000
_LABEL, _TYPE = attrgetter("label"), attrgetter("type")

# The driver logs its retries as warnings; our own errors say what matters, once.
logging.getLogger("neo4j").addHandler(logging.NullHandler())
logging.getLogger("neo4j").propagate = False

# Reads return their records collected into one list (``RETURN collect(...)``): the driver's
# cost per record (a Record, its keys, hydration) is most of the time of a read of many small
# records, while one list is decoded in one go (by the Rust extension, neo4j-rust-ext).
# A relationship is the row _REL_ROW of the pattern (a)-[r]->(b).
_REL_ROW = "[type(r), properties(r), labels(a)[0], a.id, labels(b)[0], b.id]"


def _match_rel(rel_type: str, rel_id: str, start: str = "", end: str = "") -> str:
    """``MATCH (start)-[r:TYPE {id: <rel_id>}]->(end)`` as a seek in the type's id index.

    Without the hint the planner may match every row by scanning that whole index (a plan
    made while the store held few of the type, and cached): 18 million db hits and 2.5–3.7 s
    for 1,814 ids of LOCATED_AT, against 1,814 and 0.01–0.08 s. ``USING INDEX`` alone
    allows the scan; ``INDEX SEEK`` does not. ``inventory init`` makes the index.
    """
    return (f"MATCH ({start})-[r:`{rel_type}` {{id: {rel_id}}}]->({end}) "
            f"USING INDEX SEEK r:`{rel_type}`(id) ")


class _ListParam(list):
    """A list parameter (rows, ids) whose repr is short.

    The driver formats every statement's parameters for its debug log even when nothing
    logs (``" ".join(map(repr, fields))`` in its RUN, neo4j 5.28 and 6.4): the repr of
    2,000 rows, on the client, for each batch of a write (a third of the client's CPU time
    in the 10k import's write). The driver packs a list subclass as a list.
    """

    def __repr__(self) -> str:
        return f"<list of {len(self)}>"


# The lists the statements of a write sent (set by Neo4jStore._write_part). A driver Result
# keeps its parameters, and sits in reference cycles that only the cyclic collector frees,
# which an import pauses: every part of a write in parts kept its rows to the end of the
# import (100k sites, --commit-every 10000: peak RSS 2,213 MB against 1,685 MB with a
# collection after each part). Emptied once the part's transaction is over, they go at once.
_SENT: ContextVar[list[_ListParam] | None] = ContextVar("_SENT", default=None)


def _run(tx: ManagedTransaction | Transaction, query: str, **params: Any) -> Result:
    """``tx.run`` with each list parameter a _ListParam: every statement of this store with
    a list goes through here."""
    lists = {k: _ListParam(v) for k, v in params.items() if isinstance(v, list)}
    sent = _SENT.get()
    if sent is not None:
        sent.extend(lists.values())
    return tx.run(query, **{**params, **lists})


class _SharedWrite:
    """What the parts of one upsert share (``commit_every``; a single part otherwise)."""

    def __init__(self, nodes: list[Node], rels: list[Rel]):
        self.nodes, self.rels = nodes, rels  # all of the upsert's records
        # the labels and types the store held none of before the upsert, once the first
        # part is committed: its later parts only find what the earlier ones wrote
        self.empty: set[str] | None = None
        self.ends: dict[str, dict[str, str]] = {}  # label -> id -> elementId


class _RelWrites(NamedTuple):
    """What one shape (type, start label, end label) of a batch of relationships writes."""
    rel_type: str
    new: list[tuple[Rel, str, str]]  # to create, with the elementIds of its ends
    changed: list[dict[str, Any]]  # rows whose properties change
    moved: list[str]  # ids that now join other ends: deleted, then created (in new)


def _created_with(var: str, kind: str, keys: list[str], first: int) -> str:
    """``SET v.id = row[first], v.`key` = row[first + 1], …``: the properties of a record
    this statement creates, from the columns of its row (a list).

    Created records travel as lists, not maps: a map's keys are packed, sent, decoded and
    looked up as tokens again for every row, and ``SET n = map`` first looks for properties
    to remove. The creates of the 10k export's nodes, alternated and rolled back: medians
    1.34 s as maps, 1.01 s as lists; its relationships 1.25 s and 0.91 s. A null column
    sets nothing, as a null in a map did not either.
    """
    sets = [f"{var}.id = row[{first}]"]
    sets += [f"{var}.`{check_prop(kind, key)}` = row[{i}]" for i, key in enumerate(keys, first + 1)]
    return "SET " + ", ".join(sets)


def _columns(records: Iterable[Node | Rel]) -> list[str]:
    """The property names of these records but ``id``, in one order."""
    return sorted({key for record in records for key in record.props} - {"id"})


def _empty_kinds(tx: Transaction, nodes: list[Node], rels: list[Rel]) -> set[str]:
    """The labels and relationship types of these records that the store has none of
    (counts Neo4j keeps: no scan)."""
    labels = {n.label for n in nodes} | {end[0] for r in rels for end in (r.start, r.end)}
    empty = {label for label in labels
             if not tx.run(f"MATCH (n:`{label}`) RETURN count(n) AS n").single()["n"]}
    # (labels and types are apart in the model: HAS_SITE is never a label)
    return empty | {rel_type for rel_type in {r.type for r in rels} if not tx.run(
        f"MATCH ()-[r:`{rel_type}`]->() RETURN count(r) AS n").single()["n"]}


def _strip_id(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != "id"}


def _node(label: str, props: dict[str, Any]) -> Node:
    """A node from its ``properties(n)`` (a fresh dict from the driver)."""
    element_id = props.pop("id")
    return Node(label, element_id, props)


def _rel_from_row(row: list[Any]) -> Rel:
    rel_type, props, s_label, s_id, e_label, e_id = row
    return Rel(rel_type, props["id"], (s_label, s_id), (e_label, e_id), _strip_id(props))


def _rule_predicate(rule: StopRule, var: str, params: dict[str, Any]) -> str:
    """``rule`` as a Cypher predicate on node ``var``; names from the allow-lists, values
    as parameters. coalesce: a missing property is null in Cypher, and must not match (in
    Python ``props.get(name) in values`` is False)."""
    through = " OR ".join(f"{var}:`{check_label(label)}`" for label in sorted(rule.through))
    clauses = [f"({through or 'false'})"]
    for label, props in rule.stops:
        stop = [f"{var}:`{check_label(label)}`"]
        for name, values in props:
            param = f"v{len(params)}"
            params[param] = sorted(values, key=repr)
            stop.append(f"coalesce({var}.`{check_prop(label, name)}` IN ${param}, false)")
        clauses.append(f"NOT ({' AND '.join(stop)})")
    return " AND ".join(clauses)


def _kept_predicate(rule: LeaveOut | None, var: str, params: dict[str, Any]) -> str:
    """Node ``var`` is not left out by ``rule``, as a Cypher predicate ("" without one)."""
    if rule is None:
        return ""
    params["keep"] = sorted(rule.keep)
    return f"NOT ({var}:`{check_label(rule.label)}` AND NOT {var}.id IN $keep)"


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split())


# Security errors that are not AuthError in the driver but still mean "we cannot log in".
_LOGIN_REFUSED = {"Neo.ClientError.Security.AuthenticationRateLimit",
                  "Neo.ClientError.Security.CredentialsExpired"}


def _commit_unknown(uri: str, why: str) -> StoreUnavailable:
    """The error of a write whose commit was sent and whose success is not known."""
    return StoreUnavailable(f"Neo4j at {uri} did not confirm a commit ({why}): that write "
                            "may have been committed or not", commit_unknown=True)


def _translate_errors(method: Callable) -> Callable:
    """Driver errors become the project's own, with one readable line."""

    @functools.wraps(method)
    def wrapper(self: Neo4jStore, *args: Any, **kwargs: Any) -> Any:
        if self._in_reads():  # inside run_reads: it translates, after the driver's retries
            return method(self, *args, **kwargs)
        try:
            return method(self, *args, **kwargs)
        except neo4j_errors.AuthError:
            raise StoreUnavailable(
                f"Neo4j at {self.uri} refused the credentials of user {self.user!r}: "
                "check INVENTORY_NEO4J_USER / INVENTORY_NEO4J_PASSWORD") from None
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            raise StoreUnavailable(f"Neo4j at {self.uri} is not reachable: {_one_line(exc)}"
                                   ) from None
        except neo4j_errors.ConfigurationError as exc:
            raise StoreUnavailable(f"cannot use Neo4j at {self.uri}: {_one_line(exc)}") from None
        except neo4j_errors.Neo4jError as exc:
            if exc.code in _LOGIN_REFUSED:  # e.g. locked after repeated wrong passwords
                raise StoreUnavailable(
                    f"Neo4j at {self.uri} refused the credentials of user {self.user!r}: "
                    f"{_one_line(exc.message or exc)} Check INVENTORY_NEO4J_USER / "
                    "INVENTORY_NEO4J_PASSWORD") from None
            hint = ""
            if "memory.transaction" in str(exc.message or exc):  # one big import, one tx
                hint = (" (an import is one transaction: give the server more heap, "
                        "server.memory.heap.max_size, or raise db.memory.transaction.total.max"
                        ", or import the export in parts, or with --commit-every N)")
            raise InventoryError(f"Neo4j at {self.uri}: {_one_line(exc.message or exc)}{hint}"
                                 ) from None
        except neo4j_errors.DriverError as exc:
            raise StoreUnavailable(f"Neo4j at {self.uri}: {_one_line(exc)}") from None

    return wrapper


class Neo4jStore(GraphStore):
    # the audit's batches read no faster than the whole network here, or not for long
    # (2026-12-03, 2 workers against 1: 1,279–1,474 against 1,835–1,972 sites/s at 1k,
    # 2,647–2,784 against 2,271–2,390 at 10k for twice the memory, as fast at 100k)
    prefers_whole_reads = True

    #: How long a transaction is tried again after transient errors (the driver's retries
    #: of reads; writes retry themselves, see _execute_write), and the first wait between.
    RETRY_SECONDS = 15.0
    FIRST_RETRY_DELAY = 1.0

    def __init__(self, uri: str, user: str, password: str, database: str | None = None):
        self.uri = uri
        self.user = user
        self.location = uri
        self.database = database
        try:
            self.driver = GraphDatabase.driver(uri, auth=(user, password),
                                               connection_timeout=10,
                                               max_transaction_retry_time=self.RETRY_SECONDS)
        except (ValueError, neo4j_errors.ConfigurationError) as exc:
            raise StoreUnavailable(f"bad Neo4j address {uri!r}: {exc}") from None
        # The transaction of run_reads, per thread (a web server shares one store).
        self._reads = threading.local()
        self._verify()

    @_translate_errors
    def _verify(self) -> None:
        """Fail at once, with one clear line, when the server is down or the password wrong
        (instead of retrying every query for the driver's retry time)."""
        try:
            self.driver.verify_connectivity()
        except BaseException:
            self.driver.close()
            raise

    def close(self) -> None:
        self.driver.close()

    def _session(self):
        return self.driver.session(database=self.database)

    def _in_reads(self) -> bool:
        return getattr(self._reads, "tx", None) is not None

    def _execute_read(self, work: Callable[[ManagedTransaction], T]) -> T:
        """``work(tx)`` in the transaction of :meth:`run_reads` when inside one, else in a
        session and read transaction of its own."""
        if self._in_reads():
            return work(self._reads.tx)
        with self._session() as session:
            return session.execute_read(work)

    def _execute_write(self, work: Callable[[Transaction], T]) -> T:
        """``work(tx)`` in a write transaction of its own, done again after a transient
        error (as the driver's ``execute_write`` would: up to RETRY_SECONDS, waits doubling
        from FIRST_RETRY_DELAY) until its commit is sent. A commit answered with a
        ClientError was refused: nothing of it was done, the error is raised as it is. A
        commit answered otherwise, or not at all, raises StoreUnavailable with
        ``commit_unknown`` at once and is not done again: its write may be done (a retry
        would report it unchanged, or meet the id constraint).

        The driver's ``execute_write`` retries a failed commit as well, so that the error
        a caller saw could be its retry's (a ClientError of the next ``BEGIN``, taken for a
        refusal), after up to RETRY_SECONDS of reconnecting to a server that had stopped.
        """
        # A Neo4j that is stopping answers DatabaseUnavailable to a commit it has applied
        # (6 server stops that hit a commit, 2026-12-03: applied every time); a lost
        # connection leaves a commit unknown as well.
        started, delay = time.monotonic(), self.FIRST_RETRY_DELAY
        while True:
            committed = False
            try:
                with self._session() as session:
                    tx = session.begin_transaction()
                    try:
                        result = work(tx)
                    except BaseException:
                        tx.close()  # rolled back
                        raise
                    try:
                        tx.commit()
                    except neo4j_errors.ClientError:
                        raise  # refused
                    except (neo4j_errors.DriverError, neo4j_errors.Neo4jError) as exc:
                        raise _commit_unknown(self.uri, _one_line(exc)) from None
                    committed = True
                return result
            except (neo4j_errors.DriverError, neo4j_errors.Neo4jError) as exc:
                if committed:  # closing the session failed: the write is done all the same
                    return result
                if not exc.is_retryable() or time.monotonic() - started > self.RETRY_SECONDS:
                    raise
            time.sleep(delay * random.uniform(0.8, 1.2))  # the driver's jitter
            delay *= 2

    def _read(self, query: str, **params: Any) -> list[Any]:
        def work(tx: ManagedTransaction) -> list[Any]:
            # consumed inside the transaction
            return list(_run(tx, query, **params))

        return self._execute_read(work)

    @_translate_errors
    def run_reads(self, work: Callable[[], T]) -> T:
        """:meth:`GraphStore.run_reads`: one session and managed read transaction (~2-3 ms
        less per read than one each); the driver retries ``work`` on transient errors."""
        if self._in_reads():
            return work()

        def in_tx(tx: ManagedTransaction) -> T:
            self._reads.tx = tx
            try:
                return work()
            finally:
                self._reads.tx = None

        with self._session() as session:
            return session.execute_read(in_tx)

    def _collected(self, query: str, **params: Any) -> list[Any]:
        """The one list a ``RETURN collect(...)`` query answers (see _REL_ROW)."""
        return self._read(query, **params)[0][0]

    @_translate_errors
    def init(self) -> None:
        with self._session() as session:
            for label in LABELS:
                session.run(f"CREATE CONSTRAINT `{label}_id` IF NOT EXISTS "
                            f"FOR (n:`{label}`) REQUIRE n.id IS UNIQUE").consume()
            # A relationship's id is unique within its type, as a node's within its label.
            # Stores initialised before that have a plain index of that name: it goes, and
            # the constraint's own index takes its place.
            plain = {row["name"] for row in session.run(
                "SHOW RANGE INDEXES YIELD name, owningConstraint "
                "WHERE owningConstraint IS NULL RETURN name")}
            for rel_type in REL_TYPES:
                if f"{rel_type}_id" in plain:
                    session.run(f"DROP INDEX `{rel_type}_id`").consume()
                session.run(f"CREATE CONSTRAINT `{rel_type}_id` IF NOT EXISTS "
                            f"FOR ()-[r:`{rel_type}`]-() REQUIRE r.id IS UNIQUE").consume()
            session.run("CREATE INDEX `SEGMENT_cable_id` IF NOT EXISTS "
                        "FOR ()-[r:SEGMENT]-() ON (r.cable_id)").consume()
            session.run("CALL db.awaitIndexes(120)").consume()

    # -- writes
    # not itself _translate_errors: each part is, so that write_in_parts sees our errors
    def upsert(self, nodes: Iterable[Node] = (), rels: Iterable[Rel] = (),
               progress: Callable[[int], None] | None = None, remove: Iterable[Key] = (),
               remove_rels: Iterable[tuple[str, str]] = (),
               commit_every: int | None = None) -> WriteSummary:
        removals = self._removals(remove, remove_rels)
        node_list = last_of_each(list(nodes), _LABEL)
        rel_list = last_of_each(list(rels), _TYPE)
        check_records(node_list, rel_list)
        shared = _SharedWrite(node_list, rel_list)
        if commit_every is None:
            return self._write_part(node_list, rel_list, removals, progress, shared)
        return write_in_parts(
            node_list, rel_list, commit_every,
            lambda part_nodes, part_rels, last: self._write_part(
                part_nodes, part_rels, removals if last else ([], []), progress, shared))

    @_translate_errors
    def _write_part(self, node_list: list[Node], rel_list: list[Rel],
                    removals: tuple[list[Key], list[tuple[str, str]]],
                    progress: Callable[[int], None] | None,
                    shared: _SharedWrite) -> WriteSummary:
        """Write these records (and removals) in one transaction."""

        def work(tx: Transaction) -> tuple[WriteSummary, set[str]]:
            summary = WriteSummary()  # fresh on every retry of the transaction
            # Labels and types the store held none of before this upsert (a first import):
            # their records are all new, so nothing of them is read before they are created.
            empty = shared.empty
            if empty is None:
                empty = _empty_kinds(tx, shared.nodes, shared.rels)
            # label -> id -> elementId of the nodes this upsert created or read as an end:
            # a relationship is created between its ends found by elementId, not by a seek
            # in the label's id index through the transaction's own new nodes (the
            # relationships of the 10k export: 1.4–1.5 s against 2.0–3.0 s). A retry
            # creates its part's nodes again, and so replaces their elementIds.
            ends = shared.ends
            # The creates' results are read after every batch is sent: the driver waits
            # for a statement's result only when it is read, so the client prepares and
            # packs the next batch while the server runs this one (this and _run's lists:
            # the 10k import's write, alternated, 4.83–5.81 s against 5.50–6.57 s).
            creates: list[tuple[str, list[str], Result]] = []
            for i in range(0, len(node_list), BATCH):
                batch = node_list[i:i + BATCH]
                creates += self._upsert_nodes(tx, batch, summary, empty)
                if progress:
                    progress(len(batch))
            for label, ids, result in creates:
                ends.setdefault(label, {}).update(zip(ids, result.single()[0]))
            # Every relationship read before any is written: a seek in the id index of a
            # type that this transaction has created relationships of went through all of
            # them (Neo4j's transaction state; a part of 10,000 relationships: the reads
            # 6.7 s, and 0.8 s for the whole part when they come first).
            batches = [rel_list[i:i + BATCH] for i in range(0, len(rel_list), BATCH)]
            plans = [self._plan_rels(tx, batch, summary, empty, ends) for batch in batches]
            for plan in plans:
                self._update_rels(tx, plan)
            results: list[Result] = []
            for batch, plan in zip(batches, plans):
                results += self._create_rels(tx, plan)
                if progress:
                    progress(len(batch))
            for result in results:  # the first error of a batch is raised here
                result.consume()
            summary.deleted = self._delete(tx, *removals)
            return summary, empty

        sent = _SENT.set([])
        try:
            summary, shared.empty = self._execute_write(work)
        finally:
            for rows in _SENT.get():
                rows.clear()
            _SENT.reset(sent)
        return summary

    @staticmethod
    def _upsert_nodes(tx: Transaction, batch: list[Node], summary: WriteSummary,
                      empty: set[str]) -> list[tuple[str, list[str], Result]]:
        """Write a batch of nodes; the unread results of its creates, with their ids."""
        creates = []
        by_label: dict[str, list[Node]] = {}
        for node in batch:
            by_label.setdefault(node.label, []).append(node)
        for label, group in by_label.items():
            if label in empty:
                existing = {}
            else:
                existing = {props["id"]: canonical(_strip_id(props)) for props in _run(
                    tx, f"UNWIND $ids AS id MATCH (n:`{label}` {{id: id}}) "
                    "RETURN collect(properties(n))", ids=[n.id for n in group]).single()[0]}
            new, changed = [], []
            for node in group:
                old = existing.get(node.id)
                if old is None:
                    summary.created[label] += 1
                    new.append(node)
                elif old != canonical(node.props):
                    summary.updated[label] += 1
                    changed.append({"id": node.id, "props": {**node.props, "id": node.id}})
                else:
                    summary.unchanged[label] += 1
            # CREATE what the pre-read found absent: cheaper than MERGE, and the uniqueness
            # constraint still refuses a node another transaction created meanwhile.
            if new:
                keys = _columns(new)
                created = _run(tx, f"UNWIND $rows AS row CREATE (n:`{label}`) "
                               f"{_created_with('n', label, keys, 0)} "
                               "RETURN collect(elementId(n))",
                               rows=[[node.id, *map(node.props.get, keys)] for node in new])
                creates.append((label, [node.id for node in new], created))
            if changed:
                _run(tx, f"UNWIND $rows AS row MATCH (n:`{label}` {{id: row.id}}) "
                     "SET n = row.props", rows=changed).consume()
        return creates

    @staticmethod
    def _plan_rels(tx: Transaction, batch: list[Rel], summary: WriteSummary,
                   empty: set[str], ends: dict[str, dict[str, str]]) -> list[_RelWrites]:
        """Read what a batch of relationships changes, writing nothing: per shape, the rows
        to create (their ends as elementIds), to update and the ids to delete (an id that
        now joins other ends)."""
        ends_by_label: dict[str, set[str]] = {}
        for rel in batch:
            for label, element_id in (rel.start, rel.end):
                ends_by_label.setdefault(label, set()).add(element_id)
        for label, ids in ends_by_label.items():
            found = ends.setdefault(label, {})
            # a label that was empty has only the nodes this call created
            unknown = [] if label in empty else [i for i in ids if i not in found]
            if unknown:
                found.update(_run(tx, f"UNWIND $ids AS id MATCH (n:`{label}` {{id: id}}) "
                                  "RETURN collect([n.id, elementId(n)])",
                                  ids=unknown).single()[0])
            if not ids <= found.keys():  # the first end missing, in the batch's order
                raise NotFound(label, next(
                    end[1] for rel in batch for end in (rel.start, rel.end)
                    if end[0] == label and end[1] not in found))
        by_shape: dict[tuple[str, str, str], list[Rel]] = {}
        for rel in batch:
            by_shape.setdefault((rel.type, rel.start[0], rel.end[0]), []).append(rel)
        plan = []
        for (rel_type, s_label, e_label), group in by_shape.items():
            existing = {} if rel_type in empty else {row[1]["id"]: row for row in _run(
                tx, "UNWIND $ids AS id " + _match_rel(rel_type, "id", "a", "b") +
                f"RETURN collect({_REL_ROW})", ids=[r.id for r in group]).single()[0]}
            new, changed, moved = [], [], []
            starts, stops = ends[s_label], ends[e_label]
            for rel in group:
                start, end = starts[rel.start[1]], stops[rel.end[1]]
                old = existing.get(rel.id)
                if old is None:
                    summary.created[rel_type] += 1
                    new.append((rel, start, end))
                    continue
                old_rel = _rel_from_row(old)
                same_ends = (old_rel.start, old_rel.end) == (rel.start, rel.end)
                if same_ends and canonical(old_rel.props) == canonical(rel.props):
                    summary.unchanged[rel_type] += 1
                    continue
                summary.updated[rel_type] += 1
                if same_ends:
                    changed.append({"id": rel.id, "props": {**rel.props, "id": rel.id}})
                else:  # an id now joins other ends: the old relationship goes
                    moved.append(rel.id)
                    new.append((rel, start, end))
            plan.append(_RelWrites(rel_type, new, changed, moved))
        return plan

    @staticmethod
    def _update_rels(tx: Transaction, plan: list[_RelWrites]) -> None:
        for rel_type, _, changed, moved in plan:
            if moved:
                _run(tx, "UNWIND $ids AS id " + _match_rel(rel_type, "id") + "DELETE r",
                     ids=moved).consume()
            if changed:
                _run(tx, "UNWIND $rows AS row " + _match_rel(rel_type, "row.id") +
                     "SET r = row.props", rows=changed).consume()

    @staticmethod
    def _create_rels(tx: Transaction, plan: list[_RelWrites]) -> list[Result]:
        """Send the creates of a batch's plan; their unread results."""
        results = []
        for rel_type, new, _, _ in plan:
            if new:
                # CREATE what the pre-read found absent, as for nodes: the uniqueness
                # constraint refuses a relationship another transaction created meanwhile.
                # (MERGE here let the planner match each row by scanning the type's id
                # index when the store held few of the type: 14 s for 2,000 rows.)
                keys = _columns(rel for rel, _, _ in new)
                results.append(_run(
                    tx, "UNWIND $rows AS row MATCH (a) WHERE elementId(a) = row[0] "
                    "MATCH (b) WHERE elementId(b) = row[1] "
                    f"CREATE (a)-[r:`{rel_type}`]->(b) {_created_with('r', rel_type, keys, 2)}",
                    rows=[[start, end, rel.id, *map(rel.props.get, keys)]
                          for rel, start, end in new]))
        return results

    @staticmethod
    def _removals(nodes: Iterable[Key], rels: Iterable[tuple[str, str]]
                  ) -> tuple[list[Key], list[tuple[str, str]]]:
        return ([(check_label(label), element_id) for label, element_id in nodes],
                [(check_rel_type(t), element_id) for t, element_id in rels])

    @staticmethod
    def _delete(tx: Transaction, node_keys: list[Key],
                rel_keys: list[tuple[str, str]]) -> int:
        deleted = 0
        for rel_type, rel_id in rel_keys:
            deleted += tx.run(_match_rel(rel_type, "$id") + "DELETE r RETURN count(*) AS n",
                              id=rel_id).single()["n"]
        for label, element_id in node_keys:
            rec = tx.run(f"MATCH (n:`{label}` {{id: $id}}) OPTIONAL MATCH (n)-[r]-() "
                         "WITH n, count(r) AS rels DETACH DELETE n RETURN rels",
                         id=element_id).single()
            if rec is not None:
                deleted += 1 + rec["rels"]
        return deleted

    @_translate_errors
    def delete(self, nodes: Iterable[Key] = (), rels: Iterable[tuple[str, str]] = ()) -> int:
        removals = self._removals(nodes, rels)
        return self._execute_write(lambda tx: self._delete(tx, *removals))

    # -- reads
    @_translate_errors
    def get_nodes(self, label: str, ids: Iterable[str]) -> dict[str, Node]:
        check_label(label)
        found = self._collected(f"UNWIND $ids AS id MATCH (n:`{label}` {{id: id}}) "
                                "RETURN collect(properties(n))", ids=list(set(ids)))
        return {node.id: node for node in (_node(label, props) for props in found)}

    @_translate_errors
    def get_nodes_many(self, ids_by_label: Mapping[str, Iterable[str]]
                       ) -> dict[str, dict[str, Node]]:
        """:meth:`GraphStore.get_nodes_many` in one query: one round trip for all labels."""
        found: dict[str, dict[str, Node]] = {}
        params: dict[str, Any] = {}
        parts = []
        for i, (label, ids) in enumerate(ids_by_label.items()):
            found[check_label(label)] = {}
            params[f"ids{i}"] = list(set(ids))
            parts.append(f"UNWIND $ids{i} AS id MATCH (n:`{label}` {{id: id}}) RETURN n")
        if parts:
            for label, props in self._collected(
                    f"CALL () {{ {' UNION ALL '.join(parts)} }} "
                    "RETURN collect([labels(n)[0], properties(n)])", **params):
                node = _node(label, props)
                found[label][node.id] = node
        return found

    @_translate_errors
    def get_rels(self, rel_type: str, ids: Iterable[str]) -> dict[str, Rel]:
        check_rel_type(rel_type)
        found = self._collected("UNWIND $ids AS id " + _match_rel(rel_type, "id", "a", "b") +
                                f"RETURN collect({_REL_ROW})", ids=list(set(ids)))
        return {rel.id: rel for rel in map(_rel_from_row, found)}

    @_translate_errors
    def find_nodes(self, label: str, **props: Any) -> list[Node]:
        check_label(label)
        where = " AND ".join(f"n.`{check_prop(label, name)}` = $p{i}"
                             for i, name in enumerate(props)) or "true"
        params = {f"p{i}": value for i, value in enumerate(props.values())}
        found = self._collected(f"MATCH (n:`{label}`) WHERE {where} WITH n ORDER BY n.id "
                                "RETURN collect(properties(n))", **params)
        return [_node(label, props) for props in found]

    @_translate_errors
    def find_rels(self, rel_type: str, **props: Any) -> list[Rel]:
        check_rel_type(rel_type)
        clauses = []
        for i, name in enumerate(props):
            name = check_prop(rel_type, name)
            # A list property matches when the value is one of its items.
            clauses.append(f"(r.`{name}` = $p{i} OR (valueType(r.`{name}`) STARTS WITH 'LIST'"
                           f" AND $p{i} IN r.`{name}`))")
        params = {f"p{i}": value for i, value in enumerate(props.values())}
        found = self._collected(f"MATCH (a)-[r:`{rel_type}`]->(b) "
                                f"WHERE {' AND '.join(clauses) or 'true'} "
                                f"WITH a, r, b ORDER BY r.id RETURN collect({_REL_ROW})", **params)
        return [_rel_from_row(row) for row in found]

    @_translate_errors
    def iter_nodes(self, label: str) -> Iterator[Node]:
        check_label(label)
        last = ""
        while True:
            page = self._collected(f"MATCH (n:`{label}`) WHERE n.id > $last "
                                   f"WITH n ORDER BY n.id LIMIT {PAGE} "
                                   "RETURN collect(properties(n))", last=last)
            if not page:
                return
            last = page[-1]["id"]
            for props in page:
                yield _node(label, props)
            if len(page) < PAGE:
                return

    @_translate_errors
    def iter_rels(self, rel_type: str) -> Iterator[Rel]:
        check_rel_type(rel_type)
        last = ""
        while True:
            page = self._collected(f"MATCH (a)-[r:`{rel_type}`]->(b) WHERE r.id > $last "
                                   f"WITH a, r, b ORDER BY r.id LIMIT {PAGE} "
                                   f"RETURN collect({_REL_ROW})", last=last)
            for row in page:
                yield _rel_from_row(row)
            if len(page) < PAGE:
                return
            last = page[-1][1]["id"]

    @_translate_errors
    def count_nodes(self) -> dict[str, int]:
        return {label: self._read(f"MATCH (n:`{label}`) RETURN count(n) AS n")[0]["n"]
                for label in LABELS}

    @_translate_errors
    def count_rels(self) -> dict[str, int]:
        return {t: self._read(f"MATCH ()-[r:`{t}`]->() RETURN count(r) AS n")[0]["n"]
                for t in REL_TYPES}

    @_translate_errors
    def subgraph(self, seeds: Iterable[Key], hops: int,
                 expand: Callable[[Node], bool] | None = None,
                 rel_types: Iterable[str] | None = None,
                 leave_out: LeaveOut | None = None) -> Subgraph:
        """:meth:`GraphStore.subgraph`. Without ``expand`` or with a
        :class:`~inventory.graph.store.StopRule`, the whole walk is one query (the server's
        breadth-first variable-length expand, the rule inlined as its per-step predicate);
        with any other callable, one query per hop in one read transaction."""
        by_label: dict[str, list[str]] = {}
        for label, element_id in dict.fromkeys(seeds):
            by_label.setdefault(check_label(label), []).append(element_id)
        types = None if rel_types is None else sorted({check_rel_type(t) for t in rel_types})
        if leave_out is not None:
            leave_out = leave_out.with_seeds(
                (label, i) for label, ids in by_label.items() for i in ids)
        if expand is None or isinstance(expand, StopRule):
            return self._walk(by_label, hops, expand, types, leave_out)
        return self._walk_per_hop(by_label, hops, expand, types, leave_out)

    def _walk(self, by_label: dict[str, list[str]], hops: int, rule: StopRule | None,
              types: list[str] | None, leave_out: LeaveOut | None) -> Subgraph:
        """The walk in one query. The nodes expanded are the seeds and every node reachable
        from a seed in at most ``hops - 1`` steps through nodes the rule expands; the result
        is them, their neighbours and their relationships: what the per-hop walk finds."""
        params: dict[str, Any] = {}
        seeds = []
        for i, (label, ids) in enumerate(by_label.items()):
            params[f"s{i}"] = ids
            seeds.append(f"UNWIND $s{i} AS id MATCH (s:`{label}` {{id: id}}) RETURN s")
        if not seeds:
            return Subgraph()
        if types is not None and not types:
            hops = min(hops, 0)  # no relationship may be followed
        rel = "" if types is None else ":" + "|".join(f"`{t}`" for t in types)
        query = f"CALL () {{ {' UNION '.join(seeds)} }} "
        if hops <= 0:
            query += "WITH collect(s) AS xs, [] AS rs, [] AS ms "
        else:
            if hops > 1:
                steps = [] if rule is None else [_rule_predicate(rule, "b", params)]
                if leave_out is not None:  # nor through a node left out
                    steps.append(_kept_predicate(leave_out, "b", params))
                where = f" WHERE {' AND '.join(steps)}" if steps else ""
                query += f"MATCH (s) ((a)-[{rel}]-(b){where}){{0,{hops - 1}}} (x) "
            else:
                query += "WITH s AS x "
            kept = _kept_predicate(leave_out, "m", params)
            query += (f"WITH collect(DISTINCT x) AS xs UNWIND xs AS x "
                      f"OPTIONAL MATCH (x)-[r{rel}]-(m){kept and ' WHERE ' + kept} "
                      "WITH xs, collect(DISTINCT r) AS rs, collect(DISTINCT m) AS ms ")
        # Rows of plain values, not node and relationship entities: the driver builds those
        # in Python (most of a walk's client CPU), plain lists are decoded in one go.
        query += ("RETURN [n IN xs + ms | [labels(n)[0], properties(n)]] AS ns, "
                  "[r IN rs | [type(r), properties(r), labels(startNode(r))[0], "
                  "startNode(r).id, labels(endNode(r))[0], endNode(r).id]] AS rs")
        records = self._read(query, **params)
        if not records:  # no seed exists
            return Subgraph()
        rec = records[0]
        found: dict[Key, Node] = {}
        for label, props in rec["ns"]:
            if (label, props["id"]) not in found:  # a node may be both an x and an m
                node = _node(label, props)
                found[node.key] = node
        graph = Subgraph()
        for label, ids in by_label.items():  # seeds first, as the per-hop walk has them
            for element_id in ids:
                if (label, element_id) in found:
                    graph.nodes[(label, element_id)] = found.pop((label, element_id))
        graph.nodes.update(sorted(found.items()))
        rels = map(_rel_from_row, rec["rs"])
        graph.rels.update(sorted(((r.type, r.id), r) for r in rels))
        return graph

    def _walk_per_hop(self, by_label: dict[str, list[str]], hops: int,
                      expand: Callable[[Node], bool], types: list[str] | None,
                      leave_out: LeaveOut | None) -> Subgraph:
        """The walk for an arbitrary ``expand`` callable: one query per hop, by element id."""
        params: dict[str, Any] = {}
        kept = _kept_predicate(leave_out, "m", params)
        kept = f"AND {kept} " if kept else ""

        def work(tx: ManagedTransaction) -> Subgraph:
            graph = Subgraph()
            key_of: dict[str, Key] = {}
            frontier: list[str] = []
            for label, ids in by_label.items():
                for rec in _run(tx, f"UNWIND $ids AS id MATCH (n:`{label}` {{id: id}}) "
                                "RETURN elementId(n) AS eid, n.id AS id, "
                                "properties(n) AS props", ids=ids):
                    node = Node(label, rec["id"], _strip_id(dict(rec["props"])))
                    graph.nodes[node.key] = node
                    key_of[rec["eid"]] = node.key
                    frontier.append(rec["eid"])
            seen_rels: set[str] = set()
            for _ in range(hops):
                if not frontier:
                    break
                records = list(_run(
                    tx, "UNWIND $eids AS eid MATCH (n) WHERE elementId(n) = eid "
                    f"MATCH (n)-[r]-(m) WHERE ($types IS NULL OR type(r) IN $types) "
                    f"{kept}WITH DISTINCT r, m "
                    "RETURN elementId(r) AS rid, type(r) AS type, r.id AS id, "
                    "properties(r) AS props, elementId(startNode(r)) AS s, "
                    "elementId(endNode(r)) AS e, elementId(m) AS mid, "
                    "labels(m)[0] AS m_label, m.id AS m_id, properties(m) AS m_props",
                    eids=frontier, types=types, **params))
                new: list[tuple[str, Node]] = []
                for rec in records:
                    if rec["mid"] not in key_of:
                        node = Node(rec["m_label"], rec["m_id"],
                                    _strip_id(dict(rec["m_props"])))
                        key_of[rec["mid"]] = node.key
                        new.append((rec["mid"], node))
                for rec in records:
                    if rec["rid"] in seen_rels:
                        continue
                    seen_rels.add(rec["rid"])
                    rel = Rel(rec["type"], rec["id"], key_of[rec["s"]], key_of[rec["e"]],
                              _strip_id(dict(rec["props"])))
                    graph.rels[(rel.type, rel.id)] = rel
                frontier = []
                for eid, node in sorted(new, key=lambda item: item[1].key):
                    if node.key in graph.nodes:
                        continue
                    graph.nodes[node.key] = node
                    if expand(node):
                        frontier.append(eid)
            return graph

        return self._execute_read(work)

    @_translate_errors
    def neighbourhood(self, keys: Iterable[Key]) -> tuple[list[Node], list[Rel]]:
        by_label: dict[str, list[str]] = {}
        for label, element_id in keys:
            by_label.setdefault(check_label(label), []).append(element_id)
        nodes: dict[Key, Node] = {}
        rels: dict[tuple[str, str], Rel] = {}
        for label, ids in by_label.items():
            for row, m_label, m_props in self._collected(
                    f"UNWIND $ids AS id MATCH (n:`{label}` {{id: id}})-[r]-(m) "
                    "MATCH (a)-[r]->(b) "
                    f"RETURN collect([{_REL_ROW}, labels(m)[0], properties(m)])", ids=ids):
                rel = _rel_from_row(row)
                rels[(rel.type, rel.id)] = rel
                node = _node(m_label, m_props)
                nodes[node.key] = node
        return list(nodes.values()), list(rels.values())
