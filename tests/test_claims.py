"""Notebook-level analysis and claim verdicts on the committed data/, values worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from rotation_utils import analysis as A
from rotation_utils.claims import VERDICTS, check_claims
from rotation_utils.derived import TABLES, load_table
from rotation_utils.facts import load_facts


@pytest.fixture(scope="module")
def tables():
    import os

    saved = os.environ.pop("ROTATION_MIRROR", None)
    try:
        return {n: load_table(n) for n in TABLES}
    finally:
        if saved is not None:
            os.environ["ROTATION_MIRROR"] = saved


def test_index_pe_summary(tables):
    s = A.index_pe_summary(tables["spdji_index_pe"])
    assert s.loc["S&P 600", "discount_to_sp500"] == pytest.approx(1 - 22.0 / 25.79)
    assert s.loc["S&P 500", "discount_to_sp500"] == 0


def test_snapshot_is_not_used_before_its_date(tables):
    assert A.snapshot_status(tables["spdji_index_pe"], "2026-01") == "ok"
    assert "look ahead" in A.snapshot_status(tables["spdji_index_pe"], "2025-12")


def test_size_pb_ratio_is_inverse_bm_ratio_and_respects_the_month(tables):
    bm = tables["french_size_bm"]
    r = A.size_pb_ratio(bm, "2000-03")
    assert str(r.index[-1]) == "2000-03"
    assert r.iloc[-1] == pytest.approx(bm.loc["2000-03", "ME5"] / bm.loc["2000-03", "ME1"])
    st = A.size_pb_stats(A.size_pb_ratio(bm, "2026-01"))
    assert st["as_of"] == "2024-08" and 0 < st["percentile"] < 1


def test_next_year_pe_uses_the_observation_before_the_month_end(tables):
    rev = tables["spdji_estimate_revisions"]
    assert A.next_year_pe(rev, 2025, "2026-01")[:2] == (
        pytest.approx(22.366650077886472),
        "2026-01-30",
    )
    assert A.next_year_pe(rev, 2025, "2025-07")[:2] == (
        pytest.approx(21.010950671778446),
        "2025-06-30",
    )
    assert A.next_year_pe(rev, 2025, "2024-01")[0] is None


def test_rotation_test_q4_2025_by_hand(tables):
    close = tables["etf_close"]
    t = A.rotation_test(close)
    r = lambda s: close.loc["2025-12-31", s] / close.loc["2025-09-30", s] - 1  # noqa: E731
    assert t.loc["2025Q4", "XLF vs XLK"] == pytest.approx(r("XLF") - r("XLK"))
    assert A.rotation_test(close.loc[:"2025-11-30"]) is None


def test_calendar_growth_by_hand(tables):
    g = A.calendar_eps_growth(tables["spdji_annual_eps"])
    a = tables["spdji_annual_eps"].set_index(["index", "sector", "basis", "year"])
    e = lambda y: a.loc[("S&P 600", "All", "operating", y), "eps"]  # noqa: E731
    assert g.loc[2026, "S&P 600"] == pytest.approx(e(2026) / e(2025) - 1)


def test_verdicts_for_the_article_month(tables):
    v = {x.id: x for x in check_claims("2026-01", tables, load_facts())}
    assert set(v) == {f"C{i}" for i in range(1, 10)}
    assert all(x.verdict in VERDICTS for x in v.values())
    assert v["C1"].verdict == "supported" and v["C1"].numbers["discount"] == pytest.approx(
        1 - 22 / 25.79
    )
    assert v["C2"].verdict == "contradicted" and v["C2"].numbers[
        "from_article_numbers"
    ] == pytest.approx(1 - 16.7 / 23.1)
    assert v["C6"].verdict == "contradicted" and v["C6"].numbers["S&P 500"] == 15.89
    assert v["C7"].verdict == "not checkable"
    assert v["C8"].verdict == "contradicted"
    assert v["C9"].verdict == "not checkable" and v["C9"].numbers["xlf_52w_highs_q4_2025"] == 6
    assert "flips" in v["C1"].definitions  # trailing P/E incl. loss-makers reverses C1


def test_verdicts_before_the_data_exists_say_so(tables):
    v = {x.id: x for x in check_claims("2025-06", tables, load_facts())}
    for cid in ("C1", "C5", "C6", "C8", "C9"):
        assert v[cid].verdict == "not checkable" and "as of this month" in v[cid].evidence


def test_a_cited_ev_ebitda_figure_makes_c7_checkable(tables):
    f = load_facts()
    extra = f.loc[["article_industrials_ev_ebitda"]].copy()
    extra.index = ["someone_ev_ebitda"]
    extra["kind"], extra["value"], extra["as_of"] = "published_figure", 18.0, "2025-12-31"
    v = {x.id: x for x in check_claims("2026-01", tables, pd.concat([f, extra]))}
    assert v["C7"].verdict == "contradicted"


def test_growth_from_a_loss_is_blank(tables):
    g = A.calendar_eps_growth(tables["spdji_annual_eps"])
    assert pd.isna(g.loc[2021, "S&P 600"])  # 2020 operating EPS was -3.99
    assert g.loc[2022, "S&P 600"] == pytest.approx(75.96 / 74.25 - 1)


def test_quarterly_eps_known_at_the_month_end(tables):
    q = tables["spdji_quarterly_eps"]
    assert A.quarterly_eps_as_of(q, "2026-01").index[-1] == pd.Timestamp(
        "2026-12-31"
    )  # estimates ahead
    early = A.quarterly_eps_as_of(q, "2025-06")
    assert (early["status"] == "actual").all() and early.index[-1] == pd.Timestamp("2025-03-31")


def test_facts_dated_after_the_month_are_not_used():
    from rotation_utils.facts import facts_as_of

    f = load_facts()
    early = facts_as_of(f, "2025-08")
    assert (
        "ainvest_r2k_trailing_pe_2025_08" in early.index
        and "comtex_r2k_fwd_pe_2025_09" not in early.index
    )
    assert "article_r2k_fwd_pe" in early.index  # seed claims are what is checked
