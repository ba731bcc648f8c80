"""Verdicts for a claims file: each claim under its definitions, generated perturbations and
context.

The rows of a claim, by role:

- **definitions** (the main one and ``[[claims.variants]]``): other constructions of the same
  claim (same measure, horizon, universe). The verdict is the main definition's when every
  definition the data allow agrees; otherwise "partly supported", naming what flips it.
- **conventions** (generated, :mod:`.perturb`): one-trading-day shifts of each end of every return
  window and the sheet's other P/E price date. They count like definitions.
- **sensitivity** (generated): five-trading-day shifts and a named period's calendar months. They
  never change the verdict; one that reverses a "supported" or "contradicted" marks it fragile
  (``fragile_under``), with its numbers.
- **context** (``[[claims.context]]``): another measure, horizon or universe, or a weaker claim;
  computed and shown beside the verdict, never changing it.

Further rules: a ``value``/``discount`` tolerance narrower than the metric's own spread across
its definitions is reported, and a flip inside that spread is not counted; a claim whose main
definition is a stand-in (``proxy = true``) is "not checkable" unless every construction agrees,
and the evidence shows the stand-in's range beside the stated value; a claim not checkable by its
nature (kind ``not_checkable``, or a registered check that says so) stays "not checkable".
Outcomes (what happened after the article) are shown beside the verdict and never change it.
Each claim also gets a one-line ``why`` built from the numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..escaping import escape_markdown as md
from ..months import parse_month
from ..units import format_value as format_number
from .checks import CHECKS
from .expressions import (
    Combined,
    ExpressionError,
    is_expression,
    metric_unit,
    parse_expression,
    static_unit,
)
from .kinds import FOR_CONTEXT, KINDS, Outcome, price_move
from .metrics import CATALOG, Context, Value, evaluate, history, parse_metric
from .perturb import CONVENTION, SENSITIVITY, pe_subjects, perturbations
from .spec import Claim, ClaimsFile, ClaimsFileError, Definition, load_claims

__all__ = [
    "ROLES",
    "Row",
    "Miss",
    "ClaimResult",
    "check_claims",
    "check_file",
    "results_json",
    "results_table",
    "robustness_frame",
    "verdict_frame",
    "claim_markdown",
    "record_evidence",
    "record_fields",
]

NC = "not checkable"
DEFINITION, CONTEXT = "definition", "context"
#: The roles of a claim's rows, in the order tables show them.
ROLES = (DEFINITION, CONVENTION, SENSITIVITY, CONTEXT)
_ROLE_TITLES = {
    DEFINITION: "definitions (may flip the verdict)",
    CONVENTION: "conventions of the same claim, generated (may flip the verdict)",
    SENSITIVITY: "sensitivity, generated (never flips; a reversal marks the verdict fragile)",
    CONTEXT: "context (another measure, horizon, universe or a weaker claim; never flips)",
}


@dataclass(frozen=True)
class Row:
    """One row of a claim's table: a definition, a generated perturbation or a context row.

    ``when`` is how a sentence names a generated row ("when the window starts 2025-10-01 (1
    trading day later)"); for a definition or context row it is ``on "<label>"``."""

    label: str
    kind: str
    outcome: Outcome
    role: str = DEFINITION
    when: str = ""

    @property
    def verdict(self) -> str:
        return self.outcome.verdict

    @property
    def usable(self) -> bool:
        return self.verdict != NC

    @property
    def said(self) -> str:
        return self.when or f'on "{self.label}"'

    def to_dict(self) -> dict:
        return {
            "definition": self.label,
            "role": self.role,
            "kind": self.kind,
            "verdict": self.verdict,
            "evidence": self.outcome.evidence,
            "summary": self.outcome.summary,
            "numbers": [v.to_dict() for v in self.outcome.numbers],
        }


@dataclass(frozen=True)
class Miss:
    """How far a claim is off: ``size`` relative (0.395 = 39.5%), on the row ``label``."""

    size: float
    label: str
    summary: str
    as_of: str


