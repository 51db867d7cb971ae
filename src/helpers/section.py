"""What a section notebook needs from its parameters, in one call: :func:`open_section`.

Notebooks stay a few lines: they pass their papermill parameters here and get back the quarter,
the loaded tables, the targets, the section's scorecard rows and its analyst commentary, and show
their detail tables by name (:func:`detail_table`, :func:`detail_frame`: declared in
:mod:`helpers.section_tables`, computed once by the build or here without a store). Paths
given relative are read from the project root (as in ``params/defaults.yml``), so a notebook runs
the same from JupyterLab, papermill or the build.

This module may not import :mod:`boardpack` (helpers never do), so it does not generate sample
data: ``make pack`` or ``boardpack sample-data`` writes it, and a missing folder is a clear error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import paths, store
from helpers.commentary import Commentary, load_commentary
from helpers.comparison import PeerComparison, compare_kpis
from helpers.freshness import STALE_AFTER_DAYS, freshness, load_extract
from helpers.kpis import REGISTRY, SECTION_GROUPS
from helpers.loading import Data, load_data
from helpers.pack_sections import PACK_SECTIONS, optional_tables_of, tables_of
from helpers.population import icb_name
from helpers.projections import Projection, kpi_projections
from helpers.quarters import BASELINE_PERIOD, Quarter, latest_complete, parse, parse_range
from helpers.readers import find_table_files
from helpers.scorecard import build_scorecard
from helpers.spc import TrialLimitsWarning
from helpers.tables import Table, format_table
from helpers.targets import Target, load_targets

SUMMARY_SECTION = "00_summary"  # shows every headline KPI
DEFINITIONS_SECTION = "80_definitions"  # shows no KPI values: every headline KPI's definition
SECTION_IDS = tuple(s.id for s in PACK_SECTIONS)


class SectionInputError(FileNotFoundError):
    """A section's data folder, targets file or parameter cannot be used; the message says why."""


@dataclass(frozen=True)
class Section:
    """Everything a section notebook shows comes from these."""

    id: str
    quarter: Quarter
    icb: str
    icb_name: str
    data: Data
    targets: dict[str, Target]
    baseline_quarters: tuple[str, ...]
    scorecard: pd.DataFrame  # this section's rows of helpers.scorecard.build_scorecard (all rows for the summary)
    commentary: Commentary | None
    sample_data: bool
    data_dir: Path
    # KPI id -> the SPC frame behind its scorecard icons (XmR KPIs only), for its chart
    spc_frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    # KPI id -> this section's comparable KPIs among their peers (empty: no peer data supplied)
    peers: Mapping[str, PeerComparison] = field(default_factory=dict)
    # KPI id -> the section's KPIs with a target date projected to it (helpers.projections)
    projections: Mapping[str, Projection] = field(default_factory=dict)
    # KPI id -> the quarter ids of its figures restated since the previous pack (the build's KPI
    # stage compares the packs' records; empty when opened without a store: no previous pack)
    restated: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # per table dated by month or quarter: how far its data reach, whether stale (helpers.freshness)
    freshness: pd.DataFrame | None = None
    # name -> the section's detail frames and tables (helpers.section_tables): the store's, else
    # each computed here when first asked for (detail_table, detail_frame)
    detail: dict = field(default_factory=dict, repr=False)

    def kpi(self, kpi: str) -> pd.Series:
        """One scorecard row by KPI id (KeyError naming the KPIs there are)."""
        rows = self.scorecard[self.scorecard["Kpi"] == kpi]
        if rows.empty:
            raise KeyError(f"KPI {kpi!r} is not in section {self.id}'s scorecard rows: {list(self.scorecard['Kpi'])}")
        return rows.iloc[0]


def _project_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    return (path if path.is_absolute() else paths.PROJ_ROOT / path).resolve()


def resolve_quarter(quarter: str | Quarter | None) -> Quarter:
    """``None`` (or ``''``) means the latest complete quarter."""
    return latest_complete() if quarter in (None, "") else parse(quarter)


