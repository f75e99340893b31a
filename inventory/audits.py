"""Audit every site of a store: the whole network in one process, or parts of it on
several cores.

The store-facing use case behind ``inventory audit`` (and the bench's audit step):

* ``workers=1``: the whole network is read once (:func:`load_network`) and every site is
  checked on it, in this process;
* ``workers=N``: the sites, ordered so that neighbours are together (a Morton code of their
  coordinates), are cut into batches — one per worker, and more when a batch would pass
  :data:`MAX_BATCH` sites, which bounds a worker's memory. Each batch's graph is what
  :func:`load_site_graph` reads for those sites (every route of each, to its access nodes
  and on to aggregation), so :func:`~inventory.graph.compliance.audit` gives the same answer
  on it as on the whole network (``tests/test_audits.py``). Each worker process opens the
  store again (``open_store(store.location)``); the results come back in site order.

GraphStore contract only.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from inventory.gcpause import gc_paused
from inventory.graph.compliance import SiteCheck, audit
from inventory.graph.network import load_network, load_site_graph
from inventory.graph.store import GraphStore, open_store

#: most sites a worker checks at once: a 10,000-site batch's graph and its analysis take
#: about 400 MB
MAX_BATCH = 10_000

_worker_store: GraphStore | None = None


def audit_store(store: GraphStore, *, tier: str | Iterable[str] | None = None,
                customer: str | Iterable[str] | None = None,
                verdict: str | Iterable[str] | None = None, workers: int = 1,
                batch: int | None = None) -> Iterator[SiteCheck]:
    """Check every site of ``store`` (in id order), as :func:`compliance.audit` on the
    whole network does, with the same filters.

    Parameters
    ----------
    store : GraphStore
    tier, customer, verdict : optional
        As for :func:`inventory.graph.compliance.audit`.
    workers : int
        1: the whole network in this process. N > 1: batches of nearby sites in N processes.
    batch : int, optional
        Sites per batch (with it, batches are used even with one worker). By default an
        equal share per worker, at most :data:`MAX_BATCH`.
    """
    filters = {"tier": tier, "verdict": verdict}
    if workers <= 1 and batch is None:
        yield from audit(load_network(store), customer=customer, **filters)
        return
    customers = {customer} if isinstance(customer, str) else \
        None if customer is None else set(customer)
    # neighbours together: a batch of nearby sites shares its plant and rings, read once
    # (only the order is kept: 100,000 site records would stay in every worker's memory)
    sites = [site_id for _, site_id in sorted(
        _place(n) for n in store.iter_nodes("Site")
        if customers is None or n.props.get("customer_id") in customers)]
    batch = batch or default_batch(len(sites), workers)
    batches = [sites[i:i + batch] for i in range(0, len(sites), max(1, batch))]
    if workers <= 1 or len(batches) <= 1:
        results = [_check(store, part, filters) for part in batches]
    else:
        # fork: the workers start at once and inherit nothing they use (each opens the store)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(batches)), mp_context=context,
                                 initializer=_open_worker_store,
                                 initargs=(store.location,)) as pool:
            results = list(pool.map(_check_in_worker, batches, [filters] * len(batches)))
    yield from sorted((c for checks in results for c in checks), key=lambda c: c.site_id)


def default_batch(sites: int, workers: int) -> int:
    """Sites per batch: an equal share per worker, in more batches when a share would pass
    :data:`MAX_BATCH`."""
    parts = max(workers, math.ceil(sites / MAX_BATCH), 1)
    return max(1, math.ceil(sites / parts))


def default_workers(store: GraphStore) -> int:
    """One worker per CPU, or one for a store that reads the whole network faster than
    batches (:attr:`GraphStore.prefers_whole_reads`)."""
    return 1 if store.prefers_whole_reads else usable_cpus()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which a container may limit)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _place(site: Any) -> tuple[int, str]:
    """Where a site is, as a Morton (Z-order) code of its coordinates: sites close in this
    order are close on the map. Sites without coordinates come last, by id."""
    lon, lat = site.props.get("lon"), site.props.get("lat")
    if not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
        return (1 << 40, site.id)
    x = int((min(max(lon, -180.0), 180.0) + 180.0) / 360.0 * 0xFFFFF)
    y = int((min(max(lat, -90.0), 90.0) + 90.0) / 180.0 * 0xFFFFF)
    return (_spread(x) | _spread(y) << 1, site.id)


def _spread(v: int) -> int:
    """The 20 bits of ``v`` at the even bit positions (bit i to bit 2i): one half of a Morton
    code, in five shifts and masks rather than a loop over the bits (the parent orders
    every site before the workers start)."""
    v = (v | v << 16) & 0x0000FFFF0000FFFF
    v = (v | v << 8) & 0x00FF00FF00FF00FF
    v = (v | v << 4) & 0x0F0F0F0F0F0F0F0F
    v = (v | v << 2) & 0x3333333333333333
    return (v | v << 1) & 0x5555555555555555


def _check(store: GraphStore, site_ids: list[str], filters: dict[str, Any]) -> list[SiteCheck]:
    G = load_site_graph(store, site_ids)
    checks = list(audit(G, sites=site_ids, **filters))
    # The graph is held in reference cycles (networkx's cached views point back at it):
    # emptied, its hundreds of thousands of objects are freed at once by reference counting,
    # not by a full collection that traverses them all first (at 100,000 sites 0.7-2.2 s a
    # batch against 0.1-0.5 s).
    G.clear()
    return checks


def _open_worker_store(location: str) -> None:
    global _worker_store
    _worker_store = open_store(location)


def _check_in_worker(site_ids: list[str], filters: dict[str, Any]) -> list[SiteCheck]:
    assert _worker_store is not None
    # a worker process does nothing else: no cyclic garbage collection (see gc_paused);
    # _check frees the batch's graph itself, and the few small cycles left wait for the
    # worker's end
    with gc_paused():
        return _check(_worker_store, site_ids, filters)