@dataclass(frozen=True)
class ClaimResult:
    """A claim's headline verdict, its evidence and its rows.

    ``robustness`` holds the definitions (first row: main), ``perturbations`` the generated rows
    (conventions and sensitivity), ``context`` the context rows; ``flipped_by`` names the rows that
    make the verdict "partly supported", ``fragile_under`` the sensitivity rows that reverse it."""

    claim: Claim
    verdict: str
    evidence: str
    robustness: tuple[Row, ...]
    flipped_by: tuple[str, ...]
    outcomes: tuple[Row, ...]
    month: str
    perturbations: tuple[Row, ...] = ()
    context: tuple[Row, ...] = ()
    fragile_under: tuple[Row, ...] = ()
    why: str = ""
    miss: Miss | None = None

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def rows(self) -> tuple[Row, ...]:
        """Every row in table order: definitions, conventions, sensitivity, context."""
        gen = sorted(self.perturbations, key=lambda r: ROLES.index(r.role))
        return (*self.robustness, *gen, *self.context)

    @property
    def sources(self) -> tuple[str, ...]:
        # an expression's own source joins its operands': each operand's is listed once
        srcs = [
            o.source
            for r in (*self.rows, *self.outcomes)
            for v in r.outcome.numbers
            for o in (v.operands if isinstance(v, Combined) else (v,))
        ]
        return tuple(dict.fromkeys(s for s in srcs if s))

    def to_dict(self) -> dict:
        main = self.robustness[0]
        return {
            "id": self.claim.id,
            "text": self.claim.text,
            "kind": self.claim.kind,
            "proxy": self.claim.main.proxy,
            "verdict": self.verdict,
            "why": self.why,
            "evidence": self.evidence,
            "numbers": [v.to_dict() for v in main.outcome.numbers],
            "sources": list(self.sources),
            "robustness": [r.to_dict() for r in self.robustness],
            "perturbations": [r.to_dict() for r in self.perturbations],
            "context": [r.to_dict() for r in self.context],
            "flipped_by": list(self.flipped_by),
            "fragile_under": [
                {"perturbation": r.label, "verdict": r.verdict, "summary": r.outcome.summary}
                for r in self.fragile_under
            ],
            "miss": None
            if self.miss is None
            else {
                "size": round(self.miss.size, 6),
                "definition": self.miss.label,
                "summary": self.miss.summary,
                "as_of": self.miss.as_of,
            },
            "outcomes": [r.to_dict() for r in self.outcomes],
            "note": self.claim.note,
            "month": self.month,
        }


def _run(d: Definition, ctx: Context, role: str = DEFINITION, when: str = "") -> Row:
    spec = CHECKS[d.check] if d.kind == "check" else KINDS[d.kind]
    return Row(d.label, d.kind_name, spec.run(d.fields, ctx), role, when)


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class _Judgement:
    verdict: str
    flips: tuple[Row, ...]
    evidence: str
    fragile: tuple[Row, ...]
    why: str
    miss: Miss | None


def _measured(kind: str, r: Row) -> Value | None:
    """The number a row's verdict rests on: the metric of a value or extreme claim, the left side
    of a comparison, the discount of a discount claim."""
    nums = r.outcome.numbers
    if not nums or not r.usable:
        return None
    return nums[2] if kind == "discount" and len(nums) > 2 else nums[0]


def _stated(claim: Claim, main: Row) -> float | None:
    f = claim.main.fields
    if claim.main.kind == "value":
        nums = main.outcome.numbers
        return nums[1].value if len(nums) > 1 else float(f["stated"])
    if claim.main.kind == "discount":
        return float(f["stated"])
    return None


