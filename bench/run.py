"""The benchmark: ``make bench`` (or ``python -m bench.run``).

Generates networks of 1,000, 10,000 and 100,000 sites (``--huge`` adds 1,000,000), then for
each size measures, every step in its own process (peak RSS and CPU: getrusage in that process),
first the SQLite steps of every size, then (with the server up) the Neo4j ones:

* import into SQLite and into Neo4j (records/s end to end, and of the write alone), and
  Neo4j's own ``LOAD CSV`` of the same records, alternated with our Neo4j import (each
  ``--repeat`` times, 3 by default: the median run counts);
* a whole-network audit on both stores (sites/s, load + analysis);
* trace + check of one site (load_site_graph + check) over 200 random sites: p50 / p95;
* fault impact of the busiest trunk duct (store_impact: resolve, load, analyse);
* the site page under 8 concurrent clients (wrk, a separate process) against
  ``inventory serve``: p50 / p95;

prints a table and writes ``bench/results/<date>.json``. Targets: docs/performance.md.

On a virtual machine the host may run other guests on this one's cores, and the same code
then runs up to half as fast. Before every step the bench times a fixed loop of pure Python
(:func:`calibration_ms`), and around it reads the share of CPU time the host took (the
kernel's *steal* time, ``/proc/stat``); the table shows both, so that a slow run is read as
the machine's, not the code's.

Neo4j: by default the bench starts its own server (``scripts/neo4j`` with the state in
``<work>/neo4j``, never the test suite's) and stops it afterwards; ``--neo4j URI`` uses a
running one (with ``$INVENTORY_NEO4J_USER``/``PASSWORD`` and ``--neo4j-import-dir``), and
``--no-neo4j`` skips it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.steps import LOADCSV_BATCH, RESULT_PREFIX

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_SIZES = (1_000, 10_000, 100_000)
HUGE = 1_000_000
#: rounds of the Neo4j loaders that warm the server and are not counted: on a fresh server
#: the first runs took up to five times as long, the second up to twice (LOAD CSV at 1k:
#: 5.7 s, 1.0 s, then 1.0-1.3 s; session 14), so one round was not enough
WARMUP_ROUNDS = 2
#: a run whose CPU time was stolen by the host this much or more is flagged in the table
STEAL_WARNING = 0.05

#: (metric path, label, unit, comparison, target): the issue's targets (docs/performance.md).
TARGETS = [
    ("import_sqlite.records_per_s", "import SQLite", "records/s", ">=", 100_000),
    # each import against LOAD CSV of the same records committing as it does
    ("import_neo4j.write_vs_loadcsv_one_tx",
     "import Neo4j in one transaction (write) / LOAD CSV in one transaction", "×", ">=", 1.0),
    ("import_neo4j_commit_every.write_vs_loadcsv",
     f"import Neo4j --commit-every {LOADCSV_BATCH:,} (write) / LOAD CSV in transactions of "
     f"{LOADCSV_BATCH:,} rows", "×", ">=", 1.0),
    ("audit_sqlite.sites_per_s", "audit SQLite", "sites/s", ">=", 2_000),
    ("audit_neo4j.sites_per_s", "audit Neo4j", "sites/s", ">=", 500),
    ("check_sqlite.p95_ms", "trace+check p95 SQLite", "ms", "<=", 50),
    ("check_neo4j.p95_ms", "trace+check p95 Neo4j", "ms", "<=", 100),
    ("web.p95_ms", "site page p95 (8 clients)", "ms", "<=", 300),
]


class Runner:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(args.work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.python = sys.executable
        self.neo4j: dict[str, str] | None = None
        self.started_neo4j = False

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # -- processes
    def run_step(self, step: str, env: dict[str, str] | None = None, **kwargs: Any
                 ) -> dict[str, Any]:
        """Run one step in a child process: its result, with the process's wall time and
        (reported by the child itself, ``getrusage(RUSAGE_SELF)``) peak RSS and CPU."""
        cmd = [self.python, "-m", "bench.steps", step, json.dumps(kwargs)]
        calibration = calibration_ms()
        cpu_before = host_cpu_times()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, **(env or {})})
        out, err = proc.communicate()
        wall = time.perf_counter() - started
        stolen = stolen_share(cpu_before, host_cpu_times())
        result = None
        for line in out.splitlines():
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX):])
        if proc.returncode != 0 or result is None:
            tail = (err or out).strip().splitlines()[-5:]
            self.log(f"{step} failed: " + " | ".join(tail))
            return {"error": " | ".join(tail)}
        result["process_seconds"] = wall
        result["calibration_ms"] = calibration
        if stolen is not None:
            result["cpu_stolen_share"] = stolen
        return result

    # -- data
    def dataset(self, n: int) -> Path:
        out = self.work / "data" / f"{n}-seed{self.args.seed}"
        if (out / "manifest.json").exists():
            return out
        shutil.rmtree(out, ignore_errors=True)
        self.log(f"generating {n:,} sites into {out}")
        subprocess.run([self.python, "-m", "inventory", "generate", "--sites", str(n),
                        "--seed", str(self.args.seed), str(out)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        return out

    # -- neo4j
    def start_neo4j(self) -> None:
        if self.args.no_neo4j:
            return
        if self.args.neo4j:
            self.neo4j = {"INVENTORY_STORE": self.args.neo4j,
                          "INVENTORY_NEO4J_USER": os.environ.get("INVENTORY_NEO4J_USER", "neo4j"),
                          "INVENTORY_NEO4J_PASSWORD": os.environ.get("INVENTORY_NEO4J_PASSWORD",
                                                                     ""),
                          "import_dir": self.args.neo4j_import_dir or ""}
            return
        state = self.work / "neo4j"
        env = {**os.environ, "NEO4J_STATE_DIR": str(state),
               "NEO4J_HEAP": self.args.neo4j_heap, "NEO4J_PAGECACHE": self.args.neo4j_pagecache}
        self.log(f"starting a Neo4j server for the bench (state in {state})")
        done = subprocess.run([str(ROOT / "scripts" / "neo4j"), "start"], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            self.log("Neo4j did not start; Neo4j steps are skipped: "
                     + done.stderr.strip()[-300:])
            return
        self.started_neo4j = True
        self.neo4j = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        self.neo4j["import_dir"] = str(state / "import")

    def stop_neo4j(self) -> None:
        if self.started_neo4j:
            env = {**os.environ, "NEO4J_STATE_DIR": str(self.work / "neo4j")}
            subprocess.run([str(ROOT / "scripts" / "neo4j"), "stop"], env=env,
                           capture_output=True, check=False)

    def neo4j_env(self) -> dict[str, str]:
        assert self.neo4j is not None
        return {k: v for k, v in self.neo4j.items() if k.startswith("INVENTORY_")}

    # -- the web step
    def web(self, db: Path, n: int) -> dict[str, Any]:
        wrk = shutil.which("wrk")
        if wrk is None:
            return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
        try:
            import web  # noqa: F401
        except ImportError:
            return {"skipped": "not yet measurable: the web app (web/) is not in this tree"}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        users = self.work / f"users-{n}.db"
        env = {**os.environ, "INVENTORY_SECRET_KEY_FILE": str(self.work / "secret-key")}
        workers = self.args.web_workers
        server = subprocess.Popen(
            [self.python, "-m", "inventory", "serve", "--threads", "8", "--workers",
             str(workers), "--port", str(port), "--store", str(db), "--users-db", str(users)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            from bench.steps import open_bench_store, site_sample

            store = open_bench_store(str(db))
            sites = site_sample(store, self.args.web_sites, self.args.seed + 1)
            store.close()
            for _ in range(300):
                try:  # not "/": the dashboard starts the whole-network audit in the background
                    urllib.request.urlopen(base + "/healthz", timeout=5).read()
                    break
                except OSError:
                    if server.poll() is not None:
                        return {"error": "inventory serve exited: "
                                         + server.stderr.read()[-300:]}
                    time.sleep(0.2)
            try:  # the site page exists, and one warm-up request
                urllib.request.urlopen(f"{base}/sites/{sites[0]}", timeout=60).read()
            except OSError as exc:
                return {"skipped": f"not yet measurable: /sites/<id> answers {exc}"}
            paths = self.work / f"web-paths-{n}.txt"
            paths.write_text("".join(f"/sites/{s}\n" for s in sites))
            out = subprocess.run(
                [wrk, "-t2", "-c8", f"-d{self.args.web_seconds}s", "--timeout", "30s",
                 "-s", str(BENCH / "site_pages.lua"), base],
                env={**os.environ, "BENCH_PATHS": str(paths)}, capture_output=True,
                text=True, check=True).stdout
            line = next(x for x in out.splitlines() if x.startswith("BENCH-WRK"))
            p50, p95, p_max, requests, errors, duration = map(int, line.split()[1:])
            # the parent and, with --workers, every worker process
            rss = sum(filter(None, map(_peak_rss_mb, [server.pid, *_children(server.pid)])))
            return {"clients": 8, "workers": workers, "seconds": duration / 1e6,
                    "requests": requests,
                    "errors": errors, "requests_per_s": requests / (duration / 1e6),
                    "p50_ms": p50 / 1000, "p95_ms": p95 / 1000, "max_ms": p_max / 1000,
                    "server_peak_rss_mb": rss, "peak_rss_mb": rss}
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()

    # -- one size: the SQLite steps, then (in a second pass) the Neo4j ones
    def skipped(self, name: str) -> bool:
        return name.split("_")[0] in self.args.skip or name in self.args.skip

    def step(self, results: dict[str, Any], n: int, name: str, *args: Any,
             repeat: int = 1, **kwargs: Any) -> None:
        """Run a step (``repeat`` times: its median run, see :func:`median_run`)."""
        if self.skipped(name):
            return
        runs = []
        for i in range(repeat):
            self.log(f"{n:,} sites: {name}" + (f" ({i + 1}/{repeat})" if repeat > 1 else ""))
            runs.append(self.run_step(*args, **kwargs))
        results[name] = median_run(runs, "seconds")

    def neo4j_import_and_loadcsv(self, results: dict[str, Any], n: int, env: dict[str, str],
                                 uri: str, data: Path, parts: bool) -> None:
        """Our import (in one transaction, or file by file with ``parts``), our import with
        ``--commit-every`` LOADCSV_BATCH, and LOAD CSV of the same records committing as
        each does (in one transaction, unless ``parts``; every LOADCSV_BATCH rows),
        alternated ``--repeat`` times on the one server (whose speed drifts by a quarter
        from run to run): each one's median run, and the ratios of the medians of LOAD
        CSV's time and of each import's write. WARMUP_ROUNDS rounds of all of them warm
        the server (its JIT compiler, caches) and are not counted (``warmup_seconds``)."""
        loadcsv = self.neo4j.get("import_dir") and n <= self.args.loadcsv_max and \
            not self.skipped("loadcsv_neo4j")
        repeat = self.args.repeat if loadcsv else 1
        runs: dict[str, list[dict[str, Any]]] = {}
        import_dir = self.neo4j["import_dir"]
        loaders = {"loadcsv_neo4j": ("loadcsv", {"batch": LOADCSV_BATCH,
                                                 "import_dir": import_dir}),
                   "loadcsv_neo4j_one_tx": ("loadcsv", {"batch": None, "import_dir": import_dir}),
                   "import_neo4j": ("import", {"parts": parts}),
                   "import_neo4j_commit_every": ("import", {"commit_every": LOADCSV_BATCH})}
        if not loadcsv:
            del loaders["loadcsv_neo4j"], loaders["loadcsv_neo4j_one_tx"]
        elif parts:  # LOAD CSV has no counterpart of an import in parts
            del loaders["loadcsv_neo4j_one_tx"]
        warmups = WARMUP_ROUNDS if loadcsv else 0
        for i in range(-warmups, repeat):
            of = " (warm-up)" if i < 0 else f" ({i + 1}/{repeat})" if repeat > 1 else ""
            for name, (step, how) in loaders.items():
                if not self.skipped(name):
                    self.log(f"{n:,} sites: {name}{of}")
                    runs.setdefault(name, []).append(self.run_step(
                        step, env=env, store=uri, data=str(data), **how))
        for name, done in runs.items():
            key = "seconds" if name.startswith("loadcsv") else "write_seconds"
            results[name] = median_run(done[warmups:], key)
            if warmups:
                results[name]["warmup_seconds"] = [run.get(key) for run in done[:warmups]]
        # each import against LOAD CSV committing as it does, and the one transaction
        # against the batched LOAD CSV too (the comparison of sessions 1-13)
        for name, anchor, ratio in (
                ("import_neo4j", "loadcsv_neo4j_one_tx", "write_vs_loadcsv_one_tx"),
                ("import_neo4j", "loadcsv_neo4j", "write_vs_loadcsv"),
                ("import_neo4j_commit_every", "loadcsv_neo4j", "write_vs_loadcsv")):
            imp, csv_ = results.get(name, {}), results.get(anchor, {})
            if imp.get("write_seconds") and csv_.get("seconds"):
                imp[ratio] = csv_["seconds"] / imp["write_seconds"]
                imp[ratio.replace("write_", "total_")] = csv_["seconds"] / imp["seconds"]

    def size_sqlite(self, n: int) -> dict[str, Any]:
        """Generate (or reuse) the network and run the embedded store's steps and the web's."""
        started = time.perf_counter()
        results: dict[str, Any] = {}
        data = self.dataset(n)
        manifest = json.loads((data / "manifest.json").read_text())
        results["generate"] = {"seconds": time.perf_counter() - started,
                               "rows": sum(manifest["counts"].values())}
        started = time.perf_counter()
        db = self.work / f"bench-{n}.db"
        step = functools.partial(self.step, results, n)
        step("import_sqlite", "import", store=str(db), data=str(data), repeat=self.args.repeat)
        step("audit_sqlite", "audit", store=str(db), workers=self.args.audit_workers)
        step("check_sqlite", "check", store=str(db), samples=self.args.samples,
             seed=self.args.seed)
        step("impact_sqlite", "impact", store=str(db))
        if "web" not in self.args.skip:
            self.log(f"{n:,} sites: web")
            results["web"] = self.web(db, n)
        results["total_seconds"] = time.perf_counter() - started
        return results

    def size_neo4j(self, n: int, results: dict[str, Any]) -> None:
        """The Neo4j steps of one size, added to its ``results``."""
        if n > self.args.neo4j_max:
            return
        started = time.perf_counter()
        data = self.dataset(n)
        env = self.neo4j_env()
        uri = env["INVENTORY_STORE"]
        step = functools.partial(self.step, results, n)
        # one import is one transaction: above --neo4j-whole-max sites it would outgrow
        # the server's transaction memory (100k sites: over 5.6 GiB with an 8 GB heap),
        # so the export goes in file by file, as the README says to; the last step here
        # is an import, whose store the steps below read
        self.neo4j_import_and_loadcsv(results, n, env, uri, data,
                                      parts=n > self.args.neo4j_whole_max)
        step("audit_neo4j", "audit", env=env, store=uri, workers=self.args.audit_workers)
        step("check_neo4j", "check", env=env, store=uri, samples=self.args.samples,
             seed=self.args.seed)
        if n <= self.args.neo4j_impact_max:
            step("impact_neo4j", "impact", env=env, store=uri)
        results["total_seconds"] += time.perf_counter() - started

    def run(self) -> dict[str, Any]:
        sizes = list(self.args.sizes) + ([HUGE] if self.args.huge else [])
        doc: dict[str, Any] = {
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "commit": _git_commit(), "dirty": _git_dirty(),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "load_average": os.getloadavg()},
            "seed": self.args.seed, "sizes": {}}
        cpu_before = host_cpu_times()
        # The embedded store's steps first, every size, with no Neo4j server running: a
        # user of the embedded store has none, and beside one (even idle after its
        # imports) the same SQLite import took a third more CPU time (docs/performance.md).
        for n in sizes:
            doc["sizes"][str(n)] = self.size_sqlite(n)
        self.start_neo4j()
        doc["neo4j"] = None if self.neo4j is None else self.neo4j.get("INVENTORY_STORE")
        try:
            if self.neo4j is not None:
                for n in sizes:
                    self.size_neo4j(n, doc["sizes"][str(n)])
        finally:
            self.stop_neo4j()
        doc["machine"]["cpu_stolen_share"] = stolen_share(cpu_before, host_cpu_times())
        doc["growth"] = growth(doc["sizes"])
        doc["targets"] = verdicts(doc)
        return doc


def median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Of the runs of one step, the one whose ``key`` is the median (the lower of the two
    middle ones for an even count), with every run's ``key`` in ``runs_<key>``; a failed
    run's error when any failed."""
    failed = [run for run in runs if key not in run]
    if failed or len(runs) == 1:
        return (failed or runs)[0]
    chosen = dict(sorted(runs, key=lambda run: run[key])[(len(runs) - 1) // 2])
    chosen[f"runs_{key}"] = [run[key] for run in runs]
    return chosen


def calibration_ms(rounds: int = 5) -> float:
    """The best of ``rounds`` timings, in ms, of a fixed loop of pure Python: how fast this
    machine runs Python just now (on this 2-core machine 31-33 ms when its host is quiet,
    and 60-65 ms at times, when every step took about twice as long)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def host_cpu_times(stat: str = "/proc/stat") -> tuple[int, int] | None:
    """(stolen, busy): the clock ticks of all CPUs since boot that the host gave to other
    guests while this machine had work to run (steal), and that this machine ran its own
    work (user, nice, system, irq, softirq), from the first line of ``/proc/stat``; None
    where there is no such file (not Linux)."""
    try:
        with open(stat, encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if fields[:1] != ["cpu"] or len(fields) < 9:
        return None
    # cpu user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    # already counted in user and nice
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return steal, user + nice + system + irq + softirq


def stolen_share(before: tuple[int, int] | None, after: tuple[int, int] | None
                 ) -> float | None:
    """Between two :func:`host_cpu_times`, the share of the CPU time this machine wanted
    that the host gave to others: 0.25 means its work took a third longer than alone."""
    if before is None or after is None:
        return None
    stolen, busy = after[0] - before[0], after[1] - before[1]
    return stolen / (stolen + busy) if stolen + busy > 0 else None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _git_commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def _git_dirty() -> bool:
    done = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    return bool(done.stdout.strip())


def lookup(size: dict[str, Any], path: str) -> Any:
    value: Any = size
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def growth(sizes: dict[str, Any]) -> dict[str, Any]:
    """How the run time grows: 100k / 10k must stay within 12×. Compared over the steps both
    sizes ran (e.g. not LOAD CSV above --loadcsv-max), each step's process wall time; the
    site-page step runs for a fixed time and is left out."""
    out: dict[str, Any] = {}
    keys = sorted(sizes, key=int)
    for small, big in itertools.pairwise(keys):
        common = [name for name, step in sizes[small].items()
                  if isinstance(step, dict) and step.get("process_seconds")
                  and (sizes[big].get(name) or {}).get("process_seconds")]
        a = sum(sizes[small][name]["process_seconds"] for name in common)
        b = sum(sizes[big][name]["process_seconds"] for name in common)
        if a and b:
            out[f"{big}/{small}"] = {"time_ratio": b / a, "size_ratio": int(big) / int(small),
                                     "steps": sorted(common)}
    return out


def peak_memory(size: dict[str, Any]) -> float | None:
    values = [v.get("peak_rss_mb") for v in size.values()
              if isinstance(v, dict) and v.get("peak_rss_mb")]
    return max(values) if values else None


def verdicts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for n, size in doc["sizes"].items():
        for path, label, unit, op, target in TARGETS:
            value = lookup(size, path)
            if value is None:
                continue
            ok = value >= target if op == ">=" else value <= target
            rows.append({"sites": int(n), "target": label, "value": value, "unit": unit,
                         "op": op, "goal": target, "met": ok})
        if int(n) == 100_000:
            mem = peak_memory(size)
            if mem:
                rows.append({"sites": 100_000, "target": "peak RSS", "value": mem,
                             "unit": "MB", "op": "<=", "goal": 2048, "met": mem <= 2048})
    ratio = doc["growth"].get("100000/10000", {}).get("time_ratio")
    if ratio:
        rows.append({"sites": 100_000, "target": "run time 100k / 10k", "value": ratio,
                     "unit": "×", "op": "<=", "goal": 12, "met": ratio <= 12})
    return rows


# --- the table ---------------------------------------------------------------------------------

ROWS = [
    ("import SQLite records/s (end to end)", "import_sqlite.records_per_s", "{:,.0f}"),
    ("import SQLite CSV rows/s (end to end)", "import_sqlite.rows_per_s", "{:,.0f}"),
    ("import SQLite write records/s", "import_sqlite.write_records_per_s", "{:,.0f}"),
    ("import SQLite s (check + write)", "import_sqlite.seconds", "{:,.1f}"),
    ("import Neo4j records/s (end to end)", "import_neo4j.records_per_s", "{:,.0f}"),
    ("import Neo4j write records/s", "import_neo4j.write_records_per_s", "{:,.0f}"),
    ("LOAD CSV in one transaction records/s", "loadcsv_neo4j_one_tx.records_per_s",
     "{:,.0f}"),
    ("LOAD CSV one tx s / Neo4j write s", "import_neo4j.write_vs_loadcsv_one_tx", "{:.2f}"),
    (f"LOAD CSV in transactions of {LOADCSV_BATCH:,} rows records/s",
     "loadcsv_neo4j.records_per_s", "{:,.0f}"),
    (f"LOAD CSV in transactions of {LOADCSV_BATCH:,} s / Neo4j write s",
     "import_neo4j.write_vs_loadcsv", "{:.2f}"),
    (f"import Neo4j --commit-every {LOADCSV_BATCH:,} write records/s",
     "import_neo4j_commit_every.write_records_per_s", "{:,.0f}"),
    (f"LOAD CSV s / Neo4j --commit-every {LOADCSV_BATCH:,} write s",
     "import_neo4j_commit_every.write_vs_loadcsv", "{:.2f}"),
    ("audit SQLite sites/s", "audit_sqlite.sites_per_s", "{:,.0f}"),
    ("audit Neo4j sites/s", "audit_neo4j.sites_per_s", "{:,.0f}"),
    ("trace+check SQLite p50 ms", "check_sqlite.p50_ms", "{:,.0f}"),
    ("trace+check SQLite p95 ms", "check_sqlite.p95_ms", "{:,.0f}"),
    ("trace+check Neo4j p50 ms", "check_neo4j.p50_ms", "{:,.0f}"),
    ("trace+check Neo4j p95 ms", "check_neo4j.p95_ms", "{:,.0f}"),
    ("fault impact SQLite s (busiest trunk duct)", "impact_sqlite.seconds", "{:,.2f}"),
    ("fault impact Neo4j s", "impact_neo4j.seconds", "{:,.2f}"),
    ("site page p50 ms (8 clients)", "web.p50_ms", "{:,.0f}"),
    ("site page p95 ms (8 clients)", "web.p95_ms", "{:,.0f}"),
    ("site page requests/s", "web.requests_per_s", "{:,.1f}"),
    ("peak RSS MB import SQLite", "import_sqlite.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB import Neo4j", "import_neo4j.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB LOAD CSV (client)", "loadcsv_neo4j.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB audit SQLite", "audit_sqlite.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB audit Neo4j", "audit_neo4j.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB check SQLite", "check_sqlite.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB check Neo4j", "check_neo4j.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB impact SQLite", "impact_sqlite.peak_rss_mb", "{:,.0f}"),
    ("peak RSS MB web server", "web.peak_rss_mb", "{:,.0f}"),
    ("total s (all steps, without generate)", "total_seconds", "{:,.0f}"),
    ("calibration loop ms before import SQLite (lower: faster machine)",
     "import_sqlite.calibration_ms", "{:,.0f}"),
    ("CPU stolen by the host, import SQLite", "import_sqlite.cpu_stolen_share",
     "{:.0%}"),
]


def table(doc: dict[str, Any]) -> str:
    sizes = sorted(doc["sizes"], key=int)
    header = ["metric", *(f"{int(n):,} sites" for n in sizes)]
    lines = []
    for label, path, fmt in ROWS:
        cells = []
        for n in sizes:
            value = lookup(doc["sizes"][n], path)
            step = doc["sizes"][n].get(path.split(".")[0])
            if value is None and isinstance(step, dict) and ("skipped" in step or "error" in step):
                cells.append("skipped" if "skipped" in step else "error")
            else:
                cells.append("-" if value is None else fmt.format(value))
        if any(c != "-" for c in cells):
            lines.append([label, *cells])
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]

    def fmt_row(row: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths)))

    out = [fmt_row(header), fmt_row(["-" * w for w in widths]), *map(fmt_row, lines)]
    loops = [step["calibration_ms"] for n in sizes for step in doc["sizes"][n].values()
             if isinstance(step, dict) and "calibration_ms" in step]
    if loops:
        out.append(f"calibration loop before each step: {min(loops):,.0f}-{max(loops):,.0f} ms "
                   "(the same Python each time: a step after a higher number ran on a "
                   "slower machine)")
    stolen = doc["machine"].get("cpu_stolen_share")
    if stolen is not None:
        out.append(f"CPU time stolen by the host over the whole run: {stolen:.0%}"
                   + (" (the host ran other work on these cores: the times above are longer "
                      "than this machine alone gives)" if stolen >= STEAL_WARNING else ""))
    for ratio, g in doc["growth"].items():
        out.append(f"growth {ratio}: run time ×{g['time_ratio']:.1f} for ×{g['size_ratio']:.0f} "
                   "sites")
    skipped = {f"{k}: {v['skipped']}" for n in sizes for k, v in doc["sizes"][n].items()
               if isinstance(v, dict) and "skipped" in v}
    out += sorted(f"note: {s}" for s in skipped)
    if doc["targets"]:
        out.append("")
        out.append("targets:")
        for t in doc["targets"]:
            out.append(f"  {'MET    ' if t['met'] else 'MISSED '} {t['sites']:>9,} sites  "
                       f"{t['target']}: {t['value']:,.2f} {t['unit']} (goal {t['op']} "
                       f"{t['goal']:,})")
    return "\n".join(out)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                   default=list(DEFAULT_SIZES), help="comma-separated site counts "
                   "(default 1000,10000,100000)")
    p.add_argument("--huge", action="store_true", help="also 1,000,000 sites")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--samples", type=int, default=200, help="sites for trace+check latency")
    p.add_argument("--web-seconds", type=int, default=20, help="wrk duration per size")
    p.add_argument("--web-sites", type=int, default=200, help="distinct site pages asked for")
    p.add_argument("--web-workers", type=int, default=os.cpu_count() or 1,
                   help="`inventory serve --workers` for the site-page step (default: one "
                        "per core)")
    p.add_argument("--audit-workers", type=int, default=None,
                   help="`inventory audit --workers` for the audit step (default: as "
                        "`inventory audit` chooses, one per CPU on SQLite, 1 on Neo4j)")
    p.add_argument("--skip", action="append", default=[],
                   choices=["import", "loadcsv", "audit", "check", "impact", "web",
                            "import_neo4j", "import_neo4j_commit_every"],
                   help="leave a step out (repeatable)")
    p.add_argument("--repeat", type=_at_least_one, default=3,
                   help="runs of each import, and of LOAD CSV alternated with the Neo4j "
                        "import, of which the median counts (default 3)")
    p.add_argument("--no-neo4j", action="store_true", help="SQLite only")
    p.add_argument("--neo4j", metavar="URI", help="use this running server instead of "
                   "starting one ($INVENTORY_NEO4J_USER / _PASSWORD)")
    p.add_argument("--neo4j-import-dir", help="its import directory (for LOAD CSV)")
    # 6g: at 100k sites a part of the import in parts (a file: up to 363,000 ducts) outgrew
    # the transaction memory of a 2g heap (1.4 GiB); the 100k store (~1 GB) fits a 2g cache
    p.add_argument("--neo4j-heap", default="6g")
    p.add_argument("--neo4j-pagecache", default="2g")
    p.add_argument("--neo4j-impact-max", type=int, default=100_000,
                   help="fault impact on Neo4j up to this many sites")
    p.add_argument("--neo4j-max", type=int, default=100_000,
                   help="Neo4j steps up to this many sites")
    p.add_argument("--neo4j-whole-max", type=int, default=10_000,
                   help="import into Neo4j in one transaction up to this many sites, file "
                        "by file above (100k sites in one outgrow an 8 GB heap's "
                        "transaction memory)")
    p.add_argument("--loadcsv-max", type=int, default=100_000,
                   help="LOAD CSV up to this many sites (at 100k it takes the longest)")
    p.add_argument("--work", default=str(BENCH / ".work"),
                   help="generated data, stores, the bench's Neo4j (default bench/.work)")
    p.add_argument("--results", default=str(BENCH / "results"),
                   help="where <date>.json goes")
    return p.parse_args(argv)


def results_path(folder: Path, day: dt.date) -> Path:
    """``<date>.json``; a second run the same day gets ``<date>-2.json`` and so on, so that
    a rerun never overwrites the numbers of an earlier one."""
    path, n = folder / f"{day.isoformat()}.json", 1
    while path.exists():
        n += 1
        path = folder / f"{day.isoformat()}-{n}.json"
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    doc = Runner(args).run()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    path = results_path(results, dt.date.today())
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    print(table(doc))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