def resolve_data_dir(data_dir: str | Path | None, icb: str, quarter: Quarter) -> Path:
    """The data folder: ``data_dir``, or the sample data ``data/sample/<icb>/<quarter id>``."""
    if data_dir in (None, ""):
        folder = paths.SAMPLE_DATA_DIR / icb / quarter.id
        if not folder.is_dir():
            raise SectionInputError(
                f"no sample data at {folder}: create it first with "
                f"`boardpack sample-data --icb {icb} --to '{quarter.label}' --out {folder}` "
                f"(or `make pack`, or `boardpack build`, which generate it), or set data_dir"
            )
        return folder
    folder = _project_path(data_dir)
    if not folder.is_dir():
        raise SectionInputError(f"parameter data_dir: no such folder {folder}")
    return folder


def open_section(
    section_id: str,
    *,
    quarter: str | Quarter | None = None,
    icb: str = "QWU",
    data_dir: str | Path | None = None,
    tables: Sequence[str] | None = None,
    targets_file: str | Path | None = None,
    commentary_dir: str | Path | None = None,
    baseline_period: str | None = None,
    sample_data: bool | None = None,
    store_dir: str | Path | None = None,
    peers: str | Sequence[str] = "england",
    stale_after_days: int = STALE_AFTER_DAYS,
) -> Section:
    """Load one section's inputs from the notebook's parameters.

    ``store_dir``: the build's store of this pack (:mod:`helpers.store`): the tables as validated
    and the KPIs as computed, once for every section. ``None`` or ``''`` (a notebook opened in
    JupyterLab): read and validate ``data_dir`` and compute the KPIs here.

    ``tables``: the tables to load; default: the section's own (:mod:`helpers.pack_sections`, what
    the build's cache keys on), with its optional tables (peer data) when the folder has them.
    ``peers``: the peer group of the KPIs compared with other ICBs: 'england', 'region' or a list
    of ICB codes (:func:`helpers.comparison.compare_kpis`). ``stale_after_days``: a table whose
    data stop more days than this before the quarter's end is flagged stale (:mod:`helpers.freshness`,
    with the data folder's extract file when it has one).
    ``targets_file``/``commentary_dir``: ``None`` or ``''`` means none. Relative paths are read
    from the project root. The scorecard rows are those whose tables were loaded.
    """
    if section_id not in SECTION_IDS:
        raise ValueError(f"unknown section {section_id!r}: one of {list(SECTION_IDS)}")
    optional = optional_tables_of(section_id) if tables is None else ()
    tables = tables_of(section_id) if tables is None else tuple(tables)
    quarter = resolve_quarter(quarter)
    icb = str(icb).strip().upper()
    folder = resolve_data_dir(data_dir, icb, quarter)
    targets: dict[str, Target] = {}
    targets_path = None
    if targets_file not in (None, ""):
        targets_path = _project_path(targets_file)
        if not targets_path.is_file():
            raise SectionInputError(f"parameter targets_file: no such file {targets_path}")
        targets = load_targets(targets_path)
    baseline = tuple(q.id for q in parse_range(baseline_period or BASELINE_PERIOD))
    kpis = None
    detail: dict = {}
    if store_dir not in (None, ""):  # the build's validated tables, computed KPIs and detail tables
        if not store.is_store(store_dir):
            raise SectionInputError(f"parameter store_dir: {store_dir} is not a pack store (no {store.STORE_FILE})")
        stored = store.read_meta(store_dir)["tables"]
        data = store.read_tables(store_dir, [*tables, *(t for t in optional if t in stored)])
        kpi_inputs = store.KpiInputs.of(quarter.label, icb, targets_path, baseline, peers)
        kpis = store.read_kpis(store_dir, kpi_inputs)
        detail = dict(store.read_detail_tables(store_dir, kpi_inputs) or {})
    else:
        present = find_table_files(folder)
        data = load_data(folder, quarter, tables=[*tables, *(t for t in optional if t in present)])
    if kpis is None:
        kpis = compute_kpis(data, quarter, icb, targets, baseline, peers)
    shown = section_kpis(kpis, section_id)
    scorecard, spc_frames = shown.scorecard, shown.spc_frames
    commentary = None
    if commentary_dir not in (None, ""):
        commentary = load_commentary(_project_path(commentary_dir), quarter, section_id)
    sample = (data_dir in (None, "")) if sample_data is None else bool(sample_data)
    return Section(
        id=section_id,
        quarter=quarter,
        icb=icb,
        icb_name=icb_name(icb),
        data=data,
        targets=targets,
        baseline_quarters=baseline,
        scorecard=scorecard,
        commentary=commentary,
        sample_data=sample,
        data_dir=folder,
        spc_frames=spc_frames,
        peers=shown.peers,
        projections=shown.projections,
        restated=shown.restated,
        freshness=freshness(data, quarter, load_extract(folder), int(stale_after_days)),
        detail=detail,
    )


