"""Headline figures: one registry (id -> label, unit, format) and the glue that records them.

A notebook calls :func:`record` with a registered id; the value travels in the executed notebook
as a display output with a private MIME type, and :func:`records_in` reads it back. Labels, units
and formats live only here, so an id is never typed twice and never shown to a reader.
Claim verdicts go through :func:`record_claim` (id ``claim_<ID>``, unit ``verdict``) and carry
the claim's text and a one-line evidence summary for the report's claims section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import units

__all__ = [
    "FIGURE_MIME",
    "FIGURES",
    "REQUIRED",
    "UNITS",
    "FigureSpec",
    "figure_spec",
    "record",
    "record_claim",
    "figure_payload",
    "records_in",
]

FIGURE_MIME = "application/vnd.rotation.figure+json"

#: Units a figure may have (one list for figures, claims and the index: :mod:`rotation_utils.units`).
UNITS = units.UNITS


@dataclass(frozen=True)
class FigureSpec:
    """How one headline figure is labelled and shown.

    Attributes
    ----------
    id : str
        Stable id used in ``summary.json``.
    label : str
        What a reader sees, e.g. "S&P 600 forward P/E"; the record's ``basis`` (e.g. "2026E")
        is appended in parentheses by the report.
    unit : str
        One of :data:`UNITS`; how the value prints follows from it
        (:func:`rotation_utils.units.format_value`).
    digits : int, optional
        Decimals shown, when not the unit's default.
    signed : bool
        "+" on positive values (returns).
    """

    id: str
    label: str
    unit: str
    digits: int | None = None
    signed: bool = False

    def shown(self, value: float | str | None) -> str:
        """``value`` as a reader sees it, e.g. "16.19x", "+3.6 pp", "17.3% per year"."""
        return units.format_value(value, self.unit, digits=self.digits, signed=self.signed)


def _specs(*rows: tuple) -> dict[str, FigureSpec]:
    out = {}
    for fid, label, unit, *options in rows:
        if unit not in UNITS:
            raise ValueError(f"figure {fid!r}: unknown unit {unit!r}")
        out[fid] = FigureSpec(fid, label, unit, **(options[0] if options else {}))
    return out


SIGNED = {"signed": True}


#: Every headline figure a notebook may record, in the order the index lists them.
FIGURES: dict[str, FigureSpec] = _specs(
    # 01 valuation gaps: forward = the sheet's next-year estimates; last year = last year's EPS
    ("sp500_pe_forward", "S&P 500 forward P/E", "x"),
    ("sp400_pe_forward", "S&P 400 forward P/E", "x"),
    ("sp600_pe_forward", "S&P 600 forward P/E", "x"),
    ("small_large_pe_discount", "S&P 600 discount to S&P 500, forward P/E", "ratio"),
    ("sp500_pe_last_year", "S&P 500 P/E on last year's EPS", "x"),
    ("sp400_pe_last_year", "S&P 400 P/E on last year's EPS", "x"),
    ("sp600_pe_last_year", "S&P 600 P/E on last year's EPS", "x"),
    (
        "small_large_pe_discount_last_year",
        "S&P 600 discount to S&P 500, P/E on last year's EPS",
        "ratio",
    ),
    ("sp500_pe_next_year", "S&P 500 P/E on next year's EPS, latest weekly estimate", "x"),
    ("small_big_pb_ratio", "P/B of smallest vs biggest size quintile", "x"),
    ("small_big_pb_percentile", "Percentile of that P/B ratio since 1926", "ratio", {"digits": 0}),
    # 02 earnings growth
    ("sp500_eps_growth_2026e", "S&P 500 operating EPS growth, 2026E", "ratio"),
    ("sp600_eps_growth_2026e", "S&P 600 operating EPS growth, 2026E", "ratio"),
    ("sp500_eps_growth_5y", "S&P 500 projected 5-year EPS growth", "per_year"),
    ("sp600_eps_growth_5y", "S&P 600 projected 5-year EPS growth", "per_year"),
    # 03 sector rotation: a difference of two returns is in percentage points
    ("iwm_spy_relative_12m", "IWM minus SPY, 12-month return", "ratio_diff"),
    # 04 macro drivers
    ("t10y2y", "10-year minus 2-year Treasury spread", "pp"),
    ("fed_funds", "Effective fed funds rate", "percent"),
    ("core_cpi_yoy", "Core CPI, year over year", "ratio"),
    ("smb_12m", "Small minus big (SMB), 12-month return", "ratio", SIGNED),
    # 06 after the article
    ("iwm_spy_since_article", "IWM minus SPY since the article", "ratio_diff"),
    ("best_sector_since_article", "Best sector SPDR after the article", "ticker"),
)


def _required(*ids: str) -> tuple[str, ...]:
    unknown = [fid for fid in ids if fid not in FIGURES]
    if unknown:
        raise ValueError(f"required figures {unknown} are not in FIGURES")
    return tuple(fid for fid in FIGURES if fid in ids)


#: Figures every report of the full notebook sequence must record (a value, or None with its
#: reason), in registry order: the headline numbers the index leads with and the claims rest on.
REQUIRED: tuple[str, ...] = _required(
    # 01: forward and last-year P/Es at one price date, the size P/B gap
    "sp500_pe_forward",
    "sp400_pe_forward",
    "sp600_pe_forward",
    "small_large_pe_discount",
    "sp500_pe_last_year",
    "sp400_pe_last_year",
    "sp600_pe_last_year",
    "small_large_pe_discount_last_year",
    "sp500_pe_next_year",
    "small_big_pb_ratio",
    "small_big_pb_percentile",
    # 02, 04
    "sp500_eps_growth_5y",
    "sp600_eps_growth_5y",
    "t10y2y",
    "smb_12m",
    # 06: what happened after the article
    "iwm_spy_since_article",
    "best_sector_since_article",
)

CLAIM_PREFIX = "claim_"


def figure_spec(fid: str) -> FigureSpec:
    """The registered spec for ``fid`` (claim ids ``claim_<ID>`` are verdicts)."""
    if fid in FIGURES:
        return FIGURES[fid]
    if fid.startswith(CLAIM_PREFIX) and len(fid) > len(CLAIM_PREFIX):
        cid = fid[len(CLAIM_PREFIX) :]
        return FigureSpec(fid, f"Claim {cid}", "verdict")
    raise KeyError(f"unregistered figure id {fid!r}: add it to rotation_utils.figures.FIGURES")


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    v = float(value)
    return None if math.isnan(v) else round(v, 10)


def _display(payload: dict[str, Any], text: str) -> None:
    """The record for the report, and the line a reader sees: as prose on a page (HTML, escaped,
    wrapping between words) and as text in a console."""
    from .escaping import escape_html

    html = f'<p class="rotation-figure">{escape_html(text)}</p>'
    try:
        from IPython.display import display

        display({FIGURE_MIME: payload, "text/html": html, "text/plain": text}, raw=True)
    except ImportError:  # plain Python: nothing to display
        pass


def _shown(payload: dict[str, Any], spec: FigureSpec) -> str:
    v = payload["value"]
    if v is None:
        return f"{spec.label}: no value ({payload.get('reason', '')})"
    shown = spec.shown(v)
    basis = f" ({payload['basis']})" if payload.get("basis") else ""
    return f"{spec.label}{basis} = {shown} (as of {payload['as_of']})"


def record(
    id: str,
    value: float | str | None,
    *,
    as_of: str,
    source: str,
    reason: str = "",
    basis: str = "",
    unit: str | None = None,
) -> None:
    """Display one headline figure (see :func:`figure_payload` for the record itself).

    Parameters
    ----------
    id : str
        A registered figure id (:data:`FIGURES`), e.g. ``"sp600_pe_forward"``.
    value : float, str or None
        The number in the figure's unit (ratios and growth rates as decimals), a ticker, or None
        when the data does not exist as of the report month (then give ``reason``).
    as_of : str
        Date or period the value describes (for prices, the last close used).
    source : str
        Caption of the data it came from (publisher, title, vintage).
    reason : str
        Why the value is missing (required when it is).
    basis : str
        The definition the value is on, shown after the label, e.g. ``"2026E, prices 2026-01-30"``.
    unit : str, optional
        Redundant with the registry; when given it must match (a guard against a wrong id).
    """
    payload = figure_payload(
        id, value, as_of=as_of, source=source, reason=reason, basis=basis, unit=unit
    )
    _display(payload, _shown(payload, figure_spec(id)))


def record_claim(
    claim_id: str,
    verdict: str,
    *,
    text: str,
    evidence: str,
    as_of: str,
    source: str,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Display one claim verdict as figure ``claim_<claim_id>`` with the claim's text and evidence.

    Parameters
    ----------
    claim_id : str
        The claim's id in its claims file, e.g. ``"C1"``.
    verdict : str
        "supported", "partly supported", "contradicted" or "not checkable".
    text : str
        The claim as the article states it.
    evidence : str
        One line of computed evidence (numbers with units and dates).
    as_of : str
        The report month or the date the evidence describes.
    source : str
        Sources and vintages of the evidence.
    extra : mapping, optional
        What the index needs besides (JSON values): the one-line why, ``fragile_under``, the
        size of the error (``miss``), ``outcomes`` and the ``article``
        (:func:`rotation_utils.claims.record_fields`).
    """
    fid = f"{CLAIM_PREFIX}{claim_id}"
    payload = figure_payload(fid, verdict, as_of=as_of, source=source)
    payload.update(extra or {})
    payload["text"] = text
    payload["evidence"] = evidence
    _display(payload, f"{claim_id}: {verdict} - {evidence}")


def figure_payload(
    id: str,
    value: float | str | None,
    *,
    as_of: str,
    source: str,
    reason: str = "",
    basis: str = "",
    unit: str | None = None,
) -> dict[str, Any]:
    """The JSON record of one figure; the id must be registered and a missing value needs a reason."""
    spec = figure_spec(id)
    if unit is not None and unit != spec.unit:
        raise ValueError(
            f"record({id!r}): unit {unit!r} does not match the registry's {spec.unit!r}"
        )
    clean = _clean(value)
    if clean is None and not reason:
        raise ValueError(f"record({id!r}): a missing value (None or NaN) needs a reason")
    payload = {"id": id, "value": clean, "unit": spec.unit, "as_of": as_of, "source": source}
    if basis:
        payload["basis"] = basis
    if reason:
        payload["reason"] = reason
    return payload


def records_in(nb: Any) -> dict[str, dict[str, Any]]:
    """All figures recorded in an executed notebook (nbformat node or dict), by ID."""
    out: dict[str, dict[str, Any]] = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if FIGURE_MIME in data:
                rec = dict(data[FIGURE_MIME])
                out[rec["id"]] = rec
    return out
