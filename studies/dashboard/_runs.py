"""Studies launched from the dashboard: each one is its own process running the CLI.

Launching never trains inside the web server: it starts ``python -m studies run SPEC.yaml
--study NAME --log FILE`` (or ``worker``) with an argument list, never a shell string, in a
new session (``start_new_session=True``), so closing the tab, reloading or even restarting
the dashboard never stops it; the storage stays the only channel between the two.

A small JSON registry in the data directory (``<data dir>/dashboard/runs.json``) remembers
the process of each study (PID, its start time, log file), so a reloaded page, another tab
or a restarted dashboard still finds it. The registry keys runs by a hash of the storage URL
and holds only redacted URLs: it never stores a password. A URL with a password reaches the
child through its environment (``WDLAB_STORAGE``), not its command line, which every local
user can read.

Liveness checks that the PID is still the process that was started (Linux: the start time in
``/proc/PID/stat``), so a recycled PID is never mistaken for a run, and cancelling never
signals a stranger. Every function that starts or stops a process checks the read-only
policy itself (:func:`~studies.dashboard._options.require_writable`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studies.dashboard._options import require_writable
from studies.storage import redact

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where ``python -m studies`` imports from
REGISTRY_DIR = "dashboard"  # under the data directory
CANCEL_GRACE_S = 15.0  # SIGTERM, then this long for the worker to hand its cells back
KILL_WAIT_S = 5.0

# Processes this server started, by PID, with their start time (to tell a recycled PID).
_children: dict[int, tuple[subprocess.Popen[bytes], int | None]] = {}
_lock = threading.Lock()


class RunError(RuntimeError):
    """A run cannot be started or stopped; the message says why, in one line."""


@dataclass(frozen=True)
class RunRecord:
    """One process started by the dashboard, as the registry keeps it."""

    study: str
    storage_key: str  # sha256 of the storage URL: identifies it without storing a password
    storage_shown: str  # the URL, redacted
    kind: str  # "run" (create or resume from a spec) or "worker" (join an existing study)
    pid: int
    start_ticks: int | None  # process start time from /proc (None where there is no /proc)
    started: float  # time.time() at launch
    log: str  # the CLI's --log file
    console: str  # the process's stdout and stderr (errors before logging starts)
    command: tuple[str, ...]  # argument list as started, storage URL redacted
    exit_code: int | None = None  # known when this server reaped the process
    ended: float | None = None  # time.time() when it was seen to end
    cancelled: bool = False  # stopped from the dashboard


@dataclass(frozen=True)
class RunStatus:
    """A record and whether its process is still alive."""

    record: RunRecord
    alive: bool
    exit_code: int | None

    @property
    def state(self) -> str:
        """"running", "cancelled", "finished" (exit 0), "failed" (exit != 0) or "ended"
        (exit status unknown: the process was not started by this server)."""
        if self.alive:
            return "running"
        if self.record.cancelled:
            return "cancelled"
        if self.exit_code is None:
            return "ended"
        return "finished" if self.exit_code == 0 else "failed"


# --- registry ------------------------------------------------------------------------------
def storage_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _home(data_dir: Path | None) -> Path:
    if data_dir is None:
        from studies.storage import data_dir as default_data_dir

        data_dir = default_data_dir()
    home = Path(data_dir) / REGISTRY_DIR
    for sub in ("logs", "specs"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return home


@contextlib.contextmanager
def _registry(data_dir: Path | None) -> Iterator[dict[str, dict[str, Any]]]:
    """The registry as a dict, locked against other processes, written back atomically."""
    home = _home(data_dir)
    path = home / "runs.json"
    with _lock, open(home / "runs.lock", "a+b") as lock_file:
        with contextlib.suppress(ImportError):  # no fcntl (Windows): only the in-process lock
            import fcntl

            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # none yet, or damaged: it only forgets old runs
            data = {}
        data = data if isinstance(data, dict) else {}
        before = json.dumps(data, sort_keys=True)
        yield data
        if json.dumps(data, sort_keys=True) != before:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)


def _key(url: str, study: str) -> str:
    return f"{storage_key(url)}/{study}"


def _from_json(raw: Any) -> RunRecord | None:
    if not isinstance(raw, dict):
        return None
    names = {f.name for f in dataclasses.fields(RunRecord)}
    try:
        values = {k: v for k, v in raw.items() if k in names}
        values["command"] = tuple(values.get("command", ()))
        return RunRecord(**values)
    except TypeError:
        return None


# --- processes -----------------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a process from /proc, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _has_proc() -> bool:
    return Path("/proc/self/stat").exists()


def _probe(record: RunRecord) -> tuple[bool, int | None]:
    """(alive, exit code if known) of a recorded process."""
    if record.exit_code is not None or record.ended is not None:
        return False, record.exit_code
    child, ticks = _children.get(record.pid, (None, None))
    if child is not None and ticks == record.start_ticks:
        code = child.poll()  # reaps it: a finished child of this server is no zombie
        return code is None, code
    if _has_proc():
        stat = _proc_stat(record.pid)
        # Gone, a zombie, or the PID now belongs to another process: not alive.
        return (stat is not None and stat[0] not in ("Z", "X")
                and record.start_ticks in (None, stat[1])), None
    try:
        os.kill(record.pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or someone else's: not ours any more
        return False, None
    return True, None


def run_status(url: str, study: str, *, data_dir: Path | None = None) -> RunStatus | None:
    """The last process the dashboard started for ``study`` in storage ``url``, if any."""
    with _registry(data_dir) as reg:
        if (record := _from_json(reg.get(_key(url, study)))) is None:
            return None
        alive, code = _probe(record)
        if not alive and record.ended is None:
            record = dataclasses.replace(record, exit_code=code, ended=time.time())
            reg[_key(url, study)] = dataclasses.asdict(record)
    return RunStatus(record=record, alive=alive, exit_code=record.exit_code)


def active_runs(url: str, *, data_dir: Path | None = None) -> dict[str, RunStatus]:
    """Study name → status of every process recorded for storage ``url`` that is alive."""
    prefix = storage_key(url) + "/"
    with _registry(data_dir) as reg:
        studies = [k[len(prefix) :] for k in reg if k.startswith(prefix)]
    statuses = {study: run_status(url, study, data_dir=data_dir) for study in studies}
    return {study: s for study, s in statuses.items() if s is not None and s.alive}


def _command(kind: str, url: str, study: str, log: Path, spec_file: Path | None
             ) -> tuple[list[str], dict[str, str], tuple[str, ...]]:
    """(argv, environment, argv as shown) for the CLI."""
    from studies.storage import STORAGE_ENV

    # The child runs in the server's directory (relative storage paths mean the same thing
    # to both) and imports this checkout's ``studies`` whatever that directory is.
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    secret = redact(url) != url
    if secret:  # keep the password off the command line (readable by every local user)
        env[STORAGE_ENV] = url
    args = [sys.executable, "-m", "studies", kind, *([str(spec_file)] if spec_file else []),
            *([] if secret else ["--storage", url]), "--study", study, "--log", str(log),
            "--no-progress"]
    shown = tuple(redact(a) if a == url else a for a in args)
    return args, env, shown


def launch_run(url: str, study: str, *, spec_yaml: str | None, data_dir: Path | None = None,
               name: str | None = None) -> RunStatus:
    """Start ``python -m studies run SPEC --study NAME --log FILE`` for a validated spec, or
    without one ``python -m studies worker --study NAME --log FILE`` on an existing study
    (after refining it, or to resume it).

    ``spec_yaml`` is written to the data directory and passed by path. ``name``: the CLI's
    NAME when it is not ``study`` (a transfer family's, whose run is recorded under its first
    member). Refused in read-only mode and while the dashboard already runs a process for
    this study (:class:`RunError`).
    """
    kind = "run" if spec_yaml is not None else "worker"
    require_writable("Launching a study" if kind == "run" else "Starting a worker")
    current = run_status(url, study, data_dir=data_dir)
    if current is not None and current.alive:
        raise RunError(f"study {study!r} already has a process running from this dashboard "
                       f"(PID {current.record.pid}); cancel it first or watch it on the Run page")
    home = _home(data_dir)
    base = f"{study}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    log, console = home / "logs" / f"{base}.log", home / "logs" / f"{base}.console.txt"
    spec_file = None if spec_yaml is None else home / "specs" / f"{base}.yaml"
    if spec_file is not None:
        spec_file.write_text(spec_yaml, encoding="utf-8")
    args, env, shown = _command(kind, url, name or study, log, spec_file)
    with open(console, "wb") as out:
        try:
            # start_new_session: its own process group, ours to signal, not the tab's.
            child = subprocess.Popen(args, cwd=Path.cwd(), env=env, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True, close_fds=True)
        except OSError as error:
            raise RunError(f"cannot start {shown[0]}: {error.strerror or error}") from None
    ticks = stat[1] if _has_proc() and (stat := _proc_stat(child.pid)) else None
    _children[child.pid] = (child, ticks)
    record = RunRecord(study=study, storage_key=storage_key(url), storage_shown=redact(url),
                       kind=kind, pid=child.pid, start_ticks=ticks, started=time.time(),
                       log=str(log), console=str(console), command=shown)
    with _registry(data_dir) as reg:
        reg[_key(url, study)] = dataclasses.asdict(record)
    return RunStatus(record=record, alive=True, exit_code=None)


def launch_worker(*, storage: str, study: str, data_dir: Path | None = None) -> RunStatus:
    """:func:`launch_run` without a spec: a worker on an existing study."""
    return launch_run(storage, study, spec_yaml=None, data_dir=data_dir)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        # In its own group (start_new_session), the whole group: that reaches its children.
        (os.killpg if os.getpgid(pid) == pid else os.kill)(pid, sig)


def _wait_dead(record: RunRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _probe(record)[0]:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def cancel_run(url: str, study: str, *, grace_s: float = CANCEL_GRACE_S,
               data_dir: Path | None = None) -> RunStatus | None:
    """Stop the dashboard's process for ``study``: SIGTERM (the worker hands its unfinished
    cells back; finished cells stay), then SIGKILL after ``grace_s`` seconds.

    Returns the final status (None if the dashboard never started one). Refused in read-only
    mode. Only a process whose PID and start time match the registry is signalled.
    """
    require_writable("Cancelling a run")
    status = run_status(url, study, data_dir=data_dir)
    if status is None or not status.alive:
        return status
    record = status.record
    _signal_group(record.pid, signal.SIGTERM)
    if not _wait_dead(record, grace_s):
        _signal_group(record.pid, signal.SIGKILL)
        _wait_dead(record, KILL_WAIT_S)
    alive, code = _probe(record)
    with _registry(data_dir) as reg:
        if (raw := _from_json(reg.get(_key(url, study)))) and raw.pid == record.pid:
            record = dataclasses.replace(raw, cancelled=True, exit_code=code,
                                         ended=None if alive else time.time())
            reg[_key(url, study)] = dataclasses.asdict(record)
    if not alive:
        _children.pop(record.pid, None)
    return RunStatus(record=record, alive=alive, exit_code=code)


def forget_run(url: str, study: str, *, data_dir: Path | None = None) -> None:
    """Drop a finished run from the registry (e.g. after its study was deleted)."""
    with _registry(data_dir) as reg:
        if (record := _from_json(reg.get(_key(url, study)))) and not _probe(record)[0]:
            reg.pop(_key(url, study), None)


# --- logs ----------------------------------------------------------------------------------
def tail(path: str | os.PathLike[str], *, lines: int = 30, max_bytes: int = 64_000) -> str:
    """The last ``lines`` lines of a text file ("" if missing); a progress bar's carriage
    returns keep only the last state of each line."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > max_bytes:
        text = text.split("\n", 1)[-1]  # drop the partial first line
    out = [line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
           for line in text.split("\n")]
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out[-lines:])


def run_log(status: RunStatus, *, lines: int = 30) -> str:
    """The log tail of a run: the CLI's log, with its console output (errors printed before
    logging started, a one-line error on exit) appended when the run did not succeed."""
    text = tail(status.record.log, lines=lines)
    if status.state in ("failed", "ended") or not text:
        console = tail(status.record.console, lines=lines)
        if console and console not in text:
            text = f"{text}\n{console}".strip()
    return "\n".join(text.split("\n")[-lines:])


def run_error(status: RunStatus) -> str | None:
    """The error a run that failed printed (the CLI's one ``error: ...`` line, without the
    prefix), or its last log line; None unless the run failed."""
    if status.state != "failed":
        return None
    lines = [line.strip() for line in run_log(status, lines=60).splitlines() if line.strip()]
    if errors := [line for line in lines if line.startswith("error:")]:
        return errors[-1].removeprefix("error:").strip()
    return lines[-1] if lines else f"the process exited with status {status.exit_code}"
