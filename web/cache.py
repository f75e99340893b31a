"""A small per-app cache for results over the whole network (search index, audit).

Values expire after ``CACHE_SECONDS``; :func:`clear` drops everything (called after an
import commit or a plan applied from this app), in every worker process of the server.
One computation at a time per key: concurrent requests for
the same missing key wait for the first instead of all computing it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, has_request_context

T = TypeVar("T")
#: the users' file counter that ``clear()`` bumps
GENERATION = "cache_generation"
_locks_guard = threading.Lock()


def _state() -> dict[str, Any]:
    state = current_app.extensions["inventory_cache"]
    if "values" not in state:
        with _locks_guard:
            state.setdefault("values", {})
            state.setdefault("locks", {})
    _follow_generation(state)
    return state


def _follow_generation(state: dict[str, Any]) -> None:
    """Drop every value when another worker process has written the inventory: ``clear()``
    bumps a counter in the users' file, which all workers share. Read once per request."""
    if has_request_context():
        if g.get("_cache_generation_read"):
            return
        g._cache_generation_read = True
    generation = current_app.extensions["inventory_users"].counter(GENERATION)
    if state.get("generation") != generation:
        state["values"].clear()
        state["generation"] = generation


def cached(key: str, compute: Callable[[], T], ttl: float | None = None) -> T:
    state = _state()
    ttl = current_app.config.get("CACHE_SECONDS", 300) if ttl is None else ttl
    entry = state["values"].get(key)
    if entry and time.monotonic() - entry[0] < ttl:
        return entry[1]
    with _locks_guard:
        lock = state["locks"].setdefault(key, threading.Lock())
    with lock:
        entry = state["values"].get(key)
        if entry and time.monotonic() - entry[0] < ttl:
            return entry[1]
        value = compute()
        state["values"][key] = (time.monotonic(), value)
        return value


def clear() -> None:
    """Drop every value, in this process and (through the shared generation) in the other
    worker processes of the server: called after this app wrote the inventory."""
    state = _state()
    state["generation"] = current_app.extensions["inventory_users"].bump(GENERATION)
    state["values"].clear()


def peek(key: str, ttl: float | None = None) -> Any:
    """The cached value if it is there and fresh, else None (never computes)."""
    entry = _state()["values"].get(key)
    ttl = current_app.config.get("CACHE_SECONDS", 300) if ttl is None else ttl
    if entry and time.monotonic() - entry[0] < ttl:
        return entry[1]
    return None


def background(key: str, compute: Callable[[], T]) -> T | None:
    """The cached value, or None while a background thread computes it (started here if
    none is running). For whole-network results too slow to compute within a request."""
    value = peek(key)
    if value is not None:
        return value
    state = _state()
    with _locks_guard:
        running = state.setdefault("running", set())
        if key in running:
            return None
        running.add(key)
    app = current_app._get_current_object()

    def work() -> None:
        try:
            with app.app_context():
                cached(key, compute, ttl=0)
        except Exception:
            app.logger.exception("background computation of %s failed", key)
        finally:
            from web.extensions import release_thread_connection

            release_thread_connection(app)
            with _locks_guard:
                running.discard(key)

    threading.Thread(target=work, name=f"inventory-{key}", daemon=True).start()
    return None
