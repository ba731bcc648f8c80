"""``rotation`` command line: argument parsing and error-to-exit-code mapping only.

Exit codes: 0 success, 1 data or runtime error, 2 usage error (bad argument or parameter),
130 interrupted (Ctrl-C), 143 SIGTERM and 129 SIGHUP (handled as Ctrl-C: nothing partial is left).
Errors print one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rotation",
        description="Small-cap vs large-cap research: data, notebooks and monthly reports.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser(
        "data",
        help="list, show and build datasets",
        description="Raw datasets and the embedded derived tables.",
    )
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    age = argparse.ArgumentParser(add_help=False)
    age.add_argument(
        "--max-age",
        metavar="AGE",
        help="revalidate downloads older than AGE (e.g. 12h, 2d, 0 = always); overrides ROTATION_MAX_AGE and the per-source defaults (FRED and prices 1d, French and Shiller 7d)",
    )
    dsub.add_parser(
        "list",
        help="datasets with source, vintage, coverage, where they are read from and how old",
        description="List raw datasets (read from ROTATION_MIRROR, or the download cache with its retrieval time and age, or the URL) and the derived tables in data/. Never downloads.",
    )
    refresh = dsub.add_parser(
        "refresh",
        parents=[age],
        help="revalidate downloaded datasets with their publishers now",
        description="Ask each publisher whether a dataset changed (a conditional GET: an unchanged file costs a 304) and replace the cached copy only with a download that parses and is not shorter. Prints one line per dataset: unchanged, updated (old vintage -> new), downloaded or failed (reason; kept vintage). Exit 1 if any failed.",
    )
    refresh.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        help="names as in `rotation data list`, e.g. fred/DGS10 prices/SPY (default: every dataset the report uses)",
    )
    show = dsub.add_parser(
        "show",
        parents=[age],
        help="print one table of a dataset",
        description="Print one table of a raw dataset as CSV or JSON.",
    )
    show.add_argument(
        "dataset",
        help="french/<stem>, shiller/ie_data, shiller/datahub_sp500_data, spdji/sp-500-eps-est, fred/<SERIES>, prices/<TICKER>",
    )
    show.add_argument(
        "--table", help="case-insensitive substring of the table title (default: the first table)"
    )
    show.add_argument("--format", choices=("csv", "json"), default="csv")
    dsub.add_parser(
        "build",
        parents=[age],
        help="rebuild data/ from the mirror or the network",
        description="Rebuild the derived tables in data/ (csv.gz + manifest.json) from ROTATION_MIRROR or the official URLs.",
    )

    claims = sub.add_parser(
        "claims",
        help="check an article's claims file; list the metric catalog",
        description="Claims as data: data/claims/<article-id>.toml checked against the project's data.",
    )
    csub = claims.add_subparsers(dest="claims_command", required=True, metavar="ACTION")
    chk = csub.add_parser(
        "check",
        help="verdicts, evidence, sources and robustness for every claim of a file",
        description="Check every claim of a claims file as of a month: verdict, evidence (numbers with "
        "units and dates), sources and vintages, and the robustness table of its definitions.",
    )
    chk.add_argument("file", help="a claims file (TOML), or its name in data/claims/")
    chk.add_argument(
        "--month",
        help="report month YYYY-MM (default: the month of the newest daily price); nothing dated later is used",
    )
    chk.add_argument("--format", choices=("table", "json"), default="table")
    drf = csub.add_parser(
        "draft",
        help="a draft claims file from an article's text (rules, no network, no model)",
        description="Read an article's text and write a draft claims file: the [article] table from "
        "what the text gives and one [[claims]] per sentence that states a checkable number or "
        "comparison, with a guessed kind and metric, or a # TODO where the catalog has none.",
    )
    drf.add_argument("article", help="the article as a UTF-8 text file")
    drf.add_argument("--out", help="write the draft here (default: stdout); never replaces a file")
    drf.add_argument("--force", action="store_true", help="let --out replace an existing file")
    drf.add_argument("--date", help="the article's date YYYY-MM-DD when the text does not give it")
    csub.add_parser(
        "metrics",
        help="the metric names a claims file may use",
        description="List the metric catalog: name pattern, unit, source and meaning.",
    )

    rep = sub.add_parser(
        "report",
        help="render the notebooks for a month into an HTML report",
        description="Run the notebook sequence with papermill for a month (or a range) and write DIR/YYYY-MM/ with index.html, one page per notebook, the executed notebooks and summary.json.",
    )
    g = rep.add_mutually_exclusive_group()
    g.add_argument(
        "--month",
        help="report month YYYY-MM (a partial month is labelled month to date), or 'latest' (default): the newest complete month of daily prices",
    )
    g.add_argument("--from", dest="from_month", help="first month of a backfill (with --to)")
    rep.add_argument("--to", dest="to_month", help="last month of a backfill")
    rep.add_argument("--out", default="reports", help="output folder (default: reports)")
    rep.add_argument(
        "--jobs", type=int, default=None, help="notebooks run in parallel (default: CPU count)"
    )
    rep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the notebooks on Dask distributed: local:N for a LocalCluster of N workers on this machine (TLS with a certificate made for the run), or a scheduler address: tls://host:8786 with the certificates of the Dask configuration, or plain tcp://host:8786 (warned: unauthenticated) (default: $ROTATION_DASK_SCHEDULER, else the local process pool; needs the cluster extra)",
    )
    rep.add_argument("--notebooks", help="comma-separated notebook numbers or names, e.g. 01,03")
    rep.add_argument("--with-code", action="store_true", help="show input cells in the HTML pages")
    rep.add_argument(
        "--force",
        action="store_true",
        help="run every notebook again (default: a notebook whose notebook file, code, parameters "
        "and data as of its month are unchanged since it was published is kept as it is)",
    )
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so that it unwinds as Ctrl-C does: workers
    and their kernels stopped, the staging folder removed, nothing partial published."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


# Signals handled like Ctrl-C (SIGINT): `kill PID` and a closed terminal.
_TERMINATING = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP raise :class:`Terminated`; a repeat while the
    run cleans up is ignored (a second raise would cut the cleanup short). The previous handlers
    are restored afterwards. Only the main thread may set handlers: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not raised:
            raised.append(signum)
            raise Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in _TERMINATING}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import RotationError

    try:
        with _terminate_as_interrupt():
            return _run(args)
    except RotationError as e:
        if args.debug:
            raise
        print(f"rotation: error: {e}", file=sys.stderr)
        return e.exit_code
    except Terminated as e:  # the shell's convention: 128 + the signal number
        print(f"rotation: terminated ({signal.Signals(e.signum).name})", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print("rotation: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "data":
        if getattr(args, "max_age", None) is not None:
            from .sources._fetch import parse_age

            parse_age(args.max_age, "--max-age")  # a bad value is a usage error here
            os.environ["ROTATION_MAX_AGE"] = args.max_age
        if args.data_command == "list":
            return _data_list()
        if args.data_command == "refresh":
            return _data_refresh(args.datasets, args.max_age)
        if args.data_command == "show":
            return _data_show(args.dataset, args.table, args.format)
        return _data_build()
    if args.command == "claims":
        if args.claims_command == "metrics":
            return _claims_metrics()
        if args.claims_command == "draft":
            return _claims_draft(args.article, args.out, args.force, args.date)
        return _claims_check(args.file, args.month, args.format)
    return _report(args)


def _report_months(args: argparse.Namespace) -> list[str]:
    from .errors import ParameterError
    from .report import latest_month, months_between, validate_month

    if args.from_month or args.to_month:
        if not (args.from_month and args.to_month):
            raise ParameterError("from", "--from and --to go together")
        return months_between(args.from_month, args.to_month)
    if args.month in (None, "latest"):
        return [latest_month()]
    return [validate_month(args.month)]


def _scheduler(args: argparse.Namespace) -> str | None:
    """``--scheduler``, else ``ROTATION_DASK_SCHEDULER``; checked, with the extra installed."""
    from .errors import ParameterError

    value = args.scheduler or os.environ.get("ROTATION_DASK_SCHEDULER", "").strip() or None
    if value is None:
        return None
    if args.jobs is not None:
        raise ParameterError(
            "jobs", "--jobs sizes the local process pool; with a Dask scheduler use local:N"
        )
    from .report.dask_executor import (
        PLAIN_TCP_WARNING,
        is_plain_tcp,
        parse_scheduler,
        require_distributed,
    )

    spec = parse_scheduler(value)
    require_distributed()
    if is_plain_tcp(spec):
        print(f"rotation: warning: {PLAIN_TCP_WARNING.format(address=spec)}", file=sys.stderr)
    return value


def _report(args: argparse.Namespace) -> int:
    """Check every argument before anything is written, run, then print the index paths."""
    from pathlib import Path

    from .errors import ReportError
    from .report import plan_report, resolve_notebooks, run_report

    months = _report_months(args)
    notebooks = resolve_notebooks(args.notebooks)
    scheduler = _scheduler(args)
    plan_report(months, Path(args.out), notebooks=notebooks, jobs=args.jobs)
    try:
        published = run_report(
            months,
            Path(args.out),
            jobs=args.jobs,
            notebooks=notebooks,
            with_code=args.with_code,
            scheduler=scheduler,
            force=args.force,
        )
    except ReportError as e:
        if args.debug:
            raise
        for failure in e.failures:
            print(f"rotation: error: {failure}", file=sys.stderr)
        return e.exit_code
    for p in published:
        print(p / "index.html")
    print(
        f"rotation: {published.ran} notebook(s) ran, {published.reused} reused "
        "(unchanged since published)",
        file=sys.stderr,
    )
    return 0


def _data_list() -> int:
    from .catalog import DATASETS, load_dataset, raw_files
    from .derived import TABLES, data_dir, manifest
    from .errors import RotationError
    from .provenance import provenance_of
    from .sources._fetch import cached_only, describe_age, download_meta, where_from

    print(
        f"{'dataset':32} {'vintage':20} {'coverage':26} {'read from':9} {'retrieved at':20} {'age':>5} location"
    )
    for name in DATASETS:
        raws = raw_files(name)
        places = [where_from(r) for r in raws]
        local = [i for i, p in enumerate(places) if p[0] in ("mirror", "cache")]
        i = local[-1] if local else len(places) - 1
        kind, where = places[i]
        vintage = coverage = "-"
        retrieved, age = "-", "-"
        if kind == "cache" and (meta := download_meta(raws[i])) is not None:
            retrieved, age = meta.retrieved_at.replace("+00:00", "Z"), describe_age(meta.age_days())
        if local:  # read only what is on this machine; listing never downloads
            try:
                with cached_only():
                    p = provenance_of(next(iter(load_dataset(name).values())))
                vintage, coverage = p.vintage, p.coverage
            except RotationError as e:
                vintage = f"unreadable: {e}"
        print(f"{name:32} {vintage:20} {coverage:26} {kind:9} {retrieved:20} {age:>5} {where}")
    print()
    print(f"Derived tables in {data_dir()} (used when ROTATION_MIRROR is unset):")
    try:
        man = manifest()["tables"]
    except RotationError as e:
        print(f"  {e}")
        return 0
    for name in TABLES:
        e = man.get(name)
        if e:
            p = e["provenance"]
            print(f"{name:26} {e['rows']:>7} rows  {p['coverage']:26} {p['vintage'][:60]}")
    return 0


def _data_refresh(names: list[str], max_age: str | None) -> int:
    from .catalog import DATASETS, REPORT_DATASETS, parser_for, raw_files
    from .errors import ParameterError
    from .sources._fetch import describe_age, download_meta, mirror_dir, refresh
    from .sources._fetch import max_age as age_limit

    if mirror_dir() is not None:
        print(
            "rotation: ROTATION_MIRROR is set, so datasets are read from the mirror as it is; "
            "unset it to refresh downloads from the publishers",
            file=sys.stderr,
        )
        return 0
    names = names or list(REPORT_DATASETS)
    sources = {n.partition("/")[0] for n in DATASETS}
    for n in names:
        src, _, item = n.partition("/")
        if src not in sources or not item:
            raise ParameterError("dataset", f"unknown dataset {n!r} (see `rotation data list`)")
    failed = changed = 0
    for name in names:
        for raw in raw_files(name):
            meta = download_meta(raw)
            limit = age_limit(raw) if max_age is not None else 0.0
            if meta is not None and limit is not None and meta.age_days() < limit:
                line = f"fresh ({meta.vintage}; checked {describe_age(meta.age_days())} ago)"
            else:
                r = refresh(raw, parser_for(raw))
                line = _refresh_line(r)
                failed += r.status == "failed"
                changed += r.status in ("updated", "downloaded")
            print(f"{name}: {line}", flush=True)
    if changed:  # the report reads data/ without a mirror: say how the new vintages get there
        print(
            f"rotation: {changed} file(s) changed; run `rotation data build` to bring them into "
            "data/ and the report",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _refresh_line(r) -> str:
    """One line for a RefreshResult: what happened and which vintage is now in use."""
    if r.status == "unchanged":
        return f"unchanged ({r.new_vintage})"
    if r.status == "updated":
        return f"updated ({r.old_vintage} -> {r.new_vintage})"
    if r.status == "downloaded":
        return f"downloaded ({r.new_vintage})"
    if r.status == "discontinued":
        m = r.meta
        return (
            f"discontinued by the publisher {r.raw.discontinued}; keeping the last edition "
            f"({m.vintage}, retrieved at {m.retrieved_at})"
        )
    kept = (
        f"kept vintage {r.meta.vintage} retrieved at {r.meta.retrieved_at}"
        if r.meta
        else "no earlier copy"
    )
    return f"failed ({r.reason}; {kept})"


def _frame_for_output(df):
    """The table with its dates as text (YYYY-MM monthly, YYYY annual, YYYY-MM-DD daily) and
    column names stripped; tables keyed by labels (e.g. index and sector) get those as columns.
    Returns the frame and whether its index is to be written."""
    import pandas as pd

    out = df.copy()
    out.columns = [str(c).strip() for c in out.columns]
    idx = out.index
    if isinstance(idx, pd.PeriodIndex):
        annual = idx.freqstr.startswith(("Y", "A"))
        out.index = pd.Index(idx.strftime("%Y" if annual else "%Y-%m"), name="period")
    elif isinstance(idx, pd.DatetimeIndex):
        out.index = pd.Index(idx.strftime("%Y-%m-%d"), name=idx.name or "date")
    else:
        if isinstance(idx, pd.MultiIndex) or idx.name is not None:
            out = out.reset_index()
        return out, False
    return out, True


def _data_show(dataset: str, table: str | None, fmt: str) -> int:
    from .catalog import load_dataset, select_table

    tables = load_dataset(dataset)
    title, df = select_table(tables, table, dataset)
    out, has_index = _frame_for_output(df)
    if fmt == "csv":
        sys.stdout.write(out.to_csv(index=has_index, na_rep="", lineterminator="\n"))
    else:
        recs = json.loads(
            out.reset_index().to_json(orient="records", date_format="iso")
            if has_index
            else out.to_json(orient="records", date_format="iso")
        )
        prov = df.attrs.get("provenance", {})
        json.dump(
            {"dataset": dataset, "table": title, "provenance": prov, "rows": recs}, sys.stdout
        )
        sys.stdout.write("\n")
    return 0


def _claims_metrics() -> int:
    from .claims.metrics import CATALOG

    print(f"{'name':48} {'unit':16} {'source':44} meaning")
    for m in CATALOG.values():
        stand_in = f" (a stand-in for {m.stands_in_for})" if m.stands_in_for else ""
        print(f"{m.pattern:48} {m.unit:16} {m.source:44} {m.meaning}{stand_in}")
    return 0


def _claims_check(file: str, month: str | None, fmt: str) -> int:
    from .claims import check_file, resolve_claims_file, results_json, results_table
    from .derived import load_table
    from .months import check_report_month

    if month is not None:  # refused as `rotation report` refuses it, before any file is read
        month = str(check_report_month(month))
    path = resolve_claims_file(file)
    if month is None:
        month = load_table("etf_close").index[-1].strftime("%Y-%m")
    cf, results = check_file(path, month)
    # Everything is computed before anything is printed: a failure leaves no partial output.
    out = results_json(cf, results) if fmt == "json" else results_table(cf, results)
    sys.stdout.write(out + "\n")
    return 0


def _claims_draft(article: str, out: str | None, force: bool, date: str | None) -> int:
    from .claims.draft import draft_text, write_draft

    text = draft_text(article, date=date)  # everything is checked before anything is written
    if out is None:
        sys.stdout.write(text)
    else:
        print(write_draft(text, out, force=force))
    return 0


def _data_build() -> int:
    from .derived import build_tables, data_dir

    def progress(name: str) -> None:
        print(f"building {name}", file=sys.stderr)

    man = build_tables(progress=progress)
    for e in man["tables"].values():
        print(f"{data_dir() / e['file']}  {e['rows']} rows  {e['provenance']['vintage'][:70]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
