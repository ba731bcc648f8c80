"""Returns on the daily ETF closes: one gap-aware return that knows each segment's basis.

The price table ``etf_close`` splices providers (:func:`rotation_utils.sources.prices.
splice_closes`) and records, per ticker, the provider segments: their dates, what their closes
measure (Yahoo's adjusted closes are a total return, Alpha Vantage's unadjusted closes a price
return) and how each joins the one before (on returns, bridged on price levels over a short gap,
or a gap). :func:`price_return` is the only function that turns two closes into a return: it
never crosses a gap, bridges only the days the splice bridged, and says in the Value's ``basis``
whether the window is a total return, a price return or mixed.
"""

from __future__ import annotations

import pandas as pd

from ..months import Month, MonthLike
from ..provenance import provenance_of
from ..results import Value, Window
from ..sources.prices import TOTAL_RETURN, UNADJUSTED, Segment

__all__ = [
    "PROVIDER_NAMES",
    "MAX_ROW_GAP",
    "price_segments",
    "segments_in_window",
    "gaps",
    "break_at_gaps",
    "window_closes",
    "return_basis",
    "price_return",
    "provider_name",
    "segment_kind",
]

#: How a reader knows each price provider (mirror folders and online providers).
PROVIDER_NAMES = {
    "yahoo_2006_2025": "Yahoo Finance",
    "yahoo_2000_2026": "Yahoo Finance",
    "yfinance": "Yahoo Finance",
    "alphavantage_2026": "Alpha Vantage",
    "alphavantage": "Alpha Vantage",
}
#: What a segment's closes are, in the words of a return over them.
_KIND = {TOTAL_RETURN: "total return", UNADJUSTED: "price return"}
_CLOSES = {TOTAL_RETURN: "adjusted closes", UNADJUSTED: "unadjusted closes"}
#: Longest stretch between two rows of a daily price table that is not a gap (a long weekend).
MAX_ROW_GAP = pd.Timedelta(days=5)


def price_segments(close_table: pd.DataFrame) -> dict[str, list[Segment]]:
    """Each ticker's provider segments recorded with the ``etf_close`` table (oldest first)."""
    extra = provenance_of(close_table).extra.get("segments", {})
    return {t: [Segment.from_dict(d) for d in v["segments"]] for t, v in extra.items()}


