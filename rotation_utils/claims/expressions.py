"""Metric expressions: metrics and numbers combined with ``+ - * /`` and parentheses.

Wherever a claims file accepts a metric (``metric``, ``left``, ``right``, ``stated``, ``small``,
``large``) it may write an expression instead, e.g.
``"return:EEM:2026-03-31:2026-07-31 - return:SPY:2026-03-31:2026-07-31"``. An operator is written
with a space on both sides, so a metric name keeps its colons, ``&``, dashes and spaces
(``pe_forward:S&P 600 / pe_forward:S&P 500``).

The text is untrusted: it is split by a small tokenizer and parsed by precedence climbing into a
typed tree (:class:`Number`, :class:`Metric`, :class:`BinOp`); nothing is ever passed to ``eval``
or Python's parser. Limits: :data:`MAX_LENGTH` characters, :data:`MAX_OPERANDS` operands,
parentheses nested at most :data:`MAX_NESTING` deep.

Units (:mod:`rotation_utils.units`) combine by :func:`combine_units`: ``+``/``-`` need the same
unit (a difference of two ratios is a ``ratio_diff``, of two percent rates ``pp``), ``*`` and
``/`` by a plain number keep the unit, a quotient of two numbers of the same unit is a multiple
``x``; anything else is a unit mismatch, refused when the claims file is loaded whenever the
operands' units are known from the catalog (:func:`static_unit`).

Each leaf is computed by :func:`rotation_utils.claims.metrics.evaluate`; the result is a
:class:`Combined` value that keeps its operands, so evidence shows each one with its label,
basis and date, then the result (:meth:`Combined.worked`). An operand that is not available
makes the expression not available, with that operand's reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..results import Value, Window
from ..units import UNITS

__all__ = [
    "MAX_LENGTH",
    "MAX_OPERANDS",
    "MAX_NESTING",
    "Number",
    "Metric",
    "BinOp",
    "Node",
    "Combined",
    "ExpressionError",
    "UnitMismatch",
    "is_expression",
    "parse_expression",
    "leaves",
    "render",
    "combine_units",
    "metric_unit",
    "static_unit",
    "evaluate_expression",
]

#: Limits on an expression of a claims file: characters, operands, depth of parentheses.
MAX_LENGTH = 400
MAX_OPERANDS = 20
MAX_NESTING = 8

#: Binding strength of each operator: ``*`` and ``/`` before ``+`` and ``-``.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
#: An operator with a space on both sides, or a parenthesis: everything between is an operand.
_SPLIT = re.compile(r"( \+ | - | \* | / |\(|\))")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")
#: The largest number an expression may hold, as for any number of a claims file.
_MAX_NUMBER = 1e12
#: The unit of a plain number: it takes the unit of what it is combined with.
PLAIN = ""


class ExpressionError(ValueError):
    """An expression that cannot be parsed or is over a limit; the message says why."""


class UnitMismatch(ExpressionError):
    """Two operands whose units cannot be combined by the operator (a P/E plus a return)."""


@dataclass(frozen=True)
class Number:
    """A number written in the expression; ``text`` as written."""

    value: float
    text: str


@dataclass(frozen=True)
class Metric:
    """A metric name (not yet checked against the catalog)."""

    name: str


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with ``op`` one of ``+ - * /``."""

    op: str
    left: Node
    right: Node


Node = Number | Metric | BinOp


def is_expression(text: object) -> bool:
    """Whether a field's text is an expression rather than one metric name: it holds an
    operator with a space on both sides, or a parenthesis.

    Examples
    --------
    >>> is_expression("pe_forward:S&P 600"), is_expression("return:EEM:2026-03-31 - 0.05")
    (False, True)
    """
    return isinstance(text, str) and _SPLIT.search(text) is not None


# --------------------------------------------------------------------------- parsing


def _tokens(text: str) -> list[str]:
    """Operators (stripped), parentheses and operands (stripped), in order."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters")
    # An operator is one only with its spaces (" - " is one, the "-" of a date is text), so the
    # pieces are stripped only after the split.
    return [tok for piece in _SPLIT.split(text) if (tok := piece.strip())]


class _Parser:
    """Precedence climbing over the tokens; every operand and parenthesis is counted."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.operands = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str | None:
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise ExpressionError("empty expression")
        node = self.expression(1)
        if self.peek() is not None:
            tok = self.peek()
            what = "an unmatched ')'" if tok == ")" else f"{tok!r} after a complete expression"
            raise ExpressionError(f"{what} (an operator needs a space on both sides)")
        return node

    def expression(self, min_prec: int) -> Node:
        left = self.atom()
        while (op := self.peek()) in _PRECEDENCE and _PRECEDENCE[op] >= min_prec:
            self.take()
            # left-associative: the right side binds only tighter operators
            left = BinOp(op, left, self.expression(_PRECEDENCE[op] + 1))
        return left

    def atom(self) -> Node:
        tok = self.take()
        if tok is None:
            raise ExpressionError("ends with an operator: an operand is missing")
        if tok == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExpressionError(f"parentheses nested more than {MAX_NESTING} deep")
            node = self.expression(1)
            if self.take() != ")":
                raise ExpressionError("a '(' is not closed")
            self.depth -= 1
            return node
        if tok in _PRECEDENCE or tok == ")":
            raise ExpressionError(f"{tok!r} where an operand is expected")
        self.operands += 1
        if self.operands > MAX_OPERANDS:
            raise ExpressionError(f"more than {MAX_OPERANDS} operands")
        if _NUMBER.match(tok):
            v = float(tok)
            if not math.isfinite(v) or abs(v) > _MAX_NUMBER:
                raise ExpressionError(f"{tok} is too large")
            return Number(v, tok)
        return Metric(tok)


