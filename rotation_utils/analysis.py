"""Notebook-level computations: each function turns derived tables into one table or series a
notebook shows. Pure functions of their inputs plus the report month (no look-ahead)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .errors import DataError
from .measures.prices import (
    break_at_gaps,
    price_return,
    price_segments,
    provider_name,
    segment_kind,
    segments_in_window,
)
from .measures.prices import gaps as _gaps
from .months import clip_to_month, month_end, parse_month
from .provenance import provenance_of, with_provenance
from .sources.prices import Segment
from .spreads import (
    at_52_week_high,
    expanding_percentile,
    rate_regime,
    relative_pe_discount,
    relative_strength,
    rrg,
    valuation_percentile,
    widest_since,
    year_over_year,
)

__all__ = [
    "Availability",
    "snapshot_availability",
    "index_pe_summary",
    "sector_pe_table",
    "size_pb_ratio",
    "size_pb_stats",
    "next_year_pe",
    "quarterly_eps_as_of",
    "estimate_path",
    "calendar_eps_growth",
    "weekly_closes",
    "rrg_table",
    "rrg_latest",
    "relative_strength_runs",
    "gap_spans",
    "quarterly_relative_returns",
    "rotation_test",
    "fifty_two_week_highs",
    "macro_frame",
    "relative_returns_by_regime",
    "latest_macro",
    "price_coverage",
    "window_start",
    "DOT_COM",
    "Measured",
    "price_segments",
    "segments_in_window",
    "ticker_return",
    "price_caption",
    "regime_rule",
    "rotation_answer",
    "break_at_gaps",
    "PEBasis",
    "pe_basis",
    "sector_pe_forward",
    "MoveSince",
    "price_move_since",
    "difference",
    "pe_basis_table",
]

#: The dot-com bubble and bust, marked on history figures.
DOT_COM = (pd.Period("1998-01", "M"), pd.Period("2002-12", "M"))


@dataclass(frozen=True)
class Availability:
    """Whether a dated snapshot (e.g. the S&P DJI sheet) may be used as of a report month.

    Attributes
    ----------
    as_of : str
        The snapshot's own date (YYYY-MM-DD).
    reason : str
        Why it cannot be used ("" when it can).
    """

    as_of: str
    reason: str = ""

    @property
    def available(self) -> bool:
        return not self.reason


def snapshot_availability(table: pd.DataFrame, month: str) -> Availability:
    """A snapshot table is available when it is dated on or before the month end; otherwise the
    reason is that using it would look ahead."""
    as_of = _edition(table)
    if as_of <= month_end(parse_month(month)):
        return Availability(str(as_of.date()))
    return Availability(
        str(as_of.date()),
        f"the S&P DJI sheet is dated {as_of.date()}, after {month}: using it would look ahead, "
        "and no earlier edition is mirrored",
    )


def index_pe_summary(index_pe: pd.DataFrame) -> pd.DataFrame:
    """S&P 500 / 400 / 600 rows of the index P/E table (sector "All"): ``pe`` (x),
    ``eps_growth_5y`` (decimal), ``peg``, plus ``discount_to_sp500`` (1 - pe / S&P 500 pe)."""
    t = index_pe[index_pe["sector"] == "All"].set_index("index")[
        ["pe", "eps_growth_5y", "peg", "estimate_year"]
    ]
    t["discount_to_sp500"] = relative_pe_discount(t["pe"], t.loc["S&P 500", "pe"])
    t.attrs = dict(index_pe.attrs)
    return t


def sector_pe_table(index_pe: pd.DataFrame, value: str = "pe") -> pd.DataFrame:
    """Sectors x (S&P 500, S&P 400, S&P 600) for ``value`` ("pe" or "eps_growth_5y"), with the
    small-vs-large discount column when ``value == "pe"``."""
    t = index_pe[index_pe["sector"] != "All"].pivot(index="sector", columns="index", values=value)
    t = t[["S&P 500", "S&P 400", "S&P 600"]]
    if value == "pe":
        t["600 vs 500 discount"] = relative_pe_discount(t["S&P 600"], t["S&P 500"])
    t.columns.name = None
    t.attrs = dict(index_pe.attrs)
    return t


def size_pb_ratio(size_bm: pd.DataFrame, month: str, *, ex_hibm: bool = False) -> pd.Series:
    """P/B of the smallest size quintile over P/B of the biggest, monthly, up to ``month``.

    P/B = 1 / (value-weighted BE/ME), so the ratio is ``BE/ME(ME5) / BE/ME(ME1)`` (x); below 1
    small caps are cheaper on book value. ``ex_hibm``: both quintiles without their
    high-BE/ME corner portfolio (columns ``ME1_ex_hibm``, ``ME5_ex_hibm``).
    """
    b = clip_to_month(size_bm, month)
    small, big = ("ME1_ex_hibm", "ME5_ex_hibm") if ex_hibm else ("ME1", "ME5")
    if small not in b:
        raise DataError(f"no column {small}; run `rotation data build`", file="french_size_bm")
    r = (b[big] / b[small]).dropna().rename("small_big_pb_ratio")
    return with_provenance(r, provenance_of(size_bm))


def size_pb_stats(ratio: pd.Series) -> dict:
    """Latest value, its full-history percentile, z-score and "widest since" date of the ratio."""
    last = ratio.index[-1]
    since = widest_since(ratio, extreme="low")
    # "Widest since" of the current episode: the lowest point of the last 12 months, and the last
    # date before that point when the ratio was as low.
    recent = ratio.iloc[-12:]
    trough_at = recent.idxmin()
    trough_since = widest_since(ratio, at=trough_at, extreme="low")
    return {
        "trough_12m": float(recent.min()),
        "trough_12m_at": str(trough_at),
        "trough_12m_widest_since": None if trough_since is None else str(trough_since),
        "as_of": str(last),
        "value": float(ratio.iloc[-1]),
        "percentile": valuation_percentile(ratio),
        "expanding_percentile": float(expanding_percentile(ratio).iloc[-1]),
        "widest_since": None if since is None else str(since),
        "dot_com_min": float(ratio.loc[str(DOT_COM[0]) : str(DOT_COM[1])].min()),
        "all_time_min": float(ratio.min()),
        "all_time_min_at": str(ratio.idxmin()),
    }


def next_year_pe(revisions: pd.DataFrame, estimate_year: int, month: str) -> Measured:
    """S&P 500 P/E (x) on the next year's estimate from the latest observation on or before the
    month end, dated by that observation (its price date); unavailable with the reason when
    there is none."""
    r = clip_to_month(revisions, month)
    year = estimate_year + 1
    col = f"pe_{year}"
    if r.empty or col not in r or r[col].dropna().empty:
        return Measured(
            None, month, f"no S&P DJI observation of the {year} P/E on or before {month}"
        )
    s = r[col].dropna()
    as_of = str(s.index[-1].date())
    return Measured(float(s.iloc[-1]), as_of, "", f"{year}E, prices {as_of}")


def quarterly_eps_as_of(
    quarterly: pd.DataFrame, month: str, *, report_lag_days: int = 60
) -> pd.DataFrame:
    """The quarterly EPS rows known at the end of ``month``.

    When the sheet is dated on or before the month end: all of it, including its estimates for
    quarters still ahead. Otherwise only actual quarters that ended at least ``report_lag_days``
    before the month end (results are out within about six weeks) and no estimates, since the
    sheet's estimates were made after the month.
    """
    if snapshot_availability(quarterly, month).available:
        return quarterly
    cutoff = month_end(parse_month(month)) - pd.Timedelta(days=report_lag_days)
    out = quarterly[(quarterly["status"] == "actual") & (quarterly.index <= cutoff)]
    out.attrs = dict(quarterly.attrs)
    return out


def estimate_path(revisions: pd.DataFrame, month: str) -> pd.DataFrame:
    """Long table of yearly EPS estimates by observation date (≤ month end) for plotting:
    ``observed``, ``year``, ``eps`` (index points)."""
    r = clip_to_month(revisions, month)
    cols = [c for c in r.columns if c.startswith("eps_") and c[4:].isdigit()]
    out = r[cols].reset_index().melt(id_vars="observed", var_name="year", value_name="eps").dropna()
    out["year"] = out["year"].str[4:]
    return out


def calendar_eps_growth(
    annual_eps: pd.DataFrame, *, basis: str = "operating", sector: str = "All"
) -> pd.DataFrame:
    """Year-over-year growth (decimal) of calendar-year EPS for S&P 500 / 400 / 600, with
    the status (actual / estimate) of the later year; NaN where the earlier year's EPS was not
    positive."""
    a = annual_eps[
        (annual_eps["basis"] == basis)
        & (annual_eps["sector"] == sector)
        & annual_eps["index"].isin(["S&P 500", "S&P 400", "S&P 600"])
    ]
    eps = a.pivot(index="year", columns="index", values="eps").sort_index()
    status = a.drop_duplicates("year").set_index("year")["status"].sort_index()
    prior = eps.shift(1)
    g = (eps / prior - 1.0).where(prior > 0)  # growth from a loss (or zero) has no meaning
    g["status"] = status
    g.columns.name = None
    return g.dropna(how="all", subset=["S&P 500", "S&P 400", "S&P 600"])


def weekly_closes(close: pd.DataFrame) -> pd.DataFrame:
    """Last close of each week ending Friday, dated by the week's last trading day in the data
    (not the Friday label, which can fall after the report month)."""
    c = close.dropna(how="all")
    last_day = c.index.to_series().resample("W-FRI").max()
    w = c.resample("W-FRI").last()
    keep = last_day.notna().to_numpy()
    w = w[keep]
    w.index = pd.DatetimeIndex(last_day[keep].to_numpy(), name=close.index.name)
    return w.dropna(how="all")


def rrg_table(
    close: pd.DataFrame, benchmark: str, tickers: list[str], *, window: int = 10, momentum: int = 4
) -> pd.DataFrame:
    """RS-ratio / RS-momentum of each ticker against ``benchmark`` on weekly closes: long table
    ``date, ticker, rs_ratio, rs_momentum, quadrant``."""
    w = weekly_closes(close)
    parts = []
    for t in tickers:
        r = rrg(w[t], w[benchmark], window=window, momentum=momentum)
        # A provider gap leaves weeks without a close; the rolling windows restart after it, and
        # ``run`` numbers the stretches between gaps so a tail never crosses one.
        r["run"] = w[t].isna().cumsum()
        r = r.dropna(subset=["rs_ratio", "rs_momentum"])
        r["ticker"] = t
        parts.append(r)
    out = pd.concat(parts).reset_index().rename(columns={"index": "date"})
    return out


def rrg_latest(rrg_long: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Each ticker's latest RS-ratio, RS-momentum and quadrant with its own week, sorted by
    RS-ratio, and the tickers whose latest week is older than the newest week in the table
    (their prices stop earlier or restarted after a gap too recently to have a reading)."""
    last = rrg_long.sort_values("date").groupby("ticker").tail(1).set_index("ticker")
    newest = last["date"].max()
    out = last[["date", "rs_ratio", "rs_momentum", "quadrant"]].sort_values("rs_ratio")
    out = out.assign(date=out["date"].dt.strftime("%Y-%m-%d")).rename(columns={"date": "week"})
    stale = sorted(last.index[last["date"] < newest])
    return out, stale