def compute_kpis(
    data: Data,
    quarter: Quarter,
    icb: str,
    targets: Mapping[str, Target],
    baseline_quarters: Sequence[str],
    peers: str | Sequence[str] = "england",
    histories: dict | None = None,
    given_series: dict | None = None,
    own_from_peer_data: bool = False,
) -> store.Kpis:
    """Every headline KPI whose tables ``data`` holds: the scorecard, the SPC frames behind its
    icons and, when ``data`` has peer data, each comparable KPI among ``peers``
    (:func:`helpers.comparison.compare_kpis`), and each KPI with a target date projected to it
    (:func:`helpers.projections.kpi_projections`). The build computes this once per pack (into the
    store); a section opened on a plain data folder computes it here. ``histories``, when given,
    receives each KPI's quarterly series (for the pack's record, :mod:`helpers.pack_record`);
    ``given_series``, each KPI's series computed already (:func:`helpers.scorecard.build_scorecard`);
    ``own_from_peer_data``: the ICB's comparable counts read from its peer data (an extract of a
    validated many-ICB folder, :func:`helpers.comparison.compare_kpis`)."""
    histories = {} if histories is None else histories  # the projections reuse the scorecard's series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrialLimitsWarning)  # shown in the TrialLimits column instead
        spc_frames: dict[str, pd.DataFrame] = {}
        scorecard = build_scorecard(
            data,
            quarter,
            icb,
            dict(targets),
            baseline_quarters=tuple(baseline_quarters),
            spc_frames=spc_frames,
            histories=histories,
            given_series=given_series,
        )
        projections = kpi_projections(
            data, quarter, icb, targets, baseline_quarters=tuple(baseline_quarters), histories=histories
        )
    compared = compare_kpis(data, quarter, icb, peers, own_from_peer_data=own_from_peer_data)
    return store.Kpis(scorecard, spc_frames, compared, projections)


def section_kpis(kpis: store.Kpis, section_id: str) -> store.Kpis:
    """The KPIs a section shows: every one in the summary; its own in the others."""
    if section_id == SUMMARY_SECTION:
        return kpis
    if section_id not in SECTION_IDS:
        raise ValueError(f"unknown section {section_id!r}: one of {list(SECTION_IDS)}")
    return kpis.only(k.id for k in REGISTRY if k.section == section_id)


def _computed(section: Section, name: str):
    """The section's detail frame and table ``name``: the store's, else computed here (and kept)."""
    from helpers import section_tables

    computed = section.detail.get(name)
    if computed is None or computed.error:  # not stored, or it failed in the build: raise it here
        computed = section_tables.compute(section_tables.declared(section.id, name), section)
        section.detail[name] = computed
    return computed


def detail_table(section: Section, name: str) -> Table:
    """The section's detail table ``name`` as declared in :mod:`helpers.section_tables`: computed
    once by the build's KPI stage (read from the store), or here when the notebook runs without one."""
    table_ = _computed(section, name).table
    if table_ is None:
        raise KeyError(f"{section.id}'s {name!r} is a frame for charts, not a table; use detail_frame")
    return table_


def detail_frame(section: Section, name: str) -> pd.DataFrame:
    """The frame the section's detail table (or chart) ``name`` is computed from, as declared in
    :mod:`helpers.section_tables`; the same one the table shows, so a chart and its table agree."""
    return _computed(section, name).frame


def table(
    frame: pd.DataFrame,
    caption: str,
    columns: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
    **format_options,
) -> Table:
    """:func:`helpers.tables.format_table` of ``frame``'s ``columns`` (old name -> header shown), in that order.

    ``name`` is the table's file name in the appendix (``<name>.csv``).
    """
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"table {caption!r}: column(s) {missing} not in the frame (has {list(frame.columns)})")
        frame = frame[list(columns)].rename(columns=dict(columns))
    return format_table(frame, caption=caption, name=name, **format_options)


