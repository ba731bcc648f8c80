"""The raw datasets the project knows, by name: ``french/<stem>``, ``shiller/ie_data``,
``shiller/datahub_sp500_data``, ``spdji/sp-500-eps-est``, ``fred/<SERIES>``, ``prices/<TICKER>``.

Each name resolves to a loader returning ``{table title: DataFrame}`` with provenance.
"""

from __future__ import annotations

import pandas as pd

from .errors import ParameterError
from .sources._fetch import RawFile
from .sources.prices import REPORT_TICKERS

__all__ = [
    "DATASETS",
    "PRICE_TICKERS",
    "REPORT_DATASETS",
    "load_dataset",
    "select_table",
    "raw_files",
    "parser_for",
]

#: Tickers with mirrored prices (sector SPDRs, size and style ETFs, ^VIX as "VIX"), listed as
#: datasets. Not a limit: ``prices/<TICKER>`` and the claims metrics read any ticker matching
#: :data:`~rotation_utils.sources.prices.TICKER_PATTERN`, online on first use.
PRICE_TICKERS = (*REPORT_TICKERS, "DIA", "SMH", "XBI", "EEM", "EFA", "GLD", "TLT", "VNQ", "VIX")


def _names() -> list[str]:
    from .sources.fred import FRED_SERIES
    from .sources.french import FILES

    return (
        [f"french/{f}" for f in FILES]
        + ["shiller/ie_data", "shiller/datahub_sp500_data", "spdji/sp-500-eps-est"]
        + [f"fred/{s}" for s in FRED_SERIES]
        + [f"prices/{t}" for t in PRICE_TICKERS]
    )


DATASETS: tuple[str, ...] = tuple(_names())
#: The raw datasets the derived tables in data/ (and so the report) are built from.
REPORT_DATASETS: tuple[str, ...] = (
    "spdji/sp-500-eps-est",
    "french/25_Portfolios_5x5",
    "french/F-F_Research_Data_Factors",
    "fred/DFF",
    "fred/DGS10",
    "fred/CPILFESL",
    "fred/T10Y2Y",
    *(f"prices/{t}" for t in REPORT_TICKERS),
    "shiller/ie_data",
)


def load_dataset(name: str) -> dict[str, pd.DataFrame]:
    """Load a raw dataset by name (cache -> mirror -> URL) as ``{table title: DataFrame}``."""
    source, _, item = name.partition("/")
    if not item:
        raise ParameterError("dataset", f"{name!r} is not SOURCE/NAME (see `rotation data list`)")
    if source == "french":
        from .sources.french import read_french

        return read_french(item)
    if source == "shiller" and item in ("ie_data", "datahub_sp500_data"):
        from .sources.shiller import read_shiller

        return {"Data": read_shiller(item)}
    if source == "spdji" and item == "sp-500-eps-est":
        from .sources.spdji import read_spdji

        return read_spdji()
    if source == "fred":
        from .sources.fred import read_fred

        s = read_fred(item)
        df = s.to_frame()
        df.attrs = dict(s.attrs)
        return {item: df}
    if source == "prices":
        from .sources.prices import read_prices

        return {item: read_prices(item)}
    raise ParameterError("dataset", f"unknown dataset {name!r} (see `rotation data list`)")


def select_table(
    tables: dict[str, pd.DataFrame], text: str | None, dataset: str
) -> tuple[str, pd.DataFrame]:
    """The first table whose title contains ``text`` (case-insensitive); the first table if None."""
    if text is None:
        return next(iter(tables.items()))
    for title, df in tables.items():
        if text.lower() in title.lower():
            return title, df
    raise ParameterError(
        "table", f"no table of {dataset} matches {text!r}; tables: {', '.join(tables)}"
    )


def raw_files(name: str) -> list[RawFile]:
    """The raw files a dataset reads (a price series: one per provider that may carry it)."""
    source, _, item = name.partition("/")
    if source == "french":
        from .sources.french import french_raw_file

        return [french_raw_file(item)]
    if source == "shiller":
        from .sources.shiller import shiller_raw_file

        return [shiller_raw_file(item)]
    if source == "spdji":
        from .sources.spdji import spdji_raw_file

        return [spdji_raw_file()]
    if source == "fred":
        from .sources.fred import fred_raw_file

        return [fred_raw_file(item)]
    from .sources.prices import provider_raw_files

    return provider_raw_files(item)


def parser_for(raw: RawFile):
    """The parse function of a raw file, by source (and file type for Shiller)."""
    if raw.source == "french":
        from .sources.french import parse_french

        return parse_french
    if raw.source == "shiller":
        from .sources.shiller import parse_datahub, parse_ie_data

        return parse_ie_data if raw.path.endswith(".xls") else parse_datahub
    if raw.source == "spglobal":
        from .sources.spdji import parse_spdji

        return parse_spdji
    if raw.source == "fred":
        from .sources.fred import parse_fred

        return parse_fred
    from .sources.prices import parse_prices

    return parse_prices
