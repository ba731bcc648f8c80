"""Rendering: one HTML page per executed notebook (nbconvert) and the month's ``index.html``."""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import units
from ..figures import CLAIM_PREFIX, FIGURES, FigureSpec, figure_spec
from ..months import parse_month
from .plan import PriceCoverage

__all__ = [
    "CSP",
    "ALLOWED_TAGS",
    "clean_html",
    "STALE_AFTER_MONTHS",
    "FigureRow",
    "ClaimRow",
    "IndexView",
    "notebook_page",
    "first_figure",
    "format_value",
    "format_change",
    "as_of_month",
    "staleness",
    "one_line",
    "RATING_SCALE",
    "report_publisher",
    "conclusion",
    "claim_reviews",
    "index_view",
    "render_index",
]


def _as_node(nb: Any):
    import nbformat

    if isinstance(nb, str | Path):
        return nbformat.read(nb, as_version=4)
    return nb


TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: The Content-Security-Policy of every page and index: no script, nothing from the network;
#: images from the report's own folder or inline (data: PNG/SVG), inline styles.
CSP = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
# What the sanitizer keeps of a notebook's HTML and rendered Markdown: the report's tables,
# headings, captions, emphasis, lists, links and inline images. Anything else is escaped (shown
# as text), so hostile markup that slipped past the notebooks' own escaping stays visible.
ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "del",
        "details",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "small",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_CELL_ATTRS = ["class", "id", "title", "rowspan", "colspan", "valign", "align", "style"]
_IMAGE_SOURCES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/svg+xml;base64,")
#: CSS properties a ``style`` attribute keeps (pandas writes ``text-align`` on table rows).
ALLOWED_CSS = frozenset({"text-align", "vertical-align", "white-space", "font-weight"})


def _link_attr(tag: str, name: str, value: str) -> bool:
    if name == "href":  # a page, an anchor or a web address: never a data: or script URL
        return not value.strip().lower().startswith(("data:", "javascript:", "vbscript:"))
    return name in ("class", "id", "title", "rel")


def _image_attr(tag: str, name: str, value: str) -> bool:
    if name == "src":
        if value.startswith(_IMAGE_SOURCES):
            return True
        # a file beside the page: no scheme, no host ("//x"), no absolute path
        return not value.startswith(("/", "\\")) and ":" not in value.split("/", 1)[0]
    return name in ("alt", "width", "height", "class")


_ALLOWED_ATTRIBUTES: dict[str, Any] = {
    "*": ["class", "id", "title"],
    "a": _link_attr,
    "img": _image_attr,
    "table": ["class", "id", "border"],
    "tr": ["class", "style"],
    "th": _CELL_ATTRS,
    "td": _CELL_ATTRS,
}


def clean_html(html: Any) -> str:
    """Sanitize notebook HTML (an output, or Markdown rendered to HTML) with bleach: tags in
    :data:`ALLOWED_TAGS` with their listed attributes, styles limited to :data:`ALLOWED_CSS`,
    links to web pages, mail and anchors, images inline or relative; the rest escaped.

    Examples
    --------
    >>> clean_html('<p>ok</p><script>alert(1)</script>')
    '<p>ok</p>&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> clean_html('<a href="javascript:alert(1)">x</a>')
    '<a>x</a>'
    """
    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    text = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        protocols={"http", "https", "mailto", "data"},
        css_sanitizer=CSSSanitizer(allowed_css_properties=ALLOWED_CSS),
        strip=False,
        strip_comments=True,
    )


# One exporter per process and code setting: building one loads and compiles the templates and
# the lab CSS, which costs more than converting a notebook.
_EXPORTERS: dict[bool, Any] = {}


def _exporter(with_code: bool):
    if with_code not in _EXPORTERS:
        from nbconvert import HTMLExporter

        _EXPORTERS[with_code] = HTMLExporter(
            template_name="lab",
            template_file="page.html.j2",
            extra_template_paths=[str(TEMPLATES)],
            exclude_input=not with_code,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            # every output's HTML and Markdown goes through clean_html (nbconvert's own filter
            # keeps too little of the report's tables); no script output is written
            sanitize_html=True,
            filters={"clean_html": clean_html},
        )
    return _EXPORTERS[with_code]


