"""Risk on the daily ETF closes: drawdown, volatility, correlation, beta and the close on a date.

Every measure here reads the closes of a window through
:func:`rotation_utils.measures.prices.window_closes`, the one gap rule of the price table: no
drawdown, volatility, correlation or beta is computed across a provider gap, a missing close the
splice did not bridge, or a stretch of more than :data:`~rotation_utils.measures.prices.
MAX_ROW_GAP` without rows, and none uses a close dated after the report month. Each result is a
:class:`~rotation_utils.results.Value` whose ``basis`` says what the closes are (total return on
adjusted closes, price return on unadjusted ones, or mixed: :func:`~rotation_utils.measures.
prices.return_basis`), with the window of closes used, the as-of date (the last close used) and
the source of the table.

Conventions (the usual ones, stated so a reader can redo them):

- drawdown: the largest fall from a running peak of the closes to a later close, as a decimal
  (``min(close / running max - 1)``): negative, or 0 when the closes never fall;
- volatility: the sample standard deviation (``ddof=1``) of daily log returns times
  ``sqrt(252)``, an annualised decimal;
- correlation and beta: on daily simple returns of the dates both tickers have a close (the
  closes are joined on dates first, so a day one of them lacks makes a two-day return for both);
  beta of A on B is ``cov(A, B) / var(B)`` (both ``ddof=1``).

A day the splice bridged on price levels (IWM, SPY on 2026-03-30) is not a close: the return over
it spans two trading days, and the basis says so.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..months import MonthLike
from ..provenance import provenance_of
from ..results import Value, Window
from ..sources.prices import INDEX_TICKERS, TOTAL_RETURN, UNADJUSTED, Segment
from .prices import (
    MAX_ROW_GAP,
    gaps,
    price_segments,
    provider_name,
    return_basis,
    window_closes,
)

__all__ = [
    "TRADING_DAYS_PER_YEAR",
    "MIN_RETURNS",
    "drawdown",
    "volatility",
    "correlation",
    "beta",
    "close_on",
]

#: Trading days in a year, to annualise a daily standard deviation (``sqrt(252)``).
TRADING_DAYS_PER_YEAR = 252
#: Fewest daily returns a standard deviation (``ddof=1``), correlation or beta is computed on.
MIN_RETURNS = 2


def _na(name: str, subject: str, measure: str, unit: str, reason: str) -> Value:
    return Value(None, unit, reason=reason, name=name, subject=subject, measure=measure)


def _basis_of(close: pd.DataFrame, ticker: str, rows: pd.Series) -> str:
    """What the returns over ``rows`` are made of: :func:`return_basis` of the ticker's
    segments from its first to its last close used."""
    segs = price_segments(close).get(ticker, [])
    return return_basis(segs, rows.index[0], rows.index[-1])[1]


def _window(rows: pd.Series | pd.DataFrame) -> Window:
    return Window(str(rows.index[0].date()), str(rows.index[-1].date()))


def _over(
    rows: pd.Series | pd.DataFrame,
    value: float,
    unit: str,
    basis: str,
    *,
    source: str,
    name: str,
    subject: str,
    measure: str,
    window: Window | None = None,
) -> Value:
    """A measure over the daily ``rows`` of a window: dated by their last day, windowed by their
    first and last unless ``window`` says otherwise (returns start a close later)."""
    return Value(
        value,
        unit,
        as_of=str(rows.index[-1].date()),
        basis=basis,
        window=window or _window(rows),
        source=source,
        name=name,
        subject=subject,
        measure=measure,
    )


def drawdown(
    close: pd.DataFrame,
    ticker: str,
    start: object,
    end: object | None = None,
    *,
    month: MonthLike | None = None,
    name: str = "",
) -> Value:
    """Largest peak-to-trough fall of ``ticker``'s daily closes over a window, as a decimal.

    The window runs from the close on or before ``start`` to the close on or before ``end``
    (default: the end of ``month``), both included; the peak is the highest close so far, the
    trough a later close. Not available across a gap (:func:`~.prices.window_closes`).

    Parameters
    ----------
    close : DataFrame
        The daily price table (``etf_close``), with its provider segments in the provenance.
    ticker : str
    start, end : date-like
        ``end`` defaults to the end of ``month``.
    month : Month, optional
        The report month: no close after its end is used.
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"ratio"``: ``min(close / running max - 1)``, negative or 0 (e.g. -0.084 is an
        8.4% fall); the basis names the peak and trough dates and what the closes are.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "closes", "https://example.org", "v1")
    >>> idx = pd.bdate_range("2025-01-06", periods=5)
    >>> t = with_provenance(pd.DataFrame({"AAA": [100.0, 110.0, 99.0, 104.5, 120.0]}, idx), src)
    >>> v = drawdown(t, "AAA", "2025-01-06", "2025-01-10")
    >>> round(v.value, 4), v.as_of  # 110 -> 99
    (-0.1, '2025-01-10')
    """
    measure = "drawdown"
    rows = window_closes(close, ticker, start, end, month=month)
    if isinstance(rows, str):
        return _na(name, ticker, measure, "ratio", rows)
    if len(rows) < 2:
        return _na(name, ticker, measure, "ratio", f"only one close of {ticker} in the window")
    fall = rows / rows.cummax() - 1.0
    trough = fall.idxmin()
    value = float(fall.min())
    if value < 0:
        peak = rows.loc[:trough].idxmax()
        how = f"peak {peak.date()} to trough {trough.date()}"
    else:
        how = "no close below an earlier one"
    basis = (
        f"largest fall from a running peak of the daily closes, {how}; "
        f"{_basis_of(close, ticker, rows)}"
    )
    src = provenance_of(close).caption()
    return _over(
        rows, value, "ratio", basis, source=src, name=name, subject=ticker, measure=measure
    )


def volatility(
    close: pd.DataFrame,
    ticker: str,
    start: object,
    end: object | None = None,
    *,
    month: MonthLike | None = None,
    name: str = "",
) -> Value:
    """Annualised volatility of ``ticker``: the standard deviation (``ddof=1``) of its daily log
    returns over a window times ``sqrt(252)``.

    Window and gap rule as in :func:`drawdown`: the returns run from the close on or before
    ``start`` to the close on or before ``end`` (default: the end of ``month``).

    Parameters
    ----------
    close : DataFrame
        The daily price table (``etf_close``), with its provider segments in the provenance.
    ticker : str
    start, end : date-like
        ``end`` defaults to the end of ``month``.
    month : Month, optional
        The report month: no close after its end is used.
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"ratio"``: an annualised decimal (0.18 is 18% a year); not available with fewer
        than :data:`MIN_RETURNS` daily returns.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "closes", "https://example.org", "v1")
    >>> idx = pd.bdate_range("2025-01-06", periods=3)
    >>> t = with_provenance(pd.DataFrame({"AAA": [100.0, 110.0, 100.0]}, idx), src)
    >>> v = volatility(t, "AAA", "2025-01-06", "2025-01-08")
    >>> round(v.value, 4)  # log returns +-ln(1.1): std sqrt(2) ln(1.1), times sqrt(252)
    2.1397
    """
    measure = "volatility"
    rows = window_closes(close, ticker, start, end, month=month)
    if isinstance(rows, str):
        return _na(name, ticker, measure, "ratio", rows)
    logs = np.log(rows.to_numpy(dtype=float))
    daily = np.diff(logs)
    if len(daily) < MIN_RETURNS:
        return _na(
            name,
            ticker,
            measure,
            "ratio",
            f"{len(daily)} daily return(s) of {ticker} in the window: a standard deviation "
            f"needs at least {MIN_RETURNS}",
        )
    value = float(np.std(daily, ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR))
    basis = (
        f"annualised: std (ddof=1) of {len(daily)} daily log returns x sqrt(252); "
        f"{_basis_of(close, ticker, rows)}"
    )
    src = provenance_of(close).caption()
    return _over(
        rows, value, "ratio", basis, source=src, name=name, subject=ticker, measure=measure
    )


def _common_returns(
    close: pd.DataFrame,
    other: pd.DataFrame,
    a: str,
    b: str,
    start: object,
    end: object | None,
    month: MonthLike | None,
) -> tuple[pd.DataFrame, Window, str, str] | str:
    """Daily simple returns of ``a`` (from ``close``) and ``b`` (from ``other``) on the dates
    both have a close in the window, with each one's basis; or why there are none."""
    ra = window_closes(close, a, start, end, month=month)
    if isinstance(ra, str):
        return ra
    rb = window_closes(other, b, start, end, month=month)
    if isinstance(rb, str):
        return rb
    both = pd.concat({a: ra, b: rb}, axis=1, join="inner")
    rets = both.pct_change().iloc[1:]
    if len(rets) < MIN_RETURNS:
        return (
            f"{len(rets)} daily return(s) on dates both {a} and {b} have a close in the window: "
            f"needs at least {MIN_RETURNS}"
        )
    if float(rets[b].var(ddof=1)) == 0.0:
        return f"{b}'s closes do not move in the window: no variance"
    if a != b and float(rets[a].var(ddof=1)) == 0.0:
        return f"{a}'s closes do not move in the window: no variance"
    return rets, _window(both), _basis_of(close, a, ra), _basis_of(other, b, rb)


