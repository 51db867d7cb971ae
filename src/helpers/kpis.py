"""The KPI registry: the one place each headline KPI is declared.

Each :class:`Kpi` says what the KPI counts (period, scope, numerator and denominator, input tables),
which helper computes its quarterly series, how it is shown (unit, improvement direction, chart kind
and SPC rebase points with their reasons) and which section shows it; its target is the entry with
the same id in ``params/targets.yml``. The scorecard (:mod:`helpers.scorecard`), the sections'
headline rows and charts (:mod:`helpers.section`) and the pack's Definitions section
(:func:`definitions_table`) all read it. Adding a KPI: docs/adding_a_kpi.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers import (
    kpi_activity,
    kpi_commercial,
    kpi_common as kc,
    kpi_deliverables,
    kpi_engagement,
    kpi_innovation,
    kpi_participation,
    kpi_partnerships,
    peer_counts,
    spc as spc_module,
)
from helpers.narrative import format_value, plan_words
from helpers.pack_sections import PACK_SECTIONS
from helpers.quarters import parse
from helpers.targets import PlanBaseline


@dataclass(frozen=True)
class Rebase:
    """A known step change: SPC starts a new period (mean and limits) at this quarter."""

    quarter: str
    reason: str  # a few words, shown on the chart and in the Definitions table


COVID = Rebase("2020-21-Q1", "Covid-19 pause and restart")
PLAN = Rebase("2023-24-Q1", "the plan starts")
NCVR = Rebase("2022-23-Q3", "NCVR from 1 Oct 2022")


@dataclass(frozen=True)
class PlanStart:
    """The plan's own starting point for a KPI, from its system-wide mapping of August 2022."""

    quarter: str
    value: float
    words: str  # the plan's figure in words


# The plan: "In August 2022 we completed a system wide mapping exercise ..." (2022/23 Q2).
MAPPING = "2022-23-Q2"

CHART_KINDS = {
    "xmr": "XmR, icons",
    "run": "run chart, no icons",
    "progress": "against trajectory, no icons",
}
# The scorecard's group of each section that shows headline KPIs (the summary shows them all).
SECTION_GROUPS = {s.id: s.group for s in PACK_SECTIONS if s.group}


@dataclass(frozen=True)
class Comparable:
    """How a KPI compares across ICBs: a rate or share with a numerator and a denominator.

    ``counts(data, quarter, icb)`` gives the counts behind the headline series, per quarter:
    columns ``Quarter``, ``Numerator``, ``Denominator`` (float64, NaN where the headline has no
    value), from the same helper computation as the headline, so that
    ``Numerator / Denominator * multiplier`` is the headline value (``multiplier``: 100 for a
    percentage, 10,000 for a rate per 10,000). The numerator never exceeds the denominator, so the
    funnel's method for proportions applies (docs/benchmarking.md).

    ``all_icbs(data, quarter, icbs)`` gives the same counts for the quarter only, for every ICB of
    ``icbs`` at once (one vectorised pass over a many-ICB folder, :mod:`helpers.peer_counts`):
    index ``icbs``, float64 ``Numerator`` and ``Denominator``, NaN where ``counts`` has none. It must
    equal ``counts`` ICB by ICB (tests/test_peer_counts.py); without it, the peer inputs call
    ``counts`` once per ICB."""

    counts: Callable[..., pd.DataFrame]
    multiplier: float
    people: tuple[str, ...] = ()  # of Numerator/Denominator, the counts of people (disclosed when published)
    axis: str = "Denominator"  # what the denominator counts, the funnel plot's x-axis label
    all_icbs: Callable[..., pd.DataFrame] | None = None  # every ICB's counts for one quarter at once