def quarterly_relative_returns(
    close: pd.DataFrame,
    benchmark: str,
    month: str,
    quarters: int = 8,
    segments: dict[str, list[Segment]] | None = None,
) -> pd.DataFrame:
    """Return of each ticker minus the benchmark's, per calendar quarter (decimal), for the last
    ``quarters`` quarters that ended on or before the month end; NaN for a quarter a ticker's
    provider gap (from ``segments``) falls in."""
    c = clip_to_month(close, month)
    q = c.resample("QE").last()
    end = month_end(parse_month(month))
    q = q[q.index <= end]
    ret = q.pct_change(fill_method=None).iloc[1:]
    if segments:  # no return across a provider gap: blank the quarters a gap falls in
        for t in ret.columns:
            for last, first in _gaps(segments.get(t, [])):
                ret.loc[(ret.index > last) & (ret.index - pd.offsets.QuarterEnd(1) < first), t] = (
                    float("nan")
                )
    rel = ret.sub(ret[benchmark], axis=0).drop(columns=[benchmark])
    rel.index = rel.index.to_period("Q")
    return rel.tail(quarters)


def rotation_test(
    close: pd.DataFrame,
    *,
    quarter: str = "2025Q4",
    source: str = "XLK",
    targets: tuple[str, ...] = ("XLF", "XLI", "XLU"),
    benchmark: str = "SPY",
) -> pd.DataFrame | None:
    """Relative returns in ``quarter`` vs the three quarters before, for the claim "money moved from
    ``source`` into ``targets``". Rows: quarters; columns: each ticker's return minus the
    benchmark's (decimal) and each target minus ``source``. None when the quarter is not complete
    in the data."""
    q = pd.Period(quarter, "Q")
    if close.empty or close.index[-1] < q.end_time.normalize() - pd.Timedelta(days=3):
        return None
    rows = {}
    for k in range(3, -1, -1):
        p = q - k
        start, end = (p - 1).end_time.normalize(), p.end_time.normalize()
        r = {t: _value(price_return(close, t, start, end)) for t in (source, *targets, benchmark)}
        row = {f"{t} vs {benchmark}": r[t] - r[benchmark] for t in (source, *targets)}
        row.update({f"{t} vs {source}": r[t] - r[source] for t in targets})
        rows[str(p)] = row
    return pd.DataFrame(rows).T


