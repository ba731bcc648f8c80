"""Claims as data: an article's claims in a TOML file, checked against the project's data.

- :mod:`.spec`: parse and validate a claims file into dataclasses (:func:`load_claims`).
- :mod:`.metrics`: the metric catalog (:data:`CATALOG`), each name computed as a typed
  :class:`Value`.
- :mod:`.kinds`: one function per claim kind (:data:`KINDS`).
- :mod:`.checks`: registered checks for claims that need more than a kind (:data:`CHECKS`).
- :mod:`.perturb`: the perturbations the checker generates (window shifts, months, price dates).
- :mod:`.evaluate`: verdicts from definitions, perturbations and context (:func:`check_file`,
  :func:`check_claims`).
"""

from __future__ import annotations

from .checks import CHECKS
from .evaluate import (
    ClaimResult,
    Row,
    check_claims,
    check_file,
    claim_markdown,
    record_evidence,
    record_fields,
    results_json,
    results_table,
    robustness_frame,
    verdict_frame,
)
from .kinds import KINDS, VERDICTS, Outcome
from .metrics import CATALOG, Context, Value
from .spec import Claim, ClaimsFile, ClaimsFileError, load_claims, resolve_claims_file

__all__ = [
    "CATALOG",
    "CHECKS",
    "KINDS",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "ClaimsFile",
    "ClaimsFileError",
    "Context",
    "Outcome",
    "Row",
    "Value",
    "check_claims",
    "check_file",
    "claim_markdown",
    "record_evidence",
    "record_fields",
    "robustness_frame",
    "verdict_frame",
    "load_claims",
    "resolve_claims_file",
    "results_json",
    "results_table",
]
