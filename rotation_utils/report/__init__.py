"""Monthly report: run the notebook sequence with papermill, render HTML, publish atomically.

:func:`run_report` is a recipe in the manner of papermill's ``execute_notebook``:

    plan -> stage -> execute -> raise on failures -> summarize -> render -> publish

each step a small function of its own module: :mod:`.plan` (months, notebooks, the latest
month, validation), :mod:`.publish` (staging folder and atomic swap), :mod:`.kernels` (the job
function, warm IPC kernels, executors), :mod:`.summary` (``summary.json``) and :mod:`.render`
(notebook pages and ``index.html``). Report code raises; only ``rotation_utils.cli`` prints.
Nothing is written to ``DIR/YYYY-MM`` unless every notebook of that month succeeded.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import NotebookError, ReportError
from .fingerprint import FINGERPRINTS_FILE, fingerprints
from .fingerprint import published as published_fingerprints
from .kernels import (
    JobExecutor,
    LocalProcessExecutor,
    MonthJob,
    NotebookResult,
    run_month_job,
    split_jobs,
)
from .plan import (
    NOTEBOOK_DIR,
    ReportPlan,
    latest_month,
    list_notebooks,
    months_between,
    plan_report,
    price_coverage,
    resolve_notebooks,
    validate_month,
)
from .publish import Stage, building_data, keep_failed, publish_month, staging
from .render import index_view, render_index
from .summary import REQUIRED_FIGURES, previous_summary, summarize

__all__ = [
    "NOTEBOOK_DIR",
    "REQUIRED_FIGURES",
    "JobExecutor",
    "LocalProcessExecutor",
    "MonthJob",
    "NotebookResult",
    "PublishedMonths",
    "ReportPlan",
    "latest_month",
    "list_notebooks",
    "months_between",
    "plan_report",
    "resolve_notebooks",
    "run_month_job",
    "run_report",
    "validate_month",
]

ExecutorFactory = Callable[[int], JobExecutor]


def run_report(
    months: list[str],
    out: Path,
    *,
    jobs: int | None = None,
    notebooks: list[Path] | None = None,
    with_code: bool = False,
    progress: bool = True,
    executor: ExecutorFactory | None = None,
    scheduler: str | None = None,
    force: bool = False,
) -> PublishedMonths:
    """Render the notebooks for each month into ``out/YYYY-MM/``; returns the published folders.

    Parameters
    ----------
    months : list of str
        Report months, ``YYYY-MM``.
    out : Path
        Output folder; each month goes to ``out/YYYY-MM`` (replaced atomically).
    jobs : int, optional
        Workers (default: CPU count, at most one per notebook run).
    notebooks : list of Path, optional
        Notebooks to run (default: every numbered notebook).
    with_code : bool
        Show input cells in the HTML pages.
    progress : bool
        A tqdm bar on stderr.
    executor : callable, optional
        ``executor(workers)`` returns the :class:`JobExecutor` that runs the jobs (default: a
        local pool of warm-kernel processes, or the Dask cluster of ``scheduler``).
    scheduler : str, optional
        Run the jobs on Dask distributed: ``local:N`` starts a LocalCluster of N worker
        processes, anything else is a scheduler address (see :mod:`.dask_executor`).
    force : bool
        Run every notebook, even those whose fingerprint (:mod:`.fingerprint`: notebook, code,
        parameters, data as of the month) matches the published report's.

    Notes
    -----
    A notebook whose fingerprint matches the published one is not run: its files are kept byte
    for byte, and a month with nothing to run is left as it is (unless the month before it,
    whose figures its index compares with, is re-run). The result's ``ran`` and ``reused`` say
    how many notebooks each.

    Raises
    ------
    ParameterError
        A bad month, worker count, scheduler or output folder (nothing is written).
    ClusterError
        ``scheduler`` given but Dask distributed is not installed, or no scheduler answers
        (nothing is written).
    ReportError
        Notebooks failed: months with a failure are not published (their executed notebooks are
        kept under ``out/failed/YYYY-MM/``), the other months are; ``failures`` names each
        notebook, month and cell.
    """
    plan = plan_report(months, out, notebooks=notebooks, jobs=jobs, with_code=with_code)
    factory = _executor_factory(executor, scheduler)
    clock = _PhaseClock()
    with contextlib.ExitStack() as stack:
        ex: JobExecutor | None = None
        if building_data():
            # the executor first: workers start their kernels while the data are built, and an
            # unreachable scheduler fails before anything is staged
            ex = stack.enter_context(factory(plan.workers))
            clock.lap("workers")
        stage = stack.enter_context(staging(plan.out, plan.months))
        clock.lap("staging")
        reuse = _reusable(plan, stage, force=force)
        clock.lap("fingerprints")
        if ex is None and not all(len(r.results) == len(plan.notebooks) for r in reuse.values()):
            ex = stack.enter_context(factory(plan.workers))  # only when something will run
            clock.lap("workers")
        try:
            results = _execute(plan, stage, ex, reuse, progress=progress)
        except BaseException:
            # Ctrl-C, SIGTERM/SIGHUP (raised as KeyboardInterrupt by the CLI) or an error: stop
            # the workers before the staging folder is removed, so that no notebook still
            # running writes into it while it goes (the executor's second exit does nothing)
            if ex is not None:
                ex.__exit__(*sys.exc_info())
            raise
        clock.lap("notebooks")
        failures = _keep_failures(plan, results)
        published = PublishedMonths(
            ran=sum(len(v) for v in results.values()) - sum(len(r.results) for r in reuse.values()),
            reused=sum(len(r.results) for r in reuse.values()),
        )
        published.phases = clock.phases
        summaries: dict[str, dict] = {}
        for month in plan.months:
            if month in failures:
                continue
            if reuse[month].whole_month:
                published.append(plan.out / month)  # nothing it shows changed: kept as it is
                continue
            summaries[month] = _summarize(plan, stage, month, results[month])
            previous = summaries.get(_month_before(month)) or previous_summary(plan.out, month)
            _render(stage.month_dir(month), summaries[month], previous)
            _write_fingerprints(stage.month_dir(month), reuse[month].fingerprints)
            published.append(publish_month(stage.month_dir(month), plan.out, month, stage.run_dir))
        clock.lap("publish")
    clock.lap("close")  # workers and kernels shut down, the staging folder removed
    if failures:
        raise ReportError([e for month in plan.months for e in failures.get(month, [])])
    return published


class PublishedMonths(list):
    """The published month folders (a list of Path), with how many notebooks ran and how many
    were reused from the published report because their fingerprints had not changed, and the
    seconds each phase of the run took (``phases``: workers, staging, fingerprints, notebooks,
    publish, close)."""

    def __init__(self, *, ran: int = 0, reused: int = 0) -> None:
        super().__init__()
        self.ran = ran
        self.reused = reused
        self.phases: dict[str, float] = {}


class _PhaseClock:
    """Seconds per phase of a run, for the benchmarks (a phase met twice adds up)."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._t = self._now()
        self.phases: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        t = self._now()
        self.phases[phase] = round(self.phases.get(phase, 0.0) + t - self._t, 3)
        self._t = t


