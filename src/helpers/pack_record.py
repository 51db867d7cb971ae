"""A published pack's record of its headline figures, and finding the previous quarter's pack.

Every pack keeps, in its ``manifest.json`` under the key ``"kpis"`` (:data:`RECORD_KEY`), a
machine-readable record of what it told the board, so the next quarter's pack can say what changed
(:mod:`helpers.changes`) and which earlier figures were restated (:mod:`helpers.revisions`).
The record (format :data:`FORMAT`, a number that changes whenever a field changes meaning or is
removed) is plain JSON::

    {"format": 1, "icb": "QWU", "quarter": "2026/27 Q2", "quarter_id": "2026-27-Q2",
     "kpis": [{"kpi": "participants", "label": ..., "section": ..., "unit": "count",
               "direction": "increase", "chart": "xmr", "value": 1235, "suppressed": false,
               "target": null, "rag": null, "on_track": null, "variation": "improvement_high",
               "assurance": null, "trial_limits": false, "spc_from": "2023-24-Q1",
               "history": [{"quarter": "2019-20-Q1", "value": 1005, "suppressed": false,
                            "numerator": null, "denominator": null, "signal": null}, ...]}, ...],
     "deliverables": [{"id": "D01", "deliverable": ..., "owner": ..., "due_quarter": "2026-27-Q1",
                       "status": "complete", "rag": "complete", "completed_quarter": "2026-27-Q1",
                       "late": false}, ...]}

Figures are as published: counts of people disclosed (rounded to 5; ``value`` null and
``suppressed`` true for 1-7), everything else the exact value. ``numerator``/``denominator`` are
given for the KPIs compared across ICBs (:data:`helpers.kpis.COMPARABLE`), counts of people among
them disclosed too. ``rag`` is green/amber/red against the trajectory (null without a target),
``on_track`` true for green, false for amber or red (off track is ``rag`` red); ``variation`` and
``assurance`` are the Making Data Count icon names of the latest point; ``signal`` is the SPC point
type of a special-cause point (``special_cause_improvement``, ``special_cause_concern``,
``special_cause_neutral_high``/``_low``), null for common cause or a KPI not charted as XmR.

The previous pack (:func:`find_previous`): the same ICB's pack for the quarter before, published
at ``<publish folder>/<ICB>/<previous quarter id>/`` (the link to its current version), or a pack
folder named with ``boardpack build --previous PACK_FOLDER``.

In the summary notebook the build injects ``previous_pack`` (the previous pack's folder, ``''``
when none) and ``kpi_record`` (this pack's record file)::

    previous = pack_record.read_record(previous_pack) if previous_pack else None
    current = pack_record.read_record(kpi_record)
    restated = revisions.revisions(previous, current)  # helpers.revisions
    changed = changes.changes(previous, section.scorecard, deliverables)  # helpers.changes
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.quarters import Quarter, parse

if TYPE_CHECKING:  # reading and finding a record need no pandas (the build checks it before anything)
    import pandas as pd

SUPPRESSED = "*"  # helpers.disclosure.SUPPRESSED (a test keeps them equal)

FORMAT = 1
RECORD_KEY = "kpis"  # the record's key in manifest.json
REVISIONS_KEY = "revisions"  # the revisions since the previous pack, in manifest.json
MANIFEST = "manifest.json"
# Counts of people among the comparable KPIs' numerators and denominators: published disclosed.
PEOPLE_COUNTS: Mapping[str, tuple[str, ...]] = {
    "participants_per_10k": ("numerator",),
    "core20_pct": ("numerator", "denominator"),
}


class RecordError(ValueError):
    """A previous pack's record that cannot be used; the message names the file and says why."""


class NoRecord(RecordError):
    """A pack whose manifest holds no record (published before packs kept one)."""


@dataclass(frozen=True)
class PreviousPack:
    """The previous quarter's pack: its folder, its manifest and the record read from it."""

    folder: Path
    manifest: Path
    record: dict[str, Any]

    @property
    def quarter(self) -> Quarter:
        return parse(self.record["quarter_id"])


