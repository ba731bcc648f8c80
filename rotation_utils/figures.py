"""Headline figures recorded by notebooks and collected by the report (scrapbook-style glue).

A notebook calls :func:`record`; the value travels in the executed notebook as a display output
with a private MIME type, and :func:`records_in` reads it back. Nothing is re-typed.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["record", "figure_payload", "records_in", "FIGURE_MIME"]

FIGURE_MIME = "application/vnd.rotation.figure+json"


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    v = float(value)
    return None if math.isnan(v) else round(v, 10)


def record(
    id: str,
    value: float | str | None,
    *,
    unit: str,
    as_of: str,
    source: str,
    reason: str = "",
) -> None:
    """Display one headline figure (see :func:`figure_payload` for the record itself).

    Parameters
    ----------
    id : str
        Stable figure ID, e.g. ``"sp500_pe_current_year"``.
    value : float, str or None
        The number (ratios and growth rates as decimals), a verdict string, or None when the
        data does not exist as of the report month (then give ``reason``).
    unit : str
        "x" for multiples, "ratio" for decimals, "percent", "pp", "count" or "verdict".
    as_of : str
        Date or period the value describes.
    source : str
        Caption of the data it came from (publisher, title, vintage).
    """
    payload = figure_payload(id, value, unit=unit, as_of=as_of, source=source, reason=reason)
    shown = payload["value"]
    if isinstance(shown, float):
        shown = f"{shown:.4g}"
    text = (
        f"{id} = {shown} {unit} (as of {as_of})"
        if value is not None
        else f"{id}: no value ({reason})"
    )
    try:
        from IPython.display import display

        display({FIGURE_MIME: payload, "text/plain": text}, raw=True)
    except ImportError:  # plain Python: nothing to display
        pass


def figure_payload(
    id: str, value: float | str | None, *, unit: str, as_of: str, source: str, reason: str = ""
) -> dict[str, Any]:
    """The JSON record of one figure; a missing value must come with a reason."""
    clean = _clean(value)
    if clean is None and not reason:
        raise ValueError(f"record({id!r}): a missing value (None or NaN) needs a reason")
    payload = {"id": id, "value": clean, "unit": unit, "as_of": as_of, "source": source}
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