def definitions(section: Section) -> tuple[Table, Table]:
    """Every headline KPI's definition (:func:`helpers.kpis.definitions_table`) as two tables that
    fit a page: what each KPI counts; how it is charted and its target."""
    from helpers.kpis import definitions_table

    frame = definitions_table(section.targets)
    counts = table(
        frame,
        "What each headline KPI counts",
        {
            "KPI": "KPI",
            "Period": "Period",
            "Scope": "Scope",
            "Numerator": "Numerator",
            "Denominator": "Denominator",
            "Tables": "Source tables",
        },
        name="definitions",
    )
    charted = table(
        frame,
        "How each headline KPI is charted, and its target",
        {
            "KPI": "KPI",
            "Chart": "Chart",
            "Rebased": "SPC rebased at",
            "Target": "Target",
            "TargetSource": "Target's source",
            "PlanStart": "The plan's starting point",
        },
        name="definitions_charts_and_targets",
    )
    return counts, charted


def kpi_chart(
    section: Section,
    kpi: str,
    frame: pd.DataFrame,
    column: str,
    title: str,
    unit: str,
    *,
    trajectory: str | None = None,
    trajectory_label: str | None = None,
    target: float | None = None,
    target_label: str | None = None,
):
    """A headline KPI's chart, as :mod:`helpers.kpis` says it is charted.

    ``xmr``: the SPC frame behind the scorecard's icons (same limits, same icons), rebase points drawn
    as labelled lines, the plan's starting point when the targets file gives one, and the values of
    ``frame[column]`` drawn (counts of people as published, while the limits come from the exact
    counts); ``target``/``target_label``: another line to draw (e.g. a national target).
    ``run``/``progress``: a line of ``frame[column]`` with the plan's trajectory: ``trajectory`` (a
    column of ``frame``), or the KPI's target in the targets file from its starting point.
    Either way, the KPI's points restated since the previous pack (``section.restated``) are ringed.
    """
    from helpers import charts, kpis

    definition = kpis.KPIS[kpi]
    row = section.kpi(kpi)
    projection = projection_frame(section, kpi)
    restated = tuple(section.restated.get(kpi, ()))
    title = stale_title(section, definition.tables, title)
    if definition.chart == "xmr" and kpi in section.spc_frames:
        shown = pd.to_numeric(frame.set_index(frame["Quarter"].astype(str))[column], errors="coerce")
        drawn = section.spc_frames[kpi].copy()
        drawn["value"] = [shown.get(Quarter.of_date(d.date()).id, float("nan")) for d in drawn["date"]]
        starts = set(drawn.groupby("group")["date"].first().iloc[1:])
        rebase = {pd.Timestamp(parse(r.quarter).start): r.reason for r in definition.rebase}
        return charts.spc_chart(
            drawn,
            title,
            unit,
            row["Direction"],
            target=target,
            target_label=target_label,
            rebase={when: reason for when, reason in rebase.items() if when in starts},
            plan_baseline=kpis.plan_start_marker(kpi),
            projection=projection,
            restated=restated,
        )
    # The line is named by the axis label in the legend, not by the frame's column name.
    dated = with_dates(observed(frame, column)).rename(columns={column: unit})
    plan = section.targets.get(kpi)
    if trajectory is None and plan is not None and plan.baseline.value is not None:
        quarters = [parse(q) for q in dated["Quarter"].astype(str)]
        dated = dated.assign(
            PlanTrajectory=[plan.value_at(q) if q >= plan.baseline.quarter else float("nan") for q in quarters]
        )
        trajectory = "PlanTrajectory"
        trajectory_label = (
            trajectory_label or f"Plan trajectory, from {plan.baseline.value:g} in {plan.baseline.quarter.label}"
        )
    return charts.line_chart(
        dated,
        "QuarterStart",
        unit,
        title,
        unit=unit,
        target=trajectory,
        target_label=trajectory_label or "Trajectory",
        projection=projection,
        restated=restated,
    )


def projection_frame(section: Section, kpi: str) -> pd.DataFrame | None:
    """The KPI's trend projected to its target date, as a chart draws it
    (:func:`helpers.projections.projection_points`), or None when it has none."""
    from helpers.projections import projection_points

    found = section.projections.get(kpi)
    return projection_points(found) if found is not None and found.available else None


