"""Shared fixtures and helpers of the web tests (imported by tests/test_web_*.py and the
end-to-end tests).

The network: the sample generator's export (``importers.generate``, 60 sites, seed 7)
imported into a SQLite store once per test session, plus one hostile customer whose name
and site names are markup (``<script>alert(1)</script>`` …) — every page and map popup
must show them as text. Tests that write (imports, plans) get their own copy of the store.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from inventory.graph.store import Node, Rel
from inventory.model import rel_id

SITES = 60
SEED = 7
PASSWORD = "correct horse battery"
XSS_CUSTOMER = "<script>alert(1)</script>"
XSS_SITE = "<img src=x onerror=alert(2)>${alert(3)}`</script>"
XSS_CUSTOMER_ID = "CUS-XSS"
XSS_SITE_ID = "S-XSS"
ROLES = ("viewer", "planner", "importer", "admin")


@lru_cache(maxsize=1)
def network() -> dict:
    """Generate and import the sample network once: {"db", "export", "manifest"}."""
    from importers.core import import_paths
    from importers.generate import generate
    from inventory.graph.sqlite_store import SqliteStore

    root = Path(tempfile.mkdtemp(prefix="inventory-web-tests-"))
    export = root / "export"
    generate(export, sites=SITES, seed=SEED)
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    db = root / "inventory.db"
    store = SqliteStore(db)
    try:
        store.init()
        report = import_paths(store, [export])
        assert report.ok, report.as_dict()["errors"][:3]
        add_hostile_customer(store)
    finally:
        store.close()
    return {"root": root, "db": db, "export": export, "manifest": manifest}


def add_hostile_customer(store) -> None:
    """A customer and site whose names are markup, next to an existing site."""
    anchor = next(iter(store.iter_nodes("Site")))
    lon, lat = anchor.props["lon"] + 0.002, anchor.props["lat"] + 0.002
    store.upsert(
        nodes=[Node("Customer", XSS_CUSTOMER_ID, {"name": XSS_CUSTOMER, "tier": "GOLD",
                                                 "contact": "<b>bold</b>",
                                                 "address": "\"quoted\" & 'single'"}),
               Node("Site", XSS_SITE_ID, {"customer_id": XSS_CUSTOMER_ID, "name": XSS_SITE,
                                          "address": "<i>addr</i>", "lon": lon, "lat": lat}),
               Node("Circuit", "CIR-XSS", {"name": "=HYPERLINK(\"http://evil\")",
                                           "customer_id": XSS_CUSTOMER_ID,
                                           "site_id": XSS_SITE_ID})],
        rels=[Rel("HAS_SITE", rel_id("HAS_SITE", XSS_CUSTOMER_ID, XSS_SITE_ID),
                  ("Customer", XSS_CUSTOMER_ID), ("Site", XSS_SITE_ID), {})])


def defect(kind: str, tier: str | None = None) -> dict:
    for entry in network()["manifest"]["defects"]:
        if entry["defect"] == kind and (tier is None or entry["tier"] == tier):
            return entry
    raise LookupError(kind)


def copy_store(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    path = target / "inventory.db"
    shutil.copyfile(network()["db"], path)
    return path


@lru_cache(maxsize=1)
def _users_template() -> Path:
    """One user per role (hashing is deliberately slow: done once, copied per test)."""
    from web.users import UserDB

    path = network()["root"] / "users-template.db"
    db = UserDB(path)
    for role in ROLES:
        db.add(role, PASSWORD, role)
    return path


def make_app(tmp_path: Path, store_path: Path | None = None, **config):
    from web import create_app

    users = tmp_path / "users.db"
    if not users.exists():
        shutil.copyfile(_users_template(), users)
    settings = {"TESTING": True, "STORE": str(store_path or network()["db"]),
                "USERS_DB": str(users), "SECRET_KEY": "test-secret-key-" + "x" * 32,
                "UPLOAD_DIR": str(tmp_path / "uploads"), "TILE_URL": "", "DEFAULT_LANG": "en"}
    settings.update(config)
    return create_app(settings)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": token})


def export_files(names: list[str] | None = None) -> list[Path]:
    export = network()["export"]
    return [p for p in sorted(export.glob("*.csv")) if names is None or p.name in names]


def manifest() -> dict:
    return json.loads((network()["export"] / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(name="app")
def app_fixture(tmp_path):
    app = make_app(tmp_path)
    yield app
    from web.extensions import close_store

    close_store(app)


@pytest.fixture(name="client")
def client_fixture(app):
    return app.test_client()


@pytest.fixture(name="rw_app")
def rw_app_fixture(tmp_path):
    """An app over its own copy of the store (for tests that write)."""
    app = make_app(tmp_path, copy_store(tmp_path / "store"))
    yield app
    from web.extensions import close_store

    close_store(app)


@pytest.fixture(name="rw_client")
def rw_client_fixture(rw_app):
    return rw_app.test_client()


#: import these into a test module to use the fixtures ``app``, ``client``, ``rw_app``,
#: ``rw_client`` (they are registered under those names)
FIXTURES = (app_fixture, client_fixture, rw_app_fixture, rw_client_fixture)
