"""Report months: parsing, validation and the no-look-ahead cut."""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeVar

import pandas as pd

from .errors import ParameterError

__all__ = ["parse_month", "month_end", "clip_to_month", "check_report_month", "FIRST_DATA_MONTH"]

#: The earliest month any source covers (French data start in 1926-07).
FIRST_DATA_MONTH = "1926-07"

T = TypeVar("T", pd.Series, pd.DataFrame)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: object, name: str = "month") -> pd.Period:
    """Parse ``"YYYY-MM"`` into a monthly Period; anything else raises :class:`ParameterError`."""
    s = str(value).strip()
    m = _MONTH.match(s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ParameterError(name, f"{s!r} is not a month in YYYY-MM form (e.g. 2026-01)")
    return pd.Period(s, freq="M")


def check_report_month(value: object, name: str = "month", today: dt.date | None = None) -> str:
    """A report month: YYYY-MM, not in the future, not before any data exists; returns it.

    Raises
    ------
    ParameterError
        One line naming the parameter, as the CLI prints it.
    """
    p = parse_month(value, name)
    today = today or dt.date.today()
    if p > parse_month(today.strftime("%Y-%m")):
        raise ParameterError(name, f"{value} is in the future (today is {today.isoformat()})")
    if p < parse_month(FIRST_DATA_MONTH):
        raise ParameterError(
            name, f"{value} is before any data (the earliest source starts {FIRST_DATA_MONTH})"
        )
    return str(p)


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
