"""Re-execute the committed notebooks in place and keep their outputs small.

Runs each notebook top to bottom on the embedded data/ (ROTATION_MIRROR unset, headless), then
drops image payloads from the outputs (nbval does not compare images, and the report renders
fresh ones), so the committed files stay small and their text outputs are what nbval checks.

Usage: python tools/refresh_notebooks.py [NOTEBOOK ...]   (or `make notebooks`)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
IMAGE_KEYS = ("image/png", "image/jpeg", "image/svg+xml")


def shrink(nb: nbformat.NotebookNode) -> None:
    """Drop image payloads and per-run timing metadata so a re-run changes nothing that is the same."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            for k in IMAGE_KEYS:
                out.get("data", {}).pop(k, None)
            out.get("metadata", {}).clear()


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    shrink(nb)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    print(f"refreshed {path.relative_to(ROOT)}", file=sys.stderr)


def main(argv: list[str]) -> int:
    os.environ.pop("ROTATION_MIRROR", None)
    os.environ["ROTATION_HEADLESS"] = "1"
    paths = [Path(a).resolve() for a in argv] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    for p in paths:
        refresh(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
