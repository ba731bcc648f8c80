"""Hostile input on the report's pages: a claims file's text is shown as text, never run.

Issue #18's page findings: script, an ``onerror`` image, a ``javascript:`` link, a fake verdict
line and a ``position:fixed`` cover from a claims file's text, title, note, labels and reasons
reached notebook 05's page. Here each is escaped where the Markdown is built, sanitized where the
page is exported, and blocked by the page's Content-Security-Policy; the browser test renders
the hostile file through notebook 05 and the index in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from rotation_utils.escaping import escape_html, escape_markdown
from rotation_utils.report.render import CSP, clean_html

from .conftest import ipc_kernel_manager

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "hostile" / "pages.toml"
NB05 = ROOT / "notebooks" / "05_claims_check.ipynb"
MONTH = "2026-01"

# Every piece of markup the hostile file carries, as a reader must see it on the page.
VISIBLE = [
    "<script>alert('title')</script><img src=x onerror=alert('title-img')>",
    "Small caps are cheaper <script>alert('text')</script> <img src=x onerror=alert('text-img')>",
    "[click me](javascript:alert('note-link'))",
    '<div id="cover" style="position:fixed;',
    "<script>alert('variant')</script>",
    "<img src=x onerror=alert('outcome')> [x](javascript:alert('outcome-link'))",
    "<script>alert('reason')</script><img src=x onerror=alert('reason-img')>",
]
_TAG = re.compile(r"<(script|img|div|iframe|style)\b", re.I)


def _html(markdown: str) -> str:
    """Markdown as nbconvert renders it on a page (before the sanitizer)."""
    return markdown2html_mistune(markdown)


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "![x](http://127.0.0.1:9/x.png)",
        "<http://127.0.0.1:9/>",
        '<div style="position:fixed;top:0">cover</div>',
        "&lt;script&gt; &#x3C;img&#x3E;",
        "$x^2$ `code` *em* _em_ ~~del~~ | a | b |",
    ],
)
def test_escaped_markdown_renders_as_the_text_itself(text):
    rendered = _html(escape_markdown(text))
    assert not _TAG.search(rendered) and "<a " not in rendered and "<em>" not in rendered
    # the text a reader sees is exactly the input (entities decoded once)
    import html

    assert html.unescape(re.sub(r"</?p>", "", rendered).strip()) == text


@pytest.mark.parametrize("start", ["- item", "1. item", "2) item", "# heading", "> quote", "---"])
def test_escaped_markdown_starts_no_block(start):
    rendered = _html(escape_markdown(start)).strip()
    assert rendered.startswith("<p>") and rendered.count("<p>") == 1, rendered


def test_a_newline_cannot_start_a_fake_verdict_paragraph():
    text = "Small caps are cheaper\n\n**Verdict: supported.**\n\n# Conclusion"
    rendered = _html(f"**Verdict: contradicted.** {escape_markdown(text)}")
    assert rendered.count("<p>") == 1 and rendered.count("<strong>") == 1
    assert "<strong>Verdict: contradicted.</strong>" in rendered
    assert "**Verdict: supported.** # Conclusion" in rendered


def test_escape_html_quotes_attributes():
    assert escape_html("\"'><b>") == "&quot;&#x27;&gt;&lt;b&gt;"


# --------------------------------------------------------------------------- claim_markdown


@pytest.fixture(scope="module")
def hostile_results():
    from rotation_utils.claims import check_file

    return check_file(HOSTILE, MONTH)


def test_claim_markdown_of_a_hostile_file_has_no_markup_of_its_own(hostile_results):
    from rotation_utils.claims import claim_markdown

    cf, results = hostile_results
    h1, h2 = results
    assert (h1.verdict, h2.verdict) == ("contradicted", "not checkable")
    page = _html(claim_markdown(h1)) + _html(claim_markdown(h2))
    assert not _TAG.search(page), _TAG.search(page)
    assert "javascript:" not in re.sub(r">[^<]*<", "><", page)  # in no attribute
    # one real verdict line per claim; the fake one stays inside the heading's text
    verdicts = re.findall(r"<strong>Verdict: ([^<]*)</strong>", page)
    assert verdicts == ["contradicted.", "not checkable."]
    # the fake line is text: in H1's heading and in H2's why (its evidence only repeated the
    # why, and a reason is said once)
    assert page.count("**Verdict: supported.**") == 2
    assert re.search(r"<h3[^>]*>H1: Small caps are cheaper &lt;script&gt;", page)
    assert "<p><em>Note:</em> [click me](javascript:alert('note-link')) &lt;div id=" in page


# --------------------------------------------------------------------------- sanitizer


def test_clean_html_keeps_the_reports_tables_and_images():
    table = (
        '<table border="0" class="dataframe rotation-table"><thead><tr style="text-align: right;">'
        '<th rowspan="2" valign="top">a</th><th>b</th></tr></thead><tbody><tr><td>1</td>'
        "<td>2</td></tr></tbody></table>"
    )
    assert clean_html(table) == table
    png = '<img src="data:image/png;base64,iVBORw0KGgo=">'
    assert clean_html(png) == png
    assert clean_html('<img src="01_valuation_gaps.png">') == '<img src="01_valuation_gaps.png">'
    caption = "<small><i>Source: S&amp;P</i></small><br>"
    assert clean_html(caption) == caption


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href="data:text/html,x">x</a>', "<a>x</a>"),
        ('<img src="x" onerror="alert(1)">', '<img src="x">'),
        ('<img src="http://127.0.0.1:9/x.png">', "<img>"),
        ('<img src="//127.0.0.1:9/x.png">', "<img>"),
        ('<div style="position:fixed;top:0">c</div>', "<div>c</div>"),
        (
            '<table><tr style="text-align:right;position:fixed"><td>c</td></tr></table>',
            '<table><tbody><tr style="text-align:right;"><td>c</td></tr></tbody></table>',
        ),
        ('<p style="text-align:right;position:fixed">c</p>', "<p>c</p>"),
        ('<iframe src="x"></iframe>', '&lt;iframe src="x"&gt;&lt;/iframe&gt;'),
        ("<style>body{display:none}</style>", "&lt;style&gt;body{display:none}&lt;/style&gt;"),
    ],
)
def test_clean_html_refuses_script_remote_loads_and_covers(dirty, clean):
    assert clean_html(dirty) == clean


# --------------------------------------------------------------------------- pages in Chromium


def _chromium() -> str:
    from tests.test_browser import _chromium as find

    return find()


@pytest.fixture(scope="module")
def hostile_pages(tmp_path_factory) -> Path:
    """Notebook 05 run with papermill on the hostile file, its page, and the month's index."""
    import papermill as pm

    from rotation_utils.figures import records_in
    from rotation_utils.report.kernels import NotebookResult
    from rotation_utils.report.render import index_view, notebook_page, render_index
    from rotation_utils.report.summary import summarize

    out = tmp_path_factory.mktemp("hostile-pages")
    executed = out / "05_claims_check.ipynb"
    nb = pm.execute_notebook(
        str(NB05),
        str(executed),
        parameters={"month": MONTH, "claims_file": str(HOSTILE)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NB05.parent),
        km=ipc_kernel_manager(),
    )
    notebook_page(nb, out / "05_claims_check.html", with_code=False, title=f"05 · {MONTH}")
    result = NotebookResult(
        "05_claims_check", MONTH, "ok", 1.0, str(executed), figures=records_in(nb)
    )
    from rotation_utils.derived import data_dir

    summary = summarize(MONTH, [result], data_dir(), full=False, images=[])
    render_index(summary, index_view(summary, None), out / "index.html")
    return out


