"""Time `boardpack batch` for many ICBs x 1 quarter: serial, a local process pool, a Dask LocalCluster.

    .venv/bin/python benchmarks/bench_batch.py [--icbs ALL] [--quarter '2026/27 Q2'] [--workers 2]
        [--runs pool,dask,serial] [--sizes 1,6] [--engine fork|kernel] [--pdf] [--data FOLDER]

Generates the national sample once (or reuses --data), then runs the real command line in a fresh
temporary project root per run (cold cache, own reports/), one run at a time:
  serial = --executor local:1, pool = local:N, dask = dask-local:N, on every ICB asked for;
  and pool runs on the first K ICBs for each K in --sizes, to show how time per pack changes
  with the number of packs.
Reports wall time, packs per minute, seconds per pack and peak memory (resident set of the command
and every process under it: workers and kernels), sampled every 0.25 s. Packs are built without the
PDF unless --pdf. Every run uses the same --engine (default fork, the build's default).

Goals (issue 14), checked on the full runs: 42 ICBs x 1 quarter on `local:2` (pool) in at most
6 minutes with peak memory at most 3 GB; `dask-local:2` (dask) within 1.2x the pool's wall time (needs
both runs in the same invocation). A verdict on a run that is not the goal's configuration (another
ICB count or worker count) is shown in brackets, as an indication only.
Prints a table and writes benchmarks/results/bench_batch-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "benchmarks" / "results"
BOARDPACK = [sys.executable, "-m", "boardpack"]
GOAL_ICBS, GOAL_WORKERS = 42, 2
GOAL_POOL_S = 360.0  # 6 minutes
GOAL_PEAK_GB = 3.0
GOAL_DASK_OVER_POOL = 1.2


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(label: str, icbs: list[str], quarter: str, data: Path, executor: str, pdf: bool, engine: str) -> dict:
    root = Path(tempfile.mkdtemp(prefix="boardpack-bench-batch-"))
    try:
        for folder in ("notebooks", "params"):
            shutil.copytree(PROJECT / folder, root / folder)
        shutil.copy(PROJECT / "requirements.lock", root / "requirements.lock")
        command = [
            *BOARDPACK,
            "batch",
            "--icb",
            ",".join(icbs),
            "--quarters",
            quarter,
            "--data",
            str(data),
            "--executor",
            executor,
            "--engine",
            engine,
        ] + ([] if pdf else ["--no-pdf"])
        env = dict(os.environ, BOARDPACK_ROOT=str(root), COLUMNS="200")
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        watched = psutil.Process(process.pid)
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _tree_rss(watched))
                stop.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stdout, stderr = process.communicate()
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        if process.returncode != 0:
            # keep the failed run's batch index (which packs failed, and why) before its root is deleted
            for index in (root / "reports" / "batches").glob("*.json"):
                RESULTS.mkdir(parents=True, exist_ok=True)
                kept = RESULTS / f"failed-{index.name}"
                shutil.copy(index, kept)
                stderr += f"\nbatch index kept: {kept}"
            raise SystemExit(f"{label}: exit {process.returncode}\n{stdout}\n{stderr[-3000:]}")
        record = json.loads(Path(stdout.strip().splitlines()[-1]).with_suffix(".json").read_text())
        packs = len(record["packs"])
        result = {
            "run": label,
            "executor": executor,
            "engine": engine,
            "packs": packs,
            "wall_s": round(elapsed, 1),
            "packs_per_minute": round(60.0 * packs / elapsed, 2),
            "s_per_pack": round(elapsed / packs, 2),
            "peak_memory_gb": round(peak[0] / 1e9, 2),
            "sections_submitted": record["submitted_sections"],
            "section_s_total": round(sum(p["section_s"] for p in record["packs"]), 1),
            # when each pack finished (s since the batch started), in finishing order: the shape of the run
            "finished_after_s": sorted(p["finished_after_s"] for p in record["packs"]),
        }
        print(
            f"  {label:<26} {packs:>4} packs {elapsed:8.1f} s {result['packs_per_minute']:7.2f} packs/min "
            f"{result['s_per_pack']:6.2f} s/pack  peak {result['peak_memory_gb']:5.2f} GB",
            flush=True,
        )
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def check_goals(by_name: dict[str, dict], in_goal_configuration: bool) -> list[dict]:
    """Print and return the goal rows for the full runs made (pool: time and memory; dask: ratio to pool)."""
    rows = []
    pool, dask = by_name.get("pool"), by_name.get("dask")
    if pool:
        rows.append({"goal": "pool wall time", "value": pool["wall_s"], "limit": GOAL_POOL_S, "unit": "s"})
        rows.append({"goal": "pool peak memory", "value": pool["peak_memory_gb"], "limit": GOAL_PEAK_GB, "unit": "GB"})
    if pool and dask:
        ratio = round(dask["wall_s"] / pool["wall_s"], 3)
        rows.append({"goal": "dask / pool wall time", "value": ratio, "limit": GOAL_DASK_OVER_POOL, "unit": "x"})
    print(f"\n  {'goal':<24} {'value':>10} {'limit':>10}  verdict")
    for row in rows:
        row["pass"] = row["value"] <= row["limit"]
        row["goal_configuration"] = in_goal_configuration
        verdict = "PASS" if row["pass"] else "FAIL"
        if not in_goal_configuration:
            verdict = f"({verdict})"
        print(
            f"  {row['goal']:<24} {row['value']:>8g} {row['unit']:<2}{row['limit']:>7g} {row['unit']:<2}  {verdict}",
            flush=True,
        )
    if pool and not dask:
        print("  dask / pool wall time: n/a (run pool and dask in the same invocation: --runs pool,dask)")
    if not rows:
        print("  none checked: the goals need the full runs pool and dask (--runs pool,dask)")
    if rows and not in_goal_configuration:
        print(f"  (verdicts in brackets: not the goal's configuration, {GOAL_ICBS} ICBs on {GOAL_WORKERS} workers)")
    return rows


def main() -> int:
    from boardpack.batch import parse_icbs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icbs", default="ALL")
    parser.add_argument("--quarter", default="2026/27 Q2")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sizes", default="1,6", help="pool runs on the first K ICBs, for each K")
    parser.add_argument("--data", type=Path, default=None, help="national data folder (default: generate it)")
    parser.add_argument("--runs", default="pool,dask,serial", help="which full runs: serial, pool, dask")
    parser.add_argument("--pdf", action="store_true")
    parser.add_argument("--engine", default="fork", choices=("fork", "kernel"), help="--engine for every run")
    args = parser.parse_args()

    icbs = parse_icbs(args.icbs)
    scratch = Path(tempfile.mkdtemp(prefix="boardpack-bench-data-"))
    try:
        data = args.data
        if data is None:
            data = scratch / "national"
            started = time.perf_counter()
            done = subprocess.run(
                [
                    *BOARDPACK,
                    "sample-data",
                    "--scale",
                    "national",
                    "--icbs",
                    ",".join(icbs),
                    "--to",
                    args.quarter,
                    "--out",
                    str(data),
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            print(
                f"national sample ({len(icbs)} ICBs) generated in {time.perf_counter() - started:.1f} s: {done.stdout.strip()}"
            )
        n = args.workers
        print(
            f"Batch benchmark: {len(icbs)} ICBs x {args.quarter}, {n} workers, cpu count {os.cpu_count()}, "
            f"load average before {os.getloadavg()[0]:.2f}, PDF {'on' if args.pdf else 'off'}, engine {args.engine}"
        )
        results = []
        by_name: dict[str, dict] = {}
        full = {
            "serial": ("serial", "local:1"),
            "pool": ("pool", f"local:{n}"),
            "dask": ("dask LocalCluster", f"dask-local:{n}"),
        }
        for name in [r.strip() for r in args.runs.split(",") if r.strip()]:
            label, executor = full[name]
            by_name[name] = run(f"{label}, all {len(icbs)}", icbs, args.quarter, data, executor, args.pdf, args.engine)
            results.append(by_name[name])
        for size in [int(k) for k in args.sizes.split(",") if k.strip()]:
            results.append(
                run(f"pool, first {size}", icbs[:size], args.quarter, data, f"local:{n}", args.pdf, args.engine)
            )
        goals = check_goals(by_name, in_goal_configuration=len(icbs) == GOAL_ICBS and n == GOAL_WORKERS)
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"bench_batch-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
        path.write_text(
            json.dumps(
                {
                    "icbs": len(icbs),
                    "quarter": args.quarter,
                    "workers": n,
                    "pdf": args.pdf,
                    "engine": args.engine,
                    "cpu_count": os.cpu_count(),
                    "load_average_after": os.getloadavg()[0],
                    "results": results,
                    "goals": goals,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"results: {path}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
