"""helpers.loading: typed frames, and every kind of bad input named by file, row and column."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from helpers.checks import nhs_number_valid
from helpers.contract import CONTRACT, TABLES
from helpers.loading import Data, DataError, Problem, check_data, format_report, load_data
from helpers.problems import MAX_MESSAGES
from helpers.readers import find_table_files

QUARTER = "2026/27 Q2"  # July-September 2026
MONTHS = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13) if (y, m) <= (2026, 9)]
QUARTERS = ["2025/26 Q1", "2025/26 Q2", "2025/26 Q3", "2025/26 Q4", "2026/27 Q1", "2026-27-Q2"]


def valid_tables() -> dict[str, pd.DataFrame]:
    """A small folder that meets the contract, every value as text (as an analyst's CSV holds it)."""
    t = {}
    t["organisations"] = pd.DataFrame(
        {
            "OrganisationCode": ["RKB", "M85001", "00123"],
            "OrganisationName": [
                "University Hospitals Coventry and Warwickshire",
                "Café Surgery",
                "Warwickshire County Council",
            ],
            "OrganisationType": ["acute", "gp_practice", "local_authority"],
            "Place": ["Coventry", "Coventry", "Warwickshire"],
            "IcbCode": ["QWU", "QWU", "QWU"],
        }
    )
    t["studies"] = pd.DataFrame(
        {
            "StudyId": ["12345", "23456"],
            "StudyTitle": ["Heart failure trial", "Frailty in care homes"],
            "StudyRoute": ["Commercial", "Non-commercial"],
            "StudyStatus": ["Open, With Recruitment", "Open, With Recruitment"],
            "ManagingSpecialty": ["Cardiovascular Disease", "Ageing"],
            "CareSetting": ["acute", "social_care"],
            "NihrPortfolio": ["Y", "N"],
            "LeadOrganisationCode": ["RKB", "00123"],
            "CrossSystemPartnership": ["N", "Y"],
            "PlannedOpeningDate": ["2024-12-01", "2025-02-01"],
            "ActualOpeningDate": ["2025-01-10", "2025-03-15"],
            "PlannedClosureToRecruitmentDate": ["2027-06-30", ""],
            "ActualClosureToRecruitmentDate": ["", ""],
            "SampleSize": ["120", ""],
            "CostingSubmittedDate": ["2024-09-01", ""],
            "SiteSelectedDate": ["2024-10-01", ""],
            "FirstParticipantDate": ["2025-01-20", ""],
        }
    )
    recruitment = [("12345", "RKB", m, "3") for m in MONTHS]
    recruitment += [("23456", "00123", m, "2") for m in MONTHS if m >= "2025-03"]
    t["recruitment"] = pd.DataFrame(recruitment, columns=["StudyId", "OrganisationCode", "Month", "Participants"])
    t["recruitment_imd"] = pd.DataFrame(
        [("QWU", m, d, "1") for m in MONTHS for d in ("1", "5", "")],
        columns=["IcbCode", "Month", "ImdDecile", "Participants"],
    )
    t["recruitment_ethnicity"] = pd.DataFrame(
        [("QWU", m, g, "1") for m in MONTHS for g in ("White", "Not stated")],
        columns=["IcbCode", "Month", "EthnicGroup", "Participants"],
    )
    t["finance"] = pd.DataFrame(
        [(q, "RKB", "commercial_contract", "1500.50") for q in QUARTERS],
        columns=["Quarter", "OrganisationCode", "IncomeStream", "AmountGBP"],
    )
    t["workforce"] = pd.DataFrame(
        [(q, o, "10", "1") for q in QUARTERS for o in ("RKB", "00123")],
        columns=["Quarter", "OrganisationCode", "ResearchActiveStaff", "JointAppointments"],
    )
    t["innovations"] = pd.DataFrame(
        {
            "InnovationId": ["INN1", "INN1"],
            "InnovationName": ["Virtual ward", "Virtual ward"],
            "Stage": ["identified", "piloting"],
            "StageDate": ["2025-05-01", "2026-01-10"],
            "LeadOrganisationCode": ["RKB", "RKB"],
        }
    )
    t["innovation_benefits"] = pd.DataFrame(
        {
            "Quarter": ["2026-27-Q1"],
            "InnovationId": ["INN1"],
            "BenefitMeasure": ["Clinician hours released"],
            "Unit": ["hours"],
            "Value": ["120.5"],
        }
    )
    t["engagement"] = pd.DataFrame(
        {
            "IcbCode": ["QWU", "QWU"],
            "Quarter": ["2026-27-Q1", "2026-27-Q2"],
            "Measure": ["ppie_activities", "ppie_activities"],
            "Value": ["4", "5"],
        }
    )
    t["deliverables"] = pd.DataFrame(
        {
            "IcbCode": ["QWU"],
            "DeliverableId": ["D1"],
            "Deliverable": ["Publish the R&I strategy"],
            "Owner": ["Director of R&I"],
            "DueQuarter": ["2027-28-Q1"],
            "Quarter": ["2026-27-Q2"],
            "Status": ["on_track"],
        }
    )
    return t


def write_folder(folder: Path, tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``tables`` (default: the valid ones) as UTF-8 CSVs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (tables or valid_tables()).items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def problems_of(folder: Path, quarter: str | None = QUARTER) -> list[Problem]:
    return check_data(folder, quarter)[1]


def only(problems: list[Problem], **where) -> Problem:
    """The single problem matching every given attribute."""
    matching = [p for p in problems if all(getattr(p, k) == v for k, v in where.items())]
    assert len(matching) == 1, f"expected one problem with {where}, got:\n{format_report(problems)}"
    return matching[0]


def edited(tmp_path: Path, table: str, index: int, column: str, value: str) -> Path:
    tables = valid_tables()
    tables[table].loc[index, column] = value
    return write_folder(tmp_path / "data", tables)


# -- the valid folder ------------------------------------------------------------------------


def test_valid_folder_loads_into_typed_frames(tmp_path):
    folder = write_folder(tmp_path / "data")
    data = load_data(folder, QUARTER)
    assert isinstance(data, Data)
    assert data.files == {t: folder / f"{t}.csv" for t in TABLES}
    assert data.warnings == []
    org = data.organisations
    assert list(org["OrganisationCode"]) == ["RKB", "M85001", "00123"]  # leading zeros kept
    assert pd.api.types.is_string_dtype(org["OrganisationCode"])
    rec = data.recruitment
    assert rec["Participants"].dtype == "int64"
    assert rec["Month"].dtype == "datetime64[ns]"
    assert (rec["Month"].dt.day == 1).all()
    assert rec["Month"].max() == pd.Timestamp("2026-09-01")
    studies = data.studies
    assert studies["NihrPortfolio"].dtype == bool and list(studies["NihrPortfolio"]) == [True, False]
    assert studies["ActualOpeningDate"].dtype == "datetime64[ns]"
    assert studies["ActualClosureToRecruitmentDate"].isna().all()
    assert studies["SampleSize"].dtype == "Int64" and studies["SampleSize"].isna().tolist() == [False, True]
    assert list(data.finance["Quarter"]) == [
        "2025-26-Q1",
        "2025-26-Q2",
        "2025-26-Q3",
        "2025-26-Q4",
        "2026-27-Q1",
        "2026-27-Q2",
    ]
    assert data.finance["AmountGBP"].dtype == "float64"
    assert data.recruitment_imd["ImdDecile"].dtype == "Int64"
    assert data.recruitment_imd["ImdDecile"].isna().sum() == len(MONTHS)
    assert data.deliverables["DueQuarter"].tolist() == ["2027-28-Q1"]
    for table in TABLES:
        frame = data.table(table)
        assert list(frame.columns) == list(CONTRACT[table].column_names)
        assert isinstance(frame.index, pd.RangeIndex)


def test_tables_argument_returns_only_those_tables_but_checks_their_links(tmp_path):
    tables = valid_tables()
    tables["studies"].loc[0, "StudyId"] = "99999"  # recruitment rows for 12345 now point nowhere
    folder = write_folder(tmp_path / "data", tables)
    with pytest.raises(DataError) as caught:
        load_data(folder, QUARTER, tables=["recruitment"])
    assert any(
        p.file == "recruitment.csv" and p.column == "StudyId" and "'12345' is not in studies.csv" in p.message
        for p in caught.value.problems
    )
    data = load_data(write_folder(tmp_path / "ok"), QUARTER, tables=["recruitment"])
    assert data.recruitment is not None and data.studies is None and data.finance is None
    with pytest.raises(ValueError, match="unknown table"):
        load_data(folder, QUARTER, tables=["recruits"])


# -- finding the files -----------------------------------------------------------------------


def test_find_table_files_mixes_formats_and_ignores_other_files(tmp_path):
    folder = write_folder(tmp_path / "data")
    pd.read_csv(folder / "finance.csv", dtype=str).to_parquet(folder / "finance.parquet")
    (folder / "finance.csv").unlink()
    (folder / "notes.txt").write_text("not a table")
    (folder / "old_recruitment.csv").write_text("x")
    files = find_table_files(folder)
    assert files["finance"] == folder / "finance.parquet"
    assert list(files) == list(TABLES)


def test_two_files_for_one_table_is_an_error(tmp_path):
    folder = write_folder(tmp_path / "data")
    pd.read_csv(folder / "finance.csv", dtype=str).to_parquet(folder / "finance.parquet")
    with pytest.raises(DataError) as caught:
        find_table_files(folder)
    assert "finance.csv" in str(caught.value) and "finance.parquet" in str(caught.value)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="data folder not found"):
        load_data(tmp_path / "nowhere", QUARTER)


def test_missing_table_empty_file_and_header_only_file_are_clear_errors(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "deliverables.csv").unlink()
    (folder / "engagement.csv").write_bytes(b"")
    (folder / "finance.csv").write_text("Quarter,OrganisationCode,IncomeStream,AmountGBP\n")
    problems = problems_of(folder)
    assert "no file for table deliverables" in only(problems, file="deliverables").message
    assert "found" not in only(problems, file="deliverables").message
    assert "empty" in only(problems, file="engagement.csv").message
    assert "header but no data rows" in only(problems, file="finance.csv").message


def test_table_in_an_unread_format_is_named(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "workforce.csv").rename(folder / "workforce.xls")
    message = only(problems_of(folder), file="workforce").message
    assert "found workforce.xls" in message and "save it as .csv or .xlsx" in message


# -- columns ---------------------------------------------------------------------------------


def test_missing_extra_and_misspelt_columns(tmp_path):
    tables = valid_tables()
    tables["workforce"] = tables["workforce"].drop(columns=["JointAppointments"])
    tables["finance"]["Comment"] = "checked"
    tables["innovations"] = tables["innovations"].rename(columns={"InnovationName": "innovation name"})
    problems = problems_of(write_folder(tmp_path / "data", tables))
    missing = only(problems, file="workforce.csv", column="JointAppointments")
    assert missing.row == 1 and missing.severity == "error" and "missing column" in missing.message
    extra = only(problems, file="finance.csv", column="Comment")
    assert extra.severity == "warning" and "not in the contract" in extra.message
    renamed = only(problems, file="innovations.csv", column="innovation name")
    assert renamed.severity == "warning" and "InnovationName" in renamed.message
    assert {p.file for p in problems if p.severity == "error"} == {"workforce.csv"}


def test_file_without_a_header_is_one_clear_error(tmp_path):
    folder = write_folder(tmp_path / "data")
    lines = (folder / "workforce.csv").read_text().splitlines()
    (folder / "workforce.csv").write_text("\n".join(lines[1:]) + "\n")
    problem = only(problems_of(folder), file="workforce.csv")
    assert "no header row" in problem.message and "'2025/26 Q1'" in problem.message
    assert "expected columns: Quarter, OrganisationCode, ResearchActiveStaff, JointAppointments" in problem.message


def test_semicolon_separated_file_gets_a_hint(tmp_path):
    folder = write_folder(tmp_path / "data")
    frame = pd.read_csv(folder / "workforce.csv", dtype=str)
    frame.to_csv(folder / "workforce.csv", sep=";", index=False)
    assert "separated by ';'" in only(problems_of(folder), file="workforce.csv").message


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "index", "column", "value", "expected"),
    [
        ("recruitment", 4, "Participants", "n/a", "'n/a' is not a number"),
        ("recruitment", 4, "Participants", "-3", "'-3' is negative"),
        ("recruitment", 4, "Participants", "12.5", "'12.5' is not a whole number"),
        ("recruitment", 4, "Participants", "", "missing value"),
        ("recruitment", 4, "Month", "2025-13", "cannot read month '2025-13'"),
        ("recruitment", 4, "Month", "2025-05-15", "is not the first day of a month"),
        ("studies", 1, "ActualOpeningDate", "2025-02-30", "cannot read date '2025-02-30'"),
        ("studies", 1, "PlannedOpeningDate", "04/13/2025", "month-first dates are not accepted"),
        ("studies", 1, "NihrPortfolio", "maybe", "'maybe' is not a yes/no value"),
        ("studies", 1, "CareSetting", "hospital", "'hospital' must be one of: acute, primary_care"),
        ("studies", 1, "StudyTitle", "  ", "missing value"),
        ("recruitment_imd", 2, "ImdDecile", "11", "from 1 to 10"),
        ("finance", 2, "Quarter", "Q3 2025", "cannot read quarter 'Q3 2025'"),
        ("finance", 2, "AmountGBP", "£1,200", "without '£'"),
        ("finance", 2, "AmountGBP", "lots", "'lots' is not a number"),
        ("engagement", 0, "Value", "4.5", "'4.5' is not a whole number"),
        ("workforce", 3, "ResearchActiveStaff", "-1", "negative"),
    ],
)
def test_bad_value_is_reported_with_file_row_and_column(tmp_path, table, index, column, value, expected):
    problems = problems_of(edited(tmp_path, table, index, column, value))
    problem = only(problems, file=f"{table}.csv", row=index + 2, column=column)
    assert expected in problem.message
    assert problem.severity == "error"
    assert [p for p in problems if p.severity == "error"] == [problem]  # nothing else is blamed