def parse_expression(text: str) -> Node:
    """The tree of an expression (metric names not checked: see :func:`leaves`).

    Raises
    ------
    ExpressionError
        Empty, unbalanced, an operator without an operand, or over a limit.

    Examples
    --------
    >>> parse_expression("a - b * 2")
    BinOp(op='-', left=Metric(name='a'), right=BinOp(op='*', left=Metric(name='b'), right=Number(value=2.0, text='2')))
    """
    return _Parser(text).parse()


def leaves(node: Node) -> list[Number | Metric]:
    """The operands of ``node``, left to right."""
    if isinstance(node, BinOp):
        return [*leaves(node.left), *leaves(node.right)]
    return [node]


def render(
    node: Node,
    leaf: Callable[[Metric], str] = lambda m: m.name,
    number: Callable[[Number], str] = lambda n: n.text,
) -> str:
    """``node`` as text with only the parentheses its structure needs; ``leaf`` and ``number``
    say how an operand prints (default: as written).

    Examples
    --------
    >>> render(parse_expression("((a - b)) - (c - d) * 2"))
    'a - b - (c - d) * 2'
    """

    def go(n: Node, parent: int, right: bool, parent_op: str) -> str:
        if isinstance(n, Metric):
            return leaf(n)
        if isinstance(n, Number):
            return number(n)
        p = _PRECEDENCE[n.op]
        text = f"{go(n.left, p, False, n.op)} {n.op} {go(n.right, p, True, n.op)}"
        # a - (b - c) and a / (b * c) keep theirs: the right side of - and / does not associate
        needs = p < parent or (p == parent and right and parent_op in "-/")
        return f"({text})" if needs else text

    return go(node, 0, False, "+")


# --------------------------------------------------------------------------- units


def _unit_name(unit: str) -> str:
    return "a plain number" if unit == PLAIN else f"in {unit}"


def combine_units(op: str, a: str, b: str) -> str:
    """The unit of ``a op b`` (:data:`PLAIN` is a plain number's).

    Raises
    ------
    UnitMismatch
        The units cannot be combined by ``op``.

    Examples
    --------
    >>> combine_units("-", "ratio", "ratio"), combine_units("/", "x", "x")
    ('ratio_diff', 'x')
    >>> combine_units("*", "ratio", ""), combine_units("-", "percent", "percent")
    ('ratio', 'pp')
    """
    if op in "+-":
        if a == PLAIN or b == PLAIN:  # a number is read in the other side's unit
            return b if a == PLAIN else a
        if a == b == "ratio":
            return "ratio" if op == "+" else "ratio_diff"
        if a == b == "percent":
            return "percent" if op == "+" else "pp"
        if {a, b} == {"percent", "pp"} and not (op == "-" and a == "pp"):
            return "percent"  # a rate moved by points is a rate
        if a == b:
            return a
        raise UnitMismatch("+ and - need the same unit")
    if b == PLAIN:
        return a
    if a == PLAIN and op == "*":
        return b
    if op == "/" and a == b:
        return "x"  # a quotient of two numbers of one unit is a multiple
    if op == "*":
        raise UnitMismatch("* needs a plain number on one side")
    raise UnitMismatch("/ needs a plain number on the right or the same unit on both sides")


def metric_unit(name: str, facts: pd.DataFrame | None = None) -> str | None:
    """The unit metric ``name`` is computed in, known without data (the catalog; FRED series;
    a fact's row of ``facts``), or None when only its value will say."""
    from .metrics import _FRED_UNITS, CATALOG, parse_metric  # FRED units by series: one table

    ref = parse_metric(name)
    if ref.family in ("fred", "fred_change") and ref.args and ref.args[0] in _FRED_UNITS:
        unit = _FRED_UNITS[ref.args[0]]
        return "pp" if ref.family == "fred_change" and unit in ("pp", "percent") else unit
    if ref.family == "fact":
        if facts is None or ref.args[0] not in facts.index or "unit" not in facts.columns:
            return None
        unit = str(facts.loc[ref.args[0], "unit"])
        return unit if unit in UNITS else None
    unit = CATALOG[ref.family].unit
    return unit if unit in UNITS else None


