"""``audit_store``: every site checked on bounded batch graphs, in one or several processes,
gives exactly the whole-network audit, on both stores."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from inventory.audits import MAX_BATCH, _place, _spread, audit_store, default_batch
from inventory.cli import cli
from inventory.graph.compliance import audit, check
from inventory.graph.network import load_network, load_site_graph
from inventory.graph.store import Node
from inventory.graph.trace import trace

SITES = 120


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "export"
    result = CliRunner().invoke(cli, ["generate", "--sites", str(SITES), "--seed", "11",
                                      str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def imported(store, store_env, export, monkeypatch):
    for key, value in store_env.items():  # worker processes open the store from the env
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["import", "--quiet", str(export)], env=store_env)
    assert result.exit_code == 0, result.output
    return store


def _dicts(checks) -> list[dict]:
    return [c.as_dict() for c in checks]


@pytest.mark.parametrize("batch,workers", [(7, 1), (25, 2), (1000, 1), (None, 2), (None, 3)])
def test_batched_audit_is_the_whole_network_audit(imported, batch, workers):
    whole = _dicts(audit(load_network(imported)))
    assert len(whole) == SITES and {c["verdict"] for c in whole} > {"COMPLIANT"}
    assert _dicts(audit_store(imported, batch=batch, workers=workers)) == whole


def test_batched_audit_filters_like_the_whole_network_audit(imported):
    G = load_network(imported)
    some = sorted({G.nodes[k].get("customer_id") for k in G if k[0] == "Site"})[:5]
    for filters in ({"tier": "GOLD"}, {"verdict": "NON_COMPLIANT"}, {"customer": some},
                    {"customer": some[0], "tier": ["SILVER", "BRONZE"]}):
        assert _dicts(audit_store(imported, batch=10, workers=2, **filters)) == \
            _dicts(audit(G, **filters)), filters


def test_cli_audit_with_workers_prints_the_same(imported, store_env):
    runner = CliRunner()
    whole = runner.invoke(cli, ["audit", "--format", "json", "--workers", "1"], env=store_env)
    assert whole.exit_code == 0, whole.output
    for workers in ([], ["--workers", "2"]):  # the default: one worker per CPU
        batched = runner.invoke(cli, ["audit", "--format", "json", *workers], env=store_env)
        assert batched.exit_code == 0, batched.output
        assert batched.output == whole.output


def test_default_batches_are_an_equal_share_per_worker_up_to_max_batch():
    assert default_batch(120, 2) == 60
    assert default_batch(121, 2) == 61
    assert default_batch(10_000, 2) == 5_000
    assert default_batch(10 * MAX_BATCH, 2) == MAX_BATCH  # ten batches for two workers
    assert default_batch(10 * MAX_BATCH + 1, 2) == MAX_BATCH * 10 // 11 + 1  # eleven
    assert default_batch(3, 8) == 1


def test_morton_code_interleaves_the_bits():
    # _spread's shifts and masks against the plain loop over the 20 bits
    def loop(x: int, y: int) -> int:
        code = 0
        for bit in range(20):
            code |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
        return code

    rng = random.Random(5)
    values = [0, 1, 2, 0xFFFFF, 0x80000, 0x55555, 0xAAAAA] + \
        [rng.randrange(1 << 20) for _ in range(2000)]
    for x in values:
        y = rng.choice(values)
        assert _spread(x) | _spread(y) << 1 == loop(x, y)
    site = Node("Site", "S-1", {"lon": 82.07, "lat": 44.9})
    x = int((82.07 + 180.0) / 360.0 * 0xFFFFF)
    y = int((44.9 + 90.0) / 180.0 * 0xFFFFF)
    assert _place(site) == (loop(x, y), "S-1")
    assert _place(Node("Site", "S-2", {})) == (1 << 40, "S-2")


def test_a_site_graph_leaves_out_the_other_sites_and_checks_the_same(imported):
    """The walks of ``load_site_graph`` stop at every other site (none is passed through):
    such a site is a leaf that no route reaches, and is left out with its relationships
    (around a busy access room there are hundreds). A site's check and trace on its own
    graph, and a batch's, stay those on the whole network."""
    G = load_network(imported)
    sites = sorted(k[1] for k in G if k[0] == "Site")
    met_others = 0
    for site in random.Random(2).sample(sites, 30):
        own = load_site_graph(imported, site)
        assert [k for k in own if k[0] == "Site"] == [("Site", site)]
        assert check(own, site).as_dict() == check(G, site).as_dict()
        assert trace(own, site).as_dict() == trace(G, site).as_dict()
        # the plant this site's graph holds does reach other sites in the network
        met_others += any(k[0] == "Site" and k[1] != site
                          for v in own for k in G.neighbors(v))
    assert met_others >= 10
    batch = sites[:40]
    assert sorted(k[1] for k in load_site_graph(imported, batch) if k[0] == "Site") == batch
