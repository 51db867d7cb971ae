"""Synthetic studies and recruitment for one ICB of the sample data (all vectorised with numpy).

Months are integer indices (``year * 12 + month - 1``). The number of studies open follows a
target curve relative to the 2019/20 baseline; monthly participants follow a target rate per
10,000 population; both are documented, with their sources, in docs/sample_data.md.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.paths import REFERENCE_DATA_DIR
from helpers.quarters import Quarter, parse
from sampledata.orgs import Icb

HISTORY_START = 2018 * 12 + 3  # April 2018 (2018/19 Q1)
FIRST_QUARTER = Quarter(2018, 1)
WARMUP_START = 2013 * 12 + 3  # studies opened before the history still recruit in it
SETUP_HORIZON = 6  # months of planned openings after the reported quarter (studies in set-up)
QWU_POPULATION = 963_173
# Open studies (point in time) at the 2019/20 level for Coventry and Warwickshire; others scale by population.
QWU_BASELINE_OPEN = 420
# Participants per person per year in 2022/23 (plan: 210 per 10,000).
PARTICIPANTS_PER_PERSON_2022 = 0.0210
COMMERCIAL_PARTICIPANT_SHARE = 0.045  # of non-Covid participants (NIHR: 4-5%)
# GP practices' research activity: not every practice recruits (NIHR 2016/17: 48% of practices
# research active). Per practice, the chance it recruits in a quarter: a core of practices recruits
# most quarters, some now and then, the rest never: about 40% recruit in a rolling 12 months.
GP_ACTIVITY = ((0.28, 0.7), (0.30, 0.12), (0.42, 0.0))  # (share of practices, chance a quarter)
# Commercial studies set on track for recruitment to time and target (national: 83% of open studies
# in September 2025, target 80%). Set a little above 83% because studies with no participants yet
# at a quarter end are behind whatever their target: about 80% of those assessed come out on track.
COMMERCIAL_ON_TRACK = 0.88

# Open studies as a fraction of the 2019/20 baseline, per quarter from 2018/19 Q1 (then +0.8 points a quarter).
OPEN_LEVEL = [
    0.96,
    0.97,
    0.98,
    0.99,  # 2018/19
    1.00,
    1.00,
    1.00,
    1.00,  # 2019/20: the pre-Covid baseline
    0.85,
    0.80,
    0.78,
    0.78,  # 2020/21: non-Covid studies paused, few new openings
    0.79,
    0.81,
    0.83,
    0.85,  # 2021/22
    0.87,
    0.885,
    0.92,
    0.95,  # 2022/23: 89% in Q2 (the plan's August 2022 mapping)
    0.97,
    0.99,
    1.02,
    1.055,  # 2023/24: past 100% by Q4 (the plan's target)
    1.065,
    1.075,
    1.085,
    1.095,  # 2024/25
]
# Non-Covid and Covid participants as a fraction of the 2022/23 annual rate, per quarter from 2018/19 Q1.
NON_COVID_LEVEL = [
    0.90,
    0.90,
    0.90,
    0.90,
    0.82,
    0.82,
    0.82,
    0.62,
    0.15,
    0.45,
    0.60,
    0.65,
    0.80,
    0.85,
    0.90,
    0.92,
    0.96,
    0.97,
    0.98,
    0.98,  # 2022/23: with the last Covid studies, 210 per 10,000
    1.02,
    1.03,
    1.04,
    1.05,
    1.06,
    1.07,
    1.08,
    1.09,
]
COVID_LEVEL = [0.0] * 7 + [0.10, 1.30, 0.80, 1.10, 0.90, 0.40, 0.28, 0.20, 0.15, 0.08, 0.05, 0.04, 0.03, 0.02, 0.01]
# August and December dips (holidays); normalised to average 1.
SEASON = np.array([1.02, 1.04, 1.06, 0.96, 1.02, 1.04, 1.02, 0.82, 1.04, 1.06, 1.06, 0.80])
SEASON = SEASON / SEASON.mean()

# NIHR managing specialties with the share of the public NIHR study listing (the rest share the remainder).
SPECIALTY_SHARES = {
    "Cancer": 14.8,
    "Mental Health": 9.4,
    "Primary Care": 7.3,
    "Children": 6.1,
    "Cardiovascular Disease": 5.6,
    "Musculoskeletal Disorders": 5.4,
    "Dementias and Neurodegeneration": 4.4,
    "Reproductive Health and Childbirth": 4.1,
    "Respiratory Disorders": 4.0,
    "Infection": 3.9,
    "Diabetes": 3.8,
    "Health Services Research": 3.0,
}
OTHER_SPECIALTIES = [
    "Ageing",
    "Anaesthesia, Perioperative Medicine and Pain Management",
    "Critical Care",
    "Dermatology",
    "Ear, Nose and Throat",
    "Gastroenterology",
    "Genetics",
    "Haematology",
    "Hepatology",
    "Metabolic and Endocrine Disorders",
    "Neurological Disorders",
    "Ophthalmology",
    "Oral and Dental Health",
    "Public Health",
    "Renal Disorders",
    "Stroke",
    "Surgery",
    "Trauma and Emergency Care",
]
SPECIALTIES = list(SPECIALTY_SHARES) + OTHER_SPECIALTIES
CARE_SETTINGS = ["acute", "primary_care", "community", "mental_health", "social_care", "public_health"]
# Care setting mix by specialty (probabilities over CARE_SETTINGS); unlisted specialties use DEFAULT_SETTING_MIX.
SETTING_MIX = {
    "Mental Health": [0.05, 0.10, 0.15, 0.70, 0.00, 0.00],
    "Dementias and Neurodegeneration": [0.30, 0.10, 0.20, 0.30, 0.10, 0.00],
    "Primary Care": [0.00, 0.90, 0.10, 0.00, 0.00, 0.00],
    "Public Health": [0.05, 0.25, 0.10, 0.00, 0.10, 0.50],
    "Health Services Research": [0.30, 0.20, 0.20, 0.05, 0.15, 0.10],
    "Ageing": [0.30, 0.15, 0.30, 0.00, 0.25, 0.00],
    "Children": [0.75, 0.10, 0.10, 0.05, 0.00, 0.00],
    "Diabetes": [0.55, 0.40, 0.05, 0.00, 0.00, 0.00],
    "Cardiovascular Disease": [0.80, 0.15, 0.05, 0.00, 0.00, 0.00],
    "Respiratory Disorders": [0.75, 0.20, 0.05, 0.00, 0.00, 0.00],
    "Musculoskeletal Disorders": [0.65, 0.20, 0.15, 0.00, 0.00, 0.00],
}
DEFAULT_SETTING_MIX = [0.92, 0.04, 0.04, 0.00, 0.00, 0.00]
TOPICS = {
    "Cancer": ["breast cancer", "prostate cancer", "lung cancer", "colorectal cancer", "lymphoma", "melanoma"],
    "Mental Health": ["depression", "psychosis", "anxiety", "eating disorders", "self-harm"],
    "Primary Care": ["hypertension in general practice", "antibiotic prescribing", "multimorbidity", "back pain"],
    "Children": ["childhood asthma", "neonatal sepsis", "bronchiolitis", "childhood epilepsy"],
    "Cardiovascular Disease": ["heart failure", "atrial fibrillation", "hypertension", "coronary disease"],
    "Infection": ["sepsis", "urinary tract infection", "influenza", "antimicrobial resistance"],
}
DESIGNS_NONCOMMERCIAL = [
    "Randomised controlled trial",
    "Observational cohort",
    "Feasibility study",
    "Registry",
    "Qualitative study",
    "Cluster randomised trial",
]
DESIGNS_COMMERCIAL = ["Phase III trial", "Phase II trial", "Phase IV study", "Device study"]
CLOSED_STATUSES = ["Closed to Recruitment, In Follow Up", "Closed to Recruitment, No Follow Up"]
SETUP_STATUSES = ["In Setup", "In Setup, Pending NHS Permission", "In Setup, NHS Permission Received"]
# Quarters in which a cross-system (NHS and social care) partnership study opens: the fifth in 2025/26.
CROSS_SYSTEM_QUARTERS = [
    "2022/23 Q4",
    "2023/24 Q3",
    "2024/25 Q2",
    "2025/26 Q1",
    "2025/26 Q3",
    "2026/27 Q2",
    "2027/28 Q1",
    "2027/28 Q4",
]
# ONS 2021 census ethnic group shares (Asian, Black, Mixed, White, Other), approximate, for ICBs far from
# the England-wide pattern; the rest use DEFAULT_ETHNICITY.
ETHNIC_GROUPS = ["Asian", "Black", "Mixed", "White", "Other"]
ICB_ETHNICITY = {
    "QWU": [0.11, 0.04, 0.026, 0.80, 0.024],
    "QMJ": [0.12, 0.11, 0.06, 0.61, 0.10],
    "QMF": [0.28, 0.13, 0.05, 0.47, 0.07],
    "QRV": [0.30, 0.08, 0.05, 0.47, 0.10],
    "QKK": [0.10, 0.22, 0.07, 0.55, 0.06],
    "QWE": [0.17, 0.07, 0.05, 0.66, 0.05],
    "QHL": [0.27, 0.10, 0.05, 0.55, 0.03],
    "QUA": [0.16, 0.05, 0.03, 0.74, 0.02],
    "QK1": [0.20, 0.04, 0.03, 0.71, 0.02],
    "QWO": [0.15, 0.02, 0.03, 0.78, 0.02],
    "QOP": [0.11, 0.04, 0.03, 0.80, 0.02],
    "QHG": [0.13, 0.07, 0.04, 0.73, 0.03],
}
DEFAULT_ETHNICITY = [0.05, 0.015, 0.02, 0.90, 0.015]
# Participants relative to population share: minority groups and the most deprived deciles under-represented.
ETHNIC_REPRESENTATION = np.array([0.70, 0.55, 0.80, 1.00, 0.70])
ETHNICITY_NOT_STATED = 0.05
IMD_REPRESENTATION = np.array([0.62, 0.74, 0.86, 0.94, 1.0, 1.04, 1.08, 1.12, 1.15, 1.18])
IMD_UNKNOWN = 0.03


@dataclass(frozen=True)
class Density:
    """How many recruiting sites and participants: realistic for one ICB, heavier for the national benchmark."""

    extra_sites: float = 1.0  # multiplies the number of recruiting sites beyond the lead
    participants: float = 1.0  # multiplies the participant rate
    # Move GP practices' recruitment to the practices research active in the quarter (GP_ACTIVITY).
    # The national benchmark keeps every practice, for its row count; it is not for figures.
    concentrate_gp: bool = True


def month_index(day) -> int:
    return day.year * 12 + day.month - 1


def quarter_of_month(months: np.ndarray) -> np.ndarray:
    """Quarters since 2018/19 Q1 for month indices."""
    return (np.asarray(months) - HISTORY_START) // 3


def _per_quarter(levels: list[float], quarters: np.ndarray, growth: float) -> np.ndarray:
    """Look up a per-quarter level; before the table the first value, after it keep growing by ``growth``."""
    levels_arr = np.asarray(levels)
    clipped = np.clip(quarters, 0, len(levels) - 1)
    beyond = np.maximum(quarters - (len(levels) - 1), 0)
    return levels_arr[clipped] + growth * beyond


def month_labels(first: int, last: int) -> list[str]:
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(first, last + 1)]


def _dates(months: np.ndarray, day_fraction: np.ndarray) -> np.ndarray:
    """Dates (numpy datetime64[D]) in the given months, the day placed by a fraction in [0, 1)."""
    months = np.asarray(months)
    first = (months - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")
    days = ((months + 1 - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]") - first).astype(int)
    return first + np.floor(day_fraction * days).astype(int)


def _simulate_openings(rng: np.random.Generator, baseline: float, end: int) -> dict[str, np.ndarray]:
    """Month-by-month: open enough new studies to follow the target open count, each with a duration."""
    last = end + SETUP_HORIZON
    # COVID-19 studies opening each month from March 2020 to March 2021 (for QWU; scaled by size).
    covid_starts = {2020 * 12 + m: n for m, n in zip(range(2, 15), [1, 3, 3, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1])}
    open_m, close_m, planned_m, covid = [], [], [], []
    closes_at = np.zeros(last + 200 - WARMUP_START, dtype=np.int64)
    n_open = 0
    scale = baseline / QWU_BASELINE_OPEN
    for month in range(WARMUP_START, last + 1):
        n_open -= closes_at[month - WARMUP_START]
        target = baseline * _per_quarter(OPEN_LEVEL, quarter_of_month(np.array([month])), 0.008)[0]
        n_covid = rng.poisson(covid_starts.get(month, 0) * scale) if month in covid_starts else 0
        gap = target - n_open - n_covid
        # Open what closes the gap, with a little noise: the open count tracks the target curve closely.
        n_new = max(0, int(round(gap + rng.normal(0, 1.5))))
        n_total = n_new + n_covid
        if n_total == 0:
            continue
        planned = np.clip(np.rint(np.exp(rng.normal(np.log(15), 0.6, n_total))), 3, 72).astype(int)
        delay = np.clip(np.rint(rng.normal(1.5, 4, n_total)), -6, 18).astype(int)
        is_covid = np.arange(n_total) >= n_new
        planned[is_covid] = rng.integers(6, 18, is_covid.sum())
        delay[is_covid] = rng.integers(0, 6, is_covid.sum())
        duration = np.maximum(1, planned + delay)
        close = month + duration
        np.add.at(closes_at, close - WARMUP_START, 1)
        n_open += n_total
        open_m.append(np.full(n_total, month))
        close_m.append(close)
        planned_m.append(planned)
        covid.append(is_covid)
    return {
        "open": np.concatenate(open_m),
        "close": np.concatenate(close_m),
        "planned": np.concatenate(planned_m),
        "covid": np.concatenate(covid),
    }


def _pick(rng: np.random.Generator, pool: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """``size`` draws (with replacement) from an array of organisation positions."""
    if size == 0 or len(pool) == 0:
        return np.zeros(0, dtype=np.int64)
    p = None if weights is None else weights / weights.sum()
    return pool[rng.choice(len(pool), size=size, p=p)]


class _Sites:
    """Collects (study, organisation, weight) candidates for recruiting sites."""

    def __init__(self) -> None:
        self.study: list[np.ndarray] = []
        self.org: list[np.ndarray] = []
        self.weight: list[np.ndarray] = []

    def add(self, studies: np.ndarray, counts: np.ndarray, orgs: np.ndarray, weights: np.ndarray) -> None:
        self.study.append(np.repeat(studies, counts))
        self.org.append(orgs)
        self.weight.append(weights)

    def extra(self, rng, studies, counts, pool, pool_w=None, weight=(0.15, 0.8)) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        orgs = _pick(rng, pool, pool_w, int(counts.sum()))
        if len(orgs) == 0:
            return
        self.add(studies, counts, orgs, rng.uniform(*weight, len(orgs)))

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        study = np.concatenate(self.study)
        org = np.concatenate(self.org)
        weight = np.concatenate(self.weight)
        # One site per (study, organisation); the lead (added first) wins.
        _, first = np.unique(study * 100_000 + org, return_index=True)
        first = np.sort(first)
        return study[first], org[first], weight[first]


def _targets(
    open_date,
    planned_close,
    close_date,
    closed,
    study_rows,
    month_rows,
    count_rows,
    end: int,
    off_track_share: np.ndarray,
    jitter: np.ndarray,
    latest_factor: np.ndarray | None = None,
) -> np.ndarray:
    """Local targets (SampleSize) putting each study on track in about ``1 - off_track_share`` of the
    quarter ends it is open at; NaN where the study has no such quarter end with recruitment.

    At a quarter end the pace ``recruited / fraction of planned time elapsed`` (NIHR RTT, days counted
    inclusively) is the target the study is on track for; the target is a low quantile of its paces.
    Where ``latest_factor`` is a number, the target is set from it instead: below 1, that share of
    the study's lowest pace (on track at every quarter end); above 1, that multiple of its pace at
    its latest quarter end with recruitment (behind then).
    """
    n = len(open_date)
    first_q = quarter_of_month(np.array([HISTORY_START]))[0]
    last_q = quarter_of_month(np.array([end]))[0]
    n_q = last_q - first_q + 1
    ends = np.array(
        [np.datetime64(Quarter.from_ordinal(FIRST_QUARTER.ordinal + k).end, "D") for k in range(n_q)],
        dtype="datetime64[D]",
    )
    by_quarter = np.bincount(
        study_rows * n_q + quarter_of_month(month_rows), weights=count_rows, minlength=n * n_q
    ).reshape(n, n_q)
    recruited = np.cumsum(by_quarter, axis=1)
    elapsed = ((ends[None, :] - open_date[:, None]).astype(float) + 1) / (
        np.maximum((planned_close - open_date).astype(float), 0) + 1
    )[:, None]
    open_at_end = (open_date[:, None] <= ends[None, :]) & ~(closed[:, None] & (close_date[:, None] <= ends[None, :]))
    pace = np.where(open_at_end & (recruited > 0), recruited / np.maximum(elapsed, 1e-9), np.nan)
    has_pace = ~np.isnan(pace)
    last = n_q - 1 - np.argmax(has_pace[:, ::-1], axis=1)
    latest_pace = pace[np.arange(n), last]
    pace.sort(axis=1)  # NaN last
    valid = (~np.isnan(pace)).sum(axis=1)
    # Randomised rounding keeps the expected off-track share right for studies open at few quarter ends;
    # position == valid means behind at every one of them.
    position = np.floor(off_track_share * valid + jitter).astype(int)
    behind_throughout = position >= valid
    target = np.take_along_axis(pace, np.minimum(position, np.maximum(valid - 1, 0))[:, None], axis=1)[:, 0]
    target = np.where(behind_throughout, target * 1.3 + 1, target)
    if latest_factor is not None:
        lowest_pace = pace[:, 0]  # sorted, NaN last
        chosen = np.where(latest_factor < 1, lowest_pace, latest_pace) * latest_factor
        target = np.where(np.isnan(latest_factor), target, chosen)
    return np.where(valid > 0, target, np.nan)


@dataclass
class _Studies:
    """Per-study arrays (one element per study, in StudyId order)."""

    open_m: np.ndarray  # month opened (or planned to open, for studies in set-up)
    close_m: np.ndarray  # first month no longer open
    planned_m: np.ndarray  # planned recruitment period in months
    covid: np.ndarray
    withdrawn: np.ndarray
    setup: np.ndarray
    commercial: np.ndarray | None = None
    portfolio: np.ndarray | None = None
    specialty: np.ndarray | None = None  # position in SPECIALTIES
    setting: np.ndarray | None = None  # position in CARE_SETTINGS
    cross: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.open_m)

    @property
    def opened(self) -> np.ndarray:
        return ~self.withdrawn & ~self.setup


def _studies(icb: Icb, end: int, rng: np.random.Generator) -> _Studies:
    """Simulated openings kept for the history (open at some point in it, or in set-up at its end)."""
    intensity = 1.0 if icb.code == "QWU" else rng.uniform(0.85, 1.15)  # research intensity differs by ICB
    baseline = QWU_BASELINE_OPEN * icb.population / QWU_POPULATION * intensity
    sim = _simulate_openings(rng, baseline, end)
    keep = sim["close"] > HISTORY_START
    order = np.argsort(sim["open"][keep], kind="stable")
    open_m = sim["open"][keep][order]
    covid = sim["covid"][keep][order]
    n = len(open_m)
    if n >= 20_000:  # StudyIds leave room for 20,000 per ICB
        raise ValueError(f"too many studies for {icb.code}: {n}")
    in_history = (open_m >= HISTORY_START) & (open_m <= end)
    withdrawn = in_history & ~covid & (rng.random(n) < 0.02)
    return _Studies(open_m, sim["close"][keep][order], sim["planned"][keep][order], covid, withdrawn, open_m > end)


def _attributes(s: _Studies, end: int, rng: np.random.Generator) -> None:
    """Route, portfolio flag, managing specialty, care setting and cross-system partnership."""
    n, covid = s.n, s.covid
    quarter = quarter_of_month(s.open_m)
    # Systematic sampling keeps the commercial share of openings steady (11.5% in the plan), rising
    # slowly after 2022/23 as the system grows commercial research.
    p_commercial = np.clip(0.115 + 0.002 * (quarter - 19), 0.115, 0.14)
    cumulative_p = np.cumsum(np.where(covid, 0.0, p_commercial)) + rng.random()
    commercial = np.diff(np.floor(cumulative_p), prepend=np.floor(cumulative_p[0] - p_commercial[0])) > 0
    s.commercial = np.where(covid, rng.random(n) < 0.15, commercial & ~covid)
    s.portfolio = covid | (rng.random(n) < np.where(s.commercial, 0.88, 0.92))
    other_share = (100 - sum(SPECIALTY_SHARES.values())) / len(OTHER_SPECIALTIES)
    shares = np.array(list(SPECIALTY_SHARES.values()) + [other_share] * len(OTHER_SPECIALTIES))
    s.specialty = rng.choice(len(SPECIALTIES), size=n, p=shares / shares.sum())
    s.specialty[covid] = SPECIALTIES.index("Infection")
    mixes = np.array([SETTING_MIX.get(name, DEFAULT_SETTING_MIX) for name in SPECIALTIES])
    cumulative = np.cumsum(mixes[s.specialty], axis=1)
    s.setting = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), len(CARE_SETTINGS) - 1)
    s.setting[covid] = rng.choice([0, 1, 5], size=int(covid.sum()), p=[0.6, 0.2, 0.2])

    s.cross = np.zeros(n, dtype=bool)
    cross_specialties = [
        SPECIALTIES.index(name)
        for name in ("Ageing", "Dementias and Neurodegeneration", "Health Services Research", "Public Health")
    ]
    for label in CROSS_SYSTEM_QUARTERS:
        first = month_index(parse(label).start)
        if first > end:
            break
        candidates = np.flatnonzero(
            s.opened & ~covid & ~s.commercial & (s.open_m >= first) & (s.open_m < first + 3) & ~s.cross
        )
        if len(candidates):
            chosen = rng.choice(candidates)
            s.cross[chosen] = True
            s.portfolio[chosen] = True
            s.setting[chosen] = CARE_SETTINGS.index("social_care")
            s.specialty[chosen] = rng.choice(cross_specialties)


def _lead_and_sites(
    icb: Icb, orgs: pd.DataFrame, s: _Studies, rng: np.random.Generator, extra_sites: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lead organisation of each study, and its recruiting sites as (study, organisation, weight) pairs.

    Organisations are positions in ``orgs``. Sites follow the care setting: acute trusts for acute
    studies, GP practices for primary care, councils and care homes for social care, and so on.
    """
    n, setting = s.n, s.setting
    org_type = orgs["OrganisationType"].to_numpy()
    codes = orgs["OrganisationCode"].to_numpy()
    pool = {
        t: np.flatnonzero(org_type == t)
        for t in (
            "acute",
            "mental_health_community",
            "ambulance",
            "gp_practice",
            "local_authority",
            "hospice",
            "care_home",
            "university",
        )
    }
    acute_w = np.array([{"RKB": 0.6, "RJC": 0.2, "RLT": 0.2}.get(codes[i], 1.0) for i in pool["acute"]])
    if icb.code != "QWU":
        acute_w[0] = max(1.0, 0.5 * len(acute_w))  # a teaching trust leads most acute studies
    community_pool = pool["mental_health_community"]
    community_w = np.ones(len(community_pool))
    if icb.code == "QWU":  # RJC also runs community services
        community_pool = np.append(community_pool, np.flatnonzero(codes == "RJC"))
        community_w = np.array([0.7, 0.3])

    lead = np.empty(n, dtype=np.int64)
    acute_share_of_primary = rng.random(n)
    lead_choices = {
        0: (pool["acute"], acute_w),
        1: (pool["gp_practice"], None),
        2: (community_pool, community_w),
        3: (pool["mental_health_community"], None),
        4: (pool["local_authority"], None),
    }
    for setting_code, (candidates, weights) in lead_choices.items():
        mask = setting == setting_code
        lead[mask] = _pick(rng, candidates, weights, int(mask.sum()))
    acute_led_primary = (setting == 1) & (acute_share_of_primary < 0.2)
    lead[acute_led_primary] = _pick(rng, pool["acute"], acute_w, int(acute_led_primary.sum()))
    public = setting == 5
    ph_choice = rng.random(n)
    for mask, (candidates, weights) in (
        (public & (ph_choice < 0.5), (pool["local_authority"], None)),
        (public & (ph_choice >= 0.5) & (ph_choice < 0.7), (pool["university"], None)),
        (public & (ph_choice >= 0.7), (pool["acute"], acute_w)),
    ):
        lead[mask] = _pick(rng, candidates, weights, int(mask.sum()))

    sites = _Sites()
    recruiting_lead = np.flatnonzero(~np.isin(lead, pool["university"]))  # universities lead but do not recruit
    sites.add(
        recruiting_lead,
        np.ones(len(recruiting_lead), dtype=np.int64),
        lead[recruiting_lead],
        np.ones(len(recruiting_lead)),
    )

    def extra(
        mask: np.ndarray, counts: np.ndarray, candidates: np.ndarray, weights=None, site_weight=(0.15, 0.8)
    ) -> None:
        """Add ``counts`` (scaled by the density) sites from ``candidates`` to the studies in ``mask``."""
        studies = np.flatnonzero(mask)
        scaled = np.rint(np.asarray(counts, dtype=float) * extra_sites).astype(np.int64)
        sites.extra(rng, studies, scaled, candidates, weights, site_weight)

    def draws(mask: np.ndarray, draw) -> np.ndarray:
        return draw(int(mask.sum()))

    emergency = np.isin(
        s.specialty,
        [
            SPECIALTIES.index(v)
            for v in ("Trauma and Emergency Care", "Critical Care", "Stroke", "Cardiovascular Disease")
        ],
    )
    palliative = np.isin(
        s.specialty, [SPECIALTIES.index(v) for v in ("Cancer", "Ageing", "Dementias and Neurodegeneration")]
    )
    acute = setting == 0
    community_or_mh = (setting == 2) | (setting == 3)
    with_care_homes = (setting == 2) | (setting == 4)
    extra(
        acute,
        draws(acute, lambda m: rng.binomial(max(len(pool["acute"]) - 1, 0), 0.3, m)),
        pool["acute"],
        acute_w,
        (0.2, 0.9),
    )
    mask = acute & (rng.random(n) < np.where(emergency, 0.35, 0.04))
    extra(mask, np.ones(mask.sum()), pool["ambulance"])
    mask = (acute | (setting == 2)) & palliative & (rng.random(n) < 0.15)
    extra(mask, np.ones(mask.sum()), pool["hospice"])
    mask = acute & (rng.random(n) < 0.08)
    extra(mask, draws(mask, lambda m: 1 + rng.poisson(3, m)), pool["gp_practice"], None, (0.1, 0.4))
    mask = setting == 1
    extra(mask, draws(mask, lambda m: rng.geometric(1 / 9, m)), pool["gp_practice"], None, (0.1, 0.5))
    extra(
        community_or_mh,
        draws(community_or_mh, lambda m: (rng.random(m) < 0.25) * (1 + rng.poisson(2, m))),
        pool["gp_practice"],
        None,
        (0.1, 0.4),
    )
    # Every social care study recruits in care homes; one in ten community studies does.
    p_care_home = np.where(setting[with_care_homes] == 4, 1.0, 0.1)
    extra(
        with_care_homes,
        draws(with_care_homes, lambda m: (rng.random(m) < p_care_home) * (1 + rng.poisson(2, m))),
        pool["care_home"],
        None,
        (0.1, 0.5),
    )
    mask = (setting == 4) & s.cross
    extra(mask, np.ones(mask.sum()), pool["mental_health_community"])
    mask = setting == 5
    extra(mask, draws(mask, lambda m: 2 + rng.poisson(5, m)), pool["gp_practice"], None, (0.1, 0.5))
    mask = (setting == 5) & np.isin(lead, pool["university"])
    extra(mask, np.ones(mask.sum()), pool["local_authority"])
    return (lead, *sites.pairs())


