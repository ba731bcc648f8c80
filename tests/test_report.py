"""The report pipeline end to end: backfill of two months, failures, bad arguments, races, SIGINT."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rotation_utils.errors import ReportError
from rotation_utils.report import REQUIRED_FIGURES, list_notebooks, run_report
from rotation_utils.report.render import notebook_page

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _summary(reports: Path, month: str) -> dict:
    return json.loads((reports / month / "summary.json").read_text())


def test_each_month_has_every_page_and_figure(reports):
    for month in ("2025-06", "2026-01"):
        d = reports / month
        names = [p.stem for p in list_notebooks()]
        for n in names:
            assert (d / f"{n}.html").stat().st_size > 10_000 and (d / f"{n}.ipynb").is_file()
        s = _summary(reports, month)
        assert s["month"] == month and [n["name"] for n in s["notebooks"]] == names
        # both months are complete in the daily prices: no month-to-date label
        assert s["prices"]["complete"] and s["prices"]["through"] == s["prices"]["last_trading_day"]
        assert s["prices"]["through"] == {"2025-06": "2025-06-30", "2026-01": "2026-01-30"}[month]
        assert all(n["status"] == "ok" and n["seconds"] > 0 for n in s["notebooks"])
        assert set(REQUIRED_FIGURES) <= set(s["figures"])
        for f in s["figures"].values():
            assert {"value", "unit", "as_of", "source", "notebook"} <= set(f)
            assert f["value"] is not None or f["reason"]
        assert any(v == "CRSP 202408" for v in s["data_vintages"].values())
        for n in names:  # nothing on stderr: no warnings, no IPython history errors, no tracebacks
            nb = nbformat.read(d / f"{n}.ipynb", as_version=4)
            streams = [
                o
                for c in nb.cells
                for o in c.get("outputs", [])
                if o.get("output_type") == "stream"
            ]
            assert not [o for o in streams if o["name"] == "stderr"], (month, n, streams)
            assert [c.execution_count for c in nb.cells if c.cell_type == "code"][0] == 1
        html = (d / "index.html").read_text()
        assert f"Small caps vs large caps · {month}" in html and "Traceback" not in html
    assert not list(reports.glob(".run-*")), "staging folders left behind"


def test_figures_come_from_the_data_of_each_month(reports):
    jan, jun = _summary(reports, "2026-01")["figures"], _summary(reports, "2025-06")["figures"]
    # forward: 2026E operating EPS at the sheet's prices of 2026-01-29 (6969.01 / 310.24, ...)
    assert jan["sp500_pe_forward"]["value"] == pytest.approx(6969.01 / 310.24, abs=1e-8)
    assert jan["sp600_pe_forward"]["value"] == pytest.approx(1560.46 / 96.39, abs=1e-8)
    assert jan["small_large_pe_discount"]["value"] == pytest.approx(
        1 - (1560.46 / 96.39) / (6969.01 / 310.24), abs=1e-9
    )
    assert jan["sp500_pe_last_year"]["value"] == pytest.approx(6969.01 / 265.41, abs=1e-8)
    assert jan["sp500_pe_next_year"]["value"] == pytest.approx(22.36665, abs=1e-5)
    assert jan["sp500_eps_growth_5y"]["value"] == pytest.approx(0.173104, abs=1e-6)
    # June 2025 may not use the January 2026 sheet: null with the reason; the next-year P/E comes
    # from the 2025-06-30 observation instead.
    assert (
        jun["sp500_pe_forward"]["value"] is None
        and "look ahead" in jun["sp500_pe_forward"]["reason"]
    )
    assert jun["sp500_pe_next_year"]["value"] == pytest.approx(21.01095, abs=1e-5)
    # Where the data differ, the figures differ; where they do not (French data end 2024-08), they agree.
    for fid in ("t10y2y", "fed_funds", "iwm_spy_relative_12m", "core_cpi_yoy"):
        assert jan[fid]["value"] != jun[fid]["value"], fid
    assert jan["small_big_pb_ratio"]["value"] == jun["small_big_pb_ratio"]["value"]
    assert jan["smb_12m"]["as_of"] == "2024-08"
    assert (
        # C8 is flipped by its window starting at the first close of Q4 (a convention, issue 17)
        jan["claim_C8"]["value"] == "partly supported"
        and jun["claim_C8"]["value"] == "not checkable"
    )


def _broken_notebook(d: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('month = "2026-01"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [
        p,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError(f'broken on purpose for {month}')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = d / "99_broken.ipynb"
    nbformat.write(nb, path)
    return path


def test_failing_notebook_publishes_nothing_and_keeps_the_old_report(tmp_path, capsys):
    out = tmp_path / "out"
    good = out / "2026-01"
    good.mkdir(parents=True)
    (good / "index.html").write_text("previous good report")
    broken = _broken_notebook(tmp_path)
    with pytest.raises(ReportError) as e:
        run_report(["2026-01"], out, jobs=1, notebooks=[broken], progress=False)
    (failure,) = e.value.failures
    assert (failure.notebook, failure.month, failure.cell) == ("99_broken", "2026-01", 4)
    assert (
        "99_broken" in str(e.value)
        and "ValueError" in str(e.value)
        and "at cell In [4]" in str(e.value)
    )  # papermill injects a parameters cell
    assert (good / "index.html").read_text() == "previous good report"
    kept = out / "failed" / "2026-01" / "99_broken.ipynb"
    assert kept.is_file() and "broken on purpose" in kept.read_text()
    assert not list(out.glob(".run-*"))
    assert capsys.readouterr().err == ""  # report code raises; only the CLI prints


def test_cli_prints_one_line_per_failed_notebook_and_exits_1(tmp_path, monkeypatch, capsys):
    from rotation_utils.cli import main
    from rotation_utils.report import plan

    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    _broken_notebook(nb_dir).rename(nb_dir / "01_broken.ipynb")
    _broken_notebook(nb_dir).rename(nb_dir / "02_broken.ipynb")
    monkeypatch.setattr(plan, "NOTEBOOK_DIR", nb_dir)
    out = tmp_path / "out"
    assert main(["report", "--month", "2026-01", "--jobs", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    lines = [x for x in err if x.strip() and not x.startswith("notebooks:")]  # no progress bar
    assert len(lines) == 2 and all(line.startswith("rotation: error: notebook 0") for line in lines)
    assert "01_broken failed for 2026-01 at cell In [4]: ValueError" in lines[0]
    assert "02_broken" in lines[1] and not (out / "2026-01").exists()


def test_a_partial_month_renders_labelled_month_to_date(tmp_path, no_mirror):
    from rotation_utils.report.plan import last_price_date, last_trading_day

    last = last_price_date()  # 2026-03-27 in today's data/
    month = last.strftime("%Y-%m")
    assert last < last_trading_day(month), "the newest month in data/ should be partial"
    nb05 = [p for p in list_notebooks() if p.stem == "05_claims_check"]
    (published,) = run_report([month], tmp_path / "out", jobs=1, notebooks=nb05, progress=False)
    s = json.loads((published / "summary.json").read_text())
    assert s["prices"] == {
        "month": month,
        "complete": False,
        "through": last.isoformat(),
        "last_trading_day": last_trading_day(month).isoformat(),
    }
    html = (published / "index.html").read_text()
    assert f"{month}: month to date, prices through {last.isoformat()}" in html


def _cli(*args: str, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rotation_utils.cli", "report", *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_two_concurrent_runs_for_the_same_month_leave_one_complete_report(tmp_path, isolated_cache):
    out = tmp_path / "out"
    procs = [
        _cli("--month", "2026-01", "--notebooks", "05", "--jobs", "1", out=out) for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    s = json.loads((out / "2026-01" / "summary.json").read_text())
    assert [n["name"] for n in s["notebooks"]] == ["05_claims_check"]
    assert (out / "2026-01" / "index.html").is_file()
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".lock")) == ["2026-01"]
    # Both runs wrote the parse cache at the same time: every entry is whole, no temp folder is left.
    from rotation_utils.sources._fetch import _read_entry

    parsed = isolated_cache / "parsed"
    entries = [e for e in parsed.glob("*/*")] if parsed.exists() else []
    assert all(not e.name.startswith(".") for e in entries)
    assert all(_read_entry(e) is not None for e in entries)


def test_sigint_leaves_no_partial_month_and_keeps_the_previous_report(tmp_path):
    out = tmp_path / "out"
    (out / "2026-01").mkdir(parents=True)
    (out / "2026-01" / "index.html").write_text("previous good report")
    p = _cli("--month", "2026-01", "--jobs", "2", out=out)
    deadline = time.time() + 60
    while time.time() < deadline and not list(out.glob(".run-*/2026-01")):
        time.sleep(0.1)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert p.returncode != 0
    assert (out / "2026-01" / "index.html").read_text() == "previous good report"
    assert not list(out.glob(".run-*")), "staging folder left behind"
    assert "Traceback" not in err


def test_make_report_month_default_is_latest(no_mirror):
    # Whatever data/ holds (2026-03-27 today, 2026-08-21 once the Alpha Vantage files are
    # bridged), the default month is the newest one whose last trading day has a close.
    from rotation_utils.months import parse_month
    from rotation_utils.report import latest_month
    from rotation_utils.report.plan import last_price_date, last_trading_day

    last = last_price_date()
    month = parse_month(latest_month())
    assert last_trading_day(month) <= last < last_trading_day(month + 1)
    if str(last) == "2026-03-27":  # today's data/: March ends on Tuesday 03-31
        assert str(month) == "2026-02"


def test_a_changed_mirror_file_changes_the_figures(mirror, tmp_path, monkeypatch):
    copy = tmp_path / "mirror"
    shutil.copytree(mirror, copy)
    dff = copy / "fred" / "DFF.csv"
    dff.chmod(0o644)
    lines = dff.read_text().splitlines()
    assert lines[-1] == "2026-01-01,3.64"
    dff.write_text("\n".join(lines[:-1] + ["2026-01-01,9.99"]) + "\n")
    monkeypatch.setenv("ROTATION_MIRROR", str(copy))
    nb04 = [p for p in list_notebooks() if p.stem == "04_macro_drivers"]
    (published,) = run_report(["2026-01"], tmp_path / "out", jobs=1, notebooks=nb04, progress=False)
    s = json.loads((published / "summary.json").read_text())
    assert s["figures"]["fed_funds"]["value"] == 9.99


def test_a_month_with_a_missing_cpi_print_still_renders(tmp_path):
    # FRED has no CPILFESL value for 2025-10 (the release was skipped): the notebook says so and
    # records the latest year-over-year rate with its own month instead of failing.
    nb04 = [p for p in list_notebooks() if p.stem == "04_macro_drivers"]
    (published,) = run_report(["2025-10"], tmp_path / "out", jobs=1, notebooks=nb04, progress=False)
    f = json.loads((published / "summary.json").read_text())["figures"]["core_cpi_yoy"]
    assert f["as_of"] == "2025-09" and f["value"] is not None
    assert "missing for 2025-10" in (published / "04_macro_drivers.html").read_text()


def _trivial_report(args: tuple[str, str]) -> int:
    from rotation_utils.report import run_report as run

    nb_dir, out = args
    notebooks = sorted(Path(nb_dir).glob("*.ipynb"))
    return len(run(["2026-01"], Path(out), jobs=2, notebooks=notebooks, progress=False))


def _trivial_notebook(path: Path, code: str = "print(month)") -> Path:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('month = "2026-01"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_another_executor_runs_the_same_jobs(tmp_path, use_mirror):
    # The seam a cluster executor (issue 13) plugs into: run_report hands picklable MonthJobs to
    # whatever executor(workers) returns, and run_month_job is the whole of a job.
    import pickle

    from rotation_utils.report import MonthJob, run_month_job
    from rotation_utils.report.kernels import shutdown_worker_kernel

    class InProcess:
        def __init__(self, workers: int):
            self.workers, self.jobs = workers, []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            shutdown_worker_kernel()

        def run(self, jobs):
            for job in jobs:
                self.jobs.append(pickle.loads(pickle.dumps(job)))  # crosses a process boundary
                yield run_month_job(self.jobs[-1])

    made: list[InProcess] = []

    def factory(workers: int) -> InProcess:
        made.append(InProcess(workers))
        return made[-1]

    # the run stages tables from the mirror; its notebooks read those, with ROTATION_MIRROR unset
    nbs = [
        _trivial_notebook(
            tmp_path / "01_a.ipynb", "import os; print(os.environ.get('ROTATION_MIRROR'))"
        ),
        _trivial_notebook(tmp_path / "02_b.ipynb", "print(month * 2)"),
    ]
    out = tmp_path / "out"
    (published,) = run_report(["2025-11"], out, notebooks=nbs, progress=False, executor=factory)
    (ex,) = made
    assert [j.month for j in ex.jobs] == ["2025-11", "2025-11"] and ex.workers == 2
    assert all(isinstance(j, MonthJob) and dict(j.env)["ROTATION_HEADLESS"] == "1" for j in ex.jobs)
    first = nbformat.read(published / "01_a.ipynb", as_version=4)
    assert first.cells[-1].outputs[0]["text"] == "None\n"
    second = nbformat.read(published / "02_b.ipynb", as_version=4)
    assert second.cells[-1].outputs[0]["text"] == "2025-112025-11\n"
    s = json.loads((published / "summary.json").read_text())
    assert [n["status"] for n in s["notebooks"]] == ["ok", "ok"]
    assert set(s["notebooks"][0]["phases"]) == {"kernel", "execute", "render"}


def test_many_kernels_starting_at_once_do_not_collide(tmp_path):
    # papermill issue #511: parallel TCP kernels can race for ports. Three reports at once start
    # six IPC kernels together; all must come up.
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    for i in range(4):
        nb = nbformat.v4.new_notebook()
        p = nbformat.v4.new_code_cell('month = "2026-01"')
        p.metadata["tags"] = ["parameters"]
        nb.cells = [p, nbformat.v4.new_code_cell("print(month)")]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, nb_dir / f"{i:02d}_t.ipynb")
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    jobs = [(str(nb_dir), str(tmp_path / f"out{k}")) for k in range(3)]
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        assert list(pool.map(_trivial_report, jobs)) == [1, 1, 1]
    for _, out in jobs:
        s = json.loads((Path(out) / "2026-01" / "summary.json").read_text())
        assert [n["status"] for n in s["notebooks"]] == ["ok"] * 4


def test_early_months_render_with_reasons_instead_of_failing(tmp_path):
    # 1926-07: only the first French month exists; 1990-01: no FRED, ETF or S&P DJI data yet.
    out = run_report(["1926-07", "1990-01"], tmp_path / "out", jobs=2, progress=False)
    assert [p.name for p in out] == ["1926-07", "1990-01"]
    f = json.loads((out[1] / "summary.json").read_text())["figures"]
    assert (
        f["fed_funds"]["value"] is None
        and f["fed_funds"]["reason"] == "no fed funds rate on or before 1990-01"
    )
    assert f["iwm_spy_relative_12m"]["value"] is None and f["smb_12m"]["as_of"] == "1990-01"
    # C2 rests on the article's own numbers, dated 2026-01-13: not usable in 1990 (no look-ahead).
    assert f["claim_C3"]["value"] == "not checkable" and f["claim_C2"]["value"] == "not checkable"
    assert (
        "Not enough ETF prices on or before 1990-01"
        in (out[1] / "03_sector_rotation.html").read_text()
    )


def test_pages_hide_code_unless_asked(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("marker_variable = 1"),
    ]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, src)
    notebook_page(src, tmp_path / "plain.html", with_code=False, title="t")
    notebook_page(src, tmp_path / "code.html", with_code=True, title="t")
    assert "marker_variable" not in (tmp_path / "plain.html").read_text()
    assert "marker_variable" in (tmp_path / "code.html").read_text()
    assert "<title>t</title>" in (tmp_path / "plain.html").read_text()