def _pair_basis(what: str, a: str, b: str, rets: pd.DataFrame, ba: str, bb: str) -> str:
    on = f"{what} of {len(rets)} daily simple returns on the dates both have a close"
    if ba == bb:
        return f"{on}; {ba}"
    return f"{on}; {a}: {ba}; {b}: {bb}"


def correlation(
    close: pd.DataFrame,
    a: str,
    b: str,
    start: object,
    end: object | None = None,
    *,
    month: MonthLike | None = None,
    name: str = "",
    other: pd.DataFrame | None = None,
) -> Value:
    """Correlation of the daily simple returns of ``a`` and ``b`` over a window.

    Each ticker's closes pass the gap rule (:func:`~.prices.window_closes`) on their own; the
    returns are taken on the dates both have a close, from the close on or before ``start`` to
    the close on or before ``end`` (default: the end of ``month``).

    Parameters
    ----------
    close : DataFrame
        The daily price table holding ``a`` (``etf_close``), with its provider segments.
    a, b : str
        Tickers.
    start, end : date-like
        ``end`` defaults to the end of ``month``.
    month : Month, optional
        The report month: no close after its end is used.
    name : str
        The metric name the Value answers (claims).
    other : DataFrame, optional
        The table holding ``b`` when it is not ``close``.

    Returns
    -------
    Value
        Unit ``"x"`` (a pure number between -1 and 1); not available with fewer than
        :data:`MIN_RETURNS` common returns or when either series does not move.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "closes", "https://example.org", "v1")
    >>> idx = pd.bdate_range("2025-01-06", periods=4)
    >>> t = pd.DataFrame({"A": [100.0, 102.0, 101.0, 103.0], "B": [50.0, 51.0, 50.5, 51.5]}, idx)
    >>> t = with_provenance(t, src)
    >>> round(correlation(t, "A", "B", "2025-01-06", "2025-01-09").value, 6)
    1.0
    """
    subject, measure = f"{a} and {b}", "correlation of daily returns"
    got = _common_returns(close, close if other is None else other, a, b, start, end, month)
    if isinstance(got, str):
        return _na(name, subject, measure, "x", got)
    rets, window, ba, bb = got
    value = float(np.corrcoef(rets[a].to_numpy(), rets[b].to_numpy())[0, 1])
    basis = _pair_basis("Pearson correlation", a, b, rets, ba, bb)
    src = _sources(close, other)
    return _over(
        rets, value, "x", basis, source=src, name=name, subject=subject, measure=measure,
        window=window,
    )  # fmt: skip