# -- writing ------------------------------------------------------------------------------------
def _missing(value: object) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number(value: object) -> float | int | None:
    """A JSON number (ints stay ints), None for missing or suppressed."""
    if _missing(value) or (isinstance(value, str) and value == SUPPRESSED):
        return None
    if isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and not isinstance(value, float) else number


def _published(value: object, people: bool) -> tuple[float | int | None, bool]:
    """(value as published, suppressed?) of one exact figure."""
    from helpers.disclosure import disclose_count

    if _missing(value):
        return None, False
    if people:
        shown = disclose_count(int(round(float(value))))
        return (None, True) if shown == SUPPRESSED else (int(shown), False)
    return _number(value), False


def _text(value: object) -> str | None:
    return None if _missing(value) else str(value)


def _signals(frame: pd.DataFrame | None) -> dict[str, str]:
    """Quarter id -> SPC point type of each special-cause point of an SPC frame."""
    import pandas as pd

    if frame is None:
        return {}
    out = {}
    for date, point in zip(frame["date"], frame["point_type"]):
        if isinstance(point, str) and point.startswith("special_cause"):
            out[Quarter.of_date(pd.Timestamp(date).date()).id] = point
    return out


def build_record(
    quarter: str | Quarter,
    icb: str,
    scorecard: pd.DataFrame,
    histories: Mapping[str, pd.Series],
    spc_frames: Mapping[str, pd.DataFrame] | None = None,
    counts: Mapping[str, pd.DataFrame] | None = None,
    deliverables: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The record of a pack (format :data:`FORMAT`, see the module's docstring), JSON-able.

    ``scorecard``: :func:`helpers.scorecard.build_scorecard`; ``histories``: each KPI's exact
    quarterly series (its ``histories`` argument); ``spc_frames``: the SPC frames behind the icons;
    ``counts``: KPI id -> ``Quarter``, ``Numerator``, ``Denominator`` (:func:`helpers.kpis.comparable_counts`);
    ``deliverables``: :func:`helpers.kpi_deliverables.deliverables_rag` (None when not loaded).
    """
    import pandas as pd

    from helpers.kpis import KPIS

    quarter = parse(quarter)
    spc_frames = spc_frames or {}
    counts = counts or {}
    kpis = []
    for _, row in scorecard.iterrows():
        kpi_id = str(row["Kpi"])
        people = bool(row["Disclosed"])
        series = histories.get(kpi_id, pd.Series(dtype="float64"))
        by_quarter = {}
        if kpi_id in counts:
            frame = counts[kpi_id]
            by_quarter = {str(q): (n, d) for q, n, d in zip(frame["Quarter"], frame["Numerator"], frame["Denominator"])}
        disclosed = PEOPLE_COUNTS.get(kpi_id, ())
        signals = _signals(spc_frames.get(kpi_id))
        history = []
        for quarter_id, exact in series.items():
            value, suppressed = _published(exact, people)
            point = {"quarter": str(quarter_id), "value": value, "suppressed": suppressed}
            if kpi_id in counts:
                numerator, denominator = by_quarter.get(str(quarter_id), (None, None))
                point["numerator"] = _published(numerator, "numerator" in disclosed)[0]
                point["denominator"] = _published(denominator, "denominator" in disclosed)[0]
            else:
                point["numerator"] = point["denominator"] = None
            point["signal"] = signals.get(str(quarter_id))
            history.append(point)
        rag = _text(row["Rag"])
        value = row["Value"]
        kpis.append(
            {
                "kpi": kpi_id,
                "label": str(row["Label"]),
                "section": str(row["Section"]),
                "unit": str(row["Unit"]),
                "direction": str(row["Direction"]),
                "chart": str(row["Chart"]),
                "value": _number(value),
                "suppressed": isinstance(value, str) and value == SUPPRESSED,
                "target": _number(row["Target"]),
                "rag": rag,
                "on_track": None if rag is None else rag == "green",
                "variation": _text(row["Variation"]),
                "assurance": _text(row["Assurance"]),
                "trial_limits": bool(row["TrialLimits"]),
                "spc_from": _text(row["SpcFrom"]),
                "people": people or kpi_id in PEOPLE_COUNTS,
                "history": history,
            }
        )
        if kpi_id not in KPIS:  # pragma: no cover - the scorecard only holds registered KPIs
            raise KeyError(kpi_id)
    record: dict[str, Any] = {
        "format": FORMAT,
        "icb": str(icb),
        "quarter": quarter.label,
        "quarter_id": quarter.id,
        "kpis": kpis,
        "deliverables": None,
    }
    if deliverables is not None:
        record["deliverables"] = [
            {
                "id": str(d["DeliverableId"]),
                "deliverable": str(d["Deliverable"]),
                "owner": _text(d["Owner"]),
                "due_quarter": _text(d["DueQuarter"]),
                "status": _text(d["Status"]),
                "rag": _text(d["Rag"]),
                "completed_quarter": _text(d["CompletedQuarter"]),
                "late": None if _missing(d["Late"]) else bool(d["Late"]),
            }
            for _, d in deliverables.sort_values("DeliverableId").iterrows()
        ]
    return record


def record_of(
    data,
    quarter: str | Quarter,
    icb: str,
    kpis,
    histories: Mapping[str, pd.Series],
    given_counts: Mapping[str, pd.DataFrame] | None = None,
    given_deliverables: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """:func:`build_record` of a pack's data and computed KPIs (:class:`helpers.store.Kpis`): the
    comparable KPIs' counts and the deliverables are computed here from ``data``, unless given (by
    the one pass over a many-ICB folder: :func:`helpers.icb_histories.counts_of`, the
    ``deliverables_rag`` frame of :mod:`helpers.icb_frames`)."""
    from helpers import kpi_common as kc, kpi_deliverables
    from helpers.kpis import COMPARABLE, comparable_counts

    quarter = parse(quarter)
    shown = set(kpis.scorecard["Kpi"])
    given_counts = given_counts or {}
    counts = {}
    for kpi_id in COMPARABLE:
        if kpi_id in given_counts and kpi_id in shown:
            counts[kpi_id] = given_counts[kpi_id]
        elif kpi_id in shown:
            try:
                counts[kpi_id] = comparable_counts(data, quarter, icb, kpi_id)
            except kc.MissingTableError:
                pass
    try:
        if given_deliverables is not None and data.table("deliverables") is not None:
            deliverables = given_deliverables
        else:
            deliverables = kpi_deliverables.deliverables_rag(data, quarter, icb)
    except kc.MissingTableError:
        deliverables = None
    return build_record(quarter, icb, kpis.scorecard, histories, kpis.spc_frames, counts, deliverables)


def histories_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """A record's KPI histories as one long table (one row per KPI and quarter): Kpi, Label, Unit,
    Quarter, Value, Suppressed, Numerator, Denominator, Signal."""
    import pandas as pd

    rows = [
        {
            "Kpi": k["kpi"],
            "Label": k["label"],
            "Unit": k["unit"],
            "Quarter": p["quarter"],
            "Value": p["value"],
            "Suppressed": p["suppressed"],
            "Numerator": p["numerator"],
            "Denominator": p["denominator"],
            "Signal": p["signal"],
        }
        for k in record.get("kpis", [])
        for p in k["history"]
    ]
    columns = ["Kpi", "Label", "Unit", "Quarter", "Value", "Suppressed", "Numerator", "Denominator", "Signal"]
    return pd.DataFrame(rows, columns=columns)


# -- reading ------------------------------------------------------------------------------------
def read_record(path: str | Path) -> dict[str, Any]:
    """The record kept by a published pack: ``path`` is the pack's folder or its ``manifest.json``
    (or a record file as the build writes it, the summary's ``kpi_record`` parameter).

    Raises :class:`RecordError` naming the file when it is missing, unreadable, not JSON or holds
    a record of another format; :class:`NoRecord` when the manifest holds none (a pack published
    before packs kept one)."""
    path = Path(path)
    manifest = path / MANIFEST if path.is_dir() else path
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{manifest}: no such file; a published pack holds its record in {MANIFEST}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{manifest}: cannot be read ({exc})") from None
    except ValueError as exc:
        raise RecordError(f"{manifest}: not valid JSON ({exc})") from None
    if not isinstance(content, dict):
        raise RecordError(f"{manifest}: not a pack manifest (a JSON {type(content).__name__}, not an object)")
    bare = isinstance(content.get(RECORD_KEY), list) and "format" in content  # a record file (kpi_record)
    record = content if bare else content.get(RECORD_KEY)
    if record is None:
        raise NoRecord(
            f"{manifest}: holds no record of the pack's figures (no {RECORD_KEY!r} key): "
            "a pack published before packs kept one; rebuild that pack to compare with it"
        )
    if not isinstance(record, dict) or "format" not in record:
        raise RecordError(f"{manifest}: {RECORD_KEY!r} is not a record of the pack's figures (no format)")
    if record["format"] != FORMAT:
        raise RecordError(
            f"{manifest}: record format {record['format']!r}, this code reads format {FORMAT}; "
            "rebuild that pack with this version to compare with it"
        )
    missing = [key for key in ("icb", "quarter_id", "kpis", "deliverables") if key not in record]
    if missing:
        raise RecordError(f"{manifest}: the record (format {FORMAT}) lacks {', '.join(missing)}")
    try:
        parse(record["quarter_id"])
    except ValueError as exc:
        raise RecordError(f"{manifest}: the record's quarter_id: {exc}") from None
    return record


def previous_pack_folder(out_dir: str | Path, icb: str, quarter: str | Quarter) -> Path | None:
    """The same ICB's published pack for the quarter before ``quarter`` in the publish folder
    (``<out_dir>/<ICB>/<previous quarter id>``, the link to its current version), None when there
    is none."""
    folder = Path(out_dir) / str(icb) / parse(quarter).previous().id
    return folder if (folder / MANIFEST).is_file() else None


def find_previous(
    out_dir: str | Path, icb: str, quarter: str | Quarter, given: str | Path | None = None
) -> PreviousPack | None:
    """The previous pack of ``icb``'s pack for ``quarter`` and its record.

    ``given`` (``--previous PACK_FOLDER``): that pack folder (or its manifest.json), which must
    hold a readable record of the same ICB for an earlier quarter (else :class:`RecordError`).
    Otherwise the previous quarter's pack in the publish folder ``out_dir``
    (:func:`previous_pack_folder`): None when there is none, or when it was published before packs
    kept a record; :class:`RecordError` when its record cannot be read or is of another format.
    """
    quarter = parse(quarter)
    if given not in (None, ""):
        folder = Path(given).expanduser()
        if not folder.exists():
            raise RecordError(f"--previous {given}: no such pack folder")
        record = read_record(folder)
    else:
        found = previous_pack_folder(out_dir, icb, quarter)
        if found is None:
            return None
        folder = found
        try:
            record = read_record(folder)
        except NoRecord:
            return None
    manifest = folder / MANIFEST if folder.is_dir() else folder
    if str(record["icb"]) != str(icb):
        raise RecordError(f"{manifest}: a pack of ICB {record['icb']}, not {icb}")
    if parse(record["quarter_id"]) >= quarter:
        raise RecordError(
            f"{manifest}: a pack for {parse(record['quarter_id']).label}, not earlier than {quarter.label}"
        )
    return PreviousPack(folder if folder.is_dir() else folder.parent, manifest, record)


def kpi_entries(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A record's KPIs by id."""
    return {str(k["kpi"]): k for k in record.get("kpis", [])}
