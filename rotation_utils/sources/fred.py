"""FRED (Federal Reserve Bank of St. Louis) CSV downloads, any series id."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import DataError
from ..paths import excerpt
from ..provenance import Provenance
from ._fetch import RawFile, load_tables, source_url
from ._text import decode_text, parse_number

__all__ = [
    "parse_fred",
    "read_fred",
    "fred_raw_file",
    "fred_unit",
    "FRED_SERIES",
    "FRED_UNITS",
    "SERIES_ID",
    "PARSER_VERSION",
]

#: Official URL template; ``ROTATION_URL_FRED`` (with ``{series}``) points elsewhere.
URL = "https://fred.stlouisfed.org/graph/fredgraph.csv?id={series}"
#: Part of the parse-cache key: bump when :func:`parse_fred` returns something different.
PARSER_VERSION = "1"
PUBLISHER = "Federal Reserve Bank of St. Louis, FRED"
#: Series mirrored in shared/data/fred and what they measure.
FRED_SERIES = {
    "DGS10": "10-year Treasury constant-maturity yield, percent",
    "DFF": "Effective federal funds rate, percent",
    "CPILFESL": "CPI less food and energy (core), index 1982-84=100",
    "CPIAUCSL": "CPI all items, index 1982-84=100",
    "T10Y2Y": "10-year minus 2-year Treasury yield, percentage points",
}
#: Units (:data:`rotation_utils.units.UNITS`) of the series whose unit is known: the mirrored
#: ones and a few other common ones; any other series is read as a level ("index").
FRED_UNITS = {
    "DFF": "percent",
    "DGS10": "percent",
    "T10Y2Y": "pp",
    "CPILFESL": "index",
    "CPIAUCSL": "index",
    "DGS2": "percent",
    "DGS3MO": "percent",
    "FEDFUNDS": "percent",
    "UNRATE": "percent",
    "T10Y3M": "pp",
    "BAMLH0A0HYM2": "pp",
    "VIXCLS": "index",
}
#: What a FRED series id looks like (FRED's own ids are upper-case letters, digits and "_").
SERIES_ID = re.compile(r"^[A-Z0-9_]{1,30}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fred_unit(series: str) -> str:
    """The unit of a FRED series: :data:`FRED_UNITS`, else ``"index"`` (a level).

    Examples
    --------
    >>> fred_unit("DGS10"), fred_unit("T10Y2Y"), fred_unit("PAYEMS")
    ('percent', 'pp', 'index')
    """
    return FRED_UNITS.get(series, "index")


def parse_fred(data: bytes, file: str = "<fred>") -> dict[str, pd.DataFrame]:
    """Parse a FRED CSV (header ``observation_date,<ID>`` or the older ``DATE,<ID>``).

    Returns ``{series_id: DataFrame}`` with one column named for the series. The index is a
    monthly ``PeriodIndex`` when every date is the first of a distinct month, else a daily
    ``DatetimeIndex`` named ``date``. ``.`` and empty cells are missing; any other text raises a
    :class:`DataError` naming the file and row.
    """
    lines = [ln for ln in decode_text(data, file) if ln.strip()]
    head = [h.strip() for h in lines[0].split(",")]
    if len(head) != 2 or head[0].lower() not in ("observation_date", "date"):
        raise DataError(
            f"header {excerpt(lines[0])} is not 'observation_date,<SERIES>' or 'DATE,<SERIES>'",
            file=file,
            row=1,
        )
    series = head[1]
    dates, values = [], np.empty(len(lines) - 1)
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        if len(cells) != 2 or not _DATE.match(cells[0].strip()):
            raise DataError(
                f"expected 'YYYY-MM-DD,value', found {excerpt(line)}", file=file, row=i + 2
            )
        dates.append(cells[0].strip())
        values[i] = parse_number(cells[1], file=file, row=i + 2, column=series, missing=(".", ""))
    idx = pd.DatetimeIndex(pd.to_datetime(dates, format="%Y-%m-%d"), name="date")
    steps = (idx[1:] - idx[:-1]).days.to_numpy()
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0)) + 1
        what = "duplicated" if steps[i - 1] == 0 else "out of order"
        raise DataError(f"date {dates[i]} is {what}", file=file, row=i + 2)
    df = pd.DataFrame({series: values}, index=idx)
    if (idx.day == 1).all() and (len(idx) == 1 or steps.min() >= 28):
        df.index = idx.to_period("M").rename("period")
    last = df[series].last_valid_index()
    df.attrs["vintage"] = f"through {str(last)[:10]}"
    return {series: df}


def fred_raw_file(series: str) -> RawFile:
    return RawFile("fred", f"{series}.csv", source_url("ROTATION_URL_FRED", URL, series=series))


def read_fred(series: str) -> pd.Series:
    """Load one FRED series (cache -> mirror -> URL) as a Series with provenance in ``attrs``."""
    if not SERIES_ID.match(series):
        from ..errors import ParameterError

        raise ParameterError("series", f"{series!r} is not a FRED series id")
    raw = fred_raw_file(series)
    base = Provenance(
        PUBLISHER, f"{series}: {FRED_SERIES.get(series, series)}", raw.url, vintage=""
    )
    tables = load_tables(raw, parse_fred, base)
    df = next(iter(tables.values()))
    s = df.iloc[:, 0]
    s.attrs = dict(df.attrs)
    return s
