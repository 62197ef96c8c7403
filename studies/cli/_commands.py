"""The commands of ``python -m studies``: run, worker, list, export, delete.

Exit status: 0 done; 2 invalid input (one ``error: what: why`` line on stderr, nothing
written); 1 a failure while training (one line; ``WDLAB_DEBUG=1`` shows the traceback);
130 / 143 stopped by SIGINT / SIGTERM after the current epoch (finished cells kept; run the
same command again to continue).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studies.cli._parser import UsageError
from studies.spec import SpecError, StudySpec, json_schema, list_presets, load_preset, load_spec
from studies.storage import (
    STORAGE_ENV,
    GridMode,
    Stopped,
    StorageError,
    StoredStudy,
    check_study_name,
    default_storage_url,
    delete_study,
    list_studies,
    redact,
    require_study,
    scrub,
    storage_failure,
    study_mode,
)

log = logging.getLogger("studies.cli")

EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


def storage_url(args: argparse.Namespace) -> str:
    return args.storage or default_storage_url()


def resolve_spec(text: str) -> StudySpec:
    """A YAML file if ``text`` names one (or looks like a path), else a preset name."""
    path = Path(text)
    # os.path's checks: Path.exists() raises on a name too long for the file system.
    if path.suffix in (".yaml", ".yml") or os.sep in text or os.path.exists(text):
        if not os.path.isfile(text):
            raise SpecError("spec", f"no such file {text!r} (give a YAML file or a preset name)")
        return load_spec(path)
    if text in list_presets():
        return load_preset(text)
    presets = ", ".join(list_presets())
    raise SpecError("spec", f"no file and no preset named {text!r} (presets: {presets})")


def setup_logging(log_file: str | None) -> None:
    """Log lines of the studies package to ``log_file`` (appended) or stderr."""
    logger = logging.getLogger("studies")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    handler: logging.Handler
    if log_file:
        try:
            handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        except OSError as error:
            raise UsageError(f"log: cannot open {log_file!r}: {error.strerror}") from None
    else:
        handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                           "%Y-%m-%dT%H:%M:%S"))
    logger.addHandler(handler)
    logger.propagate = False


class _TqdmHandler(logging.Handler):
    """Writes above a progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never break the run
            self.handleError(record)


class ProgressBar:
    """A tqdm bar of study-wide cells with an ETA."""

    bar: Any = None

    def __call__(self, p: Any) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=p.total, initial=p.done, unit="cell", file=sys.stderr,
                            dynamic_ncols=True, mininterval=0.5, smoothing=0.1,
                            bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} cells [{elapsed}] "
                            "{postfix}")
        self.bar.total, self.bar.n = p.total, p.partial
        # The worker's ETA (studies.eta), not tqdm's: tqdm's rate counts the start-up.
        self.bar.set_postfix_str(f"ETA {p.eta_text} · {p.message}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Stopper:
    """SIGINT/SIGTERM set ``event`` (stop after the current epoch); a second SIGINT aborts
    (SIGTERMs never do: a worker may get one forwarded on top of a terminal's SIGINT).

    ``on_signal`` lets ``run`` forward the signal to its worker subprocesses.
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.event, self.on_signal, self.sigints = threading.Event(), on_signal, 0
        self.signum: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> Stopper:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT:
            self.sigints += 1
            if self.sigints > 1:  # Ctrl-C twice: abort now
                signal.signal(signal.SIGINT, signal.default_int_handler)
                raise KeyboardInterrupt
        self.signum = self.signum or signum
        self.event.set()
        log.warning("%s: stopping after the current epoch (finished cells are kept; run again "
                    "to continue)%s", signal.Signals(signum).name,
                    "; Ctrl-C again to abort now" if signum == signal.SIGINT else "")
        if self.on_signal is not None:
            self.on_signal(signum)

    @property
    def exit_code(self) -> int:
        return EXIT_SIGNAL.get(self.signum, 130) if self.signum is not None else 0


def _validate_device(device: str | None) -> None:
    if device is None:
        return
    from core.train import resolve_device

    try:
        resolve_device(device)
    except ValueError as error:
        raise SpecError("device", str(error)) from None


def _work(args: argparse.Namespace, url: str, study: str, *, max_members: int | None,
          stopper: Stopper) -> Any:
    from studies.runner import run_worker

    # A bar redrawn in place only makes sense on a terminal; logs and pipes get log lines.
    bar = ProgressBar() if not args.no_progress and sys.stderr.isatty() else None
    try:
        return run_worker(storage=url, study_name=study, device=args.device, progress=bar,
                          stop=stopper.event, max_members=max_members, data_dir=args.data_dir)
    finally:
        if bar is not None:
            bar.close()


def _summary_line(summary: Any, url: str) -> str:
    return (f"study {summary.study}: cells {summary.cells_done}/{summary.cells_total} done "
            f"({summary.completed} trained here, {summary.diverged} diverged, "
            f"{summary.failed} failed) in {summary.elapsed_s:.1f} s; storage {redact(url)}")


def cmd_run(args: argparse.Namespace) -> int:
    """Run a study; a transfer family's members one after another, each resumable (a stop
    ends the family), every member's data loaded, and so checked, before the first is made."""
    spec = resolve_spec(args.spec)  # before importing torch: a typo fails fast
    url = storage_url(args)
    if args.study is not None:  # a transfer family's members follow its name
        spec = spec.renamed(check_study_name(args.study))
    # The spec's own device too, before the study exists: a run that cannot train here
    # must not leave an empty study behind with a Resume that fails the same way.
    _validate_device(args.device or spec.device)
    setup_logging(args.log)
    if not spec.members:
        return _run_study(args, url, spec)
    from studies.runner import load_data

    for member in spec.members:
        try:
            load_data(member, data_dir=args.data_dir)
        except SpecError as error:
            raise SpecError(error.path, f"{error.reason} (member {member.name})") from None
    for i, member in enumerate(spec.members, start=1):
        log.info("transfer family %s: member %d/%d, %s", spec.name, i, len(spec.members),
                 member.name)
        if code := _run_study(args, url, member):
            return code
    return 0


