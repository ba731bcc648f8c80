"""Verdicts for a claims file: each claim under its main definition and every variant.

The headline verdict is the main definition's when every variant the data allow agrees with it;
otherwise "partly supported", naming the variants that flip it. When the main definition cannot be
computed as of the month (e.g. a sheet dated later), the definitions that can decide, the same
way. A claim that is not checkable by its nature (kind ``not_checkable``, or a registered check that
says so) stays "not checkable"; its variants are shown as context. Outcomes (what happened after
the article) are shown beside the verdict and never change it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..months import parse_month
from .checks import CHECKS
from .kinds import KINDS, Outcome
from .metrics import Context
from .spec import Claim, ClaimsFile, Definition, load_claims

__all__ = [
    "Row",
    "ClaimResult",
    "check_claims",
    "check_file",
    "results_json",
    "results_table",
    "robustness_frame",
    "verdict_frame",
    "claim_markdown",
    "record_evidence",
]


@dataclass(frozen=True)
class Row:
    """One definition's result: a row of a robustness table (or an outcome)."""

    label: str
    kind: str
    outcome: Outcome

    @property
    def verdict(self) -> str:
        return self.outcome.verdict

    def to_dict(self) -> dict:
        return {
            "definition": self.label,
            "kind": self.kind,
            "verdict": self.verdict,
            "evidence": self.outcome.evidence,
            "summary": self.outcome.summary,
            "numbers": [v.to_dict() for v in self.outcome.numbers],
        }


@dataclass(frozen=True)
class ClaimResult:
    """A claim's headline verdict, its evidence and its robustness table (first row: main)."""

    claim: Claim
    verdict: str
    evidence: str
    robustness: tuple[Row, ...]
    flipped_by: tuple[str, ...]
    outcomes: tuple[Row, ...]
    month: str

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def sources(self) -> tuple[str, ...]:
        srcs = [v.source for r in (*self.robustness, *self.outcomes) for v in r.outcome.numbers]
        return tuple(dict.fromkeys(s for s in srcs if s))

    def to_dict(self) -> dict:
        main = self.robustness[0]
        return {
            "id": self.claim.id,
            "text": self.claim.text,
            "kind": self.claim.kind,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "numbers": [v.to_dict() for v in main.outcome.numbers],
            "sources": list(self.sources),
            "robustness": [r.to_dict() for r in self.robustness],
            "flipped_by": list(self.flipped_by),
            "outcomes": [r.to_dict() for r in self.outcomes],
            "note": self.claim.note,
            "month": self.month,
        }


def _run(d: Definition, ctx: Context) -> Row:
    spec = CHECKS[d.check] if d.kind == "check" else KINDS[d.kind]
    return Row(d.label, d.kind_name, spec.run(d.fields, ctx))


def _headline(claim: Claim, rows: list[Row], month: str) -> tuple[str, tuple[str, ...], str]:
    """(verdict, the labels of the definitions that flip it, the evidence). The evidence's first
    sentence is the one-line summary (the report index shows it and folds the rest)."""
    main = rows[0]
    said = _sentence(main.outcome.evidence)
    usable = [r for r in rows if r.verdict != "not checkable"]
    # A claim the data cannot address by its nature (kind not_checkable, or a registered check that
    # says so) stays not checkable: its variants are context, not definitions of the claim.
    by_nature = main.verdict == "not checkable" and claim.main.kind in ("not_checkable", "check")
    if not usable or by_nature:
        return "not checkable", (), said
    ref = usable[0]
    flips = tuple(r.label for r in usable[1:] if r.verdict != ref.verdict)
    if ref is main:
        if not flips:
            return main.verdict, (), said
        how = "; ".join(_on(r) for r in usable if r.label in flips)
        return (
            "partly supported",
            flips,
            f"{said} {main.verdict.capitalize()} on the main definition, but {how}.",
        )
    # The main definition cannot decide as of the month (e.g. its sheet is dated later): the
    # definitions that can lead, then why the main one cannot.
    allowed = "; ".join(_on(r) if flips else f'"{r.label}": {r.outcome.summary}' for r in usable)
    verdict = "partly supported" if flips else ref.verdict
    return (
        verdict,
        flips,
        f"{verdict.capitalize()} on the definitions the data allow as of {month}, {allowed}. "
        f"The main definition is not available: {said}",
    )


