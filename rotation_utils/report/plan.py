"""What a report run will do, decided and checked before anything is written.

Months (one, a backfill range, or the latest complete month of daily prices), the notebooks, the
output folder and the worker count; :func:`plan_report` checks them all and returns a
:class:`ReportPlan`. The NYSE calendar (:mod:`rotation_utils.trading_days`) decides whether a
month's last trading day is in the price data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataError, ParameterError
from ..months import FIRST_DATA_MONTH, check_report_month, parse_month
from ..trading_days import last_trading_day, nyse_holidays

__all__ = [
    "NOTEBOOK_DIR",
    "FIRST_DATA_MONTH",
    "ReportPlan",
    "PriceCoverage",
    "plan_report",
    "list_notebooks",
    "resolve_notebooks",
    "validate_month",
    "months_between",
    "nyse_holidays",
    "last_trading_day",
    "latest_complete_month",
    "latest_month",
    "price_coverage",
    "last_price_date",
]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent.parent / "notebooks"
#: The price column whose last close dates the data: the benchmark every notebook compares with.
CALENDAR_TICKER = "SPY"


@dataclass(frozen=True)
class ReportPlan:
    """A checked report run: render ``notebooks`` for each of ``months`` into ``out/YYYY-MM``."""

    months: tuple[str, ...]
    notebooks: tuple[Path, ...]
    out: Path
    workers: int
    with_code: bool = False

    @property
    def full(self) -> bool:
        """Whether every numbered notebook runs (then the headline figures are required)."""
        return [p.stem for p in self.notebooks] == [p.stem for p in list_notebooks()]


def plan_report(
    months: list[str] | tuple[str, ...],
    out: Path,
    *,
    notebooks: list[Path] | None = None,
    jobs: int | None = None,
    with_code: bool = False,
) -> ReportPlan:
    """Check a report request and return its plan; raises :class:`ParameterError` on a bad one.

    Nothing is written: an ``out`` that exists and is not a folder is an error here, not later.
    """
    import os

    if not months:
        raise ParameterError("month", "no month to render")
    checked = tuple(validate_month(m) for m in months)
    nbs = tuple(notebooks) if notebooks else tuple(list_notebooks())
    if not nbs:
        raise DataError("no notebooks found", file=str(NOTEBOOK_DIR))
    if jobs is not None and jobs < 1:
        raise ParameterError("jobs", "must be at least 1")
    if out.exists() and not out.is_dir():
        raise ParameterError("out", f"{out} exists and is not a folder")
    workers = max(1, min(jobs or os.cpu_count() or 1, len(checked) * len(nbs)))
    return ReportPlan(checked, nbs, out, workers, with_code)


def list_notebooks(nb_dir: Path | None = None) -> list[Path]:
    """The numbered notebooks ``NN_name.ipynb`` in order."""
    return sorted((nb_dir or NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))


def resolve_notebooks(spec: str | None, nb_dir: Path | None = None) -> list[Path]:
    """Notebooks named by ``spec`` ("01,03", "01_valuation_gaps", or None for all)."""
    allnb = list_notebooks(nb_dir)
    if not allnb:
        raise DataError("no notebooks found", file=str(nb_dir or NOTEBOOK_DIR))
    if not spec:
        return allnb
    chosen: list[Path] = []
    for item in (s.strip() for s in spec.split(",")):
        hits = [p for p in allnb if p.stem == item or p.stem.split("_", 1)[0] == item]
        if not hits:
            names = ", ".join(p.stem for p in allnb)
            raise ParameterError("notebooks", f"unknown notebook {item!r}; known: {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def validate_month(value: str, name: str = "month", today: dt.date | None = None) -> str:
    """Check a report month: YYYY-MM, not in the future, not before any data exists (the same
    check the notebooks run on their parameters, :func:`rotation_utils.months.check_report_month`)."""
    return str(check_report_month(value, name, today))


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (a backfill), each validated."""
    a = parse_month(validate_month(first, "from"))
    b = parse_month(validate_month(last, "to"))
    if b < a:
        raise ParameterError("to", f"{last} is before --from {first}")
    return [str(a + i) for i in range((b - a).n + 1)]


# --------------------------------------------------------------------------- latest month


def latest_complete_month(last_date: dt.date | pd.Timestamp) -> str:
    """The newest month whose last trading day is on or before ``last_date`` (the last close)."""
    d = pd.Timestamp(last_date).date()
    p = pd.Period(d, freq="M")
    return str(p if last_trading_day(p) <= d else p - 1)


@dataclass(frozen=True)
class PriceCoverage:
    """How far the daily prices reach into a report month.

    ``complete`` is True when the month's last trading day is in the data; ``through`` is the
    last price date used for the month (None when the prices end before the month starts).
    """

    month: str
    complete: bool
    through: str | None
    last_trading_day: str

    @property
    def label(self) -> str:
        """How the index labels the month: "" for a complete month, else month-to-date or a gap."""
        if self.complete:
            return ""
        if self.through is None:
            return "no daily prices yet"
        return f"month to date, prices through {self.through}"


def last_price_date(prices: pd.DataFrame | None = None) -> dt.date:
    """The date of the last close of the benchmark (SPY) in the daily price table ``etf_close``
    (the embedded ``data/`` copy, or the one built from ``ROTATION_MIRROR`` when it is set)."""
    if prices is None:
        from ..derived import load_table

        prices = load_table("etf_close")
    col = prices.get(CALENDAR_TICKER, prices)
    dates = col.dropna(how="all").index
    if len(dates) == 0:
        raise DataError(f"no {CALENDAR_TICKER} closes in the daily price table etf_close")
    return pd.Timestamp(dates.max()).date()


def price_coverage(month: str, last_date: dt.date) -> PriceCoverage:
    """Whether ``month`` is complete in prices ending ``last_date``, and its last price date."""
    p = parse_month(month)
    ltd = last_trading_day(p)
    if ltd <= last_date:
        return PriceCoverage(str(p), True, ltd.isoformat(), ltd.isoformat())
    through = last_date.isoformat() if last_date >= p.start_time.date() else None
    return PriceCoverage(str(p), False, through, ltd.isoformat())


def latest_month() -> str:
    """The report month ``rotation report`` renders by default: the newest complete month of
    daily prices (its last trading day is in the data)."""
    return latest_complete_month(last_price_date())
