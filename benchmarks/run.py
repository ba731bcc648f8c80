"""Speed benchmarks: one command, one table, ratios measured in the same run.

    python benchmarks/run.py            # everything (about 7 minutes on 2 cores)
    python benchmarks/run.py --quick    # skip the 12-month backfill and the 24-month cluster rows
    python benchmarks/run.py --only refresh,cached   # some groups only

Needs the mirror (ROTATION_MIRROR, default ../shared/data), the dev extra (pandas-datareader) and
the cluster extra (Dask distributed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ROTATION_MIRROR", str(ROOT.parent / "shared" / "data"))

ROWS: list[tuple[str, str, str, str]] = []


def row(what: str, value: str, ratio: str = "", goal: str = "") -> None:
    ROWS.append((what, value, ratio, goal))
    print(f"  {what}: {value} {ratio}", file=sys.stderr)


def best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_french() -> None:
    import warnings

    from pandas_datareader.famafrench import FamaFrenchReader

    from rotation_utils.sources.french import FILES, parse_french

    warnings.filterwarnings("ignore")
    mirror = Path(os.environ["ROTATION_MIRROR"])
    for name in FILES:
        data = (mirror / "french" / f"{name}.CSV").read_bytes()
        ours = best(lambda data=data, name=name: parse_french(data, name))

        def pdr(data=data, name=name):
            r = FamaFrenchReader(name, start="1900", end="2100")
            r._read_zipfile = lambda url: data.decode("latin-1")
            return r._read_one_data(r.url, None)

        try:
            theirs = best(pdr)
            row(
                f"French parse {name}",
                f"{ours * 1000:.1f} ms",
                f"pdr {theirs * 1000:.1f} ms ({theirs / ours:.1f}x faster)",
                "faster than pdr",
            )
        except Exception as e:  # pandas-datareader 0.11.1 crashes on three of the files
            row(
                f"French parse {name}",
                f"{ours * 1000:.1f} ms",
                f"pdr fails: {type(e).__name__}",
                "faster than pdr",
            )


def bench_cached_load() -> None:
    from rotation_utils.derived import load_table
    from rotation_utils.sources.french import read_french
    from rotation_utils.sources.spdji import read_spdji

    with tempfile.TemporaryDirectory() as cache:
        os.environ["ROTATION_CACHE_DIR"] = cache
        cold = best(lambda: read_french("25_Portfolios_5x5"), 1)
        warm = best(lambda: read_french("25_Portfolios_5x5"), 10)
        row(
            "Load 25_Portfolios_5x5 (10 tables), cold / cached",
            f"{cold * 1000:.1f} / {warm * 1000:.1f} ms",
            "",
            "cached <= 10 ms",
        )
        cold = best(read_spdji, 1)
        warm = best(read_spdji, 10)
        row(
            "Load sp-500-eps-est.xlsx (5 tables), cold / cached",
            f"{cold * 1000:.1f} / {warm * 1000:.1f} ms",
            "",
            "cached <= 10 ms",
        )
    saved = os.environ.pop("ROTATION_MIRROR")
    from rotation_utils import derived

    derived._MEMO.clear()
    first = best(lambda: (derived._MEMO.clear(), load_table("etf_close")), 5)
    row("Load embedded data/etf_close.csv.gz (largest table)", f"{first * 1000:.1f} ms", "", "")
    os.environ["ROTATION_MIRROR"] = saved


def bench_cached_every_dataset() -> None:
    from rotation_utils.catalog import DATASETS, load_dataset

    with tempfile.TemporaryDirectory() as cache:
        os.environ["ROTATION_CACHE_DIR"] = cache
        times = {}
        for name in DATASETS:
            load_dataset(name)  # fills the parse cache
            times[name] = best(lambda name=name: load_dataset(name), 7)
    name = max(times, key=times.get)
    row(
        f"Cached load, slowest of all {len(DATASETS)} datasets ({name})",
        f"{times[name] * 1000:.1f} ms",
        f"median of all {statistics.median(times.values()) * 1000:.1f} ms",
        "<= 10 ms",
    )


def bench_refresh() -> None:
    """`rotation data refresh` of every dataset against the stand-in publisher on 127.0.0.1 when
    nothing changed: one conditional GET each, answered 304 (the CLI process start included)."""
    from rotation_utils.catalog import DATASETS
    from tests.publisher import Publisher

    pub = Publisher(Path(os.environ["ROTATION_MIRROR"]))
    try:
        with tempfile.TemporaryDirectory() as cache:
            env = {k: v for k, v in os.environ.items() if k != "ROTATION_MIRROR"}
            env.update(pub.env(), ROTATION_CACHE_DIR=cache)
            cmd = [sys.executable, "-m", "rotation_utils.cli", "data", "refresh", *DATASETS]
            subprocess.run(cmd, env=env, check=True, capture_output=True)  # first downloads
            hits = len(pub.hits)
            warm = best(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True), 3)
            asked = pub.hits[hits:]
            n304 = sum(1 for _, code in asked if code == 304)
    finally:
        pub.close()
    row(
        f"rotation data refresh, all {len(DATASETS)} datasets, nothing changed",
        f"{warm:.2f} s",
        f"{len(asked) // 3} requests a run, {n304 // 3} answered 304 (S&P DJI discontinued: not asked)",
        "<= 3 s",
    )


def bench_import() -> None:
    code = "import time; t = time.perf_counter(); import rotation_utils; print(time.perf_counter() - t)"
    times = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(5)
    ]
    row("import rotation_utils", f"{min(times) * 1000:.1f} ms", "", "<= 300 ms")


TRIVIAL = """{"cells": [
 {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "month = '2026-01'", "outputs": [], "execution_count": null},
 {"cell_type": "code", "metadata": {}, "source": "import pandas as pd\\nimport seaborn as sns\\nimport matplotlib.pyplot as plt\\nfig, ax = plt.subplots()\\nsns.lineplot(x=[1, 2, 3], y=[1, 4, 9], ax=ax)\\nplt.show()", "outputs": [], "execution_count": null}
], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}"""


def _papermill_and_html(src: str, dst: str) -> None:
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    pm.execute_notebook(
        src, dst, parameters={"month": "2026-01"}, progress_bar=False, kernel_name="python3"
    )
    body, _ = HTMLExporter(template_name="lab", exclude_input=True).from_notebook_node(
        nbformat.read(dst, as_version=4)
    )
    Path(dst).with_suffix(".html").write_text(body)


def _plain_papermill(notebooks: list[Path], out: Path) -> None:
    """The floor: papermill with its default (fresh) kernels and nbconvert, none of our code."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    out.mkdir()
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        list(
            pool.map(
                _papermill_and_html, map(str, notebooks), [str(out / p.name) for p in notebooks]
            )
        )


