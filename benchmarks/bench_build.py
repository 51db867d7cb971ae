"""Time `boardpack build` from the command line against issue 14's goals, as ratios to T.

    .venv/bin/python benchmarks/bench_build.py [--icb QWU] [--quarter '2026/27 Q2'] [--engines fork,kernel]
        [--jobs N] [--t-runs 5]

T is the wall time of a fresh process running `python -c "import pandas, matplotlib.pyplot"` (this
Python, median of --t-runs runs), measured at the start and again at the end; the ratios use the
median of all those runs, and a verdict that T-before alone or T-after alone would flip is marked "?".

In order, in one run:
  T before;
  per engine (--engines, default fork then kernel): a cold build with PDF, the same command again
  (unchanged rebuild), a cold build without PDF; the median section is the median of the cold no-PDF
  build's manifest `sections[].duration_s` (each section's execution time in its worker);
  the single-process floor: the same validation, KPIs, section code and render in ONE Python process,
  no kernels, no forks, no cache (stage times from inside; wall with and without the PDF stage);
  T after.

Goals (issue 14, for the default engine, fork; the kernel engine is shown for comparison):
  median section <= 0.5 T; cold without PDF <= 5 T; cold with PDF <= 6 T; unchanged rebuild <= 1.0 T.

Every cold build is really cold: a fresh temporary project root (BOARDPACK_ROOT and the working folder
both point at it, so `.cache/` and its `store/` start empty; notebooks/, params/ and requirements.lock
copied in) and a fresh --out folder. The sample data is generated once, before anything is timed, into
a shared folder every build reads with --data. Commands run as `<this python> -m boardpack build ...`
(what the `boardpack` console script runs), so PYTHONPATH is honoured. The real reports/ and .cache/
are never touched. Prints a table and writes benchmarks/results/bench_build-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "benchmarks" / "results"
BOARDPACK = [sys.executable, "-m", "boardpack"]
T_COMMAND = [sys.executable, "-c", "import pandas, matplotlib.pyplot"]
GOALS = {  # figure -> at most this many T
    "median_section": 0.5,
    "cold_no_pdf": 5.0,
    "cold_pdf": 6.0,
    "unchanged": 1.0,
}

# The floor: one process, no kernels, no forks, no cache. The driver's data stage (validate the tables
# once, compute every KPI and detail table once, write the store the sections read), every section's code cells in one
# IPython shell (outputs captured as the fork engine captures them, namespace reset between sections,
# the section's own folder as working folder), then the same render: HTML, appendix, PDF.
FLOOR_SCRIPT = r"""
import json, os, sys, time
started = time.perf_counter()
job = json.loads(sys.stdin.read())
from boardpack import inprocess  # the warm set: pandas, matplotlib (Agg), IPython, the helpers
warm = time.perf_counter()
from pathlib import Path
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook
from boardpack import render
from boardpack.params import resolve
from boardpack.sections import SECTIONS
from helpers import section as opened, section_tables, store
from helpers.loading import load_data
from helpers.population import icb_name
from helpers.quarters import parse, parse_range
from helpers.targets import load_targets

out = Path(job["out"])
params = resolve({"quarter": job["quarter"], "icb": job["icb"], "data_dir": job["data"]})
tables = sorted({t for s in SECTIONS for t in s.tables})
data = load_data(params.data_dir, params.quarter, tables=tables)
baseline = tuple(q.id for q in parse_range(params.baseline_period))
targets = load_targets(params.targets_file) if params.targets_file else {}
kpis = opened.compute_kpis(data, parse(params.quarter), params.icb, targets, baseline, params.peers)
kpi_inputs = store.KpiInputs.of(params.quarter, params.icb, params.targets_file, baseline)
paths = {t: store.write_table(data.table(t), out / "store" / f"{t}.parquet") for t in tables}
for section in SECTIONS:  # one store per section, as the build writes them, with its detail tables
    shown = opened.section_kpis(kpis, section.id)
    inputs = section_tables.TableInputs(
        section.id, data, parse(params.quarter), params.icb, targets, baseline, shown.scorecard, shown.peers
    )
    store.write_store(
        out / "store" / section.id,
        {t: paths[t] for t in section.tables},
        kpi_inputs,
        shown,
        [str(w) for w in data.warnings],
        section_tables.compute_section(inputs),
    )
data_done = time.perf_counter()
parts, section_s = [], {}
for section in SECTIONS:
    began = time.perf_counter()
    values = {**params.notebook_parameters(), "store_dir": str(out / "store" / section.id), "fingerprint": ""}
    nb = parameterize_notebook(load_notebook_node(str(section.notebook)), values)
    inprocess.reset_namespace()
    os.chdir(section.notebook.parent)
    for cell in nb.cells:
        if not inprocess.execute_cell(cell):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            raise SystemExit(f"{section.id}: " + (f"{errors[0].ename}: {errors[0].evalue}" if errors else "a cell failed"))
    parts.append(render.SectionNotebook(section.id, section.title, nb))
    section_s[section.id] = round(time.perf_counter() - began, 3)
