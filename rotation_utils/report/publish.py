"""The two ends of an atomic report: a staging folder beside the target, and the swap into place.

Everything a run writes goes to ``out/.run-XXXX/`` first; a month is moved to ``out/YYYY-MM``
with renames only when all its notebooks succeeded, and an old report is removed only after the
new one is in place. Failed notebooks are kept under ``out/failed/YYYY-MM/`` for debugging.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

__all__ = ["Stage", "staging", "building_data", "keep_failed", "publish_month"]


@dataclass
class Stage:
    """A run's staging folder and the data folder every notebook of the run reads."""

    run_dir: Path
    data_dir: Path

    def month_dir(self, month: str) -> Path:
        return self.run_dir / month

    @cached_property
    def last_price_date(self) -> dt.date:
        """The last benchmark close in the staged daily price table (what the notebooks read)."""
        import json

        import pandas as pd

        from .plan import last_price_date

        entry = json.loads((self.data_dir / "manifest.json").read_text())["tables"]["etf_close"]
        frame = pd.read_csv(self.data_dir / entry["file"], index_col="date", parse_dates=["date"])
        return last_price_date(frame)

    @property
    def env(self) -> dict[str, str]:
        """Environment for the notebook kernels: staged data, no widgets, quiet debugger."""
        return {
            "ROTATION_DATA_DIR": str(self.data_dir),
            "ROTATION_HEADLESS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }


def building_data() -> bool:
    """True when a run builds its derived tables from the raw files (``ROTATION_MIRROR`` set),
    which takes seconds; otherwise it reads the embedded ``data/`` as it is."""
    from ..sources._fetch import mirror_dir

    return mirror_dir() is not None


def _stage_data(run_dir: Path) -> Path:
    """Derived tables for this run, built once and read by every notebook of every month.

    With ``ROTATION_MIRROR`` set they are built from the raw files (through the hash-keyed parse
    cache, so a changed mirror file changes the figures); otherwise the embedded ``data/`` is used
    as it is.
    """
    from ..derived import build_tables, data_dir
    from ..sources._fetch import mirror_dir

    if mirror_dir() is None:
        return data_dir()
    d = run_dir / ".data"
    build_tables(d)
    shutil.copy2(data_dir() / "facts.csv", d / "facts.csv")
    return d


@contextmanager
def staging(out: Path, months: tuple[str, ...]) -> Iterator[Stage]:
    """A staging folder in ``out`` with one subfolder per month and the run's data; removed on
    exit, whatever happened."""
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(dir=out, prefix=".run-"))
    try:
        for m in months:
            (run_dir / m).mkdir()
        yield Stage(run_dir, _stage_data(run_dir))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def keep_failed(out: Path, month: str, executed: list[Path]) -> list[Path | None]:
    """Copy the executed notebooks of a failed month to ``out/failed/YYYY-MM/``.

    Returns, for each of ``executed``, where it was kept, or None when there was no executed
    notebook to keep (e.g. the worker running it died)."""
    failed_dir = out / "failed" / month
    kept: list[Path | None] = []
    for p in executed:
        if not p.is_file():
            kept.append(None)
            continue
        failed_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, failed_dir / p.name)
        kept.append(failed_dir / p.name)
    return kept


def publish_month(staged: Path, out: Path, month: str, run_dir: Path) -> Path:
    """Swap ``staged`` into ``out/month`` with renames, under a lock per month so two runs for
    the same month leave one complete report."""
    from filelock import FileLock

    target = out / month
    with FileLock(str(out / f".{month}.lock")):
        old = None
        with _signals_deferred():  # between the renames, ``out/month`` is missing
            if target.exists():
                old = run_dir / f".old-{target.name}"
                os.replace(target, old)
            os.replace(staged, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then deliver the first one to the
    handler that was in place: an interrupt between the two renames of :func:`publish_month`
    would leave the month without its old report (moved into the staging folder, which is
    removed) and without the new one. Only the main thread can set handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)

    held = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    previous = {s: signal.signal(s, hold) for s in held}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if pending:
            signal.raise_signal(pending[0])
