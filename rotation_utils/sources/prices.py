"""Daily ETF prices from three providers, spliced into one close series per ticker.

Formats in the mirror: yfinance's three-line header (``Price,Close,...`` / ``Ticker,...`` /
``Date,,,``), a single ``Date,Close,High,Low,Open,Volume`` header, and Alpha Vantage's
``timestamp,open,high,low,close,volume`` listed newest first. Yahoo closes are dividend-adjusted,
Alpha Vantage's are not, so providers are spliced on returns over their overlap and the newest
provider's levels are kept.

With ``ROTATION_MIRROR`` set the three mirrored providers are read; online, one provider from
:mod:`.price_providers` (yfinance, or Alpha Vantage with ``ALPHAVANTAGE_API_KEY``).
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from ..paths import excerpt
from ..provenance import Provenance, provenance_of, with_provenance
from ..trading_days import trading_days_between
from ._fetch import RawFile, load_tables, mirror_dir, where_from
from ._text import decode_text, numeric_column

__all__ = [
    "REPORT_TICKERS",
    "parse_prices",
    "splice_closes",
    "read_prices",
    "PROVIDERS",
    "Segment",
    "SECTOR_ETFS",
    "PROVIDER_BASIS",
    "TOTAL_RETURN",
    "UNADJUSTED",
    "MAX_BRIDGE_DAYS",
    "trading_days_between",
    "PARSER_VERSION",
    "provider_sources",
    "TICKER_PATTERN",
    "INDEX_TICKERS",
    "check_ticker",
    "close_table",
]

#: Part of the parse-cache key: bump when :func:`parse_prices` returns something different.
PARSER_VERSION = "1"

#: Mirrored providers oldest first: folder in the mirror, file name pattern, publisher, and the
#: URL cited for them (read from the mirror only; online downloads go through price_providers).
PROVIDERS = (
    (
        "yahoo_2006_2025",
        "{t}_history.csv",
        "Yahoo Finance via yfinance (adjusted close)",
        "https://finance.yahoo.com/quote/{t}/history",
    ),
    (
        "yahoo_2000_2026",
        "{t}.csv",
        "Yahoo Finance (adjusted close)",
        "https://finance.yahoo.com/quote/{t}/history",
    ),
    (
        "alphavantage_2026",
        "{t}.csv",
        "Alpha Vantage TIME_SERIES_DAILY (unadjusted close)",
        "https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol={t}&outputsize=full&datatype=csv",
    ),
)
#: The 11 Select Sector SPDR ETFs by GICS sector.
SECTOR_ETFS = {
    "XLB": "Materials",
    "XLC": "Communication Services",
    "XLE": "Energy",
    "XLF": "Financials",
    "XLI": "Industrials",
    "XLK": "Information Technology",
    "XLP": "Consumer Staples",
    "XLRE": "Real Estate",
    "XLU": "Utilities",
    "XLV": "Health Care",
    "XLY": "Consumer Discretionary",
}
#: What a ticker may look like before it is put in a file path or URL: capitals, digits, "."
#: and "-" (``BRK.B``); an index is named without Yahoo's "^" (``VIX`` is read as ``^VIX``).
TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
#: Tickers that are indexes, not funds: their closes are index levels (no dividend to adjust
#: for), so a change in them is a price change whatever the provider calls its close.
INDEX_TICKERS = {"VIX": "CBOE Volatility Index"}
#: What the notebooks read: the benchmark, small caps, Nasdaq-100 and the sector SPDRs.
REPORT_TICKERS = ("SPY", "IWM", "QQQ", *sorted(SECTOR_ETFS))


def parse_prices(data: bytes, file: str = "<prices>") -> dict[str, pd.DataFrame]:
    """Parse any of the three provider formats into ``{"prices": DataFrame}``.

    The frame has a daily ``DatetimeIndex`` named ``date`` sorted oldest first, and lower-case
    columns ``close`` (always), ``open``, ``high``, ``low``, ``volume`` when present. Prices in
    US dollars per share.

    Raises
    ------
    DataError
        Unknown header, an unparseable date or number, a duplicated date, or a close that is
        zero or negative; the message names file and row (1-based line in the file).
    """
    lines = decode_text(data, file)
    first = lines[0].split(",")[0].strip().lower()
    if first == "price" and len(lines) > 2 and lines[1].lower().startswith("ticker"):
        header = [h.strip().lower() for h in lines[0].split(",")]
        header[0] = "date"
        body_start = 3 if lines[2].lower().startswith("date") else 2
    elif first in ("date", "timestamp"):
        header = [h.strip().lower() for h in lines[0].split(",")]
        header[0] = "date"
        body_start = 1
    else:
        raise DataError(f"unknown price file header {excerpt(lines[0])}", file=file, row=1)
    if "close" not in header:
        raise DataError("no 'close' column in the header", file=file, row=1)
    body = [ln for ln in lines[body_start:] if ln.strip()]
    df = pd.read_csv(io.StringIO("\n".join(body)), header=None, names=header, dtype=str)
    dates = pd.to_datetime(df.pop("date").str.strip(), format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise DataError(
            f"date {excerpt(body[i].split(',')[0])} is not YYYY-MM-DD",
            file=file,
            row=body_start + i + 1,
        )
    out = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date"))
    for col in df.columns:
        out[col] = numeric_column(df[col], file=file, column=col, first_row=body_start + 1)
    order = np.argsort(out.index.asi8, kind="stable")
    rows = order + body_start + 1  # file line of each sorted row
    out = out.iloc[order]
    dup = out.index.duplicated()
    if dup.any():
        i = int(dup.argmax())
        raise DataError(f"date {out.index[i].date()} appears twice", file=file, row=int(rows[i]))
    nonpos = ~(out["close"] > 0) & out["close"].notna()
    if nonpos.any():
        i = int(nonpos.to_numpy().argmax())
        raise DataError(
            f"close {float(out['close'].iloc[i])!r} is not positive", file=file, row=int(rows[i])
        )
    out.attrs["vintage"] = f"through {out.index[-1].date()}"
    return {"prices": out}


#: What a provider's close measures. An adjusted close is dividend-reinvested (total return)
#: and equals the actual close at the file's own last date; an unadjusted close is the price.
TOTAL_RETURN = "total return (adjusted close)"
UNADJUSTED = "price only (unadjusted close)"
PROVIDER_BASIS = {
    "yahoo_2006_2025": TOTAL_RETURN,
    "yahoo_2000_2026": TOTAL_RETURN,
    "alphavantage_2026": UNADJUSTED,
    "yfinance": TOTAL_RETURN,  # the online providers (price_providers.ONLINE_PROVIDERS)
    "alphavantage": UNADJUSTED,
}
#: The longest run of missing trading days bridged on price levels between two providers.
MAX_BRIDGE_DAYS = 5


@dataclass(frozen=True)
class Segment:
    """The date range one provider supplied in a spliced series, and how it joins the one before.

    Attributes
    ----------
    provider : str
        Provider folder, e.g. ``"alphavantage_2026"``.
    start, end : str
        First and last date (YYYY-MM-DD) taken from this provider.
    basis : str
        What its closes measure: :data:`TOTAL_RETURN` or :data:`UNADJUSTED`.
    join : str
        How it connects to the previous segment: ``"first"`` (none before), ``"returns"`` (the
        providers overlap; the older one is rescaled on the first shared date), ``"levels"`` (a
        short gap bridged on price levels, both closes being actual closes at the boundary) or
        ``"gap"`` (no return is defined across the missing days).
    gap_from : str
        For ``"levels"`` and ``"gap"``: the previous segment's last date.
    missing : tuple of str
        Trading days between the two segments that neither provider has.
    """

    provider: str
    start: str
    end: str
    basis: str = TOTAL_RETURN
    join: str = "first"
    gap_from: str = ""
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["missing"] = list(self.missing)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Segment:
        return cls(**{**d, "missing": tuple(d.get("missing", ()))})

    def describe(self) -> str:
        """One line for a caption, e.g. "alphavantage_2026 2026-03-31..2026-08-21 (price only
        (unadjusted close)); bridged on levels from 2026-03-27 (missing 2026-03-30)"."""
        text = f"{self.provider} {self.start}..{self.end} ({self.basis})"
        missing = (
            f"{len(self.missing)} trading days missing"
            if len(self.missing) > 3
            else ("missing " + ", ".join(self.missing) if self.missing else "no day missing")
        )
        if self.join == "levels":
            text += f"; bridged on price levels from {self.gap_from} ({missing})"
        elif self.join == "gap":
            text += f"; GAP after {self.gap_from} ({missing}): no return across it"
        return text