@pytest.mark.parametrize(("text", "number"), [(" 12", 12), ("12.0", 12), ("12 ", 12), ("0", 0)])
def test_whole_numbers_written_loosely_are_read_exactly(tmp_path, text, number):
    data = load_data(edited(tmp_path, "recruitment", 4, "Participants", text), QUARTER)
    assert data.recruitment["Participants"].iat[4] == number
    assert data.warnings == []


def test_yes_no_forms_and_capitalisation_of_allowed_values(tmp_path):
    tables = valid_tables()
    tables["studies"]["NihrPortfolio"] = ["yes", "0"]
    tables["studies"]["CrossSystemPartnership"] = ["FALSE", "t"]
    tables["studies"]["StudyRoute"] = ["commercial", "NON-COMMERCIAL"]
    studies = load_data(write_folder(tmp_path / "data", tables), QUARTER).studies
    assert studies["NihrPortfolio"].tolist() == [True, False]
    assert studies["CrossSystemPartnership"].tolist() == [False, True]
    assert studies["StudyRoute"].tolist() == ["Commercial", "Non-commercial"]


def test_thousands_separator_is_read_with_a_warning(tmp_path):
    folder = edited(tmp_path, "recruitment", 4, "Participants", "1,234")
    data = load_data(folder, QUARTER)
    assert data.recruitment["Participants"].iat[4] == 1234
    assert data.recruitment["Participants"].dtype == "int64"  # a number, never text to be summed
    warning = only(data.warnings, file="recruitment.csv", row=6, column="Participants")
    assert "read as 1234" in warning.message