@dataclass(frozen=True)
class Kpi:
    """One headline KPI.

    ``series(data, quarter, icb, baseline_quarters=..., income_baseline_year=..., targets=...)`` gives its exact
    quarterly values indexed by quarter id (a series may set ``attrs["label"]`` when its label
    depends on the data). ``chart``: ``xmr`` (an XmR chart, icons from the period after the last
    rebase), ``run`` (no process limits: a stock at quarter end, a rolling 12-month figure whose
    consecutive points share 9 of their 12 months, a share of a changing list) or ``progress`` (a
    cumulative count or a rolling total against its trajectory: RAG, no icons).

    ``all_icbs(data, quarter, icbs, **params)`` (same keyword parameters as ``series``) gives every
    ICB's series in one pass over a many-ICB folder, long: columns ``IcbCode``, ``Quarter`` (id),
    ``Value`` (float64) and, when ``series`` sets a label, ``Label``; the ICBs in the order of
    ``icbs``, each ICB's quarters as ``series`` gives them (up to the quarter reported). The KPI
    stage uses it for the packs of a many-ICB folder (:mod:`helpers.icb_histories`)."""

    id: str
    section: str  # the section that shows it (a key of SECTION_GROUPS)
    label: str
    unit: str  # percent, count, GBP, per_10000, days
    direction: str  # increase, decrease, neutral: which way is better
    series: Callable[..., pd.Series]
    period: str
    scope: str
    numerator: str
    denominator: str
    tables: tuple[str, ...]
    chart: str
    why: str  # why this chart kind
    rebase: tuple[Rebase, ...] = ()
    people: bool = False  # a count of people: value and changes are published disclosed
    baseline: Callable[..., float | None] | None = None  # a target baseline derived from the data
    plan_start: PlanStart | None = None  # the plan's starting point, drawn on the chart
    comparable: Comparable | None = None  # compared with other ICBs (peer figures, funnel plots)
    # Every ICB's series at once, in one vectorised pass over a many-ICB folder (rows grouped by
    # ICB): f(data, quarter, icbs, **params) -> DataFrame IcbCode, Quarter, Value[, Label], each
    # ICB's rows equal to ``series`` on its own extract (tests/test_icb_histories.py).
    all_icbs: Callable[..., pd.DataFrame] | None = None

    @property
    def group(self) -> str:
        return SECTION_GROUPS[self.section]


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.Series(frame[column].astype("float64").to_numpy(), index=frame["Quarter"].astype(str).to_numpy())


def _studies_open(data, quarter, icb, baseline_quarters, **_) -> pd.Series:
    return _column(kpi_activity.open_studies(data, quarter, icb, baseline_quarters=baseline_quarters), "PctOfBaseline")


def _new_studies(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_activity.new_studies(data, quarter, icb), "NewStudies")


def _recruiting_organisations(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_activity.recruiting_organisations(data, quarter, icb), "RecruitingOrganisations")


def _gp_practices_recruiting(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_activity.gp_practices_recruiting(data, quarter, icb), "PctRecruiting")


def _long(frame: pd.DataFrame, value: str, numerator: str | None = None, denominator: str | None = None):
    """An all-ICB long frame as Kpi.all_icbs gives it: IcbCode, Quarter, Value[, Numerator, Denominator]."""
    out = pd.DataFrame(
        {
            "IcbCode": frame["IcbCode"].to_numpy(),
            "Quarter": frame["Quarter"].astype(str).to_numpy(),
            "Value": frame[value].to_numpy(dtype="float64"),
        }
    )
    if numerator is not None:
        out["Numerator"] = frame[numerator].to_numpy(dtype="float64")
        out["Denominator"] = frame[denominator].to_numpy(dtype="float64")
    return out


def _studies_open_all_icbs(data, quarter, icbs, baseline_quarters, **_) -> pd.DataFrame:
    frame = kpi_activity.open_studies_all_icbs(data, quarter, icbs, baseline_quarters=baseline_quarters)
    return _long(frame, "PctOfBaseline")


def _new_studies_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_activity.new_studies_all_icbs(data, quarter, icbs), "NewStudies")


def _recruiting_organisations_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_activity.recruiting_organisations_all_icbs(data, quarter, icbs), "RecruitingOrganisations")


def _gp_practices_recruiting_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    # Numerator and Denominator as the comparable counts give them, quarter by quarter.
    frame = kpi_activity.gp_practices_recruiting_all_icbs(data, quarter, icbs)
    return _long(frame, "PctRecruiting", "RecruitingGpPractices", "GpPractices")


def _participants(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_participation.participants(data, quarter, icb, disclosed=False), "Participants")


