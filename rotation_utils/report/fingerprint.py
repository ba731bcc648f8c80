"""What a month's notebook output depends on, as one hash: re-run only what changed.

A notebook's executed output for a month is a function of the notebook file, the package's code,
the run's parameters (month, ``with_code``), and the data as of that month: each derived table
cut at the month by the as-of gate (rows dated after it excluded, a snapshot only when its
edition is in force, the point-in-time statement when a later file serves the month), the facts
dated on or before it, and the claims files. :func:`fingerprints` hashes exactly these, so a
revision of one late row changes the fingerprints of the months at or after it and no others.

Anything that cannot be hashed (a table that does not load) gives no fingerprint, which means
"always run", never "skip". Captions keep naming the file vintage a page was made from: a kept
page says truthfully which file its numbers came from, and those numbers are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FINGERPRINTS_FILE", "package_hash", "data_digests", "fingerprints", "published"]

#: Written into each published month: ``{notebook stem: fingerprint}``.
FINGERPRINTS_FILE = "fingerprints.json"
_PACKAGE = Path(__file__).resolve().parent.parent


def _sha(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def package_hash(root: Path = _PACKAGE) -> str:
    """sha256 of the package's code and templates (paths and bytes, in path order)."""
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".j2", ".css")
    )
    return _sha(*(x for p in files for x in (str(p.relative_to(root)), p.read_bytes())))


def _row_hashes(df: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(df, index=True).to_numpy()


def _cut_mask(index: pd.Index, cutoff: pd.Timestamp, month_end: pd.Timestamp) -> np.ndarray:
    if isinstance(index, pd.PeriodIndex):
        return np.asarray(index.end_time.normalize() <= month_end)
    return np.asarray(pd.DatetimeIndex(index) <= cutoff)


def _table_digests(name: str, df: pd.DataFrame, months: Sequence[str]) -> dict[str, str]:
    """Per month, the hash of what the as-of gate lets through of table ``name``."""
    from ..months import POINT_IN_TIME, SNAPSHOTS, Month, as_of_gate

    dated = isinstance(df.index, pd.PeriodIndex | pd.DatetimeIndex)
    out: dict[str, str] = {}
    if name in SNAPSHOTS or not dated or "as_of" in df.columns:
        whole: dict[int, str] = {}
        for m in months:
            gated = as_of_gate(df, m, name=name)
            if not gated.available:
                out[m] = _sha("none", gated.reason)
                continue
            n = len(gated.frame)
            if n not in whole:  # whole-or-nothing for snapshots; facts grow with the month
                whole[n] = _sha(_row_hashes(gated.frame).tobytes())
            out[m] = _sha(whole[n], gated.note)
        return out
    rows = _row_hashes(df)
    for m in months:
        month = Month.parse(m)
        keep = _cut_mask(df.index, month.cutoff, month.end)
        note = ""
        if name in POINT_IN_TIME:
            note = as_of_gate(df, m, name=name).note
        out[m] = _sha(rows[keep].tobytes(), note)
    return out


def data_digests(data_dir: Path, months: Sequence[str]) -> dict[str, str] | None:
    """Per month, one hash of every derived table, the facts and the claims files as of that
    month; None when any of them cannot be read (then every notebook runs)."""
    from ..derived import TABLES, read_table
    from ..errors import RotationError
    from ..facts import load_facts

    try:
        listed = json.loads((data_dir / "manifest.json").read_text())["tables"]
        per_table = {
            name: _table_digests(name, read_table(data_dir, name), months)
            for name in sorted(TABLES)
            if name in listed
        }
        facts = _table_digests("facts", load_facts(data_dir / "facts.csv"), months)
    except (RotationError, OSError, ValueError, KeyError):
        return None
    claims = _sha(*(p.read_bytes() for p in _claims_files(data_dir)))
    return {
        m: _sha(*(f"{n}={d[m]}" for n, d in per_table.items()), facts[m], claims) for m in months
    }


def _claims_files(data_dir: Path) -> list[Path]:
    from ..derived import data_dir as project_data

    folders = {data_dir / "claims", project_data() / "claims"}
    return sorted(p for f in folders if f.is_dir() for p in f.glob("*.toml"))


def fingerprints(
    months: Sequence[str],
    notebooks: Sequence[Path],
    data_dir: Path,
    *,
    with_code: bool,
) -> dict[str, dict[str, str | None]]:
    """``{month: {notebook stem: fingerprint or None}}`` for a run (None: always run)."""
    data = data_digests(data_dir, months)
    code = package_hash()
    nb_hash = {p.stem: _sha(p.read_bytes()) for p in notebooks}
    return {
        m: {
            stem: (
                None
                if data is None
                else _sha(code, h, json.dumps({"month": m, "with_code": with_code}), data[m])
            )
            for stem, h in nb_hash.items()
        }
        for m in months
    }


def published(month_dir: Path) -> dict[str, str]:
    """The fingerprints a published month was made with ({} when none or unreadable)."""
    try:
        d = json.loads((month_dir / FINGERPRINTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(d, dict):
        return {}
    return {str(k): v for k, v in d.items() if isinstance(v, str) and len(v) == 64}
