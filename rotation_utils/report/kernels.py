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
import sys
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
    "shutdown_worker_kernel",
    "WARM_IMPORTS",
    "shutdown_warm_kernels",
    "kill_warm_kernels",
    "warm_up",
    "kernel_environ",
]

KERNEL_START_TRIES = 3
# Variables a job's environment unsets when it does not give them (the report's notebooks read
# the staged tables, never the mirror).
_UNSET_UNLESS_GIVEN = ("ROTATION_MIRROR",)
# Modules a new kernel imports while its worker is still busy elsewhere (staging, importing
# papermill): what every notebook imports first. A reset clears the names, not the modules.
WARM_IMPORTS = (
    "pandas",
    "matplotlib.pyplot",
    "seaborn",
    "rotation_utils.notebook",
    "rotation_utils.plots",
    "rotation_utils.analysis",
    "rotation_utils.claims",
)
# Report kernels keep no input history (parallel kernels would contend for one SQLite file) and
# no output cache (Out[n], _): with the cache on, every reset ends in a full gc.collect() that
# costs 0.1-0.3 s once pandas and matplotlib are loaded, and nothing in a report reads Out.
_KERNEL_ARGS = ["--HistoryManager.enabled=False", "--InteractiveShell.cache_size=0"]
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
    #: seconds spent waiting for the kernel (start or reset), executing, rendering the page
    phases: dict = field(default_factory=dict)
    #: taken over from the published report (same fingerprint), not run
    reused: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class JobExecutor(Protocol):
    """Runs :class:`MonthJob` s with :func:`run_month_job`; a context manager owning its workers.

    ``__exit__`` with an exception stops the workers without waiting for their jobs, and a
    second ``__exit__`` does nothing (:func:`~rotation_utils.report.run_report` stops them
    before it removes the staging folder)."""

    workers: int

    def __enter__(self) -> JobExecutor: ...

    def __exit__(self, *exc: object) -> None: ...

    def run(self, jobs: Sequence[MonthJob]) -> Iterator[list[NotebookResult]]:
        """Yield each job's results as soon as that job completes (any order)."""
        ...


class LocalProcessExecutor:
    """``workers`` spawned processes on this machine, each with one warm IPC kernel.

    The workers start when the executor is entered, and each starts its kernel and the
    :data:`WARM_IMPORTS` right away, so that start-up overlaps whatever the caller does before
    it submits jobs (staging the data).
    """

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool = None

    def __enter__(self) -> LocalProcessExecutor:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        start_resource_tracker()
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=get_context("spawn"), initializer=_prewarm
        )
        for _ in range(self.workers):  # spawned workers start on demand: ask for all of them
            self._pool.submit(_noop)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is None:
            return
        if exc and exc[0] is not None:
            # Ctrl-C, SIGTERM or an error: the run will not publish, so stop the notebooks now
            # instead of waiting for them; each worker kills its kernel on SIGTERM and exits
            # (_on_terminate). The pool's own processes only: nothing else is signalled.
            self._terminate_workers()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def _terminate_workers(self) -> None:
        for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()

    def run(self, jobs: Sequence[MonthJob]) -> Iterator[list[NotebookResult]]:
        from concurrent.futures import as_completed

        if self._pool is None:
            raise RuntimeError("LocalProcessExecutor.run outside its `with` block")
        from concurrent.futures.process import BrokenProcessPool

        from ..errors import RotationError

        futures = [self._pool.submit(run_month_job, j) for j in jobs]
        try:
            for f in as_completed(futures):
                yield f.result()
        except BrokenProcessPool as e:
            raise RotationError(
                f"a report worker process ended abruptly ({e}); nothing was published"
            ) from e


def _noop() -> None:
    return None


@contextlib.contextmanager
def blocked_in_children(*signums: int) -> Iterator[None]:
    """Block ``signums`` in the calling thread while processes (and threads) are started: a
    signal mask is inherited by a child and kept across ``exec``, so those children never see
    the signals, while this process gets any that came meanwhile when the block ends. For the
    helper processes of a run, which a signal to the whole process group (a closed terminal, a
    service manager) would otherwise kill before the run stops them in order."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signums))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (which process pools' locks need) with SIGHUP
    blocked. It ignores SIGINT and SIGTERM but not SIGHUP, so a closed terminal would kill it
    and the run would end with its warnings and tracebacks (it unblocks only INT and TERM)."""
    import signal
    from multiprocessing import resource_tracker

    with blocked_in_children(signal.SIGHUP):
        resource_tracker.ensure_running()