def gaps(segments: list[Segment]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(last close before, first close after) of each provider gap no return crosses."""
    return [(pd.Timestamp(s.gap_from), pd.Timestamp(s.start)) for s in segments if s.join == "gap"]


def segments_in_window(segments: list[Segment], start: object, end: object) -> list[Segment]:
    """The segments that supply at least one close between ``start`` and ``end`` (inclusive)."""
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    return [s for s in segments if pd.Timestamp(s.start) <= b and pd.Timestamp(s.end) >= a]


def break_at_gaps(series: pd.Series, segments: list[Segment]) -> list[pd.Series]:
    """``series`` split into the runs between provider gaps (oldest first), so no line, return
    or rebasing crosses a gap."""
    s = series.dropna()
    runs, lo = [], None
    for last, first in gaps(segments):
        runs.append(s.loc[lo:last] if lo is not None else s.loc[:last])
        lo = first
    runs.append(s.loc[lo:] if lo is not None else s)
    return [r for r in runs if not r.empty]


def segment_kind(segment: Segment) -> str:
    """What a return over ``segment``'s closes is: "total return" or "price return"."""
    return _KIND.get(segment.basis, "return")


def provider_name(segment: Segment) -> str:
    """ "Yahoo Finance adjusted closes", "Alpha Vantage unadjusted closes"."""
    who = PROVIDER_NAMES.get(segment.provider, segment.provider)
    return f"{who} {_CLOSES.get(segment.basis, 'closes')}"


def return_basis(segments: list[Segment], start: object, end: object) -> tuple[str, str]:
    """What a return from the close of ``start`` to the close of ``end`` is made of.

    Each day's return takes the basis of the segment its later close is in (a day bridged on
    price levels starts an unadjusted segment, so it is a price return too). Returns ``(measure,
    basis)``: ("total return", "total return, Yahoo Finance adjusted closes"), ("price return",
    "price return, Alpha Vantage unadjusted closes") or ("mixed return", "mixed: total return to
    2026-03-27, price only after (...)"); ("return", "closes of the price table") when the table
    records no segments.
    """
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    used = [s for s in segments if pd.Timestamp(s.end) > a and pd.Timestamp(s.start) <= b]
    if not used:
        return "return", "closes of the price table (provider not recorded)"
    kinds = list(dict.fromkeys(_KIND.get(s.basis, "return") for s in used))
    names = " then ".join(dict.fromkeys(provider_name(s) for s in used))
    bridged = [
        f"{', '.join(s.missing)} missing, bridged on price levels"
        for s in used
        if s.join == "levels" and pd.Timestamp(s.start) > a and s.missing
    ]
    tail = f"; {'; '.join(bridged)}" if bridged else ""
    if len(kinds) == 1:
        return kinds[0], f"{kinds[0]}, {names}{tail}"
    switch = next(s for s in used if _KIND.get(s.basis) != kinds[0])
    first_word = kinds[0].replace(" return", "")
    later = kinds[-1].replace(" return", "")
    last_before = switch.gap_from or str((pd.Timestamp(switch.start) - pd.Timedelta(days=1)).date())
    text = (
        f"mixed: {first_word} return to {last_before}, {later.replace('price', 'price only')} "
        f"after ({names}{tail})"
    )
    return "mixed return", text


def _unavailable(name: str, ticker: str, reason: str) -> Value:
    return Value(None, "ratio", reason=reason, name=name, subject=ticker, measure="return")


def window_closes(
    close: pd.DataFrame,
    ticker: str,
    start: object,
    end: object | None = None,
    *,
    month: MonthLike | None = None,
    segments: list[Segment] | None = None,
) -> pd.Series | str:
    """The closes of ``ticker`` from its last close on or before ``start`` to its last close on
    or before ``end`` (default: the end of ``month``), or why there are none: the gap rule.

    The one place the gap rule is written (:func:`price_return` and every measure of
    :mod:`.risk` use it): refused across a provider gap, across a missing close that the splice
    did not bridge, or across a stretch of more than :data:`MAX_ROW_GAP` without rows; never with
    a close dated after ``month``. Days the splice bridged on price levels are left out, so the
    series has no missing value.

    Parameters
    ----------
    close : DataFrame
        The daily price table (``etf_close``), with its provider segments in the provenance.
    ticker : str
    start, end : date-like
        ``end`` defaults to the end of ``month``.
    month : Month, optional
        The report month: no close after its end is used.
    segments : list of Segment, optional
        ``ticker``'s provider segments when ``close`` is a slice that lost its provenance
        (default: those recorded with ``close``).

    Returns
    -------
    Series or str
        The closes (US dollars, or index points for an index) by date, oldest first, first and
        last being the two closes a return over the window uses; or the reason as text.

    Raises
    ------
    ValueError
        Neither ``end`` nor ``month`` is given.
    """
    m = Month.parse(month) if month is not None else None
    if ticker not in close:
        return f"no prices for {ticker} in the price table"
    if end is None and m is None:
        raise ValueError("a price window needs an end date or a month")
    t0 = pd.Timestamp(start)
    t1 = pd.Timestamp(end) if end is not None else m.end
    if m is not None and t1 > m.end:
        return f"the window ends {t1.date()}, after {m}"
    if m is not None and t0 >= m.end:
        return f"the window starts {t0.date()}, after {m}"
    if t1 <= t0:
        return f"the window {t0.date()} .. {t1.date()} is empty"
    s = close[ticker]
    first, last = s.first_valid_index(), s.last_valid_index()
    if first is None:
        return f"no closes of {ticker}"
    cover = f"{ticker} has closes {first.date()} .. {last.date()}"
    if t0 < first:
        return f"the window starts {t0.date()}, before the data ({cover})"
    if end is None and last < m.start:
        return f"no close of {ticker} in {m} ({cover})"
    if end is not None and t1 - last > MAX_ROW_GAP:
        return f"the window ends {t1.date()}, after {ticker}'s last close ({cover})"
    segs = segments if segments is not None else price_segments(close).get(ticker, [])
    rows = s.loc[:t1]
    rows = rows.loc[rows.loc[:t0].last_valid_index() :]
    # A day a short provider gap left out and the splice bridged on price levels (IWM on
    # 2026-03-30) is not a gap; a provider gap or any other missing close is.
    bridged = {pd.Timestamp(d) for seg in segs if seg.join == "levels" for d in seg.missing}
    rows = rows[~(rows.isna() & rows.index.isin(list(bridged)))]
    missing = rows[rows.isna()]
    if len(missing):
        before = s.loc[: missing.index[0]].last_valid_index()
        after = s.loc[missing.index[0] :].first_valid_index()
        nxt = after.date() if after is not None else "no later close"
        known = any(lo <= missing.index[0] <= hi for lo, hi in gaps(segs))
        what = "a provider gap" if known else "a gap"
        return (
            f"{ticker} prices have {what} {before.date()} -> {nxt} inside the window "
            f"{t0.date()} .. {t1.date()}: no return across it"
        )
    steps = rows.index.to_series().diff()
    if (steps > MAX_ROW_GAP).any():
        at = steps.idxmax()
        prev = rows.index[rows.index < at][-1]
        return f"the price table has no rows {prev.date()} -> {at.date()} inside the window"
    return rows


def price_return(
    close: pd.DataFrame,
    ticker: str,
    start: object,
    end: object | None = None,
    *,
    month: MonthLike | None = None,
    name: str = "",
    segments: list[Segment] | None = None,
) -> Value:
    """Return of ``ticker`` from its last close on or before ``start`` to its last close on or
    before ``end`` (default: the end of ``month``), as a decimal ratio.

    The one gap-aware return, on the closes :func:`window_closes` allows (not available across a
    provider gap, across a missing close that the splice did not bridge, or across a stretch of
    more than :data:`MAX_ROW_GAP` without rows; never with a close dated after ``month``). The
    Value's ``window`` gives the two closes used, its ``measure`` and ``basis`` what the return
    is made of (:func:`return_basis`).

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
    segments : list of Segment, optional
        As for :func:`window_closes`.
    """
    rows = window_closes(close, ticker, start, end, month=month, segments=segments)
    if isinstance(rows, str):
        return _unavailable(name, ticker, rows)
    src = provenance_of(close).caption()
    segs = segments if segments is not None else price_segments(close).get(ticker, [])
    a, b = rows.index[0], rows.index[-1]
    measure, basis = return_basis(segs, a, b)
    return Value(
        float(rows.iloc[-1] / rows.iloc[0] - 1.0),
        "ratio",
        as_of=str(b.date()),
        basis=basis,
        window=Window(str(a.date()), str(b.date())),
        source=src,
        name=name,
        subject=ticker,
        measure=measure,
    )


def difference(a: Value, b: Value, *, name: str = "") -> Value:
    """``a - b`` of two returns (a difference of ratios, printed in pp), on ``a``'s window; the
    basis names both when they differ. Unavailable with the first reason when either is."""
    label = f"{a.subject} minus {b.subject}" if a.subject and b.subject else ""
    if not (a.available and b.available):
        return Value(
            None, "ratio_diff", reason=a.reason or b.reason, name=name, subject=label,
            measure=a.measure if a.available else b.measure,
        )  # fmt: skip
    basis = a.basis if a.basis == b.basis else f"{a.subject}: {a.basis}; {b.subject}: {b.basis}"
    measure = a.measure if a.measure == b.measure else "mixed return"
    return Value(
        a.value - b.value,
        "ratio_diff",
        as_of=a.as_of,
        basis=basis,
        window=a.window,
        source=a.source,
        name=name,
        subject=label,
        measure=measure,
    )


def returns_heading(values: list[Value]) -> str:
    """What a list of returns is, in words made from their measure and window: "Total returns
    2025-09-30 to 2025-12-31", "Price returns 2026-03-31 to 2026-07-31", or "Returns 2026-01-13 to
    2026-07-31 (mixed: total return to 2026-03-27, price only after)"."""
    shown = [v for v in values if v.available]
    if not shown:
        return "Returns"
    windows = list(dict.fromkeys(str(v.window) for v in shown))
    when = windows[0] if len(windows) == 1 else "on their own windows"
    measures = list(dict.fromkeys(v.measure for v in shown))
    if measures in (["total return"], ["price return"]):
        return f"{measures[0].capitalize()}s {when}"
    mixed = [v for v in shown if v.measure == "mixed return"]
    why = mixed[0].basis.split(" (")[0] if mixed else "mixed: total and price returns"
    return f"Returns {when} ({why})"
