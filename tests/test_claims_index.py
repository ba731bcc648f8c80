"""The report index on the seed article's checked claims: the opening conclusion (verdict counts,
the largest errors, what happened after the article) and one schema.org ClaimReview per claim,
which no claim text can break out of."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from rotation_utils.claims import check_file, record_evidence, record_fields, resolve_claims_file
from rotation_utils.derived import load_table
from rotation_utils.figures import figure_payload
from rotation_utils.report.render import RATING_SCALE, index_view, render_index


def _recorded(path, month: str) -> dict[str, dict]:
    """What notebook 05 records for each claim (see its record_claim call), as summary.json
    holds it."""
    cf, results = check_file(path, month)
    out = {}
    for r in results:
        p = figure_payload(f"claim_{r.id}", r.verdict, as_of=month, source=" | ".join(r.sources))
        p.update(record_fields(cf, r))
        p.update(text=r.claim.text, evidence=record_evidence(r), notebook="05_claims_check")
        out[f"claim_{r.id}"] = p
    return out


def _summary(figures: dict, month: str = "2026-07") -> dict:
    return {
        "month": month,
        "prices": None,
        "generated_at": "2026-08-01T00:00:00+00:00",
        "data_vintages": {},
        "notebooks": [],
        "images": [],
        "figures": figures,
    }


@pytest.fixture(scope="module")
def seed_2026_07():
    import os

    saved = os.environ.pop("ROTATION_MIRROR", None)
    try:
        return _recorded(resolve_claims_file("great-rotation-2026-01-13"), "2026-07")
    finally:
        if saved is not None:
            os.environ["ROTATION_MIRROR"] = saved


class _Scripts(HTMLParser):
    """The JSON-LD script elements of a page and where the first table starts."""

    def __init__(self):
        super().__init__()
        self.ld: list[str] = []
        self._in = False
        self.first_table_at: int | None = None
        self.conclusion_at: int | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("type") == "application/ld+json":
            self._in = True
            self.ld.append("")
        if tag == "table" and self.first_table_at is None:
            self.first_table_at = self.getpos()[0]
        if tag == "section" and a.get("id") == "conclusion":
            self.conclusion_at = self.getpos()[0]

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.ld[-1] += data


def test_the_conclusion_counts_verdicts_names_the_largest_errors_and_the_outcome(seed_2026_07):
    v = index_view(_summary(seed_2026_07), None)
    c = v.conclusion
    # 2026-07: C1, C5 supported; C2 contradicted; C6, C8 partly supported; C3, C4, C7, C9 not
    assert c.startswith(
        "Of 9 claims, 2 supported, 1 contradicted, 2 partly supported, 4 not checkable."
    )
    # by the size of the error: C2's 27.9% discount is 7.9 pp over the stated 20% (1 - 16.19 /
    # 22.46; 7.9 / 20 = 40% of it), then C6 on S&P 600 Financials, 10.43x vs 16.5 (37% under)
    close = load_table("etf_close")
    assert (
        "The claims that matter most by the size of the error: C2 (\u201cThat discount is 20%\u201d, "
        "contradicted): S&P 600 16.19x vs S&P 500 22.46x: a 27.9% discount, 7.9 pp above the "
        "stated 20.0% (±2.0 pp), off by 40% of the stated value (as of 2026-01-29); C6" in c
    )
    assert "on \u201cS&P 600 Financials (small caps)\u201d, 10.43x vs stated 16.50x" in c
    # after the article: IWM vs SPY from the 2026-01-13 close to 2026-07-31
    r = lambda t: close.loc["2026-07-31", t] / close.loc["2026-01-13", t] - 1  # noqa: E731
    iwm, spy = r("IWM"), r("SPY")
    assert f"IWM {iwm:+.1%} vs SPY {spy:+.1%} (2026-01-13 to 2026-07-31)" in c
    assert "After the article: C5, IWM vs SPY from the article's close" in c
    # and whether the named rotation happened, from the sector SPDRs' first close after their gap
    xlf = close.loc["2026-07-31", "XLF"] / close.loc["2026-03-31", "XLF"] - 1
    assert "C8, from the sector SPDRs' first close after their price gap (2026-03-31): " in c
    assert f"XLF {xlf:+.1%}" in c and "1 of 6 pairs as claimed" in c


def test_the_index_opens_with_the_conclusion_before_any_table(seed_2026_07, tmp_path):
    s = _summary(seed_2026_07)
    render_index(s, index_view(s, None), tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    p = _Scripts()
    p.feed(html)
    assert p.conclusion_at is not None and p.conclusion_at < p.first_table_at
    assert "Of 9 claims, 2 supported, 1 contradicted" in html
    # the claims table leads with the why; C8 names the convention that flips it
    row = html[html.index('id="claim-C8"') :]
    row = row[: row.index("</tr>")]
    assert "flips when the window starts 2025-10-01 (1 trading day later)" in row


def test_one_claim_review_per_claim(seed_2026_07, tmp_path, monkeypatch):
    monkeypatch.setenv("ROTATION_PUBLISHER", "Example Research Desk")
    s = _summary(seed_2026_07)
    render_index(s, index_view(s, None), tmp_path / "index.html")
    p = _Scripts()
    p.feed((tmp_path / "index.html").read_text())
    (ld,) = p.ld
    reviews = json.loads(ld)
    assert [r["identifier"] for r in reviews] == [f"C{i}" for i in range(1, 10)]
    by_id = {r["identifier"]: r for r in reviews}
    for cid, r in by_id.items():
        rec = seed_2026_07[f"claim_{cid}"]
        assert r["@context"] == "https://schema.org" and r["@type"] == "ClaimReview"
        assert r["claimReviewed"] == rec["text"]
        assert r["author"] == {"@type": "Organization", "name": "Example Research Desk"}
        rating = r["reviewRating"]
        assert rating["@type"] == "Rating" and (rating["worstRating"], rating["bestRating"]) == (
            1,
            4,
        )
        assert rating["alternateName"] == rec["value"]
        assert rating["ratingValue"] == RATING_SCALE[rec["value"]]
        assert rating["ratingExplanation"] == rec["why"]
        item = r["itemReviewed"]
        assert item["@type"] == "Claim" and item["datePublished"] == "2026-01-13"
        assert item["appearance"]["url"] == "https://www.ainvest.com/news/"
        assert item["appearance"]["headline"].startswith("The Great Rotation")
        assert r["datePublished"] == "2026-07-31"
    assert by_id["C2"]["reviewRating"]["ratingValue"] == 2  # contradicted on the stated scale
    assert by_id["C1"]["reviewRating"]["ratingValue"] == 4  # supported


@pytest.mark.parametrize(
    "text",
    [
        "</script><script>alert(1)</script>",
        "</SCRIPT ><img src=x onerror=alert(1)>",
        "<!-- <script>",
        "a & b \u2028 c \u2029 d",
    ],
)
def test_claim_text_can_never_close_the_script_element(seed_2026_07, tmp_path, text):
    figures = {k: dict(v) for k, v in seed_2026_07.items()}
    figures["claim_C1"]["text"] = text
    figures["claim_C1"]["why"] = text
    s = _summary(figures)
    render_index(s, index_view(s, None), tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S | re.I)
    assert block is not None
    body = block.group(1)
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body
    (c1,) = [r for r in json.loads(body) if r["identifier"] == "C1"]
    assert c1["claimReviewed"] == text  # escaped, not changed
    p = _Scripts()
    p.feed(html)
    assert len(p.ld) == 1 and len(json.loads(p.ld[0])) == 9  # one element, still whole
    assert text not in html.replace(body, "")  # and the visible table escapes it too


def test_the_second_article_gets_its_own_conclusion(no_mirror):
    from pathlib import Path

    second = Path(__file__).parent / "claims" / "mid-caps-2026-02-01.toml"
    v = index_view(_summary(_recorded(second, "2026-01"), "2026-01"), None)
    # M1, M2, M4, M6 supported; M5 contradicted; M3 partly supported; M7 not checkable
    assert v.conclusion.startswith(
        "Of 7 claims, 4 supported, 1 contradicted, 1 partly supported, 1 not checkable."
    )
    # M4 is supported but reversed in June 2025 alone: said in the conclusion with its numbers
    assert "Fragile: M4 (M4 reverses on June 2025 alone (2025-05-30 to 2025-06-30): SPY +5.1%" in (
        v.conclusion
    )
    assert len(json.loads(v.claim_reviews_json)) == 7
