"""The curated facts table ``data/facts.csv``: published figures the raw files do not give.

Every row carries its source (publisher, title, URL) and date; a row without one is an error,
so no unsourced number can enter a notebook through this table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .errors import DataError
from .months import Month, MonthLike, as_of_gate
from .provenance import Provenance, with_provenance
from .results import Value

__all__ = ["load_facts", "facts_as_of", "fact_value", "fact_ratio", "FACT_COLUMNS", "FACT_KINDS"]

FACT_COLUMNS = (
    "id",
    "kind",
    "claim",
    "metric",
    "subject",
    "value",
    "unit",
    "qualifier",
    "definition",
    "as_of",
    "publisher",
    "title",
    "url",
    "note",
)
#: "seed_claim": a number the checked article states; "published_figure": a cited quote.
FACT_KINDS = ("seed_claim", "published_figure")
_REQUIRED = (
    "id",
    "kind",
    "metric",
    "subject",
    "value",
    "unit",
    "as_of",
    "publisher",
    "title",
    "url",
)
_AS_OF = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def load_facts(path: Path | str | None = None) -> pd.DataFrame:
    """Read and validate the facts table (default ``data/facts.csv``), indexed by ``id``.

    Raises
    ------
    DataError
        Missing columns, a row without a source, URL or date, a non-numeric value, an unknown
        kind or a duplicated id; the message names the file and row (1-based, header = row 1).
    """
    from .derived import data_dir

    path = Path(path) if path else data_dir() / "facts.csv"
    if not path.is_file():
        raise DataError("facts table not found", file=str(path))
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in FACT_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"missing columns {missing}", file=str(path), row=1)
    for i, row in df.iterrows():
        r = int(i) + 2
        for c in _REQUIRED:
            if not row[c].strip():
                raise DataError(
                    f"column {c!r} is empty (every fact needs a source and date)",
                    file=str(path),
                    row=r,
                )
        if row["kind"] not in FACT_KINDS:
            raise DataError(
                f"kind {row['kind']!r} is not one of {FACT_KINDS}", file=str(path), row=r
            )
        if not _AS_OF.match(row["as_of"]):
            raise DataError(
                f"as_of {row['as_of']!r} is not YYYY-MM or YYYY-MM-DD", file=str(path), row=r
            )
        if not row["url"].startswith(("http://", "https://")):
            raise DataError(f"url {row['url']!r} is not an http(s) URL", file=str(path), row=r)
        try:
            float(row["value"])
        except ValueError:
            raise DataError(
                f"value {row['value']!r} is not a number", file=str(path), row=r
            ) from None
    dup = df["id"].duplicated()
    if dup.any():
        r = int(dup.to_numpy().argmax()) + 2
        raise DataError(f"id {df['id'].iloc[r - 2]!r} appears twice", file=str(path), row=r)
    df["value"] = df["value"].astype(float)
    df = df.set_index("id")
    prov = Provenance(
        "rotation curated facts (each row cites its own source)",
        "data/facts.csv",
        url="",
        vintage=f"latest fact {max(df['as_of'])}",
    )
    return with_provenance(df, prov)


def facts_as_of(facts: pd.DataFrame, month: MonthLike) -> pd.DataFrame:
    """Facts usable in a report for ``month``: every row dated on or before the month end, the
    checked article's own numbers included (:func:`rotation_utils.months.as_of_gate`; no
    look-ahead)."""
    return as_of_gate(facts, month).frame


def fact_value(facts: pd.DataFrame, month: MonthLike, fid: str) -> Value:
    """Fact ``fid`` as a Value (its unit, date, definition and citation), or why it cannot be
    used as of ``month`` (unknown, or dated after the month)."""
    if fid not in facts.index:
        return Value(None, "x", reason=f"no fact {fid!r} in data/facts.csv")
    row = facts.loc[fid]
    unit = str(row["unit"])
    m = Month.parse(month)
    if fid not in facts_as_of(facts, m).index:
        return Value(None, unit, reason=f"fact {fid} is dated {row['as_of']}, after {m}")
    return Value(
        float(row["value"]),
        unit,
        as_of=str(row["as_of"]),
        basis=str(row["definition"]),
        source=f"{row['publisher']}, {row['title']} ({row['url']})",
        qualifier=str(row["qualifier"]),
    )


def fact_ratio(facts: pd.DataFrame, month: MonthLike, a: str, b: str) -> Value:
    """Fact ``a`` divided by fact ``b`` (x), e.g. a claimed P/B over another."""
    va, vb = fact_value(facts, month, a), fact_value(facts, month, b)
    for v in (va, vb):
        if not v.available:
            return Value(None, "x", reason=v.reason)
    source = " | ".join(dict.fromkeys((va.source, vb.source)))
    basis = f"{va.shown()} / {vb.shown()}" + (
        f", {va.basis}" if va.basis == vb.basis else f" ({va.basis} / {vb.basis})"
    )
    return Value(
        va.value / vb.value, "x", as_of=max(va.as_of, vb.as_of), basis=basis, source=source
    )