def notebook_page(nb: Any, html: Path, *, with_code: bool, title: str) -> None:
    """Write the HTML page of an executed notebook (a node or a path): input cells hidden unless
    ``with_code``, a bar linking back to ``index.html`` and to the executed notebook beside it,
    every output sanitized (:func:`clean_html`), and nothing loaded from the network: the page
    carries the :data:`CSP` (see ``templates/page.html.j2``)."""
    resources = {
        "metadata": {"name": title},
        "rotation_ipynb": html.with_suffix(".ipynb").name,
        "rotation_csp": CSP,
    }
    body, _ = _exporter(with_code).from_notebook_node(_as_node(nb), resources=resources)
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


# --------------------------------------------------------------------------- index

#: A figure whose as-of month is more than this many months before the report month is stale.
STALE_AFTER_MONTHS = 3


@dataclass(frozen=True)
class FigureRow:
    """One headline figure as the index shows it (all text already formatted)."""

    id: str
    label: str
    value: str
    as_of: str
    stale: str
    change: str
    notes: tuple[int, ...]
    notebook: str
    reason: str = ""


@dataclass(frozen=True)
class ClaimRow:
    """One claim of the article: id, text, verdict, one line of evidence."""

    id: str
    text: str
    verdict: str
    evidence: str
    notes: tuple[int, ...]
    notebook: str
    previous_verdict: str = ""
    evidence_more: str = ""
    fragile: bool = False


@dataclass(frozen=True)
class IndexView:
    """Everything ``index.html`` shows besides the summary itself; sources are numbered notes."""

    figures: list[FigureRow]
    claims: list[ClaimRow]
    notes: list[str]
    previous_month: str | None
    period: str = ""
    #: The opening paragraph: verdict counts, the largest errors, what happened after the article.
    conclusion: str = ""
    #: schema.org ClaimReview objects (one per claim) as JSON, escaped for a <script> element.
    claim_reviews_json: str = ""


def _spec(fid: str, unit: str) -> FigureSpec:
    try:
        return figure_spec(fid)
    except KeyError:  # a summary written before the id was registered: show it plainly
        return FigureSpec(fid, fid, unit if unit in units.UNITS else "index")


def format_value(value: Any, spec: FigureSpec) -> str:
    """A value as its figure is shown: "25.79x", "14.7%", "+3.6 pp", "17.3% per year"."""
    return spec.shown(value)


def format_change(value: Any, previous: Any, spec: FigureSpec) -> str:
    """The change since the previous report (:func:`rotation_utils.units.format_change`)."""
    return units.format_change(value, previous, spec.unit)


def as_of_month(as_of: str) -> pd.Period | None:
    """The month an as-of label falls in: "2026-01-30" and "2026-01" -> 2026-01, a year "2025" ->
    2025-12, a quarter "2025Q4" -> 2025-12; None when it names no date."""
    text = str(as_of).strip()
    for pattern, freq in ((r"^(\d{4}-\d{2})", "M"), (r"^(\d{4}Q[1-4])$", "Q"), (r"^(\d{4})$", "Y")):
        m = re.match(pattern, text)
        if m:
            return pd.Period(m.group(1), freq=freq).asfreq("M", how="end")
    return None


def staleness(as_of: str, month: str) -> str:
    """ "stale: N months old" when ``as_of`` is more than :data:`STALE_AFTER_MONTHS` months
    before the report ``month``, else ""."""
    when = as_of_month(as_of)
    if when is None:
        return ""
    age = (parse_month(month) - when).n
    return f"stale: {age} months old" if age > STALE_AFTER_MONTHS else ""


