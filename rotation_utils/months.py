"""Report months: the one :class:`Month` type, and the one as-of gate (no look-ahead).

A month is parsed once at the edge (the CLI, a notebook's parameter cell) with
:meth:`Month.parse` and passed as a :class:`Month`; the previous month, the last trading day and
the as-of cut-off are its methods. Every read of a table, fact or snapshot for a month goes
through :func:`as_of_gate`, which refuses anything dated after the month. A later file may serve
an earlier month only for a series declared point-in-time (:data:`POINT_IN_TIME`), and the
gate's result then carries the statement the page must show.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering
from typing import TypeVar

import pandas as pd

from .errors import ParameterError

__all__ = [
    "Month",
    "MonthLike",
    "parse_month",
    "month_end",
    "clip_to_month",
    "check_report_month",
    "FIRST_DATA_MONTH",
    "Gated",
    "as_of_gate",
    "POINT_IN_TIME",
    "SNAPSHOTS",
]

#: The earliest month any source covers (French data start in 1926-07).
FIRST_DATA_MONTH = "1926-07"

T = TypeVar("T", pd.Series, pd.DataFrame)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@total_ordering
@dataclass(frozen=True)
class Month:
    """A calendar month, e.g. ``Month.parse("2026-07")``; ``str(m)`` is ``"2026-07"``.

    Attributes
    ----------
    year, number : int
        The calendar year and the month number (1-12).
    """

    year: int
    number: int

    @classmethod
    def parse(cls, value: object, name: str = "month") -> Month:
        """``"YYYY-MM"`` (or a Month, or a monthly Period) as a Month; anything else raises
        :class:`ParameterError` naming ``name``."""
        if isinstance(value, Month):
            return value
        if isinstance(value, pd.Period):
            p = value.asfreq("M")
            return cls(p.year, p.month)
        s = str(value).strip()
        m = _MONTH.match(s)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ParameterError(name, f"{s!r} is not a month in YYYY-MM form (e.g. 2026-01)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of_date(cls, day: object) -> Month:
        """The month a date falls in."""
        t = pd.Timestamp(day)
        return cls(t.year, t.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Month):
            return NotImplemented
        return (self.year, self.number) < (other.year, other.number)

    def __add__(self, months: int) -> Month:
        k = self.year * 12 + self.number - 1 + int(months)
        return Month(k // 12, k % 12 + 1)

    def __sub__(self, other: int | Month) -> Month | int:  # type: ignore[override]
        """``m - 1`` is the month before; ``m - n`` for another Month is the months between."""
        if isinstance(other, Month):
            return (self.year - other.year) * 12 + self.number - other.number
        return self + (-int(other))

    @property
    def period(self) -> pd.Period:
        """The month as a pandas monthly Period (for indexing monthly tables)."""
        return pd.Period(str(self), freq="M")

    def previous(self) -> Month:
        """The month before (the previous report)."""
        return self + (-1)

    @property
    def start(self) -> pd.Timestamp:
        """Midnight of the first day."""
        return pd.Timestamp(self.year, self.number, 1)

    @property
    def end(self) -> pd.Timestamp:
        """Midnight of the last calendar day."""
        return self.start + pd.offsets.MonthEnd(0)

    @property
    def cutoff(self) -> pd.Timestamp:
        """The as-of cut-off: the last moment of the month; nothing dated after it is used."""
        return self.end + pd.Timedelta(hours=23, minutes=59, seconds=59)

    def last_trading_day(self) -> dt.date:
        """The month's last NYSE trading day (:mod:`rotation_utils.trading_days`)."""
        from .trading_days import last_trading_day

        return last_trading_day(self)

    def includes(self, as_of: object) -> bool:
        """Whether a date or period label ("2026-01-13", "2026-01", "2025") is on or before the
        month's end (may be used as of this month)."""
        return _label_end(as_of) <= self.end


#: What functions taking a month accept: a Month, or (for callers not converted) its text.
MonthLike = Month | str | pd.Period


def _label_end(as_of: object) -> pd.Timestamp:
    """The last day a date or period label describes: "2026-01-13" -> that day, "2026-01" ->
    2026-01-31, "2025" -> 2025-12-31, "2025Q4" -> 2025-12-31."""
    text = str(as_of).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return pd.Timestamp(text[:10])
    if re.match(r"^\d{4}-\d{2}$", text):
        return Month.parse(text).end
    for pattern, freq in ((r"^\d{4}Q[1-4]$", "Q"), (r"^\d{4}$", "Y")):
        if re.match(pattern, text):
            return pd.Period(text, freq=freq).end_time.normalize()
    raise ParameterError("as_of", f"{text!r} is not a date, month, quarter or year")


def parse_month(value: object, name: str = "month") -> pd.Period:
    """Parse ``"YYYY-MM"`` into a monthly Period; anything else raises :class:`ParameterError`."""
    return Month.parse(value, name).period


def check_report_month(value: object, name: str = "month", today: dt.date | None = None) -> Month:
    """A report month: YYYY-MM, not in the future, not before any data exists.

    Raises
    ------
    ParameterError
        One line naming the parameter, as the CLI prints it.
    """
    m = Month.parse(value, name)
    today = today or dt.date.today()
    if m > Month.of_date(today):
        raise ParameterError(name, f"{value} is in the future (today is {today.isoformat()})")
    if m < Month.parse(FIRST_DATA_MONTH):
        raise ParameterError(
            name, f"{value} is before any data (the earliest source starts {FIRST_DATA_MONTH})"
        )
    return m