def test_uk_dates_are_read_day_first(tmp_path):
    tables = valid_tables()
    tables["studies"]["PlannedOpeningDate"] = ["03/04/2024", "13/01/2025"]  # only slashed: UK order
    data = load_data(write_folder(tmp_path / "data", tables), QUARTER)
    assert list(data.studies["PlannedOpeningDate"]) == [pd.Timestamp("2024-04-03"), pd.Timestamp("2025-01-13")]


def test_slashed_date_in_a_column_mixing_styles_is_ambiguous_unless_day_above_12(tmp_path):
    tables = valid_tables()
    tables["studies"]["PlannedOpeningDate"] = ["03/04/2024", "2025-02-01"]
    tables["studies"]["ActualOpeningDate"] = ["13/01/2025", "2025-03-15"]
    problems = problems_of(write_folder(tmp_path / "data", tables))
    ambiguous = only(problems, file="studies.csv", row=2, column="PlannedOpeningDate")
    assert "ambiguous date '03/04/2024'" in ambiguous.message
    assert [p for p in problems if p.column == "ActualOpeningDate"] == []  # 13/01 can only be 13 January


def test_unknown_codes_are_reported_against_the_table_they_should_be_in(tmp_path):
    tables = valid_tables()
    tables["recruitment"].loc[3, "StudyId"] = "99999"
    tables["recruitment"].loc[5, "OrganisationCode"] = "123"  # "00123" with its zeros lost
    tables["studies"].loc[1, "LeadOrganisationCode"] = "XYZ"
    tables["innovation_benefits"].loc[0, "InnovationId"] = "INN9"
    tables["engagement"].loc[1, "IcbCode"] = "QQQ"
    problems = problems_of(write_folder(tmp_path / "data", tables))
    assert "'99999' is not in studies.csv" in only(problems, file="recruitment.csv", row=5, column="StudyId").message
    assert (
        "'123' is not in organisations.csv"
        in only(problems, file="recruitment.csv", row=7, column="OrganisationCode").message
    )
    assert "'XYZ' is not in organisations.csv" in only(problems, file="studies.csv", row=3).message
    assert "'INN9' is not in innovations.csv" in only(problems, file="innovation_benefits.csv").message
    assert "ICB codes" in only(problems, file="engagement.csv", row=3, column="IcbCode").message