def rotation_answer(
    test: pd.DataFrame,
    quadrants: pd.DataFrame | None = None,
    *,
    quarter: str = "2025Q4",
    source: str = "XLK",
    targets: tuple[str, ...] = ("XLF", "XLI", "XLU"),
) -> str:
    """The answer of :func:`rotation_test` in one sentence, from its table and (optionally) the
    rotation-graph quadrants of each ticker at the quarter's start and end (columns in that
    order): which targets beat ``source`` in ``quarter``, by how much (pp), whether by more than
    their average of the quarters before, and what that makes of the claim."""
    from .units import format_value

    row = test.loc[quarter]
    before = test.drop(index=quarter)
    beat, more, parts = [], [], []
    for t in targets:
        d = row[f"{t} vs {source}"]
        parts.append(f"{t} {format_value(d, 'ratio_diff')}")
        if d > 0:
            beat.append(t)
            if d > before[f"{t} vs {source}"].mean():
                more.append(t)
    lead = f"In {quarter}, minus {source}: {', '.join(parts)}"
    if len(more) == len(targets):
        what = f"all three beat {source}, each by more than in the quarters before: a rotation"
    elif not beat:
        what = f"none beat {source}: no rotation out of {source} into them"
    else:
        also = f" (by more than before: {', '.join(more) or 'none'})"
        what = f"only {', '.join(beat)} beat {source}{also}: partly a rotation, not into all three"
    text = f"{lead}; {what}."
    if quadrants is not None and source in quadrants.index and quadrants.shape[1] >= 2:
        a, b = quadrants.loc[source].iloc[0], quadrants.loc[source].iloc[-1]
        text += f" On the rotation graph {source} went from {a} to {b}."
    return text


