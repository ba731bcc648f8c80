"""Shared first steps for text sources: decode, reject HTML error pages, parse numbers."""

from __future__ import annotations

import math

from ..errors import DataError
from ..paths import excerpt

__all__ = ["decode_text", "parse_number", "numeric_column"]


def decode_text(data: bytes, file: str) -> list[str]:
    """Decode ``data`` (UTF-8 with or without BOM, else latin-1) into lines without line ends.

    Raises
    ------
    DataError
        If the file is empty or is an HTML page (what a failed download saves).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    head = text.lstrip()[:200].lower()
    if not head:
        raise DataError("file is empty", file=file)
    if head.startswith(("<!doctype html", "<html", "<?xml", "<head")):
        raise DataError(
            "is an HTML/XML page, not the data file (a failed or redirected download?)",
            file=file,
            row=1,
        )
    return text.splitlines()


def parse_number(cell: str, *, file: str, row: int, column: str, missing: tuple[str, ...]) -> float:
    """Parse one cell as float; the strings in ``missing`` map to NaN, anything else non-numeric
    raises a :class:`DataError` naming file, row and column."""
    s = cell.strip()
    if s in missing:
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise DataError(
            f"column {column!r}: {excerpt(s)} is not a number", file=file, row=row
        ) from None


def numeric_column(cells, *, file: str, column: str, first_row: int):
    """Parse a column of strings (a pandas Series, NaN for empty cells) into floats; the first
    non-empty cell that is not a number raises a :class:`DataError` naming file, row and column.
    ``first_row`` is the file line of the Series' first element."""
    import pandas as pd

    vals = pd.to_numeric(cells, errors="coerce")
    bad = vals.isna() & cells.notna()
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise DataError(
            f"column {column!r}: {excerpt(cells.iloc[i])} is not a number",
            file=file,
            row=first_row + i,
        )
    return vals.to_numpy(dtype=float)