def test_duplicate_keys_name_both_rows(tmp_path):
    tables = valid_tables()
    tables["workforce"] = pd.concat([tables["workforce"], tables["workforce"].iloc[[2]]], ignore_index=True)
    n = len(tables["workforce"])
    problems = problems_of(write_folder(tmp_path / "data", tables))
    duplicate = only(problems, file="workforce.csv")
    assert duplicate.row == n + 1
    assert "duplicate key (Quarter=2025-26-Q2, OrganisationCode=RKB)" in duplicate.message
    assert "same as row 4" in duplicate.message


def test_quarter_labels_in_either_form_are_one_key(tmp_path):
    tables = valid_tables()
    extra = tables["finance"].iloc[[5]].assign(Quarter="2026-27-Q2")
    tables["finance"] = pd.concat([tables["finance"], extra], ignore_index=True)  # "2026-27-Q2" twice
    tables["finance"].loc[5, "Quarter"] = "2026/27 Q2"
    problems = problems_of(write_folder(tmp_path / "data", tables))
    assert "same as row 7" in only(problems, file="finance.csv", row=8).message


# -- the quarter -----------------------------------------------------------------------------


def test_rows_dated_after_the_quarter_are_errors_but_plans_may_lie_ahead(tmp_path):
    tables = valid_tables()
    tables["recruitment"].loc[2, "Month"] = "2026-10"
    tables["innovations"].loc[1, "StageDate"] = "2026-10-01"
    tables["workforce"].loc[0, "Quarter"] = "2026/27 Q3"
    folder = write_folder(tmp_path / "data", tables)
    problems = problems_of(folder)
    assert (
        "after the end of the quarter reported (2026/27 Q2, ends 30 Sep 2026)"
        in only(problems, file="recruitment.csv", row=4, column="Month").message
    )
    only(problems, file="innovations.csv", row=3, column="StageDate")
    only(problems, file="workforce.csv", row=2, column="Quarter")
    ahead = only(problems, file="recruitment.csv", row=None, column="Month")
    assert "the data run to 2026/27 Q3 (last month Oct 2026), after the quarter reported" in ahead.message
    # Planned dates and due quarters are in the future in the valid data: never reported.
    assert not [p for p in problems if p.column in ("PlannedClosureToRecruitmentDate", "DueQuarter")]
    # Without a quarter these checks are off.
    assert problems_of(folder, quarter=None) == []


def test_data_that_stop_before_the_quarter_say_where_they_end(tmp_path):
    problems = problems_of(write_folder(tmp_path / "data"), quarter="2026/27 Q3")
    stale = only(problems, file="recruitment.csv", column="Month")
    assert stale.row is None
    assert "no rows for the quarter reported (2026/27 Q3)" in stale.message
    assert "appear to end at 2026/27 Q2" in stale.message and "Sep 2026" in stale.message
    assert "2026/27 Q2" in only(problems, file="finance.csv", column="Quarter").message


def test_history_ending_inside_the_quarter_is_a_warning(tmp_path):
    tables = valid_tables()
    tables["recruitment_ethnicity"] = tables["recruitment_ethnicity"][
        tables["recruitment_ethnicity"]["Month"] < "2026-09"
    ]
    data = load_data(write_folder(tmp_path / "data", tables), QUARTER)
    warning = only(data.warnings, file="recruitment_ethnicity.csv", column="Month")
    assert "last month is Aug 2026, before the quarter's last month (Sep 2026)" in warning.message


def test_recruiting_before_the_opening_month_is_an_error(tmp_path):
    tables = valid_tables()
    tables["studies"].loc[1, "ActualOpeningDate"] = "2025-04-02"  # recruitment for 23456 starts 2025-03
    problems = problems_of(write_folder(tmp_path / "data", tables))
    first_23456 = tables["recruitment"].index[tables["recruitment"]["StudyId"] == "23456"][0]
    before = only(problems, file="recruitment.csv", column="Month")
    assert before.row == first_23456 + 2
    assert "study 23456 recruits in 2025-03, before its ActualOpeningDate month (2025-04)" in before.message


def test_recruiting_without_an_opening_date_is_an_error(tmp_path):
    problems = problems_of(edited(tmp_path, "studies", 1, "ActualOpeningDate", ""))
    rows = [p for p in problems if p.file == "recruitment.csv" and p.column == "StudyId"]
    assert rows and all("has no ActualOpeningDate" in p.message for p in rows)


# -- totals rows and patient-level data ------------------------------------------------------


def test_totals_row_in_a_csv_is_reported_once(tmp_path):
    tables = valid_tables()
    total = pd.DataFrame([["Grand total", "", "", "55"]], columns=tables["recruitment"].columns)
    tables["recruitment"] = pd.concat([tables["recruitment"], total], ignore_index=True)
    problems = problems_of(write_folder(tmp_path / "data", tables))
    problem = only(problems, file="recruitment.csv")
    assert problem.row == len(tables["recruitment"]) + 1 and problem.column == "StudyId"
    assert "totals row" in problem.message


def test_nhs_number_check_digit():
    assert nhs_number_valid("9434765919")
    assert not nhs_number_valid("9434765918")
    assert not nhs_number_valid("943476591")


@pytest.mark.parametrize("column", ["NHS Number", "DateOfBirth", "DOB", "Patient Postcode"])
def test_patient_level_columns_are_errors(tmp_path, column):
    tables = valid_tables()
    tables["recruitment"][column] = "x"
    problem = only(problems_of(write_folder(tmp_path / "data", tables)), file="recruitment.csv", column=column)
    assert problem.row == 1 and "patient-level" in problem.message


