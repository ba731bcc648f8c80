"""Compact derived tables: what the notebooks read.

Each table is built by one function from raw datasets. ``rotation data build`` writes them to
``data/`` (csv.gz) with a manifest of their inputs (source, vintage, sha256), so a fresh clone runs
offline. :func:`load_table` builds a table from the raw files when ``ROTATION_MIRROR`` is set
(through the hash-keyed parse cache, so a changed mirror file changes the table) and reads the
embedded ``data/`` copy otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, ParameterError, RotationError
from .provenance import Provenance, frozen, provenance_of, with_provenance

__all__ = [
    "TABLES",
    "load_table",
    "read_table",
    "build_tables",
    "data_dir",
    "data_mode",
    "manifest",
]


@dataclass(frozen=True)
class DerivedTable:
    name: str
    description: str
    build: Callable[[], pd.DataFrame]
    index: str  # "period" (YYYY-MM), "date" (YYYY-MM-DD), "quarter_end", "observed" or "none"


def _merge_prov(objs: list, title: str) -> Provenance:
    provs = [provenance_of(o) for o in objs]
    vintages = list(dict.fromkeys(p.vintage for p in provs if p.vintage))
    return Provenance(
        publisher=" + ".join(dict.fromkeys(x for p in provs for x in p.publisher.split(" + "))),
        title=title,
        url=" ".join(dict.fromkeys(p.url for p in provs)),
        vintage="; ".join(vintages),
        sha256=",".join(dict.fromkeys(p.sha256 for p in provs)),
        read_from=provs[0].read_from,
        extra={"inputs": [p.to_dict() for p in provs]},
    )


def _spdji(table: str) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        from .sources.spdji import read_spdji

        t = read_spdji()[table]
        prov = provenance_of(t).updated(table=table)
        out = t.reset_index() if isinstance(t.index, pd.MultiIndex) else t
        return with_provenance(out, prov)  # coverage is set only for dated indexes

    return build


_CORNERS = ("SMALL HiBM", "BIG HiBM")


def _french_size_bm() -> pd.DataFrame:
    from .sources.french import read_french
    from .spreads import size_group_book_to_market

    t = read_french("25_Portfolios_5x5")
    bm_title = next(k for k in t if "Value Weight Average of BE/ME" in k)
    nf = next(k for k in t if k.startswith("Number of Firms"))
    mc = next(k for k in t if k.startswith("Average Market Cap"))
    out = size_group_book_to_market(t[bm_title], t[nf], t[mc])
    # The same quintiles without the two high-BE/ME corner portfolios: one corner (SMALL HiBM)
    # moves the small quintile by itself in 2024-07, so claims checks test with and without.
    keep = [c for c in t[bm_title].columns if c not in _CORNERS]
    ex = size_group_book_to_market(t[bm_title][keep], t[nf][keep], t[mc][keep])
    out["ME1_ex_hibm"], out["ME5_ex_hibm"] = ex["ME1"], ex["ME5"]
    prov = provenance_of(t[bm_title]).updated(
        title="25_Portfolios_5x5: value-weighted BE/ME of size quintiles ME1 (small) .. ME5 (big)",
        table="BE/ME, Number of Firms, Average Market Cap",
    )
    return with_provenance(out, prov)


def _french_factors() -> pd.DataFrame:
    from .sources.french import read_french

    t = read_french("F-F_Research_Data_Factors")["Monthly"]
    return with_provenance(t.copy(), provenance_of(t).updated(table="Monthly, percent per month"))


def _fred_monthly() -> pd.DataFrame:
    from .sources.fred import read_fred

    cols, srcs = {}, []
    for sid in ("DFF", "DGS10", "CPILFESL", "T10Y2Y"):
        s = read_fred(sid)
        srcs.append(s)
        if not isinstance(s.index, pd.PeriodIndex):  # daily -> monthly average, as FRED does
            s = s.groupby(s.index.to_period("M")).mean()
        cols[sid] = s
    out = pd.DataFrame(cols)
    out.index.name = "period"
    prov = _merge_prov(srcs, "DFF, DGS10, CPILFESL, T10Y2Y (T10Y2Y: monthly mean of daily)")
    vintage = "; ".join(f"{s.name} {provenance_of(s).vintage}" for s in srcs)
    return with_provenance(out, prov.updated(vintage=vintage))


def _etf_close() -> pd.DataFrame:
    from .sources.prices import REPORT_TICKERS, read_prices

    frames, srcs, segments, missing = {}, [], {}, {}
    for t in REPORT_TICKERS:
        try:
            p = read_prices(t)
        except RotationError as e:  # one ticker's failure must not cost the others
            missing[t] = str(e)
            print(f"warning: prices for {t} not loaded: {e}", file=sys.stderr)
            continue
        frames[t] = p["close"]
        srcs.append(p)
        pv = provenance_of(p)
        segments[t] = {"segments": pv.extra["segments"], "superseded": pv.extra["superseded"]}
    if not frames:
        raise DataError(f"no prices loaded for any of {', '.join(REPORT_TICKERS)}", file="prices")
    # A ticker that failed stays as an empty column: captions then say it has no prices.
    out = pd.DataFrame(frames).reindex(columns=list(REPORT_TICKERS)).loc["2005-01-01":].round(4)
    for t, entry in segments.items():  # state what the table holds: it starts in 2005
        first = str(out[t].first_valid_index().date())
        # new records: the read_prices result's provenance is shared and read-only
        kept = [dict(s) for s in entry["segments"] if s["end"] >= first]
        kept[0]["start"] = max(kept[0]["start"], first)
        entry["segments"] = kept
    prov = _merge_prov(srcs, "Daily closes of SPY, IWM, QQQ and the 11 Select Sector SPDRs")
    extra = {**prov.extra, "segments": segments}
    if missing:
        extra["missing"] = missing
    prov = prov.updated(extra=extra, vintage=f"through {out.index[-1].date()}")
    return with_provenance(out, prov)


def _shiller_monthly() -> pd.DataFrame:
    from .sources.shiller import read_shiller

    t = read_shiller("ie_data")
    out = t[["price", "dividend", "earnings", "cpi", "long_rate", "cape"]].copy()
    return with_provenance(out, provenance_of(t))


TABLES: dict[str, DerivedTable] = {
    t.name: t
    for t in [
        DerivedTable(
            "spdji_index_pe",
            "S&P 500/400/600 and sector current-year operating P/E and 5-year projected EPS growth",
            _spdji("index_pe"),
            "none",
        ),
        DerivedTable(
            "spdji_quarterly_eps",
            "S&P 500 operating and as-reported EPS by quarter, actual and estimate, with price and P/E",
            _spdji("quarterly_eps"),
            "quarter_end",
        ),
        DerivedTable(
            "spdji_estimate_revisions",
            "S&P 500 yearly EPS estimates by observation date, with price and P/E",
            _spdji("estimate_revisions"),
            "observed",
        ),
        DerivedTable(
            "spdji_annual_eps",
            "Calendar-year operating and as-reported EPS and P/E by index and sector",
            _spdji("annual_eps"),
            "none",
        ),
        DerivedTable(
            "french_size_bm",
            "Value-weighted BE/ME of the five size quintiles (25 size x BE/ME portfolios); ME1 and ME5 "
            "also without their high-BE/ME corner portfolio (*_ex_hibm)",
            _french_size_bm,
            "period",
        ),
        DerivedTable(
            "french_factors",
            "Fama/French monthly factors Mkt-RF, SMB, HML, RF (percent per month)",
            _french_factors,
            "period",
        ),
        DerivedTable(
            "fred_monthly",
            "Fed funds, 10-year yield, core CPI index, 10y-2y slope by month",
            _fred_monthly,
            "period",
        ),
        DerivedTable(
            "etf_close",
            "Daily closes (US$) of SPY, IWM, QQQ and the sector SPDRs: providers spliced on returns, "
            "short gaps bridged on levels, long gaps kept (segments in the provenance)",
            _etf_close,
            "date",
        ),
        DerivedTable(
            "shiller_monthly",
            "S&P Composite price, dividend, earnings, CPI, long rate and CAPE by month",
            _shiller_monthly,
            "period",
        ),
    ]
}


def data_dir() -> Path:
    """``ROTATION_DATA_DIR`` or the project's ``data/`` folder."""
    d = os.environ.get("ROTATION_DATA_DIR", "").strip()
    return Path(d) if d else Path(__file__).resolve().parent.parent / "data"


