"""Each comparable KPI of one ICB placed among its peers in the quarter reported.

A pack's peer data are the optional ``benchmarks`` table of its data folder (each ICB's numerator
and denominator of every comparable KPI, :mod:`helpers.benchmarks`): written by the build from a
many-ICB folder, or supplied by an analyst beside their own ICB's extract. :func:`compare_kpis`
takes the pack's own ICB's counts from its own data (so the funnel and the headline agree) and every
other ICB's from the ``benchmarks`` rows of the quarter, then computes, per comparable KPI, the peer
figures (:func:`helpers.peers.peer_figures`: England, region, rank and quartile) and the funnel
plot's limits over the peer group (:func:`helpers.funnel.funnel`). Definitions in
docs/benchmarking.md.

No ``benchmarks`` table: no comparison, and the pack says that no peer data were supplied
(:data:`NO_PEER_DATA`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from helpers import disclosure, population
from helpers.funnel import FunnelResult, funnel
from helpers.kpis import COMPARABLE, KPIS
from helpers.narrative import format_value
from helpers.peers import PeerFigures, peer_figures
from helpers.quarters import Quarter, parse
from helpers.tables import Table, format_table

NO_PEER_DATA = (
    "No peer data were supplied for this pack, so no KPI is compared with other ICBs. To compare, "
    "build from a data folder holding every ICB, or add a benchmarks table to this ICB's data "
    "(the command boardpack benchmarks writes one from a national extract)."
)
# The appendix file of each comparable KPI (peers_<kpi id>.csv), in this column order.
APPENDIX_COLUMNS = (
    "IcbCode",
    "IcbName",
    "Region",
    "Numerator",
    "Denominator",
    "Value",
    "Lower95",
    "Upper95",
    "Lower998",
    "Upper998",
    "Rank",
)
QUARTILE_WORDS = {1: "top quartile", 2: "second quartile", 3: "third quartile", 4: "bottom quartile"}
# Where a funnel places a unit, in the words of a board paper.
POSITION_WORDS = {
    "above the 99.8% limits": "above the 99.8% limits (an outlier)",
    "above the 95% limits": "above the 95% limits",
    "within the 95% limits": "within the 95% limits",
    "below the 95% limits": "below the 95% limits",
    "below the 99.8% limits": "below the 99.8% limits (an outlier)",
}
PEER_GROUPS = ("england", "region")


@dataclass(frozen=True)
class PeerComparison:
    """One comparable KPI of one ICB among its peers in one quarter."""

    kpi: str  # KPI id (helpers.kpis)
    label: str
    unit: str  # helpers.kpis unit: percent or per_10000
    quarter: str  # label, e.g. '2026/27 Q2'
    figures: PeerFigures
    funnel: FunnelResult  # over the peer group; values in the KPI's unit
    people: tuple[str, ...]  # of Numerator/Denominator, the counts of people (disclosed when published)

    @property
    def icb(self) -> str:
        return self.figures.icb

    @property
    def position(self) -> str:
        """Where the ICB sits on the funnel, one of :data:`helpers.funnel.POSITIONS`."""
        return str(self.funnel.unit_row(self.icb)["Position"])

    def outliers(self) -> pd.DataFrame:
        """The peer group's ICBs beyond the 99.8% limits: ``IcbCode``, ``IcbName``, ``Value``,
        ``Position``, highest value first."""
        units = self.funnel.units
        beyond = units[units["High998"] | units["Low998"]]
        names = self.figures.table.set_index("IcbCode")["IcbName"]
        out = beyond.assign(IcbName=beyond["IcbCode"].map(names).to_numpy())
        return out[["IcbCode", "IcbName", "Value", "Position"]].sort_values("Value", ascending=False, ignore_index=True)

    def value_words(self, value: float) -> str:
        return format_value(value, self.unit)

    def sentence(self) -> str:
        """The ICB's value, England's, its region's, rank, quartile and funnel position, in words."""
        f = self.figures
        region = f"{f.region.name} {self.value_words(f.region_value)}"
        peers = "" if f.peers == "England" else f"; {f.peers} {self.value_words(f.peer_value)}"
        return (
            f"{self.label}, {self.quarter}: {f.icb} {self.value_words(f.value)}, England "
            f"{self.value_words(f.england)}, {region}{peers}. Rank {f.rank} of {f.of} "
            f"({QUARTILE_WORDS[f.quartile]}), {POSITION_WORDS[self.position]} of the funnel plot."
        )

    def appendix(self) -> pd.DataFrame:
        """The peer group, best first, in :data:`APPENDIX_COLUMNS`: limits at each ICB's own
        denominator in the KPI's unit; counts of people disclosed (1-7 shown ``*``, others rounded
        to 5) and a value behind a suppressed count of people shown ``*``."""
        ranked = self.figures.table
        limits = self.funnel.units.set_index("IcbCode").loc[ranked["IcbCode"]]
        out = pd.DataFrame(
            {
                "IcbCode": ranked["IcbCode"].to_numpy(),
                "IcbName": ranked["IcbName"].to_numpy(),
                "Region": ranked["RegionName"].to_numpy(),
                "Numerator": ranked["Numerator"].to_numpy(dtype=float),
                "Denominator": ranked["Denominator"].to_numpy(dtype=float),
                "Value": ranked["Value"].to_numpy(dtype=float),
                **{c: limits[c].to_numpy(dtype=float) for c in ("Lower95", "Upper95", "Lower998", "Upper998")},
                "Rank": ranked["Rank"].to_numpy(dtype="int64"),
            }
        )
        if not self.people:
            return out
        shown = out.astype({"Numerator": object, "Denominator": object, "Value": object})
        for column in ("Numerator", "Denominator"):
            counts = out[column].to_numpy()
            if column in self.people:
                shown[column] = [disclosure.disclose_count(int(round(n))) for n in counts]
            else:
                shown[column] = [int(round(n)) if float(n).is_integer() else n for n in counts]
        smallest = out[list(self.people)].min(axis=1).to_numpy()
        shown["Value"] = [
            disclosure.protect_statistic(v, int(round(n))) for v, n in zip(out["Value"].to_numpy(), smallest)
        ]
        return shown