def test_values_that_look_like_patient_identifiers_are_masked_errors(tmp_path):
    tables = valid_tables()
    tables["studies"].loc[0, "StudyTitle"] = "Follow-up of 943 476 5919"
    tables["organisations"].loc[1, "Place"] = "CV1 2AB"
    tables["studies"].loc[1, "StudyTitle"] = "Cohort 943 476 5918"  # fails the check digit: not an NHS number
    tables["recruitment"].loc[0, "Participants"] = "9434765919"  # an NHS number pasted into a count
    problems = problems_of(write_folder(tmp_path / "data", tables))
    pasted = only(problems, file="recruitment.csv", row=2, column="Participants")
    assert "NHS number (943 *** ****)" in pasted.message
    nhs = only(problems, file="studies.csv", row=2, column="StudyTitle")
    assert "NHS number (943 *** ****)" in nhs.message
    postcode = only(problems, file="organisations.csv", row=3, column="Place")
    assert "postcode (CV1 ***)" in postcode.message
    report = format_report(problems)
    assert "5919" not in report and "2AB" not in report
    assert len([p for p in problems if p.severity == "error"]) == 3


@pytest.mark.parametrize(
    "text",
    [
        "Clinic DOB 14/03/1957",
        "Mrs A, d.o.b. 1957-03-14",
        "date of birth: 14 March 1957",
        "Patient born 14.03.57",
        "Birthdate 3/4/1957",
    ],
)
def test_a_labelled_date_of_birth_in_a_text_field_is_a_masked_error(tmp_path, text):
    problems = problems_of(edited(tmp_path, "organisations", 1, "OrganisationName", text))
    problem = only(problems, file="organisations.csv", row=3, column="OrganisationName")
    assert "date of birth" in problem.message and problem.severity == "error"
    assert not any(c.isdigit() for c in problem.message)  # the date is never echoed, not even in part
    assert "1957" not in format_report(problems)


@pytest.mark.parametrize(
    "text",
    [
        "Born in Bradford cohort",
        "Newborn screening 14/03/2025",
        "Trial opened 14/03/2019",
        "Birth cohort 2019",
    ],
)
def test_dates_and_birth_words_that_are_not_a_date_of_birth_pass(tmp_path, text):
    assert [p for p in problems_of(edited(tmp_path, "studies", 0, "StudyTitle", text)) if p.severity == "error"] == []


# -- encodings -------------------------------------------------------------------------------


def _write_organisations(folder: Path, data: bytes) -> None:
    (folder / "organisations.csv").write_bytes(data)


ORGANISATIONS_TEXT = (
    "OrganisationCode,OrganisationName,OrganisationType,Place,IcbCode\r\n"
    "RKB,University Hospitals Coventry and Warwickshire,acute,Coventry,QWU\r\n"
    "M85001,Café Surgery £ fund,gp_practice,Coventry,QWU\r\n"
    "00123,Warwickshire County Council,local_authority,Warwickshire,QWU\r\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_accepted_encodings_give_the_right_text(tmp_path, encoding):
    folder = write_folder(tmp_path / "data")
    _write_organisations(folder, ORGANISATIONS_TEXT.encode(encoding))
    data = load_data(folder, QUARTER)
    assert data.organisations["OrganisationName"].iat[1] == "Café Surgery £ fund"
    assert list(data.organisations.columns)[0] == "OrganisationCode"  # no BOM left in the name


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (ORGANISATIONS_TEXT.encode("utf-16"), "UTF-16"),
        (ORGANISATIONS_TEXT.encode("utf-16-le"), "NUL bytes"),
        (ORGANISATIONS_TEXT.encode("cp1252").replace(b"fund", b"f\x81nd"), "not in an accepted encoding"),
        (ORGANISATIONS_TEXT.encode("utf-8").replace(b"\xc2\xa3", b"\xa3"), "mixes encodings"),
    ],
    ids=["utf-16-bom", "utf-16-no-bom", "undefined-cp1252-byte", "utf-8-with-a-cp1252-byte"],
)
def test_other_encodings_are_rejected_clearly(tmp_path, data, expected):
    folder = write_folder(tmp_path / "data")
    _write_organisations(folder, data)
    problem = only(problems_of(folder), file="organisations.csv")
    assert expected in problem.message and problem.severity == "error"


def test_encoding_error_names_the_line(tmp_path):
    folder = write_folder(tmp_path / "data")
    _write_organisations(folder, ORGANISATIONS_TEXT.encode("utf-8").replace(b"\xc2\xa3", b"\xa3"))
    problem = only(problems_of(folder), file="organisations.csv")
    assert "line 3" in problem.message and problem.row == 3


def test_ragged_csv_row_and_repeated_column_are_named(tmp_path):
    folder = write_folder(tmp_path / "data")
    lines = (folder / "finance.csv").read_text().splitlines()
    lines[3] += ",1,2"
    (folder / "finance.csv").write_text("\n".join(lines) + "\n")
    lines = (folder / "workforce.csv").read_text().splitlines()
    lines[0] += ",Quarter"
    (folder / "workforce.csv").write_text("\n".join(lines) + "\n")
    problems = problems_of(folder)
    ragged = only(problems, file="finance.csv")
    assert ragged.row == 4 and "6 values but the header has 4 columns" in ragged.message
    repeated = only(problems, file="workforce.csv")
    assert (repeated.row, repeated.column) == (1, "Quarter") and "more than once" in repeated.message


def test_blank_lines_are_ignored_but_rows_keep_their_numbers(tmp_path):
    folder = edited(tmp_path, "finance", 3, "AmountGBP", "lots")
    lines = (folder / "finance.csv").read_text().splitlines()
    lines.insert(2, ",,,")  # a blank row 3: the bad value moves from row 5 to row 6
    (folder / "finance.csv").write_text("\n".join(lines) + "\n\n")
    assert only(problems_of(folder), file="finance.csv").row == 6


