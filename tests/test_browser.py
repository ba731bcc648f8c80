"""Real-browser check of a rendered report in Debian's headless Chromium (playwright)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        msg = "Debian chromium not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {msg}")
        pytest.skip(msg)
    return path


def test_index_and_pages_render_with_links_and_images(reports, tmp_path):
    exe = _chromium()
    from matplotlib.image import imread
    from playwright.sync_api import sync_playwright

    month_dir = reports / "2026-01"
    pages = ["index.html"] + sorted(p.name for p in month_dir.glob("0*.html"))
    requests: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        for name in pages:
            # a fresh page per document, so every request is attributed to the page that made it
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            seen = requests.setdefault(name, [])
            page.on("request", lambda r, seen=seen: seen.append(r.url))
            page.goto((month_dir / name).as_uri())
            page.wait_for_load_state("networkidle")
            title = page.title()
            assert title, name
            if name == "index.html":
                assert title == "Small vs large caps: monthly report 2026-01"
                assert page.locator("#headlines tbody tr").count() >= 11
                assert page.locator("#claims tbody tr").count() == 9
                # as-of dates never wrap inside their cell
                styles = page.eval_on_selector_all(
                    "#headlines td.date", "els => els.map(e => getComputedStyle(e).whiteSpace)"
                )
                assert styles and set(styles) == {"nowrap"}
            else:
                # every notebook page links back to its month's index
                back = page.eval_on_selector_all("a[rel=index]", "els => els.map(e => e.href)")
                assert back and all(urlparse(h).path == str(month_dir / "index.html") for h in back)
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            for h in hrefs:
                u = urlparse(h)
                if u.scheme == "file":
                    assert Path(u.path).exists(), f"{name}: broken link {h}"
            widths = page.eval_on_selector_all(
                "img", "els => els.map(e => e.complete ? e.naturalWidth : 0)"
            )
            assert all(w > 0 for w in widths), f"{name}: image not loaded {widths}"
            if name == "index.html":
                assert len(widths) >= 4  # figure gallery
            shot = tmp_path / f"{name}.png"
            page.screenshot(path=str(shot), full_page=name == "index.html")
            pixels = imread(shot)
            assert pixels.std() > 0.05, f"{name}: blank screenshot"
            page.close()
        browser.close()
    # nothing from the network: no require.js, MathJax, widget or font CDN, on any page
    assert set(requests) == set(pages) and all(requests.values())
    remote = {n: [u for u in urls if not u.startswith("file://")] for n, urls in requests.items()}
    assert remote == {n: [] for n in pages}
    keep = os.environ.get("ROTATION_SCREENSHOT_DIR")
    if keep:
        shutil.copytree(tmp_path, keep, dirs_exist_ok=True)


def test_the_request_recorder_sees_remote_requests(tmp_path):
    """The recorder above must be able to fail: a page that asks for a CDN script is caught
    (the request is recorded before it fails offline)."""
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "cdn.html"
    page_file.write_text(
        '<!DOCTYPE html><html><head><script src="https://cdnjs.cloudflare.com/ajax/libs/'
        'require.js/2.1.10/require.min.js"></script></head><body>x</body></html>'
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page()
        # answer the CDN from here: the test never touches the network
        page.route("https://**/*", lambda route: route.fulfill(status=200, body=""))
        seen: list[str] = []
        page.on("request", lambda r: seen.append(r.url))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        browser.close()
    assert [u for u in seen if not u.startswith("file://")] == [
        "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js"
    ]
