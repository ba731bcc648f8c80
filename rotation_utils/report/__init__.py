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

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ..errors import NotebookError, ReportError
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
from .publish import Stage, keep_failed, publish_month, staging
from .render import index_view, render_index
from .summary import REQUIRED_FIGURES, previous_summary, summarize

__all__ = [
    "NOTEBOOK_DIR",
    "REQUIRED_FIGURES",
    "JobExecutor",
    "LocalProcessExecutor",
    "MonthJob",
    "NotebookResult",
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
) -> list[Path]:
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
    # the executor first: workers start their kernels while the data are staged, and an
    # unreachable scheduler fails before anything is staged
    with (
        _executor_factory(executor, scheduler)(plan.workers) as ex,
        staging(plan.out, plan.months) as stage,
    ):
        try:
            results = _execute(plan, stage, ex, progress=progress)
        except BaseException:
            # Ctrl-C, SIGTERM/SIGHUP (raised as KeyboardInterrupt by the CLI) or an error: stop
            # the workers before the staging folder is removed, so that no notebook still
            # running writes into it while it goes (the executor's second exit does nothing)
            ex.__exit__(*sys.exc_info())
            raise
        failures = _keep_failures(plan, results)
        published = []
        summaries: dict[str, dict] = {}
        for month in plan.months:
            if month in failures:
                continue
            summaries[month] = _summarize(plan, stage, month, results[month])
            previous = summaries.get(_month_before(month)) or previous_summary(plan.out, month)
            _render(stage.month_dir(month), summaries[month], previous)
            published.append(publish_month(stage.month_dir(month), plan.out, month, stage.run_dir))
    if failures:
        raise ReportError([e for month in plan.months for e in failures.get(month, [])])
    return published


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
    plan: ReportPlan, stage: Stage, executor: JobExecutor, *, progress: bool
) -> dict[str, list[NotebookResult]]:
    """Run every (month, notebook) job; results per month in notebook order."""
    from tqdm import tqdm

    jobs = split_jobs(
        plan.months,
        plan.notebooks,
        {m: stage.month_dir(m) for m in plan.months},
        env=stage.env,
        with_code=plan.with_code,
    )
    results: dict[str, list[NotebookResult]] = {m: [] for m in plan.months}
    per_month = len(plan.notebooks)
    # a backfill counts months (each done when all its notebooks are); one month counts notebooks
    by_month = len(plan.months) > 1
    with tqdm(
        total=len(plan.months) if by_month else per_month,
        desc="months" if by_month else "notebooks",
        unit="month" if by_month else "nb",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        for job_results in executor.run(jobs):
            for r in job_results:
                results[r.month].append(r)
                bar.set_postfix_str(f"{r.month} {r.name} {r.status}")
                if not by_month or len(results[r.month]) == per_month:
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
                *(r.error.split(": ", 1) + [""])[:2],
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