# -- Excel -----------------------------------------------------------------------------------


def _recruitment_workbook(
    path: Path, rows: list[list], title_rows: list[list] = (), hidden_first: bool = False
) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if hidden_first:
        sheet.title = "Notes"
        sheet.append(["StudyId", "OrganisationCode", "Month", "Participants"])
        sheet.append(["nonsense", "XXX", "never", "-1"])
        sheet.sheet_state = "hidden"
        sheet = workbook.create_sheet("Recruitment")
    for row in title_rows:
        sheet.append(row)
    sheet.append(["StudyId", "OrganisationCode", "Month", "Participants"])
    for row in rows:
        sheet.append(row)
    if title_rows:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
    workbook.save(path)


def _recruitment_rows() -> list[list]:
    frame = valid_tables()["recruitment"]
    return [[s, o, pd.Timestamp(m).to_pydatetime(), int(p)] for s, o, m, p in frame.itertuples(index=False)]


def test_excel_with_merged_title_row_hidden_first_sheet_and_real_dates(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "recruitment.csv").unlink()
    rows = _recruitment_rows()
    _recruitment_workbook(
        folder / "recruitment.xlsx", rows, title_rows=[["Recruitment by site, 2026/27 Q2"]], hidden_first=True
    )
    data = load_data(folder, QUARTER)
    assert len(data.recruitment) == len(rows)
    assert data.recruitment["OrganisationCode"].tolist().count("00123") > 0
    assert data.recruitment["Month"].max() == pd.Timestamp("2026-09-01")
    assert data.recruitment["Participants"].dtype == "int64"


def test_excel_rows_are_numbered_as_in_the_sheet(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "recruitment.csv").unlink()
    rows = _recruitment_rows()
    rows[3][3] = "n/a"  # data row 4: sheet row 2 (title) + 1 (header) + 4 = 7
    _recruitment_workbook(folder / "recruitment.xlsx", rows, title_rows=[["Recruitment by site"], []])
    problem = only(problems_of(folder), file="recruitment.xlsx")
    assert (problem.row, problem.column) == (7, "Participants")


def test_excel_two_row_merged_header(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "recruitment.csv").unlink()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["StudyId", "OrganisationCode", "Recruitment", None])
    sheet.append([None, None, "Month", "Participants"])
    sheet.merge_cells("A1:A2")
    sheet.merge_cells("B1:B2")
    sheet.merge_cells("C1:D1")
    rows = _recruitment_rows()
    rows[0][3] = -2  # data row 1 is sheet row 3
    for row in rows:
        sheet.append(row)
    workbook.save(folder / "recruitment.xlsx")
    problem = only(problems_of(folder), file="recruitment.xlsx")
    assert (problem.row, problem.column) == (3, "Participants") and "negative" in problem.message


def test_rows_after_a_value_with_a_line_break_keep_their_line_numbers(tmp_path):
    tables = valid_tables()
    tables["studies"].loc[0, "StudyTitle"] = "Heart failure trial\n(extension)"
    tables["studies"].loc[1, "CareSetting"] = "hospital"  # record 3 starts on line 4
    problem = only(problems_of(write_folder(tmp_path / "data", tables)), file="studies.csv")
    assert (problem.row, problem.column) == (4, "CareSetting")


def test_csv_title_row_above_the_header(tmp_path):
    folder = write_folder(tmp_path / "data")
    text = (folder / "finance.csv").read_text()
    (folder / "finance.csv").write_text("Research income by quarter,,,\n" + text.replace("1500.50", "n/a", 1))
    problem = only(problems_of(folder), file="finance.csv")
    assert (problem.row, problem.column) == (3, "AmountGBP")


def test_excel_totals_row_is_reported_at_its_sheet_row(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "recruitment.csv").unlink()
    rows = _recruitment_rows() + [["Total", None, None, 999]]
    _recruitment_workbook(folder / "recruitment.xlsx", rows, title_rows=[["Recruitment by site"]])
    problem = only(problems_of(folder), file="recruitment.xlsx")
    assert problem.row == 2 + len(rows) and problem.column == "StudyId" and "totals row" in problem.message


def test_excel_with_only_hidden_data_sheet_and_visible_empty_sheet(tmp_path):
    folder = write_folder(tmp_path / "data")
    (folder / "recruitment.csv").unlink()
    workbook = openpyxl.Workbook()
    workbook.active.title = "Blank"
    workbook.save(folder / "recruitment.xlsx")
    assert "is empty" in only(problems_of(folder), file="recruitment.xlsx").message


# -- Parquet ---------------------------------------------------------------------------------


def test_parquet_with_native_types_loads(tmp_path):
    folder = write_folder(tmp_path / "data")
    frame = load_data(folder, QUARTER).recruitment
    (folder / "recruitment.csv").unlink()
    frame.to_parquet(folder / "recruitment.parquet")
    data = load_data(folder, QUARTER)
    pd.testing.assert_frame_equal(data.recruitment, frame)


def test_parquet_holding_text_loads_like_the_csv(tmp_path):
    folder = write_folder(tmp_path / "data")
    expected = load_data(folder, QUARTER)
    for name, frame in valid_tables().items():
        (folder / f"{name}.csv").unlink()
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    data = load_data(folder, QUARTER)
    for name in TABLES:
        pd.testing.assert_frame_equal(data.table(name), expected.table(name))


def test_parquet_code_stored_as_number_is_an_error(tmp_path):
    folder = write_folder(tmp_path / "data")
    frame = load_data(folder, QUARTER).organisations
    frame["OrganisationCode"] = [1, 2, 123]
    (folder / "organisations.csv").unlink()
    frame.to_parquet(folder / "organisations.parquet")
    problem = only(problems_of(folder), file="organisations.parquet", column="OrganisationCode")
    assert "must be stored as text" in problem.message


