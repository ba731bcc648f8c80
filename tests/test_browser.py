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
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        for name in pages:
            page.goto((month_dir / name).as_uri())
            page.wait_for_load_state("load")
            title = page.title()
            assert title, name
            if name == "index.html":
                assert title == "Small vs large caps: monthly report 2026-01"
                assert page.locator("#headlines tbody tr").count() >= 11
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
        browser.close()
    keep = os.environ.get("ROTATION_SCREENSHOT_DIR")
    if keep:
        shutil.copytree(tmp_path, keep, dirs_exist_ok=True)