def _noise(claim: Claim, main: Row, deciding: list[Row]) -> tuple[str, set[str]]:
    """A ``value``/``discount`` tolerance narrower than the metric's own spread across the
    definitions of the same number (same subject and measure: the main definition, its price
    dates): the sentence that says so, and the labels of the flips inside that spread."""
    kind = claim.main.kind
    if kind not in ("value", "discount"):
        return "", set()
    ref = _measured(kind, main)
    stated = _stated(claim, main)
    if ref is None or stated is None:
        return "", set()
    same = [r for r in deciding if (m := _measured(kind, r)) is not None and m.label == ref.label]
    vals = [_measured(kind, r).value for r in same]
    if len(vals) < 2:
        return "", set()
    lo, hi = min(vals), max(vals)
    tol = float(claim.main.fields["tolerance"])
    if kind == "value":
        spread, shown = (hi - lo) / abs(stated), f"±{tol * 100:g}%"
        width = f"{spread:.1%}"
    else:
        spread, shown = hi - lo, f"±{tol * 100:.1f} pp"
        width = f"{spread * 100:.1f} pp"
    if tol >= spread:
        return "", set()
    inside = {r.label for r in same if r.verdict != main.verdict}
    said = (
        f"The {shown} tolerance is narrower than {ref.label}'s own spread across its definitions "
        f"({format_number(lo, ref.unit)} .. {format_number(hi, ref.unit)}, {width})"
        + (": a flip inside that spread is reported, not counted." if inside else ".")
    )
    return said, inside


def _proxy_range(claim: Claim, rows: list[Row]) -> str:
    """The stand-in's range across its constructions, beside the stated value."""
    kind = claim.main.kind
    vals = [m for r in rows if (m := _measured(kind, r)) is not None]
    if not vals:
        return ""
    lo, hi = min(v.value for v in vals), max(v.value for v in vals)
    stated = _stated(claim, rows[0])
    unit = vals[0].unit
    tail = f" vs the stated {format_number(stated, unit)}" if stated is not None else ""
    inside = (
        f" ({'inside' if lo <= stated <= hi else 'outside'} that range)"
        if stated is not None
        else ""
    )
    return (
        f"{vals[0].label} {format_number(lo, unit)} .. {format_number(hi, unit)} across "
        f"{len(rows)} constructions{tail}{inside}"
    )


def _brackets(claim: Claim, rows: list[Row]) -> bool:
    """The constructions of a stand-in fall on both sides of the stated value: even when each is
    outside the tolerance, together they cannot contradict it."""
    kind = claim.main.kind
    stated = _stated(claim, rows[0])
    vals = [m.value for r in rows if (m := _measured(kind, r)) is not None]
    return stated is not None and bool(vals) and min(vals) < stated < max(vals)


def _miss(kind: str, rows: list[Row]) -> Miss | None:
    misses = [r for r in rows if r.verdict == "contradicted" and r.outcome.miss]
    if not misses:
        return None
    r = max(misses, key=lambda x: x.outcome.miss)
    m = _measured(kind, r)
    return Miss(float(r.outcome.miss), r.label, r.outcome.summary, m.as_of if m else "")


def _judge(
    claim: Claim, defs: list[Row], conv: list[Row], sens: list[Row], month: str
) -> _Judgement:
    main = defs[0]
    said = _sentence(main.outcome.evidence)
    deciding = [r for r in (*defs, *conv) if r.usable]
    # A claim the data cannot address by its nature (kind not_checkable, or a registered check that
    # says so) stays not checkable: its other rows are context, not definitions of the claim.
    by_nature = main.verdict == NC and claim.main.kind in ("not_checkable", "check")
    if not deciding or by_nature:
        why = _cap(main.outcome.summary or main.outcome.evidence)
        return _Judgement(NC, (), said, (), _sentence(why), None)
    ref = deciding[0]
    noise, inside = _noise(claim, ref, deciding)
    flips = tuple(r for r in deciding[1:] if r.verdict != ref.verdict and r.label not in inside)
    kind = claim.main.kind
    if claim.main.proxy and (flips or _brackets(claim, deciding)):
        spread = _proxy_range(claim, deciding)
        reason = "only a stand-in is public, and its constructions disagree"
        how = "; ".join(f"{r.verdict} {r.said}: {r.outcome.summary}" for r in deciding)
        return _Judgement(
            NC,
            flips,
            f"Not checkable: {reason} ({spread}). {_cap(how)}.",
            (),
            _sentence(f"Not checkable: {reason}: {spread}"),
            None,
        )
    if ref is main:
        verdict = "partly supported" if flips else main.verdict
        how = "; ".join(
            f"flips {r.said}: {r.outcome.summary}"
            if r.role == CONVENTION
            else f"{r.verdict} {r.said}: {r.outcome.summary}"
            for r in flips
        )
        evidence = (
            f"{said} {main.verdict.capitalize()} on the main definition, but {how}."
            if flips
            else said
        )
    else:
        # The main definition cannot decide as of the month (e.g. its sheet is dated later): the
        # definitions that can lead, then why the main one cannot.
        verdict = "partly supported" if flips else ref.verdict
        allowed = "; ".join(
            f"{r.verdict} {r.said}: {r.outcome.summary}"
            if flips
            else f'"{r.label}": {r.outcome.summary}'
            for r in deciding
        )
        evidence = (
            f"{verdict.capitalize()} on the definitions the data allow as of {month}, {allowed}. "
            f"The main definition is not available: {said}"
        )
    fragile = (
        tuple(r for r in sens if r.usable and r.verdict != verdict)
        if verdict in ("supported", "contradicted")
        else ()
    )
    if claim.main.proxy:
        evidence += f" Every construction of the stand-in agrees ({_proxy_range(claim, deciding)})."
    if noise:
        evidence += f" {noise}"
    if fragile:
        evidence += (
            " Fragile: "
            + "; ".join(f"{r.verdict} {r.said}: {r.outcome.summary}" for r in fragile)
            + "."
        )
    why = _why(verdict, ref, deciding, flips, fragile, main, month)
    miss = _miss(kind, [main] if verdict == "contradicted" else list(flips))
    if verdict == "contradicted" and miss is None:
        miss = _miss(kind, list(deciding))
    return _Judgement(verdict, flips, evidence, fragile, why, miss)