def _value(v) -> float:
    return v.value if v.available else float("nan")


def fifty_two_week_highs(close: pd.Series, start: str, end: str) -> pd.DataFrame:
    """Days between ``start`` and ``end`` (inclusive) on which ``close`` set a 52-week closing high."""
    flag = at_52_week_high(close)
    days = flag.loc[start:end]
    return close.loc[days[days].index].to_frame("close")


#: The regime rule of :func:`macro_frame`: the change over this many months, against this
#: threshold in percentage points (one 25 bp policy move).
REGIME_LOOKBACK_MONTHS = 3
REGIME_THRESHOLD_PP = 0.25


def macro_frame(fred: pd.DataFrame, month: str) -> pd.DataFrame:
    """Monthly macro series up to ``month``: ``fed_funds`` and ``ten_year`` (percent),
    ``core_cpi_yoy`` (decimal), ``slope_10y2y`` (percentage points), and regimes
    ``policy`` (cutting / on hold / hiking) and ``curve`` (flattening / stable / steepening of
    the 10y-2y slope, or of 10y minus fed funds where 10y-2y is missing: ``curve_stand_in``
    is True on those months); :func:`regime_rule` states the rule in words."""
    f = clip_to_month(fred, month)
    out = pd.DataFrame(index=f.index)
    out["fed_funds"] = f["DFF"]
    out["ten_year"] = f["DGS10"]
    out["core_cpi_yoy"] = year_over_year(f["CPILFESL"])
    out["slope_10y2y"] = f["T10Y2Y"]
    slope = f["T10Y2Y"].fillna(f["DGS10"] - f["DFF"])
    out["curve_stand_in"] = f["T10Y2Y"].isna() & slope.notna()
    rule = {"lookback": REGIME_LOOKBACK_MONTHS, "threshold": REGIME_THRESHOLD_PP}
    out["policy"] = rate_regime(f["DFF"], **rule)
    out["curve"] = rate_regime(slope, **rule, labels=("flattening", "stable", "steepening"))
    out.attrs = dict(f.attrs)  # the vintage says where a daily series ends (a partial month)
    return out


