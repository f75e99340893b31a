"""Crash safety: an import killed or cut off half-way leaves the store exactly as before.

* **SIGKILL, embedded store.** ``inventory import`` of a generated 2,000-site export (about
  33,000 records) runs in a subprocess on top of a store holding the clean fixture. As soon
  as its progress shows ``writing`` (the first batch of 2,000 records is inside the write
  transaction, the -wal file is growing) it is killed with SIGKILL. The store's digest is
  the one before, ``PRAGMA integrity_check`` says ``ok``, no lock is left behind (the next
  import writes at once).
* **Neo4j stopped mid-import.** The same on a private Neo4j server (its own state dir, never
  the shared test server): ``scripts/neo4j stop`` while the import is writing. The CLI fails
  with one ``error:`` line and exit 1, no traceback; after a restart the digest is the one
  before (nothing half-written) and running the same import again succeeds, giving the same
  store as on SQLite.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess

import pytest
from test_reliability_support import CLEAN, ROOT, Cli, generated_export, neo4j_script

from importers import import_paths
from inventory.graph.neo4j_store import Neo4jStore
from inventory.graph.sqlite_store import SqliteStore


@pytest.fixture(scope="module")
def big_export(tmp_path_factory):
    return generated_export(tmp_path_factory.mktemp("gen"), 2000, 41)


def test_sigkill_inside_the_write_transaction_leaves_the_store_as_before(tmp_path, big_export):
    path = tmp_path / "crash.db"
    store = SqliteStore(path)
    store.init()
    assert import_paths(store, [CLEAN]).ok
    before = store.digest()
    store.close()
    wal = tmp_path / "crash.db-wal"
    wal_before = wal.stat().st_size if wal.exists() else 0

    cli = Cli(["import", "--store", str(path), str(big_export)], {}, tmp_path / "out.txt")
    try:
        assert cli.wait_for(b"writing"), cli.text()
        # the first batches fit in SQLite's page cache; kill once they spill into the -wal
        wal_at_kill = cli.wait_until(lambda: wal.exists() and wal.stat().st_size > wal_before
                                     and wal.stat().st_size)
        os.kill(cli.proc.pid, signal.SIGKILL)
        code = cli.finish()
    finally:
        if cli.proc.poll() is None:
            cli.proc.kill()
        cli.close()
    assert code == -signal.SIGKILL, "the import ended before it could be killed"
    assert "written in" not in cli.stdout()
    assert wal_at_kill, "no write in progress when killed"
    assert 0 <= cli.progress("writing") < 100, cli.text()[-300:]

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    store = SqliteStore(path, timeout=1)
    try:
        assert store.digest() == before
        report = import_paths(store, [CLEAN])           # no lock left behind
        assert report.written and not report.summary.created
    finally:
        store.close()


# --- Neo4j stopped half-way ----------------------------------------------------------------

@pytest.fixture(scope="module")
def private_neo4j(tmp_path_factory):
    """A Neo4j server of our own (scripts/neo4j with a private NEO4J_STATE_DIR)."""
    state = tmp_path_factory.mktemp("neo4j-state")
    env = neo4j_script(state, "start")
    yield state, env
    neo4j_script(state, "stop")


def _neo4j(env: dict[str, str]) -> Neo4jStore:
    return Neo4jStore(env["INVENTORY_STORE"], env["INVENTORY_NEO4J_USER"],
                      env["INVENTORY_NEO4J_PASSWORD"])


def _stop_neo4j_when(cli: Cli, state, ready) -> int:
    """Stop the private server once ``ready()`` holds while ``cli`` runs; its exit code."""
    try:
        assert cli.wait_until(ready), cli.text()[-500:]
        neo4j_script(state, "stop")
        return cli.finish(timeout=180)
    finally:
        if cli.proc.poll() is None:
            cli.proc.kill()
        cli.close()


def _assert_same_store_as_sqlite_imports(env: dict[str, str], tmp_path, *imports) -> None:
    """The Neo4j store holds what these imports, one after the other, give a new SQLite."""
    reference = SqliteStore(tmp_path / "reference.db")
    try:
        reference.init()
        for paths in imports:
            assert import_paths(reference, paths).ok
        store = _neo4j(env)
        try:
            assert store.digest() == reference.digest()
        finally:
            store.close()
    finally:
        reference.close()


@pytest.mark.neo4j
def test_neo4j_stopped_mid_import_fails_cleanly_and_rerun_succeeds(tmp_path_factory, tmp_path,
                                                                   private_neo4j):
    state, env = private_neo4j
    export = generated_export(tmp_path_factory.mktemp("gen"), 300, 43)
    store = _neo4j(env)
    try:
        store.init()
        with store.driver.session() as session:
            session.run("MATCH (n) DETACH DELETE n").consume()
        assert import_paths(store, [CLEAN]).ok
        before = store.digest()
    finally:
        store.close()

    cli = Cli(["import", str(export)], env, tmp_path / "out.txt")
    code = _stop_neo4j_when(cli, state, lambda: cli.progress("writing") >= 0)
    errors = cli.error_lines()
    assert code == 1, cli.text()
    assert "Traceback" not in cli.text()
    assert len(errors) == 1 and errors[0].startswith("error: Neo4j at "), errors
    assert "written in" not in cli.stdout()

    env = neo4j_script(state, "start")        # a new port: the env lines say which
    store = _neo4j(env)
    try:
        assert store.digest() == before, "the stopped import left part of itself behind"
    finally:
        store.close()
    rerun = Cli(["import", "-q", str(export)], env, tmp_path / "rerun.txt")
    assert rerun.finish(timeout=300) == 0, rerun.text()

    _assert_same_store_as_sqlite_imports(env, tmp_path, [CLEAN], [export])


@pytest.mark.neo4j
def test_neo4j_stopped_mid_import_in_parts_keeps_the_parts_and_rerun_finishes(
        tmp_path, private_neo4j, big_export):
    """``import --commit-every``: the server stopped part-way through the write. One error
    line says how many records the committed parts hold, and, when the server went while a
    part's commit was awaited, that this part may be written too (its reply lost); after a
    restart the store holds those, and the same import run again gives the store an import
    in one go gives."""
    state, _ = private_neo4j
    env = neo4j_script(state, "start")  # running already; an earlier test may have moved it
    store = _neo4j(env)
    try:
        store.init()
        with store.driver.session() as session:
            session.run("MATCH (n) DETACH DELETE n").consume()
    finally:
        store.close()

    args = ["import", "--commit-every", "200", str(big_export)]
    cli = Cli(args, env, tmp_path / "out.txt")
    code = _stop_neo4j_when(cli, state, lambda: cli.progress("writing") >= 30)
    errors = cli.error_lines()
    assert code == 1, cli.text()[-500:]
    assert "Traceback" not in cli.text()
    assert len(errors) == 1 and errors[0].startswith("error: Neo4j at "), errors
    stopped = re.search(r"the write stopped after ([\d,]+) of ([\d,]+) records", errors[0])
    assert stopped and "run the same import again to finish it" in errors[0], errors
    written = int(stopped[1].replace(",", ""))
    assert 0 < written < int(stopped[2].replace(",", ""))
    # when the server went while a part's commit was awaited, that part may be written:
    # the message says so; otherwise the store holds exactly the parts it counts
    perhaps = re.search(r"and perhaps the next ([\d,]+)", errors[0])
    assert not perhaps or int(perhaps[1].replace(",", "")) == 200, errors

    env = neo4j_script(state, "start")
    store = _neo4j(env)
    try:
        held = sum(store.count_nodes().values()) + sum(store.count_rels().values())
        assert held in ((written, written + 200) if perhaps else (written,)), errors
    finally:
        store.close()
    rerun = Cli(["import", "-q", *args[1:]], env, tmp_path / "rerun.txt")
    assert rerun.finish(timeout=300) == 0, rerun.text()

    _assert_same_store_as_sqlite_imports(env, tmp_path, [big_export])


@pytest.mark.neo4j
def test_neo4j_script_passes_extra_jvm_flags_and_reports_a_bad_one(tmp_path):
    """NEO4J_JVM_OPTS reaches the server's JVM: a flag it does not know stops the start
    with the JVM's own message and a non-zero exit, and nothing is left running."""
    env = {**os.environ, "NEO4J_STATE_DIR": str(tmp_path),
           "NEO4J_JVM_OPTS": "-Xss2m -XX:+NoSuchInventoryFlag"}
    script = str(ROOT / "scripts" / "neo4j")
    result = subprocess.run([script, "start"], capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode != 0
    assert "Unrecognized VM option 'NoSuchInventoryFlag'" in result.stdout + result.stderr
    status = subprocess.run([script, "status"], capture_output=True, text=True, env=env)
    assert (status.returncode, status.stdout.strip()) == (3, "stopped")