def data_mode() -> str:
    """ "mirror" when raw files are read (ROTATION_MIRROR set), else "embedded"."""
    from .sources._fetch import mirror_dir

    return "mirror" if mirror_dir() is not None else "embedded"


_MEMO: dict[tuple[str, str, str], pd.DataFrame] = {}


def manifest() -> dict:
    path = data_dir() / "manifest.json"
    if not path.is_file():
        raise DataError(
            "no manifest; run `rotation data build` with ROTATION_MIRROR set", file=str(path)
        )
    return json.loads(path.read_text())


def load_table(name: str) -> pd.DataFrame:
    """A derived table with provenance: built from the mirror when set, else read from ``data/``.

    Results are memoised per process (keyed by mode and, for embedded tables, file hash), so a
    notebook or a backfill that asks twice reads once.
    """
    if name not in TABLES:
        raise ParameterError("table", f"unknown derived table {name!r}; known: {', '.join(TABLES)}")
    mode = data_mode()
    if mode == "mirror":
        key = (mode, name, os.environ.get("ROTATION_MIRROR", ""))
        if key not in _MEMO:
            _MEMO[key] = _as_embedded(TABLES[name])
        return _copy(_MEMO[key])
    entry = manifest().get("tables", {}).get(name)
    if entry is None:
        raise DataError(
            f"table {name!r} is not in the manifest; run `rotation data build`",
            file=str(data_dir() / "manifest.json"),
        )
    path = data_dir() / entry["file"]
    key = (mode, name, entry["sha256"])
    if key not in _MEMO:
        _MEMO[key] = _read_csv(path, TABLES[name].index, Provenance.from_dict(entry["provenance"]))
    return _copy(_MEMO[key])


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """Table ``name`` as a folder laid out like ``data/`` holds it (its manifest and csv.gz),
    with provenance; not memoised (a report's staged data, fingerprints)."""
    entry = json.loads((folder / "manifest.json").read_text())["tables"][name]
    return _read_csv(
        folder / entry["file"], TABLES[name].index, Provenance.from_dict(entry["provenance"])
    )


