"""Executing report notebooks: the job, warm IPC kernels, and the executors that run jobs.

The seam for other executors (e.g. a Dask cluster) is :func:`run_month_job`: a plain, picklable
function of a :class:`MonthJob` ("run these notebooks for one month, writing into this folder")
that returns one :class:`NotebookResult` per notebook and never raises for a failing notebook.
An executor only has to implement :class:`JobExecutor` (``run(jobs)`` yields each job's results
as it completes); :class:`LocalProcessExecutor` is the default, a pool of spawned worker
processes that each keep one kernel warm across the notebooks and months they run.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "MonthJob",
    "NotebookResult",
    "JobExecutor",
    "LocalProcessExecutor",
    "run_month_job",
    "execute_notebook",
    "split_jobs",
    "shutdown_warm_kernels",
]

KERNEL_START_TRIES = 3
# A new history session restarts the execution count at 1 without clashing line numbers.
_RESET_CODE = (
    "import matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"
    "get_ipython().reset(new_session=True, aggressive=False)\n"
)
# Report kernels keep no input history: parallel kernels would contend for one SQLite file.
_KERNEL_ARGS = ["--HistoryManager.enabled=False"]
# Messages of errors that mean "the kernel did not start or died", worth one retry on a new one.
_START_FAILURES = (
    "ZMQError",
    "Address already in use",
    "Kernel died",
    "kernel_info",
    "TimeoutError",
)


@dataclass(frozen=True)
class MonthJob:
    """Run ``notebooks`` (source paths) for ``month``; write the executed notebooks, their HTML
    pages and first figures into ``out_dir``, with ``env`` set in the worker."""

    month: str
    notebooks: tuple[str, ...]
    out_dir: str
    env: tuple[tuple[str, str], ...] = ()
    with_code: bool = False


@dataclass
class NotebookResult:
    """What running one notebook for one month gave: status "ok" or "failed", where the executed
    notebook is, and the figures it recorded (id -> record)."""

    name: str
    month: str
    status: str
    seconds: float
    output: str
    error: str = ""
    cell: int | None = None
    figures: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class JobExecutor(Protocol):
    """Runs :class:`MonthJob` s with :func:`run_month_job`; a context manager owning its workers."""

    workers: int

    def __enter__(self) -> JobExecutor: ...

    def __exit__(self, *exc: object) -> None: ...

    def run(self, jobs: Sequence[MonthJob]) -> Iterator[list[NotebookResult]]:
        """Yield each job's results as soon as that job completes (any order)."""
        ...


class LocalProcessExecutor:
    """``workers`` spawned processes on this machine, each with one warm IPC kernel."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool = None

    def __enter__(self) -> LocalProcessExecutor:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, jobs: Sequence[MonthJob]) -> Iterator[list[NotebookResult]]:
        from concurrent.futures import as_completed

        if self._pool is None:
            raise RuntimeError("LocalProcessExecutor.run outside its `with` block")
        futures = [self._pool.submit(run_month_job, j) for j in jobs]
        for f in as_completed(futures):
            yield f.result()


def split_jobs(
    months: Sequence[str],
    notebooks: Sequence[Path],
    out_dirs: dict[str, Path],
    *,
    env: dict[str, str],
    with_code: bool,
) -> list[MonthJob]:
    """One job per (month, notebook), the notebooks of a month in order: the finest split, so a
    pool of warm workers stays busy to the end of a backfill."""
    env_items = tuple(sorted(env.items()))
    return [
        MonthJob(m, (str(nb),), str(out_dirs[m]), env_items, with_code)
        for m in months
        for nb in notebooks
    ]


def run_month_job(job: MonthJob) -> list[NotebookResult]:
    """Run the job's notebooks in order in this process's warm kernel (see :class:`MonthJob`)."""
    env = dict(job.env)
    os.environ.update(env)
    if "ROTATION_MIRROR" not in env:
        os.environ.pop("ROTATION_MIRROR", None)
    out = Path(job.out_dir)
    return [
        execute_notebook(Path(src), out / Path(src).name, job.month, with_code=job.with_code)
        for src in job.notebooks
    ]


# --------------------------------------------------------------------------- warm kernels

# One kernel per worker thread, reused across the notebooks and months it runs: kernel start and
# the pandas/seaborn imports are most of a notebook's cost, so a backfill pays them once per worker.
# A pool process runs one thread; a Dask worker may run several, each needing a kernel of its own.
_WARM: dict[int, Any] = {}  # thread ident -> kernel manager
_WARM_LOCK = threading.Lock()
_FINALIZER: list[Any] = []


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


def _shutdown(km) -> None:
    from jupyter_core.utils import run_sync

    # the kernel may already be gone; its parent poller ends it anyway
    with contextlib.suppress(Exception):
        run_sync(km.shutdown_kernel)(now=True)


def _shutdown_warm() -> None:
    """Shut down the calling thread's warm kernel."""
    with _WARM_LOCK:
        km = _WARM.pop(threading.get_ident(), None)
    if km is not None:
        _shutdown(km)


def shutdown_warm_kernels() -> None:
    """Shut down every warm kernel of this process (at exit, or when a Dask worker closes)."""
    with _WARM_LOCK:
        kms = list(_WARM.values())
        _WARM.clear()
    for km in kms:
        _shutdown(km)


def _reset(km) -> bool:
    """Empty the kernel's namespace, restart its execution count, close its figures."""
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply = kc.execute_interactive(_RESET_CODE, silent=True, timeout=30, store_history=False)
        return reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()


def _warm_kernel(cwd: str):
    """This worker's kernel, started on first use and reset before every notebook after the first."""
    from jupyter_core.utils import run_sync

    km = _WARM.get(threading.get_ident())
    if km is not None:
        try:
            if run_sync(km.is_alive)() and _reset(km):
                return km
        except Exception:  # a kernel that cannot be reset is replaced, never trusted
            pass
        _shutdown_warm()
    km = _kernel_manager_class()(kernel_name="python3")
    run_sync(km.start_kernel)(cwd=cwd, extra_arguments=_KERNEL_ARGS)
    with _WARM_LOCK:
        _WARM[threading.get_ident()] = km
        if not _FINALIZER:
            from multiprocessing import util

            _FINALIZER.append(util.Finalize(None, shutdown_warm_kernels, exitpriority=10))
    return km


def execute_notebook(src: Path, dst: Path, month: str, *, with_code: bool) -> NotebookResult:
    """Run one notebook with papermill in this worker's warm kernel, then render its HTML page
    and save its first figure beside the executed notebook. A failing notebook is a result with
    status "failed" (the cell and error), not an exception."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from ..figures import records_in
    from .render import first_figure, notebook_page

    name = src.stem
    t0 = time.perf_counter()

    def result(status: str, **kw: Any) -> NotebookResult:
        return NotebookResult(name, month, status, time.perf_counter() - t0, str(dst), **kw)

    last_err: Exception | None = None
    for attempt in range(KERNEL_START_TRIES):
        try:
            km = _warm_kernel(str(src.parent))
            nb = pm.execute_notebook(
                str(src),
                str(dst),
                parameters={"month": month},
                kernel_name="python3",
                progress_bar=False,
                cwd=str(src.parent),
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
        notebook_page(nb, dst.with_suffix(".html"), with_code=with_code, title=f"{name} · {month}")
        first_figure(nb, dst.with_suffix(".png"))
        return result("ok", figures=records_in(nb))
    return result("failed", error=f"{type(last_err).__name__}: {last_err}")


def _is_start_failure(e: Exception) -> bool:
    text = f"{type(e).__name__}: {e}"
    return any(s in text for s in _START_FAILURES)
