"""Screenshots of the sample pack's first page for docs/screenshots/ (issue 16): the HTML from the
summary's heading to the end of its scorecard, and the PDF's first two pages (the cover, then the
summary's first page), typeset exactly as the PDF is.

usage: .venv/bin/python tools/screenshots.py [--out docs/screenshots]

Builds the sample packs of 2026/27 Q1 and Q2 into a temporary publish folder, so the Q2 pack has a
previous pack to compare with, then shoots the Q2 pack in Debian's headless Chromium
(tools/a11y/screenshot.mjs; `make test` installs it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUARTERS = ("2026/27 Q1", "2026/27 Q2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from boardpack import render

    with tempfile.TemporaryDirectory(prefix="boardpack-screenshots-") as tmp:
        for quarter in QUARTERS:
            subprocess.run(
                [sys.executable, "-m", "boardpack", "build", "--icb", "QWU", "--quarter", quarter, "--out", tmp],
                check=True,
                cwd=ROOT,
            )
        pack = Path(tmp) / "QWU" / "2026-27-Q2" / "board_pack.html"
        html_shot = args.out / "first_page_html.png"
        subprocess.run(
            [
                "node", str(ROOT / "tools" / "a11y" / "screenshot.mjs"), str(pack), str(html_shot),
                "--from", "#section-00_summary", "--to", 'table[id^="tbl-headline-kpis-of-the-plan"]',
                "--width", "1280",
            ],
            check=True,
            cwd=ROOT / "tools" / "a11y",
        )  # fmt: skip
        pages = render.pdf_page_images(pack.read_text(encoding="utf-8"), ppi=110)
        for number, png in enumerate(pages[:2], 1):
            (args.out / f"first_page_pdf_{number}.png").write_bytes(png)
    for name in ("first_page_html.png", "first_page_pdf_1.png", "first_page_pdf_2.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
