"""Forward basis, gap-aware returns and what happened after the article, on data/ (built from the
mirror; closes rounded to 4 decimals), with values worked by hand from the raw mirrored files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rotation_utils import after_article as X
from rotation_utils import analysis as A
from rotation_utils.derived import load_table
from rotation_utils.plots import spread_labels


@pytest.fixture(scope="module")
def t():
    import os

    saved = os.environ.pop("ROTATION_MIRROR", None)
    try:
        names = ["etf_close", "spdji_annual_eps", "spdji_quarterly_eps", "fred_monthly"]
        return {n: load_table(n) for n in names}
    finally:
        if saved is not None:
            os.environ["ROTATION_MIRROR"] = saved


# Closes read from the mirror's raw files (yahoo_2000_2026 adjusted; alphavantage_2026 column 5).
IWM_0113, IWM_0731 = 260.88592529296875, 291.20
SPY_0113, SPY_0331, SPY_0630, SPY_0731 = 691.8804931640625, 650.34, 746.77, 747.03
XLK_0331, XLK_0731 = 132.90, 175.35
XLF_0331, XLF_0630 = 49.37, 53.61


def test_forward_and_last_year_pe_at_one_price_date(t):
    pe = A.pe_basis(t["spdji_annual_eps"], "2026-01")
    # SECTOR EPS sheet: prices at the close of 2026-01-29; operating EPS 2026E and 2025E
    assert pe.price_date == "2026-01-29" and pe.edition == "2026-01-30"
    assert pe.basis() == "2026E, prices 2026-01-29"
    assert pe.basis("last_year") == "2025E, prices 2026-01-29"
    tab = pe.table
    assert tab.loc["S&P 500", "pe_forward"] == pytest.approx(6969.01 / 310.24)
    assert tab.loc["S&P 400", "pe_forward"] == pytest.approx(3471.51 / 203.08)
    assert tab.loc["S&P 600", "pe_forward"] == pytest.approx(1560.46 / 96.39)
    assert tab.loc["S&P 600", "discount_forward"] == pytest.approx(0.279312, abs=1e-6)
    assert tab.loc["S&P 600", "pe_last_year"] == pytest.approx(1560.46 / 66.72)
    assert tab.loc["S&P 600", "discount_last_year"] == pytest.approx(0.109277, abs=1e-6)
    # the sheet's own rounded forward P/Es agree
    assert round(tab.loc["S&P 500", "pe_forward"], 2) == 22.46
    assert round(tab.loc["S&P 600", "pe_forward"], 2) == 16.19
    late = A.pe_basis(t["spdji_annual_eps"], "2025-12")
    assert late.table is None and "look ahead" in late.reason


def test_sector_pe_forward_blank_without_positive_eps(t):
    sec, basis = A.sector_pe_forward(t["spdji_annual_eps"], "2026-07")
    assert basis.basis() == "2026E, prices 2026-01-29"
    assert sec.loc["Financials", "S&P 500"] == pytest.approx(890.32 / 56.04)
    assert np.isnan(sec.loc["Communication Services", "S&P 600"])  # no 2026 EPS estimate
    assert sec.loc["Financials", "600 vs 500 discount"] == pytest.approx(
        1 - sec.loc["Financials", "S&P 600"] / sec.loc["Financials", "S&P 500"]
    )


def test_price_move_since_the_snapshot_bridges_the_one_day_gap(t):
    m = A.price_move_since(t["etf_close"], "2026-01-13", "2026-07")
    assert m.small.value == pytest.approx(IWM_0731 / IWM_0113 - 1, rel=1e-5)
    assert m.large.value == pytest.approx(SPY_0731 / SPY_0113 - 1, rel=1e-5)
    assert m.relative.as_of == "2026-07-31"
    assert m.relative.basis == (
        "2026-01-13 to 2026-07-31; mixed: total return to 2026-03-27, price only after (Yahoo "
        "Finance adjusted closes then Alpha Vantage unadjusted closes; 2026-03-30 missing, "
        "bridged on price levels)"
    )


def test_no_return_across_the_sector_gap(t):
    segs = A.price_segments(t["etf_close"])
    r = A.ticker_return(t["etf_close"], "XLF", "2025-12-31", "2026-07-31", segs)
    assert r.value is None and r.reason == (
        "XLF prices have a provider gap 2025-12-31 -> 2026-03-31 inside the window "
        "2025-12-31 .. 2026-07-31: no return across it"
    )
    r = A.ticker_return(t["etf_close"], "XLF", "2026-03-31", "2026-06-30", segs)
    assert r.value == pytest.approx(XLF_0630 / XLF_0331 - 1)
    q = A.quarterly_relative_returns(t["etf_close"], "SPY", "2026-07", segments=segs)
    assert np.isnan(q.loc[pd.Period("2026Q1"), "XLF"]) and not np.isnan(q.loc["2026Q1", "IWM"])
    assert q.loc[pd.Period("2026Q2"), "XLF"] == pytest.approx(
        (XLF_0630 / XLF_0331 - 1) - (SPY_0630 / SPY_0331 - 1)
    )
    runs = A.relative_strength_runs(t["etf_close"], "SPY", ["XLF", "IWM"], "2025-06-02", segs)
    assert len(runs["XLF"]) == 2 and runs["XLF"][1].index[0] == pd.Timestamp("2026-03-31")
    assert runs["XLF"][1].iloc[0] == 1.0 and len(runs["IWM"]) == 1


def test_captions_give_each_tickers_own_dates(t):
    cap = A.price_caption(t["etf_close"], ["SPY", "XLK"], "2026-01")
    assert "Prices SPY 2005-01-03..2026-01-30" in cap
    assert "Prices XLK 2006-01-03..2025-12-31" in cap
    cap = A.price_caption(t["etf_close"], ["XLK"], "2026-07")
    assert cap == (
        "Prices XLK 2006-01-03..2026-07-31: Yahoo Finance adjusted closes 2006-01-03..2025-12-31 "
        "(total return), a gap (no return across it), then Alpha Vantage unadjusted closes "
        "2026-03-31..2026-07-31 (price return)."
    )
    assert "yahoo_" not in cap and "alphavantage_" not in cap


def test_iwm_vs_spy_since_the_article_by_hand(t):
    s = X.since_article(t["etf_close"], "2026-01-13", "2026-07")
    assert s.start == "2026-01-13"
    iwm, spy = IWM_0731 / IWM_0113 - 1, SPY_0731 / SPY_0113 - 1
    assert s.returns["IWM"].value == pytest.approx(iwm, rel=1e-5)  # 11.62 %
    assert s.relative.value == pytest.approx(iwm - spy, abs=1e-6)  # +3.65 points
    assert s.relative.as_of == "2026-07-31"
    early = X.since_article(t["etf_close"], "2026-01-13", "2025-12")
    assert early.relative.value is None and "before the article" in early.relative.reason


def test_sectors_ranked_on_one_window_after_their_gap(t):
    r = X.sector_ranking(t["etf_close"], "2026-01-13", "2026-07")
    assert list(r["start"].unique()) == ["2026-03-31"] and len(r) == 11
    assert r.index[0] == "XLK"
    assert r.loc["XLK", "relative"] == pytest.approx(
        (XLK_0731 / XLK_0331 - 1) - (SPY_0731 / SPY_0331 - 1)
    )
    # XLE has no gap: its own window runs from the article's close
    assert r.loc["XLE", "own_start"] == "2026-01-13"
    assert X.sector_ranking(t["etf_close"], "2026-01-13", "2026-02").empty


def test_rotation_scorecard_by_quarter_and_window(t):
    s = X.rotation_scorecard(t["etf_close"], "2026-01-13", "2026-07")
    assert list(s.index) == ["2026Q2", "whole window"]
    assert s.loc["2026Q2", "XLF"] == pytest.approx(XLF_0630 / XLF_0331 - 1)
    assert s.loc["2026Q2", "rotation"] == "no"  # XLK +43.4 % beat all three
    assert s.loc["whole window", "start"] == "2026-03-31"


def test_rates_and_forecasts_after_the_article(t):
    r = X.rates_since(t["fred_monthly"], "2026-01-13", "2026-07")
    assert r.loc["Fed funds (%)", "months after"] == 0  # the mirror's DFF ends 2026-01
    assert r.loc["10y minus 2y (pp)", "latest month"] == "2026-06"
    table, statement = X.forecasts_after(
        t["spdji_quarterly_eps"], t["spdji_annual_eps"], "2026-01-13", "2026-07"
    )
    assert table["realised"].isna().all() and "ended with the 2026-01-30 edition" in statement
    assert table.set_index(["period", "index"]).loc[("2026", "S&P 600"), "forecast"] == 96.39
    early, why = X.forecasts_after(
        t["spdji_quarterly_eps"], t["spdji_annual_eps"], "2025-10-01", "2025-12"
    )
    assert early.empty and why == (
        "No S&P DJI forecasts: the S&P DJI sheet is dated 2026-01-30, after 2025-12: using it "
        "would look ahead, and no earlier edition is mirrored."
    )


def test_spread_labels_removes_overlaps():
    pts = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 0.5], [50.0, 50.0]])
    sizes = np.array([[20.0, 10.0]] * 4)
    boxes = spread_labels(pts, sizes)
    for i in range(4):
        for j in range(i + 1, 4):
            ox = min(boxes[i, 0], boxes[j, 0]) + 20 - max(boxes[i, 0], boxes[j, 0])
            oy = min(boxes[i, 1], boxes[j, 1]) + 10 - max(boxes[i, 1], boxes[j, 1])
            assert ox <= 0 or oy <= 0, (i, j)
    assert boxes[3].tolist() == [56.0, 56.0]  # a label with room stays at its offset


def test_rrg_tail_never_crosses_a_gap(t):
    close = t["etf_close"].loc[:"2026-07-31"]
    long = A.rrg_table(close, "SPY", ["XLF", "IWM"])
    xlf = long[long["ticker"] == "XLF"]
    assert xlf["run"].nunique() == 2 and not xlf["date"].between("2026-01-09", "2026-03-27").any()
    latest, stale = A.rrg_latest(long)
    assert stale == [] and set(latest["week"]) == {"2026-07-31"}


def test_latest_macro_is_typed_and_says_what_is_missing(t):
    macro = A.macro_frame(t["fred_monthly"], "2026-07")
    figures, notes = A.latest_macro(macro, "2026-07")
    assert figures["fed_funds"] == A.Measured(3.64, "2026-01")
    assert figures["t10y2y"].as_of == "2026-06"
    assert any("FRED monthly data end **2026-01**" in n for n in notes)
    early, _ = A.latest_macro(A.macro_frame(t["fred_monthly"], "1990-01"), "1990-01")
    assert not early["fed_funds"].available and "no fed funds rate" in early["fed_funds"].reason


def test_best_sector_says_its_window_is_not_since_the_article(t):
    rank = X.sector_ranking(t["etf_close"], "2026-01-13", "2026-07")
    best = X.best_sector(rank, t["etf_close"], "2026-01-13")
    assert best.value == "XLK" and best.window.start == "2026-03-31"
    assert best.basis == (
        "2026-03-31 to 2026-07-31, the first window after the article (2026-01-13) in which all "
        f"11 sector SPDRs have prices; XLK minus SPY {rank.loc['XLK', 'relative'] * 100:+.1f} pp; "
        "price return"
    )
    assert rank.loc["XLK", "relative"] == pytest.approx(
        (XLK_0731 / XLK_0331 - 1) - (SPY_0731 / SPY_0331 - 1), rel=1e-6
    )


def test_page_04_states_its_regime_rule_and_the_stand_in(t):
    macro = A.macro_frame(t["fred_monthly"], "2026-07").loc["2006-01":]
    rule = A.regime_rule(macro)
    assert "over the 3 months before" in rule and "more than 0.25 pp" in rule
    # T10Y2Y starts 2021-06-24 in the mirror: before that 10y minus fed funds stands in
    assert rule.endswith(
        "From 2006-01 to 2021-05 (185 months) the 10y-2y series is missing in this data, and "
        "10 years minus fed funds stands in for it."
    )
    assert macro.loc["2021-05", "curve_stand_in"] and not macro.loc["2021-07", "curve_stand_in"]


def test_a_partial_month_of_t10y2y_is_labelled_month_to_date(t):
    july = A.latest_macro(A.macro_frame(t["fred_monthly"], "2026-07"), "2026-07")[0]["t10y2y"]
    assert july.as_of == "2026-06"  # the daily series ends 2026-06-24
    assert july.basis == "month to date: mean of the daily values through 2026-06-24"
    may = A.latest_macro(A.macro_frame(t["fred_monthly"], "2026-05"), "2026-05")[0]["t10y2y"]
    assert may.as_of == "2026-05" and may.basis == ""


def test_the_rotation_test_ends_with_its_answer(t):
    test = A.rotation_test(t["etf_close"])
    answer = A.rotation_answer(test)
    q4 = test.loc["2025Q4"]
    assert answer == (
        f"In 2025Q4, minus XLK: XLF {q4['XLF vs XLK'] * 100:+.1f} pp, XLI "
        f"{q4['XLI vs XLK'] * 100:+.1f} pp, XLU {q4['XLU vs XLK'] * 100:+.1f} pp; none beat XLK: "
        "no rotation out of XLK into them."
    )
    assert (q4[["XLF vs XLK", "XLI vs XLK", "XLU vs XLK"]] < 0).all()


def test_a_partial_rotation_says_which_targets_moved():
    cols = ["XLF vs XLK", "XLI vs XLK", "XLU vs XLK"]
    test = pd.DataFrame(
        [[0.01, 0.00, -0.01], [0.03, -0.02, 0.01]], index=["2025Q3", "2025Q4"], columns=cols
    )
    quads = pd.DataFrame({"Q3": ["Leading"], "Q4": ["Weakening"]}, index=["XLK"])
    assert A.rotation_answer(test, quads) == (
        "In 2025Q4, minus XLK: XLF +3.0 pp, XLI -2.0 pp, XLU +1.0 pp; only XLF, XLU beat XLK (by "
        "more than before: XLF, XLU): partly a rotation, not into all three. On the rotation graph "
        "XLK went from Leading to Weakening."
    )
