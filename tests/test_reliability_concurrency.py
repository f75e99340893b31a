"""Concurrency on the embedded store: readers during a large import, two imports at once.

* **Readers keep getting answers** while ``inventory import`` of a generated 2,000-site export
  writes (WAL: one writer, many readers). Every read succeeds without waiting for a lock (the
  reader's busy timeout is 0, so a blocked read fails at once) and sees the store either as
  it was before the import or as it is after it, never half of it.
* **Two imports at once** (two subprocesses on the same file) are serialised by SQLite's write
  lock, or the second is refused with a clear message: the final store equals one of the two
  imports applied after the other, never a mix.
* **An import checked against a store that another import changed meanwhile** (the check runs
  before the write lock is taken) is refused instead of writing data derived from what it read
  — here a site's default tier taken from its customer — which would give a store equal to no
  order of the two imports. The race is set up deterministically: the second import commits
  exactly between the first one's check and its write.
"""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from test_reliability_support import CLEAN, Cli, generated_export

from importers import import_paths
from inventory.errors import InventoryError
from inventory.graph.sqlite_store import SqliteStore

FIGURES: dict[str, object] = {}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen")
    return {"big": generated_export(folder, 2000, 41),
            "x": generated_export(folder, 400, 5), "y": generated_export(folder, 400, 6)}


def _store(path) -> SqliteStore:
    store = SqliteStore(path)
    store.init()
    return store


def _base(path) -> str:
    store = _store(path)
    try:
        assert import_paths(store, [CLEAN]).ok
        return store.digest()
    finally:
        store.close()


def test_readers_keep_getting_answers_while_a_large_import_writes(tmp_path, exports):
    path = tmp_path / "live.db"
    _base(path)
    # no busy timeout: a read that had to wait for the writer's lock raises "database is
    # locked" at once, so that every read below succeeding means no read was blocked
    reader = SqliteStore(path, timeout=0)
    total_before = sum(reader.count_nodes().values())
    seen: set[int] = set()
    latencies = {"check": [], "write": []}
    cli = Cli(["import", "--store", str(path), str(exports["big"])], {}, tmp_path / "out.txt")
    try:
        while cli.proc.poll() is None:
            cli._pump(0)
            phase = "write" if b"writing" in cli.stderr else "check"
            started = time.perf_counter()
            seen.add(sum(reader.count_nodes().values()))
            site = reader.get_node("Site", "S-001")
            latencies[phase].append(time.perf_counter() - started)
            assert site is not None and site.props["customer_id"] == "C-001"
        assert cli.finish() == 0, cli.text()
        total_after = sum(reader.count_nodes().values())
    finally:
        if cli.proc.poll() is None:
            cli.proc.kill()
        cli.close()
        reader.close()
    FIGURES["reads during the check"] = len(latencies["check"])
    FIGURES["reads during the write"] = len(latencies["write"])
    FIGURES["slowest read during the write (ms)"] = round(1000 * max(latencies["write"]), 1)
    assert len(latencies["write"]) >= 3, latencies
    assert seen <= {total_before, total_after}, "a reader saw part of an import"
    assert total_after > total_before


def _reference(tmp_path, name: str, *exports) -> str:
    path = tmp_path / f"{name}.db"
    _base(path)
    store = SqliteStore(path)
    try:
        for export in exports:
            assert import_paths(store, [export]).ok
        return store.digest()
    finally:
        store.close()