def _why(
    verdict: str,
    ref: Row,
    deciding: list[Row],
    flips: tuple[Row, ...],
    fragile: tuple[Row, ...],
    main: Row,
    month: str,
) -> str:
    """One line built from the numbers: what holds, what flips it, what reverses it."""
    n_def = sum(r.role == DEFINITION for r in deciding)
    n_conv = sum(r.role == CONVENTION for r in deciding)
    rows = ("its one definition" if n_def == 1 else f"all {n_def} definitions") + (
        f" and {n_conv} convention{'s' if n_conv != 1 else ''}" if n_conv else ""
    )
    if flips:
        first = flips[0]
        more = f" (and {len(flips) - 1} more)" if len(flips) > 1 else ""
        head = (
            f"{ref.verdict.capitalize()} on the main definition ({ref.outcome.summary})"
            if ref is main
            else f'{ref.verdict.capitalize()} on "{ref.label}" ({ref.outcome.summary})'
        )
        verb = "flips" if first.role == CONVENTION else f"{first.verdict}"
        return f"{head}; {verb} {first.said}: {first.outcome.summary}{more}."
    line = f"{verdict.capitalize()} on {rows}: {ref.outcome.summary}"
    if ref is not main:
        allowed = "the one definition" if n_def == 1 else f"the {n_def} definitions"
        line = (
            f"{verdict.capitalize()} on {allowed} the data allow as of {month}: "
            f"{ref.outcome.summary}; the main definition is not available ({main.outcome.summary})"
        )
    if fragile:
        r = fragile[0]
        more = f" (and {len(fragile) - 1} more)" if len(fragile) > 1 else ""
        line += f"; fragile: reverses {r.said}: {r.outcome.summary}{more}"
    return line + "."


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- unfalsifiable


def _refuse_unfalsifiable(file: str, claim: Claim, ctx: Context) -> None:
    """A ``value`` tolerance whose band covers the metric's whole history cannot be contradicted:
    refused like any other bad field (exit 2, one line naming file, claim and field)."""
    rows = [("", claim.main)] + [
        (f" {role} #{i}", d)
        for role, defs in (("variant", claim.variants), ("context", claim.context))
        for i, d in enumerate(defs, 1)
    ]
    for where, d in rows:
        if d.kind != "value" or not isinstance(d.fields["metric"], str):
            continue
        try:  # an expression over metrics (issue 19) has no one history to cover
            ref = parse_metric(d.fields["metric"])
        except ValueError:
            continue
        if CATALOG[ref.family].series is None:
            continue
        s, _, _, unit = history(ctx, d.fields["metric"])
        if s.empty:
            continue
        st = d.fields["stated"]
        stated = float(st) if not isinstance(st, str) else evaluate(ctx, st).value
        if stated is None:
            continue
        tol = float(d.fields["tolerance"])
        lo, hi = sorted((stated * (1 - tol), stated * (1 + tol)))
        if lo <= float(s.min()) and float(s.max()) <= hi:
            raise ClaimsFileError(
                file,
                f"claim {claim.id}{where}",
                "tolerance",
                f"±{tol * 100:g}% around {format_number(stated, unit)} covers the metric's whole "
                f"history ({format_number(float(s.min()), unit)} .. "
                f"{format_number(float(s.max()), unit)}, {s.index[0]} .. {s.index[-1]}): the claim "
                "could not be contradicted",
            )


