"""Rendering: one HTML page per executed notebook (nbconvert) and the month's ``index.html``."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from ..months import parse_month

__all__ = ["notebook_page", "first_figure", "figures_table", "render_index"]


def _as_node(nb: Any):
    import nbformat

    if isinstance(nb, str | Path):
        return nbformat.read(nb, as_version=4)
    return nb


def notebook_page(nb: Any, html: Path, *, with_code: bool, title: str) -> None:
    """Write the HTML page of an executed notebook (a node or a path); input cells hidden unless
    ``with_code``."""
    from nbconvert import HTMLExporter

    exp = HTMLExporter(
        template_name="lab",
        exclude_input=not with_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exp.from_notebook_node(_as_node(nb), resources={"metadata": {"name": title}})
    html.write_text(body, encoding="utf-8")


def first_figure(nb: Any, dest: Path) -> bool:
    """Save the first PNG figure a notebook produced, for the index gallery."""
    for cell in _as_node(nb).cells:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                dest.write_bytes(base64.b64decode(png))
                return True
    return False


def figures_table(summary: dict, previous: dict | None) -> list[dict]:
    """The index's rows: each figure with its change since the previous month's report."""
    rows = []
    prev_figs = (previous or {}).get("figures", {})
    for fid, f in summary["figures"].items():
        change = None
        pv = prev_figs.get(fid, {}).get("value")
        if isinstance(f["value"], int | float) and isinstance(pv, int | float):
            change = f["value"] - pv
        rows.append({"id": fid, **f, "change": change, "previous": pv})
    return rows


_PERCENT_LIKE = re.compile(r"discount|growth|percentile|relative|yoy|smb")


def _fmt(value: Any, unit: str, fid: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if unit == "ratio":
        return f"{value:.1%}" if _PERCENT_LIKE.search(fid) else f"{value:.3f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "pp":
        return f"{value:+.2f} pp"
    if unit == "percent":
        return f"{value:.2f}%"
    return f"{value:g}"


def _fmt_change(value: Any, unit: str, fid: str = "") -> str:
    if value is None:
        return ""
    if unit == "ratio":
        return f"{value * 100:+.1f} pp" if _PERCENT_LIKE.search(fid) else f"{value:+.3f}"
    if unit == "x":
        return f"{value:+.2f}x"
    return f"{value:+.2f}"


def render_index(summary: dict, figures: list[dict], path: Path, *, previous: dict | None) -> None:
    """Write the month's ``index.html`` from its summary and figure rows."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("rotation_utils", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["fmt"] = _fmt
    env.filters["fmt_change"] = _fmt_change
    previous_month = str(parse_month(summary["month"]) - 1) if previous else None
    html = env.get_template("index.html.j2").render(
        s=summary, figures=figures, previous_month=previous_month
    )
    path.write_text(html, encoding="utf-8")
