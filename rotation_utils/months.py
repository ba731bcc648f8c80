"""Report months: parsing, validation and the no-look-ahead cut."""

from __future__ import annotations

import re
from typing import TypeVar

import pandas as pd

from .errors import ParameterError

__all__ = ["parse_month", "month_end", "clip_to_month"]

T = TypeVar("T", pd.Series, pd.DataFrame)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: object, name: str = "month") -> pd.Period:
    """Parse ``"YYYY-MM"`` into a monthly Period; anything else raises :class:`ParameterError`."""
    s = str(value).strip()
    m = _MONTH.match(s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ParameterError(name, f"{s!r} is not a month in YYYY-MM form (e.g. 2026-01)")
    return pd.Period(s, freq="M")


def month_end(month: pd.Period | str) -> pd.Timestamp:
    """Last calendar day of ``month`` (midnight)."""
    p = parse_month(month) if isinstance(month, str) else month
    return p.end_time.normalize()


def clip_to_month(obj: T, month: pd.Period | str) -> T:
    """Rows of ``obj`` dated on or before the end of ``month`` (no look-ahead); attrs kept.

    Works for monthly/annual/quarterly ``PeriodIndex`` (a period counts when it *ends* by the
    month end) and ``DatetimeIndex``.
    """
    end = month_end(month)
    idx = obj.index
    if isinstance(idx, pd.MultiIndex):
        raise ParameterError("obj", "clip_to_month needs a single date or period index")
    if isinstance(idx, pd.PeriodIndex):
        keep = idx.end_time.normalize() <= end
    else:
        keep = pd.DatetimeIndex(idx) <= end + pd.Timedelta(hours=23, minutes=59)
    out = obj.loc[keep]
    out.attrs = dict(obj.attrs)
    return out
