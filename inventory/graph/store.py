"""The GraphStore contract: what every store offers, whichever database is behind it.

Records are plain values: :class:`Node` ``(label, id, props)`` and :class:`Rel`
``(type, id, start, end, props)`` with ``start``/``end`` as ``(label, id)`` keys.  The
analysis only ever sees these, so it never knows which store answered.

Writes go through :meth:`GraphStore.upsert`: one call is one transaction, all or nothing.
An upserted record replaces the stored properties of the same ``(label, id)`` (or
``(type, id)``) entirely; records equal to what is stored are left alone and counted
as unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, TypeVar

import orjson

from inventory.errors import InventoryError, PartlyWritten, StoreUnavailable, ValidationError
from inventory.model import LABELS, NODE_FIELDS, REL_FIELDS, REL_TYPES, check_endpoints

Key = tuple[str, str]  # (label, id)
T = TypeVar("T")

DEFAULT_STORE = "inventory.db"


@dataclass(frozen=True)
class Node:
    label: str
    id: str
    props: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> Key:
        return (self.label, self.id)


@dataclass(frozen=True)
class Rel:
    type: str
    id: str
    start: Key
    end: Key
    props: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Subgraph:
    """Nodes and relationships around some seeds, as plain records."""

    nodes: dict[Key, Node] = field(default_factory=dict)
    rels: dict[tuple[str, str], Rel] = field(default_factory=dict)


@dataclass
class WriteSummary:
    """What one upsert did, per label or relationship type."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    #: records removed by the same call (``upsert(remove=…, remove_rels=…)``)
    deleted: int = 0

    def add(self, other: WriteSummary) -> None:
        """Count ``other`` in too (the parts of one write)."""
        self.created.update(other.created)
        self.updated.update(other.updated)
        self.unchanged.update(other.unchanged)
        self.deleted += other.deleted

    def as_rows(self) -> list[dict[str, Any]]:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        return [{"entity": k, "created": self.created[k], "updated": self.updated[k],
                 "unchanged": self.unchanged[k]} for k in kinds]


#: write_part(nodes, rels, last): one transaction; ``last`` is True for the final part
WritePart = Callable[[list[Node], list[Rel], bool], WriteSummary]


def write_in_parts(nodes: list[Node], rels: list[Rel], every: int,
                   write_part: WritePart) -> WriteSummary:
    """Write ``nodes`` then ``rels`` with ``write_part``, at most ``every`` records at a time,
    each part in its own transaction; the parts' summaries added up.

    Nodes come first, so every relationship is written after both its ends are committed.
    A part that fails after others were committed raises
    :class:`~inventory.errors.PartlyWritten` (with the part's error as its cause), and so
    does one whose commit was not confirmed (``StoreUnavailable.commit_unknown``: it may
    have been committed); a first part that fails otherwise has written nothing, and its
    error is raised as it is.
    """
    if every < 1:
        raise ValueError(f"commit_every must be at least 1, not {every}")
    parts = [(nodes[i:i + every], []) for i in range(0, len(nodes), every)]
    parts += [([], rels[i:i + every]) for i in range(0, len(rels), every)]
    parts = parts or [([], [])]  # removals alone still need their transaction
    total, written = WriteSummary(), 0
    for number, (part_nodes, part_rels) in enumerate(parts, 1):
        try:
            summary = write_part(part_nodes, part_rels, number == len(parts))
        except InventoryError as exc:
            # the part's commit not confirmed: it may have been committed
            unknown = isinstance(exc, StoreUnavailable) and exc.commit_unknown
            perhaps = len(part_nodes) + len(part_rels) if unknown else 0
            if not written and not perhaps:
                raise
            raise PartlyWritten(written, len(nodes) + len(rels), number - 1, exc,
                                perhaps) from exc
        total.add(summary)
        written += len(part_nodes) + len(part_rels)
    return total


_ID = attrgetter("id")


