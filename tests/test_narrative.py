"""helpers.narrative: the words of each section's summary, from known numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import narrative

NAN = float("nan")


def row(**overrides) -> dict:
    """A scorecard row (helpers.scorecard.COLUMNS) with plain defaults."""
    base = {
        "Section": "Research activity",
        "Kpi": "new_studies",
        "Label": "NIHR studies opened in the quarter",
        "Unit": "count",
        "Direction": "increase",
        "Quarter": "2026-27-Q2",
        "Value": 60.0,
        "PreviousQuarterValue": 68.0,
        "ChangeOnPreviousQuarter": -8.0,
        "SameQuarterLastYearValue": 59.0,
        "ChangeOnSameQuarterLastYear": 1.0,
        "Target": NAN,
        "Rag": None,
        "Variation": "common_cause",
        "Assurance": None,
        "Points": 20,
        "TrialLimits": False,
        "Disclosed": False,
    }
    base.update(overrides)
    return base


# -- values and changes ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, unit, expected",
    [
        (112.29754, "percent", "112.3%"),
        (468, "count", "468"),
        (1240.0, "count", "1,240"),
        (2.5, "count", "2.5"),
        (4_267_273.01, "GBP", "£4.27m"),
        (13_216.45, "GBP", "£13k"),
        (1_000_000, "GBP", "£1.00m"),
        (999_999, "GBP", "£1.00m"),  # rounds to £1,000k: shown in millions, never "£1,000k"
        (999_499, "GBP", "£999k"),
        (850, "GBP", "£850"),  # under £1k in whole pounds
        (-88_224, "GBP", "-£88k"),
        (236.2089, "per_10000", "236.2 per 10,000"),
        (158.0, "days", "158 days"),
        ("*", "count", "fewer than 8 (suppressed)"),
        (NAN, "percent", "no data"),
        (None, "count", "no data"),
        (pd.NA, "count", "no data"),
    ],
)
def test_format_value(value, unit, expected):
    assert narrative.format_value(value, unit) == expected


def test_format_value_rejects_an_unknown_unit():
    with pytest.raises(ValueError, match="unknown unit 'litres'"):
        narrative.format_value(1, "litres")


@pytest.mark.parametrize(
    "change, unit, expected",
    [
        (6, "count", "up 6 on the previous quarter"),
        (-3.0, "count", "down 3 on the previous quarter"),
        (0, "count", "unchanged on the previous quarter"),
        (-0.7198, "percent", "down 0.7 percentage points on the previous quarter"),
        (1.0, "percent", "up 1.0 percentage point on the previous quarter"),
        (0.01, "percent", "unchanged on the previous quarter"),  # rounds to 0.0
        (13_216.45, "GBP", "up £13k on the previous quarter"),
        (88_224.0, "GBP", "up £88k on the previous quarter"),
        (-1_500_000, "GBP", "down £1.50m on the previous quarter"),
        (0.4, "GBP", "unchanged on the previous quarter"),  # rounds to £0
        (27.0, "days", "up 27 days on the previous quarter"),
        (-1.0, "days", "down 1 day on the previous quarter"),
        (0.4776, "per_10000", "up 0.5 on the previous quarter"),
        ("*", "count", "change on the previous quarter suppressed"),
    ],
)
def test_format_change(change, unit, expected):
    assert narrative.format_change(change, unit, "the previous quarter") == expected


@pytest.mark.parametrize("missing", [NAN, None, pd.NA])
def test_a_missing_change_gives_no_words(missing):
    assert narrative.format_change(missing, "count", "the previous quarter") is None


# -- SPC, RAG ----------------------------------------------------------------------------------------
def test_spc_words_join_variation_trial_limits_and_assurance():
    assert narrative.spc_words("improvement_high") == "special cause improvement (higher values)"
    assert narrative.spc_words("common_cause", "consistent_fail", trial_limits=True) == (
        "common cause variation (trial limits: fewer than 12 quarters); the target will consistently be missed"
    )
    assert narrative.spc_words(None) is None


def test_spc_words_reject_unknown_icon_names():
    with pytest.raises(ValueError, match="unknown variation 'better'"):
        narrative.spc_words("better")
    with pytest.raises(ValueError, match="unknown assurance 'maybe'"):
        narrative.spc_words("common_cause", "maybe")


def test_rag_words():
    assert narrative.rag_words("green", 100.0, "percent") == "on track against the trajectory of 100.0%"
    assert narrative.rag_words("red", 4_852_195.0, "GBP") == "off track against the trajectory of £4.85m"
    assert narrative.rag_words("amber", 5.0, "count") == "slightly behind against the trajectory of 5"
    assert narrative.rag_words(None, NAN, "count") is None
    with pytest.raises(ValueError, match="unknown RAG rating 'purple'"):
        narrative.rag_words("purple", 1.0, "count")


# -- sentences ---------------------------------------------------------------------------------------
def test_kpi_sentence_from_a_scorecard_row():
    assert narrative.kpi_sentence(row()) == (
        "NIHR studies opened in the quarter: 60 in 2026/27 Q2, down 8 on the previous quarter and up 1 on "
        "the same quarter last year; common cause variation."
    )


def test_kpi_sentence_with_target_rag_assurance_and_trial_limits():
    sentence = narrative.kpi_sentence(
        row(
            Label="NIHR studies open, % of pre-Covid levels",
            Unit="percent",
            Value=104.0,
            ChangeOnPreviousQuarter=6.0,
            ChangeOnSameQuarterLastYear=NAN,
            Target=100.0,
            Rag="green",
            Variation="improvement_high",
            Assurance="inconsistent",
            TrialLimits=True,
        )
    )
    assert sentence == (
        "NIHR studies open, % of pre-Covid levels: 104.0% in 2026/27 Q2, up 6.0 percentage points on the "
        "previous quarter; special cause improvement (higher values) (trial limits: fewer than 12 quarters); "
        "on track against the trajectory of 100.0%; the target will sometimes be met and sometimes missed "
        "(hit and miss)."
    )


def test_kpi_sentence_for_suppressed_and_missing_values():
    suppressed = narrative.kpi_sentence(
        row(
            Label="Participants",
            Value="*",
            ChangeOnPreviousQuarter="*",
            ChangeOnSameQuarterLastYear=NAN,
            Disclosed=True,
        )
    )
    assert suppressed.startswith(
        "Participants: fewer than 8 (suppressed) in 2026/27 Q2, change on the previous quarter suppressed;"
    )
    assert "5" not in suppressed.split(";")[0].replace("2026/27", "")  # no hidden figure leaks into the words
    missing = narrative.kpi_sentence(
        row(Value=NAN, ChangeOnPreviousQuarter=NAN, ChangeOnSameQuarterLastYear=NAN, Variation=None)
    )
    assert missing == "NIHR studies opened in the quarter: no data for 2026/27 Q2."


def test_kpi_sentences_keep_order_and_skip():
    frame = pd.DataFrame([row(Kpi="a", Label="First"), row(Kpi="b", Label="Second"), row(Kpi="c", Label="Third")])
    sentences = narrative.kpi_sentences(frame, skip=["b"])
    assert [s.split(":")[0] for s in sentences] == ["First", "Third"]


def test_studies_open_headline():
    frame = pd.DataFrame(
        {
            "Quarter": ["2026-27-Q1", "2026-27-Q2"],
            "OpenStudies": [106, 112],
            "BaselineMean": [107.7, 107.7],
            "PctOfBaseline": [98.4, 104.0],
        }
    )
    assert narrative.studies_open(frame, "2026/27 Q2", "improvement_high") == (
        "112 NIHR studies open in 2026/27 Q2, 104% of the pre-Covid baseline, up 6 on the previous quarter; "
        "special cause improvement (higher values)."
    )
    assert narrative.studies_open(frame.iloc[:1], "2026/27 Q1") == (
        "106 NIHR studies open in 2026/27 Q1, 98% of the pre-Covid baseline."
    )
    assert narrative.studies_open(frame, "2026/27 Q3") == "No NIHR studies data for 2026/27 Q3."


def test_finding_states_value_and_variation():
    assert narrative.finding(row(Variation="concern_low")) == (
        "NIHR studies opened in the quarter: 60 in 2026/27 Q2, special cause concern (lower values)"
    )
    assert narrative.finding(row(Variation=None)) == "NIHR studies opened in the quarter: 60 in 2026/27 Q2"


def test_leader_passes_over_suppressed_cells():
    frame = pd.DataFrame({"Place": ["North", "South", "West"], "Participants": ["*", 40, 55], "Pct": ["*", 42.1, 57.9]})
    assert narrative.leader(frame, "Place", "Participants", "participants", "2026/27 Q2", share="Pct") == (
        "West has the most participants in 2026/27 Q2: 55 (57.9%)"
    )
    empty = pd.DataFrame({"Place": ["North"], "Participants": [0]})
    assert narrative.leader(empty, "Place", "Participants", "participants", "2026/27 Q2") == (
        "No participants in 2026/27 Q2"
    )


def test_representation_in_words():
    frame = pd.DataFrame(
        {
            "Group": ["Core20", "Other"],
            "ParticipantPct": [10.12, 89.88],
            "PopulationPct": [14.25, 85.75],
            "RepresentationRatio": [0.7102, 1.048],
        }
    )
    assert narrative.representation(frame, "Group", "Core20", "Core20 areas", "2026/27 Q2") == (
        "Core20 areas: 10.1% of participants against 14.3% of the population (ratio 0.71), "
        "rolling 12 months to 2026/27 Q2"
    )
    hidden = frame.assign(ParticipantPct=["*", 100.0])
    assert "suppressed" in narrative.representation(hidden, "Group", "Core20", "Core20 areas", "2026/27 Q2")
    with pytest.raises(KeyError, match="'Nowhere'"):
        narrative.representation(frame, "Group", "Nowhere", "x", "2026/27 Q2")


def test_count_and_breakdown_sentences():
    assert narrative.count_sentence(0, "stage change", "2026/27 Q2") == "No stage changes in 2026/27 Q2."
    assert narrative.count_sentence(1, "stage change", "2026/27 Q2") == "1 stage change in 2026/27 Q2."
    assert narrative.count_sentence(1200, "stage change", "2026/27 Q2") == "1,200 stage changes in 2026/27 Q2."
    with pytest.raises(ValueError):
        narrative.count_sentence(-1, "stage change", "2026/27 Q2")
    frame = pd.DataFrame({"Rag": ["Overdue", "At risk", "Complete"], "Deliverables": [1, 2, 9]})
    assert narrative.breakdown_sentence(frame, "Rag", "Deliverables", "deliverables", "2026/27 Q2") == (
        "Of 12 deliverables at 2026/27 Q2: 1 overdue, 2 at risk, 9 complete."
    )


# -- the scorecard ----------------------------------------------------------------------------------
def scorecard() -> pd.DataFrame:
    return pd.DataFrame(
        [
            row(Kpi="a", Rag="green", Target=100.0, Variation="improvement_high"),
            row(Kpi="b", Rag="red", Target=5.0, Variation="concern_low", Assurance="consistent_fail"),
            row(Kpi="c", Variation="common_cause", TrialLimits=True),
            row(Kpi="d", Unit="GBP", Value=1_234_567.0, ChangeOnPreviousQuarter="*", Variation="neutral_high"),
        ]
    )


def test_scorecard_overview_counts_ratings_and_variation():
    assert narrative.scorecard_overview(scorecard()) == (
        "4 headline KPIs for 2026/27 Q2. Against a target (2 of 4 KPIs): 1 on track, 0 slightly behind, "
        "1 off track. Latest points: 1 special cause improvement, 1 special cause concern, 1 special cause "
        "variation neither improvement nor concern, 1 common cause variation."
    )
    assert narrative.scorecard_overview(scorecard().iloc[0:0]) == (
        "No headline KPIs could be calculated from the data given."
    )


def test_scorecard_view_in_words():
    view = narrative.scorecard_view(scorecard())
    assert list(view.columns) == [
        "Section",
        "KPI",
        "Latest",
        "On previous quarter",
        "On a year earlier",
        "Target",
        "RAG",
        "Variation",
        "Assurance",
    ]
    assert view.loc[
        0, ["Latest", "On previous quarter", "On a year earlier", "Target", "RAG", "Variation"]
    ].tolist() == ["60", "down 8", "up 1", "100", "On track", "Improvement (high)"]
    assert view.loc[1, ["RAG", "Variation", "Assurance"]].tolist() == [
        "Off track",
        "Concern (low)",
        "Consistently missed",
    ]
    assert view.loc[2, ["Target", "RAG", "Variation", "Assurance"]].tolist() == [
        "–",
        "No target",
        "Common cause (trial limits)",
        "–",
    ]
    assert view.loc[3, ["Latest", "On previous quarter"]].tolist() == ["£1.23m", "suppressed"]


def test_money_reads_the_same_in_a_value_and_its_changes():
    """One money rule: "£3.94m ... up £88k", never "GBP 3.94 million" beside "up GBP 88,224"."""
    sentence = narrative.kpi_sentence(
        row(
            Label="Commercial contract income, rolling 12 months",
            Unit="GBP",
            Value=3_935_113.4500000001,
            ChangeOnPreviousQuarter=88_224.0,
            ChangeOnSameQuarterLastYear=302_432.0,
            Target=4_851_965.0,
            Rag="red",
        )
    )
    assert sentence.startswith(
        "Commercial contract income, rolling 12 months: £3.94m in 2026/27 Q2, up £88k on the previous "
        "quarter and up £302k on the same quarter last year;"
    )
    assert "off track against the trajectory of £4.85m" in sentence
    assert "million" not in sentence and "GBP" not in sentence


def test_scorecard_numbers_hold_numbers_rounded_as_shown():
    frame = pd.DataFrame(
        [
            row(Kpi="a", Unit="percent", Value=112.29754, ChangeOnPreviousQuarter=-0.7198, Target=100.0, Rag="green"),
            row(Kpi="b"),
            row(Kpi="c", Unit="GBP", Value=848_377.4500000001, ChangeOnPreviousQuarter=88_224.3, Target=4_851_965.2),
            row(Kpi="d", Value="*", ChangeOnPreviousQuarter="*", ChangeOnSameQuarterLastYear=NAN),
            row(Kpi="e", Unit="days", Value=115.0, ChangeOnPreviousQuarter=-15.0, ChangeOnSameQuarterLastYear=-50.5),
        ]
    )
    numbers = narrative.scorecard_numbers(frame)
    assert list(numbers.columns) == [
        "Section",
        "KPI",
        "Value",
        "ChangeOnQuarter",
        "ChangeOnYear",
        "Target",
        "Unit",
        "RAG",
        "Variation",
        "Assurance",
    ]
    assert numbers.loc[0, ["Value", "ChangeOnQuarter", "ChangeOnYear", "Target", "Unit"]].tolist() == [
        112.3,
        -0.7,
        1.0,
        100.0,
        "%",
    ]
    assert numbers.loc[1, ["Value", "ChangeOnQuarter", "Target", "Unit"]].tolist() == [60, -8, None, "count"]
    assert numbers.loc[2, ["Value", "ChangeOnQuarter", "Target", "Unit"]].tolist() == [
        848_377,
        88_224,
        4_851_965,
        "GBP",
    ]
    assert numbers.loc[3, ["Value", "ChangeOnQuarter", "ChangeOnYear"]].tolist() == ["*", "*", None]  # disclosure
    assert numbers.loc[4, ["Value", "ChangeOnQuarter", "ChangeOnYear"]].tolist() == [115, -15, -50.5]
    # Counts stay whole numbers (an int, not 60.0) beside percentages in the same column.
    assert type(numbers.loc[1, "Value"]) is int and type(numbers.loc[0, "Value"]) is float
    # The words of the board table come from the same rows.
    assert numbers[["KPI", "RAG", "Variation", "Assurance"]].values.tolist() == (
        narrative.scorecard_view(frame)[["KPI", "RAG", "Variation", "Assurance"]].values.tolist()
    )


# -- display -----------------------------------------------------------------------------------------
def test_summary_escapes_text_and_joins_sentences():
    shown = narrative.summary("First <b>one</b>.", ["Second & last", "  "])
    assert shown.text == "First <b>one</b>. Second & last."  # a full stop added where missing
    assert shown._repr_html_() == (
        '<div class="bp-summary">\n<p>First &lt;b&gt;one&lt;/b&gt;.</p>\n<ul>\n<li>Second &amp; last.</li>\n</ul>\n</div>'
    )
    assert narrative.summary("Only one.")._repr_html_() == '<div class="bp-summary">\n<p>Only one.</p>\n</div>'
    assert repr(shown) == shown.text
    with pytest.raises(ValueError, match="no sentences"):
        narrative.summary("", [" "])


def test_words_match_the_real_scorecard_on_the_backtest_quarter():
    """Every sentence carries the scorecard's own (disclosed) latest value."""
    from pathlib import Path

    from helpers.loading import load_data
    from helpers.scorecard import build_scorecard
    from helpers.targets import load_targets

    data = load_data(Path(__file__).parent / "backtest" / "data", "2020-21-Q2")
    frame = build_scorecard(data, "2020-21-Q2", "QWU", load_targets())
    sentences = narrative.kpi_sentences(frame)
    assert len(sentences) == len(frame) > 0
    for sentence, (_, kpi) in zip(sentences, frame.iterrows()):
        assert sentence.startswith(f"{kpi['Label']}: {narrative.format_value(kpi['Value'], kpi['Unit'])}")
        if isinstance(kpi["Value"], str):
            assert "suppressed" in sentence
        elif not (isinstance(kpi["Value"], float) and math.isnan(kpi["Value"])):
            assert "2020/21 Q2" in sentence


