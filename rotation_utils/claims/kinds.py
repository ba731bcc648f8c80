"""Claim kinds: one function per kind, one signature ``(fields, ctx) -> Outcome``, one registry.

A kind declares its fields (:class:`Field`: type, required, default), which the claims-file
parser checks, and turns them into an :class:`Outcome`: a verdict, one line of evidence built from
the computed numbers, and those numbers (:class:`~rotation_utils.claims.metrics.Value`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..measures.prices import returns_heading
from ..spreads import widest_since
from ..units import format_value
from .expressions import Combined
from .metrics import (
    Context,
    Value,
    evaluate,
    format_number,
    metric_history,
    metric_label,
    pe_price_move,
    window_return,
)

__all__ = [
    "VERDICTS",
    "FOR_CONTEXT",
    "Field",
    "Kind",
    "Outcome",
    "KINDS",
    "OPS",
    "run_kind",
    "price_move",
]

VERDICTS = ("supported", "partly supported", "contradicted", "not checkable")
#: The verdict column of a row the checker adds for information only (how far an index moved
#: between the sheet's prices and the article): no verdict on the claim, and never counted as one.
FOR_CONTEXT = "for context"
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
FIELD_TYPES = (
    "metric",
    "operand",
    "number",
    "op",
    "direction",
    "month",
    "date",
    "tickers",
    "ticker",
    "text",
    "int",
)


@dataclass(frozen=True)
class Field:
    """A field of a kind: its type (one of ``FIELD_TYPES``), whether it is required, its default."""

    type: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class Outcome:
    """What a kind (or a registered check) concludes under one definition."""

    verdict: str
    evidence: str
    numbers: tuple[Value, ...] = ()
    summary: str = ""  # the key numbers in a few words, for a robustness table row
    #: How far the numbers are from the claim, relative (0.395: 39.5% off); None when the kind
    #: has no such measure (a return race, an extreme) or nothing was computed.
    miss: float | None = None

    def __post_init__(self) -> None:
        if self.verdict not in (*VERDICTS, FOR_CONTEXT):
            raise ValueError(f"verdict {self.verdict!r} is not one of {(*VERDICTS, FOR_CONTEXT)}")


@dataclass(frozen=True)
class Kind:
    name: str
    fields: Mapping[str, Field]
    run: Callable[[Mapping[str, Any], Context], Outcome]
    meaning: str


def _missing(values: list[Value]) -> Outcome | None:
    """A "not checkable" outcome naming every unavailable number, or None when all are there."""
    bad = [v for v in values if not v.available]
    if not bad:
        return None
    # Reasons that differ only in the subject they name ("XLF prices have a gap ...", "XLI prices
    # have a gap ...") are said once for all of them; other shared reasons once with the labels.
    by_reason: dict[str, list[Value]] = {}
    for v in bad:
        named = bool(v.subject) and v.subject in v.reason
        by_reason.setdefault(v.reason.replace(v.subject, "\0") if named else v.reason, []).append(v)
    why = "; ".join(
        r.replace("\0", _and([v.subject for v in vs])) if "\0" in r else f"{_labels(vs)}: {r}"
        for r, vs in by_reason.items()
    )
    return Outcome("not checkable", _cap(why), tuple(values), bad[0].reason)


def _labels(vs: list[Value]) -> str:
    """Several metrics named at once: "S&P 600 and S&P 500 forward P/E"."""
    if len(vs) > 1 and all(v.subject for v in vs) and len({v.measure for v in vs}) == 1:
        return f"{_and([v.subject for v in vs])} {vs[0].measure}"
    return _and([v.label for v in vs])


def _a(number: str) -> str:
    """The article before a number as it is read: "an 18.9%", "an 8.0%", "a 27.9%"."""
    whole = number.lstrip("+-~<> ").split(".")[0].rstrip("%")
    eleven = whole[:2] in ("11", "18") and len(whole) % 3 == 2
    return "an" if whole.startswith("8") or eleven else "a"


def _and(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _cap(text: str) -> str:
    """``text`` as the start of a sentence."""
    return text[:1].upper() + text[1:]


def _operand(ctx: Context, x: float | str) -> Value:
    if isinstance(x, str):
        return evaluate(ctx, x)
    return Value(float(x), "", basis="a number", name=format(x, "g"))


def _is_number(v: Value) -> bool:
    return v.basis == "a number"


def _shown(v: Value, unit: str) -> str:
    """A metric as it shows; a plain number of a claims file in the other side's unit."""
    return format_number(v.value, unit) if _is_number(v) else v.shown()