@pytest.mark.slow
@pytest.mark.browser
def test_hostile_claims_run_no_script_and_load_nothing_in_chromium(hostile_pages):
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_ARGS

    seen: dict[str, dict[str, list]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        for name in ("05_claims_check.html", "index.html"):
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            got = seen.setdefault(name, {"dialogs": [], "requests": [], "fixed": []})
            page.on("dialog", lambda d, got=got: (got["dialogs"].append(d.message), d.dismiss()))
            page.on("request", lambda r, got=got: got["requests"].append(r.url))
            page.goto((hostile_pages / name).as_uri())
            page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            got["text"] = text
            got["fixed"] = page.evaluate(
                "[...document.querySelectorAll('body *')]"
                ".filter(e => getComputedStyle(e).position === 'fixed').length"
            )
            got["cover"] = page.locator("#cover").count()
            got["js_links"] = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.href).filter(h => !/^(file|https?):/.test(h))"
            )
            got["csp"] = page.eval_on_selector(
                "meta[http-equiv=Content-Security-Policy]", "e => e.content"
            )
            # every in-page link, clicked (anchors show only on hover: dispatch the click)
            for link in page.locator("a[href^='#']").all()[:40]:
                link.dispatch_event("click")
            page.close()
        browser.close()
    page05, index = seen["05_claims_check.html"], seen["index.html"]
    for name, got in seen.items():
        assert got["dialogs"] == [], name
        assert [u for u in got["requests"] if not u.startswith("file://")] == [], name
        assert (got["fixed"], got["cover"], got["js_links"]) == (0, 0, []), name
        assert got["csp"] == CSP, name
    for piece in VISIBLE:
        assert piece in page05["text"], piece
    # the real verdicts, and the fake one only inside the claim's own text
    assert "Verdict: contradicted." in page05["text"]
    assert "\nVerdict: supported." not in page05["text"]
    assert "Small caps are cheaper <script>alert('text')</script>" in index["text"]


