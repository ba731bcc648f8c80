"""Monthly report: run the notebook sequence with papermill, render HTML, publish atomically.

The recipe, papermill-style: resolve notebooks and months -> stage the data once -> execute the
notebooks in parallel (IPC-transport kernels, retried start) -> convert to HTML -> collect the
recorded figures into ``summary.json`` -> render ``index.html`` -> move the staged folder into
place. Nothing is written to ``DIR/YYYY-MM`` unless every notebook succeeded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .errors import DataError, NotebookError, ParameterError
from .months import parse_month

__all__ = [
    "NOTEBOOK_DIR",
    "list_notebooks",
    "resolve_notebooks",
    "latest_month",
    "validate_month",
    "run_report",
    "run_report_command",
    "REQUIRED_FIGURES",
]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
#: Figure IDs every full report must carry (a value, or null with the reason).
REQUIRED_FIGURES = (
    "sp500_pe_forward",
    "sp400_pe_forward",
    "sp600_pe_forward",
    "sp500_pe_next_year",
    "small_large_pe_discount",
    "sp500_eps_growth_5y",
    "sp600_eps_growth_5y",
    "small_big_pb_ratio",
    "small_big_pb_percentile",
    "smb_12m",
    "t10y2y",
)
#: The earliest month any source covers (French data start in 1926-07).
FIRST_DATA_MONTH = "1926-07"
KERNEL_START_TRIES = 3


def list_notebooks(nb_dir: Path | None = None) -> list[Path]:
    """The numbered notebooks ``NN_name.ipynb`` in order."""
    return sorted((nb_dir or NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))


def resolve_notebooks(spec: str | None, nb_dir: Path | None = None) -> list[Path]:
    """Notebooks named by ``spec`` ("01,03", "01_valuation_gaps", or None for all)."""
    allnb = list_notebooks(nb_dir)
    if not allnb:
        raise DataError("no notebooks found", file=str(nb_dir or NOTEBOOK_DIR))
    if not spec:
        return allnb
    chosen = []
    for item in (s.strip() for s in spec.split(",")):
        hits = [p for p in allnb if p.stem == item or p.stem.split("_", 1)[0] == item]
        if not hits:
            names = ", ".join(p.stem for p in allnb)
            raise ParameterError("notebooks", f"unknown notebook {item!r}; known: {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def latest_month() -> str:
    """The latest month the data supports: the month of the newest valuation snapshot (the S&P DJI
    sheet's as-of date), which the report's headline figures depend on."""
    from .derived import load_table
    from .provenance import provenance_of

    v = provenance_of(load_table("spdji_index_pe")).vintage
    m = re.search(r"(\d{4}-\d{2})", v)
    if not m:
        raise DataError(f"cannot read a date from the S&P DJI vintage {v!r}")
    return m.group(1)


def validate_month(value: str, name: str = "month", today: dt.date | None = None) -> str:
    """Check a report month: YYYY-MM, not in the future, not before any data exists."""
    p = parse_month(value, name)
    today = today or dt.date.today()
    if p > parse_month(today.strftime("%Y-%m")):
        raise ParameterError(name, f"{value} is in the future (today is {today.isoformat()})")
    if p < parse_month(FIRST_DATA_MONTH):
        raise ParameterError(
            name, f"{value} is before any data (the earliest source starts {FIRST_DATA_MONTH})"
        )
    return str(p)


# --------------------------------------------------------------------------- execution


def _kernel_manager_class():
    """An AsyncKernelManager on the IPC transport: no TCP ports, so parallel kernels cannot
    collide (papermill issue #511)."""
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw: Any):
            kw.setdefault("transport", "ipc")
            super().__init__(**kw)
            self.ip = os.path.join(tempfile.mkdtemp(prefix="rk-"), "k")

    return IPCKernelManager


@dataclass
class NotebookResult:
    name: str
    month: str
    status: str
    seconds: float
    output: str
    error: str = ""
    cell: int | None = None
    figures: dict = field(default_factory=dict)


# One kernel per worker process, reused across the notebooks and months it runs: kernel start and
# the pandas/seaborn imports are most of a notebook's cost, so a backfill pays them once per worker.
_WARM: dict[str, Any] = {}
# A new history session restarts the execution count at 1 without clashing line numbers.
_RESET_CODE = (
    "import matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"
    "get_ipython().reset(new_session=True, aggressive=False)\n"
)
# Report kernels keep no input history: parallel kernels would contend for one SQLite file.
_KERNEL_ARGS = ["--HistoryManager.enabled=False"]


def _shutdown_warm() -> None:
    km = _WARM.pop("km", None)
    if km is not None:
        from jupyter_core.utils import run_sync

        # the kernel may already be gone; its parent poller ends it anyway
        with contextlib.suppress(Exception):
            run_sync(km.shutdown_kernel)(now=True)


def _warm_kernel(cwd: str):
    """This worker's kernel, started on first use and reset (empty namespace, execution count 1,
    no open figures) before every notebook after the first."""
    from jupyter_core.utils import run_sync

    km = _WARM.get("km")
    if km is not None:
        try:
            if run_sync(km.is_alive)():
                kc = km.blocking_client()
                kc.start_channels()
                try:
                    kc.wait_for_ready(timeout=30)
                    reply = kc.execute_interactive(
                        _RESET_CODE, silent=True, timeout=30, store_history=False
                    )
                    if reply["content"]["status"] == "ok":
                        return km
                finally:
                    kc.stop_channels()
        except Exception:  # a kernel that cannot be reset is replaced, never trusted
            pass
        _shutdown_warm()
    km = _kernel_manager_class()(kernel_name="python3")
    run_sync(km.start_kernel)(cwd=cwd, extra_arguments=_KERNEL_ARGS)
    _WARM["km"] = km
    if not _WARM.get("finalizer"):
        from multiprocessing import util

        _WARM["finalizer"] = util.Finalize(None, _shutdown_warm, exitpriority=10)
    return km


def _execute_one(
    src: str, dst: str, month: str, env: dict[str, str], with_code: bool
) -> NotebookResult:
    """Run one notebook with papermill in this (worker) process, then render its HTML page and
    save its first figure beside the executed notebook."""
    os.environ.update(env)
    if "ROTATION_MIRROR" not in env:
        os.environ.pop("ROTATION_MIRROR", None)
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .figures import records_in

    name = Path(src).stem
    t0 = time.perf_counter()

    def result(status: str, **kw: Any) -> NotebookResult:
        return NotebookResult(name, month, status, time.perf_counter() - t0, dst, **kw)

    last_err: Exception | None = None
    for attempt in range(KERNEL_START_TRIES):
        try:
            km = _warm_kernel(str(Path(src).parent))
            nb = pm.execute_notebook(
                src,
                dst,
                parameters={"month": month},
                kernel_name="python3",
                progress_bar=False,
                cwd=str(Path(src).parent),
                km=km,
                start_timeout=60,
                log_output=False,
            )
        except PapermillExecutionError as e:
            return result("failed", error=f"{e.ename}: {e.evalue}", cell=e.exec_count)
        except Exception as e:
            # a kernel start race or a dead kernel: take a fresh kernel, retry, then report
            last_err = e
            _shutdown_warm()
            if not _is_start_failure(e) or attempt == KERNEL_START_TRIES - 1:
                break
            time.sleep(0.5 * (attempt + 1))
            continue
        out = Path(dst)
        _to_html(out, out.with_suffix(".html"), with_code=with_code, title=f"{name} · {month}")
        _first_figure(out, out.with_suffix(".png"))
        return result("ok", figures=records_in(nb))
    return result("failed", error=f"{type(last_err).__name__}: {last_err}")


def _is_start_failure(e: Exception) -> bool:
    text = f"{type(e).__name__}: {e}"
    return any(
        s in text
        for s in (
            "ZMQError",
            "Address already in use",
            "Kernel died",
            "kernel_info",
            "TimeoutError",
        )
    )


# --------------------------------------------------------------------------- rendering


def _to_html(ipynb: Path, html: Path, *, with_code: bool, title: str) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exp = HTMLExporter(
        template_name="lab",
        exclude_input=not with_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": title}})
    html.write_text(body, encoding="utf-8")


def _first_figure(ipynb: Path, dest: Path) -> bool:
    """Save the first PNG figure a notebook produced, for the index gallery."""
    import base64

    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                dest.write_bytes(base64.b64decode(png))
                return True
    return False


def _vintages(data_dir: Path) -> dict[str, str]:
    man = json.loads((data_dir / "manifest.json").read_text())
    out = {}
    for name, e in man["tables"].items():
        p = e["provenance"]
        out[f"{p['publisher']}: {name}"] = p["vintage"]
    return out


def _previous_summary(out: Path, month: str) -> dict | None:
    prev = str(parse_month(month) - 1)
    p = out / prev / "summary.json"
    if p.is_file():
        try:
            return json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
    return None


def _figures_table(summary: dict, previous: dict | None) -> list[dict]:
    rows = []
    prev_figs = (previous or {}).get("figures", {})
    for fid, f in summary["figures"].items():
        change = None
        pv = prev_figs.get(fid, {}).get("value")
        if isinstance(f["value"], int | float) and isinstance(pv, int | float):
            change = f["value"] - pv
        rows.append({"id": fid, **f, "change": change, "previous": pv})
    return rows


_PERCENT_LIKE = re.compile(r"discount|growth|percentile|relative|yoy|smb")


def _fmt(value: Any, unit: str, fid: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if unit == "ratio":
        return f"{value:.1%}" if _PERCENT_LIKE.search(fid) else f"{value:.3f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "pp":
        return f"{value:+.2f} pp"
    if unit == "percent":
        return f"{value:.2f}%"
    return f"{value:g}"


def _fmt_change(value: Any, unit: str, fid: str = "") -> str:
    if value is None:
        return ""
    if unit == "ratio":
        return f"{value * 100:+.1f} pp" if _PERCENT_LIKE.search(fid) else f"{value:+.3f}"
    if unit == "x":
        return f"{value:+.2f}x"
    return f"{value:+.2f}"


def _render_index(
    summary: dict, figures: list[dict], path: Path, *, previous_month: str | None
) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("rotation_utils", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["fmt"] = _fmt
    env.filters["fmt_change"] = _fmt_change
    html = env.get_template("index.html.j2").render(
        s=summary, figures=figures, previous_month=previous_month
    )
    path.write_text(html, encoding="utf-8")


# --------------------------------------------------------------------------- orchestration


def _stage_data(run_dir: Path) -> Path:
    """Derived tables for this run, built once and read by every notebook of every month.

    With ``ROTATION_MIRROR`` set they are built from the raw files (through the hash-keyed parse
    cache, so a changed mirror file changes the figures); otherwise the embedded ``data/`` is used
    as it is.
    """
    from .derived import build_tables, data_dir
    from .sources._fetch import mirror_dir

    if mirror_dir() is None:
        return data_dir()
    d = run_dir / ".data"
    build_tables(d)
    shutil.copy2(data_dir() / "facts.csv", d / "facts.csv")
    return d


def run_report(
    months: list[str],
    out: Path,
    *,
    jobs: int | None = None,
    notebooks: list[Path] | None = None,
    with_code: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Render the notebooks for each month into ``out/YYYY-MM/``; returns the published folders.

    Raises
    ------
    NotebookError
        A notebook failed: nothing is published for that month, the executed notebook is kept
        under ``out/failed/YYYY-MM/`` and the message names the notebook and cell.
    """
    from filelock import FileLock
    from tqdm import tqdm

    notebooks = notebooks or list_notebooks()
    jobs = max(1, jobs or os.cpu_count() or 1)
    if out.exists() and not out.is_dir():
        raise ParameterError("out", f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(dir=out, prefix=".run-"))
    published: list[Path] = []
    try:
        data = _stage_data(run_dir)
        env = {
            "ROTATION_DATA_DIR": str(data),
            "ROTATION_HEADLESS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        jobs_list = []
        for m in months:
            (run_dir / m).mkdir()
            for nb in notebooks:
                jobs_list.append((str(nb), str(run_dir / m / nb.name), m))
        results: dict[str, list[NotebookResult]] = {m: [] for m in months}
        bar = tqdm(
            total=len(jobs_list), desc="notebooks", unit="nb", file=sys.stderr, disable=not progress
        )
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(jobs_list)), mp_context=get_context("spawn")
        ) as pool:
            futs = {
                pool.submit(_execute_one, s, d, m, env, with_code): (s, m) for s, d, m in jobs_list
            }
            for f in as_completed(futs):
                r = f.result()
                results[r.month].append(r)
                bar.set_postfix_str(f"{r.month} {r.name} {r.status}")
                bar.update()
        bar.close()
        failures = []
        for m in months:
            staged = run_dir / m
            res = sorted(results[m], key=lambda r: r.name)
            bad = [r for r in res if r.status != "ok"]
            if bad:
                failed_dir = out / "failed" / m
                failed_dir.mkdir(parents=True, exist_ok=True)
                for r in bad:
                    if Path(r.output).is_file():
                        shutil.copy2(r.output, failed_dir / Path(r.output).name)
                    failures.append(
                        NotebookError(
                            r.name,
                            r.cell,
                            *(r.error.split(": ", 1) + [""])[:2],
                            month=m,
                            kept=str(failed_dir),
                        )
                    )
                continue
            summary = _summarize(m, res, data)
            summary["images"] = [
                {"file": f"{r.name}.png", "page": f"{r.name}.html", "caption": r.name}
                for r in res
                if (staged / f"{r.name}.png").is_file()
            ]
            prev = _previous_summary(out, m)
            (staged / "summary.json").write_text(
                json.dumps(summary, indent=1) + "\n", encoding="utf-8"
            )
            _render_index(
                summary,
                _figures_table(summary, prev),
                staged / "index.html",
                previous_month=str(parse_month(m) - 1) if prev else None,
            )
            with FileLock(str(out / f".{m}.lock")):
                published.append(_publish(staged, out / m, run_dir))
        if failures:
            for e in failures:
                print(f"rotation: error: {e}", file=sys.stderr)
            raise failures[0]
        return published
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _summarize(month: str, res: list[NotebookResult], data: Path) -> dict:
    figures: dict[str, dict] = {}
    for r in res:
        for fid, f in r.figures.items():
            figures[fid] = {
                "value": f["value"],
                "unit": f["unit"],
                "as_of": f["as_of"],
                "source": f["source"],
                "notebook": r.name,
                **({"reason": f["reason"]} if f.get("reason") else {}),
            }
    if sorted(r.name for r in res) == sorted(p.stem for p in list_notebooks()):
        missing = [f for f in REQUIRED_FIGURES if f not in figures]
        if missing:
            raise DataError(f"notebooks did not record the headline figures {missing}")
    return {
        "month": month,
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "data_vintages": _vintages(data),
        "notebooks": [
            {
                "name": r.name,
                "status": r.status,
                "seconds": round(r.seconds, 2),
                "html": f"{r.name}.html",
                "ipynb": f"{r.name}.ipynb",
            }
            for r in res
        ],
        "figures": figures,
    }


def _publish(staged: Path, target: Path, run_dir: Path) -> Path:
    """Swap ``staged`` into ``target`` with renames; an old report is removed only after the new
    one is in place."""
    old = None
    if target.exists():
        old = run_dir / f".old-{target.name}"
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _months_from_args(args) -> list[str]:
    if args.from_month or args.to_month:
        if not (args.from_month and args.to_month):
            raise ParameterError("from", "--from and --to go together")
        a, b = (
            parse_month(validate_month(args.from_month, "from")),
            parse_month(validate_month(args.to_month, "to")),
        )
        if b < a:
            raise ParameterError("to", f"{args.to_month} is before --from {args.from_month}")
        return [str(a + i) for i in range((b - a).n + 1)]
    if args.month in (None, "latest"):
        return [latest_month()]
    return [validate_month(args.month)]


def run_report_command(args) -> int:
    """CLI entry: validate everything before writing anything, then run."""
    months = _months_from_args(args)
    notebooks = resolve_notebooks(args.notebooks)
    if args.jobs is not None and args.jobs < 1:
        raise ParameterError("jobs", "must be at least 1")
    try:  # run_report checks --out before it writes anything
        published = run_report(
            months, Path(args.out), jobs=args.jobs, notebooks=notebooks, with_code=args.with_code
        )
    except NotebookError:
        return 1
    for p in published:
        print(p / "index.html")
    return 0