def _run_study(args: argparse.Namespace, url: str, spec: StudySpec) -> int:
    from studies.runner import DEFAULT_MAX_MEMBERS, create_study

    children: list[subprocess.Popen[bytes]] = []

    def forward(_signum: int) -> None:
        # SIGTERM means "stop after this epoch" to a worker whatever reached us; a second
        # one is harmless (only a second SIGINT aborts), so a signal sent to the whole
        # process group and forwarded too does no harm.
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    # Signals are caught from here on: a SIGTERM while the study is being created (or while
    # waiting for another process creating it) stops between two enqueued cells; the study
    # lock is released and the same command finishes the creation. Once created, it stops
    # before training.
    with Stopper(on_signal=forward) as stopper:
        try:
            name = create_study(spec, storage=url, data_dir=args.data_dir, stop=stopper.event)
        except Stopped:
            sys.stderr.write("stopped before the study was fully created; run the same "
                             "command again to finish it\n")
            return stopper.exit_code
        # create_study checked that the stored spec is this one: its mode is the spec's.
        mode = study_mode(spec)
        log.info("study %s in %s (%s mode)", name, redact(url), mode.name)
        max_members, workers = args.max_members, args.workers
        if workers > 1 and isinstance(mode, GridMode):
            waiting = StoredStudy.open(url, name, read_only=False).counts()["WAITING"]
            if waiting < workers:
                log.info("%d cells waiting: starting %d workers, not %d", waiting,
                         max(1, waiting), workers)
                workers = max(1, waiting)
            if max_members is None:
                # Share the waiting cells between the workers instead of one taking them all.
                max_members = max(1, min(DEFAULT_MAX_MEMBERS, math.ceil(waiting / workers)))
        threads = _share_cores(workers)
        for _ in range(workers - 1):
            if stopper.event.is_set():  # a stop signal while spawning: start no more
                break
            children.append(_spawn_worker(args, url, name, max_members, threads))
        try:
            summary = _work(args, url, name, max_members=max_members, stopper=stopper)
        except BaseException:
            forward(signal.SIGTERM)
            _wait(children)
            raise
        codes = _wait(children)
    print(_summary_line(summary, url))
    if stopper.signum is not None:
        return stopper.exit_code
    if failed := [c for c in codes if c not in (0, 130, 143)]:
        sys.stderr.write(f"error: worker: {len(failed)} worker process(es) failed "
                         f"(exit status {failed[0]})\n")
        return 1
    return 0


def _share_cores(workers: int) -> int | None:
    """With several workers on one machine, give each its share of the cores: PyTorch's
    threads spin while waiting, and N processes × all cores each run many times slower."""
    if workers < 2 or os.environ.get("OMP_NUM_THREADS"):
        return None
    threads = max(1, (os.cpu_count() or 1) // workers)
    import torch

    torch.set_num_threads(threads)
    return threads


def _spawn_worker(args: argparse.Namespace, url: str, study: str, max_members: int | None,
                  threads: int | None) -> subprocess.Popen[bytes]:
    """A ``worker`` subprocess. The storage URL goes in its environment (``WDLAB_STORAGE``),
    never on its command line, which every local user can read (``ps``). Its standard input
    is a pipe this process never writes to: when this process ends, however it ends (even
    SIGKILL), the pipe closes and the worker stops after its epoch (no orphans)."""
    command = [sys.executable, "-m", "studies", "worker", "--study", study, "--no-progress",
               "--stop-when-stdin-closes"]
    for flag, value in (("--device", args.device), ("--data-dir", args.data_dir),
                        ("--max-members", max_members), ("--log", args.log)):
        if value:
            command += [flag, str(value)]
    # Same process group as this one: whoever stops or kills the group (a terminal, the
    # dashboard) reaches the workers too.
    env = {**os.environ, STORAGE_ENV: url}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)