def _refuse_unit_mismatch(file: str, claim: Claim, ctx: Context) -> None:
    """An expression whose units clash once the facts' units are known (a fact's unit is in
    data/facts.csv, not the catalog): refused like a bad field, before any table is read."""
    rows = [("", claim.main)] + [
        (f" {_ROW_NAMES[role]} #{i}", d)
        for role, defs in (
            ("variants", claim.variants),
            ("context", claim.context),
            ("outcomes", claim.outcomes),
        )
        for i, d in enumerate(defs, 1)
    ]
    for where, d in rows:
        spec = CHECKS[d.check] if d.kind == "check" else KINDS[d.kind]
        for name, f in spec.fields.items():
            text = d.fields.get(name)
            if f.type not in ("metric", "operand") or not is_expression(text):
                continue
            try:
                static_unit(parse_expression(text), lambda n: metric_unit(n, ctx.facts))
            except ExpressionError as e:
                raise ClaimsFileError(file, f"claim {claim.id}{where}", name, str(e)) from None


_ROW_NAMES = {"variants": "variant", "context": "context", "outcomes": "outcome"}


# --------------------------------------------------------------------------- checking


def check_claims(
    claims: ClaimsFile,
    month: str,
    *,
    facts: pd.DataFrame | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    loader: Callable[[str], pd.DataFrame] | None = None,
) -> list[ClaimResult]:
    """Check every claim of ``claims`` as of the report ``month`` (nothing dated after it is used).

    Parameters
    ----------
    claims : ClaimsFile
        From :func:`~rotation_utils.claims.spec.load_claims`.
    month : str
        "YYYY-MM".
    facts : DataFrame, optional
        The curated facts table (default: ``data/facts.csv``).
    tables, loader : optional
        Derived tables by name, and how to load missing ones (default
        :func:`rotation_utils.load_table`).

    Raises
    ------
    ClaimsFileError
        A tolerance that covers its metric's whole history (the claim could not be contradicted),
        or an expression whose units clash once the facts' units are known.
    """
    month = str(parse_month(month))  # a Month or "YYYY-MM": the context carries the text
    if facts is None:
        from ..facts import load_facts

        facts = load_facts()
    ctx = Context(month, facts, dict(tables or {}), loader)
    for c in claims.claims:
        _refuse_unit_mismatch(claims.path, c, ctx)
    for c in claims.claims:
        _refuse_unfalsifiable(claims.path, c, ctx)
    return [_check_claim(c, ctx, month, claims.article.date) for c in claims.claims]


