"""Build small typed tables by hand for KPI tests, typed exactly as helpers.loading returns them."""

from __future__ import annotations

import pandas as pd

from helpers.contract import CONTRACT, SCHEMAS, typed_dtype
from helpers.loading import Data

ORGANISATIONS = [
    # code, type, place, ICB
    ("RKB", "acute", "Coventry", "QWU"),
    ("RJC", "acute", "South Warwickshire", "QWU"),
    ("M86001", "gp_practice", "Coventry", "QWU"),
    ("M86002", "gp_practice", "Warwickshire North", "QWU"),
    ("RRK", "acute", "Birmingham", "QHL"),
]


def typed(table: str, rows: list[dict]) -> pd.DataFrame:
    """A frame of ``table`` with every contract column (missing values blank), typed per the contract."""
    spec = CONTRACT[table]
    frame = pd.DataFrame(rows, columns=list(spec.column_names))
    for column in spec.columns:
        dtype = typed_dtype(column)
        if dtype == "datetime64[ns]":
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[ns]")
        elif dtype == "bool":
            frame[column.name] = frame[column.name].astype(bool)
        else:
            frame[column.name] = frame[column.name].astype(dtype)
    return SCHEMAS[table].validate(frame)  # hand-made test tables meet the contract too


def organisations(rows=ORGANISATIONS) -> pd.DataFrame:
    return typed(
        "organisations",
        [
            {"OrganisationCode": c, "OrganisationName": f"Org {c}", "OrganisationType": t, "Place": p, "IcbCode": i}
            for c, t, p, i in rows
        ],
    )


def study(
    study_id: str,
    opened=None,
    closed=None,
    *,
    lead="RKB",
    route="Non-commercial",
    portfolio=True,
    cross=False,
    setting="acute",
    specialty="Cancer",
    planned_close=None,
    sample=None,
    **dates,
) -> dict:
    """One studies row; ``dates`` may set CostingSubmittedDate, FirstParticipantDate and so on."""
    return {
        "StudyId": study_id,
        "StudyTitle": f"Study {study_id}",
        "StudyRoute": route,
        "StudyStatus": "Open, With Recruitment",
        "ManagingSpecialty": specialty,
        "CareSetting": setting,
        "NihrPortfolio": portfolio,
        "LeadOrganisationCode": lead,
        "CrossSystemPartnership": cross,
        "ActualOpeningDate": opened,
        "ActualClosureToRecruitmentDate": closed,
        "PlannedClosureToRecruitmentDate": planned_close,
        "SampleSize": sample,
        **dates,
    }


def make_data(**tables) -> Data:
    """A :class:`helpers.loading.Data` from row lists (or ready frames); organisations default to
    :data:`ORGANISATIONS`."""
    frames = {"organisations": organisations()}
    for name, rows in tables.items():
        frames[name] = rows if isinstance(rows, pd.DataFrame) else typed(name, rows)
    return Data(**frames)
