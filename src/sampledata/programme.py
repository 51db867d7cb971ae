"""Synthetic programme tables for one ICB: finance, workforce, innovations, engagement, deliverables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.quarters import Quarter, parse, quarter_range
from sampledata.orgs import Icb

FIRST_QUARTER = parse("2018/19 Q1")
PLAN_START = parse("2022/23 Q3")  # first quarter the plan's deliverables are reported
PORTAL_LAUNCH = parse("2024/25 Q1")  # the PPIE portal (deliverable D09, delivered a quarter late)
QWU_POPULATION = 963_173
# Commercial contract income by financial year relative to 2022/23 (the plan's baseline): the
# recovery after Covid, then growth towards doubling by 2027/28 but behind a straight-line trajectory.
COMMERCIAL_INDEX = {
    2018: 0.95,
    2019: 1.0,
    2020: 0.55,
    2021: 0.80,
    2022: 1.0,
    2023: 1.12,
    2024: 1.25,
    2025: 1.38,
    2026: 1.52,
}
COMMERCIAL_QUARTER_2022_GBP = 700_000  # Coventry and Warwickshire, all organisations
# Relative size of each QWU provider's research activity (income and staff).
QWU_TRUST_SIZE = {"RKB": 1.0, "RJC": 0.35, "RLT": 0.2, "RYG": 0.25, "RYA": 0.06}
QWU_JOINT_START = {"RKB": 11, "RJC": 3, "RLT": 1, "RYG": 2, "RYA": 0}

INNOVATION_NAMES = [
    "Virtual ward for frailty",
    "AI-assisted chest X-ray triage",
    "Remote monitoring for COPD",
    "Digital pulmonary rehabilitation",
    "Point-of-care HbA1c testing in community pharmacy",
    "Electronic prescribing in care homes",
    "Falls prevention sensors in care homes",
    "Digital cognitive behavioural therapy",
    "Heart failure natriuretic peptide pathway",
    "Lipid management pathway in primary care",
    "FeNO testing for asthma in primary care",
    "Ambient voice technology for clinic letters",
    "Atrial fibrillation detection with handheld ECG",
    "Teledermatology triage",
    "Same-day emergency care streaming",
    "Closed-loop insulin delivery",
    "Social prescribing link-worker referrals",
    "Blood pressure monitoring at home",
]
PHARMACY_PROJECT = "Pharmacy Clinical Trials Alignment Project"
BENEFIT_MEASURES = [  # (measure, unit, typical value per quarter)
    ("Cash-releasing savings", "GBP", 25_000.0),
    ("Clinician hours released", "hours", 300.0),
    ("Bed days saved", "days", 120.0),
    ("Patients benefiting", "patients", 150.0),
]
PHARMACY_BENEFITS = [
    ("Trial set-up days saved", "days", 45.0),
    ("Pharmacy staff hours released", "hours", 220.0),
    ("Cash-releasing savings", "GBP", 18_000.0),
]
STAGES = ["identified", "assessed", "piloting", "adopting", "business_as_usual"]

# The plan's milestones ("Key Metrics and Deliverables" and the two-year focus), their owners, due
# quarters and status history: (quarter from which a status holds, status).
DELIVERABLES = [
    (
        "D01",
        "Engagement programme to inform the development of the new {area} Health and Wellbeing Research and "
        "Innovation Strategy completed.",
        "ICB Director of Research and Innovation",
        "2023/24 Q1",
        [("2022/23 Q3", "on_track"), ("2023/24 Q1", "complete")],
    ),
    (
        "D02",
        "New {area} Health and Wellbeing Research and Innovation Strategy published, alongside aligned Delivery "
        "Plan and Framework.",
        "ICB Director of Research and Innovation",
        "2023/24 Q2",
        [
            ("2022/23 Q3", "not_started"),
            ("2023/24 Q1", "on_track"),
            ("2023/24 Q2", "delayed"),
            ("2023/24 Q3", "complete"),
        ],
    ),
    (
        "D03",
        "Double income from commercial research by 2028.",
        "ICS Research Stakeholder Committee",
        "2027/28 Q4",
        [("2022/23 Q3", "on_track"), ("2024/25 Q3", "at_risk"), ("2025/26 Q1", "on_track"), ("2025/26 Q4", "at_risk")],
    ),
    (
        "D04",
        "Deliver at least 5 Clinical Research Network Portfolio Studies requiring cross system partnership working "
        "between NHS organisations and social care partners by 2026.",
        "Director of Adult Social Care",
        "2025/26 Q4",
        [
            ("2022/23 Q3", "not_started"),
            ("2022/23 Q4", "on_track"),
            ("2024/25 Q4", "at_risk"),
            ("2025/26 Q3", "complete"),
        ],
    ),
    (
        "D05",
        "Increase the number of NIHR Studies currently open across the system to more than 100% of pre-Covid "
        "pandemic levels by the end of 2023/24.",
        "Trust R&D Directors",
        "2023/24 Q4",
        [("2022/23 Q3", "on_track"), ("2023/24 Q4", "complete")],
    ),
    (
        "D06",
        "Quantify the benefits from the system wide Pharmacy Clinical Trials Alignment Project by the end of "
        "quarter 1 2024/25.",
        "ICB Chief Pharmacist",
        "2024/25 Q1",
        [("2022/23 Q3", "on_track"), ("2023/24 Q4", "at_risk"), ("2024/25 Q1", "delayed"), ("2024/25 Q2", "complete")],
    ),
    (
        "D07",
        "Develop a pathway for the adoption of innovation and strengthen Quality Improvement as a methodology to "
        "embed research outcomes and proven innovation into clinical practice.",
        "Innovation Partnership Group chair",
        "2024/25 Q4",
        [
            ("2022/23 Q3", "not_started"),
            ("2023/24 Q1", "on_track"),
            ("2024/25 Q3", "at_risk"),
            ("2024/25 Q4", "delayed"),
            ("2025/26 Q2", "complete"),
        ],
    ),
    (
        "D08",
        "This plan will be updated to reflect the new {area} Health and Wellbeing Research and Innovation Strategy "
        "by the end of March 2024.",
        "ICB Director of Strategy",
        "2023/24 Q4",
        [
            ("2022/23 Q3", "not_started"),
            ("2023/24 Q3", "on_track"),
            ("2023/24 Q4", "delayed"),
            ("2024/25 Q1", "complete"),
        ],
    ),
    (
        "D09",
        "Develop a Patient and Public Involvement and Engagement portal for staff and patients to register interest "
        "in research.",
        "Head of Communities and Engagement",
        "2023/24 Q4",
        [
            ("2022/23 Q3", "not_started"),
            ("2023/24 Q1", "on_track"),
            ("2023/24 Q4", "delayed"),
            ("2024/25 Q1", "complete"),
        ],
    ),
    (
        "D10",
        "Assess the system with the NIHR Race Equality Framework Assessment Tool.",
        "ICB Director of Health Inequalities",
        "2024/25 Q2",
        [
            ("2022/23 Q3", "not_started"),
            ("2022/23 Q4", "on_track"),
            ("2024/25 Q2", "delayed"),
            ("2025/26 Q1", "complete"),
        ],
    ),
    (
        "D11",
        "Increase the number of joint appointments between the NHS and university partners.",
        "ICB Chief Medical Officer",
        "2025/26 Q4",
        [("2022/23 Q3", "on_track"), ("2025/26 Q2", "at_risk"), ("2025/26 Q4", "delayed")],
    ),
    (
        "D12",
        "Form an Innovation Partnership Group and identify mechanisms to maximise investment in innovation by 2025.",
        "Innovation Partnership Group chair",
        "2024/25 Q4",
        [("2022/23 Q3", "on_track"), ("2024/25 Q4", "complete")],
    ),
]


def _quarters(to: Quarter) -> list[Quarter]:
    return quarter_range(FIRST_QUARTER, to)


def _commercial_index(quarter: Quarter) -> float:
    last = max(COMMERCIAL_INDEX)
    if quarter.fy_start > last:
        return COMMERCIAL_INDEX[last] + 0.14 * (quarter.fy_start - last)
    return COMMERCIAL_INDEX[quarter.fy_start]


def _trust_sizes(icb: Icb, orgs: pd.DataFrame) -> pd.Series:
    """Research size of each NHS trust (1.0 = a large teaching trust)."""
    trusts = orgs[orgs["OrganisationType"].isin(["acute", "mental_health_community", "ambulance"])]
    if icb.code == "QWU":
        return pd.Series(
            [QWU_TRUST_SIZE[c] for c in trusts["OrganisationCode"]], index=trusts["OrganisationCode"].to_list()
        )
    size = {"acute": 0.3, "mental_health_community": 0.25, "ambulance": 0.06}
    sizes = [size[t] for t in trusts["OrganisationType"]]
    sizes[0] = 1.0 * icb.population / 1_500_000 + 0.4  # the teaching trust
    return pd.Series(sizes, index=trusts["OrganisationCode"].to_list())


def finance(icb: Icb, orgs: pd.DataFrame, to: Quarter, active_gp: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Research income per quarter, organisation and stream."""
    scale = icb.population / QWU_POPULATION
    sizes = _trust_sizes(icb, orgs)
    gp_commercial = sorted(active_gp)[: max(2, round(len(active_gp) * 0.08))]
    universities = orgs.loc[orgs["OrganisationType"] == "university", "OrganisationCode"].to_list()
    councils = orgs.loc[orgs["OrganisationType"] == "local_authority", "OrganisationCode"].to_list()
    rows: list[tuple[str, str, str, float]] = []
    for quarter in _quarters(to):
        growth = 1.02 ** ((quarter.ordinal - FIRST_QUARTER.ordinal) / 4)
        commercial_total = COMMERCIAL_QUARTER_2022_GBP * scale * _commercial_index(quarter)
        shares = pd.concat([sizes, pd.Series(0.03, index=gp_commercial)])
        shares = shares / shares.sum()
        for code, share in shares.items():
            rows.append((quarter.label, code, "commercial_contract", commercial_total * share * rng.lognormal(0, 0.15)))
        for code, size in sizes.items():
            rows.append(
                (
                    quarter.label,
                    code,
                    "nihr_infrastructure",
                    1_100_000 * scale * size / sizes.sum() * growth * rng.lognormal(0, 0.05),
                )
            )
            rows.append((quarter.label, code, "grants", 150_000 * size * rng.lognormal(0, 0.4)))
            rows.append((quarter.label, code, "other", 40_000 * size * rng.lognormal(0, 0.5)))
        for code in active_gp:
            rows.append((quarter.label, code, "nihr_infrastructure", 3_000 * rng.lognormal(0, 0.5)))
        for code in universities:
            rows.append((quarter.label, code, "grants", 700_000 * rng.lognormal(0, 0.3)))
        if icb.code == "QWU" and quarter >= parse("2022/23 Q4"):
            # NIHR Health Determinants Research Collaboration in Coventry: about 5 million GBP over five years.
            rows.append((quarter.label, councils[0], "nihr_infrastructure", 250_000 * rng.lognormal(0, 0.05)))
    table = pd.DataFrame(rows, columns=["Quarter", "OrganisationCode", "IncomeStream", "AmountGBP"])
    table["AmountGBP"] = table["AmountGBP"].round(2)
    return table


