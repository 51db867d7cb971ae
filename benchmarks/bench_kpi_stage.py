"""Benchmark: the KPI stage of every pack of a many-ICB folder, with each pack's headline series and
detail frames read from the folder's one pass over every ICB, against each pack computing its own.
Prints seconds. Not a test.

    .venv/bin/python benchmarks/bench_kpi_stage.py --data FOLDER [--quarter Q]

``FOLDER``: a national sample (``boardpack sample-data --scale national --to "2026/27 Q2" --out
FOLDER``). In a fresh temporary project: the cut (validate, cut into per-ICB extracts, peer figures
and the one pass, :func:`boardpack.extracts.data_for_pack`), timed once; then, ICB by ICB, the KPI
stage (:func:`boardpack.kpi_stage.write_stores`, every section's store written afresh) three times:
with the pass's series and frames; with its series only (frames computed, as before the frames were
in the pass); and with neither (what a pack of a folder cut for other parameters does).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from boardpack import extracts, kpi_stage, params as build_params
from boardpack.sections import select
from helpers.paths import PROJ_ROOT
from helpers.quarters import BASELINE_PERIOD, latest_complete, parse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="many-ICB data folder (e.g. the national sample)")
    parser.add_argument("--quarter", default=None, help="quarter reported (default: the latest complete quarter)")
    args = parser.parse_args(argv)
    quarter = (parse(args.quarter) if args.quarter else latest_complete()).label
    log = logging.getLogger("bench_kpi_stage")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copytree(PROJ_ROOT / "params", root / "params")
        kpi_params = extracts.KpiParams(BASELINE_PERIOD, root / "params" / "targets.yml")
        started = time.perf_counter()
        first = extracts.data_for_pack(args.data.resolve(), "QWU", quarter, root / ".cache", kpi_params)
        print(f"cut (validate, extracts, peer figures, one pass): {time.perf_counter() - started:.1f} s", flush=True)
        assert first.histories is not None and first.frames is not None
        icbs = sorted(p.name for p in (root / ".cache" / "extracts").iterdir() if p.name.startswith("Q"))

        def stage(data: extracts.PackData, icb: str) -> float:
            params = build_params.resolve({"quarter": quarter, "icb": icb, "data_dir": str(data.folder)}, root=root)
            stores = {s: Path(tempfile.mkdtemp(dir=root)) / s.id for s in select(None)}
            started = time.perf_counter()
            problem = kpi_stage.write_stores(params, data, stores, True, log)[0]
            assert not problem, problem
            return time.perf_counter() - started

        read, series_only, computed = [], [], []
        for icb in icbs:
            data = extracts.data_for_pack(args.data.resolve(), icb, quarter, root / ".cache", kpi_params)
            read.append(stage(data, icb))
            series_only.append(stage(dataclasses.replace(data, frames=None), icb))
            computed.append(stage(dataclasses.replace(data, histories=None, frames=None), icb))
        for name, seconds in (
            ("series and frames from the one pass", read),
            ("series from the one pass, frames computed per pack", series_only),
            ("series and frames computed per pack", computed),
        ):
            print(
                f"{len(icbs)} packs' KPI stages, {name}: total {sum(seconds):.1f} s, "
                f"median {statistics.median(seconds):.3f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
