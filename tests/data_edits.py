"""Edits to a copy of data/ for tests and benchmarks of incremental reports."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import pandas as pd


def revise_cell(data: Path, table: str, period: str, column: str, value: float) -> None:
    """Change one cell of a monthly derived table in a copy of data/, its manifest in step."""
    man = json.loads((data / "manifest.json").read_text())
    entry = man["tables"][table]
    path = data / entry["file"]
    df = pd.read_csv(path, compression="gzip", dtype={"period": str})
    row = df.index[df["period"] == period]
    assert len(row) == 1, (table, period)
    df.loc[row, column] = value
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    blob = gzip.compress(buf.getvalue().encode(), mtime=0)
    path.write_bytes(blob)
    entry["sha256"] = hashlib.sha256(blob).hexdigest()
    (data / "manifest.json").write_text(json.dumps(man, indent=1))
