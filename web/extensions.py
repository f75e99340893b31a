"""Flask extensions: the graph store (one per app) and CSRF protection.

:class:`StoreExtension` follows Flask's extension pattern: ``store_ext.init_app(app)``
keeps the configured location; the store is opened on first use in that app (so an app
starts even while Neo4j is down, and answers 503 until it is back) and closed when the app
is torn down (:func:`close_store`, also registered with :mod:`atexit`). Both stores are
safe to share between request threads: SQLite keeps one connection per thread, the Neo4j
driver a pool.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from inventory.errors import StoreUnavailable
from inventory.graph.store import GraphStore, open_store

csrf = CSRFProtect()


class _StoreHolder:
    def __init__(self, location: str | None, store: GraphStore | None = None):
        self.location = location
        self.store = store
        self.owned = store is None
        self.lock = threading.Lock()

    def get(self) -> GraphStore:
        if self.store is not None:
            return self.store
        with self.lock:
            if self.store is None:
                self.store = self._open()
        return self.store

    def _open(self) -> GraphStore:
        location = self.location or os.environ.get("INVENTORY_STORE") or "inventory.db"
        if "://" not in location or location.startswith(("sqlite://", "file://")):
            path = location.split("://", 1)[-1]
            # never create an empty inventory as a side effect of serving a page
            if path != ":memory:" and not os.path.exists(path):
                raise StoreUnavailable(
                    f"no inventory at {path}: run `inventory init` and `inventory import`")
        return open_store(location)

    def close(self) -> None:
        with self.lock:
            if self.store is not None and self.owned:
                self.store.close()
                self.store = None


class StoreExtension:
    """The graph store of an app: ``app.config["STORE"]`` or ``$INVENTORY_STORE``.

    ``app.config["STORE"]`` may also be an open :class:`GraphStore` (tests): it is used
    as it is and left open for its owner to close.
    """

    def __init__(self, app: Flask | None = None):
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        configured = app.config.get("STORE")
        if isinstance(configured, GraphStore):
            holder = _StoreHolder(configured.location, configured)
        else:
            holder = _StoreHolder(configured)
        app.extensions["inventory_store"] = holder
        ref = weakref.ref(holder)
        atexit.register(lambda: ref() and ref().close())

    @staticmethod
    def get(app: Flask | None = None) -> GraphStore:
        app = app or current_app
        return app.extensions["inventory_store"].get()


store_ext = StoreExtension()


def release_thread_connection(app: Flask | None = None) -> None:
    """Close the calling thread's SQLite connection (``SqliteStore.release_thread()``), for
    a background thread that is done. Request threads keep theirs: waitress reuses a fixed
    pool of threads, and the store itself closes the connections of threads that ended.
    The Neo4j store's driver pools its connections and has nothing to release.
    """
    app = app or current_app
    holder = app.extensions.get("inventory_store")
    store = holder.store if holder is not None else None
    release = getattr(store, "release_thread", None)
    if release is not None:
        release()


def get_store() -> GraphStore:
    """The current app's store (opened on first use); raises StoreUnavailable."""
    return StoreExtension.get()


def close_store(app: Flask) -> None:
    """Close the app's store (the app's teardown; tests call it)."""
    app.extensions["inventory_store"].close()
