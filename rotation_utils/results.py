"""One computed number and everything a reader needs to know about it: :class:`Value`.

Every figure a notebook records, every number in claims evidence and every caption is built
from a :class:`Value`. Its words ("total return", "since 2026-01-13", "mixed: ...") come from
its fields (:attr:`Value.basis`, :attr:`Value.window`), never typed beside the number, and it
prints through the one formatter in :mod:`rotation_utils.units`. "Not available" is a Value
too: ``value=None`` with the ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from . import units

__all__ = ["Value", "Window", "unavailable"]


@dataclass(frozen=True)
class Window:
    """The exact dates a number spans: from the close (or month) ``start`` to ``end``.

    Both are ISO dates (YYYY-MM-DD) or months (YYYY-MM); ``str(w)`` is "2026-01-13 to 2026-07-31".
    """

    start: str
    end: str

    def __str__(self) -> str:
        return f"{self.start} to {self.end}"

    def since(self) -> str:
        """ "since 2026-01-13" for prose."""
        return f"since {self.start}"


@dataclass(frozen=True)
class Value:
    """One number (or text such as a ticker) with its unit, date, basis, window and source.

    Attributes
    ----------
    value : float, str or None
        In ``unit`` (see :data:`rotation_utils.units.UNITS`); None when not available.
    unit : str
        A key of :data:`rotation_utils.units.UNITS`, e.g. "x", "ratio", "ratio_diff", "pp".
    as_of : str
        The date or period the number describes (for prices, the last close used).
    basis : str
        What it is made of, in words a reader understands: "price return, Alpha Vantage
        unadjusted closes", "mixed: total return to 2026-03-27, price only after", "forward P/E,
        2026E EPS, prices 2026-01-29".
    window : Window or None
        The dates it spans, when it spans any (returns, changes).
    source : str
        Publisher, title and vintage of the data, as a reader reads them.
    reason : str
        Why ``value`` is None ("" when it is not).
    name : str
        The metric name it answers (claims) or the figure id (notebooks), never shown to a reader.
    qualifier : str
        For a cited figure: "less than", "more than", "about" or "".
    subject, measure : str
        The human label in two parts, e.g. "S&P 600 Financials" and "forward P/E".
    note : str
        A statement the page must carry with the number, e.g. that a later file served the month
        because the series is point-in-time by construction.
    """

    value: float | str | None
    unit: str
    as_of: str = ""
    basis: str = ""
    window: Window | None = None
    source: str = ""
    reason: str = ""
    name: str = ""
    qualifier: str = ""
    subject: str = ""
    measure: str = ""
    note: str = ""

    @property
    def available(self) -> bool:
        return self.value is not None

    @property
    def label(self) -> str:
        """What a reader is told the number is: "S&P 600 forward P/E", "XLF price return"."""
        return " ".join(x for x in (self.subject, self.measure) if x) or self.name

    def but(self, **changes: Any) -> Value:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def shown(self) -> str:
        """The number in its unit with its qualifier: "16.19x", "27.9%", "< 16x", "+3.6 pp"."""
        if self.value is None:
            return "n/a"
        if isinstance(self.value, str):
            return self.value
        q = {"less than": "< ", "more than": "> ", "about": "~"}.get(self.qualifier, "")
        return q + units.format_value(self.value, self.unit)

    @property
    def dated_basis(self) -> str:
        """The basis with the window or as-of date when the basis does not already give them."""
        parts = [self.basis] if self.basis else []
        if self.window is not None and str(self.window) not in self.basis:
            parts.append(str(self.window))
        elif self.as_of and self.as_of not in self.basis and self.window is None:
            parts.append(f"as of {self.as_of}")
        return ", ".join(parts)

    def described(self) -> str:
        """Number with basis and dates, for evidence lines and captions."""
        if self.value is None:
            return f"{self.label}: not available ({self.reason})"
        extra = self.dated_basis
        return f"{self.shown()} ({extra})" if extra else self.shown()

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (claims output, ``summary.json``)."""
        v = self.value
        out = {
            "metric": self.name,
            "label": self.label,
            "value": round(float(v), 10) if isinstance(v, (int, float)) else v,
            "unit": self.unit,
            "as_of": self.as_of,
            "basis": self.basis,
            "source": self.source,
            "qualifier": self.qualifier,
            "reason": self.reason,
        }
        if self.window is not None:
            out["window"] = {"start": self.window.start, "end": self.window.end}
        if self.note:
            out["note"] = self.note
        return out


def unavailable(unit: str, reason: str, **fields: Any) -> Value:
    """A :class:`Value` that does not exist as of the month, with the reason."""
    return Value(None, unit, reason=reason, **fields)