def _basis(part: tuple) -> str:
    return part[2] if len(part) > 2 else PROVIDER_BASIS.get(part[0], TOTAL_RETURN)


def splice_closes(parts: list[tuple]) -> tuple[pd.Series, list[Segment]]:
    """Chain close series from several providers, oldest first, keeping the newest levels.

    Parameters
    ----------
    parts : list of (provider, Series) or (provider, Series, basis)
        Close prices (dollars) by date, oldest provider first. ``basis`` defaults to the
        provider's entry in :data:`PROVIDER_BASIS` (else :data:`TOTAL_RETURN`).

    Returns
    -------
    close : Series
        One close series. Where providers overlap the newest wins and the older provider's
        earlier dates are rescaled by the ratio of the two closes on the first shared date, so its
        daily returns are kept. Where they do not overlap:

        - a gap of at most :data:`MAX_BRIDGE_DAYS` missing trading days is bridged on price
          levels when the newer series starts on an unadjusted close (the older series' last
          close is an actual close whether adjusted or not), so the older levels are kept as they
          are and the return across the gap is a price return;
        - any other gap stays a gap: both sides are kept, unscaled, and the newer segment is
          marked ``join="gap"`` so no return is computed across it.
    segments : list of Segment
        Which provider each date range came from and how it joins the one before, oldest first.
        No provider is ever dropped.
    """
    if not parts:
        raise DataError("no price series to splice")
    name, close = parts[-1][0], parts[-1][1].dropna()
    if close.empty:
        raise DataError(f"{name}: no closes to splice")
    segments = [
        Segment(name, str(close.index[0].date()), str(close.index[-1].date()), _basis(parts[-1]))
    ]
    for part in reversed(parts[:-1]):
        prov, older, basis = part[0], part[1].dropna(), _basis(part)
        if older.empty:
            continue
        newer = segments[0]
        common = older.index.intersection(close.index)
        if not common.empty:
            anchor = common[0]
            earlier = older[older.index < anchor] * (close[anchor] / older[anchor])
            join, gap_from, missing = "returns", "", ()
        else:
            earlier = older[older.index < close.index[0]]
            if earlier.empty:
                continue  # nothing older than what the newer providers already cover
            days = trading_days_between(earlier.index[-1], close.index[0])
            missing = tuple(str(d.date()) for d in days)
            # An adjusted series equals the actual close at its own last date, so only the
            # newer side's basis decides whether the two levels are comparable.
            same_basis = newer.basis == UNADJUSTED
            join = "levels" if same_basis and len(days) <= MAX_BRIDGE_DAYS else "gap"
            gap_from = str(earlier.index[-1].date())
        if earlier.empty:
            continue
        segments[0] = Segment(
            newer.provider, newer.start, newer.end, newer.basis, join, gap_from, missing
        )
        close = pd.concat([earlier, close])
        segments.insert(
            0, Segment(prov, str(earlier.index[0].date()), str(earlier.index[-1].date()), basis)
        )
    close.name = "close"
    return close, segments