def beta(
    close: pd.DataFrame,
    a: str,
    b: str,
    start: object,
    end: object | None = None,
    *,
    month: MonthLike | None = None,
    name: str = "",
    other: pd.DataFrame | None = None,
) -> Value:
    """Beta of ``a`` on ``b``: ``cov(A, B) / var(B)`` of daily simple returns over a window.

    Returns as in :func:`correlation`: each ticker's closes pass the gap rule on their own and
    the returns are taken on the dates both have a close.

    Parameters
    ----------
    close : DataFrame
        The daily price table holding ``a`` (``etf_close``), with its provider segments.
    a, b : str
        The ticker measured and the benchmark.
    start, end : date-like
        ``end`` defaults to the end of ``month``.
    month : Month, optional
        The report month: no close after its end is used.
    name : str
        The metric name the Value answers (claims).
    other : DataFrame, optional
        The table holding ``b`` when it is not ``close``.

    Returns
    -------
    Value
        Unit ``"x"``: how many times ``b``'s daily move ``a`` moves on average (1.2x: 1.2% for
        1% of ``b``); not available with fewer than :data:`MIN_RETURNS` common returns or when
        ``b`` does not move.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "closes", "https://example.org", "v1")
    >>> idx = pd.bdate_range("2025-01-06", periods=4)
    >>> t = pd.DataFrame({"A": [100.0, 104.0, 102.0, 106.0], "B": [50.0, 51.0, 50.5, 51.5]}, idx)
    >>> t = with_provenance(t, src)
    >>> v = beta(t, "A", "B", "2025-01-06", "2025-01-09")
    >>> 1.9 < v.value < 2.1, v.unit  # A moves about twice as much as B
    (True, 'x')
    """
    subject, measure = f"{a} on {b}", "beta"
    got = _common_returns(close, close if other is None else other, a, b, start, end, month)
    if isinstance(got, str):
        return _na(name, subject, measure, "x", got)
    rets, window, ba, bb = got
    value = float(rets[a].cov(rets[b], ddof=1) / rets[b].var(ddof=1))
    basis = _pair_basis(f"cov({a}, {b}) / var({b})", a, b, rets, ba, bb)
    src = _sources(close, other)
    return _over(
        rets, value, "x", basis, source=src, name=name, subject=subject, measure=measure,
        window=window,
    )  # fmt: skip


