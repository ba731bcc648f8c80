"""Kenneth R. French Data Library: the multi-table CSV files.

Format (see ``shared/data/MANIFEST.md``): a free-text preamble whose first line names the CRSP
vintage, then tables. Each table is a block of title lines (zero to five of them), a header line
that starts with a comma, then rows ``YYYYMM,`` (monthly) or ``YYYY,`` (annual). Missing values
are ``-99.99`` or ``-999``. Unlike pandas-datareader, which splits on blank lines and guesses
headers, this parser walks that structure line by line, so titles of any length, tables without a
title and trailing commas all parse.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from ..errors import DataError
from ..paths import excerpt
from ..provenance import Provenance
from ._fetch import RawFile, load_tables, source_url
from ._text import decode_text

__all__ = [
    "FILES",
    "URL",
    "parse_french",
    "read_french",
    "french_raw_file",
    "MISSING",
    "PARSER_VERSION",
]

#: Part of the parse-cache key: bump when :func:`parse_french` returns something different.
PARSER_VERSION = "1"
#: Official URL template; ``ROTATION_URL_FRENCH`` (with ``{name}``) points elsewhere.
URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/{name}_CSV.zip"
PUBLISHER = "Kenneth R. French Data Library"

#: The files this project reads (stems as in the library's download names).
FILES = (
    "F-F_Research_Data_Factors",
    "25_Portfolios_5x5",
    "Portfolios_Formed_on_ME",
    "Portfolios_Formed_on_BE-ME",
    "Portfolios_Formed_on_E-P",
    "12_Industry_Portfolios",
)
#: Sentinels the library uses for missing data.
MISSING = (-99.99, -999.0)

_ROW = re.compile(r"^\s*(\d{6}|\d{4})\s*,")
_VINTAGE = re.compile(r"(\d{6})\s+CRSP", re.I)


def parse_french(data: bytes, file: str = "<french>") -> dict[str, pd.DataFrame]:
    """Parse a French data-library CSV into ``{table title: DataFrame}``.

    Parameters
    ----------
    data : bytes
        The raw CSV (CRLF or LF line ends, ASCII or latin-1).
    file : str
        Name used in error messages.

    Returns
    -------
    dict of str to DataFrame
        Titles with whitespace collapsed (multi-line titles joined with " / "); a table with no
        title is named "Monthly" or "Annual" from its rows. Monthly tables have a monthly
        ``PeriodIndex``, annual tables a yearly one, both named ``period``. Values are as
        published (returns in percent per month or year, sizes in $ millions, counts),
        with ``-99.99`` / ``-999`` as NaN. ``attrs['vintage']`` is e.g. ``"CRSP 202408"``.

    Raises
    ------
    DataError
        No table, a row with the wrong number of cells, a non-numeric cell, a duplicated or
        unsorted period; the message names the file and line.
    """
    lines = decode_text(data, file)
    m = _VINTAGE.search(lines[0]) if lines else None
    vintage = f"CRSP {m.group(1)}" if m else ""
    tables: dict[str, pd.DataFrame] = {}
    title_block: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if line.startswith(","):
            header = [c.strip() for c in line.split(",")[1:]]
            while header and header[-1] == "":
                header.pop()
            start = i + 1
            j = start
            while j < n and _ROW.match(lines[j]):
                j += 1
            if j == start:
                raise DataError("header line is not followed by data rows", file=file, row=i + 1)
            df = _table(lines[start:j], header, file, start + 1)
            title = _title(title_block, df)
            base, k = title, 2
            while title in tables:
                title, k = f"{base} ({k})", k + 1
            df.attrs["vintage"] = vintage
            tables[title] = df
            title_block = []
            i = j
            continue
        stripped = line.strip()
        if not stripped or _ROW.match(line):
            if _ROW.match(line):
                raise DataError(
                    "data row outside a table (no header line above)", file=file, row=i + 1
                )
            title_block = []
        else:
            title_block.append(stripped)
        i += 1
    if not tables:
        raise DataError("no table found (expected a header line starting with ',')", file=file)
    return tables


def _title(block: list[str], df: pd.DataFrame) -> str:
    if not block:
        return "Monthly" if df.index.freqstr.startswith("M") else "Annual"
    return " / ".join(re.sub(r"\s+", " ", b).strip() for b in block)


def _table_checked(
    rows: list[str], header: list[str], file: str, first_row: int
) -> tuple[list[str], np.ndarray]:
    """Cell-by-cell parse that names the line and column of the first bad cell."""
    ncol = len(header)
    keys: list[str] = []
    values = np.empty((len(rows), ncol), dtype=float)
    for r, line in enumerate(rows):
        cells = line.split(",")
        while len(cells) > ncol + 1 and cells[-1].strip() == "":
            cells.pop()
        if len(cells) != ncol + 1:
            raise DataError(
                f"{len(cells) - 1} values for {ncol} columns", file=file, row=first_row + r
            )
        keys.append(cells[0].strip())
        for c, cell in zip(header, cells[1:], strict=True):
            try:
                values[r, header.index(c)] = float(cell)
            except ValueError:
                raise DataError(
                    f"column {c!r}: {excerpt(cell.strip())} is not a number",
                    file=file,
                    row=first_row + r,
                ) from None
    return keys, values


def _table(rows: list[str], header: list[str], file: str, first_row: int) -> pd.DataFrame:
    ncol = len(header)
    try:
        # Fast path: every row has at least ncol commas and only empty cells past them; pandas'
        # C parser reads the numbers. Anything irregular falls to the checked path, which names it.
        commas = [r.count(",") for r in rows]
        if min(commas) < ncol or (
            max(commas) > ncol and any(r.rstrip(" ,").count(",") != ncol for r in rows)
        ):
            raise ValueError
        values = pd.read_csv(
            io.StringIO("\n".join(rows)),
            header=None,
            usecols=range(1, ncol + 1),
            dtype=np.float64,
            na_filter=False,
            engine="c",
        ).to_numpy(copy=True)
        keys = [r[: r.index(",")].strip() for r in rows]
    except (ValueError, TypeError):
        keys, values = _table_checked(rows, header, file, first_row)
    width = len(keys[0])
    if any(len(k) != width for k in keys):
        bad = next(r for r, k in enumerate(keys) if len(k) != width)
        raise DataError(
            "mixes monthly (YYYYMM) and annual (YYYY) rows", file=file, row=first_row + bad
        )
    nums = np.array(keys, dtype=np.int64)
    if width == 6:
        years, months = nums // 100, nums % 100
        if ((months < 1) | (months > 12)).any():
            bad = int(np.argmax((months < 1) | (months > 12)))
            raise DataError(
                f"{excerpt(keys[bad])} is not a YYYYMM month", file=file, row=first_row + bad
            )
        index = pd.PeriodIndex.from_ordinals((years - 1970) * 12 + months - 1, freq="M")
    else:
        index = pd.PeriodIndex.from_ordinals(nums - 1970, freq="Y")
    index.name = "period"
    ordinals = index.asi8
    if len(ordinals) > 1:
        steps = np.diff(ordinals)
        if (steps <= 0).any():
            bad = int(np.argmax(steps <= 0)) + 1
            what = "duplicated" if steps[bad - 1] == 0 else "out of order"
            raise DataError(f"period {keys[bad]} is {what}", file=file, row=first_row + bad)
    for sentinel in MISSING:
        values[np.isclose(values, sentinel)] = np.nan
    return pd.DataFrame(values, index=index, columns=header)


def french_raw_file(name: str) -> RawFile:
    """The :class:`RawFile` of a library file stem (e.g. ``"25_Portfolios_5x5"``)."""
    url = source_url("ROTATION_URL_FRENCH", URL, name=name)
    return RawFile("french", f"{name}.CSV", url, zipped=True)


def read_french(name: str) -> dict[str, pd.DataFrame]:
    """Load every table of a French library file (cache -> mirror -> URL) with provenance.

    Parameters
    ----------
    name : str
        File stem, one of :data:`FILES` (others are fetched by the same URL pattern).
    """
    raw = french_raw_file(name)
    base = Provenance(PUBLISHER, name, raw.url, vintage="")
    return load_tables(raw, parse_french, base)