def regime_rule(macro: pd.DataFrame) -> str:
    """The regime rule of :func:`macro_frame` in words, with the months on which the curve
    regime rests on the 10y minus fed funds stand-in (from the frame itself)."""
    n, t = REGIME_LOOKBACK_MONTHS, REGIME_THRESHOLD_PP
    text = (
        f"Regimes: the change of the fed funds rate over the {n} months before: cutting when it "
        f"fell by more than {t:.2f} pp, hiking when it rose by more, on hold otherwise; the curve "
        f"by the same rule on the 10y-2y slope (flattening, stable, steepening)."
    )
    stand_in = macro.index[macro["curve_stand_in"].fillna(False).astype(bool)]
    if len(stand_in):
        text += (
            f" From {stand_in[0]} to {stand_in[-1]} ({len(stand_in)} months) the 10y-2y series is "
            "missing in this data, and 10 years minus fed funds stands in for it."
        )
    return text


def relative_returns_by_regime(rel_returns: pd.Series, regimes: pd.Series) -> pd.DataFrame:
    """Mean, median and count of monthly relative returns (decimal) in each regime.

    Regimes are taken at the start of each month (the previous month's label) so a month's return
    is grouped by information available before it.
    """
    lagged = regimes.shift(1)
    df = pd.DataFrame({"ret": rel_returns, "regime": lagged}).dropna()
    g = df.groupby("regime")["ret"]
    return pd.DataFrame({"mean": g.mean(), "median": g.median(), "months": g.size()})


def latest_macro(macro: pd.DataFrame, month: str) -> tuple[dict[str, Measured], list[str]]:
    """Headline macro figures from :func:`macro_frame`, by figure id: ``t10y2y`` (pp),
    ``fed_funds`` (percent) and ``core_cpi_yoy`` (decimal), each the latest value on or before
    the month as a :class:`Measured` (unavailable with the reason when there is none), plus
    notes on missing months."""
    specs = {
        "t10y2y": ("slope_10y2y", "10y-2y spread (monthly mean of daily)"),
        "fed_funds": ("fed_funds", "fed funds rate"),
        "core_cpi_yoy": ("core_cpi_yoy", "core CPI year-over-year"),
    }
    figures: dict[str, Measured] = {}
    notes = []
    for fid, (col, label) in specs.items():
        s = macro[col].dropna()
        if s.empty:
            figures[fid] = Measured(None, month, f"no {label} on or before {month}")
            continue
        figures[fid] = Measured(
            float(s.iloc[-1]), str(s.index[-1]), basis=_partial_month(macro, col, s.index[-1])
        )
        later = [str(p) for p in macro.index[macro.index > s.index[-1]]]
        if col == "core_cpi_yoy" and later:
            notes.append(
                f"Core CPI year-over-year is missing for {', '.join(later)} (no CPILFESL value published for "
                f"the month or a year before); the latest is {s.index[-1]}."
            )
    last = macro["fed_funds"].last_valid_index()
    if last is not None and last < parse_month(month):
        notes.append(f"FRED monthly data end **{last}**, before {month}.")
    return figures, notes


def _partial_month(macro: pd.DataFrame, col: str, period: pd.Period) -> str:
    """ "month to date, through 2026-06-24" when the daily series behind a monthly mean ends
    inside ``period`` (the table's vintage names each series' last day), else ""."""
    import re

    if col != "slope_10y2y":
        return ""
    vintage = provenance_of(macro).vintage if "provenance" in macro.attrs else ""
    m = re.search(r"T10Y2Y through (\d{4}-\d{2}-\d{2})", vintage)
    if not m:
        return ""
    last = pd.Timestamp(m.group(1))
    end = period.end_time.normalize()
    if last.to_period("M") == period and last < end - pd.offsets.BDay(1):
        return f"month to date: mean of the daily values through {last.date()}"
    return ""


def window_start(preferred: str, month: str, *, months_back: int = 24) -> str:
    """``preferred`` (YYYY-MM) when it lies at least six months before ``month``, else ``months_back``
    months before it: a chart window that always has data to show."""
    m = parse_month(month)
    p = parse_month(preferred, "rs_start")
    return str(p if p <= m - 6 else m - months_back)