def _stop_when_stdin_closes(event: threading.Event) -> None:
    """Set ``event`` when standard input reaches its end (the parent ``run`` is gone)."""

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked in a buffered
        # read holds the buffer's lock, which the interpreter needs at exit.
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        if not event.is_set():
            log.warning("the parent process is gone: stopping after the current epoch "
                        "(finished cells are kept)")
            event.set()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _wait(children: list[subprocess.Popen[bytes]]) -> list[int]:
    codes = []
    for child in children:
        while True:
            try:
                codes.append(child.wait())
                break
            except KeyboardInterrupt:  # a second Ctrl-C: abort the workers too
                child.kill()
    return codes


def cmd_worker(args: argparse.Namespace) -> int:
    url = storage_url(args)
    require_study(url, args.study)  # before loading torch: a typo fails fast
    _validate_device(args.device)
    setup_logging(args.log)
    with Stopper() as stopper:
        if args.stop_when_stdin_closes:
            _stop_when_stdin_closes(stopper.event)
        summary = _work(args, url, args.study, max_members=args.max_members, stopper=stopper)
    print(_summary_line(summary, url))
    return stopper.exit_code


def cmd_list(args: argparse.Namespace) -> int:
    url = storage_url(args)
    if not (infos := list_studies(url)):
        print(f"no studies in {redact(url)}")
        return 0
    rows = [("STUDY", "MODE", "STATE", "DONE", "RUNNING", "FAILED", "BEST TEST ERROR",
             "CREATED (UTC)")]
    for s in infos:
        best = ", ".join(f"{o} {100 * e:.1f}%" for o, e in s.best.items()) or "-"
        created = s.created.strftime("%Y-%m-%d %H:%M") if s.created else "-"
        rows.append((s.name, s.mode or "-", s.state, f"{s.cells_done}/{s.cells_total}",
                     str(s.running), str(s.failed), best, created))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from studies.export import export_trials

    url = storage_url(args)
    require_study(url, args.study)
    text = export_trials(url, args.study, fmt=args.format)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"out: cannot write {args.out!r}: {error.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    url = storage_url(args)
    require_study(url, args.study)
    if not args.yes:
        raise UsageError(f"delete: refusing to delete study {args.study!r} without --yes")
    delete_study(url, args.study)
    print(f"deleted study {args.study} from {redact(url)}")
    return 0


def cmd_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run, "worker": cmd_worker, "list": cmd_list, "export": cmd_export,
    "delete": cmd_delete, "schema": cmd_schema,
}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _url_of(args: argparse.Namespace) -> str | None:
    """The storage URL a command works on (None if it has none or it cannot be known)."""
    if not hasattr(args, "storage"):
        return None
    try:
        return storage_url(args)
    except Exception:
        return None


def run_command(args: argparse.Namespace) -> int:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
    start = time.perf_counter()
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        sys.stderr.write("error: aborted (unfinished trials are re-run after their heartbeats "
                         "go stale, or when the study is run again)\n")
        return 130
    except BrokenPipeError:  # `... export | head`
        return 0
    except Exception as error:
        url = _url_of(args)
        # A full disk, a read-only file: said in words, like bad input.
        error = (storage_failure(error, url) if url else None) or error
        text = _one_line(str(error))
        # Only a command that loaded data can raise it; don't import torch just to catch it.
        data = sys.modules.get("core.data")
        if data is not None and isinstance(error, data.DatasetUnavailableError):
            error = UsageError(f"data: {text}")  # its message says what and where
        if isinstance(error, SpecError | StorageError | UsageError):
            sys.stderr.write(f"error: {_one_line(str(error))}\n")
            return 2
        if os.environ.get("WDLAB_DEBUG"):
            raise
        text = scrub(text, url) if url else text
        sys.stderr.write(f"error: {type(error).__name__}: {text} "
                         f"(after {time.perf_counter() - start:.0f} s; WDLAB_DEBUG=1 shows "
                         "the traceback)\n")
        return 1
