"""Check a published pack: axe-core (WCAG 2.0/2.1/2.2 A and AA) in Debian's headless Chromium, the
safety scan of every published file (:mod:`boardpack.scan`), and screenshots for the README.

The browser side lives in ``tools/a11y`` (Node.js: pinned ``axe-core`` and ``playwright-core``
driving ``/usr/bin/chromium``; never a browser that Playwright downloads). ``make test`` installs
both; so does ``make tools/a11y/node_modules/.installed``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers.paths import CACHE_DIR, REPORTS_DIR

# The code checkout, not PROJ_ROOT (which BOARDPACK_ROOT may point at a data folder): src/boardpack/ -> root.
A11Y_DIR = Path(os.environ.get("BOARDPACK_A11Y_DIR", Path(__file__).resolve().parents[2] / "tools" / "a11y"))
CHROMIUM = Path(os.environ.get("BOARDPACK_CHROMIUM", "/usr/bin/chromium"))
PACK_HTML = "board_pack.html"
# Where `boardpack check` keeps its axe report when not told: outside the published folder, so a
# check never changes a published pack. A build keeps its own copy (see run_axe's report_path).
CHECK_REPORTS_DIR = CACHE_DIR / "check"
SETUP_HINT = "run `make tools/a11y/node_modules/.installed` (as root: installs Debian chromium and runs npm ci)"


class BrowserSetupError(RuntimeError):
    """Chromium, Node.js or the npm packages of tools/a11y are missing."""


class BrowserRunError(RuntimeError):
    """The browser could not open or check the page."""


def _require_browser() -> str:
    """The node executable, after checking that everything the browser side needs is installed."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("Node.js (node) is not on PATH")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} does not exist")
    for package in ("axe-core", "playwright-core"):
        if not (A11Y_DIR / "node_modules" / package / "package.json").exists():
            missing.append(f"npm package {package} is not installed in {A11Y_DIR}")
    if missing:
        raise BrowserSetupError("; ".join(missing) + f": {SETUP_HINT}")
    return node


def _run_node(script: str, args: list[str], timeout: float) -> None:
    node = _require_browser()
    env = {**os.environ, "BOARDPACK_CHROMIUM": str(CHROMIUM)}
    try:
        done = subprocess.run(
            [node, str(A11Y_DIR / script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=A11Y_DIR,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrowserRunError(f"{script} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BrowserRunError(f"{script} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def run_axe(html_path: Path | str, report_path: Path | str | None = None, *, timeout: float = 180) -> dict:
    """Run axe-core on one HTML file in headless Chromium; return the report (and write it as JSON).

    The report holds ``violations`` (each with ``id``, ``impact``, ``help``, ``helpUrl`` and
    ``nodes[].target`` selectors), ``incomplete`` (needs a person to judge), ``passes`` (rule ids),
    ``blocked_requests`` (anything the page tried to fetch from outside: always blocked) and
    ``engine``. Besides axe's rules, ``boardpack-meaningful-alt`` fails placeholder alt text.
    """
    html = Path(html_path).resolve()
    if not html.is_file():
        raise FileNotFoundError(f"no HTML file at {html}")
    if report_path is not None:
        out = Path(report_path).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        _run_node("axe_check.mjs", [str(html), str(out)], timeout)
        return json.loads(out.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="boardpack-axe-") as scratch:
        out = Path(scratch) / "axe.json"
        _run_node("axe_check.mjs", [str(html), str(out)], timeout)
        report = json.loads(out.read_text(encoding="utf-8"))
    return report


def screenshot(
    html_path: Path | str,
    png_path: Path | str,
    *,
    full_page: bool = False,
    selector: str | None = None,
    width: int = 1280,
    height: int = 900,
    timeout: float = 120,
) -> Path:
    """Save a PNG of ``html_path``: the first screen, the whole page, or one element (CSS selector)."""
    html = Path(html_path).resolve()
    if not html.is_file():
        raise FileNotFoundError(f"no HTML file at {html}")
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    args = [str(html), str(png), "--width", str(width), "--height", str(height)]
    if full_page:
        args.append("--full-page")
    if selector:
        args += ["--selector", selector]
    _run_node("screenshot.mjs", args, timeout)
    return png


def format_violations(report: dict) -> str:
    """The violations of an axe report, one rule a paragraph, for the terminal or a log."""
    violations = report.get("violations", [])
    lines = [
        f"{report.get('engine', 'axe-core')}: {len(violations)} rule(s) violated ({', '.join(report.get('tags', []))})"
    ]
    for rule in violations:
        lines.append(f"- {rule['id']} [{rule.get('impact')}] {rule.get('help')} ({rule.get('helpUrl')})")
        for node in rule.get("nodes", []):
            lines.append(f"    at {' '.join(map(str, node.get('target', [])))}")
    for url in report.get("blocked_requests", []):
        lines.append(f"- blocked request to {url} (the pack must not fetch anything)")
    return "\n".join(lines)


def pack_dir_for(icb: str, quarter: str) -> Path:
    """``reports/<ICB>/<quarter id>/`` for an ICB code and a quarter label such as '2026/27 Q2'."""
    from helpers.quarters import parse

    return REPORTS_DIR / icb.strip().upper() / parse(quarter).id


def run(
    pack: Path | None,
    icb: str | None,
    quarter: str | None,
    report: Path | None,
    forbidden_file: Path | None = None,
    echo=print,
) -> int:
    """``boardpack check``: 0 when axe finds no violation and the scan no finding, 1 otherwise,
    2 when the pack or the arguments are wrong, 3 when the browser is missing or fails."""
    from boardpack.scan import scan_pack

    if pack is None:
        if not (icb and quarter):
            echo("error: give a pack folder, or both --icb and --quarter")
            return 2
        try:
            pack = pack_dir_for(icb, quarter)
        except ValueError as exc:
            echo(f"error: --quarter: {exc}")
            return 2
    html = pack / PACK_HTML
    if not html.is_file():
        echo(f"error: {html} does not exist: is {pack} a published pack?")
        return 2
    forbidden: list[str] = []
    if forbidden_file is not None:
        if not forbidden_file.is_file():
            echo(f"error: --forbidden-values file {forbidden_file} does not exist")
            return 2
        forbidden = [line.strip() for line in forbidden_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = report or CHECK_REPORTS_DIR / pack.resolve().parent.name / f"{pack.resolve().name}_axe.json"
    try:
        axe = run_axe(html, report)
    except (BrowserSetupError, BrowserRunError) as exc:
        echo(f"error: {exc}")
        return 3
    echo(format_violations(axe))
    echo(f"axe report: {report}")
    try:
        findings = scan_pack(pack, forbidden_values=forbidden)
    except ValueError as exc:
        echo(f"error: {exc}")
        return 2
    echo(f"safety scan of {pack}: {len(findings)} finding(s)")
    for finding in findings:
        echo(f"- {finding}")
    return 0 if not axe["violations"] and not axe.get("blocked_requests") and not findings else 1