def price_coverage(
    close: pd.DataFrame,
    all_close: pd.DataFrame,
    benchmark: str,
    tickers: list[str],
    month: str,
    *,
    min_days: int = 260,
) -> tuple[bool, list[str], list[str]]:
    """Whether the prices up to ``month`` support the sector charts (at least ``min_days`` closes of
    the benchmark: the 52-week and 10-week windows need a year), the tickers that have prices, and
    notes for the reader on what is missing."""
    notes = []
    n = int(close[benchmark].notna().sum()) if benchmark in close else 0
    first = all_close[benchmark].first_valid_index()
    if n < min_days:
        notes.append(
            f"**Not enough ETF prices on or before {month}**: {n} trading days of {benchmark} (the data start "
            f"{first.date()}); the sections below need a year and are left empty."
        )
        return False, [], notes
    last = close[benchmark].last_valid_index()
    if last < month_end(parse_month(month)) - pd.Timedelta(days=4):
        notes.append(
            f"Prices end **{last.date()}**, before the end of {month}: later days are not in this data vintage."
        )
    have = [t for t in tickers if close[t].notna().sum() >= 60]
    if len(have) < len(tickers):
        notes.append(
            "Less than 60 days of prices for "
            + ", ".join(t for t in tickers if t not in have)
            + f" on or before {month}: left out."
        )
    return True, have, notes


# --------------------------------------------------------------------------- typed results


@dataclass(frozen=True)
class Measured:
    """A number that may not exist as of the report month.

    Attributes
    ----------
    value : float or None
        The number in its stated unit; None when unavailable.
    as_of : str
        The date or period it describes (for prices, the last close used).
    reason : str
        Why it is unavailable ("" when it is not).
    basis : str
        The definition it is on, for a caption or ``record(..., basis=...)``.
    """

    value: float | None
    as_of: str
    reason: str = ""
    basis: str = ""

    @property
    def available(self) -> bool:
        return self.value is not None


# --------------------------------------------------------------------------- price segments


def ticker_return(
    close: pd.DataFrame,
    ticker: str,
    start: object,
    end: object,
    segments: dict[str, list[Segment]],
) -> Measured:
    """Return of ``ticker`` from its last close on or before ``start`` to its last close on or
    before ``end`` (decimal), as :class:`Measured`: the one gap-aware return,
    :func:`rotation_utils.measures.prices.price_return`, whose window and basis (total, price
    or mixed return, providers, bridges) become the result's ``basis``."""
    t1 = pd.Timestamp(end)
    last = close[ticker].last_valid_index() if ticker in close else None
    if last is not None and pd.Timestamp(start) < last < t1:
        t1 = last  # the last close on or before ``end``: the caller has cut the table at its month
    v = price_return(close, ticker, start, t1, segments=segments.get(ticker, []))
    if not v.available:
        return Measured(None, str(pd.Timestamp(end).date()), v.reason)
    return Measured(v.value, v.as_of, "", f"{v.window}; {v.basis}")


def price_caption(close: pd.DataFrame, tickers: list[str], month: str | None = None) -> str:
    """Which closes each ticker's numbers rest on: its own first and last date (up to ``month``),
    providers and bases, and any bridge or gap. Tickers with the same history share a line."""
    segs = price_segments(close)
    not_loaded = provenance_of(close).extra.get("missing", {})
    c = clip_to_month(close, month) if month else close
    lines: dict[str, list[str]] = {}
    for t in tickers:
        s = c[t].dropna() if t in c else pd.Series(dtype=float)
        if t in not_loaded:
            lines.setdefault(f"not loaded ({not_loaded[t]})", []).append(t)
            continue
        if s.empty:
            lines.setdefault(f"no prices on or before {month}", []).append(t)
            continue
        first, last = s.index[0], s.index[-1]
        parts = []
        for i, g in enumerate(segments_in_window(segs.get(t, []), first, last)):
            lo = max(pd.Timestamp(g.start), first).date()
            hi = min(pd.Timestamp(g.end), last).date()
            text = f"{provider_name(g)} {lo}..{hi} ({segment_kind(g)})"
            if i and g.join == "levels":
                n = len(g.missing)
                days = f"{n} day missing" if n == 1 else f"{n} days missing"
                join = f"bridged on price levels ({days})" if n else "joined on price levels"
                text = f"{join}, then " + text
            elif i and g.join == "gap":
                text = "a gap (no return across it), then " + text
            parts.append(text)
        lines.setdefault(f"{first.date()}..{last.date()}: " + ", ".join(parts), []).append(t)
    return "\n".join(f"Prices {', '.join(ts)} {text}." for text, ts in lines.items())


# --------------------------------------------------------------------------- forward basis