def _move_rows(c: Claim, ctx: Context, article_date: str) -> tuple[Row, ...]:
    """Context rows for a P/E claim whose article is dated more than a month after the sheet's
    price date: how far each index (or sector) in its P/Es moved in between, so a reader sees
    how stale the sheet's prices are against the article's (:func:`.kinds.price_move`)."""
    subjects = pe_subjects((c.main, *c.variants, *c.context))
    if not subjects or not article_date:
        return ()
    pe = ctx.pe_basis("All")
    if pe.table is None or not _ISO_DATE.match(pe.price_date):
        return ()  # no sheet as of the month: its P/Es are not checkable anyway
    if pd.Timestamp(article_date) <= pd.Timestamp(pe.price_date) + pd.DateOffset(months=1):
        return ()
    return tuple(
        Row(
            f"{index if sector == 'All' else f'{index} {sector}'} price move, sheet prices "
            f"{pe.price_date} to the article {article_date}",
            "price_move",
            price_move(ctx, index, sector, pe.price_date, article_date),
            CONTEXT,
        )
        for index, sector in subjects
    )


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_claim(c: Claim, ctx: Context, month: str, article_date: str = "") -> ClaimResult:
    defs = [_run(d, ctx) for d in (c.main, *c.variants)]
    listed = {repr(sorted(d.fields.items())) for d in (*c.variants, *c.context)}
    gen = [
        _run(p.definition, ctx, p.role, p.when)
        for p in perturbations(c.main, ctx)
        if repr(sorted(p.definition.fields.items())) not in listed
    ]
    gen = _measured_apart(defs[0], gen)
    conv = [r for r in gen if r.role == CONVENTION]
    sens = [r for r in gen if r.role == SENSITIVITY]
    context = tuple(_run(d, ctx, CONTEXT) for d in c.context) + _move_rows(c, ctx, article_date)
    j = _judge(c, defs, conv, sens, month)
    evidence = j.evidence
    if context:
        evidence += (
            " Context, which never changes the verdict: "
            + "; ".join(
                r.outcome.summary
                if r.verdict == FOR_CONTEXT
                else f'"{r.label}": {r.verdict}, {r.outcome.summary}'
                for r in context
            )
            + "."
        )
    return ClaimResult(
        c,
        j.verdict,
        evidence,
        tuple(defs),
        tuple(r.label for r in j.flips),
        tuple(_run(d, ctx) for d in c.outcomes),
        month,
        tuple(gen),
        context,
        j.fragile,
        j.why,
        j.miss,
    )


def _spans(r: Row) -> tuple:
    """What a row's numbers were measured on: each number's label with its window (the closes
    actually used) or its as-of date."""
    return tuple(
        (v.label, str(v.window) if v.window is not None else v.as_of, v.value, v.reason)
        for v in r.outcome.numbers
    )


def _measured_apart(main: Row, gen: list[Row]) -> list[Row]:
    """Generated rows that measure something other than the main row and each other: a shift
    onto a day the prices do not have lands on the same closes (the close on or before it), and
    is then the same measurement, not a perturbation."""
    seen = {_spans(main)}
    out = []
    for r in gen:
        key = _spans(r)
        if key and key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def check_file(path: str | Path, month: str, **kw) -> tuple[ClaimsFile, list[ClaimResult]]:
    """Load and validate ``path`` (fact ids against ``data/facts.csv``), then check it."""
    from ..facts import load_facts

    facts = kw.pop("facts", None)
    facts = load_facts() if facts is None else facts
    cf = load_claims(path, fact_ids=set(facts.index))
    return cf, check_claims(cf, month, facts=facts, **kw)


# --------------------------------------------------------------------------- output


def results_json(cf: ClaimsFile, results: list[ClaimResult]) -> str:
    """JSON: a list of claim objects (id, text, kind, verdict, why, evidence, numbers, sources,
    robustness (definitions), perturbations, context, flipped_by, fragile_under, ...)."""
    return json.dumps([r.to_dict() for r in results], indent=1, ensure_ascii=False)


def _wrap(text: str, indent: str, width: int = 110) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ") or [
        indent
    ]


def results_table(cf: ClaimsFile, results: list[ClaimResult]) -> str:
    """Plain text for a terminal: per claim the verdict and why, the evidence, its rows by role
    (definitions, conventions, sensitivity, context), outcomes and sources."""
    a = cf.article
    month = results[0].month if results else ""
    lines = [f"{a.title} ({a.publisher}, {a.date}) - claims checked as of {month}", ""]
    for r in results:
        fragile = ", FRAGILE" if r.fragile_under else ""
        lines.append(f"{r.id}  {r.verdict.upper()}{fragile}  {r.claim.text}")
        lines += _wrap(f"why: {r.why}", "    ")
        lines += _wrap(r.evidence, "    ")
        rows = r.rows
        if len(rows) > 1:
            w = min(max(len(x.label) for x in rows), 60)
            for role in ROLES:
                mine = [x for x in rows if x.role == role]
                if not mine:
                    continue
                lines.append(f"    {_ROLE_TITLES[role]}:")
                for x in mine:
                    lines.append(f"      {x.label[:w]:<{w}}  {x.verdict:<16}  {x.outcome.summary}")
        for o in r.outcomes:
            lines += _wrap(
                f"after the article - {o.label}: {o.verdict}. {o.outcome.evidence}", "    "
            )
        if r.claim.note:
            lines += _wrap(f"note: {r.claim.note}", "    ")
        for s in r.sources:
            lines += _wrap(s, "    ")
        lines.append("")
    return "\n".join(lines)