def last_of_each(records: list, kind: Callable[[Any], str]) -> list:
    """Records with one per (kind, id): the last one, where the first one was. An import
    has no repeats, and a million-entry dict of (kind, id) keys would cost 200 MB at 100,000
    sites: the check keeps only sets of ids (which share the id strings)."""
    # An import's ids are unique whatever the kind: then one set, built in C, says so.
    if len(set(map(_ID, records))) == len(records):
        return records
    seen: dict[str, set[str]] = {}
    for record in records:
        ids = seen.get(kind(record))
        if ids is None:
            ids = seen[kind(record)] = set()
        if record.id in ids:
            return list({(kind(r), r.id): r for r in records}.values())
        ids.add(record.id)
    return records


def check_label(label: str) -> str:
    """Labels and types come from a fixed allow-list: they are the only names ever placed
    into a query's text (values always travel as parameters)."""
    if label not in LABELS:
        raise ValidationError("label", label, f"unknown label; expected one of {', '.join(LABELS)}")
    return label


def check_rel_type(rel_type: str) -> str:
    if rel_type not in REL_TYPES:
        raise ValidationError("type", rel_type,
                              f"unknown relationship type; expected one of {', '.join(REL_TYPES)}")
    return rel_type


def check_prop(label_or_type: str, name: str) -> str:
    """Property names placed in a query come from the model's field lists only."""
    allowed = NODE_FIELDS.get(label_or_type) or REL_FIELDS.get(label_or_type) or {}
    if name != "id" and name not in allowed:
        raise ValidationError("property", name, f"{label_or_type} has no property {name!r}")
    return name


def check_rel(rel: Rel) -> None:
    check_rel_type(rel.type)
    check_label(rel.start[0])
    check_label(rel.end[0])
    check_endpoints(rel.type, rel.start[0], rel.end[0])


def check_records(nodes: list[Node], rels: list[Rel]) -> None:
    """Every label, relationship shape and property name of these records is the model's,
    or ValidationError before a write starts. Labels and shapes are checked once each, in
    order of first appearance (the error is the first bad record's), then the property
    names of each."""
    by_label: dict[str, set[str]] = {}
    for node in nodes:
        if node.label not in by_label:
            by_label[check_label(node.label)] = set()
        by_label[node.label].update(node.props)
    by_shape: dict[tuple[str, str, str], set[str]] = {}
    for rel in rels:
        shape = (rel.type, rel.start[0], rel.end[0])
        if shape not in by_shape:
            check_rel(rel)
            by_shape[shape] = set()
        by_shape[shape].update(rel.props)
    kinds = [*by_label.items(), *((shape[0], keys) for shape, keys in by_shape.items())]
    for kind, keys in kinds:
        for name in sorted(keys):
            check_prop(kind, name)


# json.dumps with these options builds a new encoder per call; one is enough.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical(props: dict[str, Any]) -> str:
    """A stable text form of a property dict, used to compare and to digest.

    The text is the standard library's (sorted keys, no spaces, UTF-8 kept), as stores
    written by earlier versions hold it. orjson writes the very same text about ten times
    faster (an import encodes every record), except a float below 1e-4 (``1e-5`` or
    ``0.00001`` for ``1e-05``) and NaN or infinity (``null``): text that may hold one of
    those, and what orjson refuses (an int beyond 64 bits, a key that is not a str), takes
    the standard library's encoder (``tests/test_store_contract.py`` compares the two).
    """
    try:
        text = orjson.dumps(props, option=_ORJSON_OPTIONS)
    except TypeError:
        return _CANONICAL.encode(props)
    # the substrings first (fast); the pattern, for a number token (after ":", "," or "["),
    # spares text that merely contains them ("single-mode", "in-service")
    if (b"e-" in text or b"0.0000" in text or b"null" in text) and _UNLIKE_JSON.search(text):
        return _CANONICAL.encode(props)
    return text.decode()


# a number token orjson writes otherwise (1e-7, 0.00001), or a null (which may be a NaN)
_UNLIKE_JSON = re.compile(rb"[:,\[](?:-?[0-9][0-9.]*e-|-?0\.0000|null)")

# dataclasses and datetimes, which json.dumps refuses, orjson refuses too (then json says so)
_ORJSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_DATETIME)


