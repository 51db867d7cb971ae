"""Benchmark: every section KPI on the national sample, for one ICB and for all 42 ICBs, at 1/4, 1/2
and full size (recruitment rows subsampled). Prints wall time and peak memory. Not a test.

    .venv/bin/python benchmarks/bench_kpis.py [--data DIR] [--quarter Q] [--icb QWU]

Without --data it uses data/sample/national/<quarter id>, generating it with
``boardpack sample-data --scale national`` when missing. Target: <= 10 s and <= 3 GB. The
scorecard (which reruns the headline KPIs and SPC for each) is timed separately, at full size.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import (
    kpi_activity,
    kpi_commercial,
    kpi_deliverables,
    kpi_engagement,
    kpi_innovation,
    kpi_participation,
    kpi_partnerships,
)
from helpers.loading import load_data
from helpers.paths import PROJ_ROOT, SAMPLE_DATA_DIR
from helpers.population import icb_codes
from helpers.quarters import latest_complete, parse
from helpers.scorecard import build_scorecard
from helpers.targets import load_targets

# Every KPI function a section notebook calls, with its default parameters (disclosed where it applies).
SECTION_KPIS = [
    kpi_activity.open_studies,
    kpi_activity.new_studies,
    kpi_activity.open_studies_by_care_setting,
    kpi_activity.open_studies_by_specialty,
    kpi_activity.recruiting_organisations,
    kpi_activity.gp_practices_recruiting,
    kpi_participation.participants,
    kpi_participation.participants_per_10k,
    kpi_participation.participants_by_place,
    kpi_participation.participants_by_organisation_type,
    kpi_participation.participants_by_imd_quintile,
    kpi_participation.participants_core20,
    kpi_participation.core20_history,
    kpi_participation.participants_by_ethnicity,
    kpi_commercial.commercial_share_of_open_studies,
    kpi_commercial.commercial_participants,
    kpi_commercial.commercial_income,
    kpi_commercial.setup_time_summary,
    kpi_commercial.recruitment_to_time_and_target,
    kpi_commercial.rtt_summary,
    kpi_partnerships.cross_system_studies,
    kpi_partnerships.joint_appointments,
    kpi_partnerships.research_active_staff,
    kpi_partnerships.workforce_by_organisation,
    kpi_innovation.pipeline_by_stage,
    kpi_innovation.stage_movements,
    kpi_innovation.benefits_by_measure,
    kpi_innovation.pharmacy_alignment_benefits,
    kpi_engagement.engagement,
    kpi_deliverables.deliverables_rag,
    kpi_deliverables.deliverables_summary,
]
FRACTIONS = (0.25, 0.5, 1.0)
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def run_kpis(data, quarter, icbs) -> None:
    for icb in icbs:
        for kpi in SECTION_KPIS:
            kpi(data, quarter, icb)


def run_scorecards(data, quarter, icbs, targets) -> None:
    for icb in icbs:
        build_scorecard(data, quarter, icb, targets)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


class PeakRss:
    """Peak resident memory of this process while the block runs (sampled every 5 ms, so arrow and
    numpy buffers count too, unlike tracemalloc)."""

    def __enter__(self):
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def measure(run, data, *args) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of ``run`` on a fresh copy of ``data`` (nothing cached yet:
    the one-off indexing of the national tables is included)."""
    fresh = dataclasses.replace(data)
    gc.collect()
    with PeakRss() as memory:
        start = time.perf_counter()
        run(fresh, *args)
        seconds = time.perf_counter() - start
    return seconds, memory.peak / 1024**3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="national sample folder (default: data/sample/national/<quarter>)")
    parser.add_argument("--quarter", default=None, help="quarter reported (default: the latest complete quarter)")
    parser.add_argument("--icb", default="QWU", help="ICB for the single-ICB timing")
    args = parser.parse_args(argv)

    quarter = parse(args.quarter) if args.quarter else latest_complete()
    folder = args.data or SAMPLE_DATA_DIR / "national" / quarter.id
    if not folder.exists():
        print(f"generating the national sample in {folder} ...", flush=True)
        subprocess.run(
            [
                str(Path(sys.executable).with_name("boardpack")),
                "sample-data",
                "--scale",
                "national",
                "--out",
                str(folder),
                "--to",
                quarter.id,
            ],
            check=True,
            cwd=PROJ_ROOT,
        )

    start = time.perf_counter()
    with PeakRss() as memory:
        full = load_data(folder, quarter)
    print(
        f"load_data {folder}: {time.perf_counter() - start:.1f} s, {len(full.recruitment):,} recruitment rows, "
        f"peak RSS {memory.peak / 1024**3:.2f} GB (loading is not part of the KPI timings below)"
    )
    print(
        f"{len(SECTION_KPIS)} section KPI functions per ICB; a fresh data object each run, so the one-off "
        "indexing of the national tables is included; peak RSS = whole process, loaded data included"
    )
    print(f"{'what':<14} {'size':>5} {'rows':>12} {'ICBs':>5} {'seconds':>8} {'peak RSS GB':>12}", flush=True)
    for fraction in FRACTIONS:
        recruitment = full.recruitment if fraction == 1 else full.recruitment.sample(frac=fraction, random_state=1)
        data = dataclasses.replace(full, recruitment=recruitment)
        for icbs in ([args.icb], icb_codes()):
            seconds, peak = measure(run_kpis, data, quarter, icbs)
            print(
                f"{'section KPIs':<14} {fraction:>5.2f} {len(recruitment):>12,} {len(icbs):>5} {seconds:>8.2f} {peak:>12.2f}",
                flush=True,
            )
        del data, recruitment
        gc.collect()
    targets = load_targets()
    for icbs in ([args.icb], icb_codes()):
        seconds, peak = measure(run_scorecards, full, quarter, icbs, targets)
        print(
            f"{'scorecard':<14} {1:>5.2f} {len(full.recruitment):>12,} {len(icbs):>5} {seconds:>8.2f} {peak:>12.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
