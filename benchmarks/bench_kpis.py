"""Benchmark: every section KPI on the national sample, for one ICB and for all 42 ICBs, at 1/4, 1/2
and full size (recruitment rows subsampled). Prints wall time and peak memory. Not a test.

    .venv/bin/python benchmarks/bench_kpis.py [--data DIR] [--quarter Q] [--icb QWU]

Without --data it uses data/sample/national/<quarter id>, generating it with
``boardpack sample-data --scale national`` when missing. Target: <= 10 s and <= 3 GB.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from helpers import (kpi_activity, kpi_commercial, kpi_deliverables, kpi_engagement, kpi_innovation,
                     kpi_participation, kpi_partnerships)
from helpers.loading import load_data
from helpers.paths import PROJ_ROOT, SAMPLE_DATA_DIR
from helpers.population import icb_codes
from helpers.quarters import latest_complete, parse
from helpers.scorecard import build_scorecard
from helpers.targets import load_targets

# Every KPI function a section notebook calls, with its default parameters (disclosed where it applies).
SECTION_KPIS = [
    kpi_activity.open_studies, kpi_activity.new_studies, kpi_activity.open_studies_by_care_setting,
    kpi_activity.open_studies_by_specialty, kpi_activity.recruiting_organisations, kpi_activity.gp_practices_recruiting,
    kpi_participation.participants, kpi_participation.participants_per_10k, kpi_participation.participants_by_place,
    kpi_participation.participants_by_organisation_type, kpi_participation.participants_by_imd_quintile,
    kpi_participation.participants_core20, kpi_participation.core20_history, kpi_participation.participants_by_ethnicity,
    kpi_commercial.commercial_share_of_open_studies, kpi_commercial.commercial_participants,
    kpi_commercial.commercial_income, kpi_commercial.setup_time_summary, kpi_commercial.recruitment_to_time_and_target,
    kpi_commercial.rtt_summary,
    kpi_partnerships.cross_system_studies, kpi_partnerships.joint_appointments, kpi_partnerships.research_active_staff,
    kpi_partnerships.workforce_by_organisation,
    kpi_innovation.pipeline_by_stage, kpi_innovation.stage_movements, kpi_innovation.benefits_by_measure,
    kpi_innovation.pharmacy_alignment_benefits,
    kpi_engagement.engagement,
    kpi_deliverables.deliverables_rag, kpi_deliverables.deliverables_summary,
]
FRACTIONS = (0.25, 0.5, 1.0)


def run_kpis(data, quarter, icbs, targets, with_scorecard: bool) -> None:
    for icb in icbs:
        for kpi in SECTION_KPIS:
            kpi(data, quarter, icb)
        if with_scorecard:
            build_scorecard(data, quarter, icb, targets)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # ru_maxrss is in KiB on Linux


def measure(data, quarter, icbs, targets, with_scorecard: bool) -> tuple[float, float]:
    """Wall seconds of one fresh run (ICB slices not cached yet), and tracemalloc peak GB of another."""
    fresh = dataclasses.replace(data)  # a new object: the per-data ICB cache starts empty
    gc.collect()
    start = time.perf_counter()
    run_kpis(fresh, quarter, icbs, targets, with_scorecard)
    seconds = time.perf_counter() - start
    del fresh
    fresh = dataclasses.replace(data)
    gc.collect()
    tracemalloc.start()
    run_kpis(fresh, quarter, icbs, targets, with_scorecard)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1024 ** 3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="national sample folder (default: data/sample/national/<quarter>)")
    parser.add_argument("--quarter", default=None, help="quarter reported (default: the latest complete quarter)")
    parser.add_argument("--icb", default="QWU", help="ICB for the single-ICB timing")
    parser.add_argument("--no-scorecard", action="store_true", help="time the section KPIs only")
    args = parser.parse_args(argv)

    quarter = parse(args.quarter) if args.quarter else latest_complete()
    folder = args.data or SAMPLE_DATA_DIR / "national" / quarter.id
    if not folder.exists():
        print(f"generating the national sample in {folder} ...", flush=True)
        subprocess.run([str(Path(sys.executable).with_name("boardpack")), "sample-data", "--scale", "national",
                        "--out", str(folder), "--to", quarter.id], check=True, cwd=PROJ_ROOT)

    start = time.perf_counter()
    full = load_data(folder, quarter)
    print(f"load_data {folder.name}: {time.perf_counter() - start:.1f} s, {len(full.recruitment):,} recruitment rows, "
          f"process peak RSS {peak_rss_gb():.2f} GB (loading is timed separately from the KPIs)")
    targets = load_targets()
    with_scorecard = not args.no_scorecard
    scope = "section KPIs" + (" + scorecard" if with_scorecard else "")
    print(f"{len(SECTION_KPIS)} {scope}; wall time of a fresh run (ICB filtering included); "
          f"tracemalloc peak of the KPI run")
    print(f"{'size':>6} {'rows':>12} {'ICBs':>5} {'seconds':>8} {'peak GB':>8}")
    for fraction in FRACTIONS:
        recruitment = full.recruitment if fraction == 1 else full.recruitment.sample(frac=fraction, random_state=1)
        data = dataclasses.replace(full, recruitment=recruitment)
        for icbs in ([args.icb], icb_codes()):
            seconds, peak = measure(data, quarter, icbs, targets, with_scorecard)
            print(f"{fraction:>6.2f} {len(recruitment):>12,} {len(icbs):>5} {seconds:>8.2f} {peak:>8.2f}", flush=True)
        del data, recruitment
        gc.collect()
    print(f"process peak RSS (loading included): {peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
