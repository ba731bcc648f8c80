"""Perturbations the checker generates itself: the same claim with a window end or a price date
moved, each labelled by what moved.

Two classes, because over-hedging is as wrong as under-testing:

- **conventions** of the same claim: a one-trading-day shift of either end of every return window
  (the close of the last day before a period vs the close of its first day) and, for P/E
  metrics, the other price date the S&P DJI sheet offers (its own price date, the year-end; none
  for a P/E the claim puts on a date more than a month from the sheet's prices, which is another
  measurement). One that flips the main verdict makes it "partly supported".
- **sensitivity**: five-trading-day shifts of each end and, for an ``outperform`` claim over a
  named period of whole months, each calendar month of it measured alone. They never change the
  verdict; one that reverses it marks the verdict fragile.

Return windows are found in the ``start``/``end`` fields of ``outperform`` claims and in every
``return:<TICKER>:<start>[:<end>]`` token of a metric field, so a metric expression (``a - b``) is
moved the same way. Trading days are the NYSE calendar of :mod:`rotation_utils.trading_days`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from ..trading_days import last_trading_day, shift_trading_days
from .kinds import KINDS
from .metrics import INDEXES, SECTORS, Context
from .spec import Definition

__all__ = ["CONVENTION", "SENSITIVITY", "Perturbation", "perturbations", "pe_subjects"]

CONVENTION, SENSITIVITY = "convention", "sensitivity"

#: ``return:<TICKER>:<start>[:<end>]`` inside a metric name or expression.
_RETURN = re.compile(
    r"(?P<head>return:[A-Z][A-Z0-9.\-^]{0,9}):(?P<start>\d{4}-\d{2}-\d{2})"
    r"(?::(?P<end>\d{4}-\d{2}-\d{2}))?(?![\d:-])"
)
#: ``pe_forward:<index>[:<sector>]`` / ``pe_last_year:...`` with an optional ``@YYYY-MM-DD``.
_PE = re.compile(
    r"(?P<head>\bpe_(?:forward|last_year):(?P<index>"
    + "|".join(map(re.escape, sorted(INDEXES, key=len, reverse=True)))
    + r")(?::(?P<sector>"
    + "|".join(map(re.escape, sorted(SECTORS, key=len, reverse=True)))
    + r"))?)(?:@(?P<at>\d{4}-\d{2}-\d{2}))?"
)
#: Kinds whose fields can hold a metric (and so a return window or a P/E).
_METRIC_TYPES = ("metric", "operand")


@dataclass(frozen=True)
class Perturbation:
    """A generated definition: ``role`` is :data:`CONVENTION` or :data:`SENSITIVITY`; ``moved``
    says what moved ("the window starts 2025-10-01, 1 trading day later")."""

    definition: Definition
    role: str
    moved: str  # the row's label: "window starts 2025-10-01 (1 trading day later)"
    when: str  # how a sentence says it: "when the window starts 2025-10-01 (1 trading day later)"


def perturbations(d: Definition, ctx: Context) -> list[Perturbation]:
    """Every natural perturbation of definition ``d`` as of ``ctx.month`` (none for a kind that
    has none: ``extreme``, ``not_checkable``, registered checks)."""
    if d.kind == "check" or d.kind not in KINDS:
        return []
    out = [*_window_shifts(d, ctx), *_price_dates(d, ctx), *_months(d, ctx)]
    seen: set[str] = set()
    unique = []
    for p in out:  # two shifts that land on the same window are one row
        key = repr(sorted(p.definition.fields.items()))
        if key not in seen and p.definition.fields != d.fields:
            seen.add(key)
            unique.append(p)
    return unique


# --------------------------------------------------------------------------- return windows


def _metric_fields(d: Definition) -> list[str]:
    spec = KINDS[d.kind]
    return [
        n
        for n, f in spec.fields.items()
        if f.type in _METRIC_TYPES and isinstance(d.fields.get(n), str)
    ]


def _ends(d: Definition) -> tuple[set[str], set[str | None]]:
    """The distinct start dates and end dates (None: the report month's last close) of every
    return window of ``d``."""
    starts: set[str] = set()
    ends: set[str | None] = set()
    if d.kind == "outperform":
        starts.add(d.fields["start"])
        ends.add(d.fields["end"])
    for n in _metric_fields(d):
        for m in _RETURN.finditer(d.fields[n]):
            starts.add(m["start"])
            ends.add(m["end"])
    return starts, ends


def _rewrite(d: Definition, which: str, old: str | None, new: str, label: str) -> Definition:
    """``d`` with every window ``which`` ("start" or "end") equal to ``old`` set to ``new``."""
    changes: dict[str, object] = {}
    if d.kind == "outperform" and d.fields[which] == old:
        changes[which] = new

    def sub(m: re.Match) -> str:
        start, end = m["start"], m["end"]
        if which == "start" and start == old:
            start = new
        if which == "end" and end == old:
            end = new
        return f"{m['head']}:{start}" + (f":{end}" if end else "")

    for n in _metric_fields(d):
        text = _RETURN.sub(sub, d.fields[n])
        if text != d.fields[n]:
            changes[n] = text
    return d.with_fields(label, **changes)


def _days(n: int) -> str:
    return f"{abs(n)} trading day{'' if abs(n) == 1 else 's'} {'later' if n > 0 else 'earlier'}"


def _window_shifts(d: Definition, ctx: Context) -> Iterator[Perturbation]:
    starts, ends = _ends(d)
    last = last_trading_day(ctx.month)
    for n in (1, -1, 5, -5):
        role = CONVENTION if abs(n) == 1 else SENSITIVITY
        for s in sorted(starts):
            new = shift_trading_days(s, n)
            if new > last or any(e is not None and new >= dt.date.fromisoformat(e) for e in ends):
                continue
            moved = f"window starts {new} ({_days(n)})"
            yield Perturbation(
                _rewrite(d, "start", s, new.isoformat(), moved), role, moved, f"when the {moved}"
            )
        for e in sorted(ends, key=lambda x: x or ""):
            base = dt.date.fromisoformat(e) if e else last
            new = shift_trading_days(base, n)
            # Not after the report month; for "to the month's last close" only earlier ends.
            if new > last or (e is None and n > 0):
                continue
            if any(new <= dt.date.fromisoformat(s) for s in starts):
                continue
            moved = f"window ends {new} ({_days(n)})"
            yield Perturbation(
                _rewrite(d, "end", e, new.isoformat(), moved), role, moved, f"when the {moved}"
            )


def _months(d: Definition, ctx: Context) -> Iterator[Perturbation]:
    """An ``outperform`` claim over whole calendar months (from a month's last close, or its first
    day, to a month's last close): each month measured alone, from the close before it."""
    if d.kind != "outperform" or d.fields["end"] is None:
        return
    start, end = (dt.date.fromisoformat(d.fields[k]) for k in ("start", "end"))
    m_end = pd.Period(end, "M")
    if end not in (last_trading_day(m_end), m_end.end_time.date()):
        return
    m_start = pd.Period(start, "M")
    if start in (last_trading_day(m_start), m_start.end_time.date()):
        first = m_start + 1
    elif start.day == 1 or start == shift_trading_days(last_trading_day(m_start - 1), 1):
        first = m_start
    else:
        return
    months = pd.period_range(first, m_end, freq="M")
    if not 2 <= len(months) <= 12:
        return
    for m in months:
        a, b = last_trading_day(m - 1), last_trading_day(m)
        moved = f"{m.strftime('%B %Y')} alone ({a} to {b})"
        yield Perturbation(
            d.with_fields(moved, start=a.isoformat(), end=b.isoformat()),
            SENSITIVITY,
            moved,
            f"in {m.strftime('%B %Y')} alone",
        )


# --------------------------------------------------------------------------- P/E price dates


def _price_dates(d: Definition, ctx: Context) -> Iterator[Perturbation]:
    """Every P/E of ``d`` at the sheet's other price date (its own date or the year-end)."""
    fields = _metric_fields(d)
    found = {m["at"] or "" for n in fields for m in _PE.finditer(d.fields[n])}
    if len(found) != 1:  # no P/E, or P/Es at different dates on purpose
        return
    pe = ctx.pe_basis("All")
    if pe.table is None:
        return
    year_end = f"{pe.forward_year - 1}-12-31"
    offered = {
        "": f"the sheet's price date {pe.price_date}",
        year_end: f"the year-end price {year_end}",
    }
    now = found.pop()
    now = "" if now == pe.price_date else now
    if now and now != year_end and _far(now, pe.price_date):
        # A P/E the claim puts on a date more than a month from the sheet's prices (the
        # article's) is another measurement at the sheet's dates, not a convention of it.
        return
    for at, words in offered.items():
        if at == now:
            continue
        moved = f"P/E at {words}"
        yield Perturbation(_move_pe(d, fields, at, moved), CONVENTION, moved, f"with the {moved}")


def _far(at: str, price_date: str) -> bool:
    """``at`` is more than a calendar month from the sheet's ``price_date``."""
    try:
        a, p = pd.Timestamp(at), pd.Timestamp(price_date)
    except ValueError:
        return False
    month = pd.DateOffset(months=1)
    return a > p + month or a < p - month


def _move_pe(d: Definition, fields: list[str], at: str, label: str) -> Definition:
    def sub(m: re.Match) -> str:
        return m["head"] + (f"@{at}" if at else "")

    repl: Callable[[str], str] = lambda text: _PE.sub(sub, text)  # noqa: E731
    return d.with_fields(label, **{n: repl(d.fields[n]) for n in fields})


def pe_subjects(defs: Iterable[Definition]) -> list[tuple[str, str]]:
    """The distinct (index, sector) of every P/E metric in the fields of ``defs`` (sector "All"
    for a whole index), in the order they first appear: whose price the sheet's P/Es are on."""
    found: dict[tuple[str, str], None] = {}
    for d in defs:
        if d.kind == "check" or d.kind not in KINDS:
            continue
        for n in _metric_fields(d):
            for m in _PE.finditer(d.fields[n]):
                found[(m["index"], m["sector"] or "All")] = None
    return list(found)
