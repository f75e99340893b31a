"""Pausing Python's cyclic garbage collector for bulk work in a process of its own."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    An import or an audit builds hundreds of thousands of long-lived objects and makes
    (almost) no reference cycles, and every collection rescans all the live objects: a
    fifth of an import's time at 10,000 sites, 15 % of an audit's (whose peak memory is the
    same either way). Process-wide, so it is for a process that does nothing else meanwhile
    (the CLI, the bench, an audit's worker processes), never for the web server."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle_heap() -> None:
    """Tune the collector for a process that serves many small analyses (each web server
    process, the bench's trace+check loop); call it once the app is built.

    ``gc.freeze()`` moves every object alive now (modules, the app: ~35,000 objects) out of
    the collector's sight, and a full collection then runs after every second collection of
    the middle generation instead of every tenth. A site's graph is a few thousand objects
    held in reference cycles (networkx's cached views point back at the graph), so it
    outlives the young collections and is only freed by a full one. By default those came
    rarely and rescanned everything, 20-40 ms at a time, in the middle of some request: the
    trace+check p95 at 100,000 sites went 44-53 → 30-39 ms (docs/performance.md).
    Process-wide and for good: the objects frozen here are never collected."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1)