def _prewarm() -> None:
    """Pool worker initializer: kernels killed on SIGTERM or SIGHUP, :func:`warm_up`, and a
    fast exit."""
    import atexit
    import signal

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_terminate)
    atexit.register(_fast_exit)
    warm_up()


def _on_terminate(signum: int, frame: object) -> None:
    """A pool worker's SIGTERM/SIGHUP (from the parent stopping a run, from the pool after
    another worker died, or sent to the whole process group): kill its kernel, which runs in a
    session of its own and so got no signal, remove the kernel's sockets, and exit at once. The
    parent notices and publishes nothing."""
    import signal

    # the pool terminates every worker again once one has gone: a repeat must not cut this short
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    kill_warm_kernels()
    os._exit(128 + signum)


def warm_up() -> None:
    """Start this worker thread's kernel and queue the :data:`WARM_IMPORTS` for it (a shell
    request sent before the kernel is up waits in ZeroMQ and runs as soon as it is), then import
    papermill and nbconvert here while the kernel boots. Never fails: a kernel that did not come
    up is started again by the first job, whose reset waits for the imports."""
    # nbformat validates with jsonschema, which imports rfc3987_syntax when it is installed (a
    # dependency of jupyterlab's event schemas) and compiles its IRI grammar: 0.7 s per worker
    # for a format no notebook schema uses. Without it jsonschema skips the "iri" check.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    try:
        km = _warm_kernel()
        kc = km.client()
        kc.start_channels()
        code = "import importlib as _il\n" + "".join(
            f"try:\n    _il.import_module({m!r})\nexcept Exception:\n    pass\n"
            for m in WARM_IMPORTS
        )
        kc.execute(code, silent=True, store_history=False)
        import nbformat
        import papermill  # noqa: F401

        from .render import _exporter

        # the first conversion compiles the page template and loads the lab CSS
        _exporter(False).from_notebook_node(nbformat.v4.new_notebook())
    except BaseException:  # includes Ctrl-C while starting: the job reports, not the initializer
        _shutdown_warm()


def _fast_exit() -> None:
    """The worker's last step at exit, after its kernel was shut down and its results were sent
    (multiprocessing's finalizers run before atexit): skip the interpreter teardown, which
    costs 0.5-1 s with papermill, nbconvert and zmq loaded and would sit on the critical path
    of every report."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


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
    out = Path(job.out_dir)
    return [
        execute_notebook(Path(src), out / Path(src).name, job.month, env, with_code=job.with_code)
        for src in job.notebooks
    ]


# --------------------------------------------------------------------------- warm kernels

# One kernel per worker thread, reused across the notebooks and months it runs: kernel start and
# the pandas/seaborn imports are most of a notebook's cost, so a backfill pays them once per worker.
# A pool process runs one thread; a Dask worker may run several, each needing a kernel of its own.
_WARM: dict[int, Any] = {}  # thread ident -> kernel manager
_WARM_LOCK = threading.Lock()
_FINALIZER: list[Any] = []
_CLOSED: list[bool] = []  # set by kill_warm_kernels: this process is closing


def _kernel_manager_class():
    """An AsyncKernelManager on the IPC transport (no TCP ports, so parallel kernels cannot
    collide: papermill issue #511) that hands out one client per kernel.

    Every new client pays a ~0.2 s IOPub handshake in ``wait_for_ready`` (the first status
    messages are lost while the SUB socket subscribes, so it polls again). papermill asks the
    manager for a new client per notebook; this one returns the same, already-connected client,
    whose ``start_channels`` and ``wait_for_ready`` are then no-ops. Messages are matched to
    their requests by parent id, so one client serves notebook after notebook.
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    class WarmClient(AsyncKernelClient):
        _ready = False

        def start_channels(self, *args: Any, **kw: Any) -> None:
            if not self.channels_running:
                super().start_channels(*args, **kw)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """jupyter_client's check (a kernel_info reply on shell, then any IOPub message,
            so IOPub is connected) without its final 0.2 s drain of IOPub: nbclient picks
            outputs by parent id, so earlier messages left there are harmless."""
            from queue import Empty

            deadline = time.monotonic() + (timeout or 60)
            while not self._ready:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
                msg_id = self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                    while reply["parent_header"].get("msg_id") != msg_id:  # an earlier reply
                        reply = await self.shell_channel.get_msg(timeout=1)
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    if not await self._async_is_alive():
                        raise RuntimeError("Kernel died before replying to kernel_info") from None
                    continue
                self._handle_kernel_info_reply(reply)
                self._ready = True

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw: Any):
            kw.setdefault("transport", "ipc")
            super().__init__(**kw)
            self.ip = os.path.join(tempfile.mkdtemp(prefix="rk-"), "k")
            self._client: WarmClient | None = None

        def client(self, **kw: Any) -> WarmClient:
            if self._client is None:
                self.client_factory = WarmClient
                self._client = super().client(**kw)
            return self._client

        def close_client(self) -> None:
            if self._client is not None:
                self._client.stop_channels()
                self._client = None

    return IPCKernelManager