def _draw_recruitment(
    icb: Icb,
    s: _Studies,
    lead: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    end: int,
    rng: np.random.Generator,
    participants_factor: float,
) -> dict[str, np.ndarray]:
    """Participants per (study, site, month), Poisson around the month's target for the study's group.

    Returns the rows with participants (``study``, ``org``, ``month``, ``count``) and, per study, the
    mean expected participants a month (``expected_monthly``).
    """
    pair_study, pair_org, pair_weight = pairs
    n = s.n
    rate = np.exp(rng.normal(0, 1.1, n))  # a few studies recruit most participants
    is_lead = pair_org == lead[pair_study]
    lag = np.where(is_lead, 0, rng.geometric(0.45, len(pair_study)) - 1)  # other sites open later
    start = np.maximum(s.open_m[pair_study] + lag, HISTORY_START)
    stop = np.minimum(s.close_m[pair_study], end + 1)  # exclusive
    active = s.opened[pair_study] & (stop > start)
    pair_study, pair_org, pair_weight, start, stop = (
        a[active] for a in (pair_study, pair_org, pair_weight, start, stop)
    )
    # One element per (study, site, month) the site is open: repeat each pair over its months.
    n_months = stop - start
    offsets = np.cumsum(n_months) - n_months
    pair_of_row = np.repeat(np.arange(len(pair_study)), n_months)
    month = start[pair_of_row] + (np.arange(int(n_months.sum())) - offsets[pair_of_row])
    study_of_row = pair_study[pair_of_row]
    weight = rate[study_of_row] * pair_weight[pair_of_row]
    group = np.where(s.covid[study_of_row], 0, np.where(s.commercial[study_of_row], 1, 2))

    n_hist = end + 1 - HISTORY_START
    hist_months = np.arange(HISTORY_START, end + 1)
    hist_q = quarter_of_month(hist_months)
    base = icb.population * PARTICIPANTS_PER_PERSON_2022 / 12 * participants_factor * SEASON[hist_months % 12]
    non_covid = base * _per_quarter(NON_COVID_LEVEL, hist_q, 0.0075)
    target = np.stack(
        [  # groups: Covid studies, commercial, non-commercial
            base * _per_quarter(COVID_LEVEL, hist_q, 0.0).clip(0),
            non_covid * COMMERCIAL_PARTICIPANT_SHARE,
            non_covid * (1 - COMMERCIAL_PARTICIPANT_SHARE),
        ]
    )
    cell = group * n_hist + (month - HISTORY_START)
    totals = np.bincount(cell, weights=weight, minlength=3 * n_hist)
    lam = target.ravel()[cell] * weight / totals[cell]
    participants = rng.poisson(lam)
    recruited = participants > 0
    expected_monthly = np.bincount(study_of_row, weights=lam, minlength=n) / np.maximum(
        np.bincount(study_of_row, minlength=n), 1
    )
    return {
        "study": study_of_row[recruited],
        "org": pair_org[pair_of_row][recruited],
        "month": month[recruited],
        "count": participants[recruited],
        "expected_monthly": expected_monthly,
    }