def _where_time_goes(summary_path: Path, wall: float, workers: int) -> str:
    """Worker time of a report by phase, summed over its notebooks, and the rest of the wall time
    (process and kernel start, imports, staging, summary and index) as start-up."""
    import json

    nbs = json.loads(summary_path.read_text())["notebooks"]
    total = {k: sum(n["phases"].get(k, 0.0) for n in nbs) for k in ("kernel", "execute", "render")}
    busy = sum(n["seconds"] for n in nbs) / workers
    return (
        f"execute {total['execute']:.1f} s, render {total['render']:.1f} s, "
        f"kernel reset {total['kernel']:.2f} s over {len(nbs)} notebooks; "
        f"start-up and staging {max(wall - busy, 0):.1f} s of {wall:.1f} s"
    )


def bench_report(backfill: bool) -> None:
    from rotation_utils.report import list_notebooks, run_report

    n = len(list_notebooks())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nbdir = tmp / "trivial"
        nbdir.mkdir()
        trivial = []
        for i in range(n):
            p = nbdir / f"{i:02d}_trivial.ipynb"
            p.write_text(TRIVIAL)
            trivial.append(p)
        os.environ["ROTATION_CACHE_DIR"] = str(tmp / "cache")

        def timed(fn) -> float:
            t = time.perf_counter()
            fn()
            return time.perf_counter() - t

        def floor_run(k: int) -> float:
            return timed(lambda: _plain_papermill(trivial, tmp / f"floor{k}"))

        last: list = []

        def month_run() -> float:
            # force: the same month into the same folder would otherwise be reused, not run
            return timed(
                lambda: last.append(
                    run_report(["2026-01"], tmp / "warm", jobs=2, progress=False, force=True)
                )
            )

        cold = timed(lambda: run_report(["2026-01"], tmp / "cold", jobs=2, progress=False))
        # On a shared machine the load moves over minutes: each ratio compares runs taken
        # side by side (floor and warm month alternating, medians of three; the backfill
        # between two warm months, against their mean), never runs minutes apart.
        floors, warms = [], []
        for k in range(3):
            floors.append(floor_run(k))
            warms.append(month_run())
        floor, warm = statistics.median(floors), statistics.median(warms)
        row(
            f"Floor: {n} trivial notebooks, plain papermill + nbconvert, 2 workers",
            f"{floor:.1f} s",
            "1.00x",
            "",
        )
        row(
            "Report 2026-01, cold (empty cache, mirror)",
            f"{cold:.1f} s",
            f"{cold / floors[0]:.2f}x floor",
            "<= 3x floor",
        )
        row(
            f"Report 2026-01, warm (cache filled), {n} notebooks",
            f"{warm:.1f} s",
            f"{warm / floor:.2f}x floor",
            "<= 0.8x floor",
        )
        row(
            "  where a warm month's time goes (2 workers)",
            _where_time_goes(tmp / "warm" / "2026-01" / "summary.json", warms[-1], 2),
        )
        row(
            "  a warm month's phases (run_report)",
            ", ".join(f"{k} {v:.2f} s" for k, v in last[-1].phases.items()),
        )
        if backfill:
            months = [f"2025-{m:02d}" for m in range(2, 13)] + ["2026-01"]
            bf = timed(lambda: run_report(months, tmp / "backfill", jobs=2, progress=False))
            around = (warms[-1] + month_run()) / 2
            row(
                "Backfill 2025-02 .. 2026-01 (12 months)",
                f"{bf:.1f} s",
                f"{bf / around:.2f}x one month ({around:.1f} s, the runs either side)",
                "<= 4x one month",
            )


