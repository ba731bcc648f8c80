"""Robert J. Shiller's "Irrational Exuberance" monthly S&P Composite data.

Two files: the official ``ie_data.xls`` (sheet ``Data``, seven header rows, dates as ``YYYY.MM``
floats where ``2025.1`` means October, a trailing note row) and the datahub.io CSV derived from
it, whose recent rows carry ``0.0`` for values not yet published.
"""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pandas as pd

from ..errors import DataError
from ..paths import excerpt
from ..provenance import Provenance
from ._fetch import RawFile, load_tables, mirror_dir, source_url
from ._text import decode_text, numeric_column

__all__ = [
    "parse_ie_data",
    "parse_datahub",
    "read_shiller",
    "shiller_raw_file",
    "SHILLER_NAMES",
    "PARSER_VERSION",
]

#: Part of the parse-cache key: bump when a parser here returns something different.
PARSER_VERSION = "1"
PUBLISHER = "Robert J. Shiller, Irrational Exuberance data"
#: Dataset name -> file name in the mirror's ``shiller/`` folder.
SHILLER_NAMES = {"ie_data": "ie_data.xls", "datahub_sp500_data": "datahub_sp500_data.csv"}
#: The datahub.io CSV, rebuilt monthly from ``ie_data.xls`` and maintained in 2026. The xls itself
#: moved from econ.yale.edu (stopped in 2023) to shillerdata.com, which has no stable file URL:
#: online it is read only from ``ROTATION_URL_SHILLER``.
DATAHUB_URL = "https://raw.githubusercontent.com/datasets/s-and-p-500/main/data/data.csv"


def shiller_raw_file(name: str = "ie_data") -> RawFile:
    """The file behind ``shiller/<name>``.

    ``ie_data`` is the xls from the mirror, or from ``ROTATION_URL_SHILLER`` online; online
    without that variable it is served by the datahub CSV (same columns, ``0.0`` = missing).
    ``datahub_sp500_data`` downloads from ``ROTATION_URL_SHILLER_DATAHUB`` or GitHub.
    """
    if name not in SHILLER_NAMES:
        from ..errors import ParameterError

        raise ParameterError("dataset", f"unknown Shiller file {name!r}")
    xls_url = os.environ.get("ROTATION_URL_SHILLER", "").strip()
    if name == "ie_data" and (mirror_dir() is not None or xls_url):
        return RawFile("shiller", "ie_data.xls", xls_url or "https://shillerdata.com/")
    url = source_url("ROTATION_URL_SHILLER_DATAHUB", DATAHUB_URL)
    return RawFile("shiller", "datahub_sp500_data.csv", url)


# Header text (rows above "Date", joined) -> tidy name. Order matters: first match wins.
_IE_COLUMNS = [
    (r"date fraction", "date_fraction"),
    (r"^date$", "date"),
    (r"comp\. p$", "price"),
    (r"^dividend d$", "dividend"),
    (r"^earnings e$", "earnings"),
    (r"cpi$", "cpi"),
    (r"gs10$", "long_rate"),
    (r"total return price$", "real_tr_price"),
    (r"real price$", "real_price"),
    (r"real dividend$", "real_dividend"),
    (r"scaled earnings$", "real_tr_scaled_earnings"),
    (r"real earnings$", "real_earnings"),
    (r"tr cape$", "tr_cape"),
    (r"(p/e10 or )?cape$", "cape"),
    (r"excess cape yield$", "excess_cape_yield"),
    (r"monthly total bond returns$", "bond_return"),
    (r"real total bond returns$", "real_bond_return"),
    (r"stock real return$", "stock_real_return_10y"),
    (r"bonds real return$", "bond_real_return_10y"),
    (r"excess annualized returns$", "excess_return_10y"),
]


def _tidy_name(label: str) -> str:
    low = re.sub(r"\s+", " ", label).strip().lower()
    for pattern, name in _IE_COLUMNS:
        if re.search(pattern, low):
            return name
    return re.sub(r"[^a-z0-9]+", "_", low).strip("_")


def _decimal_month(x: float) -> tuple[int, int]:
    """``2025.1`` -> (2025, 10); ``1871.01`` -> (1871, 1): the fraction is the month / 100."""
    year = int(np.floor(x))
    return year, int(round((x - year) * 100))