def _shutdown(km) -> None:
    import shutil

    from jupyter_core.utils import run_sync

    # the kernel may already be gone; its parent poller ends it anyway
    with contextlib.suppress(Exception):
        km.close_client()
        run_sync(km.shutdown_kernel)(now=True)
    shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)  # the IPC sockets' folder


def shutdown_worker_kernel() -> None:
    """Shut down the calling worker thread's warm kernel, if it has one. Local workers shut
    theirs down at exit; Dask workers kill theirs when they close (:func:`kill_warm_kernels`)."""
    _shutdown_warm()


def _shutdown_warm() -> None:
    """Shut down the calling thread's warm kernel."""
    with _WARM_LOCK:
        km = _WARM.pop(threading.get_ident(), None)
    if km is not None:
        _shutdown(km)


def kill_warm_kernels() -> None:
    """Kill every warm kernel process of this process and start no new one: for a Dask worker
    that closes while a job may still be talking to its kernel from another thread, so nothing
    here touches that job's sockets (closing them under it can hang the worker's exit)."""
    import shutil

    with _WARM_LOCK:
        _CLOSED.append(True)
        kms = list(_WARM.values())
        _WARM.clear()
    for km in kms:
        proc = getattr(km.provisioner, "process", None)
        with contextlib.suppress(Exception):
            proc.kill()
            proc.wait(timeout=5)
        with contextlib.suppress(Exception):  # what a shutdown would remove: the connection file
            km.cleanup_connection_file()
        shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)


def shutdown_warm_kernels() -> None:
    """Shut down every warm kernel of this process (at exit)."""
    with _WARM_LOCK:
        kms = list(_WARM.values())
        _WARM.clear()
    for km in kms:
        _shutdown(km)


def _reset_code(env: dict[str, str], cwd: str) -> str:
    """Kernel code that clears the namespace, restarts the execution count at 1 (a new history
    session), closes open figures, and sets the job's environment and working folder."""
    unset = [k for k in _UNSET_UNLESS_GIVEN if k not in env]
    return (
        "import matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"
        "import os as _os\n"
        f"_os.environ.update({env!r})\n"
        f"[_os.environ.pop(_k, None) for _k in {unset!r}]\n"
        f"_os.chdir({cwd!r})\n"
        "del _os\n"
        "get_ipython().reset(new_session=True, aggressive=False)\n"
    )


async def _reset(km, code: str, timeout: float = 60) -> bool:
    """Run the reset ``code``, awaiting only the shell reply (no IOPub), on the manager's one
    client; True when it succeeded."""
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=timeout)
    msg_id = kc.execute(code, silent=True, store_history=False)
    while True:
        reply = await kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]["status"] == "ok"


def _warm_kernel():
    """This worker thread's kernel, started on first use."""
    from jupyter_core.utils import run_sync

    km = _WARM.get(threading.get_ident())
    if km is not None:
        return km
    if _CLOSED:
        raise RuntimeError("this worker is closing: no new kernel")
    km = _kernel_manager_class()(kernel_name="python3")
    run_sync(km.start_kernel)(extra_arguments=_KERNEL_ARGS, env=kernel_environ())
    with _WARM_LOCK:
        _WARM[threading.get_ident()] = km
        if not _FINALIZER:
            from multiprocessing import util

            _FINALIZER.append(util.Finalize(None, shutdown_warm_kernels, exitpriority=10))
    return km