def _participants_per_10k(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_participation.participants_per_10k(data, quarter, icb), "Per10000")


def _core20(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_participation.core20_history(data, quarter, icb), "Core20Pct")


def _commercial_share(data, quarter, icb, **_) -> pd.Series:
    frame = kpi_commercial.commercial_share_of_open_studies(data, quarter, icb)
    series = _column(frame, "CommercialPct")
    series.attrs["label"] = kpi_commercial.commercial_share_label(frame)
    return series


def _commercial_share_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    frame = kpi_commercial.commercial_share_all_icbs(data, quarter, icbs)
    out = _long(frame, "CommercialPct", "CommercialOpenStudies", "OpenStudies")
    labels = {
        flag: kpi_commercial.commercial_share_label(pd.DataFrame({"TrialsOnly": [flag]})) for flag in (False, True)
    }
    out.insert(3, "Label", frame["TrialsOnly"].map(labels).to_numpy())
    return out


def _commercial_participants(data, quarter, icb, **_) -> pd.Series:
    frame = kpi_commercial.commercial_participants(data, quarter, icb, disclosed=False)
    return _column(frame, "CommercialParticipants")


def _commercial_income(data, quarter, icb, income_baseline_year, **_) -> pd.Series:
    frame = kpi_commercial.commercial_income(data, quarter, icb, baseline_year=income_baseline_year)
    return _column(frame, "Rolling12MonthsGBP")


def _commercial_participants_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_commercial.commercial_participants_all_icbs(data, quarter, icbs), "CommercialParticipants")


def _commercial_income_all_icbs(data, quarter, icbs, income_baseline_year, **_) -> pd.DataFrame:
    frame = kpi_commercial.commercial_income_all_icbs(data, quarter, icbs, baseline_year=income_baseline_year)
    return _long(frame, "Rolling12MonthsGBP")


def _income_baseline(data, quarter, icb, income_baseline_year: str, **_) -> float | None:
    frame = kpi_commercial.commercial_income(data, quarter, icb, baseline_year=income_baseline_year)
    value = frame["BaselineGBP"].iloc[-1]
    return None if pd.isna(value) else float(value)


def _setup_days(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_commercial.setup_time_summary(data, quarter, icb), "MedianDays")


def _setup_days_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_commercial.setup_median_all_icbs(data, quarter, icbs), "MedianDays")


def _rtt_on_track(data, quarter, icb, **_) -> pd.Series:
    summary = kpi_commercial.rtt_summary(data, quarter, icb)
    rows = summary[summary["StudyRoute"] == "All"]
    return pd.Series(rows["PctOnTrack"].to_numpy(dtype="float64"), index=rows["Quarter"].astype(str).to_numpy())


def _rtt_on_track_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_commercial.rtt_summary_all_icbs(data, quarter, icbs), "PctOnTrack", "OnTrack", "StudiesAssessed")


def _cross_system(data, quarter, icb, targets=None, **_) -> pd.Series:
    frame = kpi_partnerships.cross_system_studies(data, quarter, icb, targets=targets)
    series = _column(frame, "CumulativeCrossSystemStudies")
    series.attrs["label"] = _cross_system_label(targets)
    return series


def _cross_system_label(targets) -> str:
    start = kpi_partnerships.cross_system_rule(targets)[0]
    return f"Cross-system portfolio studies opened since {start.label}, cumulative"


def _cross_system_all_icbs(data, quarter, icbs, targets=None, **_) -> pd.DataFrame:
    frame = kpi_partnerships.cross_system_studies_all_icbs(data, quarter, icbs, targets=targets)
    out = _long(frame, "CumulativeCrossSystemStudies")
    out["Label"] = _cross_system_label(targets)
    return out


def _joint_appointments(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_partnerships.joint_appointments(data, quarter, icb, disclosed=False), "JointAppointments")


def _research_active_staff(data, quarter, icb, **_) -> pd.Series:
    frame = kpi_partnerships.research_active_staff(data, quarter, icb, disclosed=False)
    return _column(frame, "ResearchActiveStaff")


def _joint_appointments_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_partnerships.joint_appointments_all_icbs(data, quarter, icbs), "JointAppointments")