def _side(v: Value, other: Value, bases: bool) -> str:
    """One side of a comparison alone: an expression worked out (each operand, then the
    result), a plain number in the other side's unit, or a metric with its label and basis."""
    if isinstance(v, Combined):
        return v.worked(bases)
    if _is_number(v):
        return _shown(v, other.unit)
    return f"{v.label} {v.shown()}" + (f" ({v.dated_basis})" if bases and v.dated_basis else "")


def _pair(a: Value, b: Value, *, bases: bool = True) -> str:
    """Two numbers side by side, each with its label: "S&P 600 forward P/E 16.19x (2026E EPS,
    prices 2026-01-29) vs S&P 500 22.46x". A shared measure and a shared basis are said once;
    ``bases=False`` leaves the bases out (robustness rows, whose definition label says them).
    An expression shows its operands, then its result (:meth:`Combined.worked`)."""
    if isinstance(a, Combined) or isinstance(b, Combined):
        return f"{_side(a, b, bases)} vs {_side(b, a, bases)}"
    if _is_number(a) and not _is_number(b):
        right = f"{b.label} {b.shown()}" + (
            f" ({b.dated_basis})" if bases and b.dated_basis else ""
        )
        return f"{_shown(a, b.unit)} vs {right}"
    if _is_number(b):
        left = f"{a.label} {a.shown()}" + (f" ({a.dated_basis})" if bases and a.dated_basis else "")
        return f"{left} vs {_shown(b, a.unit)}"
    same = a.measure == b.measure and a.subject and b.subject
    b_name = b.subject if same else b.label
    if not bases:
        return f"{a.subject if same else a.label} {a.shown()} vs {b_name} {b.shown()}"
    # Basis parts both sides share are said once ("prices" when that is their price date).
    ap, bp = _parts(a.dated_basis), _parts(b.dated_basis)
    shared = [x for x in ap if x in bp]
    a_own, b_own = [x for x in ap if x not in shared], [x for x in bp if x not in shared]
    if not a_own and not b_own:
        both = ", ".join(shared).replace("price ", "prices ", 1)
        return (
            f"{a.label} {a.shown()}" + (f" ({both})" if both else "") + f" vs {b_name} {b.shown()}"
        )
    left = f"{a.label} {a.shown()}" + (f" ({', '.join(a_own)})" if a_own else "")
    right = f"{b_name} {b.shown()}" + (f" ({', '.join(b_own)})" if b_own else "")
    return f"{left} vs {right}" + (f", both {', '.join(shared)}" if shared else "")


def _parts(basis: str) -> list[str]:
    """The comma-separated parts of a basis, commas inside parentheses kept."""
    parts, depth, cur = [], 0, ""
    for ch in basis:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [p for p in [*parts, cur.strip()] if p]


#: What a comparison claims, in words, and what the numbers show.
_CLAIMED = {"<": "lower", "<=": "at most equal", ">": "higher", ">=": "at least equal"}


def _found(x: float, y: float) -> str:
    return "lower" if x < y else "higher" if x > y else "equal"