def check_ticker(ticker: str) -> str:
    """``ticker`` when it matches :data:`TICKER_PATTERN`; else :class:`ParameterError` naming it
    (checked before a ticker is put in any path or URL)."""
    if not isinstance(ticker, str) or not TICKER_PATTERN.match(ticker):
        raise ParameterError(
            "ticker", f"{ticker!r} is not a ticker (capitals, digits, '.', '-'; at most 10)"
        )
    return ticker


def provider_sources(ticker: str) -> list[tuple[str, str, RawFile]]:
    """(provider, publisher, file) for ``ticker``, oldest provider first: the mirrored providers
    when ``ROTATION_MIRROR`` is set, else the one online provider.

    Raises
    ------
    ParameterError
        ``ticker`` does not match :data:`TICKER_PATTERN`.
    """
    check_ticker(ticker)
    if mirror_dir() is not None:
        return [
            (
                folder,
                pub,
                RawFile("prices", f"{folder}/{pattern.format(t=ticker)}", url.format(t=ticker)),
            )
            for folder, pattern, pub, url in PROVIDERS
        ]
    from .price_providers import online_provider

    p = online_provider()
    return [(p.name, p.publisher, p.raw_file(ticker))]


def provider_raw_files(ticker: str) -> list[RawFile]:
    """The file each provider would hold for ``ticker``, oldest provider first."""
    return [raw for _, _, raw in provider_sources(ticker)]