def _research_active_staff_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return _long(kpi_partnerships.research_active_staff_all_icbs(data, quarter, icbs), "ResearchActiveStaff")


def _innovations_adopted(data, quarter, icb, **_) -> pd.Series:
    history = kpi_innovation.pipeline_history(data, quarter, icb)
    adopted = history[history["Stage"].isin(["adopting", "business_as_usual"])]
    return adopted.groupby("Quarter", sort=False)["Innovations"].sum().astype("float64")


def _innovations_adopted_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    frame = kpi_innovation.pipeline_history_all_icbs(data, quarter, icbs)
    frame["Value"] = frame["adopting"] + frame["business_as_usual"]
    return frame[["IcbCode", "Quarter", "Value"]]


def _ppie_activities(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_engagement.engagement(data, quarter, icb, disclosed=False), "ppie_activities")


def _bpor_registrations(data, quarter, icb, **_) -> pd.Series:
    return _column(kpi_engagement.engagement(data, quarter, icb, disclosed=False), "bpor_registrations")


def _ppie_activities_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return kpi_engagement.engagement_all_icbs(data, quarter, icbs, "ppie_activities")


def _bpor_registrations_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    return kpi_engagement.engagement_all_icbs(data, quarter, icbs, "bpor_registrations")


def _deliverables_on_track(data, quarter, icb, **_) -> pd.Series:
    history = kpi_deliverables.deliverables_history(data, quarter, icb)
    good = history[history["Rag"].isin(["on_track", "complete"])]
    return pd.Series(
        good.groupby("Quarter", sort=False)["Pct"].sum().to_numpy(), index=good["Quarter"].unique().astype(str)
    )


def _deliverables_on_track_all_icbs(data, quarter, icbs, **_) -> pd.DataFrame:
    frame = kpi_deliverables.deliverables_history_all_icbs(data, quarter, icbs)
    total = frame[list(kpi_deliverables.RAG_ORDER)].sum(axis=1).to_numpy()
    # The series sums the two shares with pandas, which gives 0 (not NaN) when nothing is listed.
    pct = kc.share(frame["on_track"], total) + kc.share(frame["complete"], total)
    frame["Value"] = np.where(total > 0, pct, 0.0)
    return frame[["IcbCode", "Quarter", "Value"]]


def _counts(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Quarter": frame["Quarter"].astype(str).to_numpy(),
            "Numerator": pd.to_numeric(frame[numerator], errors="coerce").astype("float64").to_numpy(),
            "Denominator": pd.to_numeric(frame[denominator], errors="coerce").astype("float64").to_numpy(),
        }
    )


def _gp_practices_counts(data, quarter, icb) -> pd.DataFrame:
    frame = kpi_activity.gp_practices_recruiting(data, quarter, icb)
    return _counts(frame, "RecruitingGpPractices", "GpPractices")


def _participants_per_10k_counts(data, quarter, icb) -> pd.DataFrame:
    # The published (rounded) count, as the headline divides it; suppressed counts are NaN.
    frame = kpi_participation.participants_per_10k(data, quarter, icb)
    return _counts(frame, "Rolling12Months", "Population")


def _core20_counts(data, quarter, icb) -> pd.DataFrame:
    return _counts(kpi_participation.core20_counts(data, quarter, icb), "Core20Participants", "KnownParticipants")


def _commercial_share_counts(data, quarter, icb) -> pd.DataFrame:
    frame = kpi_commercial.commercial_share_of_open_studies(data, quarter, icb)
    return _counts(frame, "CommercialOpenStudies", "OpenStudies")


def _rtt_counts(data, quarter, icb) -> pd.DataFrame:
    summary = kpi_commercial.rtt_summary(data, quarter, icb)
    return _counts(summary[summary["StudyRoute"] == "All"], "OnTrack", "StudiesAssessed")


PERCENT, PER_10000 = 100, 10_000

