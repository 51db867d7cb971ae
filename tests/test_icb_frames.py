"""Every detail-frame rule's ``all_icbs``: one vectorised pass over a many-ICB folder gives, for every
ICB, exactly the frame its pack computes from its own extract (values, dtypes, columns, index).

Data: the peer-count edge cases (tests/test_peer_counts.py: a study recruiting outside its lead
ICB, a short history, a suppressed count, no StudyDesign) and the same folder with one ICB (QF7)
left with its organisations only (no study, recruitment, finance, workforce, innovation,
engagement or deliverable rows), on two quarters.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from test_peer_counts import EARLIER, ICBS, QUARTER, national  # noqa: F401 - national is a fixture

from helpers import icb_frames, kpi_activity
from helpers.extract import icb_tables, icbs_in
from helpers.loading import Data
from helpers.paths import PROJ_ROOT
from helpers.targets import load_targets

PARAMS = {
    "baseline_quarters": kpi_activity.DEFAULT_BASELINE_QUARTERS,
    "targets": load_targets(Path(PROJ_ROOT) / "params" / "targets.yml"),
}
RULE_NAMES = [rule.name for rule in icb_frames.RULES]
EMPTIED = "QF7"


def _without_icb_rows(data: Data, icb: str) -> Data:
    """``data`` with ``icb``'s rows taken out of every table but organisations."""
    orgs = data.organisations
    icb_of = dict(zip(orgs["OrganisationCode"].astype(str), orgs["IcbCode"].astype(str)))
    lead_icb = data.studies["LeadOrganisationCode"].astype(str).map(icb_of)
    studies = set(data.studies.loc[lead_icb == icb, "StudyId"].astype(str))
    changed = {}
    for field in dataclasses.fields(Data):
        frame = getattr(data, field.name)
        if not isinstance(frame, pd.DataFrame) or field.name in ("organisations", "benchmarks"):
            continue
        keep = pd.Series(True, index=frame.index)
        if "IcbCode" in frame.columns:
            keep &= frame["IcbCode"].astype(str) != icb
        for column in ("OrganisationCode", "LeadOrganisationCode"):
            if column in frame.columns:
                keep &= frame[column].astype(str).map(icb_of) != icb
        if "StudyId" in frame.columns:
            keep &= ~frame["StudyId"].astype(str).isin(studies)
        changed[field.name] = frame[keep]
    # benefits of innovations no longer there go with them
    if "innovation_benefits" in changed and "innovations" in changed:
        benefits = changed["innovation_benefits"]
        kept = set(changed["innovations"]["InnovationId"].astype(str))
        changed["innovation_benefits"] = benefits[benefits["InnovationId"].astype(str).isin(kept)]
    return dataclasses.replace(data, **changed)


@pytest.fixture(scope="module", params=["edge cases", "one ICB without rows"])
def folder(request, national):  # noqa: F811 - the fixture imported above
    """(the many-ICB folder's data, each ICB's extract as its pack reads it, whether every ICB has
    rows: only then does a rule give the same frame from the whole folder as from the extract; an
    ICB's history starts where its own rows do)."""
    data = national if request.param == "edge cases" else _without_icb_rows(national, EMPTIED)
    return data, {icb: Data(**icb_tables(data, icb)) for icb in icbs_in(data)}, request.param == "edge cases"


def _rule(name: str) -> icb_frames.FrameRule:
    return icb_frames.BY_NAME[name]


def assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    """Equal exactly: values, dtypes, column and index types, names and order."""
    pd.testing.assert_frame_equal(
        got, expected, check_exact=True, check_index_type=True, check_column_type=True, obj=what
    )
    assert got.index.names == expected.index.names, what
    assert got.attrs == expected.attrs, what


def _other_dtypes(own: pd.DataFrame, every: pd.DataFrame) -> bool:
    """Whether ``own`` has a column whose dtype differs from the all-ICB frame's."""
    return any(str(own[c].dtype) != str(every[c].dtype) for c in own.columns if c in every.columns)


def _per_icb(rule, data, quarter, icb):
    """The rule's frame for ``icb``, or the exception it raises."""
    try:
        return rule.compute(data, quarter, icb, **PARAMS)
    except Exception as exc:  # noqa: BLE001 - compared with the pass below
        return exc


