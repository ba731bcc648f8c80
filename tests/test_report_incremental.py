"""Incremental reports: a notebook runs again only when what its month's output depends on
changed (the notebook, the code, the parameters, the data as of the month)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rotation_utils.report import run_report
from rotation_utils.report.fingerprint import data_digests, fingerprints
from rotation_utils.report.plan import NOTEBOOK_DIR, months_between

from .data_edits import revise_cell

ROOT = Path(__file__).resolve().parent.parent
MONTHS = months_between("2026-02", "2026-07")
MACRO = [NOTEBOOK_DIR / "04_macro_drivers.ipynb"]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def data_copy(tmp_path, monkeypatch, no_mirror) -> Path:
    d = tmp_path / "data"
    shutil.copytree(ROOT / "data", d)
    monkeypatch.setenv("ROTATION_DATA_DIR", str(d))
    return d


def test_fingerprints_change_only_from_the_month_a_row_is_dated(data_copy):
    before = data_digests(data_copy, MONTHS)
    revise_cell(data_copy, "fred_monthly", "2026-06", "T10Y2Y", 0.9)
    after = data_digests(data_copy, MONTHS)
    assert [m for m in MONTHS if before[m] != after[m]] == ["2026-06", "2026-07"]


def test_a_table_that_does_not_load_means_always_run(data_copy):
    (data_copy / "manifest.json").write_text("{not json")
    fps = fingerprints(MONTHS, MACRO, data_copy, with_code=False)
    assert all(fp is None for m in MONTHS for fp in fps[m].values())


def test_a_revised_value_re_runs_exactly_the_months_at_or_after_it(data_copy, tmp_path):
    out = tmp_path / "reports"
    first = run_report(MONTHS, out, notebooks=MACRO, jobs=1, progress=False)
    assert (first.ran, first.reused) == (6, 0)
    kept = {m: _snapshot(out / m) for m in MONTHS}
    t10 = json.loads((out / "2026-07" / "summary.json").read_text())["figures"]["t10y2y"]
    assert t10["as_of"] == "2026-06" and t10["value"] == pytest.approx(0.3711764706)

    again = run_report(MONTHS, out, notebooks=MACRO, jobs=1, progress=False)
    assert (again.ran, again.reused) == (0, 6)
    assert {m: _snapshot(out / m) for m in MONTHS} == kept  # nothing rewritten, not even the index

    revise_cell(data_copy, "fred_monthly", "2026-06", "T10Y2Y", 0.9)
    third = run_report(MONTHS, out, notebooks=MACRO, jobs=1, progress=False)
    assert (third.ran, third.reused) == (2, 4)
    for m in MONTHS[:4]:
        assert _snapshot(out / m) == kept[m], m
    for m in MONTHS[4:]:
        assert _snapshot(out / m) != kept[m], m
    summary = json.loads((out / "2026-07" / "summary.json").read_text())
    assert summary["figures"]["t10y2y"]["value"] == pytest.approx(0.9)
    assert summary["notebooks"][0]["reused"] is False

    forced = run_report(MONTHS[-1:], out, notebooks=MACRO, jobs=1, progress=False, force=True)
    assert (forced.ran, forced.reused) == (1, 0)


def test_a_changed_notebook_re_runs_every_month(data_copy, tmp_path):
    out = tmp_path / "reports"
    nb = tmp_path / "04_macro_drivers.ipynb"
    shutil.copy2(MACRO[0], nb)
    months = MONTHS[-2:]
    run_report(months, out, notebooks=[nb], jobs=1, progress=False)
    doc = json.loads(nb.read_text())
    doc["cells"][0]["source"].append("\n")  # any change to the notebook file
    nb.write_text(json.dumps(doc, indent=1))
    r = run_report(months, out, notebooks=[nb], jobs=1, progress=False)
    assert (r.ran, r.reused) == (2, 0)


def test_a_run_reports_the_seconds_of_its_phases(data_copy, tmp_path):
    out = tmp_path / "reports"
    first = run_report(MONTHS[-1:], out, notebooks=MACRO, jobs=1, progress=False)
    assert list(first.phases) == [
        "staging",
        "fingerprints",
        "workers",
        "notebooks",
        "publish",
        "close",
    ]
    assert all(v >= 0 for v in first.phases.values()) and first.phases["notebooks"] > 0
    again = run_report(MONTHS[-1:], out, notebooks=MACRO, jobs=1, progress=False)
    assert "workers" not in again.phases  # nothing to run: no worker started