PORTFOLIO = "NIHR portfolio studies"
QUARTERLY = "a value for each quarter"
ROLLING = "rolling 12 months: consecutive points share 9 of their 12 months, too alike for XmR limits"
STOCK = "a stock at the quarter's end: it accumulates, it is not a process that varies around a mean"
_STUDIES = ("organisations", "studies")
_RECRUITMENT = ("organisations", "studies", "recruitment")
ACTIVITY, PARTICIPATION, COMMERCIAL = "10_research_activity", "20_participation_equity", "30_commercial"
PARTNERSHIPS = "40_partnerships_workforce"

REGISTRY: tuple[Kpi, ...] = (
    Kpi(
        id="studies_open_pct_precovid",
        section=ACTIVITY,
        label="NIHR studies open at any time in the quarter, % of pre-Covid levels",
        unit="percent",
        direction="increase",
        series=_studies_open,
        period="quarter: open to recruitment at any time in the quarter",
        scope=PORTFOLIO,
        numerator="studies open to recruitment at any time in the quarter",
        denominator="the mean number open per quarter in the pre-Covid baseline year (2019/20)",
        tables=_STUDIES,
        chart="xmr",
        why=QUARTERLY,
        rebase=(COVID, PLAN),
        plan_start=PlanStart(MAPPING, 89, "89% of pre-Covid levels"),
        all_icbs=_studies_open_all_icbs,
    ),
    Kpi(
        id="new_studies",
        section=ACTIVITY,
        label="NIHR studies opened in the quarter",
        unit="count",
        direction="increase",
        series=_new_studies,
        period="quarter",
        scope=PORTFOLIO,
        numerator="studies whose actual opening date falls in the quarter",
        denominator="none (a count)",
        tables=_STUDIES,
        chart="xmr",
        why=QUARTERLY,
        rebase=(COVID, PLAN),
        all_icbs=_new_studies_all_icbs,
    ),
    Kpi(
        id="recruiting_organisations",
        section=ACTIVITY,
        label="Organisations recruiting in the quarter",
        unit="count",
        direction="increase",
        series=_recruiting_organisations,
        period="quarter",
        scope="the ICB's organisations, any study",
        numerator="organisations that recruited at least one participant in the quarter",
        denominator="none (a count)",
        tables=_RECRUITMENT,
        chart="xmr",
        why=QUARTERLY,
        rebase=(COVID, PLAN),
        all_icbs=_recruiting_organisations_all_icbs,
    ),
    Kpi(
        id="gp_practices_recruiting_pct",
        section=ACTIVITY,
        label="GP practices recruiting, % (rolling 12 months)",
        unit="percent",
        direction="increase",
        series=_gp_practices_recruiting,
        period="rolling 12 months",
        scope="GP practices listed in the organisations table",
        numerator="GP practices that recruited at least one participant in the 12 months",
        denominator="GP practices listed",
        tables=_RECRUITMENT,
        chart="run",
        why=ROLLING,
        comparable=Comparable(_gp_practices_counts, PERCENT, axis="GP practices", all_icbs=peer_counts.gp_practices),
        all_icbs=_gp_practices_recruiting_all_icbs,
    ),
    Kpi(
        id="participants",
        section=PARTICIPATION,
        label="NIHR portfolio participants recruited in the quarter",
        unit="count",
        direction="increase",
        series=_participants,
        period="quarter",
        scope="participants in NIHR portfolio studies recruited at the ICB's organisations",
        numerator="participants recruited in the quarter (date of consent)",
        denominator="none (a count of people, published rounded to 5)",
        tables=_RECRUITMENT,
        chart="xmr",
        why=QUARTERLY,
        rebase=(COVID, PLAN),
        people=True,
        all_icbs=kpi_participation.participants_all_icbs,
    ),
    Kpi(
        id="participants_per_10k",
        section=PARTICIPATION,
        label="NIHR portfolio participants per 10,000 population, rolling 12 months",
        unit="per_10000",
        direction="increase",
        series=_participants_per_10k,
        period="rolling 12 months",
        scope="participants in NIHR portfolio studies recruited at the ICB's organisations",
        numerator="participants recruited in the 12 months (rounded to 5 before dividing)",
        denominator="the ICB's population, ONS mid-2022 estimate, per 10,000",
        tables=_RECRUITMENT,
        chart="run",
        why=ROLLING,
        plan_start=PlanStart(MAPPING, 210, "210 people taking part in research per 10,000 population"),
        comparable=Comparable(
            _participants_per_10k_counts,
            PER_10000,
            people=("Numerator",),
            axis="Population (ONS mid-2022)",
            all_icbs=peer_counts.participants_per_10k,
        ),
        all_icbs=kpi_participation.participants_per_10k_all_icbs,
    ),
    Kpi(
        id="core20_pct",
        section=PARTICIPATION,
        label="Participants from Core20 areas, % of known, rolling 12 months",
        unit="percent",
        direction="increase",
        series=_core20,
        period="rolling 12 months",
        scope="participants whose home area's IMD decile is known (all studies: the table has no study)",
        numerator="participants living in the 20% most deprived areas of England (IMD 2019 deciles 1-2)",
        denominator="participants with a known IMD decile",
        tables=("recruitment_imd",),
        chart="run",
        why=ROLLING,
        comparable=Comparable(
            _core20_counts,
            PERCENT,
            people=("Numerator", "Denominator"),
            axis="Participants with a known IMD decile",
            all_icbs=peer_counts.core20,
        ),
        all_icbs=kpi_participation.core20_all_icbs,
    ),
    Kpi(
        id="commercial_pct_open_studies",
        section=COMMERCIAL,
        label="Commercial studies, % of all open studies",
        unit="percent",
        direction="increase",
        series=_commercial_share,
        period="quarter: open at any time in the quarter",
        scope=PORTFOLIO + " (interventional trials only when the studies table gives StudyDesign)",
        numerator="commercial studies (trials) open",
        denominator="all studies (trials) open",
        tables=_STUDIES,
        chart="xmr",
        why=QUARTERLY,
        rebase=(COVID, PLAN),
        plan_start=PlanStart(MAPPING, 11.5, "11.5% of all trials commercially funded"),
        comparable=Comparable(
            _commercial_share_counts, PERCENT, axis="Open studies", all_icbs=peer_counts.commercial_share
        ),
        all_icbs=_commercial_share_all_icbs,
    ),
    Kpi(
        id="commercial_participants",
        section=COMMERCIAL,
        label="Participants in commercial studies in the quarter",
        unit="count",
        direction="increase",
        series=_commercial_participants,
        period="quarter",
        scope="participants recruited at the ICB's organisations",
        numerator="participants recruited to commercial studies in the quarter",
        denominator="none (a count of people, published rounded to 5)",
        tables=_RECRUITMENT,
        chart="xmr",
        why=QUARTERLY,
        rebase=(COVID, PLAN),
        people=True,
        all_icbs=_commercial_participants_all_icbs,
    ),
    Kpi(
        id="commercial_income",
        section=COMMERCIAL,
        label="Commercial contract income, rolling 12 months",
        unit="GBP",
        direction="increase",
        series=_commercial_income,
        period="rolling 12 months",
        scope="the ICB's organisations",
        numerator="commercial contract income received in the 12 months (GBP)",
        denominator="none (money)",
        tables=("organisations", "finance"),
        chart="progress",
        why="rolling 12-month income against the doubling trajectory",
        baseline=_income_baseline,
        all_icbs=_commercial_income_all_icbs,
    ),
    Kpi(
        id="setup_median_days",
        section=COMMERCIAL,
        label="NCVR set-up time, median days in the quarter (studies costed from 1 October 2022)",
        unit="days",
        direction="decrease",
        series=_setup_days,
        period="quarter of the first participant",
        scope="commercial studies costed from 1 October 2022, when NCVR began",
        numerator="median days from costing submitted to first participant (national target: 150 days)",
        denominator="none (days)",
        tables=_STUDIES,
        chart="xmr",
        why=QUARTERLY,
        rebase=(NCVR,),
        all_icbs=_setup_days_all_icbs,
    ),
    Kpi(
        id="rtt_pct_on_track",
        section=COMMERCIAL,
        label="Studies open at the quarter's end on track for recruitment to time and target, %",
        unit="percent",
        direction="increase",
        series=_rtt_on_track,
        period="at the quarter's end",
        scope="open " + PORTFOLIO,
        numerator="studies on track for recruitment to time and target (RTT >= 0)",
        denominator="studies assessed",
        tables=_RECRUITMENT,
        chart="xmr",
        why=QUARTERLY,
        rebase=(PLAN,),
        comparable=Comparable(_rtt_counts, PERCENT, axis="Studies assessed", all_icbs=peer_counts.rtt),
        all_icbs=_rtt_on_track_all_icbs,
    ),
    Kpi(
        id="cross_system_studies",
        section=PARTNERSHIPS,
        label="Cross-system portfolio studies opened since the plan's start, cumulative",
        unit="count",
        direction="increase",
        series=_cross_system,
        all_icbs=_cross_system_all_icbs,
        period="cumulative from the target's start quarter (params/targets.yml)",
        scope=PORTFOLIO,
        numerator="studies needing cross-system partnership (NHS and social care) opened since the start",
        denominator="none (a count)",
        tables=_STUDIES,
        chart="progress",
        why="a cumulative count against its target",
    ),
    Kpi(
        id="joint_appointments",
        section=PARTNERSHIPS,
        label="Joint NHS/university appointments",
        unit="count",
        direction="increase",
        series=_joint_appointments,
        all_icbs=_joint_appointments_all_icbs,
        period="at the quarter's end",
        scope="the ICB's organisations",
        numerator="joint NHS/university clinical academic appointments in post",
        denominator="none (a count of people, published rounded to 5)",
        tables=("organisations", "workforce"),
        chart="run",
        why=STOCK,
        people=True,
    ),
    Kpi(
        id="research_active_staff",
        section=PARTNERSHIPS,
        label="Research-active staff",
        unit="count",
        direction="increase",
        series=_research_active_staff,
        all_icbs=_research_active_staff_all_icbs,
        period="at the quarter's end",
        scope="the ICB's organisations",
        numerator="research-active staff",
        denominator="none (a count of people, published rounded to 5)",
        tables=("organisations", "workforce"),
        chart="run",
        why=STOCK,
        people=True,
    ),
    Kpi(
        id="innovations_adopted",
        section="50_innovation",
        label="Innovations adopting or business as usual",
        unit="count",
        direction="increase",
        series=_innovations_adopted,
        all_icbs=_innovations_adopted_all_icbs,
        period="at the quarter's end",
        scope="the ICB's innovation pipeline",
        numerator="innovations at the adopting or business-as-usual stage",
        denominator="none (a count)",
        tables=("organisations", "innovations"),
        chart="run",
        why=STOCK,
    ),
    Kpi(
        id="ppie_activities",
        section="60_engagement",
        label="PPIE activities in the quarter",
        unit="count",
        direction="increase",
        series=_ppie_activities,
        period="quarter",
        scope="the ICS's public involvement programme",
        numerator="public and patient involvement and engagement activities held",
        denominator="none (a count)",
        tables=("engagement",),
        chart="xmr",
        why=QUARTERLY,
        rebase=(PLAN,),
        all_icbs=_ppie_activities_all_icbs,
    ),
    Kpi(
        id="bpor_registrations",
        section="60_engagement",
        label="Be Part of Research registrations in the quarter",
        unit="count",
        direction="increase",
        series=_bpor_registrations,
        period="quarter",
        scope="residents of the ICB",
        numerator="new Be Part of Research registrations",
        denominator="none (a count of people, published rounded to 5)",
        tables=("engagement",),
        chart="xmr",
        why=QUARTERLY,
        rebase=(PLAN,),
        people=True,
        all_icbs=_bpor_registrations_all_icbs,
    ),
    Kpi(
        id="deliverables_on_track_pct",
        section="70_deliverables",
        label="Deliverables complete or on track, %",
        unit="percent",
        direction="increase",
        series=_deliverables_on_track,
        all_icbs=_deliverables_on_track_all_icbs,
        period="at the quarter's end",
        scope="the plan's deliverables",
        numerator="deliverables complete or on track",
        denominator="deliverables listed",
        tables=("deliverables",),
        chart="run",
        why="a share of the plan's deliverables, a list that changes",
    ),
)
KPIS: Mapping[str, Kpi] = {k.id: k for k in REGISTRY}
# The KPIs compared with other ICBs, in board order (helpers.contract.COMPARABLE_KPIS: the same ids).
COMPARABLE: Mapping[str, Kpi] = {k.id: k for k in REGISTRY if k.comparable is not None}


