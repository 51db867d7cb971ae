"""The extract as it stood at an earlier quarter's end, cut from data generated to a later one.

:func:`sampledata.generate.generate_icb` always simulates up to a fixed horizon quarter (at least
the quarter asked for) with the same random draws, then :func:`cut` keeps what an extract taken at
the end of the quarter asked for would have held. So the data generated to 2026/27 Q1 are the data
generated to 2026/27 Q2 cut at Q1's end, and a Q2 pack restates only what real data would restate:

- rows dated after the quarter's end are absent (months, quarters, stage dates);
- studies' snapshot columns are as they stood at the quarter's end: dates after it are blank
  (opening, closure, NCVR dates), the status follows (a study not yet open is in set-up, one not yet
  closed is open), and studies planned to open more than six months later are not yet listed;
- **late uploads**: a few organisations' recruitment of the quarter's last month (about 2-5% of
  that month's participants, seeded) is not yet uploaded; the IMD and ethnicity breakdowns of that
  month lack the same participants. The extract of the next quarter has them.

Planned dates, targets (``SampleSize``), titles and the other study attributes are the horizon's:
they are study records, not figures of the quarter. docs/sample_data.md describes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.quarters import Quarter, parse
from sampledata.activity import CLOSED_STATUSES, HISTORY_START, SETUP_HORIZON, SETUP_STATUSES, _hashed_uniform

# Late uploads of the last month of a cut extract: organisations (at most LATE_MAX_ORGS) whose
# recruitment of that month together makes LATE_SHARE of its participants.
LATE_SHARE = (0.02, 0.05)
LATE_MAX_ORGS = 4
SUSPENDED_SHARE = 0.03  # of studies open at the cut that the horizon shows closed (as in activity.py)
SNAPSHOT_DATES = (
    "ActualOpeningDate",
    "ActualClosureToRecruitmentDate",
    "CostingSubmittedDate",
    "SiteSelectedDate",
    "FirstParticipantDate",
)


def _month_index(day) -> int:
    return day.year * 12 + day.month - 1


def _blank_after(column: pd.Series, end: pd.Timestamp) -> pd.Series:
    """ISO date text with dates after ``end`` blanked (None)."""
    values = column.to_numpy(dtype=object, copy=True)
    after = (pd.to_datetime(column) > end).to_numpy()
    values[after] = None
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def _studies(studies: pd.DataFrame, open_month: np.ndarray, to: Quarter) -> pd.DataFrame:
    end = pd.Timestamp(to.end)
    end_month = _month_index(to.end)
    keep = open_month <= end_month + SETUP_HORIZON
    out = studies.loc[keep].reset_index(drop=True)
    month = open_month[keep]
    for column in SNAPSHOT_DATES:
        out[column] = _blank_after(out[column], end)
    opened = out["ActualOpeningDate"].notna().to_numpy()
    closed = out["ActualClosureToRecruitmentDate"].notna().to_numpy()
    before = out["StudyStatus"].to_numpy(dtype=object)
    status = before.copy()
    ids = out["StudyId"].to_numpy()
    for i in range(len(out)):
        if before[i] == "Withdrawn During Setup":
            setup = month[i] > end_month  # withdrawn after this quarter: still in set-up at its end
        else:
            setup = not opened[i]
        if setup and not before[i].startswith("In Setup"):
            pick = int(_hashed_uniform("cut-setup", ids[i]) * len(SETUP_STATUSES))
            status[i] = SETUP_STATUSES[pick]
        elif opened[i] and not closed[i] and before[i] in CLOSED_STATUSES:
            suspended = _hashed_uniform("cut-open", ids[i]) < SUSPENDED_SHARE
            status[i] = "Suspended" if suspended else "Open, With Recruitment"
    out["StudyStatus"] = status.astype(str)
    return out


def _late_uploads(last: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    """Organisations whose recruitment of the last month is uploaded late (seeded)."""
    by_org = last.groupby(last["OrganisationCode"].astype(str))["Participants"].sum().sort_index()
    total = int(by_org.sum())
    if total == 0:
        return []
    wanted = rng.uniform(*LATE_SHARE) * total
    cap = LATE_SHARE[1] * total
    chosen, late = [], 0
    for code in by_org.index[rng.permutation(len(by_org))]:
        # An organisation is taken if it fits under the cap and is big enough to leave the share
        # within reach of the remaining organisations (so a few tiny ones do not use up the slots).
        useful = by_org[code] >= (wanted - late) / (LATE_MAX_ORGS - len(chosen)) / 2
        if late + by_org[code] <= cap and useful:
            chosen.append(code)
            late += int(by_org[code])
        if late >= wanted or len(chosen) == LATE_MAX_ORGS:
            break
    return sorted(chosen)


def _split_less(split: pd.DataFrame, month: str, late: int, rng: np.random.Generator) -> pd.DataFrame:
    """A monthly breakdown with ``late`` participants of ``month`` taken out at random."""
    out = split.reset_index(drop=True)
    if late == 0:
        return out
    rows = np.flatnonzero(out["Month"].astype(str).to_numpy() == month)
    counts = out.loc[rows, "Participants"].to_numpy(dtype=np.int64)
    removed = rng.multivariate_hypergeometric(counts, late)
    participants = out["Participants"].to_numpy(copy=True)
    participants[rows] = counts - removed
    out["Participants"] = participants
    return out


def _by_quarter(table: pd.DataFrame, to: Quarter) -> pd.DataFrame:
    labels = table["Quarter"].astype(str)
    keep = labels.map({label: parse(label) <= to for label in labels.unique()})
    return table.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)


def cut(
    tables: dict[str, pd.DataFrame], open_month: np.ndarray, to: Quarter, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """One ICB's tables as extracted at ``to``'s end (see the module's docstring).

    ``tables`` were generated to a later quarter; ``open_month`` is each study's (planned) opening
    month index (year x 12 + month - 1); ``rng`` draws the late uploads only.
    """
    end = pd.Timestamp(to.end)
    end_month = _month_index(to.end)
    last_label = f"{end_month // 12}-{end_month % 12 + 1:02d}"
    out = {"organisations": tables["organisations"], "studies": _studies(tables["studies"], open_month, to)}

    recruitment = tables["recruitment"]
    month_code = recruitment["Month"].cat.codes.to_numpy()
    last_code = end_month - HISTORY_START
    recruitment = recruitment.loc[month_code <= last_code]
    is_last = recruitment["Month"].cat.codes.to_numpy() == last_code
    late_orgs = _late_uploads(recruitment.loc[is_last], rng)
    is_late = is_last & recruitment["OrganisationCode"].astype(str).isin(late_orgs).to_numpy()
    late = int(recruitment.loc[is_late, "Participants"].sum())
    recruitment = recruitment.loc[~is_late].reset_index(drop=True)
    months = recruitment["Month"].cat.categories
    recruitment["Month"] = recruitment["Month"].cat.set_categories(months[: last_code + 1])
    out["recruitment"] = recruitment

    for name in ("recruitment_imd", "recruitment_ethnicity"):
        split = tables[name]
        split = split.loc[(split["Month"].astype(str) <= last_label).to_numpy()]
        out[name] = _split_less(split, last_label, late, rng)

    for name in ("finance", "workforce", "innovation_benefits", "engagement", "deliverables"):
        out[name] = _by_quarter(tables[name], to)

    innovations = tables["innovations"]
    identified = innovations.loc[innovations["Stage"] == "identified"].set_index("InnovationId")["StageDate"]
    # An innovation identified in the last 30 days of the quarter is not yet in the pipeline (as generated).
    listed = identified.index[pd.to_datetime(identified) <= end - pd.Timedelta(days=30)]
    keep = innovations["InnovationId"].isin(listed) & (pd.to_datetime(innovations["StageDate"]) <= end)
    out["innovations"] = innovations.loc[keep.to_numpy()].reset_index(drop=True)
    return {name: out[name] for name in tables}


__all__ = ["cut", "LATE_SHARE", "LATE_MAX_ORGS"]
