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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..provenance import Provenance, provenance_of, with_provenance
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
    "PARSER_VERSION",
    "provider_sources",
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
        raise DataError(f"unknown price file header {lines[0]!r}", file=file, row=1)
    if "close" not in header:
        raise DataError("no 'close' column in the header", file=file, row=1)
    body = [ln for ln in lines[body_start:] if ln.strip()]
    df = pd.read_csv(io.StringIO("\n".join(body)), header=None, names=header, dtype=str)
    dates = pd.to_datetime(df.pop("date").str.strip(), format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise DataError(
            f"date {body[i].split(',')[0]!r} is not YYYY-MM-DD", file=file, row=body_start + i + 1
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


@dataclass(frozen=True)
class Segment:
    """The date range a provider supplied in a spliced series."""

    provider: str
    start: str
    end: str


def splice_closes(parts: list[tuple[str, pd.Series]]) -> tuple[pd.Series, list[Segment]]:
    """Chain close series from several providers on returns, keeping the newest provider's levels.

    Parameters
    ----------
    parts : list of (provider, Series)
        Close prices (dollars) by date, oldest provider first.

    Returns
    -------
    close : Series
        One close series. On dates covered by several providers the newest wins; an older
        provider's earlier dates are rescaled by the ratio of the two providers' closes on the
        first date they share, so that its daily returns are preserved and levels join without a
        jump.
    segments : list of Segment
        Which provider each date range came from, oldest first.

    Raises
    ------
    DataError
        Two consecutive providers share no date (a gap across the splice): returns across the
        gap are unknown, so the series cannot be chained without inventing one.
    """
    if not parts:
        raise DataError("no price series to splice")
    name, close = parts[-1]
    close = close.dropna()
    segments = [Segment(name, str(close.index[0].date()), str(close.index[-1].date()))]
    for prov, older in reversed(parts[:-1]):
        older = older.dropna()
        common = older.index.intersection(close.index)
        if common.empty:
            raise DataError(
                f"gap across the provider splice: {prov} ends {older.index[-1].date()}, "
                f"{segments[0].provider} starts {close.index[0].date()} with no common date"
            )
        anchor = common[0]
        earlier = older[older.index < anchor] * (close[anchor] / older[anchor])
        if not earlier.empty:
            close = pd.concat([earlier, close])
            segments.insert(
                0, Segment(prov, str(earlier.index[0].date()), str(earlier.index[-1].date()))
            )
    close.name = "close"
    return close, segments


def provider_sources(ticker: str) -> list[tuple[str, str, RawFile]]:
    """(provider, publisher, file) for ``ticker``, oldest provider first: the mirrored providers
    when ``ROTATION_MIRROR`` is set, else the one online provider."""
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

    Providers that do not overlap the newer part (so cannot be chained on returns) are left out
    and named in ``attrs['provenance']['extra']['excluded']``; the provider of each date range is
    in ``attrs['provenance']['extra']['segments']``.

    Returns
    -------
    DataFrame
        Column ``close`` (US dollars, levels of the newest chained provider) and ``provider``.
    """
    parts: list[tuple[str, pd.Series]] = []
    provs: list[Provenance] = []
    sources = provider_sources(ticker)
    for folder, publisher, raw in sources:
        if where_from(raw)[0] == "missing":
            continue  # the mirror shows this provider does not carry the ticker
        base = Provenance(publisher, f"{ticker} daily prices ({folder})", raw.url, vintage="")
        df = load_tables(raw, parse_prices, base)["prices"]  # online: the error names the ticker
        parts.append((folder, df["close"]))
        provs.append(provenance_of(df))
    if not parts:
        raise DataError(f"no provider has prices for {ticker!r}")
    excluded: list[str] = []
    # Drop the newest providers that cannot be chained, newest first, and say so.
    while True:
        try:
            close, segments = splice_closes(parts)
            break
        except DataError as e:
            if len(parts) == 1:
                raise
            excluded.append(f"{parts[-1][0]}: {e}")
            parts.pop()
            provs.pop()
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
        extra={"segments": [s.__dict__ for s in segments], "excluded": excluded},
    )
    return with_provenance(out, prov)