def parse_ie_data(data: bytes, file: str = "ie_data.xls") -> dict[str, pd.DataFrame]:
    """Parse ``ie_data.xls`` into ``{"Data": DataFrame}`` indexed by monthly period.

    Columns are snake_case: ``price`` (S&P Composite, index points, monthly average of daily
    closes), ``dividend`` and ``earnings`` (index points, trailing 12 months), ``cpi``,
    ``long_rate`` (10-year Treasury, percent per year), ``cape`` (x) and the rest of the sheet.
    Rows past the last data row (the note row) are dropped; ``attrs['vintage']`` is the last month
    with a price, e.g. ``"through 2026-01"``.

    Raises
    ------
    DataError
        Sheet ``Data`` or the ``Date`` header missing, a date that is not ``YYYY.MM``, or a data
        row after the note row.
    """
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="calamine")
    except Exception as e:
        raise DataError(f"not a readable Excel file ({e})", file=file) from None
    if "Data" not in book.sheet_names:
        raise DataError(f"no sheet 'Data' (sheets: {', '.join(book.sheet_names)})", file=file)
    raw = pd.read_excel(book, sheet_name="Data", header=None)
    col0 = raw.iloc[:, 0]
    hdr = [i for i, v in enumerate(col0) if isinstance(v, str) and v.strip().lower() == "date"]
    if not hdr:
        raise DataError("sheet 'Data': no header cell 'Date' in column A", file=file)
    h = hdr[0]
    labels = []
    for c in range(raw.shape[1]):
        parts = [str(v).strip() for v in raw.iloc[max(0, h - 3) : h + 1, c] if pd.notna(v)]
        labels.append(" ".join(parts))
    labels[0] = "Date"  # the column the header was found in, whatever text sits above it
    body = raw.iloc[h + 1 :]
    is_date = pd.to_numeric(body.iloc[:, 0], errors="coerce").notna().to_numpy()
    if not is_date.any():
        raise DataError("sheet 'Data': no data rows under the header", file=file, row=h + 2)
    last = int(np.nonzero(is_date)[0].max())
    gaps = np.nonzero(~is_date[: last + 1])[0]
    if len(gaps):
        row = h + 2 + int(gaps[0])
        raise DataError(
            f"sheet 'Data': non-date row {excerpt(body.iloc[gaps[0], 0])} inside the data (note row moved?)",
            file=file,
            row=row,
        )
    body = body.iloc[: last + 1]
    keep = [c for c in range(raw.shape[1]) if labels[c]]
    df = body.iloc[:, keep].apply(pd.to_numeric, errors="coerce")
    df.columns = [_tidy_name(labels[c]) for c in keep]
    df = df.loc[:, ~df.columns.duplicated()]
    ym = [_decimal_month(float(x)) for x in df.pop("date")]
    bad = [i for i, (_, m) in enumerate(ym) if not 1 <= m <= 12]
    if bad:
        raise DataError(
            f"date {excerpt(body.iloc[bad[0], 0])} is not YYYY.MM", file=file, row=h + 2 + bad[0]
        )
    df.index = pd.PeriodIndex.from_ordinals([(y - 1970) * 12 + m - 1 for y, m in ym], freq="M")
    df.index.name = "period"
    _check_sorted(df.index, file, h + 2)
    df = df.astype(float)
    last_price = df["price"].last_valid_index()
    df.attrs["vintage"] = f"through {last_price}"
    return {"Data": df}


_DATAHUB_COLUMNS = {
    "SP500": "price",
    "Dividend": "dividend",
    "Earnings": "earnings",
    "Consumer Price Index": "cpi",
    "Long Interest Rate": "long_rate",
    "Real Price": "real_price",
    "Real Dividend": "real_dividend",
    "Real Earnings": "real_earnings",
    "PE10": "cape",
}


def parse_datahub(data: bytes, file: str = "datahub_sp500_data.csv") -> dict[str, pd.DataFrame]:
    """Parse the datahub.io S&P 500 CSV; ``0.0`` means "not published" and becomes NaN.

    Same tidy column names as :func:`parse_ie_data`. No price, dividend, CPI or rate in this
    series is ever truly zero, so the substitution loses nothing.
    """
    lines = decode_text(data, file)
    header = [h.strip() for h in lines[0].split(",")]
    if not header or header[0] != "Date":
        raise DataError(
            f"expected a 'Date' first column, found {excerpt(header[0])}", file=file, row=1
        )
    df = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str)
    dates = pd.to_datetime(df.pop("Date"), format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise DataError("date is not YYYY-MM-DD", file=file, row=i + 2)
    out = pd.DataFrame(index=pd.PeriodIndex(dates, freq="M", name="period"))
    for col in df.columns:
        vals = numeric_column(df[col], file=file, column=col, first_row=2)
        out[_DATAHUB_COLUMNS.get(col, _tidy_name(col))] = np.where(vals == 0.0, np.nan, vals)
    _check_sorted(out.index, file, 2)
    out.attrs["vintage"] = f"through {out['price'].last_valid_index()}"
    return {"Data": out}


def _check_sorted(index: pd.PeriodIndex, file: str, first_row: int) -> None:
    steps = np.diff(index.asi8)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0)) + 1
        what = "duplicated" if steps[i - 1] == 0 else "out of order"
        raise DataError(f"period {index[i]} is {what}", file=file, row=first_row + i)


def read_shiller(name: str = "ie_data") -> pd.DataFrame:
    """Load ``ie_data`` (default) or ``datahub_sp500_data`` with provenance.

    Online without ``ROTATION_URL_SHILLER``, ``ie_data`` comes from the datahub CSV and its
    provenance title says so.
    """
    raw = shiller_raw_file(name)
    parse = parse_ie_data if raw.path.endswith(".xls") else parse_datahub
    base = Provenance(PUBLISHER, raw.path, raw.url, vintage="")
    return load_tables(raw, parse, base)["Data"]
