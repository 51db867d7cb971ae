"""helpers.contract: the schemas match docs/data_contract.md and describe the typed frames."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from helpers.contract import (
    COMPARABLE_KPIS,
    CONTRACT,
    ENGAGEMENT_MEASURES,
    ICB_REFERENCE,
    OPTIONAL_TABLES,
    PEOPLE_COUNT_MEASURES,
    SCHEMAS,
    TABLES,
    TEXT_DTYPE,
    VALUE_SCHEMAS,
    typed_dtype,
)
from helpers.paths import PROJ_ROOT

DOC = (PROJ_ROOT / "docs" / "data_contract.md").read_text(encoding="utf-8")


def _doc_sections() -> dict[str, str]:
    parts = re.split(r"^## ", DOC, flags=re.MULTILINE)
    return {part.split("\n", 1)[0].strip(): part for part in parts[1:]}


def _doc_columns(section: str) -> list[str]:
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def _doc_key(section: str) -> tuple[str, ...]:
    match = re.search(r"^Key: \(([^)]*)\)", section, flags=re.MULTILINE)
    if match:
        return tuple(re.findall(r"`(\w+)`", match[1]))
    return tuple(re.findall(r"^\| `(\w+)` \|[^|]*\| yes, unique \|", section, flags=re.MULTILINE))


def test_tables_in_order():
    assert TABLES == (
        "organisations",
        "studies",
        "recruitment",
        "recruitment_imd",
        "recruitment_ethnicity",
        "finance",
        "workforce",
        "innovations",
        "innovation_benefits",
        "engagement",
        "deliverables",
    )


def test_the_document_lists_the_same_tables_columns_and_keys():
    sections = _doc_sections()
    assert [name for name in sections if name in CONTRACT] == list(CONTRACT) == [*TABLES, *OPTIONAL_TABLES]
    for name, table in CONTRACT.items():
        assert _doc_columns(sections[name]) == list(table.column_names), name
        assert _doc_key(sections[name]) == table.key, name


def test_the_document_lists_the_allowed_values():
    sections = _doc_sections()
    for name, table in CONTRACT.items():
        for column in table.columns:
            for value in column.allowed:
                assert f"`{value}`" in sections[name], (name, column.name, value)


def test_keys_and_references_name_real_columns():
    for table in CONTRACT.values():
        assert set(table.key) <= set(table.column_names)
        for column in table.columns:
            if column.references and column.references != ICB_REFERENCE:
                parent, parent_column = column.references.split(".")
                assert parent_column in CONTRACT[parent].column_names
                assert TABLES.index(parent) < TABLES.index(table.name)  # parents are read first


def test_benchmarks_is_the_one_optional_table_and_no_section_reads_it():
    from helpers.pack_sections import ALL_TABLES, PACK_SECTIONS

    assert OPTIONAL_TABLES == ("benchmarks",) and "benchmarks" not in TABLES
    assert CONTRACT["benchmarks"].optional and not any(CONTRACT[t].optional for t in TABLES)
    assert CONTRACT["benchmarks"].key == ("IcbCode", "Quarter", "Kpi")
    assert CONTRACT["benchmarks"].column("Kpi").allowed == COMPARABLE_KPIS
    assert "benchmarks" not in ALL_TABLES and not any("benchmarks" in s.tables for s in PACK_SECTIONS)


def test_column_facts():
    assert CONTRACT["recruitment"].people_counts == ("Participants",)
    assert CONTRACT["workforce"].people_counts == ("ResearchActiveStaff", "JointAppointments")
    assert CONTRACT["engagement"].people_counts == ()  # depends on Measure: PEOPLE_COUNT_MEASURES
    assert set(PEOPLE_COUNT_MEASURES) < set(ENGAGEMENT_MEASURES)
    assert CONTRACT["studies"].date_columns[:2] == ("PlannedOpeningDate", "ActualOpeningDate")
    assert CONTRACT["recruitment_imd"].month_columns == ("Month",)
    assert CONTRACT["deliverables"].quarter_columns == ("DueQuarter", "Quarter")
    assert CONTRACT["deliverables"].column("DueQuarter").future_allowed
    assert not CONTRACT["deliverables"].column("Quarter").future_allowed
    with pytest.raises(KeyError):
        CONTRACT["studies"].column("NoSuchColumn")
    assert typed_dtype(CONTRACT["recruitment"].column("Participants")) == "int64"
    assert typed_dtype(CONTRACT["studies"].column("SampleSize")) == "Int64"
    assert typed_dtype(CONTRACT["studies"].column("StudyId")) == TEXT_DTYPE


def _typed_recruitment() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "StudyId": pd.array(["12345", "00123"], dtype=TEXT_DTYPE),
            "OrganisationCode": pd.array(["RKB", "RKB"], dtype=TEXT_DTYPE),
            "Month": pd.to_datetime(["2026-07-01", "2026-08-01"]).astype("datetime64[ns]"),
            "Participants": np.array([3, 0], dtype="int64"),
        }
    )


def test_schema_accepts_a_typed_frame():
    SCHEMAS["recruitment"].validate(_typed_recruitment())


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(Participants=f["Participants"].astype("float64")),  # counts are int64
        lambda f: f.assign(Month=f["Month"].dt.strftime("%Y-%m")),  # months are datetimes
        lambda f: f.assign(Month=f["Month"] + pd.Timedelta(days=3)),  # on the first of the month
        lambda f: f.assign(Participants=[3, -1]),  # never negative
        lambda f: f[["OrganisationCode", "StudyId", "Month", "Participants"]],  # column order
        lambda f: f.assign(Extra=1),  # no extra columns
    ],
    ids=["float-count", "text-month", "mid-month", "negative", "order", "extra"],
)
def test_schema_rejects_frames_off_the_convention(change):
    with pytest.raises((pa.errors.SchemaError, pa.errors.SchemaErrors)):
        SCHEMAS["recruitment"].validate(change(_typed_recruitment()))


def test_value_schema_checks_rules_but_not_dtypes_or_blanks():
    frame = _typed_recruitment().assign(Participants=pd.array([-3, None], dtype="Int64"))
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        VALUE_SCHEMAS["recruitment"].validate(frame, lazy=True)
    assert caught.value.failure_cases["check"].tolist() == ["must be 0 or more"]
    with pytest.raises(pa.errors.SchemaErrors):  # the typed frames' schema refuses blanks
        SCHEMAS["recruitment"].validate(frame.assign(Participants=[3, None]), lazy=True)
    organisations = pd.DataFrame(
        {
            "OrganisationCode": ["RKB"],
            "OrganisationName": ["x"],
            "OrganisationType": ["hospital"],
            "Place": ["p"],
            "IcbCode": ["QWU"],
        }
    ).astype(TEXT_DTYPE)
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        VALUE_SCHEMAS["organisations"].validate(organisations, lazy=True)
    assert "must be one of: acute" in caught.value.failure_cases["check"].iat[0]