@dataclass(frozen=True, init=False)
class StopRule:
    """An ``expand`` rule for :meth:`GraphStore.subgraph`, declared as data rather than code,
    so that a store can run the whole walk in its own query (Neo4j does: one query instead
    of one per hop). Called as ``rule(node)`` it answers like any expand function.

    The walk goes on from a node whose label is one of ``through`` unless the node matches
    one of the ``stops``: ``(label, {property: values})``, a node of that label whose every
    listed property has one of the values (a missing property matches no value, as
    ``props.get(name) in values``). Property names come from the model's field lists.

    >>> rule = StopRule({"Room", "Point"}, ("Room", {"kind": {"ACCESS"}}))
    >>> rule(Node("Room", "R1", {"kind": "ACCESS"})), rule(Node("Room", "R2", {}))
    (False, True)
    >>> rule(Node("Site", "S1"))
    False
    """

    through: frozenset[str]
    stops: tuple[tuple[str, tuple[tuple[str, frozenset[Any]], ...]], ...]

    def __init__(self, through: Iterable[str],
                 *stops: tuple[str, dict[str, Iterable[Any]]]) -> None:
        # Normalised to sorted tuples: hashable, and the same query text for the same rule.
        object.__setattr__(self, "through", frozenset(check_label(lb) for lb in through))
        object.__setattr__(self, "stops", tuple(
            (check_label(label), tuple(sorted((check_prop(label, name), frozenset(values))
                                              for name, values in props.items())))
            for label, props in stops))

    def also(self, *stops: tuple[str, dict[str, Iterable[Any]]]) -> StopRule:
        """The same rule with more stops."""
        return StopRule(self.through, *((label, dict(props)) for label, props in self.stops),
                        *stops)

    def __call__(self, node: Node) -> bool:
        if node.label not in self.through:
            return False
        return not any(node.label == label
                       and all(node.props.get(name) in values for name, values in props)
                       for label, props in self.stops)


@dataclass(frozen=True, init=False)
class LeaveOut:
    """Nodes that :meth:`GraphStore.subgraph` neither reads nor walks through, nor reads the
    relationships of: every node of ``label`` but the walk's seeds and the ``keep`` ids.

    An audit batch's walks pass through busy access rooms with hundreds of other sites
    hanging off each (42,000 in one 10,000-site batch of the 100k bench network), sites no
    route of the batch reaches: ``LeaveOut("Site", keep=batch)`` spares reading them.

    >>> rule = LeaveOut("Site", keep=["S1"])
    >>> rule(("Site", "S2")), rule(("Site", "S1")), rule(("Room", "R1"))
    (True, False, False)
    """

    label: str
    keep: frozenset[str]

    def __init__(self, label: str, keep: Iterable[str] = ()) -> None:
        object.__setattr__(self, "label", check_label(label))
        object.__setattr__(self, "keep", frozenset(keep))

    def __call__(self, key: Key) -> bool:
        """Whether the node ``key`` is left out (seeds aside: the walk keeps those)."""
        return key[0] == self.label and key[1] not in self.keep

    def with_seeds(self, seeds: Iterable[Key]) -> LeaveOut:
        """The same rule keeping the seeds of its label too."""
        return LeaveOut(self.label, self.keep | {i for label, i in seeds if label == self.label})


