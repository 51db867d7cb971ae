"""helpers.peer_views: the funnel plot, the folded peer table and the performance grid as shown."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from test_comparison import ICBS, QUARTER, compared, national  # noqa: F401 - fixtures

from helpers import peer_views
from helpers.comparison import APPENDIX_COLUMNS, NO_PEER_DATA
from helpers.quarters import parse


def test_funnel_figure_says_where_the_icb_sits(compared):  # noqa: F811
    found = compared["participants_per_10k"]
    chart = peer_views.funnel_figure(found)
    f = found.figures
    assert chart.title.startswith(f"QWU ranks {f.rank} of {len(ICBS)} ICBs")
    assert f"rank {f.rank} of {len(ICBS)}" in chart.alt_text and "QWU " in chart.alt_text
    assert found.position in chart.alt_text
    assert chart.png_bytes() == peer_views.funnel_figure(found).png_bytes()  # deterministic


def test_peer_table_is_folded_and_goes_to_the_appendix_with_the_contract_columns(national, compared):  # noqa: F811
    from helpers import section_tables

    section = SimpleNamespace(
        id="20_participation_equity", peers=compared, detail={}, data=national, quarter=parse(QUARTER)
    )
    shown = peer_views.peer_table(section, "core20_pct")
    assert shown._repr_html_().startswith('<details class="bp-details"><summary>All 5 ICBs ranked')
    payload = shown.table.payload()
    assert payload["name"] == "peers_core20_pct" and payload["columns"] == list(APPENDIX_COLUMNS)
    assert len(payload["rows"]) == len(ICBS)
    # declared for the appendix, in the section before its headline table; none without peer data
    names = [d.name for d in section_tables.declarations("20_participation_equity")]
    assert names.index("peers_participants_per_10k") < names.index("peers_core20_pct") < names.index("headline_kpis")
    empty = section_tables.compute(
        section_tables.declared("20_participation_equity", "peers_core20_pct"), SimpleNamespace(peers={})
    )
    assert empty.frame is None and empty.table is None


def test_a_note_is_escaped():
    assert peer_views.Note("<b>x</b> & y")._repr_html_() == '<p class="bp-note">&lt;b&gt;x&lt;/b&gt; &amp; y</p>'


def test_performance_grid_lists_each_kpi_with_its_icon_and_words(compared):  # noqa: F811
    scorecard = pd.DataFrame({"Kpi": list(compared), "Variation": ["common_cause", None, None, "concern_high", None]})
    section = SimpleNamespace(id="00_summary", scorecard=scorecard, peers=compared, quarter=parse(QUARTER), detail={})
    grid, listed = peer_views.performance_grid(section)
    assert grid.name == "performance_grid" and "Performance grid" in grid.caption
    html = listed._repr_html_()
    assert html.count("<li>") == len(compared) and html.count('class="bp-grid-icon"') == 2
    assert 'alt="Common cause variation"' in html
    assert repr(listed).splitlines()[0].startswith(compared["gp_practices_recruiting_pct"].label)


def test_no_peer_data_shows_one_sentence(capsys):
    section = SimpleNamespace(scorecard=pd.DataFrame({"Kpi": [], "Variation": []}), peers={}, quarter=parse(QUARTER))
    assert peer_views.performance_grid(section) is None
    peer_views.show_performance_grid(section)
    peer_views.show_peers(SimpleNamespace(peers={}, id="20_participation_equity", quarter=parse(QUARTER)))
    assert capsys.readouterr().out.count(NO_PEER_DATA) == 2


@pytest.mark.parametrize(
    ("name", "short"),
    [("NHS Coventry and Warwickshire Integrated Care Board", "Coventry and Warwickshire"), ("Plain", "Plain")],
)
def test_short_name(name, short):
    assert peer_views.short_name(name) == short