def read_prices(ticker: str) -> pd.DataFrame:
    """One daily close series for ``ticker`` spliced across every provider that has it.

    ``attrs['provenance']['extra']['segments']`` lists each provider's date range, basis and how
    it joins the one before (:class:`Segment`, as dicts); ``extra['superseded']`` names providers
    whose every date a newer provider also covers (read, but not needed).

    Returns
    -------
    DataFrame
        Column ``close`` (US dollars, levels of the newest provider) and ``provider``.
    """
    parts: list[tuple[str, pd.Series]] = []
    provs: list[Provenance] = []
    sources = provider_sources(ticker)
    for folder, publisher, raw in sources:
        if where_from(raw)[0] == "missing":
            continue  # the mirror shows this provider does not carry the ticker
        base = Provenance(publisher, f"{ticker} daily prices ({folder})", raw.url, vintage="")
        df = load_tables(raw, parse_prices, base)["prices"]  # online: the error names the ticker
        if ticker in INDEX_TICKERS:  # an index level: the provider's "adjusted" close is the level
            parts.append((folder, df["close"], UNADJUSTED))
        else:
            parts.append((folder, df["close"]))
        provs.append(provenance_of(df))
    if not parts:
        raise DataError(f"no provider has prices for {ticker!r}")
    close, segments = splice_closes(parts)
    used_names = {s.provider for s in segments}
    superseded = [
        f"{name}: every date is also in a newer provider"
        for name, *_ in parts
        if name not in used_names
    ]
    out = close.to_frame()
    out["provider"] = ""
    for s in segments:
        out.loc[s.start : s.end, "provider"] = s.provider
    newest = provs[-1]
    used = {s.provider for s in segments}
    prov = Provenance(
        publisher=" + ".join(dict.fromkeys(pub for f, pub, _ in sources if f in used)),
        title=f"{ticker} daily close",
        url=newest.url,
        vintage=f"through {out.index[-1].date()}",
        sha256=",".join(p.sha256[:12] for p in provs),
        read_from=newest.read_from,
        extra={"segments": [s.to_dict() for s in segments], "superseded": superseded},
    )
    return with_provenance(out, prov)


def close_table(tickers: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """The daily closes of ``tickers`` in the shape of the ``etf_close`` table, for tickers the
    report does not read (DIA, EEM, VIX, ...): one column per ticker (:func:`read_prices`,
    rounded to 4 decimals as ``etf_close`` is), and per ticker the provider segments in
    ``attrs['provenance']['extra']['segments']``, so the measures apply the same segment and
    gap rules to them. Online any valid ticker is downloaded on first use into the download
    cache (:func:`._fetch.load_tables`) and read from it until its max age.

    Raises
    ------
    ParameterError
        A ticker that does not match :data:`TICKER_PATTERN`.
    DataError
        No provider has prices for one of them (the message names it).
    NetworkError
        Online, a download failed (HTTP 404 for an unknown ticker, or offline).
    """
    frames, provs, segments = {}, [], {}
    for t in tickers:
        p = read_prices(t)
        frames[t] = p["close"]
        pv = provenance_of(p)
        provs.append(pv)
        segments[t] = {"segments": pv.extra["segments"], "superseded": pv.extra["superseded"]}
    if not frames:
        raise DataError("no tickers to read prices for", file="prices")
    out = pd.DataFrame(frames).round(4)
    out.index.name = "date"
    prov = Provenance(
        publisher=" + ".join(dict.fromkeys(p.publisher for p in provs)),
        title=f"Daily closes of {', '.join(frames)}",
        url=provs[-1].url,
        vintage=f"through {out.index[-1].date()}",
        sha256=",".join(p.sha256 for p in provs),
        read_from=provs[-1].read_from,
        extra={"segments": segments},
    )
    return with_provenance(out, prov)