def _value(f: Mapping[str, Any], ctx: Context) -> Outcome:
    v, st = evaluate(ctx, f["metric"]), _operand(ctx, f["stated"])
    if out := _missing([v, st]):
        return out
    stated, tol = st.value, float(f["tolerance"])
    if stated == 0:
        return Outcome(
            "not checkable",
            "The stated value is 0: a relative tolerance needs a non-zero value",
            (v, st),
            "stated value is 0",
        )
    off = v.value / stated - 1.0
    ok = abs(off) <= tol
    numbered = _is_number(st)
    # The stated side's date is the article's: its basis is enough.
    claimed = (
        format_number(stated, v.unit)
        if numbered
        else st.worked()
        if isinstance(st, Combined)
        else f"{st.label} {st.shown()} ({st.basis})"
    )
    said = v.worked() if isinstance(v, Combined) else f"{_cap(v.label)} {v.described()}"
    gap = f"{abs(off):.1%} {_found(v.value, stated)}" if off else "equal"
    band = f"{'within' if ok else 'outside'} the ±{tol * 100:g}% tolerance"
    return Outcome(
        "supported" if ok else "contradicted",
        f"{said} vs the stated {claimed}: {gap}, {band}" + (", as claimed" if ok else ""),
        (v,) if numbered else (v, st),
        f"{v.worked(False) if isinstance(v, Combined) else v.shown()} vs stated "
        f"{format_number(stated, v.unit)}: {gap}, {band}",
        abs(off),
    )


def _compare(f: Mapping[str, Any], ctx: Context) -> Outcome:
    left, right = _operand(ctx, f["left"]), _operand(ctx, f["right"])
    if out := _missing([left, right]):
        return out
    holds = OPS[f["op"]](left.value, right.value)
    found, claimed = _found(left.value, right.value), _CLAIMED[f["op"]]
    said = (
        (f"{found}, as claimed" if found == claimed else f"{found}, so {claimed}, as claimed")
        if holds
        else f"{found}, not {claimed} as claimed"
    )
    return Outcome(
        "supported" if holds else "contradicted",
        f"{_cap(_pair(left, right))}: {said}",
        (left, right),
        f"{_pair(left, right, bases=False)}: {found}" + ("" if holds else f", not {claimed}"),
        0.0 if holds else abs(left.value - right.value) / abs(right.value) if right.value else None,
    )


def _discount(f: Mapping[str, Any], ctx: Context) -> Outcome:
    small, large = evaluate(ctx, f["small"]), evaluate(ctx, f["large"])
    if out := _missing([small, large]):
        return out
    if large.value == 0:
        return Outcome(
            "not checkable", f"{_cap(large.label)} is 0", (small, large), f"{large.label} is 0"
        )
    d = 1.0 - small.value / large.value
    stated, tol = float(f["stated"]), float(f["tolerance"])
    ok = abs(d - stated) <= tol
    same = small.measure == large.measure and small.subject and large.subject
    disc = Value(
        d,
        "ratio",
        as_of=small.as_of,
        basis="discount",
        name=f"1 - {small.name} / {large.name}",
        subject=f"{small.subject} vs {large.subject}" if same else "",
        measure=f"{small.measure} discount" if same else f"{small.label} discount to {large.label}",
    )
    size = f"{_a(f'{abs(d):.1%}')} {abs(d):.1%} {'discount' if d >= 0 else 'premium'}"
    diff = d - stated
    gap = (
        f"{abs(diff) * 100:.1f} pp {'above' if diff > 0 else 'below'} the stated {stated:.1%}"
        if round(diff * 1000)
        else f"the stated {stated:.1%}"
    )
    band = f"{'within' if ok else 'outside'} the ±{tol * 100:.1f} pp tolerance"
    return Outcome(
        "supported" if ok else "contradicted",
        f"{_cap(_pair(small, large))}: {size}, {gap}, {band}" + (", as claimed" if ok else ""),
        (small, large, disc),
        f"{_pair(small, large, bases=False)}: {size}, {gap} (±{tol * 100:.1f} pp)",
        abs(diff) / abs(stated) if stated else abs(diff),
    )