@dataclass
class _Reuse:
    """For one month: each notebook's fingerprint, the results taken over from the published
    report (their files copied into the staging folder), and whether the whole month is kept."""

    fingerprints: dict[str, str | None]
    results: list[NotebookResult] = field(default_factory=list)
    whole_month: bool = False

    @property
    def names(self) -> set[str]:
        return {r.name for r in self.results}


def _reusable(plan: ReportPlan, stage: Stage, *, force: bool) -> dict[str, _Reuse]:
    """Which notebooks of which months need not run: same fingerprint as published, files there.

    A month whose notebooks are all reused is kept as it is when the month before it (whose
    figures its "change since last month" shows) is not re-run either; otherwise its summary and
    index are made again from the reused results.
    """
    fps = fingerprints(plan.months, plan.notebooks, stage.data_dir, with_code=plan.with_code)
    out: dict[str, _Reuse] = {}
    for month in plan.months:
        r = _Reuse(fps[month])
        if not force:
            r.results = _published_results(plan, month, fps[month], stage.month_dir(month))
        out[month] = r
    for month in plan.months:
        before = _month_before(month)
        full = len(out[month].results) == len(plan.notebooks)
        before_kept = before not in out or len(out[before].results) == len(plan.notebooks)
        out[month].whole_month = full and before_kept
    return out