def test_two_imports_at_once_are_serialised_or_refused(tmp_path, exports):
    """Exports x and y hold the same ids with different content (two seeds)."""
    x, y = exports["x"], exports["y"]
    path = tmp_path / "both.db"
    _base(path)
    runs = {name: Cli(["import", "-q", "--store", str(path), str(export)], {},
                      tmp_path / f"{name}.txt") for name, export in (("x", x), ("y", y))}
    codes = {name: cli.finish() for name, cli in runs.items()}
    for name, cli in runs.items():
        if codes[name] != 0:
            assert codes[name] == 1 and "Traceback" not in cli.text()
            busy = (f"error: {path} is being written by another process (an import?); try "
                    "again when it has finished")
            assert cli.error_lines() == [busy] or "changed while" in cli.text(), cli.text()
    assert 0 in codes.values()
    final = SqliteStore(path)
    try:
        digest = final.digest()
    finally:
        final.close()
    if codes == {"x": 0, "y": 0}:
        allowed = {_reference(tmp_path, "xy", x, y), _reference(tmp_path, "yx", y, x)}
    else:
        allowed = {_reference(tmp_path, "x", x) if codes["x"] == 0 else
                   _reference(tmp_path, "y", y)}
    FIGURES["two imports"] = codes
    assert digest in allowed, "the two imports were interleaved"


class _CommitsBeforeWriting:
    """A store whose upsert first lets another import commit (the race, made certain)."""

    def __init__(self, store, other):
        self._store, self._other = store, other

    def __getattr__(self, name):
        return getattr(self._store, name)

    def upsert(self, *args, **kwargs):
        self._other()
        return self._store.upsert(*args, **kwargs)


def _site_without_tier(folder, name: str) -> None:
    folder.mkdir()
    (folder / "sites.csv").write_text(
        f"id,customer_id,name\nS-NEW,C-001,{name}\n", encoding="utf-8")


def test_an_import_checked_against_a_store_changed_meanwhile_is_refused(tmp_path):
    """A changes customer C-001's tier and adds site S-NEW "A"; B adds S-NEW "B" for C-001
    with no tier (so it takes C-001's tier, read from the store during B's check).

    A then B: S-NEW is "B", BRONZE. B then A: S-NEW is "A", BRONZE. B checked before A
    committed and written after: "B", GOLD — no order gives that; B must be refused."""
    a, b = tmp_path / "a", tmp_path / "b"
    _site_without_tier(a, "A")
    (a / "customers.csv").write_text(
        (CLEAN / "customers.csv").read_text("utf-8").replace(",金牌,", ",铜牌,", 1), "utf-8")
    _site_without_tier(b, "B")
    path = tmp_path / "race.db"
    _base(path)
    shutil.copy(path, tmp_path / "start.db")

    def a_commits() -> None:
        other = SqliteStore(path)     # another connection: another process, in effect
        try:
            assert import_paths(other, [a]).written
        finally:
            other.close()

    store = SqliteStore(path)
    try:
        with pytest.raises(InventoryError, match="changed while"):
            import_paths(_CommitsBeforeWriting(store, a_commits), [b])
        site = store.get_node("Site", "S-NEW")
        assert (site.props["name"], site.props["tier"]) == ("A", "BRONZE")
        assert store.get_node("Customer", "C-001").props["tier"] == "BRONZE"
    finally:
        store.close()
    # run again, it is checked against the new store and written: A then B
    store = SqliteStore(path)
    try:
        assert import_paths(store, [b]).written
        site = store.get_node("Site", "S-NEW")
        assert (site.props["name"], site.props["tier"]) == ("B", "BRONZE")
    finally:
        store.close()


def test_readers_in_threads_of_one_process_share_a_store(tmp_path, exports):
    """The web app's case: one SqliteStore, reader threads, an import in another thread."""
    path = tmp_path / "threads.db"
    _base(path)
    store = SqliteStore(path)
    errors: list[BaseException] = []
    answers = [0]
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                assert store.get_node("Customer", "C-001") is not None
                store.count_rels()
                answers[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        report = import_paths(store, [exports["x"]])
    finally:
        done.set()
        for thread in threads:
            thread.join()
        store.close()
    FIGURES["reads by 4 threads during an import in-process"] = answers[0]
    assert report.written and not errors and answers[0] > 0


def test_figures(capsys):
    with capsys.disabled():
        print("\nconcurrency figures:", FIGURES)
