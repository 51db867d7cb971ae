"""The data-driven summary in words that opens each section, from the KPI helpers' figures.

Sentences are built from numbers already computed (scorecard rows, KPI frames), so the words
always match the charts and tables. :class:`Summary` displays them in a notebook as escaped HTML.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from helpers.disclosure import SUPPRESSED
from helpers.quarters import Quarter, parse
from helpers.spc import ASSURANCE_WORDS, VARIATION_WORDS
from helpers.tables import format_money, format_number, round_shown
from helpers.targets import RAG_LABELS

UNITS = ("percent", "count", "GBP", "per_10000", "days")
VARIATION_SHORT = {
    "common_cause": "Common cause",
    "improvement_high": "Improvement (high)",
    "improvement_low": "Improvement (low)",
    "concern_high": "Concern (high)",
    "concern_low": "Concern (low)",
    "neutral_high": "Neither (high)",
    "neutral_low": "Neither (low)",
}
ASSURANCE_SHORT = {
    "consistent_pass": "Consistently met",
    "consistent_fail": "Consistently missed",
    "inconsistent": "Hit and miss",
}
NO_VALUE = "no data"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}: one of {', '.join(UNITS)}")


def _decimals(unit: str, value: float) -> int:
    if unit in ("percent", "per_10000"):
        return 1
    return 0 if float(value).is_integer() else 1


def format_value(value: object, unit: str) -> str:
    """A KPI value in words: ``112.3%``, ``468``, ``£4.27m``, ``£88k``, ``236.2 per 10,000``, ``158 days``.

    Money follows the pack's one rule (:func:`helpers.tables.format_money`), as tables and charts do.

    A suppressed count (``*``) reads "fewer than 8 (suppressed)"; a missing value "no data".
    """
    _check_unit(unit)
    if isinstance(value, str) and value == SUPPRESSED:
        return "fewer than 8 (suppressed)"
    if _missing(value):
        return NO_VALUE
    value = float(value)
    if unit == "GBP":
        return format_money(value)
    text = format_number(value, _decimals(unit, value))
    return {"percent": f"{text}%", "per_10000": f"{text} per 10,000", "days": f"{text} days"}.get(unit, text)


def format_change(change: object, unit: str, compared_with: str) -> str | None:
    """``up 6 on the previous quarter``, ``down 0.7 percentage points on ...``, ``up £88k on ...``,
    ``unchanged on ...``; None when the change is missing."""
    _check_unit(unit)
    if isinstance(change, str) and change == SUPPRESSED:
        return f"change on {compared_with} suppressed"
    if _missing(change):
        return None
    change = float(change)
    size = (
        format_value(abs(change), unit)
        if unit in ("GBP", "days")
        else format_number(abs(change), _decimals(unit, abs(change)))
    )
    if unit == "percent":
        size = f"{size} percentage point{'' if size == '1.0' else 's'}"
    if unit == "days" and size == "1 days":
        size = "1 day"
    if not any(ch in "123456789" for ch in size):
        return f"unchanged on {compared_with}"
    return f"{'up' if change > 0 else 'down'} {size} on {compared_with}"


def spc_words(variation: str | None, assurance: str | None = None, trial_limits: bool = False) -> str | None:
    """``special cause improvement (higher values); the target will consistently be missed``."""
    if variation is None or _missing(variation):
        return None
    if variation not in VARIATION_WORDS:
        raise ValueError(f"unknown variation {variation!r}: one of {list(VARIATION_WORDS)}")
    words = VARIATION_WORDS[variation]
    if trial_limits:
        words += " (trial limits: fewer than 12 quarters)"
    if assurance is not None and not _missing(assurance):
        if assurance not in ASSURANCE_WORDS:
            raise ValueError(f"unknown assurance {assurance!r}: one of {list(ASSURANCE_WORDS)}")
        words += "; " + ASSURANCE_WORDS[assurance]
    return words


def rag_words(rag: str | None, target: object, unit: str) -> str | None:
    """``on track against the trajectory of 100.0%``; None without a target."""
    if rag is None or _missing(rag):
        return None
    if rag not in RAG_LABELS:
        raise ValueError(f"unknown RAG rating {rag!r}: one of {list(RAG_LABELS)}")
    return f"{RAG_LABELS[rag].lower()} against the trajectory of {format_value(target, unit)}"


def kpi_sentence(row: Mapping) -> str:
    """One scorecard row (:func:`helpers.scorecard.build_scorecard`) as a sentence."""
    unit = row["Unit"]
    quarter = parse(row["Quarter"])
    value = format_value(row["Value"], unit)
    head = f"{row['Label']}: {value} in {quarter.label}"
    if value == NO_VALUE:
        head = f"{row['Label']}: no data for {quarter.label}"
    changes = [
        c
        for c in (
            format_change(row["ChangeOnPreviousQuarter"], unit, "the previous quarter"),
            format_change(row["ChangeOnSameQuarterLastYear"], unit, "the same quarter last year"),
        )
        if c
    ]
    parts = [head + (", " + " and ".join(changes) if changes and value != NO_VALUE else "")]
    trial = bool(row.get("TrialLimits", False)) and not _missing(row.get("Variation"))
    for extra in (
        spc_words(row.get("Variation"), None, trial),
        rag_words(row.get("Rag"), row.get("Target"), unit),
        ASSURANCE_WORDS.get(row.get("Assurance")) if isinstance(row.get("Assurance"), str) else None,
    ):
        if extra:
            parts.append(extra)
    return "; ".join(parts) + "."


def finding(row: Mapping) -> str:
    """A chart title stating a scorecard row's finding, e.g. ``NIHR studies opened in the quarter:
    60 in 2026/27 Q2, special cause improvement (higher values)``."""
    quarter = parse(row["Quarter"])
    title = f"{row['Label']}: {format_value(row['Value'], row['Unit'])} in {quarter.label}"
    words = VARIATION_WORDS.get(row.get("Variation")) if isinstance(row.get("Variation"), str) else None
    return f"{title}, {words}" if words else title


def leader(
    frame: pd.DataFrame, category: str, value: str, what: str, quarter: str | Quarter, share: str | None = None
) -> str:
    """Which category has the most, e.g. ``Acute has the most open studies in 2026/27 Q2: 319 (68.2%)``.
    Suppressed (text) values are passed over; ties go to the first row."""
    quarter = parse(quarter)
    numbers = pd.to_numeric(frame[value].where(frame[value].map(lambda v: not isinstance(v, str))), errors="coerce")
    if numbers.notna().sum() == 0 or numbers.max() <= 0:
        return f"No {what} in {quarter.label}"
    top = numbers.idxmax()
    label = str(frame.loc[top, category])
    text = f"{label} has the most {what} in {quarter.label}: {format_number(float(numbers[top]), 0)}"
    if share is not None and not _missing(frame.loc[top, share]) and not isinstance(frame.loc[top, share], str):
        text += f" ({format_number(float(frame.loc[top, share]), 1)}%)"
    return text


def representation(frame: pd.DataFrame, column: str, group: str, label: str, quarter: str | Quarter) -> str:
    """The representation of one group in words, e.g. ``Core20 areas: 10.1% of participants
    against 14.2% of the population (ratio 0.71), rolling 12 months to 2026/27 Q2``.

    ``frame``: :func:`helpers.kpi_participation.participants_core20` (or by IMD quintile)."""
    quarter = parse(quarter)
    row = frame[frame[column].astype(str) == group]
    if row.empty:
        raise KeyError(f"group {group!r} not in column {column!r}")
    row = row.iloc[0]
    if isinstance(row["ParticipantPct"], str):
        return f"{label}: participant share suppressed (fewer than 8 people), rolling 12 months to {quarter.label}"
    return (
        f"{label}: {format_number(float(row['ParticipantPct']), 1)}% of participants against "
        f"{format_number(float(row['PopulationPct']), 1)}% of the population "
        f"(ratio {format_number(float(row['RepresentationRatio']), 2)}), rolling 12 months to {quarter.label}"
    )


RDN_NOTE = "(now the RDN)"
# "Clinical Research Network" or "CRN" (with an optional "NIHR" or "Local"), unless the note follows.
_CRN_WORDS = re.compile(
    r"\b((?:NIHR |Local )?(?:Clinical Research Network|CRN))\b(?!\s*\(now the RDN\))",
    re.IGNORECASE,
)


def plan_words(text: object) -> object:
    """The plan's own words, quoted as written, with ``(now the RDN)`` after each "Clinical Research
    Network" or "CRN": the NIHR CRN was replaced by the Research Delivery Network on 1 October 2024.
    Anything other than text passes through unchanged; applying it twice changes nothing."""
    if not isinstance(text, str):
        return text
    return _CRN_WORDS.sub(lambda m: f"{m.group(1)} {RDN_NOTE}", text)


def with_plan_words(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with :func:`plan_words` applied to the plan's text in ``column`` (e.g. deliverables)."""
    if column not in frame.columns:
        raise KeyError(f"column {column!r} not in the frame (has {list(frame.columns)})")
    return frame.assign(**{column: [plan_words(v) for v in frame[column]]})


