"""Shared fixtures.

``store`` is parametrised over both stores: every test that takes it runs once on the
embedded SQLite store and once on a real Neo4j server. The server is started by
``scripts/neo4j start`` for the session (unless $INVENTORY_TEST_NEO4J_URI points at one) and
stopped afterwards if this session started it. If it cannot start, the Neo4j tests fail;
they are never skipped. Deselect them explicitly with ``-m "not neo4j"``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from inventory.graph.neo4j_store import Neo4jStore
from inventory.graph.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / "neo4j"), *args], capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="session")
def neo4j_server() -> dict[str, str]:
    """Credentials of a running Neo4j: {"uri", "user", "password"}."""
    if os.environ.get("INVENTORY_TEST_NEO4J_URI"):
        yield {"uri": os.environ["INVENTORY_TEST_NEO4J_URI"],
               "user": os.environ.get("INVENTORY_TEST_NEO4J_USER", "neo4j"),
               "password": os.environ.get("INVENTORY_TEST_NEO4J_PASSWORD", "")}
        return
    was_running = _script("status").returncode == 0
    started = _script("start")
    if started.returncode != 0:
        pytest.fail("the Neo4j test server did not start (scripts/neo4j start):\n"
                    + started.stdout + started.stderr, pytrace=False)
    env = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    yield {"uri": env["INVENTORY_STORE"], "user": env["INVENTORY_NEO4J_USER"],
           "password": env["INVENTORY_NEO4J_PASSWORD"]}
    if not was_running:
        _script("stop")


@pytest.fixture(scope="session")
def neo4j_store_session(neo4j_server):
    store = Neo4jStore(neo4j_server["uri"], neo4j_server["user"], neo4j_server["password"])
    store.init()
    yield store
    store.close()


def wipe_neo4j(store: Neo4jStore) -> None:
    with store.driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
                    ).consume()


@pytest.fixture
def neo4j_store(neo4j_store_session):
    """The session's Neo4j store, emptied before the test."""
    wipe_neo4j(neo4j_store_session)
    return neo4j_store_session


@pytest.fixture
def sqlite_store(tmp_path):
    store = SqliteStore(tmp_path / "inventory.db")
    store.init()
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request):
    """An empty, initialised store: the test runs once per store."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def store_env(request, store) -> dict[str, str]:
    """Environment that points the CLI (CliRunner or a subprocess) at the ``store`` fixture."""
    env = {"INVENTORY_STORE": store.location.removeprefix("sqlite:")}
    if isinstance(store, Neo4jStore):
        server = request.getfixturevalue("neo4j_server")
        env.update(INVENTORY_NEO4J_USER=server["user"],
                   INVENTORY_NEO4J_PASSWORD=server["password"])
    return env
