"""Benchmark: the one-pass computations over every ICB of a many-ICB data folder, each against the
per-ICB loop it replaced. Prints wall seconds per run. Not a test.

    .venv/bin/python benchmarks/bench_all_icbs.py --data FOLDER [--quarter Q] [--runs 3] [--which ...]

``peer_inputs`` (:func:`helpers.benchmarks.peer_inputs`, every ICB's comparable-KPI counts for the
quarter) against ``per_icb``; ``histories`` (:func:`helpers.icb_histories.histories`, every ICB's
headline KPI histories, what the KPI stage of a many-ICB folder's packs reads) against
``histories_per_icb`` (each KPI's per-ICB ``series``, ICB by ICB); ``frames``
(:func:`helpers.icb_frames.frames`, every ICB's detail frames, what the same packs' tables are drawn
from) against ``frames_per_icb`` (each rule's per-ICB frame, ICB by ICB).

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

import pandas as pd

from helpers import benchmarks, icb_frames, icb_histories, kpi_activity, kpi_commercial, kpis
from helpers.extract import icbs_in
from helpers.loading import load_data
from helpers.paths import PROJ_ROOT
from helpers.quarters import latest_complete, parse
from helpers.targets import load_targets


def _params() -> dict:
    """The series' parameters as a pack gives them by default."""
    return {
        "baseline_quarters": kpi_activity.DEFAULT_BASELINE_QUARTERS,
        "income_baseline_year": kpi_commercial.DEFAULT_INCOME_BASELINE_YEAR,
        "targets": load_targets(PROJ_ROOT / "params" / "targets.yml"),
    }


def _histories(data, quarter) -> pd.DataFrame:
    return icb_histories.histories(data, quarter, icbs_in(data), **_params())


def _histories_per_icb(data, quarter) -> pd.DataFrame:
    icbs, params = icbs_in(data), _params()
    return pd.concat([icb_histories._icb_by_icb(kpi, data, quarter, icbs, params) for kpi in kpis.REGISTRY])


def _frames(data, quarter) -> dict:
    return icb_frames.frames(data, quarter, icbs_in(data), **_params())


def _frames_per_icb(data, quarter) -> list:
    icbs, params = icbs_in(data), _params()
    return [rule.compute(data, quarter, icb, **params) for rule in icb_frames.RULES for icb in icbs]


WHICH = {
    "peer_inputs": benchmarks.peer_inputs,
    "per_icb": getattr(benchmarks, "_peer_inputs_per_icb", None),
    "histories": _histories,
    "histories_per_icb": _histories_per_icb,
    "frames": _frames,
    "frames_per_icb": _frames_per_icb,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="many-ICB data folder (e.g. the national sample)")
    parser.add_argument("--quarter", default=None, help="quarter reported (default: the latest complete quarter)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--which", default=",".join(WHICH), help=f"comma-separated: {', '.join(WHICH)}")
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
            f"{name:<17} {len(rows):>6} {'frames' if name.startswith('frames') else 'rows'}  runs {', '.join(f'{s:.2f}' for s in seconds)} s  "
            f"median {statistics.median(seconds):.2f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