def robustness_frame(result: ClaimResult) -> pd.DataFrame:
    """The table of one claim: every row (definitions first, the main one on top; then the
    generated conventions and sensitivity rows, then context) with its role, verdict and numbers."""
    return pd.DataFrame(
        [
            {
                "definition": r.label,
                "role": r.role,
                "verdict": r.verdict,
                "numbers": r.outcome.summary,
            }
            for r in result.rows
        ]
    ).set_index("definition")


def verdict_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """One row per claim: its text, headline verdict, why, and what flips or reverses it."""
    return pd.DataFrame(
        [
            {
                "claim": r.id,
                "statement": r.claim.text,
                "verdict": r.verdict + (", fragile" if r.fragile_under else ""),
                "why": r.why,
                "flipped by": "; ".join(r.flipped_by),
            }
            for r in results
        ]
    ).set_index("claim")


def claim_markdown(result: ClaimResult) -> str:
    """A claim's section for a notebook: heading, verdict with why and evidence, what happened
    after the article (outcomes) and the note; every number comes from the computed evidence.

    Every piece of text is escaped (:func:`~rotation_utils.escaping.escape_markdown`): the claim,
    its labels and note come from a claims file, and the why and evidence quote them, so none of
    it may add markup, a link, HTML or a paragraph of its own (a fake verdict line)."""
    fragile = ", fragile" if result.fragile_under else ""
    parts = [
        f"### {md(result.id)}: {md(result.claim.text)}",
        f"**Verdict: {md(result.verdict)}{fragile}.** {md(result.why)}",
    ]
    evidence = _without_repeated_reason(result)
    if evidence:
        parts.append(md(evidence))
    for o in result.outcomes:
        parts.append(
            f"*After the article, {md(o.label)}:* {md(o.verdict)}. "
            f"{md(_sentence(o.outcome.evidence))}"
        )
    if result.claim.note:
        parts.append(f"*Note:* {md(result.claim.note)}")
    return "\n\n".join(parts)


def _without_repeated_reason(result: ClaimResult) -> str:
    """The evidence, less its first sentence when that sentence only repeats why a claim is not
    checkable (after a label such as "S&P 600 forward P/E: "): one statement of a reason."""
    evidence = result.evidence
    why = result.why.strip().rstrip(".").lower()
    if result.verdict != "not checkable" or not why:
        return evidence
    parts = re.split(r"(?<![.\d])\. (?=[A-Z\"'])", evidence, maxsplit=1)
    head = parts[0].rstrip(".").lower()
    if head == why or head.endswith(": " + why):
        return parts[1] if len(parts) > 1 else ""
    return evidence


def record_evidence(result: ClaimResult) -> str:
    """One line for the report's claims section: the why, the evidence, and each outcome in
    short."""
    line = f"{result.why} {result.evidence}"
    for o in result.outcomes:
        line += f" After the article ({o.label}): {o.verdict}, {o.outcome.summary}."
    return line


def record_fields(cf: ClaimsFile, result: ClaimResult) -> dict:
    """What the report index needs of a claim besides its verdict: the why, what reverses it, the
    size of its error, what happened after the article, and the article (for the ClaimReview
    JSON-LD)."""
    d = result.to_dict()
    a = cf.article
    return {
        "why": result.why,
        "fragile_under": d["fragile_under"],
        "miss": d["miss"],
        "outcomes": [
            {
                "label": o.label,
                "verdict": o.verdict,
                "summary": o.outcome.summary,
                "as_of": next((v.as_of for v in o.outcome.numbers if v.as_of), ""),
            }
            for o in result.outcomes
        ],
        "article": {
            "id": a.id,
            "title": a.title,
            "publisher": a.publisher,
            "date": a.date,
            "url": a.url,
        },
    }