def _hashed_uniform(*parts) -> float:
    """A number in [0, 1) fixed by ``parts`` (no draw from the generator, so the other tables'
    random streams stay as they are)."""
    return zlib.crc32("|".join(map(str, parts)).encode("ascii")) / 2**32


def _gp_practice_activity(orgs: pd.DataFrame, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a GP practice's recruitment goes in each quarter: itself when it is active in the
    quarter (:data:`GP_ACTIVITY`), else an active practice of the same place (so place totals do not
    change).

    Returns ``redirect`` (organisation position x quarter offset from ``HISTORY_START`` ->
    organisation position) and the ``is_practice`` mask.
    """
    codes = orgs["OrganisationCode"].to_numpy()
    places = orgs["Place"].to_numpy()
    is_practice = orgs["OrganisationType"].to_numpy() == "gp_practice"
    practices = np.flatnonzero(is_practice)
    quarters = (end - HISTORY_START) // 3 + 1
    shares = np.cumsum([share for share, _ in GP_ACTIVITY])
    groups = [int(np.searchsorted(shares, _hashed_uniform("gp-class", codes[i]), side="right")) for i in practices]
    chance = np.array([GP_ACTIVITY[min(g, len(GP_ACTIVITY) - 1)][1] for g in groups])
    redirect = np.tile(np.arange(len(codes))[:, None], (1, quarters))
    for quarter in range(quarters):
        draws = np.array([_hashed_uniform("gp-quarter", codes[i], quarter) for i in practices])
        active = np.zeros(len(codes), dtype=bool)
        active[practices[draws < chance]] = True
        for i in practices[draws >= chance]:
            same_place = np.flatnonzero(active & (places == places[i]))
            if len(same_place) == 0:
                same_place = np.flatnonzero(active)
            if len(same_place):
                redirect[i, quarter] = same_place[int(_hashed_uniform("gp-to", codes[i], quarter) * len(same_place))]
    return redirect, is_practice


def _concentrate_gp_recruitment(rows: dict[str, np.ndarray], orgs: pd.DataFrame, end: int) -> dict[str, np.ndarray]:
    """Recruitment rows with GP practices' participants moved to the practices active in the
    quarter (:func:`_gp_practice_activity`); rows falling on the same (study, practice, month) are
    added up. Participants per study, month and place are unchanged."""
    redirect, is_practice = _gp_practice_activity(orgs, end)
    org, month = rows["org"], rows["month"]
    quarter = np.clip((month - HISTORY_START) // 3, 0, redirect.shape[1] - 1)
    moved = np.where(is_practice[org], redirect[org, quarter], org)
    n_orgs, n_months = len(orgs), end + 1 - HISTORY_START
    key = (rows["study"].astype(np.int64) * n_orgs + moved) * n_months + (month - HISTORY_START)
    unique, inverse = np.unique(key, return_inverse=True)
    out = dict(rows)
    out["count"] = np.bincount(inverse, weights=rows["count"]).astype(rows["count"].dtype)
    out["month"] = (unique % n_months + HISTORY_START).astype(month.dtype)
    out["org"] = ((unique // n_months) % n_orgs).astype(org.dtype)
    out["study"] = (unique // (n_months * n_orgs)).astype(rows["study"].dtype)
    return out


def _titles(s: _Studies, rng: np.random.Generator) -> list[str]:
    """Synthetic short titles: an invented acronym, a design and a topic."""
    n = s.n
    acronym_letters = rng.integers(0, 26, (n, 5))
    acronym_len = rng.integers(3, 6, n)
    design_nc = rng.integers(0, len(DESIGNS_NONCOMMERCIAL), n)
    design_c = rng.integers(0, len(DESIGNS_COMMERCIAL), n)
    topic_u = rng.random(n)
    titles = []
    for i in range(n):
        acronym = "".join(chr(65 + c) for c in acronym_letters[i, : acronym_len[i]])
        name = SPECIALTIES[s.specialty[i]]
        design = DESIGNS_COMMERCIAL[design_c[i]] if s.commercial[i] else DESIGNS_NONCOMMERCIAL[design_nc[i]]
        if s.covid[i]:
            topic = "COVID-19"
        else:
            topics = TOPICS.get(name, [name.lower()])
            topic = topics[int(topic_u[i] * len(topics))]
        if s.cross[i]:
            design = "Health and social care partnership study"
        titles.append(f"{acronym}: {design} in {topic}")
    return titles


def _iso(values: np.ndarray, mask: np.ndarray) -> list:
    """ISO date text where ``mask`` holds, else None (a blank cell)."""
    text = np.datetime_as_string(values, unit="D")
    return [t if m else None for t, m in zip(text.tolist(), mask.tolist())]


def studies_and_recruitment(
    icb: Icb, orgs: pd.DataFrame, to: Quarter, rng: np.random.Generator, density: Density = Density()
) -> dict[str, pd.DataFrame]:
    """The studies, recruitment, recruitment_imd and recruitment_ethnicity tables for one ICB."""
    end = month_index(to.end)
    end_date = np.datetime64(to.end.isoformat(), "D")
    s = _studies(icb, end, rng)
    _attributes(s, end, rng)
    n, commercial, opened, setup, withdrawn = s.n, s.commercial, s.opened, s.setup, s.withdrawn
    lead, *pairs = _lead_and_sites(icb, orgs, s, rng, density.extra_sites)
    rows = _draw_recruitment(icb, s, lead, tuple(pairs), end, rng, density.participants)
    if density.concentrate_gp:
        rows = _concentrate_gp_recruitment(rows, orgs, end)
    study_rows, month_rows, count_rows = rows["study"], rows["month"], rows["count"]
    recruited_total = np.bincount(study_rows, weights=count_rows, minlength=n)
    first_month = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_month, study_rows, month_rows)

    # -- dates and status at the quarter's end ------------------------------------------------
    open_date = _dates(s.open_m, rng.random(n))
    planned_open = open_date - np.rint(rng.normal(25, 35, n)).astype(int)
    planned_close = open_date + np.rint(s.planned_m * 30.44).astype(int)
    closed = opened & (s.close_m - 1 <= end)
    close_date = np.maximum(_dates(s.close_m - 1, rng.random(n)), open_date)
    open_now = opened & ~closed

    status = np.empty(n, dtype=object)
    status[closed] = np.array(CLOSED_STATUSES, dtype=object)[rng.integers(0, 2, int(closed.sum()))]
    status[open_now] = np.where(rng.random(int(open_now.sum())) < 0.03, "Suspended", "Open, With Recruitment")
    status[setup] = np.array(SETUP_STATUSES, dtype=object)[rng.integers(0, 3, int(setup.sum()))]
    status[withdrawn] = "Withdrawn During Setup"

    # -- local recruitment targets: about 70% of open studies on track (RTT >= 0) each quarter -----
    # NIHR 2018/19: 82% of non-commercial and 69% of commercial studies to time and target; locally lower.
    off_track_share = np.where(commercial, rng.uniform(0.08, 0.62, n), rng.uniform(0.04, 0.50, n))
    jitter = rng.random(n)
    # Commercial studies: on track at their latest quarter end about as often as nationally
    # (COMMERCIAL_ON_TRACK), the margin taken from the draws above (no new draws).
    spread = (off_track_share - 0.08) / 0.54
    on_track_now = jitter >= 1 - COMMERCIAL_ON_TRACK
    latest_factor = np.where(commercial, np.where(on_track_now, 0.7 + 0.28 * spread, 1.05 + 0.4 * spread), np.nan)
    sample_size = _targets(
        open_date,
        planned_close,
        close_date,
        closed,
        study_rows,
        month_rows,
        count_rows,
        end,
        off_track_share,
        jitter,
        latest_factor,
    )
    expected_total = rows["expected_monthly"] * s.planned_m
    no_pace = np.isnan(sample_size)
    sample_size[no_pace] = np.where(
        expected_total > 0, expected_total, np.exp(rng.normal(np.where(commercial, np.log(8), np.log(40)), 0.7))
    )[no_pace]
    sample_size = np.maximum(1, np.floor(sample_size)).astype(np.int64)

    # -- NCVR dates (commercial studies): set-up time falls from ~213 days after NCVR (October 2022) --
    history_start_date = np.datetime64("2018-04-01", "D")
    fp_in_history = commercial & opened & (recruited_total > 0) & (first_month <= end)
    fp_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    fp_month_date = _dates(np.where(fp_in_history, first_month, s.open_m), rng.random(n))
    fp_date[fp_in_history] = np.maximum(fp_month_date, open_date)[fp_in_history]
    before_history = commercial & opened & (open_date < history_start_date)
    fp_date[before_history] = (open_date + rng.integers(5, 60, n))[before_history]
    days_from_ncvr = (fp_date - np.datetime64("2022-10-01", "D")).astype(float)
    mean_days = np.where(
        np.isnan(days_from_ncvr) | (days_from_ncvr < 0), 213.0, np.maximum(140.0, 213.0 - 63.0 * days_from_ncvr / 548.0)
    )
    setup_days = np.rint(mean_days * np.exp(rng.normal(0.0, 0.3, n))).astype(int)  # median = mean_days
    costing = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    has_fp = ~np.isnat(fp_date)
    costing[has_fp] = (fp_date - setup_days)[has_fp]
    no_fp_open = commercial & opened & ~has_fp
    costing[no_fp_open] = (open_date - rng.integers(60, 200, n))[no_fp_open]
    pending = commercial & (setup | withdrawn)
    costing[pending] = np.minimum(planned_open - rng.integers(30, 150, n), end_date - rng.integers(10, 120, n))[pending]
    site_selected = costing - rng.integers(7, 60, n)

    codes = orgs["OrganisationCode"].to_numpy()
    yes_no = np.array(["N", "Y"], dtype=object)
    study_ids = [str(100_000 + icb.index * 20_000 + k) for k in range(n)]
    studies = pd.DataFrame(
        {
            "StudyId": study_ids,
            "StudyTitle": _titles(s, rng),
            "StudyRoute": np.where(commercial, "Commercial", "Non-commercial"),
            "StudyStatus": status.astype(str),
            "ManagingSpecialty": np.array(SPECIALTIES, dtype=object)[s.specialty],
            "CareSetting": np.array(CARE_SETTINGS, dtype=object)[s.setting],
            "NihrPortfolio": yes_no[s.portfolio.astype(int)],
            "LeadOrganisationCode": codes[lead],
            "CrossSystemPartnership": yes_no[s.cross.astype(int)],
            "PlannedOpeningDate": _iso(planned_open, np.ones(n, dtype=bool)),
            "ActualOpeningDate": _iso(open_date, opened),
            "PlannedClosureToRecruitmentDate": _iso(planned_close, ~withdrawn),
            "ActualClosureToRecruitmentDate": _iso(close_date, closed),
            "SampleSize": sample_size,
            "CostingSubmittedDate": _iso(costing, commercial & ~np.isnat(costing)),
            "SiteSelectedDate": _iso(site_selected, commercial & ~np.isnat(site_selected)),
            "FirstParticipantDate": _iso(fp_date, commercial & has_fp),
        }
    )

    labels = np.array(month_labels(HISTORY_START, end), dtype=object)
    # Rows sorted by study, organisation and month for a stable, readable file.
    row_order = np.lexsort((month_rows, rows["org"], study_rows))
    recruitment = pd.DataFrame(
        {
            "StudyId": pd.Categorical.from_codes(study_rows[row_order], categories=study_ids),
            "OrganisationCode": pd.Categorical.from_codes(rows["org"][row_order], categories=pd.Index(codes)),
            "Month": pd.Categorical.from_codes(month_rows[row_order] - HISTORY_START, categories=pd.Index(labels)),
            "Participants": count_rows[row_order].astype(np.int64),
        }
    )

    monthly = np.bincount(month_rows - HISTORY_START, weights=count_rows, minlength=len(labels)).astype(np.int64)
    return {
        "studies": studies,
        "recruitment": recruitment,
        "recruitment_imd": _imd_split(icb, monthly, labels, rng),
        "recruitment_ethnicity": _ethnicity_split(icb, monthly, labels, rng),
        # Not a table: each study's (planned) opening month, for cutting the data to an earlier quarter.
        "_open_month": pd.DataFrame({"open_month": s.open_m}),
    }


def _imd_split(icb: Icb, monthly: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Each month's participants by IMD decile: fewer from the most deprived deciles than the population."""
    deciles = pd.read_csv(
        REFERENCE_DATA_DIR / "icb22_population_by_imd19_decile_mid2020.csv", dtype={"icb22_code_h": str}
    )
    share = (
        deciles[deciles["icb22_code_h"] == icb.code].set_index("imd19_decile")["share"].reindex(range(1, 11)).fillna(0)
    )
    weights = share.to_numpy() * IMD_REPRESENTATION
    p = np.append(weights / weights.sum() * (1 - IMD_UNKNOWN), IMD_UNKNOWN)
    counts = rng.multinomial(monthly, p)
    return pd.DataFrame(
        {
            "IcbCode": icb.code,
            "Month": np.repeat(labels, 11),
            "ImdDecile": pd.array(np.tile(list(range(1, 11)) + [None], len(labels)), dtype="Int64"),
            "Participants": counts.ravel().astype(np.int64),
        }
    )


def _ethnicity_split(icb: Icb, monthly: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Each month's participants by ethnic group: minority groups under-represented."""
    population = np.array(ICB_ETHNICITY.get(icb.code, DEFAULT_ETHNICITY))
    weights = population / population.sum() * ETHNIC_REPRESENTATION
    p = np.append(weights / weights.sum() * (1 - ETHNICITY_NOT_STATED), ETHNICITY_NOT_STATED)
    counts = rng.multinomial(monthly, p)
    return pd.DataFrame(
        {
            "IcbCode": icb.code,
            "Month": np.repeat(labels, 6),
            "EthnicGroup": np.tile(ETHNIC_GROUPS + ["Not stated"], len(labels)),
            "Participants": counts.ravel().astype(np.int64),
        }
    )
