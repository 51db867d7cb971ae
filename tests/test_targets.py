"""helpers.targets: the plan's targets file, trajectories and RAG ratings."""

from __future__ import annotations

import copy
import math

import pytest
import yaml

from helpers.paths import PARAMS_DIR
from helpers.quarters import parse
from helpers.targets import (
    TARGETS_FILE,
    Target,
    TargetsError,
    load_targets,
    rag,
    rag_label,
    trajectory_series,
)


def make_target(**changes) -> Target:
    fields = {
        "kpi": "example",
        "label": "Example",
        "unit": "percent",
        "direction": "increase",
        "baseline": {"quarter": "2022/23 Q4", "value": 80},
        "target": 100,
        "by": "2023/24 Q4",
        "trajectory": "linear",
        "amber_tolerance": 0.05,
        "source": "test",
    }
    fields.update(changes)
    return Target.model_validate(fields)


# ---------------------------------------------------------------------------------------------
# The shipped file holds the plan's figures
# ---------------------------------------------------------------------------------------------
def test_shipped_targets_file_encodes_the_plan():
    assert TARGETS_FILE == PARAMS_DIR / "targets.yml"
    targets = load_targets()
    assert set(targets) >= {
        "studies_open_pct_precovid",
        "commercial_income",
        "cross_system_studies",
        "participants_per_10k",
    }

    studies = targets["studies_open_pct_precovid"]
    assert (studies.baseline.value, studies.baseline.quarter, studies.target, studies.by) == (
        89,
        parse("2022/23 Q2"),
        100,
        parse("2023/24 Q4"),
    )

    income = targets["commercial_income"]
    assert income.baseline.value is None and income.baseline.quarter == parse("2022/23 Q4")
    assert income.by == parse("2027/28 Q4") and income.trajectory == "linear"
    assert income.target_value(baseline_value=1_000_000) == pytest.approx(2_000_000)

    cross = targets["cross_system_studies"]
    assert cross.target == 5 and cross.by == parse("2025/26 Q4")

    participation = targets["participants_per_10k"]
    assert participation.baseline.value == 210 and participation.baseline.quarter == parse("2022/23 Q2")
    assert participation.direction == "increase" and participation.target > 210
    assert "direction only" in participation.note
    for target in targets.values():
        assert target.source and target.label


# ---------------------------------------------------------------------------------------------
# Trajectories
# ---------------------------------------------------------------------------------------------
def test_linear_trajectory_at_baseline_midway_by_and_after():
    target = make_target()  # 80 at 2022/23 Q4 -> 100 at 2023/24 Q4: 4 quarters
    assert target.value_at("2022/23 Q4") == 80
    assert target.value_at("2023/24 Q2") == pytest.approx(90)
    assert target.value_at("2023/24 Q1") == pytest.approx(85)
    assert target.value_at("2023/24 Q4") == 100
    assert target.value_at("2025/26 Q3") == 100


def test_step_trajectory_holds_the_baseline_until_by():
    target = make_target(trajectory="step")
    assert target.value_at("2023/24 Q3") == 80
    assert target.value_at("2023/24 Q4") == 100
    assert target.value_at("2024/25 Q1") == 100


def test_decreasing_trajectory():
    target = make_target(direction="decrease", baseline={"quarter": "2022/23 Q4", "value": 213}, target=118)
    assert target.value_at("2023/24 Q2") == pytest.approx(165.5)
    assert target.value_at("2024/25 Q1") == 118


def test_quarter_before_baseline_is_an_error_but_trajectory_series_leaves_it_blank():
    target = make_target()
    with pytest.raises(TargetsError, match="before the baseline quarter 2022/23 Q4"):
        target.value_at("2022/23 Q3")
    series = trajectory_series(target, ["2022/23 Q3", "2022/23 Q4", "2023/24 Q2"])
    assert list(series.index) == ["2022-23-Q3", "2022-23-Q4", "2023-24-Q2"]
    assert math.isnan(series.iloc[0]) and series.iloc[1:].tolist() == pytest.approx([80, 90])


def test_derived_baseline_must_be_passed_and_fixed_baseline_must_not():
    derived = make_target(
        baseline={"quarter": "2022/23 Q4", "derived": "2022/23 total"}, target={"times_baseline": 2}, by="2024/25 Q4"
    )
    assert derived.value_at("2023/24 Q4", baseline_value=50) == pytest.approx(75)
    with pytest.raises(TargetsError, match="derived from the data"):
        derived.value_at("2023/24 Q4")
    with pytest.raises(TargetsError, match="fixed in the targets file"):
        make_target().value_at("2023/24 Q4", baseline_value=50)


# ---------------------------------------------------------------------------------------------
# RAG
# ---------------------------------------------------------------------------------------------
def test_rag_increase_boundaries_against_the_trajectory_at_that_quarter():
    target = make_target()  # trajectory 90 at 2023/24 Q2; amber down to 90 * 0.95 = 85.5
    assert rag(90, target, "2023/24 Q2") == "green"  # exactly on the trajectory
    assert rag(95, target, "2023/24 Q2") == "green"  # below the end target but ahead of the line
    assert rag(89.99, target, "2023/24 Q2") == "amber"
    assert rag(85.5, target, "2023/24 Q2") == "amber"  # exactly at the tolerance
    assert rag(85.49, target, "2023/24 Q2") == "red"


