"""The embedded store's indexes: the ones a first (bulk) load drops and builds again are the
ones a new store has, and find_nodes by customer uses the partial index nodes_customer, in
a new store and in one made before that index was partial."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from importers.core import import_paths
from inventory.graph.sqlite_store import INDEXES, SqliteStore

DATA = Path(__file__).parent / "data" / "clean"


def _index_sql(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'index' "
                               "AND sql IS NOT NULL").fetchall())
    finally:
        db.close()


def _plans_of_find_nodes(store: SqliteStore, label: str, monkeypatch,
                         **props) -> tuple[list, list[str]]:
    """(find_nodes' result, the query plan of each statement it read with, as SQLite plans
    it with those parameters bound)."""
    reads: list[tuple[str, tuple]] = []
    read = store._read

    def recording_read(sql, params=()):
        reads.append((sql, tuple(params)))
        return read(sql, params)

    with monkeypatch.context() as patch:
        patch.setattr(store, "_read", recording_read)
        found = store.find_nodes(label, **props)
    plans = [" / ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql, params))
             for sql, params in reads]
    return found, plans


@pytest.fixture
def imported(tmp_path) -> SqliteStore:
    store = SqliteStore(tmp_path / "inventory.db")
    store.init()
    assert import_paths(store, [DATA]).ok
    yield store
    store.close()


def test_a_first_load_builds_the_indexes_a_new_store_has(imported, tmp_path):
    new = SqliteStore(tmp_path / "new.db")
    new.init()
    new.close()
    expected = {name: f"CREATE INDEX {name} ON {on}" for name, on in INDEXES.items()}
    assert {k: v for k, v in _index_sql(tmp_path / "inventory.db").items()
            if k in INDEXES} == expected
    assert {k: v for k, v in _index_sql(tmp_path / "new.db").items()
            if k in INDEXES} == expected
    assert "WHERE label = 'Site' OR label = 'Circuit'" in INDEXES["nodes_customer"]


@pytest.mark.parametrize("label", ["Site", "Circuit"])
def test_find_nodes_by_customer_uses_the_partial_index(imported, label, monkeypatch):
    some = imported.find_nodes(label)[0]
    customer = some.props["customer_id"]
    found, plans = _plans_of_find_nodes(imported, label, monkeypatch, customer_id=customer)
    assert some.id in {n.id for n in found}
    assert all(n.props["customer_id"] == customer for n in found)
    assert plans and all("USING INDEX nodes_customer" in plan for plan in plans), plans


def test_a_store_with_the_whole_index_of_before_still_uses_it(imported, monkeypatch):
    """Stores made before nodes_customer was partial keep their index (init creates an
    index only if there is none of that name): the same query uses it."""
    with imported.db:
        imported.db.execute("DROP INDEX nodes_customer")
        imported.db.execute("CREATE INDEX nodes_customer ON nodes "
                            "(label, json_extract(props, '$.customer_id'))")
    imported.init()
    assert "WHERE" not in _index_sql(Path(imported.path))["nodes_customer"]
    site = imported.find_nodes("Site")[0]
    found, plans = _plans_of_find_nodes(imported, "Site", monkeypatch,
                                        customer_id=site.props["customer_id"])
    assert site.id in {n.id for n in found}
    assert plans and all("USING INDEX nodes_customer" in plan for plan in plans), plans