class GraphStore(ABC):
    """The contract. Implementations: :class:`~inventory.graph.sqlite_store.SqliteStore`
    (embedded default) and :class:`~inventory.graph.neo4j_store.Neo4jStore`."""

    #: A short name for messages ("sqlite:inventory.db", "bolt://…").
    location: str
    #: Whether one stream of the whole graph costs less than bounded walks from thousands
    #: of seeds at once (a server walking each seed's neighbourhood): then an audit reads
    #: the whole network in one process rather than batches on every core.
    prefers_whole_reads: bool = False

    # -- schema and lifecycle
    @abstractmethod
    def init(self) -> None:
        """Create the schema (tables, constraints, indexes). Safe to run twice."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes
    @abstractmethod
    def upsert(self, nodes: Iterable[Node] = (), rels: Iterable[Rel] = (),
               progress: Callable[[int], None] | None = None, remove: Iterable[Key] = (),
               remove_rels: Iterable[tuple[str, str]] = (),
               commit_every: int | None = None) -> WriteSummary:
        """Write nodes then relationships in one transaction: all of it or nothing.

        A relationship whose end is neither in this call nor in the store raises
        :class:`~inventory.errors.NotFound` and nothing is written. A label, relationship
        shape or property name that is not the model's raises
        :class:`~inventory.errors.ValidationError` before anything is written
        (:func:`check_records`). ``progress`` is called
        with the number of records written after each batch. ``remove`` (node keys, with
        their relationships) and ``remove_rels`` (relationship keys) are deleted at the end
        of the same transaction, as :meth:`delete` would (an access plan that adds and
        removes); ``WriteSummary.deleted`` counts them.

        A store whose :meth:`version` is not None also takes ``expect_version``: when another
        connection has committed a write since that token was taken, nothing is written and
        :class:`~inventory.errors.InventoryError` says so (an import checked against a store
        that changed meanwhile must be checked again, not written).

        ``commit_every=N`` gives up all-or-nothing for a big first load: the nodes, then the
        relationships, are committed in parts of at most N records (see
        :func:`write_in_parts`), so that no transaction outgrows the server's memory. When a
        part fails after others were committed,
        :class:`~inventory.errors.PartlyWritten` says how far the write got; what was
        committed stays, and writing the same records again finishes the job. The removals
        go with the last part.
        """

    def version(self) -> Any:
        """A token that changes whenever another connection commits a write, for
        ``upsert(expect_version=…)``; None when the store cannot tell (then upsert does not
        take ``expect_version``)."""
        return None

    @abstractmethod
    def delete(self, nodes: Iterable[Key] = (), rels: Iterable[tuple[str, str]] = ()) -> int:
        """Delete nodes (with their relationships) and relationships by key, in one
        transaction; returns how many records were deleted."""

    # -- reads
    def run_reads(self, work: Callable[[], T]) -> T:
        """``work()``, a function that only reads this store, with all its reads in one read
        transaction where the store has them (Neo4j: one session and transaction instead of
        one per call). The store may call ``work`` again after a transient failure, so it
        must not write. By default simply ``work()``."""
        return work()

    @abstractmethod
    def get_nodes(self, label: str, ids: Iterable[str]) -> dict[str, Node]:
        """The nodes of one label with these ids (missing ids are simply absent)."""

    def get_node(self, label: str, element_id: str) -> Node | None:
        return self.get_nodes(label, [element_id]).get(element_id)

    def get_nodes_many(self, ids_by_label: Mapping[str, Iterable[str]]
                       ) -> dict[str, dict[str, Node]]:
        """:meth:`get_nodes` for several labels at once: ``{label: {id: node}}``, every
        asked label present. A store may answer in one read (Neo4j: one round trip)."""
        return {label: self.get_nodes(label, ids) for label, ids in ids_by_label.items()}

    @abstractmethod
    def get_rels(self, rel_type: str, ids: Iterable[str]) -> dict[str, Rel]: ...

    def get_rel(self, rel_type: str, element_id: str) -> Rel | None:
        return self.get_rels(rel_type, [element_id]).get(element_id)

    @abstractmethod
    def find_nodes(self, label: str, **props: Any) -> list[Node]:
        """Nodes of a label whose properties equal all the given values."""

    @abstractmethod
    def find_rels(self, rel_type: str, **props: Any) -> list[Rel]:
        """Relationships of a type whose properties equal the given values; for a list
        property (``duct_ids``) the value must be one of its items."""

    @abstractmethod
    def iter_nodes(self, label: str) -> Iterator[Node]:
        """Every node of a label, streamed in id order."""

    @abstractmethod
    def iter_rels(self, rel_type: str) -> Iterator[Rel]:
        """Every relationship of a type, streamed in id order."""

    @abstractmethod
    def count_nodes(self) -> dict[str, int]:
        """Node count per label (every label listed, zero included)."""

    @abstractmethod
    def count_rels(self) -> dict[str, int]:
        """Relationship count per type (every type listed, zero included)."""

    @abstractmethod
    def neighbourhood(self, keys: Iterable[Key]) -> tuple[list[Node], list[Rel]]:
        """One hop: the relationships touching these nodes and the nodes at their other end."""

    def subgraph(self, seeds: Iterable[Key], hops: int,
                 expand: Callable[[Node], bool] | None = None,
                 rel_types: Iterable[str] | None = None,
                 leave_out: LeaveOut | None = None) -> Subgraph:
        """Everything within ``hops`` relationships of the seeds, breadth first.

        ``expand(node)`` may refuse to go on from a node that is not a seed (for example
        from another customer's site); the node itself is still included. ``rel_types``, when
        given, limits the walk to relationships of those types (e.g. the physical ones, so
        that an access node's circuits are not read). ``leave_out`` names nodes the walk
        does not read at all (nor their relationships, nor what lies beyond them).
        """
        types = None if rel_types is None else frozenset(rel_types)
        graph = Subgraph()
        seed_keys = list(dict.fromkeys(seeds))
        left_out = None if leave_out is None else leave_out.with_seeds(seed_keys)
        by_label: dict[str, list[str]] = {}
        for label, element_id in seed_keys:
            by_label.setdefault(check_label(label), []).append(element_id)
        for label, ids in by_label.items():
            for node in self.get_nodes(label, ids).values():
                graph.nodes[node.key] = node
        frontier = list(graph.nodes)
        for _ in range(hops):
            if not frontier:
                break
            nodes, rels = self.neighbourhood(frontier)
            if types is not None:
                rels = [rel for rel in rels if rel.type in types]
                ends = {k for rel in rels for k in (rel.start, rel.end)}
                nodes = [node for node in nodes if node.key in ends]
            if left_out is not None:  # read here, then dropped: the stores' own do better
                gone = {node.key for node in nodes if left_out(node.key)}
                nodes = [node for node in nodes if node.key not in gone]
                rels = [rel for rel in rels if rel.start not in gone and rel.end not in gone]
            for rel in rels:
                graph.rels[(rel.type, rel.id)] = rel
            frontier = []
            for node in nodes:
                if node.key in graph.nodes:
                    continue
                graph.nodes[node.key] = node
                if expand is None or expand(node):
                    frontier.append(node.key)
        return graph

    def digest(self) -> str:
        """A fingerprint of the whole content: equal digests, equal stores."""
        sha = hashlib.sha256()
        for label in LABELS:
            for node in self.iter_nodes(label):
                sha.update(f"N|{label}|{node.id}|{canonical(node.props)}\n".encode())
        for rel_type in REL_TYPES:
            for rel in self.iter_rels(rel_type):
                sha.update(f"R|{rel_type}|{rel.id}|{rel.start}|{rel.end}|"
                           f"{canonical(rel.props)}\n".encode())
        return sha.hexdigest()


def open_store(location: str | None = None) -> GraphStore:
    """Open the store named by ``location``, ``$INVENTORY_STORE`` or ``./inventory.db``.

    ``bolt://``, ``neo4j://`` (routing, for a cluster) and their ``+s``/``+ssc`` variants
    open Neo4j with ``$INVENTORY_NEO4J_USER``/``$INVENTORY_NEO4J_PASSWORD``; anything else
    is the path of the embedded SQLite file. A store's own ``location`` opens it again.
    """
    location = location or os.environ.get("INVENTORY_STORE") or DEFAULT_STORE
    if location.startswith("sqlite:") and "://" not in location:  # SqliteStore.location
        location = location[len("sqlite:"):]
    scheme = location.split("://", 1)[0].lower() if "://" in location else ""
    if scheme in {"bolt", "neo4j", "bolt+s", "bolt+ssc", "neo4j+s", "neo4j+ssc"}:
        from inventory.graph.neo4j_store import Neo4jStore

        return Neo4jStore(location, os.environ.get("INVENTORY_NEO4J_USER", "neo4j"),
                          os.environ.get("INVENTORY_NEO4J_PASSWORD", ""),
                          database=os.environ.get("INVENTORY_NEO4J_DATABASE") or None)
    if scheme and scheme not in {"sqlite", "file"}:
        raise InventoryError(f"unknown store {location!r}: use a file path or bolt://, neo4j://")
    from inventory.graph.sqlite_store import SqliteStore

    return SqliteStore(location.split("://", 1)[-1])