def count_sentence(count: int, what: str, quarter: str | Quarter) -> str:
    """``No innovation stage changes in 2026/27 Q2.`` / ``1 ... change`` / ``3 ... changes``."""
    quarter = parse(quarter)
    count = int(count)
    if count < 0:
        raise ValueError(f"count_sentence: a count cannot be negative, got {count}")
    if count == 0:
        return f"No {what}s in {quarter.label}."
    return f"{format_number(count, 0)} {what}{'' if count == 1 else 's'} in {quarter.label}."


def breakdown_sentence(frame: pd.DataFrame, category: str, value: str, what: str, quarter: str | Quarter) -> str:
    """``Of 12 plan deliverables at 2026/27 Q2: 1 overdue, 1 at risk, 0 on track, 10 complete.``
    (counts of things, not people: never suppressed)."""
    quarter = parse(quarter)
    counts = [(str(c).lower(), int(v)) for c, v in zip(frame[category], frame[value])]
    total = sum(v for _, v in counts)
    if total == 0:
        return f"No {what} at {quarter.label}."
    return f"Of {format_number(total, 0)} {what} at {quarter.label}: " + ", ".join(f"{v} {c}" for c, v in counts) + "."


def cross_system_target_words(status: pd.DataFrame | Mapping, quarter: str | Quarter) -> list[str]:
    """Where the cross-system count stands against the plan's rule, in words for the board: the
    rule, today's count and, once due, met or missed at the due quarter. ``status``: the one-row
    frame (or its row) of :func:`helpers.kpi_partnerships.cross_system_target_status`."""
    if isinstance(status, pd.DataFrame):
        status = status.iloc[0]
    start, due = parse(status["CountsFrom"]).label, parse(status["DueQuarter"]).label
    target, now = f"{status['Target']:g}", status["CountNow"]
    words = [
        f"Cross-system portfolio studies are counted from {start}, as the plan's target does: "
        f"at least {target} are due by the end of {due}"
    ]
    if _missing(status["CountAtDue"]):
        words.append(
            f"{now} opened to {parse(quarter).label}: {'target reached' if status['MetNow'] else 'not yet met'}"
        )
    else:
        at_due = "met" if status["MetAtDue"] else "missed"
        words.append(f"At {due}, the due quarter, {status['CountAtDue']} had opened: target {at_due}")
        words.append(
            f"{now} opened to {parse(quarter).label}: {'at or above' if status['MetNow'] else 'below'} the target today"
        )
    return words