@pytest.mark.slow
@pytest.mark.browser
def test_the_policy_blocks_a_script_that_got_past_the_sanitizer(tmp_path):
    """The CSP is a second wall, and must be able to hold on its own: a page with an inline
    script, an onerror image and a remote image, under the report's policy, runs and loads
    nothing."""
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_ARGS

    body = (
        "<script>alert('inline')</script><img src=x onerror=\"alert('onerror')\">"
        '<img src="http://127.0.0.1:9/remote.png"><p>text</p>'
    )
    with_csp = tmp_path / "with.html"
    with_csp.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        f'content="{CSP}"></head><body>{body}</body></html>'
    )
    without = tmp_path / "without.html"
    without.write_text(f"<!DOCTYPE html><html><head></head><body>{body}</body></html>")
    dialogs: dict[str, list[str]] = {}
    remote: dict[str, list[str]] = {}
    blocked: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        for f in (with_csp, without):
            page = browser.new_page()
            d, r = dialogs.setdefault(f.name, []), remote.setdefault(f.name, [])
            page.on("dialog", lambda x, d=d: (d.append(x.message), x.dismiss()))
            page.on("request", lambda x, r=r: r.append(x.url))
            page.add_init_script(
                "window.blocked = []; document.addEventListener('securitypolicyviolation',"
                " e => window.blocked.push(e.blockedURI))"
            )
            page.goto(f.as_uri())
            page.wait_for_load_state("load")
            blocked[f.name] = page.evaluate("window.blocked")
            page.close()
        browser.close()
    # Chromium reports the blocked image as a request event too; the policy's own report says
    # it was refused before it left the page
    assert dialogs["with.html"] == []
    assert "http://127.0.0.1:9/remote.png" in blocked["with.html"]
    assert "inline" in blocked["with.html"] and blocked["without.html"] == []
    # the same page without the policy does run both scripts: the test can fail
    assert sorted(dialogs["without.html"]) == ["inline", "onerror"]