def comparable_counts(data, quarter, icb: str, kpi: str) -> pd.DataFrame:
    """Per-quarter ``Numerator`` and ``Denominator`` of comparable KPI ``kpi`` for ``icb`` (see
    :class:`Comparable`); columns ``Quarter``, ``Numerator``, ``Denominator``."""
    entry = KPIS[kpi]
    if entry.comparable is None:
        raise ValueError(f"KPI {kpi} is not comparable across ICBs; the comparable KPIs are {', '.join(COMPARABLE)}")
    return entry.comparable.counts(data, quarter, icb)


def plan_start_marker(kpi: str) -> PlanBaseline | None:
    """The plan's starting point of ``kpi`` as its chart draws it (None when the plan gives none)."""
    start = KPIS[kpi].plan_start
    if start is None:
        return None
    quarter = parse(start.quarter)
    return PlanBaseline(
        pd.Timestamp(quarter.start), float(start.value), f"Plan's starting point {start.value:g} ({quarter.label})"
    )


def kpi_spc(kpi: str, series: pd.Series, direction: str, target: float | None = None) -> pd.DataFrame | None:
    """The one SPC frame of a headline KPI, for its chart and its scorecard icons alike.

    ``series``: values indexed by quarter id. None unless the KPI is charted as ``xmr`` and has a
    value; rebased at each of its rebase quarters that falls inside the series.
    """
    entry = KPIS[kpi]
    values = series.astype("float64")
    if entry.chart != "xmr" or values.notna().sum() == 0:
        return None
    dates = [parse(q).start for q in values.index]
    starts = [parse(r.quarter).start for r in entry.rebase]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spc_module.TrialLimitsWarning)  # reported as trial limits instead
        return spc_module.spc(
            values.to_numpy(),
            dates,
            improvement_direction=direction,
            target=target,
            rebase=[d for d in starts if min(dates) < d <= max(dates)],
        )


