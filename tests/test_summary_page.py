"""helpers.summary_page: the summary's first page (changes, exceptions, projections, stale data,
revisions) from records and scorecards built by hand."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from test_changes import CURRENT, PREVIOUS
from test_pack_record import rec, record, sample

from helpers import freshness, summary_page
from helpers.projections import Projection
from helpers.quarters import parse


def scorecard(rows):
    columns = ["Kpi", "Label", "Unit", "Quarter", "Value", "Rag", "Variation", "Assurance"]
    return pd.DataFrame(rows, columns=columns)


ROWS = [
    ("calm", "Calm KPI", "count", "2026-27-Q2", 10, "green", "common_cause", None),
    ("worry", "Worrying KPI", "count", "2026-27-Q2", 11, None, "concern_low", None),
    ("behind", "Behind KPI", "count", "2026-27-Q2", 12, "amber", None, None),
    ("off", "Off KPI", "count", "2026-27-Q2", 13, "red", None, None),
    ("fails", "Failing KPI", "count", "2026-27-Q2", 14, None, "common_cause", "consistent_fail"),
]


def test_exceptions_are_most_urgent_first_and_leave_out_what_is_fine():
    found = summary_page.exceptions(scorecard(ROWS))
    assert list(found["Kpi"]) == ["off", "behind", "worry", "fails"]


def _section(rows, projections=None, fresh=None):
    return SimpleNamespace(
        scorecard=scorecard(rows), projections=projections or {}, freshness=fresh, quarter=parse("2026/27 Q2")
    )


def test_exception_sentences_add_stale_data_and_where_the_targets_are_heading(monkeypatch):
    monkeypatch.setattr(summary_page.narrative, "kpi_sentences", lambda rows: [f"{k}." for k in rows["Kpi"]])
    projection = Projection(
        kpi="off",
        what="income",
        unit="GBP",
        direction="increase",
        start=parse("2023/24 Q1"),
        latest=parse("2026/27 Q2"),
        target_quarter=parse("2027/28 Q4"),
        target=5_000_000.0,
        reason="too few points",  # not available: no sentence
    )
    fresh = pd.DataFrame(
        [
            {
                "Table": "recruitment",
                "DataTo": parse("2026/27 Q1").end,
                "Extracted": None,
                "DaysShort": 92,
                "Stale": True,
            }
        ],
        columns=freshness.FRESHNESS_COLUMNS,
    )
    sentences = summary_page.exception_sentences(_section(ROWS, {"off": projection}, fresh))
    assert sentences[:4] == ["off.", "behind.", "worry.", "fails."]
    assert sentences[4].startswith("The recruitment data stop at 30 Jun 2026, 92 days before 2026/27 Q2 ended")
    assert len(sentences) == 5
    calm = summary_page.exception_sentences(_section(ROWS[:1]))
    assert calm == [summary_page.NO_EXCEPTION]


def test_without_a_previous_pack_each_part_says_so_in_one_line(capsys):
    since = summary_page.compare_with_previous(None, "", "")
    assert since == summary_page.SinceLast(None, None, None)
    summary_page.show_changes(since)
    summary_page.show_revisions(since)
    shown = capsys.readouterr().out
    assert "No previous pack to compare with, so no changes since the last pack are shown." in shown
    assert "No previous pack to compare with, so no revisions to earlier figures are shown." in shown
    assert summary_page.revisions_table(since) is None


def test_changes_and_revisions_from_the_previous_pack_and_this_packs_record(tmp_path, capsys):
    previous = record(sample(last="2023-06-01"), "2023-24-Q1")
    current = record(sample(extra=[rec("2023-05-01", 30, "b")]), "2023-24-Q2")  # May 2023 revised up by 30
    (tmp_path / "previous").mkdir()
    (tmp_path / "previous" / "manifest.json").write_text(json.dumps({"kpis": previous}), encoding="utf-8")
    (tmp_path / "record.json").write_text(json.dumps(current), encoding="utf-8")
    since = summary_page.compare_with_previous(None, str(tmp_path / "previous"), str(tmp_path / "record.json"))
    assert since.previous_quarter == "2023/24 Q1"
    restated = {(r.kpi, r.quarter): (r.old, r.new) for r in since.revisions}
    old, new = restated[("participants", "2023-24-Q1")]
    assert new - old == 30
    table = summary_page.revisions_table(since)
    assert table.caption == "Figures restated since the 2023/24 Q1 pack"
    rows = {tuple(row[:2]): row for row in table.payload()["rows"]}
    assert rows[("NIHR portfolio participants recruited in the quarter", "2023/24 Q1")][-1] == "up 30"
    assert table.payload()["columns"] == ["KPI", "Quarter", "In the last pack", "Now", "Change"]
    summary_page.show_revisions(since)
    assert "earlier figure" in capsys.readouterr().out


def test_a_rag_change_is_shown_exception_first(tmp_path, capsys):
    (tmp_path / "previous.json").write_text(json.dumps(PREVIOUS), encoding="utf-8")
    (tmp_path / "current.json").write_text(json.dumps(CURRENT), encoding="utf-8")
    since = summary_page.compare_with_previous(None, str(tmp_path / "previous.json"), str(tmp_path / "current.json"))
    summary_page.show_changes(since)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "10 changes since the 2026/27 Q1 pack, 3 needing the board's attention."
    assert lines[1].startswith("- A: became off track")


def test_sentences_are_escaped():
    shown = summary_page.Sentences("<b>lead</b>", ("a & b",))._repr_html_()
    assert "&lt;b&gt;lead&lt;/b&gt;" in shown and "<li>a &amp; b</li>" in shown


@pytest.mark.parametrize("restated", [3, summary_page.REVISIONS_SHOWN + 1])
def test_many_revisions_fold_their_table(restated, capsys):
    from helpers.revisions import Revision

    found = [Revision("k", "K", "count", f"20{10 + n}-{11 + n}-Q1", n, n + 5) for n in range(restated)]
    summary_page.show_revisions(summary_page.SinceLast("2026/27 Q1", None, found))
    folded = f"All {restated} restated figures" in capsys.readouterr().out
    assert folded == (restated > summary_page.REVISIONS_SHOWN)