def stale_tables_of(section: Section, tables: Sequence[str]) -> list[str]:
    """Of ``tables``, those whose data stop too long before the quarter's end (:mod:`helpers.freshness`)."""
    fresh = section.freshness
    if fresh is None or fresh.empty:
        return []
    stale = set(fresh.loc[fresh["Stale"].astype(bool), "Table"])
    return [t for t in tables if t in stale]


def stale_title(section: Section, tables: Sequence[str], title: str) -> str:
    """``title`` flagged when a table it is drawn from is stale: "Stale data (recruitment to
    31 Jul 2026): <title>"."""
    from helpers.freshness import short_date

    stale = stale_tables_of(section, tables)
    if not stale:
        return title
    dates = section.freshness.set_index("Table")["DataTo"]
    what = ", ".join(f"{t} to {short_date(dates[t])}" for t in stale)
    return f"Stale data ({what}): {title}"


def recent(frame: pd.DataFrame, quarters: int = 8) -> pd.DataFrame:
    """The last ``quarters`` rows of a history frame (one row per quarter), for tables."""
    return frame.tail(quarters).reset_index(drop=True)


def with_dates(frame: pd.DataFrame, column: str = "Quarter") -> pd.DataFrame:
    """``frame`` with a ``QuarterStart`` date per quarter id in ``column`` (for line charts)."""
    starts = [pd.Timestamp(parse(q).start) for q in frame[column].astype(str)]
    return frame.assign(QuarterStart=starts)


def with_quarter_labels(frame: pd.DataFrame, column: str = "Quarter") -> pd.DataFrame:
    """``frame`` with quarter ids (``2026-27-Q2``) shown as labels (``2026/27 Q2``)."""
    return frame.assign(**{column: [parse(q).label if isinstance(q, str) and q else q for q in frame[column]]})


def percent_to_share(frame: pd.DataFrame, columns: Sequence[str], suppressed: str = "*") -> pd.DataFrame:
    """Percentages (0-100) as shares (0-1) for :func:`helpers.charts.representation_chart`;
    suppressed cells stay suppressed."""
    out = frame.copy()
    for column in columns:
        out[column] = [v if isinstance(v, str) and v == suppressed else float(v) / 100.0 for v in frame[column]]
    return out


def rows_except(frame: pd.DataFrame, column: str, labels: Sequence[str]) -> pd.DataFrame:
    """Rows whose ``column`` is not one of ``labels`` (e.g. drop the total row for a chart)."""
    return frame[~frame[column].isin(list(labels))].reset_index(drop=True)


def spc_of(frame: pd.DataFrame, column: str, direction: str = "increase", target: float | None = None) -> pd.DataFrame:
    """:func:`helpers.spc.spc` of a history frame's ``column`` (one row per quarter, dated at the
    quarter's start). Trial limits are flagged in the frame (and the chart legend), not warned."""
    from helpers.spc import spc

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=float("nan"))
    dates = [parse(q).start for q in frame["Quarter"].astype(str)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrialLimitsWarning)
        return spc(
            values,
            dates,
            improvement_direction=direction,
            target=None if target is None or pd.isna(target) else float(target),
        )


def show_opening(section: Section, summary) -> None:
    """Display the section's summary (with where each of its KPIs with a target date is heading;
    the summary section says it under "Needs the board's attention"), then its analyst commentary."""
    from IPython.display import display

    from helpers.narrative import Summary
    from helpers.projections import projection_sentence

    if section.id != SUMMARY_SECTION and isinstance(summary, Summary):
        from helpers.freshness import stale_sentences

        heading = [projection_sentence(p) for p in section.projections.values() if p.available]
        # stale data first after the lead: the section's figures may be incomplete
        stale = stale_sentences(section.freshness, section.quarter) if section.freshness is not None else []
        added = tuple(s if s.endswith(".") else s + "." for s in [*stale, *heading])
        summary = Summary(summary.sentences[:1] + added[: len(stale)] + summary.sentences[1:] + added[len(stale) :])
    display(summary)
    if section.commentary is not None:
        display(section.commentary)