def _sources(text: str) -> list[str]:
    """The separate sources in a caption ("Source: A | Source: B", or one per line)."""
    parts = re.split(r"\s*\|\s*|\n+", text or "")
    return [re.sub(r"^Source:\s*", "", p).strip() for p in parts if p.strip()]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def one_line(text: str) -> tuple[str, str]:
    """The first sentence of ``text`` and the rest ("" when it is one sentence)."""
    parts = _SENTENCE_END.split(text.strip(), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def index_view(summary: dict, previous: dict | None, *, publisher: str | None = None) -> IndexView:
    """Rows of the index: headline figures (registry order, labels with units and basis, stale
    marks, change since the previous month's report) and claims, with each source numbered once;
    the opening conclusion and the ClaimReview JSON-LD (author ``publisher``, default
    :func:`report_publisher`)."""
    notes: list[str] = []

    def refs(source: str) -> tuple[int, ...]:
        out = []
        for src in _sources(source):
            if src not in notes:
                notes.append(src)
            out.append(notes.index(src) + 1)
        return tuple(dict.fromkeys(out))

    order = {fid: i for i, fid in enumerate(FIGURES)}
    items = sorted(summary["figures"].items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    prev_figs = (previous or {}).get("figures", {})
    month = summary["month"]
    figures, claims = [], []
    for fid, f in items:
        spec = _spec(fid, f.get("unit", ""))
        prev = prev_figs.get(fid, {})
        if spec.unit == "verdict":
            pv = prev.get("value")
            head, more = one_line(f.get("evidence", ""))
            why = f.get("why", "")
            if why:  # the why is the one line; the evidence after it folds away
                head, more = why, f.get("evidence", "").removeprefix(why).strip()
            claims.append(
                ClaimRow(
                    id=fid.removeprefix(CLAIM_PREFIX),
                    text=f.get("text", ""),
                    verdict=str(f["value"]),
                    evidence=head,
                    notes=refs(f["source"]),
                    notebook=f["notebook"],
                    previous_verdict=pv if isinstance(pv, str) and pv != f["value"] else "",
                    evidence_more=more,
                    fragile=bool(f.get("fragile_under")),
                )
            )
            continue
        stale = staleness(f["as_of"], month) if f["value"] is not None else ""
        moved = not (prev.get("as_of") == f["as_of"] and prev.get("value") == f["value"])
        if spec.unit == "ticker":
            changed = prev.get("value") not in (None, f["value"])
            change = f"was {prev['value']}" if changed else ""
        else:
            change = format_change(f["value"], prev.get("value"), spec)
        figures.append(
            FigureRow(
                id=fid,
                label=f"{spec.label} ({f['basis']})" if f.get("basis") else spec.label,
                value=format_value(f["value"], spec),
                as_of=str(f["as_of"]),
                stale=stale,
                change=change if moved and not stale else "",
                notes=refs(f["source"]),
                notebook=f["notebook"],
                reason=f.get("reason", ""),
            )
        )
    previous_month = str(parse_month(month) - 1) if previous else None
    prices = summary.get("prices")
    period = PriceCoverage(**prices).label if prices else ""
    recorded = {
        fid.removeprefix(CLAIM_PREFIX): f
        for fid, f in items
        if _spec(fid, f.get("unit", "")).unit == "verdict"
    }
    reviews = claim_reviews(recorded, publisher or report_publisher(), month)
    return IndexView(
        figures,
        claims,
        notes,
        previous_month,
        period,
        conclusion(recorded),
        _script_json(reviews) if reviews else "",
    )


# --------------------------------------------------------------------------- conclusion

#: The order verdicts are counted in, as a reader asks: what holds, what does not, what is mixed.
_COUNT_ORDER = ("supported", "contradicted", "partly supported", "not checkable")


def conclusion(claims: dict[str, dict]) -> str:
    """The index's opening paragraph, built from the recorded claims: the count of each verdict,
    the one or two claims that matter most by the size of their error (each with its numbers and
    date), which verdicts are fragile, and what happened after the article (the claims'
    outcomes, each with its numbers and window). "" when the report checked no claims."""
    if not claims:
        return ""
    verdicts = [str(c.get("value")) for c in claims.values()]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in _COUNT_ORDER)
    out = [f"Of {len(claims)} claims, {counts}."]
    missed = sorted(
        ((cid, c) for cid, c in claims.items() if (c.get("miss") or {}).get("size")),
        key=lambda kv: -kv[1]["miss"]["size"],
    )[:2]
    if missed:
        said = "; ".join(
            f"{cid} (\u201c{c.get('text', '')}\u201d, {c['value']}): "
            + (
                f"on \u201c{c['miss']['definition']}\u201d, "
                if c["value"] != "contradicted"
                else ""
            )
            + f"{c['miss']['summary']}, off by {c['miss']['size']:.0%} of the stated value"
            + (f" (as of {c['miss']['as_of']})" if c["miss"].get("as_of") else "")
            for cid, c in missed
        )
        word = "claim that matters most" if len(missed) == 1 else "claims that matter most"
        out.append(f"The {word} by the size of the error: {said}.")
    fragile = [cid for cid, c in claims.items() if c.get("fragile_under")]
    if fragile:
        first = claims[fragile[0]]["fragile_under"][0]
        out.append(
            f"Fragile: {', '.join(fragile)} ({fragile[0]} reverses on "
            f"{first['perturbation']}: {first['summary']})."
        )
    after = [
        f"{cid}, {o['label']}: {o['verdict']}, {o['summary']}"
        + (f" (as of {o['as_of']})" if o.get("as_of") and o["as_of"] not in o["summary"] else "")
        for cid, c in claims.items()
        for o in c.get("outcomes", [])
    ]
    if after:
        out.append(f"After the article: {'; '.join(after)}.")
    return " ".join(out)


# --------------------------------------------------------------------------- ClaimReview

#: The stated 1-4 scale of the ClaimReview rating (``reviewRating.ratingValue``).
RATING_SCALE = {"not checkable": 1, "contradicted": 2, "partly supported": 3, "supported": 4}
DEFAULT_PUBLISHER = "rotation (small vs large caps monthly report)"


def report_publisher() -> str:
    """Who publishes the report (the ClaimReview author): ``ROTATION_PUBLISHER``, else
    :data:`DEFAULT_PUBLISHER`."""
    return os.environ.get("ROTATION_PUBLISHER", "").strip() or DEFAULT_PUBLISHER


def claim_reviews(claims: dict[str, dict], publisher: str, month: str) -> list[dict]:
    """One schema.org ``ClaimReview`` per recorded claim: the claim text, the article it appeared
    in (url, date, title, publisher), the verdict as ``alternateName`` of a rating on
    :data:`RATING_SCALE` (1 not checkable, 2 contradicted, 3 partly supported, 4 supported),
    the why as its explanation, and the report's publisher as author."""
    out = []
    for cid, c in claims.items():
        verdict = str(c.get("value"))
        art = c.get("article") or {}
        review: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "identifier": cid,
            "claimReviewed": c.get("text", ""),
            "author": {"@type": "Organization", "name": publisher},
            "reviewRating": {
                "@type": "Rating",
                "ratingValue": RATING_SCALE.get(verdict, 1),
                "bestRating": 4,
                "worstRating": 1,
                "alternateName": verdict,
                "ratingExplanation": c.get("why") or c.get("evidence", ""),
            },
            "datePublished": str(parse_month(month).end_time.date()),
            "url": f"#claim-{cid}",
        }
        if art:
            review["itemReviewed"] = {
                "@type": "Claim",
                "datePublished": art.get("date", ""),
                "author": {"@type": "Organization", "name": art.get("publisher", "")},
                "appearance": {
                    "@type": "Article",
                    "headline": art.get("title", ""),
                    "url": art.get("url", ""),
                    "datePublished": art.get("date", ""),
                },
            }
        out.append(review)
    return out


def _script_json(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` (and the two JavaScript
    line separators) as ``\\u`` escapes, so no text can close the element or open a comment."""
    text = json.dumps(obj, ensure_ascii=False, indent=1)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def render_index(summary: dict, view: IndexView, path: Path) -> None:
    """Write the month's ``index.html`` from its summary and :func:`index_view`."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
    )
    html = env.get_template("index.html.j2").render(s=summary, v=view, csp=CSP)
    path.write_text(html, encoding="utf-8")