def peer_rows(benchmarks: pd.DataFrame | None, quarter: str | Quarter, kpi: str) -> pd.DataFrame:
    """The ``benchmarks`` rows of one KPI and quarter: ``IcbCode``, ``Numerator``, ``Denominator``."""
    quarter = parse(quarter)
    if benchmarks is None or benchmarks.empty:
        return pd.DataFrame({"IcbCode": [], "Numerator": [], "Denominator": []})
    rows = benchmarks[(benchmarks["Quarter"].astype(str) == quarter.id) & (benchmarks["Kpi"].astype(str) == kpi)]
    return pd.DataFrame(
        {
            "IcbCode": rows["IcbCode"].astype(str).str.strip().str.upper().to_numpy(),
            "Numerator": rows["Numerator"].to_numpy(dtype=float),
            "Denominator": rows["Denominator"].to_numpy(dtype=float),
        }
    )


def check_peers(peers: str | Sequence[str]) -> str | tuple[str, ...]:
    """The peer-group parameter as used: 'england', 'region' or a tuple of known ICB codes (an
    error names what is wrong)."""
    if isinstance(peers, str):
        choice = peers.strip().lower()
        if choice not in PEER_GROUPS:
            raise ValueError(f"peers must be 'england', 'region' or a list of ICB codes, got {peers!r}")
        return choice
    codes = tuple(sorted({str(c).strip().upper() for c in peers}))
    if not codes:
        raise ValueError("peers: an empty list of ICB codes; use 'england' or 'region', or name ICBs")
    known = set(population.icb_codes())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise population.UnknownIcbError(f"peers: unknown ICB code(s) {', '.join(unknown)}")
    return codes