def headline_table(section: Section) -> Table:
    """The section's scorecard rows in words, as a table (the summary's table for every section);
    its appendix file holds the figures as numbers (:func:`helpers.narrative.scorecard_numbers`)."""
    from helpers.narrative import scorecard_numbers, scorecard_view

    view = scorecard_view(section.scorecard)
    numbers = scorecard_numbers(section.scorecard)
    if section.id == SUMMARY_SECTION:
        caption = f"Headline KPIs of the plan, {section.quarter.label}"
    else:
        view = view.drop(columns="Section")
        numbers = numbers.drop(columns="Section")
        # A caption of its own: table ids come from captions and must differ across the pack.
        caption = f"Headline KPIs: {SECTION_GROUPS[section.id].lower()}, {section.quarter.label}"
    return format_table(
        view,
        caption=caption,
        footnotes=[
            "Variation and assurance: Making Data Count icons from the current period of each KPI charted "
            "as an XmR chart (since its last rebase, see Definitions); '–' for a KPI shown as a run chart "
            "or against its trajectory, which has no process limits.",
            "The appendix file holds these figures as numbers in each row's unit; "
            "changes of a percentage are in percentage points.",
        ],
        name=f"{section.id}_headline_kpis",
        appendix=numbers,
        cell_images=scorecard_icons(section.scorecard),
    )


def scorecard_icons(scorecard: pd.DataFrame) -> dict[str, list[str]]:
    """The Making Data Count icons of each scorecard row, for its Variation and Assurance cells."""
    from helpers.icons import icon_img

    def images(column: str, kind: str) -> list[str]:
        return [icon_img(kind, v) if isinstance(v, str) and v else "" for v in scorecard[column]]

    return {"Variation": images("Variation", "variation"), "Assurance": images("Assurance", "assurance")}


ACRONYMS = {"gp": "GP", "nhs": "NHS", "ppie": "PPIE", "nihr": "NIHR", "icb": "ICB"}


def _readable(code: str) -> str:
    words = code.replace("_", " ").capitalize().split(" ")
    return " ".join(ACRONYMS.get(w.lower(), w) for w in words)


def readable(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with codes like ``primary_care`` in ``column`` shown as ``Primary care`` (``GP practice``)."""
    return frame.assign(**{column: [_readable(v) if isinstance(v, str) else v for v in frame[column]]})


def renamed(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with ``columns`` renamed (old -> new), e.g. so a chart's legend reads in words."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in the frame (has {list(frame.columns)})")
    return frame.rename(columns=dict(columns))


def observed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows with a value in ``column`` (e.g. rolling sums start after four quarters)."""
    values = frame[column]
    return frame[values.notna().to_numpy(dtype=bool)].reset_index(drop=True)


def without_small_rows(
    frame: pd.DataFrame,
    columns: Sequence[str],
    keep_labels: Sequence[str] = ("Total",),
    label_column: str | None = None,
    suppressed: str = "*",
) -> tuple[pd.DataFrame, int]:
    """(rows with at least one figure above 0 and not suppressed in ``columns``, how many were left out).

    For long disclosed breakdowns (e.g. 100 GP practices each ``*``): the rows left out showed only
    ``*`` or 0, so leaving them out reveals nothing; rows labelled ``keep_labels`` in
    ``label_column`` (default: the first column) always stay.
    """
    label_column = label_column or frame.columns[0]

    def shown(value) -> bool:
        return not (isinstance(value, str) and value == suppressed) and not pd.isna(value) and float(value) != 0

    informative = frame[list(columns)].apply(lambda row: any(shown(v) for v in row), axis=1).to_numpy(dtype=bool)
    keep = informative | frame[label_column].isin(list(keep_labels)).to_numpy(dtype=bool)
    return frame[keep].reset_index(drop=True), int((~keep).sum())


@dataclass(frozen=True)
class IconRow:
    """Making Data Count icons shown side by side, each an ``<img>`` with its alt text."""

    icons: tuple

    def _repr_html_(self) -> str:
        return '<p class="bp-icons">' + " ".join(icon.img_tag() for icon in self.icons) + "</p>"

    def __repr__(self) -> str:  # text/plain
        return "; ".join(icon.alt_text for icon in self.icons) or "no SPC icons"


def spc_icons(row: Mapping) -> IconRow:
    """The variation and (when there is a target) assurance icons of a scorecard row, in one row."""
    from helpers.charts import assurance_icon, variation_icon

    icons = []
    if isinstance(row.get("Variation"), str):
        icons.append(variation_icon(row["Variation"]))
    if isinstance(row.get("Assurance"), str):
        icons.append(assurance_icon(row["Assurance"]))
    return IconRow(tuple(icons))