def definitions_table(targets: Mapping | None = None) -> pd.DataFrame:
    """The Definitions section's table: one row per headline KPI, in board order.

    ``targets``: KPI id -> :class:`helpers.targets.Target`. Columns: Section, KPI, Period, Scope,
    Numerator, Denominator, Tables, Chart, Rebased, Target, TargetSource, PlanStart."""
    targets = targets or {}
    rows = []
    for kpi in REGISTRY:
        target = targets.get(kpi.id)
        rows.append(
            {
                "Section": kpi.group,
                "KPI": kpi.label,
                "Period": kpi.period,
                "Scope": kpi.scope,
                "Numerator": kpi.numerator,
                "Denominator": kpi.denominator,
                "Tables": ", ".join(kpi.tables),
                "Chart": CHART_KINDS[kpi.chart],
                "Rebased": "; ".join(f"{parse(r.quarter).label} ({r.reason})" for r in kpi.rebase) or "-",
                "Target": _target_words(target) if target else "no target in the plan",
                "TargetSource": _target_source(target) if target else "-",
                "PlanStart": (
                    f"{kpi.plan_start.words} in {parse(kpi.plan_start.quarter).label} (system-wide mapping, August 2022)"
                    if kpi.plan_start
                    else "-"
                ),
            }
        )
    return pd.DataFrame(rows)


def _target_source(target) -> str:
    words = plan_words(" ".join(target.source.split()))
    if target.basis == "working assumption":
        return f"Working assumption set by {target.set_by}: {words}"
    return f"The plan: {words}"


def _target_words(target) -> str:
    figure = (
        f"{target.target.times_baseline:g} times the {target.baseline.quarter.label} baseline"
        if hasattr(target.target, "times_baseline")
        else format_value(target.target, target.unit)
    )
    start = (
        ""
        if target.baseline.value is None
        else f"; the plan's starting point {format_value(target.baseline.value, target.unit)}"
    )
    return f"{figure} by {target.by.label} ({target.trajectory} trajectory from {target.baseline.quarter.label}{start})"