def kernel_environ() -> dict[str, str]:
    """The environment a report kernel starts with: this process's, less what a Dask nanny set
    for its worker process alone (``distributed.nanny.pre-spawn-environ``), so a kernel on a
    Dask worker runs as one in the local pool. ``MALLOC_TRIM_THRESHOLD_=65536`` there makes
    glibc hand freed memory back at once, and the notebooks' pandas work then paid about 5% more
    (measured on a 12-month backfill, 2 workers)."""
    env = dict(os.environ)
    if "distributed" in sys.modules:  # only a Dask worker (or its client) has it imported
        import dask

        nanny_set = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
        for key, value in nanny_set.items():
            if env.get(key) == str(value):
                del env[key]
    return env


def _ready_kernel(env: dict[str, str], cwd: str):
    """This worker's kernel, reset for the next notebook (started or replaced if need be)."""
    from jupyter_core.utils import run_sync

    code = _reset_code(env, cwd)
    km = _warm_kernel()
    try:
        if run_sync(km.is_alive)() and run_sync(_reset)(km, code):
            return km
    except Exception:  # a kernel that cannot be reset is replaced, never trusted
        pass
    _shutdown_warm()
    km = _warm_kernel()
    if not run_sync(_reset)(km, code):
        raise RuntimeError("Kernel died: a new kernel could not be reset")
    return km


def execute_notebook(
    src: Path, dst: Path, month: str, env: dict[str, str], *, with_code: bool
) -> NotebookResult:
    """Run one notebook with papermill in this worker's warm kernel (with ``env`` set in it),
    then render its HTML page and save its first figure beside the executed notebook. A failing
    notebook is a result with status "failed" (the cell and error), not an exception."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from ..figures import records_in
    from .render import first_figure, notebook_page

    name = src.stem
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    def result(status: str, **kw: Any) -> NotebookResult:
        return NotebookResult(
            name, month, status, time.perf_counter() - t0, str(dst), phases=phases, **kw
        )

    last_err: Exception | None = None
    for attempt in range(KERNEL_START_TRIES):
        try:
            t = time.perf_counter()
            km = _ready_kernel(env, str(src.parent))
            phases["kernel"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
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
                # one write at the end (or on a failure) instead of two per cell
                request_save_on_cell_execute=False,
            )
            phases["execute"] = round(time.perf_counter() - t, 3)
        except PapermillExecutionError as e:
            with contextlib.suppress(Exception):  # the copy kept under failed/ is shared too
                _write_without_local_paths(_read(dst), src, dst)
            return result("failed", error=f"{e.ename}: {e.evalue}", cell=e.exec_count)
        except Exception as e:
            # a kernel start race or a dead kernel: take a fresh kernel, retry, then report
            last_err = e
            _shutdown_warm()
            if not _is_start_failure(e) or attempt == KERNEL_START_TRIES - 1:
                break
            time.sleep(0.5 * (attempt + 1))
            continue
        t = time.perf_counter()
        _write_without_local_paths(nb, src, dst)
        notebook_page(nb, dst.with_suffix(".html"), with_code=with_code, title=f"{name} · {month}")
        first_figure(nb, dst.with_suffix(".png"))
        phases["render"] = round(time.perf_counter() - t, 3)
        return result("ok", figures=records_in(nb))
    return result("failed", error=f"{type(last_err).__name__}: {last_err}")


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _write_without_local_paths(nb: Any, src: Path, dst: Path) -> None:
    """Write the executed notebook ``nb`` to ``dst`` with papermill's record of where it ran
    made relative: ``input_path`` and ``output_path`` are absolute paths of this machine (the
    checkout, the staging folder, a Dask worker's scratch folder), which a published report
    must not show. They become ``notebooks/<name>`` (the source in a checkout) and the file's
    own name (it is published beside its page)."""
    import nbformat

    record = nb.metadata.get("papermill")
    if record is not None:
        record["input_path"] = f"notebooks/{src.name}"
        record["output_path"] = dst.name
    nbformat.write(nb, dst)


def _is_start_failure(e: Exception) -> bool:
    text = f"{type(e).__name__}: {e}"
    return any(s in text for s in _START_FAILURES)
