"""Spread arithmetic: values worked by hand, and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rotation_utils import spreads as S
from rotation_utils.errors import ParameterError

pos = st.floats(min_value=0.5, max_value=200, allow_nan=False)


def test_relative_pe_discount_of_the_article_numbers():
    assert S.relative_pe_discount(16.7, 23.1) == pytest.approx(0.27705627, abs=1e-8)
    assert S.relative_pe_discount(22.0, 25.79) == pytest.approx(0.146956, abs=1e-6)


@given(pos)
def test_discount_of_equal_pes_is_zero(pe):
    assert S.relative_pe_discount(pe, pe) == 0
    assert S.log_valuation_spread(pe, pe) == 0
    assert S.earnings_yield_gap(pe, pe) == 0


def test_earnings_yield_gap_and_log_spread():
    assert S.earnings_yield_gap(20.0, 25.0) == pytest.approx(0.05 - 0.04)
    assert S.log_valuation_spread(10.0, 20.0) == pytest.approx(-math.log(2))


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60))
def test_percentile_is_in_unit_interval(xs):
    p = S.valuation_percentile(pd.Series(xs))
    assert 0 < p <= 1


def test_percentile_zscore_and_expanding_by_hand():
    s = pd.Series([3.0, 1.0, 2.0, 5.0, 4.0])
    assert S.valuation_percentile(s) == 0.8  # 4 of 5 values <= 4
    assert S.valuation_percentile(s, 1.0) == 0.2
    assert S.expanding_percentile(s).tolist() == [1.0, 0.5, 2 / 3, 1.0, 0.8]
    assert S.valuation_zscore(s) == pytest.approx((4 - 3) / math.sqrt(2))
    with pytest.raises(ParameterError):
        S.valuation_percentile(pd.Series([np.nan]))


def test_widest_since():
    idx = pd.period_range("2000-01", periods=6, freq="M")
    s = pd.Series([0.5, 0.2, 0.6, 0.7, 0.4, 0.3], index=idx)
    assert str(S.widest_since(s)) == "2000-02"  # 0.3 last matched by 0.2 in Feb
    assert S.widest_since(s, at=idx[1]) is None  # lowest so far
    assert S.widest_since(s, at=idx[3], extreme="high") is None  # 0.7 is the highest so far
    with pytest.raises(ParameterError):
        S.widest_since(s, extreme="wide")


def test_size_group_book_to_market_weights_by_market_cap():
    idx = pd.period_range("2024-01", periods=1, freq="M")
    cols = ["SMALL LoBM", "ME1 BM2", "BIG LoBM", "BIG HiBM"]
    bm = pd.DataFrame([[0.2, 0.6, 0.1, 0.5]], index=idx, columns=cols)
    n = pd.DataFrame([[10, 30, 1, 1]], index=idx, columns=cols)
    mc = pd.DataFrame([[1.0, 1.0, 300.0, 100.0]], index=idx, columns=cols)
    out = S.size_group_book_to_market(bm, n, mc)
    # ME1: (0.2*10 + 0.6*30) / 40 = 0.5 ; ME5: (0.1*300 + 0.5*100) / 400 = 0.2
    assert out.loc["2024-01", "ME1"] == pytest.approx(0.5)
    assert out.loc["2024-01", "ME5"] == pytest.approx(0.2)
    assert math.isnan(out.loc["2024-01", "ME3"])
    assert S.size_quintile_of("ME3 BM2") == 3 and S.size_quintile_of(" BIG HiBM") == 5


def test_compound_and_rolling_returns():
    r = pd.Series([10.0, -10.0, 5.0])  # percent
    assert S.compound_return(r) == pytest.approx(1.1 * 0.9 * 1.05 - 1)
    roll = S.rolling_compound_return(r, 2)
    assert math.isnan(roll.iloc[0]) and roll.iloc[2] == pytest.approx(0.9 * 1.05 - 1)


def test_relative_strength_and_drawdown():
    idx = pd.date_range("2025-01-01", periods=3)
    a, b = pd.Series([10.0, 12.0, 9.0], idx), pd.Series([20.0, 20.0, 30.0], idx)
    assert S.relative_strength(a, b).tolist() == pytest.approx([1.0, 1.2, 0.6])
    assert S.drawdown(pd.Series([1.0, 2.0, 1.5, 3.0])).tolist() == [0, 0, -0.25, 0]


def test_rrg_by_hand_and_quadrants():
    idx = pd.date_range("2025-01-03", periods=4, freq="W-FRI")
    price = pd.Series([1.0, 1.0, 2.0, 2.0], idx)
    bench = pd.Series([1.0] * 4, idx)
    r = S.rrg(price, bench, window=2, momentum=1)
    # rs = [1,1,2,2]; ratio = 100*rs/mean2 = [nan,100,133.33,100]; mom = 100*ratio/ratio.shift(1)
    assert r["rs_ratio"].iloc[2] == pytest.approx(400 / 3)
    assert r["rs_momentum"].iloc[2] == pytest.approx(400 / 3)
    assert r["rs_momentum"].iloc[3] == pytest.approx(75.0)
    assert r["quadrant"].isna().tolist()[:2] == [True, True]
    assert r["quadrant"].tolist()[2:] == ["Leading", "Weakening"]
    assert S.rrg_quadrant(99, 101) == "Improving" and S.rrg_quadrant(99, 99) == "Lagging"


def test_rerating_by_hand():
    assert S.rerating_return(16.0, 20.0, 0.10, 1) == pytest.approx(0.375)
    g = S.rerating_grid(
        15.0, 20.0, convergence=[0, 1], growth_gap=[0.0, 0.1], large_growth=0.0, years=1
    )
    assert g.loc[0, 0.0] == pytest.approx(0.0)
    assert g.loc[1, 0.0] == pytest.approx(20 / 15 - 1)
    assert g.loc[1, 0.1] == pytest.approx(20 / 15 * 1.1 - 1)


@given(pos, pos, st.floats(-0.5, 0.5), st.floats(0.1, 10))
def test_rerating_without_convergence_or_gap_is_zero_relative(small, large, growth, years):
    g = S.rerating_grid(
        small, large, convergence=[0.0], growth_gap=[0.0], large_growth=growth, years=years
    )
    assert g.iloc[0, 0] == pytest.approx(0.0, abs=1e-9)


def test_rate_regime_and_yoy_and_52_week_high():
    s = pd.Series([5.0, 5.0, 5.0, 4.5, 4.5, 5.25])
    reg = S.rate_regime(s, lookback=3, threshold=0.25)
    assert reg.tolist() == [None, None, None, "cutting", "cutting", "on hold"]
    assert S.year_over_year(pd.Series([100.0, 103.0]), 1).iloc[1] == pytest.approx(0.03)
    c = pd.Series([1.0, 3.0, 2.0, 4.0])
    assert S.at_52_week_high(c, window=2).tolist() == [False, True, False, True]
    assert not hasattr(S, "period_return")  # the one gap-aware return is measures.price_return
