"""Benchmark: :func:`helpers.benchmarks.peer_inputs` (every ICB's comparable-KPI counts) on a
many-ICB data folder, against the per-ICB loop it replaced. Prints wall seconds per run. Not a test.

    .venv/bin/python benchmarks/bench_peer_inputs.py --data FOLDER [--quarter Q] [--runs 3] [--which peer_inputs,per_icb]

``FOLDER``: a national sample, e.g. from ``boardpack sample-data --scale national --to "2026/27 Q2"
--out FOLDER``. Each run loads the folder afresh (loading is not timed), so nothing the KPI helpers
cache per data object or per table is reused from an earlier run: this is what a build pays, once
per many-ICB folder. ``per_icb`` is the former loop over ICBs (kept private, as the tests' reference).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

from helpers import benchmarks
from helpers.loading import load_data
from helpers.quarters import latest_complete, parse

WHICH = {"peer_inputs": benchmarks.peer_inputs, "per_icb": getattr(benchmarks, "_peer_inputs_per_icb", None)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="many-ICB data folder (e.g. the national sample)")
    parser.add_argument("--quarter", default=None, help="quarter reported (default: the latest complete quarter)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--which", default="peer_inputs,per_icb", help="comma-separated: peer_inputs, per_icb")
    args = parser.parse_args(argv)
    quarter = parse(args.quarter) if args.quarter else latest_complete()
    for name in args.which.split(","):
        function = WHICH[name.strip()]
        if function is None:
            print(f"{name}: not in this checkout", flush=True)
            continue
        seconds = []
        for _ in range(args.runs):
            data = load_data(args.data, quarter)
            gc.collect()
            start = time.perf_counter()
            rows = function(data, quarter)
            seconds.append(time.perf_counter() - start)
            del data
        print(
            f"{name:<12} {len(rows):>4} rows  runs {', '.join(f'{s:.2f}' for s in seconds)} s  "
            f"median {statistics.median(seconds):.2f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
