"""Spread and valuation arithmetic: pure functions on numbers and pandas objects.

Nothing here reads files or plots. Units are stated per function: P/E and P/B in "x", returns
and growth rates as decimals (0.05 = 5 %) unless the argument says percent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = [
    "relative_pe_discount",
    "log_valuation_spread",
    "earnings_yield_gap",
    "valuation_percentile",
    "expanding_percentile",
    "valuation_zscore",
    "widest_since",
    "size_quintile_of",
    "size_group_book_to_market",
    "compound_return",
    "rolling_compound_return",
    "relative_strength",
    "drawdown",
    "rrg",
    "rrg_quadrant",
    "rerating_return",
    "rerating_grid",
    "year_over_year",
    "rate_regime",
    "at_52_week_high",
]

T = TypeVar("T", float, pd.Series, pd.DataFrame, np.ndarray)


def relative_pe_discount(small_pe: T, large_pe: T) -> T:
    """Discount of small-cap to large-cap P/E: ``1 - small / large`` (ratio; 0.277 = 27.7 %).

    Examples
    --------
    >>> round(relative_pe_discount(16.7, 23.1), 4)
    0.2771
    """
    return 1.0 - small_pe / large_pe


def log_valuation_spread(small: T, large: T) -> T:
    """``log(small / large)`` of two valuation multiples (negative: small caps cheaper)."""
    return np.log(small / large)


def earnings_yield_gap(small_pe: T, large_pe: T) -> T:
    """Earnings yield of small minus large caps, ``1/small_pe - 1/large_pe`` (decimal per year)."""
    return 1.0 / small_pe - 1.0 / large_pe


def valuation_percentile(history: pd.Series, value: float | None = None) -> float:
    """Share of observations in ``history`` at or below ``value`` (default: the last one).

    Returns a number in [0, 1]; NaNs in ``history`` are ignored. With ``value`` the last
    observation, 1.0 means "the highest ever" and ``1/n`` "the lowest ever".
    """
    h = history.dropna().to_numpy(dtype=float)
    if h.size == 0:
        raise ParameterError("history", "has no observations")
    v = h[-1] if value is None else float(value)
    return float((h <= v).mean())


def expanding_percentile(history: pd.Series) -> pd.Series:
    """For each date, :func:`valuation_percentile` of that date's value in the history up to it
    (no look-ahead)."""
    h = history.dropna()
    vals = h.to_numpy(dtype=float)
    out = np.array([(vals[: i + 1] <= vals[i]).mean() for i in range(len(vals))])
    return pd.Series(out, index=h.index, name="percentile")


def valuation_zscore(
    history: pd.Series, *, expanding: bool = False, min_periods: int = 24
) -> pd.Series | float:
    """Z-score of the last value in its full history (float), or of every value in the history up
    to its date (Series, with ``expanding=True``). Population standard deviation."""
    h = history.dropna()
    if expanding:
        mean = h.expanding(min_periods).mean()
        std = h.expanding(min_periods).std(ddof=0)
        return (h - mean) / std
    return float((h.iloc[-1] - h.mean()) / h.std(ddof=0))


def widest_since(history: pd.Series, *, at: object | None = None, extreme: str = "low"):
    """The last date before ``at`` on which ``history`` was at least as extreme as at ``at``.

    Parameters
    ----------
    history : Series
        A spread, e.g. small/large P/B ratio by month.
    at : index label, optional
        Date to judge (default: the last observation).
    extreme : {"low", "high"}
        "low": at or below the value at ``at`` (a widest discount for ratios below 1);
        "high": at or above.

    Returns
    -------
    label or None
        None when the value at ``at`` is the most extreme in the whole history before it.
    """
    if extreme not in ("low", "high"):
        raise ParameterError("extreme", f"must be 'low' or 'high', not {extreme!r}")
    h = history.dropna()
    if at is None:
        at = h.index[-1]
    v = h.loc[at]
    before = h.loc[h.index < at]
    hits = before[before <= v] if extreme == "low" else before[before >= v]
    return None if hits.empty else hits.index[-1]


_SIZE = re.compile(r"^(SMALL|BIG|ME(\d))\b", re.I)


def size_quintile_of(column: str) -> int:
    """Size quintile (1 = smallest) of a 25-portfolio column name ("SMALL LoBM", "ME3 BM2")."""
    m = _SIZE.match(column.strip())
    if not m:
        raise ParameterError("column", f"{column!r} is not a size x BE/ME portfolio name")
    word = m.group(1).upper()
    return 1 if word == "SMALL" else 5 if word == "BIG" else int(m.group(2))


def size_group_book_to_market(
    book_to_market: pd.DataFrame, n_firms: pd.DataFrame, avg_market_cap: pd.DataFrame
) -> pd.DataFrame:
    """Value-weighted BE/ME of each size quintile from the 25 size x BE/ME portfolios.

    Parameters
    ----------
    book_to_market : DataFrame
        Value-weighted average BE/ME of each portfolio by month (ratio).
    n_firms : DataFrame
        Number of firms in each portfolio by month.
    avg_market_cap : DataFrame
        Average market cap of each portfolio's firms by month ($ millions).

    Returns
    -------
    DataFrame
        Columns ``ME1`` .. ``ME5`` (smallest .. biggest): ``sum(w * bm) / sum(w)`` over the five
        portfolios of each quintile, with weights ``w = n_firms * avg_market_cap`` (total market
        cap of the portfolio, $ millions) of the same month. A portfolio with missing BE/ME or
        weight is left out of its quintile for that month. P/B of a quintile is ``1 / BE/ME``.
    """
    idx = book_to_market.index.intersection(n_firms.index).intersection(avg_market_cap.index)
    bm = book_to_market.loc[idx]
    w = (n_firms.loc[idx, bm.columns] * avg_market_cap.loc[idx, bm.columns]).where(bm.notna())
    bm = bm.where(w.notna())
    groups = pd.Series([size_quintile_of(c) for c in bm.columns], index=bm.columns)
    out = {}
    for q in range(1, 6):
        cols = groups.index[groups == q]
        num = (bm[cols] * w[cols]).sum(axis=1, min_count=1)
        den = w[cols].sum(axis=1, min_count=1)
        out[f"ME{q}"] = num / den
    return pd.DataFrame(out, index=idx)


def compound_return(returns: pd.Series, *, percent: bool = True) -> float:
    """Compounded return of a run of periodic returns (decimal). ``percent``: inputs in percent."""
    r = returns.dropna().to_numpy(dtype=float)
    if percent:
        r = r / 100.0
    return float(np.prod(1.0 + r) - 1.0)


def rolling_compound_return(
    returns: pd.Series, window: int = 12, *, percent: bool = True
) -> pd.Series:
    """Compounded return over each trailing ``window`` periods (decimal); NaN until full."""
    r = returns / 100.0 if percent else returns
    return np.exp(np.log1p(r).rolling(window).sum()) - 1.0


def relative_strength(
    price: pd.Series, benchmark: pd.Series, *, base: object | None = None
) -> pd.Series:
    """Price relative ``price / benchmark`` rescaled to 1.0 at ``base`` (default: first common date).

    Rising: ``price`` outperforms ``benchmark``.
    """
    p, b = price.align(benchmark, join="inner")
    rs = (p / b).dropna()
    base_val = rs.iloc[0] if base is None else rs.loc[base]
    return rs / base_val


def drawdown(series: pd.Series) -> pd.Series:
    """Fall from the running maximum, ``series / cummax - 1`` (decimal, <= 0)."""
    return series / series.cummax() - 1.0


def rrg(
    price: pd.Series, benchmark: pd.Series, *, window: int = 10, momentum: int = 4
) -> pd.DataFrame:
    """JdK-style relative-rotation coordinates (an open approximation of the proprietary method).

    ``rs = price / benchmark``; ``rs_ratio = 100 * rs / mean(rs over the last window periods)``;
    ``rs_momentum = 100 * rs_ratio / rs_ratio(momentum periods earlier)``. Both centre on 100.
    Usually computed on weekly closes with ``window=10`` and ``momentum=4``.

    Returns
    -------
    DataFrame
        ``rs_ratio``, ``rs_momentum`` and ``quadrant`` per period (NaN until defined).
    """
    if window < 1 or momentum < 1:
        raise ParameterError("window", "window and momentum must be at least 1")
    p, b = price.align(benchmark, join="inner")
    rs = p / b
    ratio = 100.0 * rs / rs.rolling(window).mean()
    mom = 100.0 * ratio / ratio.shift(momentum)
    out = pd.DataFrame({"rs_ratio": ratio, "rs_momentum": mom})
    out["quadrant"] = _quadrants(ratio.to_numpy(dtype=float), mom.to_numpy(dtype=float))
    return out


def _quadrants(ratio: np.ndarray, mom: np.ndarray) -> np.ndarray:
    """:func:`rrg_quadrant` of whole arrays at once (None where either is NaN)."""
    up, ahead = mom >= 100, ratio >= 100
    q = np.select([ahead & up, ahead, up], ["Leading", "Weakening", "Improving"], "Lagging").astype(
        object
    )
    q[np.isnan(ratio) | np.isnan(mom)] = None
    return q


def rrg_quadrant(rs_ratio: float, rs_momentum: float) -> str | None:
    """Leading (>=100, >=100), Weakening (>=100, <100), Lagging (<100, <100), Improving (<100, >=100)."""
    if np.isnan(rs_ratio) or np.isnan(rs_momentum):
        return None
    if rs_ratio >= 100:
        return "Leading" if rs_momentum >= 100 else "Weakening"
    return "Improving" if rs_momentum >= 100 else "Lagging"


def rerating_return(pe_start: float, pe_end: float, eps_growth: float, years: float) -> float:
    """Price return from a change of multiple and earnings growth (decimal).

    ``(pe_end / pe_start) * (1 + eps_growth) ** years - 1``; ``eps_growth`` per year (decimal).

    Examples
    --------
    >>> round(rerating_return(16.0, 20.0, 0.10, 1), 4)  # 25 % re-rating times 10 % growth
    0.375
    """
    return (pe_end / pe_start) * (1.0 + eps_growth) ** years - 1.0


def rerating_grid(
    small_pe: float,
    large_pe: float,
    *,
    convergence: Iterable[float],
    growth_gap: Iterable[float],
    large_growth: float,
    years: float,
) -> pd.DataFrame:
    """Small-cap return relative to large caps over ``years`` for a grid of scenarios.

    Rows: ``convergence`` c (0 = discount unchanged, 1 = small P/E reaches the large P/E), the
    small P/E moving to ``small_pe + c * (large_pe - small_pe)`` while the large P/E stays. Columns:
    ``growth_gap`` (small minus large EPS growth per year, decimal). Values: ``(1 + R_small) /
    (1 + R_large) - 1`` (decimal), with large caps growing at ``large_growth`` per year.
    """
    conv, gaps = list(convergence), list(growth_gap)
    r_large = rerating_return(large_pe, large_pe, large_growth, years)
    data = [
        [
            (
                1
                + rerating_return(
                    small_pe, small_pe + c * (large_pe - small_pe), large_growth + g, years
                )
            )
            / (1 + r_large)
            - 1
            for g in gaps
        ]
        for c in conv
    ]
    return pd.DataFrame(
        data,
        index=pd.Index(conv, name="pe_convergence"),
        columns=pd.Index(gaps, name="eps_growth_gap"),
    )


def year_over_year(series: pd.Series, periods: int = 12) -> pd.Series:
    """Change over ``periods`` observations (decimal), e.g. CPI inflation from a monthly index."""
    return series / series.shift(periods) - 1.0


def rate_regime(
    series: pd.Series,
    *,
    lookback: int = 3,
    threshold: float = 0.25,
    labels=("cutting", "on hold", "hiking"),
) -> pd.Series:
    """Label each period by the change of ``series`` over ``lookback`` periods.

    Below ``-threshold``: ``labels[0]``; above ``+threshold``: ``labels[2]``; else ``labels[1]``.
    For a policy rate in percent use threshold 0.25 (one 25 bp move); for the 10y-2y slope use
    ``labels=("flattening", "stable", "steepening")``. NaN (no label) until ``lookback`` is reached.
    """
    change = series - series.shift(lookback)
    out = pd.Series(labels[1], index=series.index, dtype=object)
    out[change < -threshold] = labels[0]
    out[change > threshold] = labels[2]
    out[change.isna()] = None
    return out


def at_52_week_high(close: pd.Series, *, window: int = 252) -> pd.Series:
    """True on days whose close is the highest of the trailing ``window`` trading days (incl. that
    day). False until a full window exists."""
    roll = close.rolling(window, min_periods=window).max()
    return (close >= roll) & roll.notna()
