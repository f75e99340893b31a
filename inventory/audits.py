"""Audit every site of a store, reading the network in bounded pieces, on several cores.

The store-facing use case behind ``inventory audit`` (and the bench): the sites are taken
in id order, ``batch`` at a time; each batch's graph is what :func:`load_site_graph` reads
for those sites (every route of each, to its access nodes and on to aggregation), and
:func:`~inventory.graph.compliance.audit` checks the batch's sites on it. That is the same
answer as checking them on the whole network (``tests/test_audits.py``), but memory stays
that of a batch whatever the network's size, and batches run in parallel: with
``workers > 1`` each worker process opens the store again (``open_store(store.location)``)
and takes batches in turn; results come back in site order. GraphStore contract only.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from inventory.graph.compliance import SiteCheck, audit
from inventory.graph.network import load_site_graph
from inventory.graph.store import GraphStore, open_store

#: sites per batch: large enough that the batch's shared plant (rings, access rooms) is
#: read once for many sites, small enough to keep a worker's graph a few dozen MB
BATCH = 1000

_worker_store: GraphStore | None = None


def audit_store(store: GraphStore, *, tier: str | Iterable[str] | None = None,
                customer: str | Iterable[str] | None = None,
                verdict: str | Iterable[str] | None = None, batch: int = BATCH,
                workers: int = 1) -> Iterator[SiteCheck]:
    """Check every site of ``store`` (in id order), like :func:`compliance.audit` on the
    whole network, with the same filters.

    Parameters
    ----------
    store : GraphStore
    tier, customer, verdict : optional
        As for :func:`inventory.graph.compliance.audit`.
    batch : int
        Sites read and checked together.
    workers : int
        Processes checking batches in parallel (1: in this process).
    """
    customers = {customer} if isinstance(customer, str) else \
        None if customer is None else set(customer)
    sites = [n for n in store.iter_nodes("Site")
             if customers is None or n.props.get("customer_id") in customers]
    # neighbours together: a batch of nearby sites shares its plant and rings, read once
    sites.sort(key=_place)
    batches = [[n.id for n in sites[i:i + batch]] for i in range(0, len(sites), max(1, batch))]
    filters = {"tier": tier, "verdict": verdict}
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


def _place(site: Any) -> tuple[int, str]:
    """Where a site is, as a Morton (Z-order) code of its coordinates: sites close in this
    order are close on the map. Sites without coordinates come last, by id."""
    lon, lat = site.props.get("lon"), site.props.get("lat")
    if not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
        return (1 << 40, site.id)
    x = int((min(max(lon, -180.0), 180.0) + 180.0) / 360.0 * 0xFFFFF)
    y = int((min(max(lat, -90.0), 90.0) + 90.0) / 180.0 * 0xFFFFF)
    code = 0
    for bit in range(20):
        code |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
    return (code, site.id)


def _check(store: GraphStore, site_ids: list[str], filters: dict[str, Any]) -> list[SiteCheck]:
    G = load_site_graph(store, site_ids)
    return list(audit(G, sites=site_ids, **filters))


def _open_worker_store(location: str) -> None:
    global _worker_store
    _worker_store = open_store(location)


def _check_in_worker(site_ids: list[str], filters: dict[str, Any]) -> list[SiteCheck]:
    assert _worker_store is not None
    return _check(_worker_store, site_ids, filters)