def workforce(
    icb: Icb, orgs: pd.DataFrame, to: Quarter, active_gp: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Research-active staff and joint appointments at each quarter's end."""
    sizes = _trust_sizes(icb, orgs)
    quarters = _quarters(to)
    steps = np.arange(len(quarters))
    plan_step = PLAN_START.ordinal - FIRST_QUARTER.ordinal
    covid = np.array([q.fy_start == 2020 for q in quarters])
    frames = []
    for code, size in sizes.items():
        staff = 420 * size * 1.025 ** (steps / 4) * np.where(covid, 1.08, 1.0) * rng.lognormal(0, 0.03, len(steps))
        start = QWU_JOINT_START.get(code, round(11 * size)) if icb.code == "QWU" else round(11 * size)
        # Joint appointments rise slowly, a little faster once the plan starts; occasionally someone leaves.
        p_join = np.where(steps >= plan_step, 0.12, 0.06) * min(1.0, size * 1.5)
        change = (rng.random(len(steps)) < p_join).astype(int) - (rng.random(len(steps)) < 0.03).astype(int)
        joint = np.maximum(0, start + np.cumsum(change))
        frames.append((code, np.rint(staff), joint))
    academic_gp = set(sorted(active_gp)[: max(1, len(active_gp) // 15)])
    for code in active_gp:
        staff = np.clip(rng.integers(1, 5) + np.cumsum(rng.integers(-1, 2, len(steps))) // 4, 1, 8)
        joint = (
            np.where(steps >= rng.integers(0, len(steps) + 8), 1, 0)
            if code in academic_gp
            else np.zeros(len(steps), int)
        )
        frames.append((code, staff, joint))
    for code in orgs.loc[orgs["OrganisationType"].isin(["hospice", "local_authority"]), "OrganisationCode"]:
        staff = np.clip(rng.integers(0, 3) + steps // rng.integers(8, 20), 0, 15)
        frames.append((code, staff, np.zeros(len(steps), int)))
    # One frame built from whole columns: a frame per organisation is slow for the national sample.
    return pd.DataFrame(
        {
            "Quarter": np.tile(np.array([q.label for q in quarters], dtype=object), len(frames)),
            "OrganisationCode": np.repeat(np.array([code for code, _, _ in frames], dtype=object), len(steps)),
            "ResearchActiveStaff": np.concatenate([staff for _, staff, _ in frames]).astype(np.int64),
            "JointAppointments": np.concatenate([joint for _, _, joint in frames]).astype(np.int64),
        }
    )


def _date(day: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day)


def innovations(
    icb: Icb, orgs: pd.DataFrame, to: Quarter, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The innovation pipeline (one row per stage change) and the benefits quantified each quarter."""
    end = pd.Timestamp(to.end)
    leads = orgs.loc[
        orgs["OrganisationType"].isin(["acute", "mental_health_community", "other", "gp_practice"]), "OrganisationCode"
    ].to_list()
    leads = [c for c in leads if not c.startswith("Y9")] + sorted(c for c in leads if c.startswith("Y9"))[:3]
    n = int(np.clip(round(14 * icb.population / QWU_POPULATION), 6, len(INNOVATION_NAMES)))
    names = [INNOVATION_NAMES[i] for i in sorted(rng.choice(len(INNOVATION_NAMES), size=n, replace=False))]
    stage_rows, benefit_rows = [], []
    pharmacy_id = f"{icb.code}-INN-01"
    pharmacy_stages = [
        ("identified", "2022-07-15"),
        ("assessed", "2022-11-10"),
        ("piloting", "2023-04-03"),
        ("adopting", "2024-06-20"),
        ("business_as_usual", "2025-09-01"),
    ]
    lead_pharmacy = icb.code if icb.code != "QWU" else "RKB"
    for stage, day in pharmacy_stages:
        if _date(day) <= end:
            stage_rows.append((pharmacy_id, PHARMACY_PROJECT, stage, day, lead_pharmacy))
    # Benefits first quantified in 2024/25 Q2, a quarter after the plan's deadline.
    first_benefits = parse("2024/25 Q2")
    for quarter in quarter_range(first_benefits, to) if to >= first_benefits else []:
        ramp = min(1.0, 0.4 + 0.15 * (quarter.ordinal - first_benefits.ordinal))
        for measure, unit, typical in PHARMACY_BENEFITS:
            benefit_rows.append(
                (quarter.label, pharmacy_id, measure, unit, round(typical * ramp * rng.lognormal(0, 0.2), 2))
            )

    for k, name in enumerate(names, start=2):
        innovation_id = f"{icb.code}-INN-{k:02d}"
        # More innovations identified once the Innovation Partnership Group forms (2023).
        identified = _date("2018-06-01") + pd.Timedelta(days=int(rng.beta(2.2, 1.3) * 2900))
        stop_after = rng.choice([1, 2, 5], p=[0.12, 0.13, 0.75])  # stopped after assessment, after piloting, or never
        if k == 2:  # one early success, so every history from the plan's start has benefits to report
            identified, stop_after = _date("2019-04-01") + pd.Timedelta(days=int(rng.integers(0, 150))), 5
        if identified > end - pd.Timedelta(days=30):
            continue
        day = identified
        lead = leads[int(rng.integers(len(leads)))]
        measure, unit, typical = BENEFIT_MEASURES[int(rng.integers(len(BENEFIT_MEASURES)))]
        piloting_from = None
        for s, stage in enumerate(STAGES):
            if s > 0:
                day = day + pd.Timedelta(days=int(rng.integers(60, 300)))
            if day > end:
                break
            stage_rows.append((innovation_id, name, stage, day.date().isoformat(), lead))
            if stage == "piloting":
                piloting_from = Quarter.of_date(day).next()
            if s == stop_after:
                day = day + pd.Timedelta(days=int(rng.integers(60, 200)))
                if day <= end:
                    stage_rows.append((innovation_id, name, "stopped", day.date().isoformat(), lead))
                break
        stopped_quarter = Quarter.of_date(day) if stop_after < 5 else None
        if piloting_from is None or piloting_from > to:
            continue
        last = to if stopped_quarter is None else min(to, stopped_quarter)
        if last < piloting_from:
            continue
        for step, quarter in enumerate(quarter_range(piloting_from, last)):
            value = typical * min(1.0, 0.3 + 0.1 * step) * rng.lognormal(0, 0.3)
            benefit_rows.append((quarter.label, innovation_id, measure, unit, round(value, 2)))

    stages = pd.DataFrame(
        stage_rows, columns=["InnovationId", "InnovationName", "Stage", "StageDate", "LeadOrganisationCode"]
    )
    benefits = pd.DataFrame(benefit_rows, columns=["Quarter", "InnovationId", "BenefitMeasure", "Unit", "Value"])
    return stages, benefits


def engagement(icb: Icb, to: Quarter, rng: np.random.Generator) -> pd.DataFrame:
    """Public involvement and engagement measures per quarter (the portal's from its launch)."""
    scale = icb.population / QWU_POPULATION
    rows = []
    for quarter in _quarters(to):
        step = quarter.ordinal - FIRST_QUARTER.ordinal
        after_plan = max(0, quarter.ordinal - PLAN_START.ordinal)
        covid_pause = quarter == parse("2020/21 Q1")
        activities = 0 if covid_pause else rng.poisson((2.5 + 0.25 * after_plan) * scale**0.5)
        if quarter >= PLAN_START:  # the plan's engagement programme runs every quarter
            activities = max(activities, 1)
        contributors = rng.poisson(activities * 5.5)
        events = 0 if covid_pause else rng.poisson((1.5 + 0.1 * after_plan) * scale**0.5)
        attendance = int(rng.poisson(events * 35)) if events else 0
        bpor = rng.poisson(300 * scale * (1.8 if quarter.fy_start == 2020 else 1.0) * (1 + 0.02 * step))
        rows += [
            (quarter.label, "ppie_activities", activities),
            (quarter.label, "ppie_contributors", contributors),
            (quarter.label, "bpor_registrations", bpor),
            (quarter.label, "events", events),
            (quarter.label, "event_attendance", attendance),
        ]
        if quarter >= PORTAL_LAUNCH:
            since = quarter.ordinal - PORTAL_LAUNCH.ordinal
            rows.append((quarter.label, "portal_registrations", rng.poisson(min(220, 60 + 30 * since) * scale)))
    table = pd.DataFrame(rows, columns=["Quarter", "Measure", "Value"])
    table.insert(0, "IcbCode", icb.code)
    return table.astype({"Value": np.int64})


def deliverables(icb: Icb, to: Quarter) -> pd.DataFrame:
    """The plan's milestones with their status each quarter from the plan's start."""
    area = "Coventry and Warwickshire" if icb.code == "QWU" else icb.short_name
    rows = []
    if to < PLAN_START:
        return pd.DataFrame(
            columns=["IcbCode", "DeliverableId", "Deliverable", "Owner", "DueQuarter", "Quarter", "Status"]
        )
    for deliverable_id, text, owner, due, history in DELIVERABLES:
        for quarter in quarter_range(PLAN_START, to):
            status = [s for start, s in history if parse(start) <= quarter][-1]
            rows.append(
                (icb.code, deliverable_id, text.format(area=area), owner, parse(due).label, quarter.label, status)
            )
    return pd.DataFrame(
        rows, columns=["IcbCode", "DeliverableId", "Deliverable", "Owner", "DueQuarter", "Quarter", "Status"]
    )