def test_rag_after_by_compares_with_the_end_target():
    target = make_target()
    assert rag(100, target, "2024/25 Q2") == "green"
    assert rag(95, target, "2024/25 Q2") == "amber"
    assert rag(94.9, target, "2024/25 Q2") == "red"


def test_rag_decrease_boundaries():
    target = make_target(direction="decrease", baseline={"quarter": "2022/23 Q4", "value": 300}, target=200)
    # trajectory at 2023/24 Q2 is 250; amber up to 250 * 1.05 = 262.5
    assert rag(240, target, "2023/24 Q2") == "green"
    assert rag(250, target, "2023/24 Q2") == "green"
    assert rag(262.5, target, "2023/24 Q2") == "amber"
    assert rag(262.6, target, "2023/24 Q2") == "red"


def test_rag_with_derived_baseline_and_missing_value():
    income = load_targets()["commercial_income"]
    # 2022/23 total 400k -> 800k by 2027/28 Q4 over 20 quarters: 420k due at 2023/24 Q1.
    assert income.value_at("2023/24 Q1", baseline_value=400_000) == pytest.approx(420_000)
    assert rag(420_000, income, "2023/24 Q1", baseline_value=400_000) == "green"
    assert rag(400_000, income, "2023/24 Q1", baseline_value=400_000) == "amber"
    assert rag(398_000, income, "2023/24 Q1", baseline_value=400_000) == "red"
    with pytest.raises(TargetsError, match="no value to rate"):
        rag(float("nan"), income, "2023/24 Q1", baseline_value=400_000)


def test_rag_label_words():
    assert [rag_label(r) for r in ("green", "amber", "red")] == ["On track", "Slightly behind", "Off track"]
    with pytest.raises(TargetsError, match="unknown RAG rating 'blue'"):
        rag_label("blue")


# ---------------------------------------------------------------------------------------------
# Invalid files
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def shipped():
    return yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8"))


def write(tmp_path, content) -> object:
    path = tmp_path / "targets.yml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t[1].update(colour="red"),
            r"targets\[1\] \(commercial_income\)\.colour: Extra inputs are not permitted",
        ),
        (
            lambda t: t[0].update(by="2023/25 Q4"),
            r"targets\[0\] \(studies_open_pct_precovid\)\.by: .*cannot read quarter '2023/25 Q4'",
        ),
        (
            lambda t: t[2]["baseline"].update(quarter="Q5 2022"),
            r"targets\[2\] \(cross_system_studies\)\.baseline\.quarter: .*cannot read quarter",
        ),
        (
            lambda t: t[3].update(direction="up"),
            r"targets\[3\] \(participants_per_10k\)\.direction: Input should be 'increase' or 'decrease'",
        ),
        (lambda t: t[0].update(trajectory="curve"), r"\.trajectory: Input should be 'linear' or 'step'"),
        (lambda t: t[0].update(amber_tolerance=1.5), r"\.amber_tolerance: Input should be less than 1"),
        (
            lambda t: t[0]["baseline"].update(derived="from data"),
            r"\.baseline: Value error, give exactly one of 'value'",
        ),
        (lambda t: t[0].update(by="2021/22 Q4"), r"must be after the baseline quarter"),
        (lambda t: t[0].update(target={"times_baseline": 2}), r"times_baseline' needs a derived baseline"),
        (lambda t: t[0].pop("source"), r"targets\[0\] \(studies_open_pct_precovid\)\.source: Field required"),
        (
            lambda t: t[0].update(target="lots"),
            r"targets\[0\] \(studies_open_pct_precovid\)\.target: Input should be a valid number",
        ),
        (
            lambda t: t[1].update(target={"times": 2}),
            r"targets\[1\] \(commercial_income\)\.target\.times: Extra inputs",
        ),
    ],
)
def test_invalid_targets_name_the_file_and_field(tmp_path, shipped, change, message):
    broken = copy.deepcopy(shipped)
    change(broken["targets"])
    path = write(tmp_path, broken)
    with pytest.raises(TargetsError, match=message) as caught:
        load_targets(path)
    assert str(caught.value).startswith(str(path))


def test_duplicate_kpi_is_an_error(tmp_path, shipped):
    shipped["targets"].append(copy.deepcopy(shipped["targets"][0]))
    with pytest.raises(TargetsError, match=r"targets\[4\]\.kpi: 'studies_open_pct_precovid' appears more than once"):
        load_targets(write(tmp_path, shipped))


def test_unreadable_or_missing_file(tmp_path):
    with pytest.raises(TargetsError, match="not valid YAML"):
        load_targets(write(tmp_path, "targets: [kpi: a\n  - : :"))
    with pytest.raises(TargetsError, match="targets file not found"):
        load_targets(tmp_path / "nowhere.yml")
    with pytest.raises(TargetsError, match=r"targets: Field required"):
        load_targets(write(tmp_path, "kpis: []\n"))
