"""S&P Dow Jones Indices, "S&P 500 Earnings and Estimate Report" (``sp-500-eps-est.xlsx``).

The workbook is laid out by hand, so every table is found by its labels, never by fixed cell
addresses: a moved row or an inserted column still parses, and a missing label is an error that
names it.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd

from ..errors import DataError
from ..paths import excerpt
from ..provenance import Provenance
from ._fetch import RawFile, load_tables, source_url

__all__ = [
    "parse_spdji",
    "read_spdji",
    "spdji_raw_file",
    "TABLES",
    "PARSER_VERSION",
    "DISCONTINUED",
]

#: Part of the parse-cache key: bump when :func:`parse_spdji` returns something different.
PARSER_VERSION = "2"  # 2: annual_eps carries price and price_date
PUBLISHER = "S&P Dow Jones Indices"
URL = "https://www.spglobal.com/spdji/en/documents/additional-material/sp-500-eps-est.xlsx"
#: The publisher stopped the public workbook after this edition (the sheet itself says so).
DISCONTINUED = "after 2026-01-30"


def spdji_raw_file() -> RawFile:
    """The workbook: the last edition is kept once downloaded and never revalidated."""
    url = source_url("ROTATION_URL_SPDJI", URL)
    return RawFile("spglobal", "sp-500-eps-est.xlsx", url, discontinued=DISCONTINUED)


#: Table titles returned by :func:`parse_spdji`.
TABLES = (
    "index_pe",
    "quarterly_eps",
    "estimate_revisions",
    "annual_eps",
    "quarterly_eps_by_sector",
)
_MAIN, _SECTOR = "ESTIMATES&PEs", "SECTOR EPS"
_INDEX_NAMES = {"S&P 500": "S&P 500", "MIDCAP": "S&P 400", "SMALLCAP": "S&P 600"}


def _norm(v: object) -> str:
    return re.sub(r"\s+", " ", str(v)).strip().upper() if isinstance(v, str) else ""


def _find(sheet: pd.DataFrame, pattern: str, name: str, file: str, *, col: int | None = None):
    """(row, col) of every cell whose text matches ``pattern`` (regex, upper-cased text)."""
    rx = re.compile(pattern)
    hits = []
    cols = range(sheet.shape[1]) if col is None else [col]
    for c in cols:
        for r, v in enumerate(sheet.iloc[:, c].to_numpy()):
            if isinstance(v, str) and rx.search(_norm(v)):
                hits.append((r, c))
    if not hits:
        raise DataError(f"sheet {name!r}: label matching {pattern!r} not found", file=file)
    return sorted(hits)


def _num(v: object) -> float:
    if isinstance(v, int | float | np.number) and not isinstance(v, bool):
        return float(v)
    return np.nan


def _date(v: object) -> pd.Timestamp | None:
    if isinstance(v, dt.datetime | pd.Timestamp):
        return pd.Timestamp(v).normalize()
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    if isinstance(v, str):
        m = re.match(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})", v)
        if m:
            return pd.Timestamp(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    return None


def parse_spdji(data: bytes, file: str = "sp-500-eps-est.xlsx") -> dict[str, pd.DataFrame]:
    """Parse the S&P DJI earnings workbook into tidy tables.

    Returns
    -------
    dict of str to DataFrame
        ``index_pe``: per index (S&P 500, S&P 400, S&P 600) and sector, ``pe`` (current-year
        estimated operating P/E, x), ``eps_growth_5y`` (projected annual EPS growth, decimal),
        ``peg`` and ``estimate_year``.
        ``quarterly_eps``: S&P 500 by quarter end: ``price`` (index points), ``op_eps`` and
        ``ar_eps`` (operating / as-reported EPS, index points per quarter), ``op_pe``, ``ar_pe``
        (x, on trailing 12-month EPS), ``op_eps_12m``, ``ar_eps_12m`` and ``status``
        ("actual" / "estimate").
        ``estimate_revisions``: S&P 500 yearly estimates by observation date: ``eps_<YEAR>``,
        ``eps_<YEAR>q4``, ``price``, ``pe_<YEAR>``; the "Current" row is dated with the sheet's
        as-of date.
        ``annual_eps``: per index and sector, calendar-year operating (``basis='operating'``) and
        as-reported EPS and P/E, with ``status``, ``price`` (index level on which the sheet's
        estimated P/Es are computed) and ``price_date`` (its close, "Data as of the close of").
        ``quarterly_eps_by_sector``: the same by quarter.
        ``attrs['vintage']`` is ``"as of YYYY-MM-DD"``.

    Raises
    ------
    DataError
        A sheet or label the tables are found by is missing; the message names it.
    """
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="calamine")
    except Exception as e:
        raise DataError(f"not a readable Excel file ({e})", file=file) from None
    for s in (_MAIN, _SECTOR):
        if s not in book.sheet_names:
            raise DataError(f"no sheet {s!r} (sheets: {', '.join(book.sheet_names)})", file=file)
    main, sector = (pd.read_excel(book, sheet_name=s, header=None) for s in (_MAIN, _SECTOR))
    as_of = _as_of(main, file)
    tables = {
        "index_pe": _index_pe(main, file),
        "quarterly_eps": _quarterly(main, file),
        "estimate_revisions": _revisions(main, file, as_of),
    }
    tables.update(_sector_eps(sector, file))
    for df in tables.values():
        df.attrs["vintage"] = f"as of {as_of.date()}"
    return tables


def _as_of(main: pd.DataFrame, file: str) -> pd.Timestamp:
    for r, c in _find(main, r"^DATE$", _MAIN, file, col=0):
        for v in main.iloc[r, c + 1 :]:
            d = _date(v)
            if d is not None:
                return d
    raise DataError(f"sheet {_MAIN!r}: no date beside the 'Date' label", file=file)


def _index_pe(main: pd.DataFrame, file: str) -> pd.DataFrame:
    hits = _find(main, r"^PROJ ANNUAL$", _MAIN, file)
    rows = []
    for r, c in hits:
        index_label = _norm(main.iat[r - 1, c]).replace(" 5YR", "")
        index = _INDEX_NAMES.get(index_label)
        if index is None:
            raise DataError(
                f"sheet {_MAIN!r}: unknown index {excerpt(index_label)} above 'PROJ ANNUAL'",
                file=file,
                row=r,
            )
        pe_label = _norm(main.iat[r, c - 1])
        m = re.match(r"(\d{4}) EST", pe_label)
        if not m:
            raise DataError(
                f"sheet {_MAIN!r}: expected 'YYYY EST' left of 'PROJ ANNUAL', found {excerpt(pe_label)}",
                file=file,
                row=r + 1,
            )
        year = int(m.group(1))
        rr = r + 2
        while rr < len(main) and isinstance(main.iat[rr, 0], str) and main.iat[rr, 0].strip():
            name = main.iat[rr, 0].strip()
            rows.append(
                {
                    "index": index,
                    "sector": "All" if name in ("S&P 500", "S&P 400", "S&P 600") else name,
                    "pe": _num(main.iat[rr, c - 1]),
                    "eps_growth_5y": _num(main.iat[rr, c]) / 100.0,
                    "peg": _num(main.iat[rr, c + 1]),
                    "estimate_year": year,
                }
            )
            rr += 1
    if not rows:
        raise DataError(f"sheet {_MAIN!r}: index P/E table has no rows", file=file)
    df = pd.DataFrame(rows).set_index(["index", "sector"])
    return df


def _quarterly(main: pd.DataFrame, file: str) -> pd.DataFrame:
    (h, _), *_ = _find(main, r"^QUARTER$", _MAIN, file, col=0)
    labels = {}
    for c in range(1, main.shape[1]):
        labels[c] = " ".join(_norm(v) for v in main.iloc[h : h + 5, c] if _norm(v))
    (c12,) = [c for c, t in labels.items() if t.startswith("12 MONTH")][:1] or [None]
    if c12 is None:
        raise DataError(
            f"sheet {_MAIN!r}: no '12 MONTH' column beside 'QUARTER'", file=file, row=h + 1
        )
    cols = {}
    for c, t in labels.items():
        if not t:
            continue
        ttm = c >= c12
        if t.startswith("PRICE") or t == "PRICE":
            cols["price"] = c
        elif "P/E" in t:
            cols["op_pe" if t.startswith("OPERATING") else "ar_pe"] = c
        elif ttm and ("OPERATING" in t or c == c12):
            cols["op_eps_12m"] = c
        elif ttm and "AS REPORTED" in t:
            cols["ar_eps_12m"] = c
        elif "PER SHR" in t:
            cols["op_eps" if t.startswith("OPERATING") else "ar_eps"] = c
    need = {"price", "op_eps", "ar_eps", "op_pe", "ar_pe", "op_eps_12m", "ar_eps_12m"}
    if need - set(cols):
        raise DataError(
            f"sheet {_MAIN!r}: quarterly table lacks columns {sorted(need - set(cols))}",
            file=file,
            row=h + 1,
        )
    rows, status = [], None
    for r in range(h + 1, len(main)):
        label = main.iat[r, 0]
        text = _norm(label)
        if text in ("ESTIMATES", "ACTUALS"):
            status = "estimate" if text == "ESTIMATES" else "actual"
            continue
        d = _date(label)
        if d is None:
            if pd.isna(label) or not text:
                continue  # footnote cells beside the table (e.g. P/E on another price)
            if status is not None:
                break
            continue
        if status is None:
            continue
        rec = {"quarter_end": d, "status": status}
        rec.update({k: _num(main.iat[r, c]) for k, c in cols.items()})
        rows.append(rec)
    df = pd.DataFrame(rows).set_index("quarter_end").sort_index()
    return df[["status", "price", "op_eps", "ar_eps", "op_pe", "ar_pe", "op_eps_12m", "ar_eps_12m"]]


def _revisions(main: pd.DataFrame, file: str, as_of: pd.Timestamp) -> pd.DataFrame:
    (h, c0), *_ = _find(main, r"^OBSERVATION$", _MAIN, file, col=0)
    names = {}
    for c in range(c0 + 1, main.shape[1]):
        t = _norm(main.iat[h, c])
        if not t or t == "OBSERVATION":
            continue
        if m := re.fullmatch(r"(\d{4})E? P/E", t):
            names[c] = f"pe_{m.group(1)}"
        elif m := re.fullmatch(r"Q(\d) (\d{4})E", t):
            names[c] = f"eps_{m.group(2)}q{m.group(1)}"
        elif m := re.fullmatch(r"(\d{4})E", t):
            names[c] = f"eps_{m.group(1)}"
        elif t == "PRICE":
            names[c] = "price"
    rows = []
    for r in range(h + 1, len(main)):
        label = main.iat[r, c0]
        d = as_of if _norm(label) == "CURRENT" else _date(label)
        if d is None:
            break
        rows.append({"observed": d, **{n: _num(main.iat[r, c]) for c, n in names.items()}})
    if not rows:
        raise DataError(
            f"sheet {_MAIN!r}: estimate table under 'OBSERVATION' has no rows", file=file
        )
    return pd.DataFrame(rows).set_index("observed")


def _sector_eps(sector: pd.DataFrame, file: str) -> dict[str, pd.DataFrame]:
    starts = _find(sector, r"^INDEX NAME$", _SECTOR, file, col=0)
    est = _find(sector, r"^ESTIMATES:?$", _SECTOR, file, col=0)[0]
    first_estimate = _date(sector.iat[est[0], 1])
    # Estimated P/Es are on the price at "Data as of the close of:" (one date for every index).
    try:
        price_row = _find(sector, r"AS OF THE CLOSE", _SECTOR, file, col=0)[0][0]
        price_date = _date(sector.iat[price_row, 1])
    except DataError:  # an edition without the line: P/Es are kept, their price date is blank
        price_date = None
    annual, quarterly = [], []
    prices: dict[tuple, float] = {}
    blocks = []
    for r, _ in starts:
        basis = "operating"
        for back in range(r - 1, max(r - 3, -1), -1):
            if "AS REPORTED" in _norm(sector.iat[back, 0]):
                basis = "as_reported"
        blocks.append((r, basis))
    for r, basis in blocks:
        header = {c: _norm(sector.iat[r, c]) for c in range(1, sector.shape[1])}
        below = r + 1 < len(sector)
        price_col = next(
            (
                c
                for c in range(1, min(4, sector.shape[1]))
                if "PRICE" in (header[c], _norm(sector.iat[r + 1, c]) if below else "")
            ),
            None,
        )
        rr = r + 1
        while rr < len(sector):
            name = sector.iat[rr, 0]
            text = _norm(name)
            if not text:
                if rr + 1 < len(sector) and _norm(sector.iat[rr + 1, 0]).startswith("S&P"):
                    rr += 1
                    continue
                break
            if not text.startswith("S&P"):
                rr += 1
                continue
            index, sec = _split_index(str(name))
            price = _num(sector.iat[rr, price_col]) if price_col is not None else np.nan
            for c, t in header.items():
                v = _num(sector.iat[rr, c])
                if np.isnan(v):
                    continue
                if m := re.fullmatch(r"(\d{4})(E)? ?Q(\d)", t):
                    y, q = int(m.group(1)), int(m.group(3))
                    end = pd.Period(f"{y}Q{q}", freq="Q").end_time.normalize()
                    quarterly.append(
                        (index, sec, basis, f"{y}Q{q}", v, _status(end, first_estimate))
                    )
                elif m := re.fullmatch(r"(\d{4}) ?(EPS|P/E)", t):
                    y = int(m.group(1))
                    end = pd.Timestamp(y, 12, 31)
                    annual.append(
                        (index, sec, basis, y, m.group(2), v, _status(end, first_estimate))
                    )
                    prices[(index, sec, basis, y)] = price
            rr += 1
    a = pd.DataFrame(
        annual, columns=["index", "sector", "basis", "year", "kind", "value", "status"]
    )
    a = (
        a.pivot_table(
            index=["index", "sector", "basis", "year", "status"],
            columns="kind",
            values="value",
            aggfunc="first",
        )
        .rename(columns={"EPS": "eps", "P/E": "pe"})
        .reset_index("status")
    )
    a.columns.name = None
    a["price"] = [prices.get(k, np.nan) for k in a.index]
    a["price_date"] = "" if price_date is None else str(price_date.date())
    q = pd.DataFrame(quarterly, columns=["index", "sector", "basis", "quarter", "eps", "status"])
    q = q.set_index(["index", "sector", "basis", "quarter"])
    if a.empty or q.empty:
        raise DataError(f"sheet {_SECTOR!r}: no EPS columns under 'INDEX NAME'", file=file)
    return {"annual_eps": a, "quarterly_eps_by_sector": q}


def _status(end: pd.Timestamp, first_estimate: pd.Timestamp | None) -> str:
    return "estimate" if first_estimate is not None and end >= first_estimate else "actual"


def _split_index(name: str) -> tuple[str, str]:
    m = re.match(r"\s*(S&P (?:500|400|600|Composite 1500))\s*(.*)$", name)
    if not m:
        return name.strip(), "All"
    sec = re.sub(r"\s*\(proforma.*\)$", "", m.group(2)).strip()
    return m.group(1), sec or "All"


def read_spdji() -> dict[str, pd.DataFrame]:
    """Load every table of the S&P DJI workbook (cache -> mirror -> URL) with provenance."""
    raw = spdji_raw_file()
    base = Provenance(
        PUBLISHER, "S&P 500 Earnings and Estimate Report (sp-500-eps-est.xlsx)", raw.url, vintage=""
    )
    return load_tables(raw, parse_spdji, base)