@dataclass(frozen=True)
class PEBasis:
    """Index P/Es on one price date, on next year's and last year's EPS.

    Attributes
    ----------
    table : DataFrame or None
        Rows S&P 500 / S&P 400 / S&P 600; columns ``price`` (index points at ``price_date``),
        ``eps_forward`` and ``eps_last_year`` (operating EPS, index points per year),
        ``pe_forward`` and ``pe_last_year`` (x, price / EPS), ``discount_forward`` and
        ``discount_last_year`` (1 - P/E / S&P 500 P/E, ratio). None when unavailable.
    forward_year, last_year : int
        The calendar years of the two EPS bases.
    forward_estimated, last_year_estimated : bool
        Whether the sheet marks that year's EPS as (partly) estimated.
    price_date : str
        The close the sheet's estimated P/Es are on (the same for every index).
    edition : str
        The sheet's own date.
    reason : str
        Why ``table`` is None.
    """

    table: pd.DataFrame | None
    forward_year: int
    last_year: int
    forward_estimated: bool
    last_year_estimated: bool
    price_date: str
    edition: str
    reason: str = ""

    def year_label(self, which: str = "forward") -> str:
        """The EPS year of a basis ("forward" or "last_year"), with "E" when the sheet marks
        it (partly) estimated, e.g. ``"2026E"``."""
        year, est = (
            (self.forward_year, self.forward_estimated)
            if which == "forward"
            else (self.last_year, self.last_year_estimated)
        )
        return f"{year}{'E' if est else ''}"

    def basis(self, which: str = "forward") -> str:
        """Label of a basis, e.g. ``"2026E, prices 2026-01-29"``."""
        return f"{self.year_label(which)}, prices {self.price_date}"


_INDEXES = ["S&P 500", "S&P 400", "S&P 600"]


def _edition(table: pd.DataFrame) -> pd.Timestamp:
    return pd.Timestamp(provenance_of(table).vintage.replace("as of", "").strip())


def _operating(annual_eps: pd.DataFrame) -> pd.DataFrame:
    return annual_eps[annual_eps["basis"] == "operating"]


def pe_basis(annual_eps: pd.DataFrame, month: str, *, sector: str = "All") -> PEBasis:
    """Forward and last-year operating P/E of the S&P 500, 400 and 600 at one price date.

    Forward is the calendar year of the sheet's edition (its first year without reported
    results: 2026E for the 2026-01-30 edition); last year is the year before. Both P/Es are
    ``price / EPS`` with the price of the sheet's price date, so every index and both bases are
    on the same date. Unavailable (``table=None``) when the edition is dated after the month end.
    """
    edition = _edition(annual_eps)
    fwd, last = edition.year, edition.year - 1
    a = _operating(annual_eps)
    a = a[(a["sector"] == sector) & a["index"].isin(_INDEXES)]
    price_date = str(a["price_date"].dropna().iloc[0]) if "price_date" in a and len(a) else ""
    status = a.drop_duplicates("year").set_index("year")["status"]
    est = {y: status.get(y, "estimate") == "estimate" for y in (fwd, last)}
    available = snapshot_availability(annual_eps, month)
    if not available.available:
        return PEBasis(
            None, fwd, last, est[fwd], est[last], price_date, str(edition.date()), available.reason
        )
    eps = a.pivot(index="index", columns="year", values="eps").reindex(_INDEXES)
    price = a.drop_duplicates("index").set_index("index")["price"].reindex(_INDEXES)
    t = pd.DataFrame({"price": price, "eps_forward": eps[fwd], "eps_last_year": eps[last]})
    for k in ("forward", "last_year"):
        e = t[f"eps_{k}"]
        t[f"pe_{k}"] = (t["price"] / e).where(e > 0)  # no P/E on a loss
        t[f"discount_{k}"] = relative_pe_discount(t[f"pe_{k}"], t.loc["S&P 500", f"pe_{k}"])
    t.index.name = "index"
    t.attrs = dict(annual_eps.attrs)
    return PEBasis(t, fwd, last, est[fwd], est[last], price_date, str(edition.date()))