def compare_kpis(
    data,
    quarter: str | Quarter,
    icb: str,
    peers: str | Sequence[str] = "england",
    own_from_peer_data: bool = False,
) -> dict[str, PeerComparison]:
    """Every comparable KPI whose tables ``data`` holds, placed among ``peers`` (see module doc).

    Empty when ``data`` has no ``benchmarks`` table. A KPI is left out when the ICB has no value
    for it in the quarter, or when fewer than two ICBs of the peer group have one. ``peers``:
    'england' (default), 'region' or a list of ICB codes (every one must be in the peer data).
    ``own_from_peer_data``: the ICB's own counts are its row of the peer data instead of computed
    from ``data``; only for an extract whose peer data its many-ICB folder's cut computed from the
    same rows (:func:`helpers.benchmarks.peer_inputs`, equal to the per-ICB counts), where an ICB
    with no row is one with no value (tests/test_comparison.py).
    """
    benchmarks = data.table("benchmarks")
    if benchmarks is None:
        return {}
    quarter = parse(quarter)
    code = str(icb).strip().upper()
    group = check_peers(peers)
    out: dict[str, PeerComparison] = {}
    for kpi in COMPARABLE.values():
        if any(data.table(t) is None for t in kpi.tables):
            continue
        if own_from_peer_data:
            own = peer_rows(benchmarks, quarter, kpi.id)
            own = own[own["IcbCode"] == code]
        else:
            own = kpi.comparable.counts(data, quarter, code)
            own = own[own["Quarter"].astype(str) == quarter.id]
        if own.empty or own[["Numerator", "Denominator"]].isna().any(axis=None):
            continue
        numerator, denominator = float(own["Numerator"].iloc[0]), float(own["Denominator"].iloc[0])
        if denominator <= 0:
            continue
        others = peer_rows(benchmarks, quarter, kpi.id)
        frame = pd.concat(
            [
                pd.DataFrame({"IcbCode": [code], "Numerator": [numerator], "Denominator": [denominator]}),
                others[others["IcbCode"] != code],
            ],
            ignore_index=True,
        )
        chosen = list(group) if isinstance(group, tuple) else group
        if isinstance(chosen, list):
            missing = sorted(set(chosen) - set(frame["IcbCode"]) - {code})
            if missing:
                raise ValueError(
                    f"peers names ICB(s) {', '.join(missing)} with no {kpi.id} figures for {quarter.label} "
                    "in the benchmarks table"
                )
        figures = peer_figures(frame, code, kpi.direction, peers=chosen, multiplier=kpi.comparable.multiplier)
        if figures.of < 2:
            continue
        result = funnel(figures.table[["IcbCode", "Numerator", "Denominator"]], multiplier=kpi.comparable.multiplier)
        out[kpi.id] = PeerComparison(
            kpi=kpi.id,
            label=kpi.label,
            unit=kpi.unit,
            quarter=quarter.label,
            figures=figures,
            funnel=result,
            people=kpi.comparable.people,
        )
    return out


# -- the performance grid ----------------------------------------------------------------------

# Columns of the grid: the Making Data Count variation of the KPI's current period.
GRID_COLUMNS = {
    "improvement": "Special cause improvement",
    "common_cause": "Common cause variation",
    "concern": "Special cause concern",
    "neutral": "Special cause, neither improvement nor concern",
    "none": "No variation icon (run chart or trajectory)",
}
GRID_ROWS = {q: QUARTILE_WORDS[q].capitalize() for q in (1, 2, 3, 4)}


def variation_group(variation: object) -> str:
    """The grid column of a scorecard ``Variation`` code (``improvement_high`` -> ``improvement``)."""
    if not isinstance(variation, str) or not variation:
        return "none"
    if variation == "common_cause":
        return "common_cause"
    return variation.split("_", 1)[0] if variation.split("_", 1)[0] in GRID_COLUMNS else "none"


@dataclass(frozen=True)
class GridEntry:
    """One comparable KPI on the performance grid."""

    kpi: str
    label: str
    variation: str | None  # the scorecard's Variation code, None for a run chart or trajectory
    column: str  # key of GRID_COLUMNS
    quartile: int
    rank: int
    of: int
    peers: str

    def words(self) -> str:
        return (
            f"{self.label}: {GRID_COLUMNS[self.column].lower()}; {QUARTILE_WORDS[self.quartile]} "
            f"of {self.peers} (rank {self.rank} of {self.of})."
        )


def grid_entries(scorecard: pd.DataFrame, comparisons: Mapping[str, PeerComparison]) -> list[GridEntry]:
    """Each compared KPI's variation (from ``scorecard``) and peer quartile, in board order:
    exceptions first (bottom quartile with special cause concern) is the reader's job; the grid
    keeps the plan's order so the same KPI is always in the same place."""
    rows = scorecard.set_index("Kpi") if "Kpi" in scorecard.columns else scorecard
    entries = []
    for kpi_id, comparison in comparisons.items():
        variation = rows.at[kpi_id, "Variation"] if kpi_id in rows.index else None
        variation = variation if isinstance(variation, str) and variation else None
        f = comparison.figures
        entries.append(
            GridEntry(
                kpi=kpi_id,
                label=KPIS[kpi_id].label,
                variation=variation,
                column=variation_group(variation),
                quartile=f.quartile,
                rank=f.rank,
                of=f.of,
                peers=f.peers,
            )
        )
    return entries