def kpi_sentences(scorecard: pd.DataFrame, skip: Sequence[str] = ()) -> list[str]:
    """:func:`kpi_sentence` of every scorecard row, in order, except the KPI ids in ``skip``."""
    return [kpi_sentence(row) for _, row in scorecard.iterrows() if row["Kpi"] not in set(skip)]


def rtt_routes(rtt: pd.DataFrame, quarter: str | Quarter) -> list[str]:
    """For each study route (commercial, non-commercial), the share of studies on track for
    recruitment to time and target in ``quarter`` and the quarter before, e.g. ``Commercial
    studies on track for recruitment to time and target: 30.2% (16 of 53) in 2026/27 Q2, down from
    57.7% (30 of 52) in 2026/27 Q1.`` (frame: :func:`helpers.kpi_commercial.rtt_summary`)."""
    quarter = parse(quarter)
    before = Quarter.from_ordinal(quarter.ordinal - 1)
    out = []
    for route in [r for r in dict.fromkeys(rtt["StudyRoute"].astype(str)) if r != "All"]:
        rows = rtt[rtt["StudyRoute"].astype(str) == route].set_index(
            rtt["Quarter"].astype(str)[rtt["StudyRoute"].astype(str) == route]
        )
        if quarter.id not in rows.index or rows.at[quarter.id, "StudiesAssessed"] == 0:
            continue
        now = rows.loc[quarter.id]
        said = f"{format_number(now['PctOnTrack'], 1)}% ({int(now['OnTrack'])} of {int(now['StudiesAssessed'])})"
        sentence = f"{route} studies on track for recruitment to time and target: {said} in {quarter.label}"
        if before.id in rows.index and rows.at[before.id, "StudiesAssessed"] > 0:
            then = rows.loc[before.id]
            change = float(now["PctOnTrack"]) - float(then["PctOnTrack"])
            way = "up from" if change > 0.05 else "down from" if change < -0.05 else "unchanged from"
            sentence += (
                f", {way} {format_number(then['PctOnTrack'], 1)}% ({int(then['OnTrack'])} of "
                f"{int(then['StudiesAssessed'])}) in {before.label}"
            )
        out.append(sentence + ".")
    return out


