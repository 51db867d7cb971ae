"""helpers.revisions: earlier figures the previous pack published that this pack restates."""

from test_pack_record import rec, record, sample

from helpers import revisions
from helpers.revisions import Revision


def test_a_revised_month_in_the_previous_quarter_is_a_revision_with_old_and_new_values():
    previous = record(sample(last="2023-06-01"), "2023-24-Q1")
    # a site uploads 30 more participants for May 2023 (in 2023/24 Q1) after that pack
    current = record(sample([rec("2023-05-01", 30, "b")]), "2023-24-Q2")
    found = revisions.revisions(previous, current)
    people = [r for r in found if r.kpi == "participants"]
    assert len(people) == 1
    (revised,) = people
    assert revised.quarter == "2023-24-Q1"
    assert revised.new - revised.old == 30 and revised.change == 30
    assert ("participants", "2023-24-Q1") in revisions.restated_points(found)
    assert revisions.restated_quarters(found, "participants") == ["2023-24-Q1"]
    # only quarters both packs cover: the new quarter is no revision
    assert all(r.quarter != "2023-24-Q2" for r in found)
    frame = revisions.revisions_frame(found)
    row = frame[frame["Kpi"] == "participants"].iloc[0]
    assert (row["Quarter"], row["New"] - row["Old"]) == ("2023/24 Q1", 30)
    entries = revisions.for_manifest(found)
    assert {"kpi": "participants", "quarter": "2023-24-Q1", "change": 30.0}.items() <= next(
        e for e in entries if e["kpi"] == "participants"
    ).items()
    words = revisions.revision_sentences(found, "2023-24-Q1")
    assert words[0].endswith("restated since the 2023/24 Q1 pack.")
    assert any("in the last pack" in s and "2023/24 Q1" in s and "(up 30)" in s for s in words)


def test_same_data_restates_nothing_and_says_so_in_one_line():
    data = sample()
    found = revisions.revisions(record(data, "2023-24-Q1"), record(data, "2023-24-Q2"))
    assert found == []
    assert revisions.revision_sentences(found, "2023-24-Q1") == [
        "No earlier figures were restated since the 2023/24 Q1 pack."
    ]
    assert revisions.for_manifest(found) == []


def test_no_previous_pack():
    current = record(sample(), "2023-24-Q2")
    assert revisions.revisions(None, current) is None
    assert revisions.for_manifest(None) is None
    assert len(revisions.revision_sentences(None)) == 1
    assert revisions.restated_points(None) == set()


def entry(points, kpi="k", unit="percent"):
    return {"kpis": [{"kpi": kpi, "label": "K", "unit": unit, "history": points}]}


def point(quarter, value, suppressed=False):
    return {"quarter": quarter, "value": value, "suppressed": suppressed}


def test_float_noise_is_not_a_revision_but_a_real_change_and_suppression_are():
    old = entry([point("2023-24-Q1", 0.1 + 0.2), point("2023-24-Q2", 50.0), point("2023-24-Q3", None, True)])
    new = entry([point("2023-24-Q1", 0.3), point("2023-24-Q2", 50.01), point("2023-24-Q3", 10)])
    found = revisions.revisions(old, new)
    assert found == [
        Revision("k", "K", "percent", "2023-24-Q2", 50.0, 50.01),
        Revision("k", "K", "percent", "2023-24-Q3", "*", 10),
    ]
    assert found[1].change is None
    assert "fewer than 8 (suppressed) in the last pack, 10.0% now (change unknown)" in " ".join(
        revisions.revision_sentences(found)
    )
    assert "(up 0.0 percentage points)" not in " ".join(revisions.revision_sentences(found))


def test_many_revisions_are_said_per_kpi():
    old = entry([point(f"2023-24-Q{n}", float(n)) for n in range(1, 5)])
    new = entry([point(f"2023-24-Q{n}", float(n) + 1) for n in range(1, 5)])
    found = revisions.revisions(old, new)
    assert len(revisions.revision_sentences(found, detail=4)) == 5
    assert revisions.revision_sentences(found, "2023-24-Q4", detail=3) == [
        "4 earlier figures restated since the 2023/24 Q4 pack.",
        "K: 4 quarters restated (2023/24 Q1 to 2023/24 Q4); 2023/24 Q4: 4.0% in the last pack, 5.0% now "
        "(up 1.0 percentage point).",
    ]