def grid_frame(entries: Sequence[GridEntry]) -> pd.DataFrame:
    """The grid as text: one row per quartile (top first), one column per variation group, each
    cell the KPIs there ('–' for none)."""
    cells = {
        GRID_ROWS[q]: {
            GRID_COLUMNS[c]: "; ".join(e.label for e in entries if e.quartile == q and e.column == c) or "–"
            for c in GRID_COLUMNS
        }
        for q in GRID_ROWS
    }
    frame = pd.DataFrame.from_dict(cells, orient="index")
    frame.index.name = "Peer quartile"
    return frame.reset_index()


def funnel_points(comparison: PeerComparison) -> pd.DataFrame:
    """The funnel plot's points: ``IcbCode``, ``IcbName``, ``Denominator``, ``Value``,
    ``Position``, ``Own`` (the pack's ICB)."""
    units = comparison.funnel.units
    names = comparison.figures.table.set_index("IcbCode")["IcbName"]
    return pd.DataFrame(
        {
            "IcbCode": units["IcbCode"].to_numpy(),
            "IcbName": units["IcbCode"].map(names).to_numpy(),
            "Denominator": units["Denominator"].to_numpy(dtype=float),
            "Value": units["Value"].to_numpy(dtype=float),
            "Position": units["Position"].to_numpy(),
            "Own": (units["IcbCode"] == comparison.icb).to_numpy(dtype=bool),
        }
    )


def short_name(name: str) -> str:
    """``NHS Coventry and Warwickshire Integrated Care Board`` -> ``Coventry and Warwickshire``."""
    return name.removeprefix("NHS ").removesuffix(" Integrated Care Board").strip()


def unit_words(unit: str) -> str:
    return "%" if unit == "percent" else "per 10,000"


def peer_table(found: PeerComparison) -> Table:
    """Every ICB of the peer group ranked, as shown; appendix file ``peers_<kpi id>.csv`` in
    :data:`APPENDIX_COLUMNS` (:meth:`PeerComparison.appendix`)."""
    frame = found.appendix()
    unit = unit_words(found.unit)
    shown = frame.rename(
        columns={
            "IcbCode": "ICB",
            "IcbName": "Name",
            "Value": f"Value ({unit})",
            "Lower95": "95% lower limit",
            "Upper95": "95% upper limit",
            "Lower998": "99.8% lower limit",
            "Upper998": "99.8% upper limit",
        }
    )
    shown["Name"] = shown["Name"].map(short_name)
    return format_table(
        shown[["Rank", *[c for c in shown.columns if c != "Rank"]]],
        caption=f"{found.label}: {found.figures.of} ICBs ranked, {found.quarter}",
        decimals={f"Value ({unit})": 1, **{c: 1 for c in shown.columns if "limit" in c}},
        rounded_counts=bool(found.people),
        footnotes=[
            f"Limits are the funnel plot's at each ICB's own denominator, in {unit}. "
            "Rank 1 is best; tied values share a rank."
        ],
        name=f"peers_{found.kpi}",
        appendix=frame,
        row_headers=False,
    )


def grid_table(entries: Sequence[GridEntry], quarter: str | Quarter) -> Table:
    """The performance grid as a table (appendix file ``performance_grid.csv``)."""
    return format_table(
        grid_frame(entries),
        caption=f"Performance grid: variation against quartile among {entries[0].peers}, {parse(quarter).label}",
        footnotes=[
            "Columns: the Making Data Count variation of each KPI's current period (see the scorecard); "
            "rows: the KPI's quartile among its peers in the quarter (top = best 25%).",
            "Pattern of NHS England's performance grid: the bottom quartile with special cause concern "
            "needs attention first.",
        ],
        name="performance_grid",
    )


__all__ = [
    "APPENDIX_COLUMNS",
    "NO_PEER_DATA",
    "PeerComparison",
    "GridEntry",
    "check_peers",
    "compare_kpis",
    "funnel_points",
    "grid_entries",
    "grid_frame",
    "grid_table",
    "peer_table",
    "short_name",
    "peer_rows",
    "variation_group",
]
