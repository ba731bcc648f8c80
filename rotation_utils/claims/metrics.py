"""The metric catalog: every name a claims file may use, what it means and how it is computed.

A metric name is ``family[:arg[:arg]][@YYYY-MM-DD]``, e.g. ``pe_forward:S&P 600``,
``pe_forward:S&P 500:Financials@2025-12-31``, ``return:XLF:2025-09-30:2025-12-31`` or
``beta:IWM:SPY:2026-01-02:2026-03-31``; ``percentile:<metric>`` takes a whole metric name
as its argument (``percentile:fred:DGS10``).
:func:`parse_metric` validates a name without touching data (claims files are checked with it);
:func:`evaluate` computes it as of a report month and returns a :class:`Value`: the number with
its unit, as-of date, basis and source, or ``None`` with the reason it is not available (never a
number computed across missing data or from a table dated after the month).

Bases (see the project guide): "forward" P/E is price over the S&P DJI sheet's next-year
operating EPS estimate (2026E in the 2026-01-30 edition) at the sheet's one price date for all
indexes and sectors; "last year" is the same price over the year before's EPS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from ..analysis import PEBasis, pe_basis, size_pb_ratio, snapshot_availability
from ..errors import RotationError
from ..measures import history as hist
from ..measures import risk
from ..measures.history import History
from ..measures.prices import price_return
from ..months import month_end, parse_month
from ..provenance import provenance_of
from ..results import Value
from ..sources.fred import FRED_SERIES, FRED_UNITS, SERIES_ID, fred_unit
from ..sources.prices import REPORT_TICKERS, SECTOR_ETFS, TICKER_PATTERN
from ..units import format_value

__all__ = [
    "Value",
    "MetricRef",
    "MetricSpec",
    "Context",
    "CATALOG",
    "INDEXES",
    "SECTORS",
    "parse_metric",
    "evaluate",
    "metric_label",
    "history",
    "metric_history",
    "window_return",
    "price_table",
    "PE_PROXIES",
    "pe_price_move",
]

INDEXES = ("S&P 500", "S&P 400", "S&P 600")
SECTORS = tuple(sorted(SECTOR_ETFS.values()))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
#: A ticker as the price loaders accept it (no "^": the VIX index is ``VIX``).
_TICKER = TICKER_PATTERN
#: Units of the FRED series whose unit is known without data (expressions read it); any other
#: series is a level (:func:`rotation_utils.sources.fred.fred_unit`).
_FRED_UNITS = FRED_UNITS


def _v(
    name: str,
    value: float | None,
    unit: str,
    as_of: str = "",
    source: str = "",
    basis: str = "",
    reason: str = "",
    qualifier: str = "",
) -> Value:
    """A :class:`~rotation_utils.results.Value` answering metric ``name``."""
    return Value(
        value, unit, as_of=as_of, basis=basis, source=source, reason=reason, name=name,
        qualifier=qualifier,
    )  # fmt: skip


def format_number(v: float, unit: str) -> str:
    """:func:`rotation_utils.units.format_value` (kept for the claims modules)."""
    return format_value(v, unit)


@dataclass(frozen=True)
class MetricRef:
    """A parsed metric name: ``family``, its ``args`` and an optional price date ``at``."""

    name: str
    family: str
    args: tuple[str, ...]
    at: str = ""


@dataclass
class Context:
    """What a metric is computed from: the report month, the derived tables and the facts.

    Tables are loaded on first use with ``loader`` (default :func:`rotation_utils.load_table`);
    tests pass their own. ``facts`` is the whole facts table; rows dated after the month are not
    used.
    """

    month: str
    facts: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    loader: Callable[[str], pd.DataFrame] | None = None

    #: P/E bases computed once per sector for this context (the tables do not change in it).
    pe_bases: dict[str, PEBasis] = field(default_factory=dict, repr=False)
    #: Close tables of tickers outside ``etf_close``, or why there is none, read once each.
    price_tables: dict[str, pd.DataFrame | str] = field(default_factory=dict, repr=False)
    #: FRED series outside ``fred_monthly`` (or why there is none), read once each.
    fred_histories: dict[str, History] = field(default_factory=dict, repr=False)

    def pe_basis(self, sector: str) -> PEBasis:
        """:func:`rotation_utils.analysis.pe_basis` of the S&P DJI table, once per sector."""
        if sector not in self.pe_bases:
            self.pe_bases[sector] = pe_basis(
                self.table("spdji_annual_eps"), self.month, sector=sector
            )
        return self.pe_bases[sector]

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            if self.loader is None:
                from ..derived import load_table

                self.loader = load_table
            self.tables[name] = self.loader(name)
        return self.tables[name]

    @property
    def month_end(self) -> pd.Timestamp:
        return month_end(parse_month(self.month))


@dataclass(frozen=True)
class MetricSpec:
    """One family of the catalog.

    ``check_args`` raises ValueError with a reason for bad arguments; ``compute`` returns a
    :class:`Value`; ``series`` (families with a monthly history) returns the
    :class:`~rotation_utils.measures.history.History` up to the month (or why there is none).
    """

    family: str
    pattern: str
    unit: str
    source: str
    meaning: str
    check_args: Callable[[tuple[str, ...], str], None]
    compute: Callable[[Context, MetricRef], Value]
    series: Callable[[Context, MetricRef], History] | None = None
    #: What the family only stands in for ("" when it measures what it names): a claim whose
    #: main definition uses it is a proxy claim (see the claims README, "Stand-ins").
    stands_in_for: str = ""


# --- argument checks ------------------------------------------------------------------------


def _args_index_sector(args: tuple[str, ...], at: str, *, allow_at: bool = True) -> None:
    if not 1 <= len(args) <= 2:
        raise ValueError("expected <index>[:<sector>]")
    if args[0] not in INDEXES:
        raise ValueError(f"index {args[0]!r} is not one of {', '.join(INDEXES)}")
    if len(args) == 2 and args[1] not in SECTORS:
        raise ValueError(f"sector {args[1]!r} is not one of {', '.join(SECTORS)}")
    if at and not allow_at:
        raise ValueError("takes no @date")
    if at and not _DATE.match(at):
        raise ValueError(f"price date {at!r} is not YYYY-MM-DD")


def _args_no_at(check: Callable[[tuple[str, ...]], None]) -> Callable[[tuple[str, ...], str], None]:
    def inner(args: tuple[str, ...], at: str) -> None:
        if at:
            raise ValueError("takes no @date")
        check(args)

    return inner


def _check_pb(args: tuple[str, ...]) -> None:
    bad = [a for a in args if a not in ("ex_hibm", "july")]
    if bad or len(set(args)) != len(args):
        raise ValueError("options are 'ex_hibm' and 'july'")


def _check_tickers_dates(
    family: str, tickers: int, dates: tuple[int, int]
) -> Callable[[tuple[str, ...]], None]:
    """The check of ``family:<TICKER>...:<date>...``: ``tickers`` tickers, then between
    ``dates[0]`` and ``dates[1]`` dates (``return``, ``drawdown``, ``beta``, ``close``, ...)."""
    names = ["<TICKER>"] if tickers == 1 else [f"<{c}>" for c in "AB"[:tickers]]
    if dates == (1, 1):
        names.append("<YYYY-MM-DD>")
    else:
        names += ["<start YYYY-MM-DD>", "[:<end YYYY-MM-DD>]"]
    expected = f"expected {family}:" + ":".join(names).replace(":[", "[")

    def check(args: tuple[str, ...]) -> None:
        if not tickers + dates[0] <= len(args) <= tickers + dates[1]:
            raise ValueError(expected)
        for t in args[:tickers]:
            if not _TICKER.match(t):
                hint = f" (write {t.lstrip('^')})" if t.startswith("^") else ""
                raise ValueError(f"{t!r} is not a ticker{hint}")
        for d in args[tickers:]:
            if not _DATE.match(d):
                raise ValueError(f"{d!r} is not a date YYYY-MM-DD")
            pd.Timestamp(d)  # raises on 2025-02-30

    return check


_check_return = _check_tickers_dates("return", 1, (1, 2))


def _check_month_arg(family: str, first: str) -> Callable[[tuple[str, ...]], None]:
    """The check of ``family[:<first>][:<YYYY-MM>]`` (``cape``, ``fred``, ``fred_yoy``)."""

    def check(args: tuple[str, ...]) -> None:
        lead = 1 if first else 0
        if not lead <= len(args) <= lead + 1:
            raise ValueError(f"expected {family}{':' + first if first else ''}[:<YYYY-MM>]")
        if first and not SERIES_ID.match(args[0]):
            raise ValueError(
                f"{args[0]!r} is not a FRED series id (A-Z, 0-9 and _, up to 30 characters)"
            )
        if len(args) > lead and (
            not _MONTH.match(args[lead]) or not 1 <= int(args[lead][5:]) <= 12
        ):
            raise ValueError(f"{args[lead]!r} is not a month YYYY-MM")

    return check


_check_fred = _check_month_arg("fred", "<SERIES>")


def _check_fred_change(args: tuple[str, ...]) -> None:
    if len(args) != 3 or not SERIES_ID.match(args[0]) or not all(_MONTH.match(a) for a in args[1:]):
        raise ValueError("expected fred_change:<SERIES>:<from YYYY-MM>:<to YYYY-MM>")


def _check_fact(args: tuple[str, ...]) -> None:
    if len(args) != 1 or not args[0]:
        raise ValueError("expected fact:<id>")


# --- S&P DJI sheet: forward / last-year P/E, EPS growth ----------------------------------------


@dataclass(frozen=True)
class _SheetRow:
    """One index (and sector) of :func:`rotation_utils.analysis.pe_basis`: both P/Es on the
    sheet's one price date, plus the sheet's own last-year P/E (on the year-end price)."""

    pe_fwd: float
    pe_ly: float
    eps_fwd: float
    eps_ly: float
    pe_ly_sheet: float
    fwd_year: int
    fwd_label: str
    ly_label: str
    edition: str
    price_date: str
    source: str


def _sheet_row(ctx: Context, index: str, sector: str) -> _SheetRow | str:
    a = ctx.table("spdji_annual_eps")
    pe = ctx.pe_basis(sector)
    if pe.table is None:
        return pe.reason
    row = pe.table.loc[index]
    if pd.isna(row["eps_forward"]) or pd.isna(row["eps_last_year"]):
        return f"no {pe.forward_year} or {pe.last_year} EPS for {index} {sector} in the sheet"
    sheet = a[
        (a["index"] == index)
        & (a["sector"] == sector)
        & (a["basis"] == "operating")
        & (a["year"] == pe.last_year)
    ]
    return _SheetRow(
        pe_fwd=float(row["pe_forward"]),
        pe_ly=float(row["pe_last_year"]),
        eps_fwd=float(row["eps_forward"]),
        eps_ly=float(row["eps_last_year"]),
        pe_ly_sheet=float(sheet["pe"].iloc[0]),
        fwd_year=pe.forward_year,
        fwd_label=pe.year_label("forward"),
        ly_label=pe.year_label("last_year"),
        edition=pe.edition,
        price_date=pe.price_date,
        source=provenance_of(a).caption(),
    )


def _label(index: str, sector: str) -> str:
    return index if sector == "All" else f"{index} {sector}"


def _pe(ctx: Context, ref: MetricRef, *, forward: bool) -> Value:
    index, sector = ref.args[0], ref.args[1] if len(ref.args) > 1 else "All"
    unit = "x"
    row = _sheet_row(ctx, index, sector)
    if isinstance(row, str):
        return _v(ref.name, None, unit, reason=row)
    year = row.fwd_year if forward else row.fwd_year - 1
    eps_word = f"{row.fwd_label} EPS" if forward else f"{row.ly_label} EPS (last year)"
    if (row.eps_ly if not forward else row.eps_fwd) <= 0:
        return _v(
            ref.name, None, unit, reason=f"{_label(index, sector)} {year} EPS is not positive"
        )
    pe = row.pe_fwd if forward else row.pe_ly  # both on the sheet's price date
    if not ref.at or ref.at == row.price_date:
        return _v(
            ref.name, pe, unit, row.price_date, row.source, f"{eps_word}, price {row.price_date}"
        )
    year_end = f"{row.fwd_year - 1}-12-31"
    if ref.at == year_end:
        # The sheet's own last-year P/E is on the year-end price: exact, no proxy needed.
        price_ye = row.pe_ly_sheet * row.eps_ly
        pe = price_ye / (row.eps_fwd if forward else row.eps_ly)
        return _v(ref.name, pe, unit, year_end, row.source, f"{eps_word}, price {year_end} (sheet)")
    move = pe_price_move(ctx, index, sector, row.price_date, ref.at)
    if not move.available:
        return _v(ref.name, None, unit, reason=move.reason)
    return _v(
        ref.name,
        pe * (1.0 + move.value),
        unit,
        ref.at,
        f"{row.source} | {move.source}",
        f"{eps_word}, sheet P/E moved from {row.price_date} to {ref.at} by {move.subject}'s "
        f"{move.measure} ({format_value(move.value, 'ratio', signed=True)}, closes {move.window})",
    )


#: The ETF whose closes stand for each index (and sector) price of the S&P DJI sheet when a
#: P/E is moved to another date: SPY and the sector SPDRs for the S&P 500, IJR and IJH for the
#: S&P 600 and 400, and Invesco's S&P SmallCap 600 sector ETFs. A proxy missing from the price
#: data makes the moved P/E not checkable, never a guess from another index.
PE_PROXIES: dict[tuple[str, str], str] = {
    ("S&P 500", "All"): "SPY",
    ("S&P 400", "All"): "IJH",
    ("S&P 600", "All"): "IJR",
    **{("S&P 500", sector): etf for etf, sector in SECTOR_ETFS.items()},
    ("S&P 600", "Consumer Discretionary"): "PSCD",
    ("S&P 600", "Consumer Staples"): "PSCC",
    ("S&P 600", "Energy"): "PSCE",
    ("S&P 600", "Health Care"): "PSCH",
    ("S&P 600", "Industrials"): "PSCI",
    ("S&P 600", "Information Technology"): "PSCT",
    ("S&P 600", "Materials"): "PSCM",
}


def pe_price_move(ctx: Context, index: str, sector: str, since: str, until: str) -> Value:
    """How far the sheet's price of ``index`` (``sector``, "All" for the whole index) moved from
    ``since`` to ``until`` (either may be the earlier), by its ETF's closes (:data:`PE_PROXIES`).

    A ratio: the close on or before ``until`` over the close on or before ``since``, minus 1; its
    ``subject`` is the ETF, ``measure`` and ``basis`` say what the closes are (total, price or
    mixed return) and ``window`` the two closes used, oldest first. Not available, with the
    reason, when the index has no ETF, the ETF has no closes in the price data, or the window
    cannot be measured (:func:`window_return`).
    """
    label = _label(index, sector)
    proxy = PE_PROXIES.get((index, sector))
    span = f"the {label} price from {since} to {until}"
    name = f"price move of {label} {since} to {until}"
    if proxy is None or not (_DATE.match(since) and _DATE.match(until)):
        return _v(
            name,
            None,
            "ratio",
            reason=f"no daily price of {label} (or an ETF tracking it) to move its price from "
            f"{since} to {until}",
        )
    table = price_table(ctx, proxy)
    if isinstance(table, str):
        from ..sources._fetch import mirror_dir

        # With the mirror a missing ticker is absent from the data; without it, say why.
        why = "" if mirror_dir() is not None else f" ({table})"
        return _no_table(
            name,
            proxy,
            "price move",
            "ratio",
            f"no {proxy} closes in the price data to move {span}{why}",
        )
    forward = since <= until
    r = window_return(ctx, proxy, *((since, until) if forward else (until, since)))
    if not r.available:
        return _no_table(
            name, proxy, "price move", "ratio", f"moving {span} needs {proxy}'s closes: {r.reason}"
        )
    # Backwards the move undoes the return of the window from ``until`` to ``since``.
    return replace(r, value=r.value if forward else 1.0 / (1.0 + r.value) - 1.0, name=name)


def _eps_growth_forward(ctx: Context, ref: MetricRef) -> Value:
    index, sector = ref.args[0], ref.args[1] if len(ref.args) > 1 else "All"
    row = _sheet_row(ctx, index, sector)
    if isinstance(row, str):
        return _v(ref.name, None, "ratio", reason=row)
    if row.eps_ly <= 0:
        return _v(
            ref.name,
            None,
            "ratio",
            reason=f"{row.fwd_year - 1} EPS is not positive (growth from a loss)",
        )
    return _v(
        ref.name,
        row.eps_fwd / row.eps_ly - 1.0,
        "ratio",
        row.edition,
        row.source,
        f"{row.fwd_label} / {row.ly_label} operating EPS, {row.eps_fwd:g} / {row.eps_ly:g}",
    )


def _eps_growth_5y(ctx: Context, ref: MetricRef) -> Value:
    index, sector = ref.args[0], ref.args[1] if len(ref.args) > 1 else "All"
    t = ctx.table("spdji_index_pe")
    available = snapshot_availability(t, ctx.month)
    if not available.available:
        return _v(ref.name, None, "ratio", reason=available.reason)
    row = t[(t["index"] == index) & (t["sector"] == sector)]
    if row.empty or pd.isna(row["eps_growth_5y"].iloc[0]):
        return _v(
            ref.name,
            None,
            "ratio",
            reason=f"no 5-year projected growth for {_label(index, sector)}",
        )
    return _v(
        ref.name,
        float(row["eps_growth_5y"].iloc[0]),
        "ratio",
        available.as_of,
        provenance_of(t).caption(),
        "annual rate",
    )


# --- French size sorts: small/big P/B ----------------------------------------------------------


def _pb_ratio(ctx: Context, ref: MetricRef) -> tuple[pd.Series, str]:
    ex_hibm = "ex_hibm" in ref.args
    r = size_pb_ratio(ctx.table("french_size_bm"), ctx.month, ex_hibm=ex_hibm)
    if "july" in ref.args:  # French re-forms the portfolios each June: one fresh sample a year
        r = r[r.index.month == 7]
    basis = "French size quintiles, value-weighted"
    if ex_hibm:
        basis += ", without the SMALL HiBM and BIG HiBM corners"
    if "july" in ref.args:
        basis += ", July samples only"
    return r, basis


def _pb_series(ctx: Context, ref: MetricRef) -> History:
    r, basis = _pb_ratio(ctx, ref)
    src = provenance_of(ctx.table("french_size_bm")).caption()
    return History(r, "x", basis, src, "small/big P/B")


def _pb_value(ctx: Context, ref: MetricRef) -> Value:
    r, basis = _pb_ratio(ctx, ref)
    src = provenance_of(ctx.table("french_size_bm")).caption()
    if r.empty:
        return _v(ref.name, None, "x", reason=f"no French size-sort data on or before {ctx.month}")
    return _v(ref.name, float(r.iloc[-1]), "x", str(r.index[-1]), src, basis)


# --- prices ------------------------------------------------------------------------------------


def price_table(ctx: Context, ticker: str) -> pd.DataFrame | str:
    """The daily close table that holds ``ticker``, or why there is none.

    ``etf_close`` for the report's tickers (SPY, IWM, QQQ, the sector SPDRs); for any other
    ticker, ``ctx.tables["prices/<TICKER>"]`` when given, else its own table read once per
    context from every provider that has it
    (:func:`rotation_utils.sources.prices.close_table`: the same splice, segments and gap
    rule). Without ``ROTATION_MIRROR`` any ticker is downloaded on first use from the online
    provider into the download cache, which serves it until its max age (a second check asks
    nothing). A ticker no provider has, or a download that fails (offline, HTTP 404), is a
    reason, never an error: its claim is not checkable.
    """
    close = ctx.table("etf_close")
    if ticker in close.columns or ticker in REPORT_TICKERS:
        return close  # a report ticker missing from etf_close says so through the measure
    if f"prices/{ticker}" in ctx.tables:
        return ctx.tables[f"prices/{ticker}"]
    if ticker not in ctx.price_tables:
        ctx.price_tables[ticker] = _read_closes(ticker)
    return ctx.price_tables[ticker]


def _read_closes(ticker: str) -> pd.DataFrame | str:
    from ..sources.prices import close_table

    if not _TICKER.match(ticker):  # never put a name that is not a ticker in a path
        return f"{ticker!r} is not a ticker"
    # Online this is the cached, validated download (sources._fetch.load_tables): a failure is
    # a NetworkError or DataError, so one bad ticker never stops the rest of a claims file.
    try:
        return close_table([ticker])
    except RotationError as e:
        return f"no prices for {ticker}: {e}"


def _no_table(name: str, subject: str, measure: str, unit: str, reason: str) -> Value:
    return Value(None, unit, reason=reason, name=name, subject=subject, measure=measure)


def window_return(ctx: Context, ticker: str, start: str, end: str | None = None) -> Value:
    """The return of ``ticker`` from its close on or before ``start`` to its close on or before
    ``end`` (default: the report month's last close), from its close table
    (:func:`price_table`): the one gap-aware return,
    :func:`rotation_utils.measures.prices.price_return`, whose basis says whether it is a
    total, price or mixed return."""
    name = f"return:{ticker}:{start}" + (f":{end}" if end else "")
    table = price_table(ctx, ticker)
    if isinstance(table, str):
        return _no_table(name, ticker, "return", "ratio", table)
    return price_return(table, ticker, start, end, month=ctx.month, name=name)


def _return(ctx: Context, ref: MetricRef) -> Value:
    v = window_return(ctx, ref.args[0], ref.args[1], ref.args[2] if len(ref.args) > 2 else None)
    return replace(v, name=ref.name)


# --- risk on the daily closes -----------------------------------------------------------------


def _one_ticker(
    measure: Callable[..., Value], unit: str, what: str
) -> Callable[[Context, MetricRef], Value]:
    """``family:<TICKER>:<start>[:<end>]`` computed by ``measure`` (:mod:`..measures.risk`)."""

    def compute(ctx: Context, ref: MetricRef) -> Value:
        t, start, *end = ref.args
        table = price_table(ctx, t)
        if isinstance(table, str):
            return _no_table(ref.name, t, what, unit, table)
        return measure(table, t, start, end[0] if end else None, month=ctx.month, name=ref.name)

    return compute


def _two_tickers(
    measure: Callable[..., Value], what: str, joint: str
) -> Callable[[Context, MetricRef], Value]:
    """``family:<A>:<B>:<start>[:<end>]`` computed by ``measure`` (correlation, beta)."""

    def compute(ctx: Context, ref: MetricRef) -> Value:
        a, b, start, *end = ref.args
        ta, tb = price_table(ctx, a), price_table(ctx, b)
        for table in (ta, tb):
            if isinstance(table, str):
                return _no_table(ref.name, f"{a}{joint}{b}", what, "x", table)
        return measure(
            ta, a, b, start, end[0] if end else None, month=ctx.month, name=ref.name, other=tb
        )

    return compute


def _close(ctx: Context, ref: MetricRef) -> Value:
    t, date = ref.args
    table = price_table(ctx, t)
    if isinstance(table, str):
        return _no_table(ref.name, t, "close", "index", table)
    return risk.close_on(table, t, date, month=ctx.month, name=ref.name)


# --- FRED --------------------------------------------------------------------------------------


def _fred_history(ctx: Context, sid: str) -> History:
    """The monthly history of FRED series ``sid``: from ``fred_monthly`` when it holds it, else
    the series read once per context (cache, mirror or FRED: :func:`~rotation_utils.measures.
    history.fred_history`); an unreadable series is a History with the reason."""
    table = ctx.table("fred_monthly")
    if sid in table.columns:
        return hist.fred_history(sid, table)
    if sid not in ctx.fred_histories:
        ctx.fred_histories[sid] = hist.fred_history(sid)
    return ctx.fred_histories[sid]


def _until_arg(h: History, ctx: Context, month_arg: str | None) -> History:
    """The history up to the report month, and up to the metric's own month when it names one:
    a history that ends there, or the reason it does not (the month is after the report month,
    or has no value), as the metric's own value says."""
    h = h.until(ctx.month)
    if not month_arg or h.reason:
        return h
    v = hist.level(h, ctx.month, month_arg)
    if not v.available:
        return replace(h, series=h.series.iloc[:0], reason=v.reason)
    return h.until(month_arg)


def _fred_series(ctx: Context, ref: MetricRef) -> History:
    return _until_arg(
        _fred_history(ctx, ref.args[0]), ctx, ref.args[1] if len(ref.args) > 1 else None
    )


def _fred(ctx: Context, ref: MetricRef) -> Value:
    h = _fred_history(ctx, ref.args[0])
    return hist.level(h, ctx.month, ref.args[1] if len(ref.args) > 1 else None, name=ref.name)


def _fred_change(ctx: Context, ref: MetricRef) -> Value:
    sid, a, b = ref.args
    va = _fred(ctx, MetricRef(f"fred:{sid}:{a}", "fred", (sid, a)))
    vb = _fred(ctx, MetricRef(f"fred:{sid}:{b}", "fred", (sid, b)))
    unit = "pp" if fred_unit(sid) in ("pp", "percent") else fred_unit(sid)
    for v in (va, vb):
        if not v.available:
            return _v(ref.name, None, unit, reason=v.reason)
    return _v(
        ref.name,
        vb.value - va.value,
        unit,
        b,
        va.source,
        f"FRED {sid}, monthly mean {b} minus {a} ({vb.value:.2f} - {va.value:.2f})",
    )


def _fred_yoy(ctx: Context, ref: MetricRef) -> Value:
    h = _fred_history(ctx, ref.args[0])
    return hist.yoy(h, ctx.month, ref.args[1] if len(ref.args) > 1 else None, name=ref.name)


def _fred_yoy_series(ctx: Context, ref: MetricRef) -> History:
    return hist.yoy_history(_fred_series(ctx, ref))


# --- Shiller's CAPE, percentiles, month-end closes ----------------------------------------------


def _cape_series(ctx: Context, ref: MetricRef) -> History:
    h = hist.cape_history(ctx.table("shiller_monthly"))
    return _until_arg(h, ctx, ref.args[0] if ref.args else None)


def _cape(ctx: Context, ref: MetricRef) -> Value:
    at = ref.args[0] if ref.args else None
    return hist.cape(ctx.month, at, table=ctx.table("shiller_monthly"), name=ref.name)


def _close_series(ctx: Context, ref: MetricRef) -> History:
    t, date = ref.args
    table = price_table(ctx, t)
    if isinstance(table, str):
        return History(pd.Series(dtype=float), "index", what=f"{t} close", reason=table)
    # The history ends at the metric's own close, or has the reason there is none.
    v = risk.close_on(table, t, date, month=ctx.month)
    h = hist.close_history(table, t, ctx.month, date)
    if not v.available:
        return replace(h, series=h.series.iloc[:0], reason=v.reason)
    return h


def _check_percentile(args: tuple[str, ...], at: str) -> None:
    inner = ":".join(args) + (f"@{at}" if at else "")
    if not args:
        raise ValueError("expected percentile:<metric> (a metric with a monthly history)")
    ref = parse_metric(inner)  # its own message for a bad metric
    if CATALOG[ref.family].series is None:
        raise ValueError(
            f"percentile needs a metric with a monthly history ({', '.join(_with_history())}), "
            f"not {ref.family!r}"
        )


def _percentile(ctx: Context, ref: MetricRef) -> Value:
    inner = ":".join(ref.args) + (f"@{ref.at}" if ref.at else "")
    return hist.percentile(metric_history(ctx, inner), ctx.month, name=ref.name)


def _with_history() -> list[str]:
    return [f for f, spec in CATALOG.items() if spec.series is not None]


# --- curated facts -----------------------------------------------------------------------------


def _fact(ctx: Context, ref: MetricRef) -> Value:
    from ..facts import facts_as_of

    fid = ref.args[0]
    if fid not in ctx.facts.index:
        return _v(ref.name, None, "x", reason=f"no fact {fid!r} in data/facts.csv")
    row = ctx.facts.loc[fid]
    unit = str(row["unit"])
    if fid not in facts_as_of(ctx.facts, ctx.month).index:
        return _v(
            ref.name, None, unit, reason=f"fact {fid} is dated {row['as_of']}, after {ctx.month}"
        )
    return _v(
        ref.name,
        float(row["value"]),
        unit,
        str(row["as_of"]),
        f"{row['publisher']}, {row['title']} ({row['url']})",
        str(row["definition"]),
        qualifier=str(row["qualifier"]),
    )


def _fact_ratio(ctx: Context, ref: MetricRef) -> Value:
    a, b = (_fact(ctx, MetricRef(f"fact:{x}", "fact", (x,))) for x in ref.args)
    for v in (a, b):
        if not v.available:
            return _v(ref.name, None, "x", reason=v.reason)
    source = " | ".join(dict.fromkeys((a.source, b.source)))
    basis = f"{a.shown()} / {b.shown()}" + (
        f", {a.basis}" if a.basis == b.basis else f" ({a.basis} / {b.basis})"
    )
    return _v(ref.name, a.value / b.value, "x", max(a.as_of, b.as_of), source, basis)


def _check_fact_ratio(args: tuple[str, ...]) -> None:
    if len(args) != 2 or not all(args):
        raise ValueError("expected fact_ratio:<id>:<id>")


# --- human labels -----------------------------------------------------------------------------

#: How a facts.csv ``metric`` reads in prose; other metrics read as their definition.
_FACT_MEASURES = {
    "forward_pe": "forward P/E",
    "trailing_pe": "trailing P/E",
    "price_to_book": "P/B",
    "pe_discount": "P/E discount",
    "ev_to_ebitda": "EV/EBITDA",
}


def _index_label(measure: str) -> Callable[[MetricRef, pd.DataFrame | None], tuple[str, str]]:
    def inner(ref: MetricRef, facts: pd.DataFrame | None) -> tuple[str, str]:
        return " ".join(a for a in ref.args if a != "All"), measure

    return inner


def _series_title(sid: str) -> str:
    """FRED's title without the unit, in running text: "10-year minus 2-year Treasury yield"."""
    title = FRED_SERIES.get(sid, sid).rsplit(", ", 1)[0]
    return title[0].lower() + title[1:] if title[1:2].islower() else title


def _fact_label(fid: str, facts: pd.DataFrame | None) -> tuple[str, str]:
    if facts is None or fid not in facts.index:
        return "", f"fact {fid}"
    row = facts.loc[fid]
    metric, definition = str(row.get("metric", "")), str(row.get("definition", ""))
    measure = _FACT_MEASURES.get(metric) or definition or metric or f"fact {fid}"
    return str(row["subject"]), measure


def _fact_ratio_label(ref: MetricRef, facts: pd.DataFrame | None) -> tuple[str, str]:
    (sa, ma), (sb, mb) = (_fact_label(x, facts) for x in ref.args)
    if ma == mb and sa and sb:
        return f"{sa} / {sb}", ma
    return "", f"{sa} {ma} / {sb} {mb}".strip()


def _percentile_label(ref: MetricRef, facts: pd.DataFrame | None) -> tuple[str, str]:
    inner = parse_metric(":".join(ref.args) + (f"@{ref.at}" if ref.at else ""))
    subject, measure = _LABELS[inner.family](inner, facts)
    return subject, f"{measure} percentile in its history"


#: Each catalog family's label: ``(ref, facts) -> (subject, measure)`` (see :func:`metric_label`).
_LABELS: dict[str, Callable[[MetricRef, pd.DataFrame | None], tuple[str, str]]] = {
    "pe_forward": _index_label("forward P/E"),
    "pe_last_year": _index_label("last-year P/E"),
    "eps_growth_forward": _index_label("forecast EPS growth"),
    "eps_growth_5y": _index_label("projected 5-year EPS growth"),
    "pb_small_big": lambda r, f: ("small/big", "P/B ratio"),
    "return": lambda r, f: (r.args[0], "return"),
    "drawdown": lambda r, f: (r.args[0], "drawdown"),
    "volatility": lambda r, f: (r.args[0], "volatility"),
    "correlation": lambda r, f: (f"{r.args[0]} and {r.args[1]}", "correlation of daily returns"),
    "beta": lambda r, f: (f"{r.args[0]} on {r.args[1]}", "beta"),
    "close": lambda r, f: (r.args[0], "close"),
    "fred": lambda r, f: ("", _series_title(r.args[0])),
    "fred_change": lambda r, f: ("", f"change in the {_series_title(r.args[0])}"),
    "fred_yoy": lambda r, f: ("", f"12-month change in {_series_title(r.args[0])}"),
    "cape": lambda r, f: ("S&P Composite", "CAPE"),
    "percentile": lambda r, f: _percentile_label(r, f),
    "fact": lambda r, f: _fact_label(r.args[0], f),
    "fact_ratio": _fact_ratio_label,
}


CATALOG: dict[str, MetricSpec] = {
    m.family: m
    for m in [
        MetricSpec(
            "pe_forward",
            "pe_forward:<index>[:<sector>][@YYYY-MM-DD]",
            "x",
            "S&P DJI sheet (spdji_annual_eps)",
            "price / next-year operating EPS estimate (2026E in the 2026-01-30 edition), at the sheet's "
            "price date for all indexes; @date moves the price to another date (the year-end price from "
            "the sheet, other dates by SPY or the sector SPDR)",
            lambda a, at: _args_index_sector(a, at),
            lambda c, r: _pe(c, r, forward=True),
        ),
        MetricSpec(
            "pe_last_year",
            "pe_last_year:<index>[:<sector>][@YYYY-MM-DD]",
            "x",
            "S&P DJI sheet (spdji_annual_eps)",
            "the same price / last year's operating EPS (2025 in the 2026-01-30 edition)",
            lambda a, at: _args_index_sector(a, at),
            lambda c, r: _pe(c, r, forward=False),
        ),
        MetricSpec(
            "eps_growth_forward",
            "eps_growth_forward:<index>[:<sector>]",
            "ratio",
            "S&P DJI sheet (spdji_annual_eps)",
            "next-year operating EPS estimate / last year's - 1 (2026E / 2025)",
            lambda a, at: _args_index_sector(a, at, allow_at=False),
            _eps_growth_forward,
        ),
        MetricSpec(
            "eps_growth_5y",
            "eps_growth_5y:<index>[:<sector>]",
            "ratio",
            "S&P DJI sheet (spdji_index_pe)",
            "projected annual EPS growth over 5 years",
            lambda a, at: _args_index_sector(a, at, allow_at=False),
            _eps_growth_5y,
        ),
        MetricSpec(
            "pb_small_big",
            "pb_small_big[:ex_hibm][:july]",
            "x",
            "Kenneth R. French Data Library, 25 size x BE/ME portfolios (french_size_bm)",
            "P/B of the smallest size quintile / the biggest (value-weighted, NYSE breakpoints), latest month; "
            "ex_hibm: without the two high-BE/ME corner portfolios; july: July samples only",
            _args_no_at(_check_pb),
            _pb_value,
            _pb_series,
            stands_in_for="Russell 2000 / Russell 1000 valuations (NYSE size quintiles are no index)",
        ),
        MetricSpec(
            "return",
            "return:<TICKER>:<start>[:<end>]",
            "ratio",
            "daily ETF closes (etf_close)",
            "return from the close on or before start to the close on or before end (default: the "
            "report month's last close): a total return on adjusted closes, a price return on "
            "unadjusted ones, 'mixed' when the window joins both; not available across a gap",
            _args_no_at(_check_return),
            _return,
        ),
        MetricSpec(
            "drawdown",
            "drawdown:<TICKER>:<start>[:<end>]",
            "ratio",
            "daily ETF closes (etf_close, or the ticker's own)",
            "largest peak-to-trough fall of the daily closes from the close on or before start to "
            "the close on or before end (default: the report month's last close), a negative "
            "decimal or 0; the basis says total, price or mixed; not available across a gap",
            _args_no_at(_check_tickers_dates("drawdown", 1, (1, 2))),
            _one_ticker(risk.drawdown, "ratio", "drawdown"),
        ),
        MetricSpec(
            "volatility",
            "volatility:<TICKER>:<start>[:<end>]",
            "ratio",
            "daily ETF closes (etf_close, or the ticker's own)",
            "annualised volatility: standard deviation (ddof=1) of daily log returns in the "
            "window x sqrt(252), a decimal per year; not available across a gap",
            _args_no_at(_check_tickers_dates("volatility", 1, (1, 2))),
            _one_ticker(risk.volatility, "ratio", "volatility"),
        ),
        MetricSpec(
            "correlation",
            "correlation:<A>:<B>:<start>[:<end>]",
            "x",
            "daily ETF closes (etf_close, or the ticker's own)",
            "Pearson correlation of A's and B's daily simple returns on the dates both have a "
            "close in the window, -1 .. 1; not available across a gap in either",
            _args_no_at(_check_tickers_dates("correlation", 2, (1, 2))),
            _two_tickers(risk.correlation, "correlation of daily returns", " and "),
        ),
        MetricSpec(
            "beta",
            "beta:<A>:<B>:<start>[:<end>]",
            "x",
            "daily ETF closes (etf_close, or the ticker's own)",
            "beta of A on B: cov(A, B) / var(B) of daily simple returns on the dates both have a "
            "close in the window (ddof=1); not available across a gap in either",
            _args_no_at(_check_tickers_dates("beta", 2, (1, 2))),
            _two_tickers(risk.beta, "beta", " on "),
        ),
        MetricSpec(
            "close",
            "close:<TICKER>:<date>",
            "index",
            "daily ETF closes (etf_close, or the ticker's own)",
            "the close on or before the date, in US$ (index points for VIX): the traded price on "
            "unadjusted closes, a dividend-adjusted level on adjusted ones (the basis says "
            "which); not available inside a provider gap or after the report month",
            _args_no_at(_check_tickers_dates("close", 1, (1, 1))),
            _close,
            _close_series,
        ),
        MetricSpec(
            "fred",
            "fred:<SERIES>[:<YYYY-MM>]",
            "percent/pp/index",
            "FRED: fred_monthly (DFF, DGS10, T10Y2Y, CPILFESL), any other series read from "
            "the mirror (CPIAUCSL) or FRED",
            "monthly mean of the series in that month (default: the latest on or before the "
            "report month); unit percent for rates, pp for spreads, index for levels and unknown "
            "series; a series that cannot be read is not checkable",
            _args_no_at(_check_fred),
            _fred,
            _fred_series,
        ),
        MetricSpec(
            "fred_change",
            "fred_change:<SERIES>:<from YYYY-MM>:<to YYYY-MM>",
            "pp",
            "FRED (fred_monthly, or the series' own file)",
            "change of the monthly mean between two months (pp for rates, index points for levels)",
            _args_no_at(_check_fred_change),
            _fred_change,
        ),
        MetricSpec(
            "fred_yoy",
            "fred_yoy:<SERIES>[:<YYYY-MM>]",
            "ratio",
            "FRED (fred_monthly, or the series' own file)",
            "year-on-year change: the monthly value / the value 12 months earlier - 1, a decimal "
            "(CPIAUCSL: 12-month CPI inflation), in that month (default: the latest on or before "
            "the report month); not available when either month is missing",
            _args_no_at(_check_month_arg("fred_yoy", "<SERIES>")),
            _fred_yoy,
            _fred_yoy_series,
        ),
        MetricSpec(
            "cape",
            "cape[:<YYYY-MM>]",
            "x",
            "Robert J. Shiller, ie_data.xls (shiller_monthly)",
            "Shiller's CAPE (P/E10) of the S&P Composite: real price / 10-year average of real "
            "earnings, in that month (default: the latest on or before the report month; Shiller "
            "extends the last months' earnings with estimates)",
            _args_no_at(_check_month_arg("cape", "")),
            _cape,
            _cape_series,
        ),
        MetricSpec(
            "percentile",
            "percentile:<metric>",
            "ratio",
            "the metric's own (cape, pb_small_big, fred, fred_yoy, close)",
            "share of the metric's monthly history up to the report month (or the metric's own "
            "month) at or below its latest value, a decimal in (0, 1]: 1.0 is the highest of the "
            "history; close:<TICKER>:<date> uses month-end closes",
            _check_percentile,
            _percentile,
        ),
        MetricSpec(
            "fact",
            "fact:<id>",
            "the fact's unit",
            "data/facts.csv (each row cites its source)",
            "a curated published figure or the article's own number; not used before its date",
            _args_no_at(_check_fact),
            _fact,
        ),
        MetricSpec(
            "fact_ratio",
            "fact_ratio:<id>:<id>",
            "x",
            "data/facts.csv",
            "the first fact divided by the second (e.g. a claimed P/B over another)",
            _args_no_at(_check_fact_ratio),
            _fact_ratio,
        ),
    ]
}


def parse_metric(name: str, *, fact_ids: Mapping | set | None = None) -> MetricRef:
    """Validate a metric name against the catalog (no data read).

    Raises
    ------
    ValueError
        Unknown family or bad arguments; the message says what is expected.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a metric name must be a non-empty string")
    base, _, at = name.strip().partition("@")
    family, *args = base.split(":")
    spec = CATALOG.get(family)
    if spec is None:
        raise ValueError(f"unknown metric {family!r} (known: {', '.join(CATALOG)})")
    spec.check_args(tuple(args), at)
    if family in ("fact", "fact_ratio") and fact_ids is not None:
        for fid in args:
            if fid not in fact_ids:
                raise ValueError(f"no fact {fid!r} in data/facts.csv")
    return MetricRef(name.strip(), family, tuple(args), at)


def metric_label(name: str, facts: pd.DataFrame | None = None) -> tuple[str, str]:
    """The human label of a metric name as ``(subject, measure)``, derived from the name (no data
    read except ``facts`` for ``fact:<id>``): ``pe_forward:S&P 600:Financials`` -> ("S&P 600
    Financials", "forward P/E"), ``return:XLF:...`` -> ("XLF", "return"), ``fred:T10Y2Y`` ->
    ("", "10-year minus 2-year Treasury yield"), ``fact:<id>`` -> the row's subject and measure."""
    ref = parse_metric(name)
    return _LABELS[ref.family](ref, facts)


def evaluate(ctx: Context, name: str) -> Value:
    """Compute metric ``name`` as of ``ctx.month``, labelled for prose (:func:`metric_label`);
    an expression over metrics (``a - b``) by :func:`.expressions.evaluate_expression`."""
    from .expressions import evaluate_expression, is_expression  # it computes its leaves here

    if is_expression(name):
        return evaluate_expression(ctx, name, evaluate)
    ref = parse_metric(name)
    subject, measure = _LABELS[ref.family](ref, ctx.facts)
    v = CATALOG[ref.family].compute(ctx, ref)
    # A measure that knows what its number is made of ("price return") says so itself.
    return replace(v, subject=subject, measure=v.measure or measure)


def metric_history(ctx: Context, name: str) -> History:
    """The monthly history of a metric up to the month (and up to the metric's own month or
    date when it names one), or a History with the reason it has none.

    Raises
    ------
    ValueError
        A bad metric name, or a family with no history (see :func:`history`).
    """
    ref = parse_metric(name)
    spec = CATALOG[ref.family]
    if spec.series is None:
        raise ValueError(
            f"metric {ref.family!r} has no history (families with one: "
            f"{', '.join(_with_history())})"
        )
    return spec.series(ctx, ref).until(ctx.month)


def history(ctx: Context, name: str) -> tuple[pd.Series, str, str, str]:
    """The history of a metric up to the month: ``(series, basis, source, unit)``; for families
    with one (pb_small_big, fred, fred_yoy, cape, close). Empty when it cannot be read
    (:func:`metric_history` says why)."""
    h = metric_history(ctx, name)
    return h.series, h.basis, h.source, h.unit