def _as_embedded(table: DerivedTable) -> pd.DataFrame:
    """Build ``table`` from the raw files and pass it through the bytes ``data/`` would hold, so
    a notebook shows the same numbers with and without the mirror (10 significant digits)."""
    df = table.build()
    prov = provenance_of(df)
    blob = io.BytesIO(_to_csv_gz(df, table.index))
    return _read_csv(blob, table.index, prov, read_from=prov.read_from)


def _copy(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a memoised table for a caller to change at will (its provenance is read-only)."""
    return df.copy()


def _read_csv(
    path: Path | io.BytesIO, index: str, prov: Provenance, *, read_from: str = "embedded data/"
) -> pd.DataFrame:
    if isinstance(path, Path) and not path.is_file():
        raise DataError("embedded table missing; run `rotation data build`", file=str(path))
    try:
        df = pd.read_csv(path, compression="gzip")
    except Exception as e:
        raise DataError(f"unreadable embedded table ({e})", file=str(path)) from None
    if index == "period":
        df = df.set_index(pd.PeriodIndex(df.pop("period"), freq="M"))
    elif index in ("date", "quarter_end", "observed"):
        df = df.set_index(pd.DatetimeIndex(pd.to_datetime(df.pop(index)), name=index))
    df.attrs["provenance"] = frozen(prov.updated(read_from=read_from).to_dict())
    return df


def _to_csv_gz(df: pd.DataFrame, index: str) -> bytes:
    out = df.copy()
    if index == "period":
        out.index = out.index.astype(str)
    elif index in ("date", "quarter_end", "observed"):
        out.index = pd.DatetimeIndex(out.index).strftime("%Y-%m-%d")
    buf = io.StringIO()
    out.to_csv(buf, index=index != "none", float_format="%.10g", lineterminator="\n")
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:  # mtime=0: same bytes every build
        gz.write(buf.getvalue().encode())
    return raw.getvalue()


def build_tables(
    out_dir: Path | None = None, *, progress: Callable[[str], None] | None = None
) -> dict:
    """Build every derived table from the raw files and write them with ``manifest.json``.

    Files are written to a temporary folder inside ``out_dir`` and renamed into place one by
    one; the manifest is written last, so an interrupted build never leaves a manifest that
    points at missing or stale files.
    """
    out_dir = out_dir or data_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {}
    staged = []
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        for name, t in TABLES.items():
            if progress:
                progress(name)
            df = t.build()
            prov = provenance_of(df)
            blob = _to_csv_gz(df, t.index)
            fname = f"{name}.csv.gz"
            (Path(tmp) / fname).write_bytes(blob)
            staged.append(fname)
            tables[name] = {
                "file": fname,
                "description": t.description,
                "rows": int(len(df)),
                "columns": [str(c) for c in df.columns],
                "sha256": hashlib.sha256(blob).hexdigest(),
                "provenance": prov.updated(read_from="").to_dict(),
            }
        for fname in staged:
            os.replace(Path(tmp) / fname, out_dir / fname)
    man = {"built_by": "rotation data build", "tables": tables}
    fd, tmpm = tempfile.mkstemp(dir=out_dir, prefix=".manifest.")
    with os.fdopen(fd, "w") as f:
        json.dump(man, f, indent=1, sort_keys=True)
        f.write("\n")
    os.chmod(tmpm, 0o644)
    os.replace(tmpm, out_dir / "manifest.json")
    return man