# -- RDN terminology ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Deliver at least 5 Clinical Research Network Portfolio Studies by 2026.",
            "Deliver at least 5 Clinical Research Network (now the RDN) Portfolio Studies by 2026.",
        ),
        ("Studies on the NIHR CRN portfolio", "Studies on the NIHR CRN (now the RDN) portfolio"),
        (
            "Local Clinical Research Network (now the RDN) studies",
            "Local Clinical Research Network (now the RDN) studies",
        ),
        ("SCRN and crnx are other words", "SCRN and crnx are other words"),
        (None, None),
    ],
)
def test_plan_words_add_now_the_rdn_once(text, expected):
    assert narrative.plan_words(text) == expected
    assert narrative.plan_words(narrative.plan_words(text)) == expected


def test_with_plan_words_changes_only_the_column_given():
    frame = pd.DataFrame({"Deliverable": ["5 CRN studies", 7], "Owner": ["CRN lead", "x"]})
    out = narrative.with_plan_words(frame, "Deliverable")
    assert out["Deliverable"].tolist() == ["5 CRN (now the RDN) studies", 7]
    assert out["Owner"].tolist() == ["CRN lead", "x"]
    with pytest.raises(KeyError, match="'Nope' not in the frame"):
        narrative.with_plan_words(frame, "Nope")


