"""``summary.json``: the machine-readable record of one month's report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..figures import REQUIRED
from ..months import parse_month
from .kernels import NotebookResult

__all__ = ["REQUIRED_FIGURES", "summarize", "previous_summary", "data_vintages"]

#: Figure ids every full report must carry (a value, or null with the reason): the registry's.
REQUIRED_FIGURES = REQUIRED


def data_vintages(data_dir: Path) -> dict[str, str]:
    """``"publisher: table" -> vintage`` for every table in the staged data's manifest; a table
    built from downloads also says when its oldest input was downloaded, so a report on a kept
    last good vintage shows how old it is."""
    man = json.loads((data_dir / "manifest.json").read_text())
    out = {}
    for name, e in man["tables"].items():
        p = e["provenance"]
        retrieved = [
            i["extra"]["retrieved_at"]
            for i in p.get("extra", {}).get("inputs", [])
            if i.get("extra", {}).get("retrieved_at")
        ]
        tail = f"; downloaded {min(retrieved)[:10]}" if retrieved else ""
        out[f"{p['publisher']}: {name}"] = p["vintage"] + tail
    return out


def previous_summary(out: Path, month: str) -> dict | None:
    """The published summary of the month before ``month`` in ``out``, if there is a readable one."""
    p = out / str(parse_month(month) - 1) / "summary.json"
    if p.is_file():
        try:
            return json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
    return None


def summarize(
    month: str,
    results: Sequence[NotebookResult],
    data_dir: Path,
    *,
    full: bool,
    images: list[dict],
    prices: dict | None = None,
) -> dict:
    """The month's summary: notebooks with status and time, every recorded figure, data vintages,
    and ``prices``: how far the daily prices reach into the month (see ``PriceCoverage``).

    Raises
    ------
    DataError
        ``full`` (every notebook ran) but a headline figure of :data:`REQUIRED_FIGURES` is missing.
    """
    figures: dict[str, dict] = {}
    for r in results:
        for fid, f in r.figures.items():
            figures[fid] = {
                **{k: v for k, v in f.items() if k != "id"},
                "notebook": r.name,
            }
    if full:
        missing = [f for f in REQUIRED_FIGURES if f not in figures]
        if missing:
            raise DataError(f"notebooks did not record the headline figures {missing}")
    return {
        "month": month,
        "prices": prices,
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "data_vintages": data_vintages(data_dir),
        "notebooks": [
            {
                "name": r.name,
                "status": r.status,
                "reused": r.reused,
                "seconds": round(r.seconds, 2),
                "phases": r.phases,
                "html": f"{r.name}.html",
                "ipynb": f"{r.name}.ipynb",
            }
            for r in results
        ],
        "figures": figures,
        "images": images,
    }