def test_million_row_parquet_checks_in_seconds(tmp_path):
    folder = write_folder(tmp_path / "data")
    n_studies, n_orgs, months = 2500, 20, pd.date_range("2025-03-01", "2026-09-01", freq="MS")
    studies = valid_tables()["studies"].iloc[[1] * n_studies].reset_index(drop=True)
    studies["StudyId"] = [f"{i:06d}" for i in range(n_studies)]
    studies["LeadOrganisationCode"] = "R000"
    organisations = pd.DataFrame(
        {
            "OrganisationCode": [f"R{i:03d}" for i in range(n_orgs)],
            "OrganisationName": "Trust",
            "OrganisationType": "acute",
            "Place": "Coventry",
            "IcbCode": "QWU",
        }
    )
    s, o, m = (
        a.ravel() for a in np.meshgrid(np.arange(n_studies), np.arange(n_orgs), np.arange(len(months)), indexing="ij")
    )
    recruitment = pd.DataFrame(
        {
            "StudyId": studies["StudyId"].to_numpy()[s],
            "OrganisationCode": organisations["OrganisationCode"].to_numpy()[o],
            "Month": months[m],
            "Participants": np.int64(1),
        }
    )
    recruitment.loc[12345, "Participants"] = -1
    assert len(recruitment) >= 950_000
    for name, frame in (("studies", studies), ("organisations", organisations), ("recruitment", recruitment)):
        (folder / f"{name}.csv").unlink()
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    tables = ["studies", "recruitment"]
    started = time.perf_counter()
    problems = check_data(folder, QUARTER, tables)[1]
    elapsed = time.perf_counter() - started
    assert [(p.row, p.column) for p in problems] == [(12345 + 2, "Participants")]
    assert elapsed < 15, f"checking {len(recruitment):,} rows took {elapsed:.1f} s"


# -- the report ------------------------------------------------------------------------------


def test_one_report_holds_every_problem_in_every_file(tmp_path):
    tables = valid_tables()
    tables["recruitment"].loc[0, "Participants"] = "n/a"
    tables["finance"].loc[1, "AmountGBP"] = "£5"
    tables["studies"].loc[0, "NihrPortfolio"] = "perhaps"
    tables["engagement"].loc[0, "Measure"] = "tweets"
    folder = write_folder(tmp_path / "data", tables)
    (folder / "deliverables.csv").unlink()
    with pytest.raises(DataError) as caught:
        load_data(folder, QUARTER)
    report = str(caught.value)
    assert {p.file for p in caught.value.problems} == {
        "recruitment.csv",
        "finance.csv",
        "studies.csv",
        "engagement.csv",
        "deliverables",
    }
    assert "5 errors and 0 warnings in 5 files" in report
    for line in (
        "row 2, column Participants: 'n/a' is not a number",
        "row 3, column AmountGBP:",
        "row 2, column NihrPortfolio:",
        "row 2, column Measure: 'tweets' must be one of",
    ):
        assert line in report
    # Grouped by file: each file's name is a heading line followed by its problems.
    assert report.index("\nrecruitment.csv\n") < report.index("'n/a'")


def test_rule_breaks_beyond_pandera_cap_are_counted_as_a_lower_bound(tmp_path):
    folder = write_folder(tmp_path / "data")
    frame = load_data(folder, QUARTER).recruitment
    months = pd.date_range("2025-03-01", periods=100, freq="MS")
    big = pd.DataFrame(
        {
            "StudyId": "23456",
            "OrganisationCode": np.repeat([f"S{i:03d}" for i in range(600)], 100),
            "Month": np.tile(months, 600),
            "Participants": np.int64(-1),
        }
    )
    big = big[big["Month"] <= "2026-09-01"]
    assert len(big) > 10_000
    organisations = valid_tables()["organisations"]
    extra = pd.DataFrame(
        {
            "OrganisationCode": big["OrganisationCode"].unique(),
            "OrganisationName": "Site",
            "OrganisationType": "acute",
            "Place": "Coventry",
            "IcbCode": "QWU",
        }
    )
    pd.concat([organisations, extra]).to_csv(folder / "organisations.csv", index=False)
    (folder / "recruitment.csv").unlink()
    pd.concat([frame, big], ignore_index=True).to_parquet(folder / "recruitment.parquet", index=False)
    problems = [p for p in problems_of(folder) if p.file == "recruitment.parquet"]
    assert len(problems) == MAX_MESSAGES + 1
    assert problems[0].row == len(frame) + 2 and "'-1' must be 0 or more" in problems[0].message
    assert f"at least {10_000 - MAX_MESSAGES:,} more rows" in problems[-1].message


def test_messages_are_capped_per_column_and_kind(tmp_path):
    tables = valid_tables()
    tables["recruitment"]["Participants"] = "n/a"
    problems = problems_of(write_folder(tmp_path / "data", tables))
    recruitment = [p for p in problems if p.file == "recruitment.csv"]
    assert len(recruitment) == MAX_MESSAGES + 1
    assert recruitment[-1].row is None
    assert f"and {len(tables['recruitment']) - MAX_MESSAGES:,} more rows" in recruitment[-1].message


# -- anything an analyst might type ----------------------------------------------------------

CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "Total",
            "n/a",
            "-3",
            "1,234",
            "12.0",
            "03/04/2025",
            "2025-04",
            "2026/27 Q2",
            "Y",
            "£5",
            "943 476 5919",
            "CV1 2AB",
            "00123",
            "1e5",
            "NaN",
            "None",
            "#N/A",
            '"',
            "\r\n",
        ]
    ),
)