def test_the_packs_own_words_say_rdn_not_crn():
    """The NIHR CRN became the Research Delivery Network on 1 October 2024: the notebooks, docs and
    README name the CRN only when quoting the plan ("(now the RDN)") or saying the RDN replaced it."""
    import re

    import nbformat

    from helpers.paths import PROJ_ROOT

    texts = {
        p.name: p.read_text(encoding="utf-8") for p in [PROJ_ROOT / "README.md", *(PROJ_ROOT / "docs").glob("*.md")]
    }
    for path in sorted((PROJ_ROOT / "notebooks").glob("*.ipynb")):
        texts[path.name] = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    crn = re.compile(r"\b(Clinical Research Network|CRN)\b(?!,? \(now the RDN\))", re.IGNORECASE)
    for name, text in texts.items():
        for match in crn.finditer(text):
            before = text[max(0, match.start() - 40) : match.start()]
            after = text[match.end() : match.end() + 40]
            allowed = (
                "replaced the" in before
                or "until the RDN replaced it" in after
                or after.startswith(" (CRN)")  # the name, then its initials: judged by the name
                or before.lower().endswith("clinical research network (")
            )
            assert allowed, (
                f"{name}: ...{before}{match.group(0)}{after}... (say the RDN, or quote with '(now the RDN)')"
            )


def test_rtt_routes_say_each_route_against_the_quarter_before():
    import pandas as pd

    from helpers.narrative import rtt_routes

    rtt = pd.DataFrame(
        {
            "Quarter": ["2026-27-Q1"] * 3 + ["2026-27-Q2"] * 3,
            "StudyRoute": ["All", "Commercial", "Non-commercial"] * 2,
            "StudiesAssessed": [60, 52, 8, 61, 53, 8],
            "OnTrack": [34, 30, 4, 20, 16, 4],
            "PctOnTrack": [56.7, 30 / 52 * 100, 50.0, 32.8, 16 / 53 * 100, 50.0],
        }
    )
    assert rtt_routes(rtt, "2026/27 Q2") == [
        "Commercial studies on track for recruitment to time and target: 30.2% (16 of 53) in 2026/27 Q2, "
        "down from 57.7% (30 of 52) in 2026/27 Q1.",
        "Non-commercial studies on track for recruitment to time and target: 50.0% (4 of 8) in 2026/27 Q2, "
        "unchanged from 50.0% (4 of 8) in 2026/27 Q1.",
    ]
    assert rtt_routes(rtt, "2026/27 Q3") == []  # no studies assessed in the quarter: nothing to say
