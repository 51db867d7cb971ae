"""Making Data Count icons for tables: the variation and assurance icons as small PNG images shipped
with the package (``reference_data/icons/``), so a table can show them without drawing anything.

The images are :func:`helpers.charts.variation_icon` and :func:`helpers.charts.assurance_icon`
saved at :data:`ICON_DPI` (a test regenerates them and requires the same bytes; after changing how
an icon is drawn, ``python -m helpers.icons`` writes them again). Each ``<img>`` carries the icon's
words as its alt text, so the icon has a text alternative wherever it appears.
"""

from __future__ import annotations

import base64
import html
from functools import cache
from pathlib import Path

VARIATION_ALT = {
    "common_cause": "Common cause variation",
    "improvement_high": "Special cause improvement (high)",
    "improvement_low": "Special cause improvement (low)",
    "concern_high": "Special cause concern (high)",
    "concern_low": "Special cause concern (low)",
    "neutral_high": "Special cause variation, neither improvement nor concern (high)",
    "neutral_low": "Special cause variation, neither improvement nor concern (low)",
}
ASSURANCE_ALT = {
    "consistent_pass": "Assurance: the target will consistently be met (pass)",
    "consistent_fail": "Assurance: the target will consistently be missed (fail)",
    "inconsistent": "Assurance: hit and miss, the target will sometimes be met and sometimes missed",
}
ICON_DPI = 48  # 1-inch icons at 48 px: sharp at table size, ~2 KB each
ICON_DIR = Path(__file__).resolve().parent / "reference_data" / "icons"
TABLE_ICON_PX = 16  # shown size in a table cell


def icon_path(kind: str, name: str) -> Path:
    """The shipped PNG of a ``variation`` or ``assurance`` icon."""
    known = VARIATION_ALT if kind == "variation" else ASSURANCE_ALT if kind == "assurance" else None
    if known is None or name not in known:
        raise ValueError(
            f"no {kind} icon {name!r}: variation icons {sorted(VARIATION_ALT)}, assurance {sorted(ASSURANCE_ALT)}"
        )
    return ICON_DIR / f"{kind}-{name}.png"


@cache
def icon_img(kind: str, name: str, size_px: int = TABLE_ICON_PX) -> str:
    """An ``<img>`` of the icon, inline, with its words as alt text."""
    alt = (VARIATION_ALT if kind == "variation" else ASSURANCE_ALT)[name]
    data = base64.b64encode(icon_path(kind, name).read_bytes()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        f'width="{size_px}" height="{size_px}" class="bp-table-icon">'
    )


def icon_png(kind: str, name: str) -> bytes:
    """The icon drawn now, at :data:`ICON_DPI` (what the shipped file must equal)."""
    import io

    from helpers.charts import assurance_icon, house_style, variation_icon

    chart = variation_icon(name) if kind == "variation" else assurance_icon(name)
    buffer = io.BytesIO()
    with house_style():
        chart.figure.savefig(buffer, format="png", dpi=ICON_DPI, metadata={"Software": None})
    return buffer.getvalue()


def write_icons() -> list[Path]:
    """Draw every icon again into :data:`ICON_DIR`."""
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, names in (("variation", VARIATION_ALT), ("assurance", ASSURANCE_ALT)):
        for name in names:
            path = icon_path(kind, name)
            path.write_bytes(icon_png(kind, name))
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write_icons():
        print(path)