def studies_open(open_studies: pd.DataFrame, quarter: str | Quarter, variation: str | None = None) -> str:
    """The research-activity headline, e.g. ``468 NIHR studies open in 2026/27 Q2, 112% of the
    pre-Covid baseline, down 3 on the previous quarter; special cause improvement (higher values).``

    ``open_studies``: :func:`helpers.kpi_activity.open_studies`; ``variation``: its SPC icon name.
    """
    quarter = parse(quarter)
    by_quarter = open_studies.set_index(open_studies["Quarter"].astype(str))
    if quarter.id not in by_quarter.index:
        return f"No NIHR studies data for {quarter.label}."
    latest = by_quarter.loc[quarter.id]
    sentence = (
        f"{format_number(float(latest['OpenStudies']), 0)} NIHR studies open in {quarter.label}, "
        f"{format_number(float(latest['PctOfBaseline']), 0)}% of the pre-Covid baseline"
    )
    previous = quarter.previous().id
    if previous in by_quarter.index:
        change = format_change(
            float(latest["OpenStudies"]) - float(by_quarter.loc[previous, "OpenStudies"]),
            "count",
            "the previous quarter",
        )
        sentence += f", {change}"
    words = spc_words(variation)
    return sentence + (f"; {words}." if words else ".")


def scorecard_overview(scorecard: pd.DataFrame) -> str:
    """How the headline KPIs stand, e.g. ``19 headline KPIs for 2026/27 Q2. Against a target:
    3 on track, 0 slightly behind, 1 off track. SPC: 14 special cause improvement, ...``."""
    if scorecard.empty:
        return "No headline KPIs could be calculated from the data given."
    quarter = parse(scorecard["Quarter"].iloc[0])
    sentences = [f"{len(scorecard)} headline KPIs for {quarter.label}."]
    rated = scorecard["Rag"].dropna()
    if len(rated):
        counts = rated.value_counts()
        sentences.append(
            f"Against a target ({len(rated)} of {len(scorecard)} KPIs): "
            + ", ".join(f"{int(counts.get(r, 0))} {RAG_LABELS[r].lower()}" for r in RAG_LABELS)
            + "."
        )
    variation = scorecard["Variation"].dropna().map(lambda v: v.split("_")[0] if v != "common_cause" else v)
    if len(variation):
        counts = variation.value_counts()
        groups = (
            ("improvement", "special cause improvement"),
            ("concern", "special cause concern"),
            ("neutral", "special cause variation neither improvement nor concern"),
            ("common_cause", "common cause variation"),
        )
        sentences.append("Latest points: " + ", ".join(f"{int(counts.get(k, 0))} {w}" for k, w in groups) + ".")
    return " ".join(sentences)


