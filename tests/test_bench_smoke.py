"""A smoke run of the benchmark (bench/run.py) on a tiny network: it runs every SQLite step,
prints its table and writes its JSON. No timing is asserted: numbers on a CI machine mean
nothing, the bench itself (``make bench``) is where they are read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--sizes", "50", "--no-neo4j", "--samples", "5",
         "--skip", "web", "--repeat", "2", "--work", str(tmp_path / "work"), "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "import SQLite records/s" in done.stdout
    assert "import SQLite CSV rows/s" in done.stdout
    assert "trace+check SQLite p95 ms" in done.stdout
    assert "50 sites" in done.stdout
    (written,) = results.glob("*.json")
    doc = json.loads(written.read_text())
    size = doc["sizes"]["50"]
    assert size["import_sqlite"]["records"] > 0
    assert len(size["import_sqlite"]["runs_seconds"]) == 2  # --repeat 2: the median run
    assert size["import_sqlite"]["peak_rss_mb"] > 0
    assert size["import_sqlite"]["calibration_ms"] > 0
    assert "calibration loop before each step" in done.stdout
    if Path("/proc/stat").exists():
        assert 0 <= size["import_sqlite"]["cpu_stolen_share"] <= 1
        assert 0 <= doc["machine"]["cpu_stolen_share"] <= 1
        assert "CPU time stolen by the host over the whole run" in done.stdout
    assert size["audit_sqlite"]["sites"] == 50
    assert size["check_sqlite"]["samples"] == 5
    assert "p95_ms" in size["check_sqlite"]
    assert "seconds" in size["impact_sqlite"] or "skipped" in size["impact_sqlite"]
    assert all(t["sites"] == 50 for t in doc["targets"])


def test_growth_compares_the_steps_both_sizes_ran(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is not installed, it runs from the repo
    from bench.run import growth

    sizes = {"10000": {"import_sqlite": {"process_seconds": 10.0},
                       "loadcsv_neo4j": {"process_seconds": 30.0},
                       "web": {"p95_ms": 100.0}, "total_seconds": 60.0},
             "100000": {"import_sqlite": {"process_seconds": 110.0},
                        "web": {"p95_ms": 120.0}, "total_seconds": 140.0}}
    assert growth(sizes) == {"100000/10000": {"time_ratio": 11.0, "size_ratio": 10.0,
                                              "steps": ["import_sqlite"]}}


def test_a_second_run_the_same_day_does_not_overwrite_the_first(tmp_path: Path,
                                                                  monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    import datetime as dt

    from bench.run import results_path

    day = dt.date(2026, 12, 2)
    first = results_path(tmp_path, day)
    assert first.name == "2026-12-02.json"
    first.write_text("{}")
    second = results_path(tmp_path, day)
    assert second.name == "2026-12-02-2.json"
    second.write_text("{}")
    assert results_path(tmp_path, day).name == "2026-12-02-3.json"


def test_import_in_parts_gives_the_same_store(tmp_path: Path, monkeypatch) -> None:
    """The bench's Neo4j import above --neo4j-whole-max goes file by file (README, Import):
    the same store as one import, so the steps after it measure the same network."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.steps import PART_ORDER, step_import
    from importers.generate import generate
    from inventory.graph.store import open_store

    data = tmp_path / "export"
    generate(data, sites=60, seed=3)
    assert sorted(p.stem for p in data.glob("*.csv")) == sorted(PART_ORDER)
    whole, parts = str(tmp_path / "whole.db"), str(tmp_path / "parts.db")
    assert step_import(whole, str(data))["parts"] == 1
    result = step_import(parts, str(data), parts=True)
    assert result["parts"] == len(PART_ORDER)
    assert result["records"] == step_import(whole, str(data))["records"]
    assert open_store(parts).digest() == open_store(whole).digest()
    committing = str(tmp_path / "committing.db")  # the import beside LOAD CSV, in parts too
    assert step_import(committing, str(data), commit_every=500)["commit_every"] == 500
    assert open_store(committing).digest() == open_store(whole).digest()