def _on(r: Row) -> str:
    """A definition's verdict with what it found: 'contradicted on "P/E on last year's EPS": ...'."""
    return f'{r.verdict} on "{r.label}": {r.outcome.summary}'


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


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
    """
    parse_month(month)
    if facts is None:
        from ..facts import load_facts

        facts = load_facts()
    ctx = Context(month, facts, dict(tables or {}), loader)
    out = []
    for c in claims.claims:
        rows = [_run(d, ctx) for d in (c.main, *c.variants)]
        verdict, flips, evidence = _headline(c, rows, month)
        outcomes = tuple(_run(d, ctx) for d in c.outcomes)
        out.append(
            ClaimResult(
                c,
                verdict,
                evidence,
                tuple(rows),
                flips,
                outcomes,
                month,
            )
        )
    return out


def check_file(path: str | Path, month: str, **kw) -> tuple[ClaimsFile, list[ClaimResult]]:
    """Load and validate ``path`` (fact ids against ``data/facts.csv``), then check it."""
    from ..facts import load_facts

    facts = kw.pop("facts", None)
    facts = load_facts() if facts is None else facts
    cf = load_claims(path, fact_ids=set(facts.index))
    return cf, check_claims(cf, month, facts=facts, **kw)


def results_json(cf: ClaimsFile, results: list[ClaimResult]) -> str:
    """JSON: a list of claim objects (id, text, kind, verdict, evidence, numbers, sources,
    robustness, ...)."""
    return json.dumps([r.to_dict() for r in results], indent=1, ensure_ascii=False)


def _wrap(text: str, indent: str, width: int = 110) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ") or [
        indent
    ]


def results_table(cf: ClaimsFile, results: list[ClaimResult]) -> str:
    """Plain text for a terminal: per claim the verdict, evidence, robustness table, outcomes
    and sources."""
    a = cf.article
    month = results[0].month if results else ""
    lines = [f"{a.title} ({a.publisher}, {a.date}) - claims checked as of {month}", ""]
    for r in results:
        lines.append(f"{r.id}  {r.verdict.upper()}  {r.claim.text}")
        lines += _wrap(r.evidence, "    ")
        if len(r.robustness) > 1:
            lines.append("    robustness:")
            w = min(max(len(x.label) for x in r.robustness), 60)
            for x in r.robustness:
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
    """The robustness table of one claim: definition, verdict and key numbers (first row: main)."""
    return pd.DataFrame(
        [
            {"definition": r.label, "verdict": r.verdict, "numbers": r.outcome.summary}
            for r in result.robustness
        ]
    ).set_index("definition")


def verdict_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """One row per claim: its text, headline verdict and the definitions that flip it."""
    return pd.DataFrame(
        [
            {
                "claim": r.id,
                "statement": r.claim.text,
                "verdict": r.verdict,
                "flipped by": "; ".join(r.flipped_by),
            }
            for r in results
        ]
    ).set_index("claim")


def claim_markdown(result: ClaimResult) -> str:
    """A claim's section for a notebook: heading, verdict with evidence, what happened after the
    article (outcomes) and the note; every number comes from the computed evidence."""
    parts = [
        f"### {result.id}: {result.claim.text}",
        f"**Verdict: {result.verdict}.** {result.evidence}",
    ]
    for o in result.outcomes:
        parts.append(
            f"*After the article, {o.label}:* {o.verdict}. {_sentence(o.outcome.evidence)}"
        )
    if result.claim.note:
        parts.append(f"*Note:* {result.claim.note}")
    return "\n\n".join(parts)


def record_evidence(result: ClaimResult) -> str:
    """One line for the report's claims section: the evidence, and each outcome in short."""
    line = result.evidence
    for o in result.outcomes:
        line += f" After the article ({o.label}): {o.verdict}, {o.outcome.summary}."
    return line
