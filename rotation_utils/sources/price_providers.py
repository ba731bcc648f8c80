"""Online price providers, one adapter each behind one interface.

Online (no ``ROTATION_MIRROR``) daily prices come from one provider: Alpha Vantage when
``ALPHAVANTAGE_API_KEY`` is set, else Yahoo Finance through ``yfinance`` (dividend-adjusted
closes; Yahoo has no free CSV endpoint). Each adapter turns the provider's answer into the bytes
of a CSV that :func:`rotation_utils.sources.prices.parse_prices` reads, so a download is cached,
validated and revalidated like any other raw file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from urllib.parse import quote

import pandas as pd

from ..errors import DataError, mask_secret
from ._download import READ_TIMEOUT_S, DownloadError, Response, http_get
from ._fetch import Downloader, DownloadMeta, RawFile, refuse_error_page, source_url
from ._limits import max_bytes

__all__ = [
    "PriceProvider",
    "ONLINE_PROVIDERS",
    "online_provider",
    "yfinance_frame_to_csv",
    "ALPHAVANTAGE_URL",
    "YFINANCE_SYMBOLS",
]

#: Alpha Vantage daily series, full history, as CSV; the key is added from ALPHAVANTAGE_API_KEY.
ALPHAVANTAGE_URL = (
    "https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol={ticker}"
    "&outputsize=full&datatype=csv"
)
#: Project ticker -> Yahoo symbol where they differ.
YFINANCE_SYMBOLS = {"VIX": "^VIX"}


@dataclass(frozen=True)
class PriceProvider:
    """An online source of daily prices.

    Attributes
    ----------
    name : str
        Short name, also the folder of its downloads under ``downloads/prices/``.
    publisher : str
        How figures cite it.
    url : str
        Citation or download URL template with ``{ticker}``.
    download : callable
        ``download(raw, cached_meta) -> Response`` with the CSV bytes.
    """

    name: str
    publisher: str
    url: str
    download: Downloader

    def raw_file(self, ticker: str) -> RawFile:
        return RawFile(
            "prices", f"{self.name}/{ticker}.csv", self.url_for(ticker), download=self.download
        )

    def url_for(self, ticker: str) -> str:
        if self.name == "alphavantage":
            return source_url("ROTATION_URL_ALPHAVANTAGE", self.url, ticker=ticker)
        return self.url.format(ticker=YFINANCE_SYMBOLS.get(ticker, ticker))


def _ticker_of(raw: RawFile) -> str:
    return raw.path.rsplit("/", 1)[-1].removesuffix(".csv")


# --- yfinance ------------------------------------------------------------------------------


def yfinance_frame_to_csv(frame: pd.DataFrame, symbol: str) -> bytes:
    """The CSV bytes (``Date,Close,High,Low,Open,Volume``) of one ticker in the frame
    ``yf.download(..., auto_adjust=True)`` returns in yfinance 1.x: a ``DatetimeIndex`` named
    ``Date`` and MultiIndex columns named ``(Price, Ticker)``.

    Raises
    ------
    DataError
        Another shape, no ``Close`` for ``symbol``, or no row with a close (yfinance reports a
        failed ticker by logging it and returning an empty or all-NaN frame).
    """
    cols = frame.columns
    if isinstance(cols, pd.MultiIndex):
        if list(cols.names) != ["Price", "Ticker"]:
            raise DataError(
                f"yfinance frame has columns named {list(cols.names)}, not Price/Ticker"
            )
        if symbol not in cols.get_level_values("Ticker"):
            raise DataError(f"yfinance returned no prices for {symbol}")
        frame = frame.xs(symbol, axis=1, level="Ticker")
    if "Close" not in frame.columns:
        raise DataError(f"yfinance frame for {symbol} has no 'Close' column")
    frame = frame[[c for c in ("Close", "High", "Low", "Open", "Volume") if c in frame.columns]]
    frame = frame[frame["Close"].notna()]
    if frame.empty:
        raise DataError(f"yfinance returned no prices for {symbol}")
    out = frame.copy()
    out.index = pd.DatetimeIndex(out.index).tz_localize(None).strftime("%Y-%m-%d")
    out.index.name = "Date"
    out.columns.name = None
    return out.to_csv(lineterminator="\n").encode()


def _yfinance_download(raw: RawFile, meta: DownloadMeta | None) -> Response:
    ticker = _ticker_of(raw)
    symbol = YFINANCE_SYMBOLS.get(ticker, ticker)
    import yfinance as yf

    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if proxy:
        yf.config.network.proxy = proxy
    quiet = logging.getLogger("yfinance")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # yfinance logs a failed ticker; our message names it once
    try:
        frame = yf.download(
            symbol,
            period="max",
            interval="1d",
            auto_adjust=True,
            actions=False,
            progress=False,
            threads=False,
            multi_level_index=True,
            timeout=READ_TIMEOUT_S,
        )
    except Exception as e:  # yfinance raises many kinds; the reason is what matters
        raise DownloadError(raw.url, f"yfinance: {type(e).__name__}: {e}") from None
    finally:
        quiet.setLevel(level)
    if frame is None:
        raise DownloadError(raw.url, f"yfinance returned nothing for {symbol}")
    try:
        body = yfinance_frame_to_csv(frame, symbol)
    except DataError as e:
        raise DownloadError(raw.url, str(e)) from None
    return Response(raw.url, 200, body, "", "")


# --- Alpha Vantage -------------------------------------------------------------------------


def _alphavantage_download(raw: RawFile, meta: DownloadMeta | None) -> Response:
    key = os.environ.get("ALPHAVANTAGE_API_KEY", "").strip()
    if not key:
        raise DownloadError(raw.url, "ALPHAVANTAGE_API_KEY is not set")
    sep = "&" if "?" in raw.url else "?"
    same = meta is not None and meta.url == raw.url
    try:
        r = http_get(
            f"{raw.url}{sep}apikey={quote(key)}",
            etag=meta.etag if same else "",
            last_modified=meta.last_modified if same else "",
            label=raw.path,
            max_bytes=max_bytes(raw.source),
        )
    except DownloadError as e:  # never show the key
        raise DownloadError(raw.url, mask_secret(e.reason, key), e.status) from None
    # Alpha Vantage answers errors and rate limits as JSON with HTTP 200: never cache those.
    try:
        refuse_error_page(r.body)
    except DataError as e:
        raise DownloadError(raw.url, mask_secret(f"Alpha Vantage: {e}", key)) from None
    return replace(r, url=raw.url)


#: Online providers by name.
ONLINE_PROVIDERS: dict[str, PriceProvider] = {
    p.name: p
    for p in (
        PriceProvider(
            "yfinance",
            "Yahoo Finance via yfinance (adjusted close)",
            "https://finance.yahoo.com/quote/{ticker}/history",
            _yfinance_download,
        ),
        PriceProvider(
            "alphavantage",
            "Alpha Vantage TIME_SERIES_DAILY (unadjusted close)",
            ALPHAVANTAGE_URL,
            _alphavantage_download,
        ),
    )
}


def online_provider() -> PriceProvider:
    """Alpha Vantage when ``ALPHAVANTAGE_API_KEY`` is set, else yfinance."""
    if os.environ.get("ALPHAVANTAGE_API_KEY", "").strip():
        return ONLINE_PROVIDERS["alphavantage"]
    return ONLINE_PROVIDERS["yfinance"]