def test_a_repeated_step_counts_its_median_run(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.run import median_run

    runs = [{"seconds": 3.0, "records": 1}, {"seconds": 1.0, "records": 2},
            {"seconds": 2.0, "records": 3}]
    assert median_run(runs, "seconds") == {"seconds": 2.0, "records": 3,
                                           "runs_seconds": [3.0, 1.0, 2.0]}
    assert median_run(runs[:2], "seconds")["seconds"] == 1.0  # the lower middle one
    assert median_run(runs[:1], "seconds") == runs[0]
    failed = {"error": "import of … failed"}
    assert median_run([runs[0], failed, runs[1]], "seconds") == failed


def test_cpu_stolen_by_the_host_is_read_from_proc_stat(tmp_path: Path, monkeypatch) -> None:
    """A shared virtual machine's slow run is told apart from slow code: steal time."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.run import host_cpu_times, stolen_share

    stat = tmp_path / "stat"
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  1000 10 200 5000 30 5 5 100 40 0\ncpu0 500 5 100 2500 15 2 2 50 0 0\n")
    before = host_cpu_times(str(stat))
    assert before == (100, 1220)
    stat.write_text("cpu  1600 10 290 5600 30 5 15 500 40 0\n")
    after = host_cpu_times(str(stat))
    assert after == (500, 1920)
    # 700 ticks of its own work, 400 stolen: of the 1,100 it wanted, 36 % went elsewhere
    assert stolen_share(before, after) == 400 / 1100
    assert stolen_share(after, after) is None  # nothing ran in between
    assert stolen_share(None, after) is None
    assert host_cpu_times(str(tmp_path / "missing")) is None  # not Linux
    stat.write_text("intr 1 2 3\n")
    assert host_cpu_times(str(stat)) is None


def test_neo4j_comparison_leaves_out_a_warm_up_round(tmp_path: Path, monkeypatch) -> None:
    """LOAD CSV and our Neo4j imports: WARMUP_ROUNDS rounds warm the server and are not
    counted, then --repeat rounds alternated, the median of each compared."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.run import WARMUP_ROUNDS, Runner, parse_args

    assert WARMUP_ROUNDS == 2  # the times below begin with two warm-up runs each

    runner = Runner(parse_args(["--repeat", "3", "--work", str(tmp_path)]))
    runner.neo4j = {"import_dir": str(tmp_path / "import")}
    order: list[str] = []
    # the first two times of each are its warm-up runs (on a fresh server the slowest)
    times = {"loadcsv": iter([20.0, 9.0, 5.0, 6.0, 4.0]),
             "loadcsv_one_tx": iter([25.0, 9.0, 5.5, 4.5, 6.5]),
             "import": iter([30.0, 9.0, 4.0, 3.0, 5.0]),
             "import_commit_every": iter([30.0, 9.0, 2.5, 2.0, 3.0])}

    def run_step(step, env=None, **kwargs):
        name = ("import_commit_every" if kwargs.get("commit_every") else
                "loadcsv_one_tx" if step == "loadcsv" and kwargs["batch"] is None else step)
        order.append(name)
        # LOAD CSV reads the server's import directory; the imports have no use for it
        assert kwargs.get("import_dir") == (str(tmp_path / "import") if step == "loadcsv"
                                            else None)
        seconds = next(times[name])
        return {"seconds": seconds + 1.0, **({} if step == "loadcsv" else
                                               {"write_seconds": seconds})}

    monkeypatch.setattr(runner, "run_step", run_step)
    results: dict = {}
    runner.neo4j_import_and_loadcsv(results, 10_000, {}, "bolt://x", tmp_path, parts=False)
    assert order == ["loadcsv", "loadcsv_one_tx", "import", "import_commit_every"] * 5
    assert results["loadcsv_neo4j"]["runs_seconds"] == [6.0, 7.0, 5.0]
    assert results["loadcsv_neo4j"]["seconds"] == 6.0
    assert results["loadcsv_neo4j"]["warmup_seconds"] == [21.0, 10.0]
    assert results["loadcsv_neo4j_one_tx"]["seconds"] == 6.5
    assert results["import_neo4j"]["write_seconds"] == 4.0
    assert results["import_neo4j"]["warmup_seconds"] == [30.0, 9.0]
    # each import against LOAD CSV committing as it does; the one transaction also against
    # the batched LOAD CSV
    assert results["import_neo4j"]["write_vs_loadcsv_one_tx"] == 6.5 / 4.0
    assert results["import_neo4j"]["write_vs_loadcsv"] == 6.0 / 4.0
    assert results["import_neo4j_commit_every"]["write_vs_loadcsv"] == 6.0 / 2.5
    assert "write_vs_loadcsv_one_tx" not in results["import_neo4j_commit_every"]

    # an import in parts (one transaction per file) has no LOAD CSV in one transaction
    order.clear()
    times.update(loadcsv=iter([20.0, 9.0, 5.0, 6.0, 4.0]), loadcsv_one_tx=iter([]),
                 **{"import": iter([30.0, 9.0, 4.0, 3.0, 5.0]),
                    "import_commit_every": iter([30.0, 9.0, 2.5, 2.0, 3.0])})
    results = {}
    runner.neo4j_import_and_loadcsv(results, 10_000, {}, "bolt://x", tmp_path, parts=True)
    assert order == ["loadcsv", "import", "import_commit_every"] * 5
    assert "loadcsv_neo4j_one_tx" not in results
    assert "write_vs_loadcsv_one_tx" not in results["import_neo4j"]


def test_the_floor_step_reads_every_row_and_writes_what_the_import_writes(tmp_path: Path,
                                                                         monkeypatch) -> None:
    """``floor`` (docs/performance.md): every CSV row read with no check, and the write of
    the very records an import writes, into a store like the import's."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.steps import step_floor, step_import
    from importers.generate import generate
    from inventory.graph.store import open_store

    data = tmp_path / "export"
    generate(data, sites=40, seed=5)
    imported, floored = str(tmp_path / "imported.db"), str(tmp_path / "floor.db")
    expected = step_import(imported, str(data))
    result = step_floor(floored, str(data))
    assert result["rows_read"] == expected["rows_read"]
    assert result["records"] == expected["records"]
    assert open_store(floored).digest() == open_store(imported).digest()


@pytest.mark.neo4j
@pytest.mark.parametrize("batch", [None, 7])
def test_loadcsv_loads_the_records_the_import_writes(tmp_path: Path, monkeypatch, neo4j_server,
                                                     neo4j_store, batch) -> None:
    """The bench's anchor, LOAD CSV in one transaction or in transactions of ``batch`` rows,
    loads exactly the store an import of the same export writes: the same rows. The test
    server's import directory is scripts/neo4j's (``$NEO4J_STATE_DIR``, or ./.neo4j)."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.steps import step_import, step_loadcsv
    from importers.generate import generate
    from inventory.graph.store import open_store

    data = tmp_path / "export"
    generate(data, sites=30, seed=3)
    imported = str(tmp_path / "imported.db")
    step_import(imported, str(data))
    monkeypatch.setenv("INVENTORY_NEO4J_USER", neo4j_server["user"])
    monkeypatch.setenv("INVENTORY_NEO4J_PASSWORD", neo4j_server["password"])
    import_dir = Path(os.environ.get("NEO4J_STATE_DIR", ROOT / ".neo4j")) / "import"
    result = step_loadcsv(neo4j_server["uri"], str(data), str(import_dir), batch=batch)
    assert result["batch"] == batch
    assert ("commit" in result["per_entity_seconds"]) == (batch is None)
    assert neo4j_store.digest() == open_store(imported).digest()
