"""Valuation and macro history: Shiller's CAPE, FRED series and their year-on-year changes, and
where a value stands in its own monthly history.

Every measure here reads a monthly :class:`History` (a series on a monthly ``PeriodIndex`` with
its unit, basis and source) and returns one :class:`~rotation_utils.results.Value`. Nothing dated
after the report month is used: each history is cut at the month
(:func:`rotation_utils.months.clip_to_month`, the as-of gate's rule for dated rows) before any
number is taken from it.

Conventions:

- CAPE: Shiller's cyclically adjusted P/E (P/E10) of the S&P Composite, the real monthly price
  over the 10-year average of real earnings, a multiple (unit ``"x"``), as Shiller's
  ``ie_data.xls`` gives it (``shiller_monthly``);
- FRED: a daily series is averaged by calendar month (as FRED's own monthly frequency does); a
  monthly one is used as published. Units: :data:`rotation_utils.sources.fred.FRED_UNITS`,
  ``"index"`` (a level) for any other series;
- year-on-year: the month's value over the value 12 months earlier, minus 1, a decimal (unit
  ``"ratio"``: 0.027 is 2.7%); not available when either month is missing;
- percentile: the share of the monthly values from the first month of the history to the latest
  one that are at or below the latest value, a decimal in (0, 1] (unit ``"ratio"``: 1.0 is the
  highest in the history, ``1/n`` the lowest; :func:`rotation_utils.spreads.
  valuation_percentile`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from ..errors import RotationError
from ..months import MonthLike, clip_to_month, parse_month
from ..provenance import provenance_of
from ..results import Value, Window
from ..spreads import valuation_percentile
from ..units import format_value

__all__ = [
    "History",
    "CAPE_BASIS",
    "monthly_mean",
    "level",
    "yoy",
    "yoy_history",
    "percentile",
    "cape_history",
    "cape",
    "fred_history",
    "fred_level",
    "fred_yoy",
    "close_history",
]

#: What Shiller's CAPE is, in words a reader understands.
CAPE_BASIS = "Shiller CAPE (P/E10): real S&P Composite price / 10-year average of real earnings"
#: Months of a year-on-year change.
YEAR = 12


@dataclass(frozen=True)
class History:
    """A metric's monthly history, or why it has none.

    Attributes
    ----------
    series : Series
        Values on a monthly ``PeriodIndex``, oldest first, without missing months' NaNs.
    unit : str
        A key of :data:`rotation_utils.units.UNITS`.
    basis : str
        What the values are, e.g. "FRED DGS10, monthly mean".
    source : str
        Publisher, title and vintage of the data.
    what : str
        The short name reasons use ("CAPE", "CPIAUCSL").
    reason : str
        Why there is no history ("" when there is one).
    """

    series: pd.Series
    unit: str
    basis: str = ""
    source: str = ""
    what: str = ""
    reason: str = ""

    @property
    def available(self) -> bool:
        return not self.reason and not self.series.empty

    def until(self, month: MonthLike) -> History:
        """The history up to the end of ``month`` (no look-ahead)."""
        return replace(self, series=clip_to_month(self.series, month))


def _no_history(unit: str, basis: str, what: str, reason: str) -> History:
    return History(pd.Series(dtype=float), unit, basis, what=what, reason=reason)


def _none(unit: str, reason: str, name: str) -> Value:
    return Value(None, unit, reason=reason, name=name)


def _why_empty(h: History, month: MonthLike) -> str:
    return h.reason or f"no {h.what + ' ' if h.what else ''}value on or before {parse_month(month)}"


def monthly_mean(s: pd.Series) -> pd.Series:
    """A series by calendar month: a daily series averaged by month, a monthly one as it is.

    Examples
    --------
    >>> s = pd.Series([1.0, 3.0, 5.0], pd.to_datetime(["2025-01-02", "2025-01-31", "2025-02-03"]))
    >>> monthly_mean(s).to_dict()
    {Period('2025-01', 'M'): 2.0, Period('2025-02', 'M'): 5.0}
    """
    out = s.dropna()
    if not isinstance(out.index, pd.PeriodIndex):
        out = out.groupby(pd.DatetimeIndex(out.index).to_period("M")).mean()
    out.index.name = "period"
    return out


def _period(at: str | pd.Period) -> pd.Period:
    return pd.Period(str(at), "M")


def level(
    h: History, month: MonthLike, at: str | pd.Period | None = None, *, name: str = ""
) -> Value:
    """The value of a history in month ``at``, or its latest on or before ``month``.

    Parameters
    ----------
    h : History
    month : Month
        The report month: nothing after its end is used.
    at : str or Period, optional
        A month ``YYYY-MM`` on or before ``month``; its own value, not an earlier one.
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        In the history's unit, ``as_of`` the month of the value; not available when ``at`` is
        after ``month`` or has no value.

    Examples
    --------
    >>> idx = pd.period_range("2025-01", periods=3, freq="M")
    >>> h = History(pd.Series([1.0, 2.0, 4.0], idx), "percent", "example", what="X")
    >>> v = level(h, "2025-02")
    >>> v.value, v.as_of
    (2.0, '2025-02')
    >>> level(h, "2025-02", "2025-03").reason
    '2025-03 is after 2025-02'
    """
    m = parse_month(month)
    s = h.until(m).series
    if at is not None:
        p = _period(at)
        if p > pd.Period(str(m), "M"):
            return _none(h.unit, f"{p} is after {m}", name)
        before = s.loc[s.index <= p]
        if before.empty or before.index[-1] != p:
            ends = f" (the data end {s.index[-1]})" if not s.empty and s.index[-1] < p else ""
            return _none(h.unit, h.reason or f"no {h.what} value for {p}{ends}", name)
        s = before
    if s.empty:
        return _none(h.unit, _why_empty(h, m), name)
    return Value(
        float(s.iloc[-1]),
        h.unit,
        as_of=str(s.index[-1]),
        basis=h.basis,
        source=h.source,
        name=name,
    )


def yoy(
    h: History, month: MonthLike, at: str | pd.Period | None = None, *, name: str = ""
) -> Value:
    """Year-on-year change of a history: the value in a month over the value 12 months earlier,
    minus 1.

    Parameters
    ----------
    h : History
        A level (an index, a price): a change of a rate in percent is a difference, not this.
    month : Month
        The report month: nothing after its end is used.
    at : str or Period, optional
        The month of the later value (default: the latest month with a value on or before
        ``month``).
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"ratio"``, a decimal (0.027 is +2.7%); window the two months; not available when
        either month has no value.

    Examples
    --------
    >>> idx = pd.period_range("2024-01", periods=13, freq="M")
    >>> h = History(pd.Series([100.0] * 12 + [103.0], idx), "index", "CPI", what="CPI")
    >>> v = yoy(h, "2025-06")
    >>> round(v.value, 4), str(v.window)
    (0.03, '2024-01 to 2025-01')
    """
    now = level(h, month, at, name=name)
    if not now.available:
        return _none("ratio", now.reason, name)
    p = _period(now.as_of)
    then = h.series.loc[h.series.index == p - YEAR]
    if then.empty:
        return _none(
            "ratio", h.reason or f"no {h.what} value for {p - YEAR}, 12 months before {p}", name
        )
    v0, v1 = float(then.iloc[0]), float(now.value)
    if v0 == 0:
        return _none("ratio", f"{h.what} is 0 in {p - YEAR}: no relative change", name)
    return Value(
        v1 / v0 - 1.0,
        "ratio",
        as_of=str(p),
        basis=f"{h.basis}, {p} / {p - YEAR} - 1 ({v1:g} / {v0:g})",
        window=Window(str(p - YEAR), str(p)),
        source=h.source,
        name=name,
    )


def yoy_history(h: History) -> History:
    """The year-on-year change of every month with a value 12 months before it (unit ``"ratio"``).

    Examples
    --------
    >>> idx = pd.period_range("2024-01", periods=14, freq="M")
    >>> h = History(pd.Series([100.0] * 12 + [102.0, 104.0], idx), "index", "CPI", what="CPI")
    >>> [round(x, 2) for x in yoy_history(h).series]
    [0.02, 0.04]
    """
    s = h.series
    before = s.reindex(s.index - YEAR).to_numpy()
    out = (s / pd.Series(before, index=s.index) - 1.0).dropna()
    return replace(h, series=out, unit="ratio", basis=f"{h.basis}, change over 12 months")


def percentile(history: History | pd.Series, month: MonthLike, *, name: str = "") -> Value:
    """Where the latest value stands in its own monthly history: the share of the monthly values
    up to ``month`` that are at or below the latest one.

    Parameters
    ----------
    history : History or Series
        The metric's monthly history (a bare Series: its provenance is the source).
    month : Month
        The report month: the history is cut at its end, and "latest" is the last value then.
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"ratio"``: a decimal in (0, 1] (1.0: the highest of the history; ``1/n``: the
        lowest); window the first and the latest month, ``as_of`` the latest.

    Examples
    --------
    >>> idx = pd.period_range("2025-01", periods=4, freq="M")
    >>> h = History(pd.Series([10.0, 30.0, 20.0, 25.0], idx), "x", "example", what="X")
    >>> v = percentile(h, "2025-04")  # 10, 20 and 25 of the four are at or below 25
    >>> v.value, str(v.window)
    (0.75, '2025-01 to 2025-04')
    >>> percentile(h, "2025-02").value  # as of February the history is 10, 30
    1.0
    """
    h = history if isinstance(history, History) else _bare(history)
    s = h.until(month).series.dropna()
    if h.reason or s.empty:
        return _none("ratio", _why_empty(h, month), name)
    share = valuation_percentile(s)
    first, last = str(s.index[0]), str(s.index[-1])
    latest = format_value(float(s.iloc[-1]), h.unit) if h.unit else f"{float(s.iloc[-1]):g}"
    basis = (
        f"share of the {len(s)} monthly values {first} to {last} at or below the latest ({latest})"
    )
    return Value(
        share,
        "ratio",
        as_of=last,
        basis=f"{basis}; {h.basis}" if h.basis else basis,
        window=Window(first, last),
        source=h.source,
        name=name,
    )


def _bare(s: pd.Series) -> History:
    try:
        source = provenance_of(s).caption()
    except Exception:  # a Series without provenance: nothing to cite
        source = ""
    return History(s.dropna(), "", source=source, what=str(s.name or "value"))


# --- Shiller's CAPE -----------------------------------------------------------------------------


def cape_history(table: pd.DataFrame | None = None) -> History:
    """Shiller's CAPE by month, from ``shiller_monthly`` (default: :func:`~rotation_utils.
    derived.load_table`), unit ``"x"``.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "ie_data.xls", "https://example.org", "through 2025-02")
    >>> idx = pd.period_range("2025-01", periods=2, freq="M")
    >>> t = with_provenance(pd.DataFrame({"cape": [37.1, 37.2]}, idx), src)
    >>> cape_history(t).series.tolist()
    [37.1, 37.2]
    """
    if table is None:
        from ..derived import load_table

        table = load_table("shiller_monthly")
    src = provenance_of(table).caption()
    if "cape" not in table.columns:
        return History(pd.Series(dtype=float), "x", CAPE_BASIS, src, "CAPE", "no CAPE column")
    return History(table["cape"].dropna(), "x", CAPE_BASIS, src, "CAPE")


def cape(
    month: MonthLike,
    at: str | pd.Period | None = None,
    *,
    table: pd.DataFrame | None = None,
    name: str = "",
) -> Value:
    """Shiller's CAPE of the S&P Composite in month ``at``, or its latest on or before ``month``.

    Parameters
    ----------
    month : Month
        The report month: no row after its end is used.
    at : str or Period, optional
        A month ``YYYY-MM`` on or before ``month``.
    table : DataFrame, optional
        ``shiller_monthly`` (default: read with :func:`~rotation_utils.derived.load_table`).
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"x"`` (a multiple: 39.9 is 39.9 times the 10-year average of real earnings),
        ``as_of`` the month.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "ie_data.xls", "https://example.org", "through 2025-02")
    >>> idx = pd.period_range("2025-01", periods=2, freq="M")
    >>> t = with_provenance(pd.DataFrame({"cape": [37.1, 37.2]}, idx), src)
    >>> v = cape("2025-06", table=t)
    >>> v.shown(), v.as_of
    ('37.20x', '2025-02')
    """
    v = level(cape_history(table), month, at, name=name)
    return v.but(subject="S&P Composite", measure="CAPE")


# --- FRED -----------------------------------------------------------------------------------------


def fred_history(series: str, table: pd.DataFrame | None = None) -> History:
    """A FRED series by month, unit :func:`~rotation_utils.sources.fred.fred_unit`.

    From ``table`` (``fred_monthly``) when it holds the series, else read with
    :func:`~rotation_utils.sources.fred.read_fred` (cache, mirror or FRED itself): with
    ``ROTATION_MIRROR`` set only the mirror's series exist. A series that cannot be read is a
    History with the reason, never an error.

    Examples
    --------
    >>> fred_history("not an id").reason
    "'not an id' is not a FRED series id (A-Z, 0-9 and _, up to 30 characters)"
    """
    from ..sources.fred import SERIES_ID, fred_unit, read_fred

    unit = fred_unit(series)
    basis = f"FRED {series}, monthly mean"
    empty = pd.Series(dtype=float)
    if not SERIES_ID.match(series):
        why = f"{series!r} is not a FRED series id (A-Z, 0-9 and _, up to 30 characters)"
        return History(empty, unit, basis, what=series, reason=why)
    if table is not None and series in table.columns:
        return History(table[series].dropna(), unit, basis, provenance_of(table).caption(), series)
    try:
        s = read_fred(series)
    except RotationError as e:
        return History(empty, unit, basis, what=series, reason=f"no FRED series {series}: {e}")
    return History(monthly_mean(s), unit, basis, provenance_of(s).caption(), series)


def fred_level(
    series: str,
    month: MonthLike,
    at: str | pd.Period | None = None,
    *,
    history: History | None = None,
    name: str = "",
) -> Value:
    """A FRED series' monthly mean in month ``at``, or its latest on or before ``month``.

    Parameters
    ----------
    series : str
        A FRED series id (e.g. ``DGS10``).
    month : Month
        The report month: nothing after its end is used.
    at : str or Period, optional
        A month ``YYYY-MM`` on or before ``month``.
    history : History, optional
        The series' :func:`fred_history` (default: read it).
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        In the series' unit: ``"percent"`` for a rate (4.14 is 4.14%), ``"pp"`` for a spread,
        ``"index"`` for a level (CPI, 1982-84 = 100).
    """
    h = history if history is not None else fred_history(series)
    return level(h, month, at, name=name)


def fred_yoy(
    series: str,
    month: MonthLike,
    at: str | pd.Period | None = None,
    *,
    history: History | None = None,
    name: str = "",
) -> Value:
    """A FRED series' year-on-year change: its monthly value over the value 12 months earlier,
    minus 1 (:func:`yoy`).

    Parameters
    ----------
    series : str
        A FRED series id, a level (e.g. ``CPIAUCSL``: the 12-month CPI inflation rate).
    month : Month
        The report month: nothing after its end is used.
    at : str or Period, optional
        The later month (default: the latest with a value on or before ``month``).
    history : History, optional
        The series' :func:`fred_history` (default: read it).
    name : str
        The metric name the Value answers (claims).

    Returns
    -------
    Value
        Unit ``"ratio"``, a decimal (0.026 is +2.6% over 12 months).

    Examples
    --------
    >>> idx = pd.period_range("2024-12", periods=13, freq="M")
    >>> h = History(pd.Series([315.0] + [320.0] * 11 + [323.5], idx), "index", "FRED X", what="X")
    >>> round(fred_yoy("X", "2025-12", history=h).value, 5)
    0.02698
    """
    h = history if history is not None else fred_history(series)
    return yoy(h, month, at, name=name)


# --- month-end closes ----------------------------------------------------------------------------


def close_history(
    close: pd.DataFrame, ticker: str, month: MonthLike, until: object | None = None
) -> History:
    """The month-end closes of ``ticker`` up to ``until`` (default: the end of ``month``).

    A month counts when its last close is at most :data:`~rotation_utils.measures.prices.
    MAX_ROW_GAP` before the month's end (for the last month: before ``until``), so a month cut
    by a provider gap is left out rather than shown at a mid-month close.

    Parameters
    ----------
    close : DataFrame
        The daily price table holding ``ticker``, with its provider segments.
    ticker : str
    month : Month
        The report month: no close after its end is used.
    until : date-like, optional
        The last date (a ``close:<TICKER>:<date>`` metric's date).

    Returns
    -------
    History
        Unit ``"index"`` (US$ per share, index points for VIX); the basis says whether the
        closes are adjusted (total return), unadjusted (price) or mixed.

    Examples
    --------
    >>> from rotation_utils.provenance import Provenance, with_provenance
    >>> src = Provenance("Example", "closes", "https://example.org", "v1")
    >>> idx = pd.to_datetime(["2025-01-30", "2025-01-31", "2025-02-27", "2025-03-10"])
    >>> t = with_provenance(pd.DataFrame({"AAA": [99.0, 100.0, 104.0, 101.0]}, idx), src)
    >>> close_history(t, "AAA", "2025-03", "2025-03-10").series.tolist()
    [100.0, 104.0, 101.0]
    """
    from ..months import Month
    from .prices import MAX_ROW_GAP, price_segments, return_basis

    m = Month.parse(month)
    what = f"{ticker} close"
    basis = f"month-end closes of {ticker}"
    if ticker not in close:
        return _no_history("index", basis, what, f"no prices for {ticker} in the price table")
    end = min(pd.Timestamp(until), m.end) if until is not None else m.end
    s = close[ticker].dropna()
    s = s.loc[s.index <= end + pd.Timedelta(hours=23, minutes=59)]
    if s.empty:
        why = f"no close of {ticker} on or before {end.date()}"
        return _no_history("index", basis, what, why)
    idx = pd.DatetimeIndex(s.index)
    last = s.groupby(idx.to_period("M")).tail(1)
    periods = pd.DatetimeIndex(last.index).to_period("M")
    due = [min(p.end_time.normalize(), end.normalize()) for p in periods]
    keep = [
        due_d - pd.Timestamp(d) <= MAX_ROW_GAP for d, due_d in zip(last.index, due, strict=True)
    ]
    out = pd.Series(last.to_numpy(dtype=float)[keep], index=periods[keep], name=ticker)
    out.index.name = "period"
    segs = price_segments(close).get(ticker, [])
    words = return_basis(segs, s.index[0], s.index[-1])[1] if segs else "closes of the price table"
    return History(out, "index", f"{basis}; {words}", provenance_of(close).caption(), what)