sections_done = time.perf_counter()

for part in parts:
    render.check_alt_text(part)
cover = render.Cover(params.icb, icb_name(params.icb), params.quarter, "2000-01-01", params.sample_data)
document = render.write_html(render.merge(cover, parts), out / "board_pack.html")
render.write_appendix(render.store_tables((p.id, out / "store" / p.id) for p in parts), out / "appendix")
html_done = time.perf_counter()
render.write_pdf(document, out / "board_pack.pdf")
pdf_done = time.perf_counter()
print(json.dumps({
    "warm_imports_s": warm - started,
    "data_and_kpis_s": data_done - warm,
    "sections_s": sections_done - data_done,
    "html_and_appendix_s": html_done - sections_done,
    "pdf_s": pdf_done - html_done,
    "section_s": section_s,
}))
"""


def measure_t(runs: int) -> list[float]:
    """Wall times of fresh processes importing pandas and matplotlib.pyplot."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(T_COMMAND, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def new_root(scratch: Path, name: str) -> Path:
    """A fresh project root: the code's notebooks, params and lock file; no .cache, no reports."""
    root = scratch / name
    root.mkdir()
    for folder in ("notebooks", "params"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(PROJECT / "requirements.lock", root / "requirements.lock")
    return root


def environment(root: Path) -> dict[str, str]:
    return dict(os.environ, BOARDPACK_ROOT=str(root), COLUMNS="200")


def build(root: Path, out: Path, args, engine: str, pdf: bool) -> tuple[float, str, str]:
    """Run `boardpack build` in ``root``; its wall time, stdout and stderr (exit on failure)."""
    command = [
        *BOARDPACK,
        "build",
        "--icb",
        args.icb,
        "--quarter",
        args.quarter,
        "--data",
        str(args.data),
        "--out",
        str(out),
        "--engine",
        engine,
    ]
    command += ([] if pdf else ["--no-pdf"]) + ([] if args.jobs is None else ["--jobs", str(args.jobs)])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=environment(root), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"build failed (exit {done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout, done.stderr


def manifest_of(stdout: str) -> dict:
    html = Path(stdout.strip().splitlines()[-1])
    return json.loads((html.parent / "manifest.json").read_text(encoding="utf-8"))


def show(label: str, seconds: float, t: float) -> None:
    print(f"  {label:<48} {seconds:8.2f} s  {seconds / t:6.2f} T", flush=True)


def run_engine(scratch: Path, args, engine: str, t: float) -> dict:
    """Cold with PDF, the same command again, cold without PDF: each cold build in its own fresh root."""
    root = new_root(scratch, f"{engine}-pdf")
    cold_pdf, stdout, _ = build(root, root / "published", args, engine, pdf=True)
    first = manifest_of(stdout)
    executed = [s for s in first["sections"] if s["status"] == "executed"]
    if len(executed) != len(first["sections"]):
        raise SystemExit(f"{engine}: the cold build did not execute every section: {first['sections']}")
    show(f"{engine}: cold build, with PDF", cold_pdf, t)
    unchanged, stdout, stderr = build(root, root / "published", args, engine, pdf=True)
    if "already up to date" not in stderr or manifest_of(stdout)["built_at"] != first["built_at"]:
        raise SystemExit(f"{engine}: the unchanged rebuild was not up to date:\n{stderr[-2000:]}")
    show(f"{engine}: unchanged rebuild (same command)", unchanged, t)

    root = new_root(scratch, f"{engine}-nopdf")
    cold_no_pdf, stdout, _ = build(root, root / "published", args, engine, pdf=False)
    sections = {s["id"]: s["duration_s"] for s in manifest_of(stdout)["sections"] if s["status"] == "executed"}
    if len(sections) != len(first["sections"]):
        raise SystemExit(f"{engine}: the cold no-PDF build did not execute every section")
    show(f"{engine}: cold build, no PDF", cold_no_pdf, t)
    median = statistics.median(sections.values())
    show(f"{engine}: median section (cold no-PDF manifest)", median, t)
    return {
        "cold_pdf": cold_pdf,
        "unchanged": unchanged,
        "cold_no_pdf": cold_no_pdf,
        "median_section": median,
        "section_duration_s": sections,
    }


def run_floor(scratch: Path, args) -> dict:
    root = new_root(scratch, "floor")
    out = root / "floor"
    out.mkdir()
    job = {"icb": args.icb, "quarter": args.quarter, "data": str(args.data), "out": str(out)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", FLOOR_SCRIPT],
        input=json.dumps(job),
        cwd=root,
        env=environment(root),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"floor failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    stages = json.loads(done.stdout.strip().splitlines()[-1])
    return {"floor_pdf": wall, "floor_no_pdf": wall - stages["pdf_s"], "stages": stages}


def verdicts(figures: dict, t: float, t_low: float, t_high: float) -> list[dict]:
    rows = []
    for name, goal in GOALS.items():
        seconds = figures[name]
        ok = seconds <= goal * t
        # would T-before alone or T-after alone give the other verdict?
        unsure = (seconds <= goal * t_low) != (seconds <= goal * t_high)
        rows.append(
            {"figure": name, "seconds": seconds, "ratio": seconds / t, "goal_T": goal, "pass": ok, "unsure": unsure}
        )
    return rows


def main() -> int:
    from helpers import quarters

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icb", default="QWU")
    parser.add_argument("--quarter", default=quarters.latest_complete().label)
    parser.add_argument("--engines", default="fork,kernel", help="engines to time, in order (fork: the goals)")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for every build (default: the machine's cores)")
    parser.add_argument("--t-runs", type=int, default=5, help="runs of the T command, before and after")
    parser.add_argument("--data", type=Path, default=None, help="data folder (default: generate the sample once)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    scratch = Path(tempfile.mkdtemp(prefix="boardpack-bench-build-"))
    try:
        if args.data is None:
            args.data = scratch / "data"
            done = subprocess.run(
                [*BOARDPACK, "sample-data", "--icb", args.icb, "--to", args.quarter, "--out", str(args.data)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(f"could not generate sample data:\n{done.stderr}")
        args.data = args.data.resolve()
        load_before = os.getloadavg()[0]
        print(
            f"Build benchmark: {args.icb} {args.quarter}, engines {', '.join(engines)}, jobs {args.jobs or 'default'}, "
            f"cpu count {os.cpu_count()}, load average before {load_before:.2f}\n"
            f"python {sys.executable}\ndata {args.data}\n(ratios as they run are to T before; the table's to T)",
            flush=True,
        )
        t_before = measure_t(args.t_runs)
        t_first = statistics.median(t_before)
        print(f"  {'T before (median of ' + str(args.t_runs) + ')':<48} {t_first:8.2f} s", flush=True)
        figures = {engine: run_engine(scratch, args, engine, t_first) for engine in engines}
        floor = run_floor(scratch, args)
        show("floor: one process, no PDF", floor["floor_no_pdf"], t_first)
        show("floor: one process, with PDF", floor["floor_pdf"], t_first)
        t_after = measure_t(args.t_runs)
        t_last = statistics.median(t_after)
        print(f"  {'T after (median of ' + str(args.t_runs) + ')':<48} {t_last:8.2f} s", flush=True)
        load_after = os.getloadavg()[0]

        t = statistics.median(t_before + t_after)
        low, high = min(t_first, t_last), max(t_first, t_last)
        print(
            f"\nT = {t:.3f} s (median of all {2 * args.t_runs} runs; before {t_first:.3f} s, after {t_last:.3f} s). "
            f"Load average after {load_after:.2f}."
        )
        print(f"\n  {'figure':<40} {'seconds':>8} {'ratio':>8} {'goal':>8}  verdict")
        table = {}
        for engine in engines:
            rows = verdicts(figures[engine], t, low, high)
            table[engine] = rows
            note = "" if engine == "fork" else "  (comparison)"
            for row in rows:
                verdict = ("PASS" if row["pass"] else "FAIL") + (" ?" if row["unsure"] else "")
                print(
                    f"  {engine + ': ' + row['figure']:<40} {row['seconds']:8.2f} {row['ratio']:7.2f}T "
                    f"{'<= ' + format(row['goal_T'], 'g') + 'T':>8}  {verdict}{note}"
                )
        for name in ("floor_no_pdf", "floor_pdf"):
            print(f"  {'floor: ' + name:<40} {floor[name]:8.2f} {floor[name] / t:7.2f}T {'-':>8}  (reference)")
        for engine in engines:
            print(
                f"  {engine}: cold / floor = {figures[engine]['cold_no_pdf'] / floor['floor_no_pdf']:.2f} (no PDF), "
                f"{figures[engine]['cold_pdf'] / floor['floor_pdf']:.2f} (with PDF)"
            )
        print("  ? = T before alone or T after alone would give the other verdict")

        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"bench_build-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT, capture_output=True, text=True).stdout
        record = {
            "icb": args.icb,
            "quarter": args.quarter,
            "jobs": args.jobs,
            "engines": engines,
            "python": sys.executable,
            "commit": commit.strip() or None,
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "t_command": " ".join(T_COMMAND[1:]),
            "t_before_s": t_before,
            "t_after_s": t_after,
            "t_s": t,
            "goals_T": GOALS,
            "engines_figures": figures,
            "verdicts": table,
            "floor": floor,
        }
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"results: {path}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