def _extreme(f: Mapping[str, Any], ctx: Context) -> Outcome:
    subject, measure = metric_label(f["metric"], ctx.facts)
    label = " ".join(x for x in (subject, measure) if x)
    try:
        h = metric_history(ctx, f["metric"])
    except ValueError as e:  # a metric with no monthly history has no extreme
        return Outcome("not checkable", f"{_cap(label)}: {e}", (), str(e))
    s, basis, src, unit = h.series.dropna(), h.basis, h.source, h.unit
    if h.reason:
        return Outcome("not checkable", f"{_cap(label)}: {h.reason}", (), h.reason)
    if s.empty:
        return Outcome("not checkable", f"{_cap(label)}: no data on or before {ctx.month}")
    since = pd.Period(f["since"], "M")
    last = s.index[-1]
    if pd.Period(str(last), "M") < since:
        return Outcome(
            "not checkable",
            f"{_cap(label)}: the data as of {ctx.month} end {last}, before {since}: the period the "
            "claim compares with has not happened yet",
            (),
            f"data end {last}, before {since}",
        )
    recent = s[s.index > last - int(f["window"])]
    low = f["direction"] == "low"
    at = recent.idxmin() if low else recent.idxmax()
    was = widest_since(s, at=at, extreme=f["direction"])
    ok = was is None or pd.Period(str(was), "M") < since
    v = Value(
        float(s.loc[at]), unit, as_of=str(at), basis=basis, source=src, name=f["metric"],
        subject=subject, measure=measure,
    )  # fmt: skip
    word = "lowest" if low else "highest"
    more = "lower" if low else "higher"
    then = f" ({format_number(float(s.loc[was]), unit)} then)" if was is not None else ""
    if was is None:
        said = f"the {word} in the data: no {more} value from {since} on, as claimed"
    elif ok:
        said = f"the {word} since {was}{then}: no {more} value from {since} on, as claimed"
    else:
        # widest_since finds the last value at least as extreme: a tie is "as low", not "lower".
        tie = float(s.loc[was]) == float(s.loc[at])
        was_word = f"as {'low' if low else 'high'}" if tie else more
        said = f"only the {word} since {was}, which was {was_word}{then}: not the {word} from {since} on as claimed"
    lag = (pd.Period(ctx.month, "M") - pd.Period(str(last), "M")).n
    prior = (
        f"{word} since {was} ({format_number(float(s.loc[was]), unit)})"
        if was is not None
        else f"{word} in the data"
    )
    return Outcome(
        "supported" if ok else "contradicted",
        f"{_cap(label)} {v.shown()} in {at}, the {word} of the last {f['window']} months of data, is "
        f"{said}. Basis: {basis}; data end {last} "
        f"({lag} month{'' if lag == 1 else 's'} before {ctx.month}).",
        (v,),
        f"{v.shown()} in {at}, {prior}, needs {word} since {since}",
    )


def _outperform(f: Mapping[str, Any], ctx: Context) -> Outcome:
    start, end = f["start"], f.get("end")
    rets = {t: window_return(ctx, t, start, end) for t in [*f["winners"], *f["losers"]]}
    if out := _missing(list(rets.values())):
        return out
    pairs = [(w, lo) for w in f["winners"] for lo in f["losers"]]
    won = [(w, lo) for w, lo in pairs if rets[w].value > rets[lo].value]
    verdict = (
        "supported" if len(won) == len(pairs) else "partly supported" if won else "contradicted"
    )
    heading = returns_heading(list(rets.values()))
    window = str(next(iter(rets.values())).window)

    def listed(ts: list[str]) -> str:
        return ", ".join(f"{t} {format_value(rets[t].value, 'ratio', signed=True)}" for t in ts)

    names = _and
    both = f"{listed(f['winners'])} vs {listed(f['losers'])}"
    each = "each " if len(f["winners"]) > 1 else ""
    beaten = "; ".join(
        f"{lo} beat {names(ws)}"
        for lo in f["losers"]
        if (ws := [w for w in f["winners"] if (w, lo) not in won])
    )
    if len(won) == len(pairs):
        said = f"{names(f['winners'])} {each}beat {names(f['losers'])}, as claimed"
    elif len(pairs) == 1:
        said = f"{beaten}, not as claimed"
    else:
        said = (
            f"{beaten}, so {len(won) or 'none'} of the {len(pairs)} winner/loser pairs as claimed"
        )
    short = (
        "as claimed"
        if len(won) == len(pairs)
        else beaten
        if len(pairs) == 1
        else f"{len(won)} of {len(pairs)} pairs as claimed"
    )
    return Outcome(
        verdict,
        f"{heading}: {both}: {said}",
        tuple(rets.values()),
        f"{both} ({window}): {short}",
    )


