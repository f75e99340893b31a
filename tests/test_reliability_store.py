"""Store unavailable: one clear line and exit 1 from every CLI command, 503 from the web app.

Faults: Neo4j down (nothing listens on the port), Neo4j with a wrong password, an SQLite
"store" that is not a database (random bytes), an SQLite store in a folder that does not
exist, a store that is not an inventory yet. Commands: ``stats``, ``import``, ``audit``,
``check``, ``trace``, ``export`` (read and write paths alike). Each must end with exit code
1 and exactly one stderr line ``error: …`` naming the store, never a traceback. The web app
answers 503 (HTML and JSON) for the same faults.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.cli import main

CLEAN = str(Path(__file__).resolve().parent / "data" / "clean")
COMMANDS = [["stats"], ["import", "-q", CLEAN], ["audit", "--format", "csv"],
            ["check", "S-001"], ["trace", "S-001"], ["export", "--format", "geojson"]]
FIGURES = {"commands x faults": 0}
INTRUDER = "reliability-intruder"


def _fault(kind: str, tmp_path: Path, neo4j_server=None) -> tuple[dict[str, str], str]:
    """Environment for the fault and a piece of the expected message."""
    if kind == "neo4j_down":
        return ({"INVENTORY_STORE": "bolt://127.0.0.1:9", "INVENTORY_NEO4J_PASSWORD": "x"},
                "Neo4j at bolt://127.0.0.1:9 is not reachable")
    if kind == "wrong_password":
        # A user of its own: after a few wrong passwords Neo4j locks the user name out for a
        # while (AuthenticationRateLimit), which must not hit the suite's real user.
        return ({"INVENTORY_STORE": neo4j_server["uri"], "INVENTORY_NEO4J_USER": INTRUDER,
                 "INVENTORY_NEO4J_PASSWORD": "wrong-" + neo4j_server["password"]},
                f"refused the credentials of user '{INTRUDER}'")
    if kind == "not_a_database":
        path = tmp_path / "garbage.db"
        path.write_bytes(os.urandom(8192))
        return {"INVENTORY_STORE": str(path)}, str(path)
    if kind == "no_folder":
        path = tmp_path / "missing" / "inventory.db"
        return {"INVENTORY_STORE": str(path)}, "no directory"
    raise AssertionError(kind)


def _main(args, env, monkeypatch, capsys) -> tuple[int, str]:
    for name in ("INVENTORY_STORE", "INVENTORY_NEO4J_USER", "INVENTORY_NEO4J_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    return exit_.value.code, capsys.readouterr().err


@pytest.mark.parametrize("kind", ["neo4j_down", "not_a_database", "no_folder"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_every_command_fails_with_one_line(kind, args, tmp_path, monkeypatch, capsys):
    env, expected = _fault(kind, tmp_path)
    code, err = _main(args, env, monkeypatch, capsys)
    FIGURES["commands x faults"] += 1
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert not (tmp_path / "missing").exists()


@pytest.mark.neo4j
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_wrong_password_fails_with_one_line(args, tmp_path, monkeypatch, capsys, neo4j_server):
    env, expected = _fault("wrong_password", tmp_path, neo4j_server)
    code, err = _main(args, env, monkeypatch, capsys)
    FIGURES["commands x faults"] += 1
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err


def test_the_real_binary_too(tmp_path):
    """The same through ``python -m inventory`` (no test harness in between)."""
    env, expected = _fault("neo4j_down", tmp_path)
    result = subprocess.run([sys.executable, "-m", "inventory", "import", CLEAN],
                            env={**os.environ, **env}, capture_output=True, check=False, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_uninitialised_sqlite_store_fails_with_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "empty.db"
    path.touch()
    code, err = _main(["audit"], {"INVENTORY_STORE": str(path)}, monkeypatch, capsys)
    assert code == 1 and err.strip() == (f"error: {path} is not an inventory yet: "
                                         "run `inventory init`")


# --- the web app ---------------------------------------------------------------------------

def _web_503(app) -> None:
    client = app.test_client()
    for path in ("/", "/search?q=S-001", "/audit", "/api/dashboard", "/api/sites/S-001"):
        response = client.get(path)
        text = response.get_data(as_text=True)
        assert response.status_code == 503, (path, response.status_code)
        assert "Traceback" not in text and "Error" not in text.split("<title>")[0]
        if path.startswith("/api/"):
            assert response.is_json and response.get_json()["status"] == 503


def test_web_answers_503_for_a_file_that_is_not_a_database(tmp_path):
    from test_web_support import make_app

    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(8192))
    _web_503(make_app(tmp_path, path))


@pytest.mark.neo4j
def test_web_answers_503_for_a_wrong_neo4j_password(tmp_path, neo4j_server, monkeypatch):
    from test_web_support import make_app

    monkeypatch.setenv("INVENTORY_NEO4J_USER", INTRUDER)
    monkeypatch.setenv("INVENTORY_NEO4J_PASSWORD", "wrong")
    for _ in range(4):  # the first refusals, then the rate limit: both are 503
        _web_503(make_app(tmp_path, None, STORE=neo4j_server["uri"]))


def test_figures(capsys):
    with capsys.disabled():
        print("\nstore-unavailable figures:", FIGURES)


def _neo4j_like_store(error: Exception):
    """An object whose write raises ``error`` through the store's translation."""
    from inventory.graph.neo4j_store import _translate_errors

    class Store:
        uri, user = "bolt://127.0.0.1:7687", "neo4j"

        def _in_reads(self) -> bool:
            return False

        @_translate_errors
        def upsert(self):
            raise error

    return Store()


