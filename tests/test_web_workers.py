"""``inventory serve --workers N``: N processes on one port, sharing what must be shared
(the sign-in throttle and the cache generation live in the users' file)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from inventory.graph.store import open_store
from web import cache, create_app
from web.users import LoginThrottle, UserDB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _wait_until(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture(name="server")
def server_fixture(tmp_path):
    store = tmp_path / "inventory.db"
    env = {**os.environ, "INVENTORY_SECRET_KEY_FILE": str(tmp_path / "secret"),
           "INVENTORY_USERS_DB": str(tmp_path / "users.db")}
    open_store(str(store)).init()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "inventory", "serve", "--workers", "2",
                             "--threads", "2", "--port", str(port), "--store", str(store)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait_until(lambda: proc.poll() is not None or up())
        assert proc.poll() is None, proc.stderr.read()
        yield proc, port
    finally:
        if proc.poll() is None:  # SIGTERM: the parent stops its workers (SIGKILL would orphan them)
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_workers_serve_and_stop_together(server):
    proc, port = server
    workers = _children(proc.pid)
    assert len(workers) == 2
    for _ in range(10):  # every request is answered, whichever worker takes it
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/dashboard", timeout=10) as r:
            assert r.status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0


def _connections(pid: int, port: int) -> int:
    """Established TCP connections to ``port`` that process ``pid`` holds."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])  # the socket's inode
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd)[8:-1] in established)


def test_connections_are_spread_over_the_workers(server):
    """Keep-alive connections stay with the worker that accepted them: the workers take
    them in turn (by how many each has open), not whichever woke first."""
    import http.client

    proc, port = server
    workers = _children(proc.pid)
    connections = []
    try:
        for _ in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            assert conn.getresponse().read() is not None  # accepted and answered
            connections.append(conn)
        assert [_connections(pid, port) for pid in workers] == [4, 4]
    finally:
        for conn in connections:
            conn.close()


def test_a_dead_worker_stops_the_server(server):
    proc, _port = server
    first, second = _children(proc.pid)
    os.kill(first, signal.SIGKILL)
    assert proc.wait(timeout=30) == 1
    assert "exited; stopping the server" in proc.stderr.read()
    _wait_until(lambda: not Path(f"/proc/{second}").exists()
                or "State:\tZ" in Path(f"/proc/{second}/status").read_text())


def test_throttle_is_shared_between_processes(tmp_path):
    db = UserDB(tmp_path / "users.db")
    one, two = LoginThrottle(db, 3, 60), LoginThrottle(UserDB(tmp_path / "users.db"), 3, 60)
    one.failed("alice")
    two.failed("alice")
    assert not one.locked("alice")
    one.failed("alice")
    assert one.locked("alice") and two.locked("alice") and not two.locked("bob")
    two.succeeded("alice")
    assert not one.locked("alice")


def test_throttle_forgets_after_the_window(tmp_path):
    throttle = LoginThrottle(UserDB(tmp_path / "users.db"), 1, 0.2)
    throttle.failed("alice")
    assert throttle.locked("alice")
    time.sleep(0.3)
    assert not throttle.locked("alice")


def test_cache_clear_reaches_the_other_workers(tmp_path):
    """Two apps on one users' file stand for two worker processes: a clear() in one (after
    an import there) makes the other recompute."""
    config = {"STORE": str(tmp_path / "inventory.db"), "USERS_DB": str(tmp_path / "users.db"),
              "TESTING": True}
    first, second = create_app(config), create_app(config)
    computed = []

    def value(app):
        with app.test_request_context("/"):
            return cache.cached("answer", lambda: computed.append(app) or len(computed))

    assert value(first) == 1 and value(second) == 2
    assert value(first) == 1  # cached
    with second.test_request_context("/"):
        cache.clear()
    assert value(first) == 3  # recomputed: the generation moved
    assert value(second) == 4
    assert value(second) == 4