def _sources(close: pd.DataFrame, other: pd.DataFrame | None) -> str:
    srcs = [provenance_of(close).caption()]
    if other is not None and other is not close:
        srcs.append(provenance_of(other).caption())
    return " | ".join(dict.fromkeys(srcs))


def _own_last_close(segs: list[Segment], seg: Segment, at: pd.Timestamp) -> bool:
    """True when ``at`` is the last date of ``seg`` and no newer segment rescaled it (the next
    one joins on levels or across a gap, or there is none): an adjusted close there is the
    provider's actual close."""
    i = segs.index(seg)
    if str(at.date()) != segs[i].end:
        return False
    return i == len(segs) - 1 or segs[i + 1].join in ("levels", "gap")


def close_on(
    close: pd.DataFrame,
    ticker: str,
    date: object,
    *,
    month: MonthLike | None = None,
    name: str = "",
) -> Value:
    """The close of ``ticker`` on or before ``date``, in the price table's levels.

    Not available for a date after ``month``, before the ticker's first close, or more than
    :data:`~.prices.MAX_ROW_GAP` after the close on or before it (a date inside a provider gap,
    or after the last close): the close then is not the one of that date.

    Parameters
    ----------
    close : DataFrame
        The daily price table (``etf_close``), with its provider segments in the provenance.
    ticker : str
    date : date-like
    month : Month, optional
        The report month: no close after its end is used.
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"index"`` (a price level): US dollars per share for a fund, index points for an
        index (VIX). The basis says whether it is the price traded that day (an unadjusted close)
        or a dividend-adjusted level (an adjusted close, which is not the traded price before the
        provider's last date); ``as_of`` is the close's own date.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "closes", "https://example.org", "v1")
    >>> idx = pd.bdate_range("2025-01-06", periods=3)
    >>> t = with_provenance(pd.DataFrame({"AAA": [100.0, 101.5, 99.0]}, idx), src)
    >>> v = close_on(t, "AAA", "2025-01-11")  # a Saturday: the last close before it
    >>> v.value, v.as_of
    (99.0, '2025-01-08')
    """
    from ..months import Month

    measure = "close"
    if ticker not in close:
        return _na(name, ticker, measure, "index", f"no prices for {ticker} in the price table")
    t = pd.Timestamp(date)
    m = Month.parse(month) if month is not None else None
    if m is not None and t > m.end:
        return _na(name, ticker, measure, "index", f"the date {t.date()} is after {m}")
    s = close[ticker].dropna()
    if s.empty:
        return _na(name, ticker, measure, "index", f"no closes of {ticker}")
    cover = f"{ticker} has closes {s.index[0].date()} .. {s.index[-1].date()}"
    if t < s.index[0]:
        return _na(name, ticker, measure, "index", f"{t.date()} is before the data ({cover})")
    at = s.loc[:t].index[-1]
    segs = price_segments(close).get(ticker, [])
    if t - at > MAX_ROW_GAP:
        inside = [(lo, hi) for lo, hi in gaps(segs) if lo <= t <= hi]
        if inside:
            lo, hi = inside[0]
            why = f"{t.date()} is inside a provider gap {lo.date()} -> {hi.date()}"
        elif t > s.index[-1]:
            why = f"{t.date()} is after {ticker}'s last close ({cover})"
        else:
            why = f"{ticker} has no close from {at.date()} to {t.date()}"
        return _na(name, ticker, measure, "index", why)
    seg = next(
        (x for x in segs if pd.Timestamp(x.start) <= at <= pd.Timestamp(x.end)),
        None,
    )
    if seg is None:
        basis = "close of the price table (provider not recorded)"
    elif ticker in INDEX_TICKERS:
        basis = f"index level, {INDEX_TICKERS[ticker]} ({provider_name(seg)})"
    elif seg.basis == UNADJUSTED:
        basis = f"the price traded that day, {provider_name(seg)}"
    elif seg.basis == TOTAL_RETURN and _own_last_close(segs, seg, at):
        # An adjusted series equals the actual close at its own last date (not rescaled after).
        basis = f"the price traded that day, {provider_name(seg)} (its last date: no adjustment)"
    elif seg.basis == TOTAL_RETURN:
        basis = (
            f"dividend-adjusted level, {provider_name(seg)}: a total-return level, not the "
            "price traded that day"
        )
    else:
        basis = provider_name(seg)
    return Value(
        float(s.loc[at]),
        "index",
        as_of=str(at.date()),
        basis=f"{basis}, close of {at.date()}",
        source=provenance_of(close).caption(),
        name=name,
        subject=ticker,
        measure=measure,
    )