def bench_incremental() -> None:
    """Re-running a backfill: unchanged (everything reused) and after one input month changed
    (only the months at or after it run), against the first run, in one sitting."""
    import shutil

    from rotation_utils.report import run_report
    from tests.data_edits import revise_cell

    months = [f"2025-{m:02d}" for m in range(2, 13)] + ["2026-01"]
    saved = os.environ.pop("ROTATION_MIRROR", None)  # a copy of data/ whose one value we revise
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        shutil.copytree(ROOT / "data", data)
        os.environ["ROTATION_DATA_DIR"] = str(data)
        out = tmp / "reports"
        try:
            t = time.perf_counter()
            first = run_report(months, out, jobs=2, progress=False)
            t_first = time.perf_counter() - t
            t = time.perf_counter()
            same = run_report(months, out, jobs=2, progress=False)
            t_same = time.perf_counter() - t
            revise_cell(data, "fred_monthly", "2025-12", "DFF", 4.0)
            t = time.perf_counter()
            changed = run_report(months, out, jobs=2, progress=False)
            t_changed = time.perf_counter() - t
        finally:
            os.environ.pop("ROTATION_DATA_DIR", None)
            if saved is not None:
                os.environ["ROTATION_MIRROR"] = saved
    share = changed.ran / max(1, first.ran)
    row(
        "Backfill 2025-02 .. 2026-01 (12 months, embedded data), first run",
        f"{t_first:.1f} s",
        f"{first.ran} notebooks ran",
    )
    row(
        "  the same backfill again, nothing changed",
        f"{t_same:.1f} s",
        f"{t_same / t_first:.2f}x the first run ({same.ran} ran, {same.reused} reused)",
        "<= 0.1x",
    )
    row(
        "  after one input month changed (fed funds 2025-12)",
        f"{t_changed:.1f} s",
        f"{t_changed / t_first:.2f}x the first run ({changed.ran} ran, {changed.reused} reused: "
        f"{share:.2f} of the notebooks)",
        f"<= {share:.2f}x + start-up",
    )


def bench_make_test() -> None:
    """Wall time of `make test` with .venv present (lint, unit tests on 2 processes, nbval)."""
    t = time.perf_counter()
    rc = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True).returncode
    row("make test (.venv present)", f"{time.perf_counter() - t:.0f} s", f"exit {rc}", "<= 120 s")


def bench_cluster(rounds: int = 2) -> None:
    """The Dask path's overhead: the same 24-month backfill on the local pool of 2 processes and
    on a 2-worker LocalCluster (its start included, as `--scheduler local:2` pays it), taken in
    alternation so both see the same load on a shared machine."""
    from rotation_utils.report import run_report

    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["ROTATION_CACHE_DIR"] = str(tmp / "cache")
        run_report(months[:1], tmp / "warmup", jobs=2, progress=False)  # fill the parse cache
        local, dask = [], []
        for k in range(rounds):
            local.append(
                best(lambda k=k: run_report(months, tmp / f"l{k}", jobs=2, progress=False), 1)
            )
            dask.append(
                best(
                    lambda k=k: run_report(
                        months, tmp / f"d{k}", scheduler="local:2", progress=False
                    ),
                    1,
                )
            )
        lm, dm = statistics.median(local), statistics.median(dask)
        row(
            "Backfill 2024-01 .. 2025-12 (24 months), local pool, 2 workers",
            f"{lm:.1f} s",
            f"runs {', '.join(f'{t:.1f}' for t in local)} s",
        )
        row(
            "Same backfill on Dask, LocalCluster of 2 worker processes (`--scheduler local:2`)",
            f"{dm:.1f} s",
            f"{dm / lm:.2f}x local pool (runs {', '.join(f'{t:.1f}' for t in dask)} s, "
            "alternating with the local ones)",
            "<= 1.15x local pool",
        )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="skip the 12-month backfill and the cluster rows"
    )
    ap.add_argument(
        "--only",
        help="comma-separated groups: import, french, cached, refresh, report, cluster, "
        "incremental, maketest",
    )
    args = ap.parse_args()
    groups = {
        "import": bench_import,
        "french": bench_french,
        "cached": lambda: (bench_cached_load(), bench_cached_every_dataset()),
        "refresh": bench_refresh,
        "report": lambda: bench_report(backfill=not args.quick),
        "cluster": lambda: None if args.quick else bench_cluster(),
        "incremental": bench_incremental,
        "maketest": lambda: None if args.quick else bench_make_test(),
    }
    chosen = args.only.split(",") if args.only else list(groups)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", file=sys.stderr)
    for g in chosen:
        groups[g]()
    width = max(len(r[0]) for r in ROWS)
    print(f"| {'benchmark':{width}} | value | ratio | goal |")
    print(f"|{'-' * (width + 2)}|---|---|---|")
    for what, value, ratio, goal in ROWS:
        print(f"| {what:{width}} | {value} | {ratio} | {goal} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
