"""What happened after a dated call: returns, sector ranks, the rotation test, rates and earnings
from the article's close through the report month (notebook 06).

Every return here is gap-aware: it rests on one ticker's closes from its provider segments, is
bridged on price levels only where :func:`~rotation_utils.sources.prices.splice_closes` bridged a
short gap, and never crosses a long gap (the sector SPDRs have no prices from 2026-01-02 to
2026-03-30; their windows start on their first close after the gap instead, and say so).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .analysis import (
    break_at_gaps,
    difference,
    measured,
    price_move_since,
    price_segments,
    snapshot_availability,
    ticker_return,
)
from .measures.prices import price_return
from .months import clip_to_month, month_end, parse_month
from .results import Value, Window
from .sources.prices import SECTOR_ETFS, Segment
from .units import format_value

__all__ = [
    "SinceArticle",
    "article_close",
    "since_article",
    "cumulative_returns",
    "usable_start",
    "sector_ranking",
    "best_sector",
    "rotation_scorecard",
    "rates_since",
    "forecasts_after",
]


@dataclass(frozen=True)
class SinceArticle:
    """Cumulative returns (decimal) from the article's close to the last close of the month.

    ``returns`` maps ticker -> :class:`Value`; ``relative`` is ``small`` minus ``large``.
    """

    article_date: str
    start: str
    small: str
    large: str
    returns: dict[str, Value]
    relative: Value


def article_close(close: pd.DataFrame, ticker: str, article_date: str) -> pd.Timestamp | None:
    """The last close of ``ticker`` on or before ``article_date`` (the price the call was made at)."""
    s = close[ticker].dropna().loc[: pd.Timestamp(article_date)]
    return None if s.empty else s.index[-1]


def since_article(
    close: pd.DataFrame,
    article_date: str,
    month: str,
    *,
    small: str = "IWM",
    large: str = "SPY",
    others: tuple[str, ...] = ("QQQ",),
) -> SinceArticle:
    """Returns of ``small``, ``large`` and ``others`` from the close on or before the article date
    to the last close on or before the month end; ``relative`` = small minus large."""
    segs = price_segments(close)
    start = article_close(close, large, article_date)
    end = month_end(parse_month(month))
    move = price_move_since(close, article_date, month, small=small, large=large)
    rets = {small: move.small, large: move.large}
    rets.update({t: ticker_return(close, t, article_date, end, segs) for t in others})
    rel = move.relative
    if end < pd.Timestamp(article_date):
        rel = measured(
            None, month, f"{month} ends before the article ({article_date})", unit="ratio_diff"
        )
    return SinceArticle(
        article_date, "" if start is None else str(start.date()), small, large, rets, rel
    )


def cumulative_returns(
    close: pd.DataFrame, tickers: list[str], start: str, month: str
) -> pd.DataFrame:
    """Daily cumulative return (decimal) of each ticker from its close on or before ``start``
    to the month end; a ticker stops at its first provider gap after ``start`` (no return
    across it). Long table ``date, ticker, cumulative``."""
    segs = price_segments(close)
    c = clip_to_month(close, month)
    parts = []
    for t in tickers:
        s = c[t].dropna()
        base = s.loc[: pd.Timestamp(start)]
        if base.empty:
            continue
        run = next(r for r in break_at_gaps(s, segs.get(t, [])) if base.index[-1] in r.index)
        run = run.loc[base.index[-1] :]
        parts.append(
            pd.DataFrame({"date": run.index, "ticker": t, "cumulative": run / run.iloc[0] - 1})
        )
    if not parts:
        return pd.DataFrame(columns=["date", "ticker", "cumulative"])
    return pd.concat(parts, ignore_index=True)


def usable_start(
    close: pd.DataFrame, ticker: str, after: str, segments: dict[str, list[Segment]]
) -> pd.Timestamp | None:
    """The first date from which ``ticker`` has closes without a provider gap up to its last
    close: its close on or before ``after`` when no gap follows, else its first close after the
    last gap. None when it has no close at all after ``after``."""
    s = close[ticker].dropna()
    if s.loc[pd.Timestamp(after) :].empty:
        return None
    start = article_close(close, ticker, after) or s.index[0]
    for seg in segments.get(ticker, []):
        if seg.join == "gap" and pd.Timestamp(seg.start) > start:
            start = pd.Timestamp(seg.start)
    return start


def sector_ranking(
    close: pd.DataFrame, article_date: str, month: str, *, benchmark: str = "SPY"
) -> pd.DataFrame:
    """Sector SPDRs ranked by return minus ``benchmark`` over one window common to all of them:
    from the latest of their first usable dates after the article (:func:`usable_start`) to
    the last close of the month, so no sector's window holds months another's lacks.

    Columns: ``sector``, ``start``, ``end``, ``return``, ``benchmark_return``, ``relative``
    (decimal) on the common window, and ``own_start`` / ``relative_own`` on each sector's own
    window since the article (which differs when a sector has no gap). Index: ticker, best
    first; empty when a sector has no close after the article.
    """
    segs = price_segments(close)
    c = clip_to_month(close, month)
    starts = {t: usable_start(c, t, article_date, segs) for t in SECTOR_ETFS}
    if any(s is None for s in starts.values()):
        return pd.DataFrame()
    common = max(starts.values())
    rows = []
    for t, name in SECTOR_ETFS.items():
        end = c[t].last_valid_index()
        r, b = (ticker_return(c, x, common, end, segs) for x in (t, benchmark))
        ro, bo = (ticker_return(c, x, starts[t], end, segs) for x in (t, benchmark))
        if not (r.available and b.available) or end <= common:
            return pd.DataFrame()
        rows.append(
            {
                "ticker": t,
                "sector": name,
                "start": str(common.date()),
                "end": r.as_of,
                "return": r.value,
                "benchmark_return": b.value,
                "relative": r.value - b.value,
                "own_start": str(starts[t].date()),
                "relative_own": difference(ro, bo).value,
            }
        )
    return pd.DataFrame(rows).set_index("ticker").sort_values("relative", ascending=False)


def best_sector(
    rank: pd.DataFrame, close: pd.DataFrame, article_date: str, *, benchmark: str = "SPY"
) -> Value:
    """The top sector of :func:`sector_ranking` as a Value whose basis says over which window it
    was measured: since the article when every sector SPDR has prices from the article's close,
    else from the first date they all have prices after it (and then it says so).

    The basis also gives the margin over ``benchmark`` (pp) and what the return is made of
    (total, price or mixed return, from the closes' providers).
    """
    best = str(rank.index[0])
    start, end = rank.loc[best, "start"], rank.loc[best, "end"]
    r = price_return(close, best, start, end)
    margin = format_value(rank.loc[best, "relative"], "ratio_diff")
    at_article = article_close(close, benchmark, article_date)
    since = at_article is not None and pd.Timestamp(start) <= at_article
    window = (
        f"since the article, {start} to {end}"
        if since
        else f"{start} to {end}, the first window after the article ({article_date}) in which all "
        f"{len(rank)} sector SPDRs have prices"
    )
    return Value(
        best,
        "ticker",
        as_of=str(end),
        basis=f"{window}; {best} minus {benchmark} {margin}; {r.measure}",
        window=Window(str(start), str(end)),
        source=r.source,
        subject=f"{best} ({rank.loc[best, 'sector']})",
        measure=r.measure,
    )


def _periods_after(
    article_date: str, last: pd.Timestamp
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Calendar quarters that start after the article and whose last day is in the data."""
    q = pd.Period(pd.Timestamp(article_date), "Q") + 1
    out = []
    while q.end_time.normalize() - pd.Timedelta(days=3) <= last:
        out.append((str(q), (q - 1).end_time.normalize(), q.end_time.normalize()))
        q += 1
    return out


def rotation_scorecard(
    close: pd.DataFrame,
    article_date: str,
    month: str,
    *,
    source: str = "XLK",
    targets: tuple[str, ...] = ("XLF", "XLI", "XLU"),
    benchmark: str = "SPY",
) -> pd.DataFrame:
    """Did ``targets`` beat ``source`` and ``benchmark``? For every complete quarter after the
    article and for the whole window (every ticker from the latest of their usable starts).

    Rows: periods. Columns: ``start``, ``end``, each ticker's return (decimal), ``rotation``
    ("yes" when every target beat both, "no" otherwise, or why it cannot be measured).
    """
    segs = price_segments(close)
    c = clip_to_month(close, month)
    tickers = (*targets, source, benchmark)
    last = min(c[t].last_valid_index() for t in tickers)
    starts = [usable_start(c, t, article_date, segs) for t in tickers]
    periods = _periods_after(article_date, last)
    if all(s is not None for s in starts):
        periods.append(("whole window", max(starts), last))
    rows = {}
    for name, a, b in periods:
        if b <= a:
            rows[name] = {"start": str(a.date()), "end": str(b.date()),
                          "rotation": f"not measurable: no close after {a.date()} yet"}  # fmt: skip
            continue
        rets = {t: ticker_return(c, t, a, b, segs) for t in tickers}
        row: dict[str, object] = {"start": str(a.date()), "end": str(b.date())}
        row.update({t: m.value for t, m in rets.items()})
        missing = [m.reason for m in rets.values() if not m.available]
        if missing:
            row["rotation"] = "not measurable: " + missing[0]
        else:
            beat = all(
                rets[t].value > rets[source].value and rets[t].value > rets[benchmark].value
                for t in targets
            )
            row["rotation"] = "yes" if beat else "no"
        rows[name] = row
    return pd.DataFrame(rows).T if rows else pd.DataFrame()


def rates_since(fred: pd.DataFrame, article_date: str, month: str) -> pd.DataFrame:
    """Fed funds, 10-year yield (percent) and 10y-2y (percentage points, monthly mean of daily)
    in the article's month and in each series' own last month up to ``month``, with the change
    (percentage points) and the months between."""
    f = clip_to_month(fred, month)
    at = pd.Period(pd.Timestamp(article_date), "M")
    rows = {}
    for col, label in [
        ("DFF", "Fed funds (%)"),
        ("DGS10", "10-year Treasury (%)"),
        ("T10Y2Y", "10y minus 2y (pp)"),
    ]:
        s = f[col].dropna()
        if at not in s.index:
            rows[label] = {
                "article month": str(at),
                "at article": None,
                "latest month": "",
                "latest": None,
                "change (pp)": None,
                "months after": None,
            }
            continue
        last = s.index[-1]
        rows[label] = {
            "article month": str(at),
            "at article": float(s.loc[at]),
            "latest month": str(last),
            "latest": float(s.iloc[-1]),
            "change (pp)": float(s.iloc[-1] - s.loc[at]),
            "months after": (last - at).n,
        }
    return pd.DataFrame(rows).T


def forecasts_after(
    quarterly: pd.DataFrame, annual_eps: pd.DataFrame, article_date: str, month: str
) -> tuple[pd.DataFrame, str]:
    """Operating EPS forecasts for periods ending after the article, beside what was realised.

    Returns a table (index: quarter end or calendar year; ``forecast`` in index points, ``as of``
    the sheet's date, ``realised`` or blank) and a plain statement of what is missing.
    """
    sheet = snapshot_availability(quarterly, month)
    if not sheet.available:
        return pd.DataFrame(), f"No S&P DJI forecasts: {sheet.reason}."
    q = quarterly[quarterly.index > pd.Timestamp(article_date)]
    rows = [
        {
            "period": f"{d.year}Q{d.quarter}",
            "index": "S&P 500",
            "forecast": float(r["op_eps"]),
            "realised": float(r["op_eps"]) if r["status"] == "actual" else None,
        }
        for d, r in q.iterrows()
    ]
    a = annual_eps[
        (annual_eps["basis"] == "operating")
        & (annual_eps["sector"] == "All")
        & (annual_eps["year"] >= pd.Timestamp(article_date).year)
    ]
    for _, r in a.iterrows():
        if r["index"] in ("S&P 500", "S&P 400", "S&P 600"):
            rows.append(
                {
                    "period": str(r["year"]),
                    "index": r["index"],
                    "forecast": float(r["eps"]),
                    "realised": float(r["eps"]) if r["status"] == "actual" else None,
                }
            )
    table = pd.DataFrame(rows)
    realised = table["realised"].notna().sum() if len(table) else 0
    statement = (
        f"S&P DJI's public sheet ended with the {sheet.as_of} edition, so no realised EPS for "
        f"these periods is published in the data: the table shows the forecasts as of "
        f"{sheet.as_of}, and realised values stay blank."
        if realised == 0
        else f"{realised} of {len(table)} periods have realised EPS in the sheet of {sheet.as_of}."
    )
    return table, statement