@pytest.mark.parametrize("table", ["recruitment", "finance", "studies"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_text_gives_a_report_never_a_crash(tmp_path, table, data):
    columns = list(CONTRACT[table].column_names)
    cells = data.draw(st.lists(st.lists(CELL, min_size=len(columns), max_size=len(columns)), max_size=6))
    folder = tmp_path / "fuzz"
    write_folder(
        folder, {name: frame for name, frame in valid_tables().items() if name in ("organisations", "studies")}
    )
    pd.DataFrame(cells, columns=columns).to_csv(folder / f"{table}.csv", index=False)
    loaded, problems = check_data(folder, QUARTER, tables=[table])
    lines = len((folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()) + 1
    for problem in problems:
        assert problem.file in (f"{table}.csv", "organisations.csv", "studies.csv")
        assert problem.row is None or 1 <= problem.row <= lines
    if [p for p in problems if p.severity == "error" and p.file == f"{table}.csv"]:
        assert loaded.table(table) is None
    else:
        assert len(loaded.table(table)) <= max(len(cells), 2)


EXCEL_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    CELL.filter(lambda text: not ILLEGAL_CHARACTERS_RE.search(text)),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(EXCEL_CELL, min_size=4, max_size=4), max_size=6))
def test_any_excel_cells_give_a_report_never_a_crash(tmp_path, cells):
    folder = tmp_path / "fuzz"
    write_folder(
        folder, {name: frame for name, frame in valid_tables().items() if name in ("organisations", "studies")}
    )
    (folder / "recruitment.csv").unlink(missing_ok=True)
    _recruitment_workbook(folder / "recruitment.xlsx", cells)
    loaded, problems = check_data(folder, QUARTER, tables=["recruitment"])
    for problem in problems:
        assert problem.row is None or 1 <= problem.row <= len(cells) + 1
    assert (loaded.recruitment is None) == any(p.severity == "error" and p.file == "recruitment.xlsx" for p in problems)


def test_the_optional_study_design_column_may_be_left_out_or_given(tmp_path):
    without = load_data(write_folder(tmp_path / "without"), QUARTER)
    assert without.warnings == []
    assert without.studies["StudyDesign"].isna().all()
    assert pd.api.types.is_string_dtype(without.studies["StudyDesign"])
    tables = valid_tables()
    tables["studies"]["StudyDesign"] = ["interventional", ""]  # capitalisation as the contract's; blank allowed
    given = load_data(write_folder(tmp_path / "given", tables), QUARTER)
    assert list(given.studies["StudyDesign"].fillna("-")) == ["Interventional", "-"]
    tables["studies"]["StudyDesign"] = ["RCT", "Observational"]
    bad = only(problems_of(write_folder(tmp_path / "bad", tables)), file="studies.csv", column="StudyDesign")
    assert bad.severity == "error" and "Interventional" in bad.message


# -- the optional benchmarks table -----------------------------------------------------------


def benchmarks_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "IcbCode": ["QWU", "QWU", "QHG"],
            "Quarter": ["2026-27-Q2"] * 3,
            "Kpi": ["core20_pct", "participants_per_10k", "core20_pct"],
            "Numerator": ["2236", "20945", "1500"],
            "Denominator": ["22106", "963204", "12000"],
        }
    )


def with_benchmarks(tmp_path: Path, frame: pd.DataFrame | None = None) -> Path:
    folder = write_folder(tmp_path / "data")
    (frame if frame is not None else benchmarks_rows()).to_csv(folder / "benchmarks.csv", index=False)
    return folder


def test_a_folder_without_benchmarks_loads_as_before_and_one_with_it_loads_it_too(tmp_path):
    without = load_data(write_folder(tmp_path / "plain"), QUARTER)
    assert without.benchmarks is None and "benchmarks" not in without.files
    folder = with_benchmarks(tmp_path)
    data = load_data(folder, QUARTER)
    assert data.files["benchmarks"] == folder / "benchmarks.csv"
    assert list(data.benchmarks.columns) == ["IcbCode", "Quarter", "Kpi", "Numerator", "Denominator"]
    assert data.benchmarks["Numerator"].tolist() == [2236, 20945, 1500]
    assert data.benchmarks["Denominator"].dtype == "int64"
    assert load_data(folder, QUARTER, tables=["benchmarks"]).benchmarks.equals(data.benchmarks)
    for table in TABLES:  # the other tables are read exactly as without it
        pd.testing.assert_frame_equal(data.table(table), without.table(table))
    # Asked for by name, a missing benchmarks file is an error.
    with pytest.raises(DataError, match="no file for table benchmarks"):
        load_data(tmp_path / "plain", QUARTER, tables=["benchmarks"])


@pytest.mark.parametrize(
    ("index", "column", "value", "expected"),
    [
        (1, "Kpi", "participants", "'participants' must be one of: gp_practices_recruiting_pct"),
        (2, "IcbCode", "QZZ", "'QZZ'"),
        (0, "Quarter", "2026-27-Q3", "after the end of the quarter reported"),
        (0, "Numerator", "-1", "negative"),
        (0, "Denominator", "12.5", "not a whole number"),
        (2, "Numerator", "12001", "'12001' is more than the Denominator (12000)"),
        (2, "Denominator", "0", "must be more than 0"),
        (1, "Denominator", "", "missing value"),
    ],
)
def test_bad_benchmarks_are_reported_with_file_row_and_column(tmp_path, index, column, value, expected):
    frame = benchmarks_rows()
    frame.loc[index, column] = value
    problems = problems_of(with_benchmarks(tmp_path, frame))
    problem = only(problems, file="benchmarks.csv", row=index + 2, column=column)
    assert expected in problem.message and problem.severity == "error"
    assert [p for p in problems if p.severity == "error"] == [problem]


def test_a_repeated_benchmarks_key_is_an_error(tmp_path):
    frame = pd.concat([benchmarks_rows(), benchmarks_rows().iloc[[0]]], ignore_index=True)
    problems = problems_of(with_benchmarks(tmp_path, frame))
    errors = [p for p in problems if p.severity == "error"]
    assert errors and all(p.file == "benchmarks.csv" for p in errors)
    assert any("IcbCode" in str(p.column) or "duplicate" in p.message.lower() for p in errors)
