"""Where a table came from, carried in ``DataFrame.attrs['provenance']``.

A :class:`Provenance` is stored as a plain dict-like record so it survives pandas operations
that copy ``attrs`` and can be written as JSON into manifests and report summaries. The record is
read-only (:func:`frozen`): pandas deep-copies ``attrs`` on every operation, and a price table's
provenance (its provider segments) made each column selection or division cost 50x its arithmetic;
a read-only record is shared instead of copied.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["Provenance", "provenance_of", "caption", "with_provenance", "frozen"]


@dataclass(frozen=True)
class Provenance:
    """The citation of one loaded table.

    Attributes
    ----------
    publisher : str
        Who publishes the data (e.g. "Kenneth R. French Data Library").
    title : str
        File or series title.
    url : str
        Official URL the raw file is published at.
    vintage : str
        Data vintage as the file states it (e.g. "CRSP 202408", "as of 2026-01-30").
    sha256 : str
        Hash of the raw file bytes that were parsed (empty for curated tables).
    coverage : str
        First and last period, "YYYY-MM .. YYYY-MM".
    read_from : str
        "mirror", "cache", "url" or "embedded data/".
    table : str
        The table title inside the file, when the file holds several.
    """

    publisher: str
    title: str
    url: str
    vintage: str
    sha256: str = ""
    coverage: str = ""
    read_from: str = ""
    table: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Provenance:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    def updated(self, **changes: Any) -> Provenance:
        return replace(self, **changes)

    def caption(self) -> str:
        """One line for a figure or table: source, table (in words), vintage and coverage."""
        parts = [f"Source: {self.publisher}, {self.title}"]
        if self.table:
            parts[0] += f" ({table_words(self.table)})"
        if self.vintage:
            parts.append(f"vintage {self.vintage}")
        if self.coverage:
            parts.append(f"data {self.coverage}")
        return "; ".join(parts) + "."


class _ReadOnly:
    """A container that cannot change, so ``copy.deepcopy`` (pandas' ``attrs`` propagation) can
    share it instead of copying it. Mixed into ``dict`` and ``list``: JSON, equality and
    ``isinstance`` checks still see a plain record."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("provenance is read-only; build a new one with Provenance.updated()")

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict) -> Any:
        return self

    def __reduce__(self) -> tuple:  # pickle rebuilds it from a plain copy, not item by item
        plain = list(self) if isinstance(self, list) else dict(self)  # type: ignore[call-overload]
        return (type(self), (plain,))


class _FrozenDict(_ReadOnly, dict):
    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _ReadOnly._read_only  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _ReadOnly._read_only  # type: ignore[assignment]


class _FrozenList(_ReadOnly, list):
    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _ReadOnly._read_only  # type: ignore[assignment]
    append = extend = insert = remove = _ReadOnly._read_only  # type: ignore[assignment]
    pop = clear = sort = reverse = _ReadOnly._read_only  # type: ignore[assignment]


def frozen(value: Any) -> Any:
    """``value`` with every dict and list in it made read-only (other values as they are)."""
    if isinstance(value, dict):
        return (
            value
            if isinstance(value, _FrozenDict)
            else _FrozenDict({k: frozen(v) for k, v in value.items()})
        )
    if isinstance(value, list):
        return value if isinstance(value, _FrozenList) else _FrozenList(frozen(v) for v in value)
    if isinstance(value, tuple):
        return tuple(frozen(v) for v in value)
    return value


def provenance_of(obj: Any) -> Provenance:
    """Return the provenance stored on a pandas object.

    Raises
    ------
    KeyError
        If the object carries none (a table built without going through a loader).
    """
    p = obj.attrs.get("provenance")
    if p is None:
        raise KeyError("object carries no provenance in .attrs['provenance']")
    return p if isinstance(p, Provenance) else Provenance.from_dict(p)


def with_provenance(obj: Any, prov: Provenance) -> Any:
    """Attach ``prov`` to ``obj`` (in place), with the first and last date of its index as the
    coverage when the index is dated; return ``obj``."""
    import pandas as pd

    if isinstance(obj.index, pd.PeriodIndex | pd.DatetimeIndex) and len(obj.index):
        prov = prov.updated(coverage=f"{_label(obj.index[0])} .. {_label(obj.index[-1])}")
    obj.attrs["provenance"] = frozen(prov.to_dict())
    return obj


#: How a reader knows the tables a parser names by an id (the S&P DJI sheet's parts).
TABLE_WORDS = {
    "index_pe": "index P/Es and projected growth",
    "quarterly_eps": "quarterly EPS",
    "estimate_revisions": "weekly EPS estimate history",
    "annual_eps": "annual EPS and P/Es by index",
    "quarterly_eps_by_sector": "quarterly EPS by sector",
}


def table_words(table: str) -> str:
    """A parser's table id in words ("annual_eps" -> "annual EPS and P/Es by index"); a title
    that is already words (French's "Average Value Weighted Returns -- Monthly") is kept."""
    if table in TABLE_WORDS:
        return TABLE_WORDS[table]
    return table.replace("_", " ") if table.isidentifier() else table


def caption(*objs: Any, note: str = "") -> str:
    """Caption for a figure built from one or more loaded tables (one line per source)."""
    lines = []
    for o in objs:
        c = provenance_of(o).caption()
        if c not in lines:
            lines.append(c)
    if note:
        lines.append(note)
    return "\n".join(lines)


def _label(x: Any) -> str:
    s = str(x)
    return s[:10] if len(s) >= 10 and s[4] == "-" and s[7] == "-" else s