def static_unit(node: Node, unit_of: Callable[[str], str | None]) -> str | None:
    """The unit of ``node`` from its operands' units (``unit_of`` of each metric; None where it
    is not known without data, which makes every combination with it unknown).

    Raises
    ------
    UnitMismatch
        Two known units that cannot be combined; the message quotes the two sides.
    """
    if isinstance(node, Number):
        return PLAIN
    if isinstance(node, Metric):
        return unit_of(node.name)
    a, b = static_unit(node.left, unit_of), static_unit(node.right, unit_of)
    if a is None or b is None:
        return None
    try:
        return combine_units(node.op, a, b)
    except UnitMismatch as e:
        raise UnitMismatch(
            f"unit mismatch in {render(node)!r}: {render(node.left)} is {_unit_name(a)}, "
            f"{render(node.right)} is {_unit_name(b)} ({e})"
        ) from None


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Combined(Value):
    """The value of an expression: a :class:`~rotation_utils.results.Value` that keeps its tree
    and its operands (each metric once, by name), so evidence can show how it was computed."""

    tree: Node | None = None
    operands: tuple[Value, ...] = ()

    def _operand(self, m: Metric) -> Value:
        return next(v for v in self.operands if v.name == m.name)

    def worked(self, bases: bool = True) -> str:
        """Each operand with its label and number (and ``bases``: its basis and date), then the
        result: "EEM price return +12.9% (…, 2026-03-31 to 2026-07-31) - SPY price return +14.9%
        (…) = -2.0 pp"."""
        assert self.tree is not None

        def leaf(m: Metric) -> str:
            v = self._operand(m)
            extra = f" ({v.dated_basis})" if bases and v.dated_basis else ""
            return f"{v.label} {v.shown()}{extra}"

        return f"{render(self.tree, leaf)} = {self.shown()}"

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["operands"] = [v.to_dict() for v in self.operands]
        return out


def _combine(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b


def evaluate_expression(
    ctx: Any, text: str, evaluate: Callable[[Any, str], Value] | None = None
) -> Combined:
    """Compute expression ``text`` as of ``ctx.month``: each metric by ``evaluate`` (default
    :func:`rotation_utils.claims.metrics.evaluate`), then the tree with :func:`combine_units`.

    Never raises for the data: an unavailable operand, a division by zero or a unit mismatch only
    known from the values (a fact's unit) is a :class:`Combined` with ``value=None`` and the
    reason. A text that does not parse raises :class:`ExpressionError` (claims files are checked
    before this runs)."""
    if evaluate is None:
        from .metrics import evaluate
    tree = parse_expression(text)
    name = render(tree)
    values: dict[str, Value] = {}
    for m in leaves(tree):
        if isinstance(m, Metric) and m.name not in values:
            values[m.name] = evaluate(ctx, m.name)
    operands = tuple(values.values())
    label = render(tree, lambda m: values[m.name].label)
    windows: dict[str, Window] = {str(v.window): v.window for v in operands if v.window}
    shared: Mapping[str, Any] = {
        "name": name,
        "measure": label,
        "tree": tree,
        "operands": operands,
        "source": " | ".join(dict.fromkeys(v.source for v in operands if v.source)),
    }

    def unavailable(unit: str, reason: str) -> Combined:
        return Combined(None, unit, reason=reason, **shared)

    try:
        unit = static_unit(tree, lambda n: values[n].unit)
    except UnitMismatch as e:
        return unavailable(PLAIN, str(e))
    unit = unit or PLAIN
    for v in operands:
        if not v.available:
            # the operand's own reason; its label unless the reason already names it
            named = bool(v.subject) and v.subject in v.reason
            return unavailable(unit, v.reason if named else f"{v.label}: {v.reason}")

    def value(n: Node) -> float:
        if isinstance(n, Number):
            return n.value
        if isinstance(n, Metric):
            return float(values[n.name].value)  # type: ignore[arg-type]
        a, b = value(n.left), value(n.right)
        if n.op == "/" and b == 0:
            raise ZeroDivisionError(render(n.right, lambda m: values[m.name].label))
        return _combine(n.op, a, b)

    try:
        result = value(tree)
    except ZeroDivisionError as e:
        return unavailable(unit, f"division by zero: {e} is 0")
    if not math.isfinite(result):
        return unavailable(unit, "the result is not a finite number")
    basis = render(
        tree,
        lambda m: (
            f"{values[m.name].label} {values[m.name].shown()}"
            + (f" ({values[m.name].dated_basis})" if values[m.name].dated_basis else "")
        ),
    )
    return Combined(
        result,
        unit,
        as_of=max((v.as_of for v in operands if v.as_of), default=""),
        basis=basis,
        # one window when every operand spans the same dates (a difference of two returns)
        window=next(iter(windows.values()))
        if len(windows) == 1 and all(v.window for v in operands)
        else None,
        **shared,
    )