def month_end(month: MonthLike) -> pd.Timestamp:
    """Last calendar day of ``month`` (midnight)."""
    return Month.parse(month).end


def clip_to_month(obj: T, month: MonthLike) -> T:
    """Rows of ``obj`` dated on or before the end of ``month`` (no look-ahead); attrs kept.

    Works for monthly/annual/quarterly ``PeriodIndex`` (a period counts when it *ends* by the
    month end) and ``DatetimeIndex``.
    """
    m = Month.parse(month)
    idx = obj.index
    if isinstance(idx, pd.MultiIndex):
        raise ParameterError("obj", "clip_to_month needs a single date or period index")
    if isinstance(idx, pd.PeriodIndex):
        keep = idx.end_time.normalize() <= m.end
    else:
        keep = pd.DatetimeIndex(idx) <= m.cutoff
    out = obj.loc[keep]
    out.attrs = dict(obj.attrs)
    return out


# --------------------------------------------------------------------------- the as-of gate

#: Series a later file may serve for an earlier month, because each row is what was published
#: on its own date; the statement is what the page and the evidence say when it does.
POINT_IN_TIME: dict[str, str] = {
    "spdji_estimate_revisions": (
        "S&P DJI's estimate history is point-in-time by construction: each row is the estimate as "
        "published on its observation date, so the file's rows dated on or before the month serve it"
    ),
}
#: Tables dated as a whole by their edition (the S&P DJI sheet): usable only from that date.
SNAPSHOTS = frozenset({"spdji_index_pe", "spdji_annual_eps", "spdji_quarterly_eps"})


@dataclass(frozen=True)
class Gated:
    """What the as-of gate lets through for a month.

    Attributes
    ----------
    frame : DataFrame, Series or None
        The rows usable as of the month (None when the whole table is refused).
    month : Month
    as_of : str
        The date the data describe: a snapshot's edition, else the last row kept.
    reason : str
        Why nothing is usable ("" when something is).
    note : str
        The point-in-time statement to show when a later file served the month, else "".
    """

    frame: pd.DataFrame | pd.Series | None
    month: Month
    as_of: str
    reason: str = ""
    note: str = ""

    @property
    def available(self) -> bool:
        return self.frame is not None and not self.reason


def _edition(obj: pd.DataFrame | pd.Series) -> pd.Timestamp | None:
    from .provenance import provenance_of

    vintage = provenance_of(obj).vintage
    m = re.search(r"\d{4}-\d{2}-\d{2}", vintage or "")
    return pd.Timestamp(m.group(0)) if m else None


def _last_label(obj: pd.DataFrame | pd.Series) -> str:
    if obj.empty:
        return ""
    last = obj.index[-1]
    return str(last.date()) if isinstance(last, pd.Timestamp) else str(last)


def as_of_gate(obj: pd.DataFrame | pd.Series, month: MonthLike, *, name: str = "") -> Gated:
    """The part of a table, fact table or snapshot that may be used as of ``month``.

    How ``obj`` is dated:

    - a facts table (an ``as_of`` column, :mod:`rotation_utils.facts`): rows dated on or before
      the month end, every kind of fact (the checked article's own numbers too);
    - a snapshot (``name`` in :data:`SNAPSHOTS`, or no date index): the whole table, dated by the
      edition in its provenance vintage, or nothing when the edition is after the month;
    - dated rows (a date or period index): rows on or before the month end; when ``name`` is in
      :data:`POINT_IN_TIME` and the file's edition is after the month, the result's ``note``
      says the series is point-in-time.

    Parameters
    ----------
    obj : DataFrame or Series
        A derived table (with provenance) or the facts table.
    month : Month
        The report month.
    name : str
        The derived table's name (:data:`rotation_utils.derived.TABLES`), which declares how
        it is dated.
    """
    m = Month.parse(month)
    if isinstance(obj, pd.DataFrame) and "as_of" in obj.columns:
        keep = obj["as_of"].map(m.includes).astype(bool)
        out = obj[keep]
        out.attrs = dict(obj.attrs)
        latest = max(out["as_of"], default="")
        reason = "" if len(out) else f"no fact is dated on or before {m}"
        return Gated(out, m, latest, reason)
    dated = isinstance(obj.index, pd.PeriodIndex | pd.DatetimeIndex)
    edition = _edition(obj)
    if name in SNAPSHOTS or not dated:
        if edition is None:
            return Gated(None, m, "", f"{name or 'the table'} states no edition date")
        if edition > m.end:
            return Gated(
                None,
                m,
                str(edition.date()),
                f"the {_snapshot_title(name)} is dated {edition.date()}, after {m}: using it "
                "would look ahead, and no earlier edition is mirrored",
            )
        return Gated(obj, m, str(edition.date()))
    out = clip_to_month(obj, m)
    note = POINT_IN_TIME.get(name, "") if edition is not None and edition > m.end else ""
    reason = "" if len(out) else f"no row dated on or before {m}"
    return Gated(out, m, _last_label(out), reason, note)


def _snapshot_title(name: str) -> str:
    return "S&P DJI sheet" if name.startswith("spdji") or not name else name
