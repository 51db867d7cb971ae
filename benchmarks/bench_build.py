"""Time the build against a naive run and a single-process floor, on the same sample data.

    .venv/bin/python benchmarks/bench_build.py [--icb QWU] [--quarter '2026/27 Q2'] [--jobs N]

(a) naive: papermill each section one after another, then nbconvert (lab) HTML of each;
(b) floor: every section's code cells run in ONE Python process (IPython shell, same helper calls);
(c) our cold build (empty cache); (d) our rebuild, nothing changed; (e) our rebuild after one input
file changed. Goals: cold <= 3x floor; unchanged rebuild <= 0.05x naive. Works in a temporary
project root, so the real reports/ and .cache/ are untouched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_SCRIPT = r"""
import json, sys, time, io, contextlib
started = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
jobs = json.loads(sys.stdin.read())
for notebook, parameters in jobs:
    import nbformat
    nb = nbformat.read(notebook, as_version=4)
    shell.user_ns.clear()
    shell.user_ns.update(parameters)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            result = shell.run_cell(cell.source, store_history=False)
        if not result.success:
            raise SystemExit(f"{notebook}: {result.error_in_exec or result.error_before_exec}")
print(time.perf_counter() - started)
"""


def _timed(label: str, action) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"  {label:<44} {elapsed:7.2f} s", flush=True)
    return elapsed


def main() -> int:
    from boardpack.build import build_pack
    from boardpack.params import resolve
    from boardpack.sections import SECTIONS
    from helpers import paths, quarters
    from sampledata import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icb", default="QWU")
    parser.add_argument("--quarter", default=quarters.latest_complete().label)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="boardpack-bench-"))
    try:
        (root / "params").mkdir()
        shutil.copy(paths.PARAMS_DIR / "targets.yml", root / "params" / "targets.yml")
        data = root / "data"
        if generate.run(out=data, icb=args.icb, to=args.quarter, scale="icb", seed=20221) not in (0, None):
            raise SystemExit("could not generate sample data")
        params = resolve(
            {
                "quarter": args.quarter,
                "icb": args.icb,
                "data_dir": str(data),
                "targets_file": "params/targets.yml",
                "commentary_dir": "params/commentary",
            },
            root=root,
        )
        values = params.notebook_parameters()
        print(f"Benchmark: {len(SECTIONS)} sections, {args.icb} {params.quarter}, data {data}")

        def naive() -> None:
            import papermill
            from nbconvert import HTMLExporter

            out = root / "naive"
            out.mkdir(exist_ok=True)
            for section in SECTIONS:
                target = out / f"{section.id}.ipynb"
                papermill.execute_notebook(
                    str(section.notebook),
                    str(target),
                    parameters=values,
                    kernel_name="python3",
                    progress_bar=False,
                    cwd=str(section.notebook.parent),
                )
                html, _ = HTMLExporter(template_name="lab").from_filename(str(target))
                (out / f"{section.id}.html").write_text(html, encoding="utf-8")

        def floor() -> None:
            jobs = [[str(s.notebook), {**values, "fingerprint": ""}] for s in SECTIONS]
            subprocess.run(
                [sys.executable, "-c", FLOOR_SCRIPT],
                input=json.dumps(jobs),
                text=True,
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=str(SECTIONS[0].notebook.parent),
            )

        def build(expect_executed: int | None = None):
            def run() -> None:
                result = build_pack(params, jobs=args.jobs)
                if result.exit_code != 0:
                    raise SystemExit(f"build failed: {result.message}")
                ran = result.executed
                print(f"    executed: {', '.join(ran) or 'none'}; cached: {', '.join(result.cache_hits) or 'none'}")
                if expect_executed is not None and len(ran) != expect_executed:
                    raise SystemExit(f"expected {expect_executed} sections to run, {len(ran)} did")

            return run

        def change_one_input() -> None:
            import pandas as pd

            path = next(p for p in data.iterdir() if p.stem == "engagement")
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame.loc[len(frame) - 1, "Value"] = str(int(frame.loc[len(frame) - 1, "Value"]) + 1)
            frame.to_csv(path, index=False)

        readers = [s.id for s in SECTIONS if "engagement" in s.tables]
        times = {
            "naive": _timed("(a) naive sequential papermill + nbconvert", naive),
            "floor": _timed("(b) single-process floor", floor),
            "cold": _timed("(c) our cold build (HTML + PDF)", build()),
            "unchanged": _timed("(d) our rebuild, nothing changed", build(expect_executed=0)),
        }
        change_one_input()
        times["changed"] = _timed(
            f"(e) rebuild after engagement changed ({len(readers)} re-run)", build(expect_executed=len(readers))
        )
        print()
        print(f"  cold / floor          = {times['cold'] / times['floor']:.2f}   (goal <= 3)")
        print(f"  cold / naive          = {times['cold'] / times['naive']:.2f}")
        print(f"  unchanged / naive     = {times['unchanged'] / times['naive']:.3f}  (goal <= 0.05)")
        print(f"  one-input / naive     = {times['changed'] / times['naive']:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