@pytest.mark.parametrize("quarter", [QUARTER, EARLIER])
@pytest.mark.parametrize("name", RULE_NAMES)
def test_every_icbs_frame_equals_its_packs(folder, quarter, name):
    data, extracts, every_icb_has_rows = folder
    rule = _rule(name)
    assert rule.all_icbs is not None, f"{name} has no all_icbs: each pack would compute it"
    codes = icbs_in(data)
    assert codes == sorted(ICBS)
    try:
        frame = rule.compute_all(data, quarter, codes, **PARAMS)
    except ValueError:
        # left to each pack: only acceptable when some ICB's own frame fails too
        assert any(isinstance(_per_icb(rule, extracts[i], quarter, i), Exception) for i in codes), name
        return
    assert frame.columns[0] == "IcbCode"
    assert list(dict.fromkeys(frame["IcbCode"])) == [icb for icb in codes if (frame["IcbCode"] == icb).any()], (
        "ICBs in the order given"
    )
    for icb in codes:
        expected = _per_icb(rule, extracts[icb], quarter, icb)
        got = icb_frames.frame_of(frame, icb)
        if isinstance(expected, Exception):
            assert got is None, f"{name} for {icb}: its pack raises {expected!r}, the pass gave rows"
            continue
        if got is None:
            # the pack computes it: only for an ICB whose own frame is empty, or whose frame one
            # frame of every ICB cannot hold (a column of another dtype than the others', e.g. a
            # count that is None for this ICB only)
            assert expected.empty or _other_dtypes(expected, frame), (
                f"{name} for {icb}: no rows from the pass, {len(expected)} from its extract"
            )
            continue
        assert_same_frame(got, expected, f"{name} for {icb} from its extract")
        if every_icb_has_rows:
            whole = rule.compute(data, quarter, icb, **PARAMS)
            assert_same_frame(got, whole, f"{name} for {icb} from the whole folder")


@pytest.mark.parametrize("name", RULE_NAMES)
def test_a_subset_of_icbs_in_any_order(national, name):  # noqa: F811
    rule = _rule(name)
    assert rule.all_icbs is not None
    whole = rule.compute_all(national, QUARTER, icbs_in(national), **PARAMS)
    chosen = rule.compute_all(national, QUARTER, ["QOX", "QE1"], **PARAMS)
    assert list(dict.fromkeys(chosen["IcbCode"])) == ["QOX", "QE1"]
    for icb in ("QOX", "QE1"):
        assert_same_frame(icb_frames.frame_of(chosen, icb), icb_frames.frame_of(whole, icb), f"{name} for {icb}")


def test_the_pass_keeps_each_icbs_frames(national):  # noqa: F811
    everything = icb_frames.frames(national, QUARTER, icbs_in(national), **PARAMS)
    assert set(everything) == {r.name for r in icb_frames.RULES if r.all_icbs is not None}
    split = icb_frames.by_icb(everything, icbs_in(national))
    assert set(split) == set(icbs_in(national))
    for icb, frames in split.items():
        for name, frame in frames.items():
            assert "IcbCode" not in frame.columns
            assert_same_frame(frame, icb_frames.frame_of(everything[name], icb), f"{name} for {icb}")


def test_every_declared_frame_comes_from_a_rule():
    """Each detail table's frame reads its rule through section_tables._kpi_frame, so the pass's
    frames reach every table: no declaration calls a kpi_* rule directly."""
    import inspect
    import re

    from helpers import section_tables

    source = inspect.getsource(section_tables)
    for rule in icb_frames.RULES:
        assert f"_kpi_frame(i, {rule.name})" in source, rule.name
    called = re.findall(r"\b(kpi_[a-z]+\.[a-z_0-9]+)\(", source)
    assert called == [], f"kpi_* rules called directly, not through _kpi_frame and icb_frames.RULES: {called}"
    read = set(re.findall(r"_kpi_frame\(i, (kpi_[a-z]+\.[a-z_0-9]+)\)", source))
    assert read == set(icb_frames.BY_NAME), "every rule read, and every rule read is registered"