def scorecard_view(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The scorecard in words for the board table: value, changes and target with their units,
    RAG, variation and assurance as short labels."""
    rows = []
    for _, row in scorecard.iterrows():
        unit = row["Unit"]
        previous = format_change(row["ChangeOnPreviousQuarter"], unit, "x")
        last_year = format_change(row["ChangeOnSameQuarterLastYear"], unit, "x")
        variation = VARIATION_SHORT.get(row["Variation"], "–") if isinstance(row["Variation"], str) else "–"
        if isinstance(row["Variation"], str) and bool(row["TrialLimits"]):
            variation += " (trial limits)"
        rows.append(
            {
                "Section": row["Section"],
                "KPI": row["Label"],
                "Latest": format_value(row["Value"], unit),
                "On previous quarter": _short_change(previous),
                "On a year earlier": _short_change(last_year),
                "Target": "–" if _missing(row["Target"]) else format_value(row["Target"], unit),
                "RAG": RAG_LABELS.get(row["Rag"], "No target") if isinstance(row["Rag"], str) else "No target",
                "Variation": variation,
                "Assurance": ASSURANCE_SHORT.get(row["Assurance"], "–") if isinstance(row["Assurance"], str) else "–",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Section",
            "KPI",
            "Latest",
            "On previous quarter",
            "On a year earlier",
            "Target",
            "RAG",
            "Variation",
            "Assurance",
        ],
    )


UNIT_WORDS = {"percent": "%", "count": "count", "GBP": "GBP", "per_10000": "per 10,000", "days": "days"}
NUMBER_COLUMNS = ["Value", "ChangeOnQuarter", "ChangeOnYear", "Target"]


def shown_number(value: object, unit: str) -> object:
    """A KPI figure as a number rounded as :func:`format_value` shows it (percentages and rates to
    1 decimal, money to whole pounds, counts and days whole unless fractional, then 1 decimal);
    suppressed ``*`` stays ``*``, missing is None. For appendix files, which hold numbers."""
    _check_unit(unit)
    if isinstance(value, str) and value == SUPPRESSED:
        return SUPPRESSED
    if _missing(value):
        return None
    value = float(value)
    return round_shown(value, 0 if unit == "GBP" else _decimals(unit, value))


def scorecard_numbers(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as numbers for the appendix: the rows of :func:`scorecard_view` with
    ``Value``, ``ChangeOnQuarter``, ``ChangeOnYear`` and ``Target`` as numbers in ``Unit``
    (changes of a percentage in percentage points), rounded as the pack shows them."""
    view = scorecard_view(scorecard)
    rows = []
    for (_, row), (_, words) in zip(scorecard.iterrows(), view.iterrows()):
        unit = row["Unit"]
        rows.append(
            {
                "Section": row["Section"],
                "KPI": row["Label"],
                "Value": shown_number(row["Value"], unit),
                "ChangeOnQuarter": shown_number(row["ChangeOnPreviousQuarter"], unit),
                "ChangeOnYear": shown_number(row["ChangeOnSameQuarterLastYear"], unit),
                "Target": shown_number(row["Target"], unit),
                "Unit": UNIT_WORDS[unit],
                "RAG": words["RAG"],
                "Variation": words["Variation"],
                "Assurance": words["Assurance"],
            }
        )
    columns = ["Section", "KPI", *NUMBER_COLUMNS, "Unit", "RAG", "Variation", "Assurance"]
    # Object columns keep each row's own precision (468 stays an int beside 112.3).
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns}, columns=columns)


def _short_change(words: str | None) -> str:
    if words is None:
        return "–"
    words = words.removesuffix(" on x")
    if words.startswith("change on x suppressed"):
        return "suppressed"
    return words


@dataclass(frozen=True)
class Summary:
    """A section's opening summary: the first sentence as a paragraph, the rest as a list (one KPI
    a line reads better than a block), all HTML-escaped."""

    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def _repr_html_(self) -> str:
        lead, rest = self.sentences[0], self.sentences[1:]
        parts = ['<div class="bp-summary">', f"<p>{html.escape(lead, quote=False)}</p>"]
        if rest:
            parts += ["<ul>", *(f"<li>{html.escape(s, quote=False)}</li>" for s in rest), "</ul>"]
        return "\n".join(parts + ["</div>"])

    def __repr__(self) -> str:  # text/plain in notebooks
        return self.text


def summary(*sentences: str | Iterable[str]) -> Summary:
    """A :class:`Summary` of the sentences given (strings, or lists of strings), blanks dropped and
    each ended with a full stop."""
    flat: list[str] = []
    for item in sentences:
        flat.extend([item] if isinstance(item, str) else list(item))
    flat = [s.strip() for s in flat if s and s.strip()]
    if not flat:
        raise ValueError("summary: no sentences given")
    flat = [s if s.endswith((".", "!", "?")) else s + "." for s in flat]
    return Summary(tuple(flat))