def _not_checkable(f: Mapping[str, Any], ctx: Context) -> Outcome:
    return Outcome("not checkable", _cap(str(f["reason"])), (), str(f["reason"]))


def price_move(ctx: Context, index: str, sector: str, since: str, until: str) -> Outcome:
    """How far the price of ``index`` (``sector``, "All" for the whole index) moved from the
    sheet's price date ``since`` to the article's date ``until``, by its ETF's closes
    (:func:`~rotation_utils.claims.metrics.pe_price_move`): a :data:`FOR_CONTEXT` row, or
    "not checkable" with the reason when the move cannot be measured. Either way a context row,
    so it never changes a verdict."""
    v = pe_price_move(ctx, index, sector, since, until)
    label = index if sector == "All" else f"{index} {sector}"
    if not v.available:
        short = f"the {label} move between the sheet's prices and the article cannot be measured"
        return Outcome("not checkable", _cap(f"{short}: {v.reason}"), (v,), f"{short}: {v.reason}")
    said = (
        f"{label} moved {format_value(v.value, 'ratio', signed=True)} ({v.subject} {v.measure} "
        f"{v.window}) between the sheet's prices and the article"
    )
    return Outcome(
        FOR_CONTEXT,
        f"{_cap(said)}: the sheet's P/Es are on {since} prices, the article is dated {until} "
        f"({v.subject}: {v.basis})",
        (v,),
        said,
    )


#: Every kind a claims file may use, by name.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "value",
            {
                "metric": Field("metric"),
                "stated": Field("operand"),
                "tolerance": Field("number", False, 0.05),
            },
            _value,
            "the metric equals the stated number within a relative tolerance",
        ),
        Kind(
            "compare",
            {"left": Field("operand"), "op": Field("op"), "right": Field("operand")},
            _compare,
            "left op right, each a metric, an expression over metrics or a number",
        ),
        Kind(
            "discount",
            {
                "small": Field("metric"),
                "large": Field("metric"),
                "stated": Field("number"),
                "tolerance": Field("number", False, 0.02),
            },
            _discount,
            "1 - small / large equals the stated decimal within an absolute tolerance",
        ),
        Kind(
            "extreme",
            {
                "metric": Field("metric"),
                "direction": Field("direction"),
                "since": Field("month"),
                "window": Field("int", False, 12),
            },
            _extreme,
            "the lowest (highest) value of the last `window` months of data is the most extreme since `since`",
        ),
        Kind(
            "outperform",
            {
                "winners": Field("tickers"),
                "losers": Field("tickers"),
                "start": Field("date"),
                "end": Field("date", False, None),
            },
            _outperform,
            "every winner's return beats every loser's from start to end (default: the month's last close)",
        ),
        Kind(
            "not_checkable",
            {"reason": Field("text")},
            _not_checkable,
            "no public data can check it",
        ),
    ]
}


def run_kind(kind: str, fields: Mapping[str, Any], ctx: Context) -> Outcome:
    """Run one kind (``KINDS[kind]``) on validated fields."""
    return KINDS[kind].run(fields, ctx)