def _published_results(
    plan: ReportPlan, month: str, fps: dict[str, str | None], staged: Path
) -> list[NotebookResult]:
    """The published notebooks of ``month`` whose fingerprints match, copied into ``staged``."""
    import json
    import shutil

    target = plan.out / month
    old = published_fingerprints(target)
    try:
        summary = json.loads((target / "summary.json").read_text())
        figures = summary["figures"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    results = []
    for nb in plan.notebooks:
        fp = fps.get(nb.stem)
        files = [
            f for f in (target / f"{nb.stem}.ipynb", target / f"{nb.stem}.html") if f.is_file()
        ]
        if fp is None or old.get(nb.stem) != fp or len(files) < 2:
            continue
        for f in target.glob(f"{nb.stem}.*"):
            if f.is_file() and not f.is_symlink():
                shutil.copy2(f, staged / f.name)
        mine = {
            fid: {k: v for k, v in rec.items() if k != "notebook"}
            for fid, rec in figures.items()
            if isinstance(rec, dict) and rec.get("notebook") == nb.stem
        }
        results.append(
            NotebookResult(
                nb.stem, month, "ok", 0.0, str(staged / f"{nb.stem}.ipynb"), figures=mine,
                reused=True,
            )
        )  # fmt: skip
    return results


def _write_fingerprints(staged: Path, fps: dict[str, str | None]) -> None:
    import json

    kept = {k: v for k, v in fps.items() if v is not None}
    (staged / FINGERPRINTS_FILE).write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")


def _executor_factory(executor: ExecutorFactory | None, scheduler: str | None) -> ExecutorFactory:
    if executor is not None:
        return executor
    if scheduler is None:
        return LocalProcessExecutor
    from functools import partial

    from .dask_executor import DaskExecutor, parse_scheduler

    return partial(DaskExecutor, parse_scheduler(scheduler))


def _month_before(month: str) -> str:
    from ..months import parse_month

    return str(parse_month(month) - 1)


def _execute(
    plan: ReportPlan,
    stage: Stage,
    executor: JobExecutor | None,
    reuse: dict[str, _Reuse],
    *,
    progress: bool,
) -> dict[str, list[NotebookResult]]:
    """Run every (month, notebook) job that is not reused; results per month in notebook order
    (the reused ones included)."""
    from tqdm import tqdm

    jobs = [
        j
        for j in split_jobs(
            plan.months,
            plan.notebooks,
            {m: stage.month_dir(m) for m in plan.months},
            env=stage.env,
            with_code=plan.with_code,
        )
        if Path(j.notebooks[0]).stem not in reuse[j.month].names
    ]
    results: dict[str, list[NotebookResult]] = {m: list(reuse[m].results) for m in plan.months}
    todo = {m: len(plan.notebooks) - len(reuse[m].results) for m in plan.months}
    reused = sum(len(plan.notebooks) - n for n in todo.values())
    # a backfill counts months (each done when all its notebooks are); one month counts notebooks
    by_month = len(plan.months) > 1
    with tqdm(
        total=sum(1 for n in todo.values() if n) if by_month else todo[plan.months[0]],
        desc="months" if by_month else "notebooks",
        unit="month" if by_month else "nb",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        if reused:
            bar.set_postfix_str(f"{reused} notebook(s) reused, unchanged")
        for job_results in executor.run(jobs) if jobs and executor is not None else ():
            for r in job_results:
                results[r.month].append(r)
                bar.set_postfix_str(f"{r.month} {r.name} {r.status}")
                if not by_month or len(results[r.month]) == len(plan.notebooks):
                    bar.update()
    order = {p.stem: i for i, p in enumerate(plan.notebooks)}
    return {m: sorted(rs, key=lambda r: order[r.name]) for m, rs in results.items()}


def _keep_failures(
    plan: ReportPlan, results: dict[str, list[NotebookResult]]
) -> dict[str, list[NotebookError]]:
    """The failed notebooks per month, each kept under ``out/failed/YYYY-MM/``."""
    failures: dict[str, list[NotebookError]] = {}
    for month, res in results.items():
        bad = [r for r in res if not r.ok]
        if not bad:
            continue
        kept = keep_failed(plan.out, month, [Path(r.output) for r in bad])
        failures[month] = [
            NotebookError(
                r.name,
                r.cell,
                r.ename,
                r.evalue,
                month=month,
                kept=str(k.parent) if k else "",
            )
            for r, k in zip(bad, kept, strict=True)
        ]
    return failures


def _summarize(plan: ReportPlan, stage: Stage, month: str, res: list[NotebookResult]) -> dict:
    staged = stage.month_dir(month)
    images = [
        {"file": f"{r.name}.png", "page": f"{r.name}.html", "caption": r.name}
        for r in res
        if (staged / f"{r.name}.png").is_file()
    ]
    coverage = price_coverage(month, stage.last_price_date)
    return summarize(
        month, res, stage.data_dir, full=plan.full, images=images, prices=asdict(coverage)
    )


def _render(staged: Path, summary: dict, previous: dict | None) -> None:
    import json

    (staged / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    render_index(summary, index_view(summary, previous), staged / "index.html")