def test_neo4j_transaction_memory_error_says_what_to_do():
    """An import is one transaction; when it outgrows the server's transaction memory
    (measured: 100,000 sites with a 2 GB heap) the one-line error says how to make room.
    Community Neo4j cannot lower that limit at run time, so the server's error is built
    here as the driver builds it."""
    from neo4j.exceptions import Neo4jError

    from inventory.errors import InventoryError

    error = Neo4jError._hydrate_neo4j(
        code="Neo.TransientError.General.MemoryPoolOutOfMemoryError",
        message="The allocation of an extra 2.0 MiB would use more than the limit 1.4 GiB. "
                "Currently using 1.4 GiB. dbms.memory.transaction.total.max threshold reached")

    with pytest.raises(InventoryError) as raised:
        _neo4j_like_store(error).upsert()
    message = str(raised.value)
    assert "\n" not in message and "dbms.memory.transaction.total.max" in message
    assert "give the server more heap" in message and "import the export in parts" in message
    assert "--commit-every N" in message


@pytest.mark.parametrize("commit_unknown", [False, True])
def test_write_in_parts_says_perhaps_only_when_a_commit_is_unconfirmed(commit_unknown):
    """A part that stops on an unreachable store: "perhaps the next N" only when its
    commit was not confirmed; otherwise nothing of it was written. A first part that stops
    before any commit raises its own error."""
    from inventory.errors import PartlyWritten, StoreUnavailable
    from inventory.graph.store import Node, WriteSummary, write_in_parts

    nodes = [Node("Duct", f"D-{i}", {"name": "管道"}) for i in range(10)]

    def stop_at(part: int):
        done = []

        def write_part(part_nodes, part_rels, last):
            if len(done) + 1 == part:
                raise StoreUnavailable("Neo4j at bolt://x is gone", commit_unknown)
            done.append(part_nodes)
            summary = WriteSummary()
            summary.created["Duct"] += len(part_nodes)
            return summary
        return write_part

    with pytest.raises(PartlyWritten) as stopped:
        write_in_parts(nodes, [], 4, stop_at(2))
    assert (stopped.value.written, stopped.value.parts) == (4, 1)
    assert stopped.value.perhaps == (4 if commit_unknown else 0)
    assert ("and perhaps the next 4" in str(stopped.value)) is commit_unknown

    if commit_unknown:  # the first part's commit may have happened: say so, too
        with pytest.raises(PartlyWritten, match="after 0 of 10 records.*perhaps the next 4"):
            write_in_parts(nodes, [], 4, stop_at(1))
    else:
        with pytest.raises(StoreUnavailable, match="is gone$"):
            write_in_parts(nodes, [], 4, stop_at(1))


def test_import_whose_commit_is_unconfirmed_says_to_run_it_again(tmp_path, monkeypatch):
    """An import in one transaction whose commit was not confirmed: the one error line says
    it may be written, and that the same import run again settles it."""
    from importers.core import import_paths
    from inventory.errors import StoreUnavailable
    from inventory.graph.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "inventory.db")

    def lost(*args, **kwargs):
        raise StoreUnavailable("Neo4j at bolt://x did not confirm a commit: that write "
                               "may have been committed or not", True)

    monkeypatch.setattr(store, "upsert", lost)
    with pytest.raises(StoreUnavailable, match="may have been committed or not: run the "
                                               "same import again") as raised:
        import_paths(store, [CLEAN])
    assert raised.value.commit_unknown
    store.close()