def sector_pe_forward(annual_eps: pd.DataFrame, month: str) -> tuple[pd.DataFrame | None, PEBasis]:
    """Sectors x (S&P 500, S&P 400, S&P 600) operating P/E on next year's EPS at the sheet's price
    date (x), with ``600 vs 500 discount`` (ratio); blank where the EPS is missing or not positive.
    Returns the table (None when unavailable) and the :class:`PEBasis` naming its basis."""
    basis = pe_basis(annual_eps, month)
    if basis.table is None:
        return None, basis
    a = _operating(annual_eps)
    a = a[(a["sector"] != "All") & a["index"].isin(_INDEXES) & (a["year"] == basis.forward_year)]
    pe = (a["price"] / a["eps"]).where(a["eps"] > 0)
    t = a.assign(pe=pe).pivot(index="sector", columns="index", values="pe")[_INDEXES]
    t["600 vs 500 discount"] = relative_pe_discount(t["S&P 600"], t["S&P 500"])
    t.columns.name = None
    t.attrs = dict(annual_eps.attrs)
    return t, basis


@dataclass(frozen=True)
class MoveSince:
    """How far small- and large-cap prices moved from a snapshot's price date to a month end.

    ``small`` and ``large`` are :class:`Measured` returns (decimal) of the two ETFs standing in
    for the indexes; ``relative`` is small minus large (None when either is unavailable).
    """

    since: str
    small_ticker: str
    large_ticker: str
    small: Measured
    large: Measured
    relative: Measured


def price_move_since(
    close: pd.DataFrame,
    since: str,
    month: str,
    *,
    small: str = "IWM",
    large: str = "SPY",
) -> MoveSince:
    """Returns of ``small`` and ``large`` from the close on or before ``since`` to the last close
    on or before the end of ``month`` (decimal), gap-aware (see :func:`ticker_return`)."""
    segs = price_segments(close)
    end = month_end(parse_month(month))
    rs, rl = (ticker_return(close, t, since, end, segs) for t in (small, large))
    return MoveSince(since, small, large, rs, rl, difference(rs, rl))


def difference(a: Measured, b: Measured) -> Measured:
    """``a - b`` (e.g. one return minus another, decimal) on ``a``'s date and basis; unavailable
    with the first reason when either is."""
    if a.available and b.available:
        return Measured(a.value - b.value, a.as_of, "", a.basis)
    return Measured(None, a.as_of, a.reason or b.reason)


def pe_basis_table(pe: PEBasis) -> pd.DataFrame:
    """:attr:`PEBasis.table` with reader-facing column names that carry each basis's year and
    price date, e.g. "P/E 2026E (x)"; empty when unavailable."""
    if pe.table is None:
        return pd.DataFrame()
    fy, ly = pe.year_label("forward"), pe.year_label("last_year")
    order = ["price", "eps_forward", "pe_forward", "discount_forward"]
    order += ["eps_last_year", "pe_last_year", "discount_last_year"]
    out = pe.table[order].rename(
        columns={
            "price": f"price {pe.price_date}",
            "eps_forward": f"EPS {fy}",
            "pe_forward": f"P/E {fy} (x)",
            "discount_forward": f"discount to S&P 500, {fy}",
            "eps_last_year": f"EPS {ly}",
            "pe_last_year": f"P/E {ly} (x)",
            "discount_last_year": f"discount to S&P 500, {ly}",
        }
    )
    out.attrs = dict(pe.table.attrs)
    return out


def relative_strength_runs(
    close: pd.DataFrame,
    benchmark: str,
    tickers: list[str],
    start: object,
    segments: dict[str, list[Segment]],
) -> dict[str, list[pd.Series]]:
    """Each ticker's price relative to ``benchmark`` from ``start``, one series per stretch
    between provider gaps, each rebased to 1.0 at its own first date (no relative return is
    implied across a gap)."""
    w = close.loc[pd.Timestamp(start) :]
    out = {}
    for t in tickers:
        runs = break_at_gaps(w[t], segments.get(t, []))
        out[t] = [relative_strength(r, w[benchmark]) for r in runs]
    return out


def gap_spans(
    segments: dict[str, list[Segment]], tickers: list[str], start: object, end: object
) -> list[tuple[pd.Timestamp, pd.Timestamp, list[str]]]:
    """Provider gaps of ``tickers`` that overlap ``start`` .. ``end``: (first missing day, last
    missing day, tickers), merged across tickers with the same gap."""
    spans: dict[tuple[pd.Timestamp, pd.Timestamp], list[str]] = {}
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    for t in tickers:
        for last, first in _gaps(segments.get(t, [])):
            lo, hi = last + pd.Timedelta(days=1), first - pd.Timedelta(days=1)
            if hi >= a and lo <= b:
                spans.setdefault((lo, hi), []).append(t)
    return [(lo, hi, ts) for (lo, hi), ts in sorted(spans.items())]
