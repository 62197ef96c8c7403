"""Opening a storage: SQLite tuned for one writer and live readers, any SQLAlchemy URL, journals.

SQLite
  * WAL journal mode (persistent in the file): readers never block the writer and the writer
    never blocks readers, so a dashboard can poll while a study runs.
  * A 30 s busy timeout: writers from several processes queue instead of failing with
    "database is locked".
  * Writer connections start every transaction with ``BEGIN IMMEDIATE``. Python's sqlite3
    otherwise runs the SELECT of a read-then-update outside any transaction, and two workers
    could both see a cell WAITING and both take it; with the write lock taken first, Optuna's
    check-then-set in ``set_trial_state_values`` is atomic. Read-only connections
    (``read_only=True``) start a plain ``BEGIN``: a consistent snapshot that never waits.
  * ``synchronous=NORMAL`` for writers: safe with WAL (a power cut loses at most the last
    transactions, never the file) and much cheaper per trial.

PostgreSQL
  ``postgresql://USER:PASSWORD@HOST/DB`` works with whichever driver is installed: SQLAlchemy
  2.1 reads a bare ``postgresql://`` as psycopg 3, so it is switched to psycopg2 when only
  that is installed (as in requirements.txt). Plain ``optuna.load_study`` needs the explicit
  ``postgresql+psycopg2://`` form then. Connections are checked before use (pre-ping).

Foreign files and databases
  Nothing is written before the storage is known to be Optuna's: an existing SQLite file is
  read first through a read-only connection, a server database through SQLAlchemy's
  inspector, a journal by its first line. One with tables that are not Optuna's (an
  application's own database) is refused with :class:`StorageError`, unchanged. A reader
  (``read_only=True``) of a storage that does not exist yet (missing or empty file, empty
  database) gets an :class:`EmptyStorage` and creates nothing; only writers create Optuna's
  tables and switch a file to WAL.

Heartbeats
  Storages opened for writing (the databases, and journal files through
  :class:`~studies.storage._journal.HeartbeatJournalStorage`) record heartbeats
  (``heartbeat_interval``, default 10 s, ``$WDLAB_HEARTBEAT_INTERVAL``) and declare a
  RUNNING trial stale when its last heartbeat is older than ``grace_period`` (default
  3 × interval, ``$WDLAB_GRACE_PERIOD``). A stale trial is set to FAIL and its cell re-run
  (:mod:`studies.storage._retry`), at most :data:`MAX_RETRY` times. The runner calls
  :func:`optuna.storages.fail_stale_trials` before taking work.

Opened storages are cached per process, so repeated calls (a dashboard polling) reuse the
connection pool and Optuna's in-memory cache of finished trials.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage

from studies.storage._journal import HeartbeatJournalStorage
from studies.storage._retry import requeue
from studies.storage._urls import (
    ACCEPTED,
    JOURNAL_PREFIX,
    StorageError,
    journal_path,
    parse,
    redact,
    scrub,
)

HEARTBEAT_ENV = "WDLAB_HEARTBEAT_INTERVAL"
GRACE_ENV = "WDLAB_GRACE_PERIOD"
DEFAULT_HEARTBEAT_S = 10
MAX_RETRY = 3  # re-runs of a cell whose worker died; after that it stays FAIL
# The stale-trial callback: a cell that kills every worker that takes it must not loop forever.
_REQUEUE_STALE = functools.partial(requeue, max_retry=MAX_RETRY)
SQLITE_TIMEOUT_S = 30.0

_cache: dict[tuple[Any, ...], BaseStorage] = {}
_cache_lock = threading.Lock()


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in whole seconds, from the environment or defaults."""
    interval = _env_int(HEARTBEAT_ENV, DEFAULT_HEARTBEAT_S)
    grace = _env_int(GRACE_ENV, 3 * interval)
    return interval, max(grace, interval + 1)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    with contextlib.suppress(ValueError):
        if int(raw) >= 1:
            return int(raw)
    raise StorageError(name, f"must be a positive integer (seconds), got {raw!r}")


CREATE_ATTEMPTS = 4  # opening a new database that another process is creating
SCHEMA_RACE_MARKERS = (
    "already exists",  # CREATE TABLE lost the race
    "UNIQUE constraint failed: alembic_version",  # the schema version row lost it
    "database is locked",  # the winner still holds the write lock past the busy timeout
)


def open_storage(url: str, *, read_only: bool = False, create: bool = True) -> BaseStorage:
    """The Optuna storage behind ``url``: ``sqlite:///PATH``, any other SQLAlchemy URL or
    ``journal:///ABS/PATH.log`` (see the module docstring for the settings). ``read_only``:
    for readers such as the dashboard (see the module docstring); it does not forbid writes.
    ``create``: whether a missing SQLite or journal file may be created (if not, it raises).
    Raises :class:`StorageError`, the URL redacted, for a URL that cannot be opened or a
    file or database that is not an Optuna storage (unchanged).
    """
    if not isinstance(url, str) or not url.strip():
        raise StorageError("storage", f"empty URL: use {ACCEPTED}")
    url = url.strip()
    hb = None if read_only else heartbeat_settings()
    path = _file_of(url)
    if not create and path is not None and not path.exists():
        raise StorageError("storage", f"{redact(url)} does not exist (no file {path})")
    with _cache_lock:
        # The file's identity is part of the key: a file deleted and made again (a study
        # database removed by hand) must not be read through the old file's connections.
        storage = _cache.get((os.getpid(), url, read_only, hb, _identity(path)))
        if storage is None:
            storage = _open(url, read_only=read_only, heartbeat=hb)
            if not isinstance(storage, EmptyStorage):  # look again next time: it may be made
                _cache[(os.getpid(), url, read_only, hb, _identity(path))] = storage
    return storage


def _identity(path: Path | None) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        if path is not None:
            stat = path.stat()
            return stat.st_dev, stat.st_ino
    return None


def forget_storages() -> None:
    """Drop the per-process cache of opened storages (closing their connection pools)."""
    with _cache_lock:
        for storage in _cache.values():
            engine = getattr(getattr(storage, "_backend", storage), "engine", None)
            if engine is not None:
                engine.dispose()
        _cache.clear()


def storage_exists(url: str) -> bool:
    """False only when ``url`` names an SQLite or journal file that does not exist yet."""
    path = _file_of(url)
    return path is None or path.exists()


def _file_of(url: str) -> Path | None:
    if url.startswith(JOURNAL_PREFIX):
        return journal_path(url)
    parsed = parse(url)
    if parsed is None or parsed.get_backend_name() != "sqlite" \
            or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _open(url: str, *, read_only: bool, heartbeat: tuple[int, int] | None) -> BaseStorage:
    if url.startswith(JOURNAL_PREFIX):
        return _open_journal(url, read_only=read_only, heartbeat=heartbeat)
    parsed = parse(url)
    if parsed is None:
        raise StorageError("storage", f"cannot parse {redact(url)!r}: use {ACCEPTED}")
    backend = parsed.get_backend_name()
    shown, url = url, _with_installed_driver(parsed, url)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        path = _file_of(url)
        if path is not None and not _prepare_sqlite_file(shown, path, read_only=read_only):
            return EmptyStorage()
        engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S, "isolation_level": None}}
    kwargs: dict[str, Any] = {} if heartbeat is None else {
        "heartbeat_interval": heartbeat[0], "grace_period": heartbeat[1],
        "heartbeat_stale_trial_callback": _REQUEUE_STALE}
    for attempt in range(CREATE_ATTEMPTS):
        try:
            # Before RDBStorage, which creates its tables in any database it is given.
            if backend != "sqlite" and _database_kind(shown, url, engine_kwargs) == "empty" \
                    and read_only:
                return EmptyStorage()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                rdb = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
            break
        except StorageError:
            raise
        except ImportError as error:
            raise StorageError("storage", f"no database driver for {redact(shown)}: "
                               f"{_first_line(error, shown)}") from None
        except Exception as error:  # SQLAlchemy/driver errors: unreachable host, credentials
            # Two processes creating the schema of a new database at once: the loser sees
            # one of these. The schema is there (or nearly) now; opening again works.
            if any(m in str(error) for m in SCHEMA_RACE_MARKERS) and attempt + 1 < CREATE_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise StorageError("storage", f"cannot open {redact(shown)}: "
                               f"{_first_line(error, shown)}") from None
    if backend == "sqlite":
        _tune_sqlite_engine(rdb.engine, read_only=read_only)
    return optuna.storages.get_storage(rdb)


class EmptyStorage(optuna.storages.InMemoryStorage):
    """What a reader sees of a storage that does not exist yet (a missing or empty SQLite
    file, an empty database, a missing journal): no studies, and nothing created."""


# Optuna's tables (its SQLAlchemy models, plus alembic's version table). A database is taken
# for an Optuna storage when its tables of these names have Optuna's key columns and, if it
# holds other tables too, Optuna's core tables are all there (an application may share a
# database with Optuna). A subset of Optuna's tables is a schema that another process is
# creating right now.
_OPTUNA_TABLES = frozenset({
    "studies", "study_directions", "study_system_attributes", "study_user_attributes",
    "trial_heartbeats", "trial_intermediate_values", "trial_params", "trial_system_attributes",
    "trial_user_attributes", "trial_values", "trials", "version_info", "alembic_version",
})
_OPTUNA_CORE = frozenset({"studies", "trials", "version_info"})
_KEY_COLUMNS = {
    "studies": frozenset({"study_id", "study_name"}),
    "trials": frozenset({"trial_id", "number", "study_id", "state"}),
}


def _kind(url: str, tables: dict[str, set[str]]) -> str:
    """"empty" or "optuna" from {table: column names}; StorageError for anything else."""
    names = {t for t in tables if not t.startswith("sqlite_")}
    if not names:
        return "empty"
    odd = sorted(t for t, key in _KEY_COLUMNS.items() if t in names and not key <= tables[t])
    others = sorted(names - _OPTUNA_TABLES)
    if odd or (others and not names >= _OPTUNA_CORE):
        shown = ", ".join((odd + others)[:5]) + (", ..." if len(odd + others) > 5 else "")
        raise StorageError("storage", f"{redact(url)} is not an Optuna storage (it has its own "
                           f"tables: {shown}); nothing was changed in it: use another file or "
                           "database")
    return "optuna"


def _sqlite_tables(url: str, path: Path) -> dict[str, set[str]]:
    """Tables and their columns of an existing SQLite file, read without changing it."""
    if path.stat().st_size == 0:
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                                timeout=SQLITE_TIMEOUT_S)) as connection:
            names = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {name: {row[1] for row in connection.execute(
                        "SELECT * FROM pragma_table_info(?)", (name,))}
                    for name in names}
    except sqlite3.DatabaseError as error:
        raise StorageError("storage", f"{redact(url)} is not an SQLite database ({error}); "
                           "nothing was changed") from None


def _database_kind(shown: str, url: str, engine_kwargs: dict[str, Any]) -> str:
    """"empty" or "optuna" for a server database (read with SQLAlchemy's inspector)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, **engine_kwargs)
    try:
        inspector = sqlalchemy.inspect(engine)
        tables = {name: {c["name"] for c in inspector.get_columns(name)}
                  if name in _KEY_COLUMNS else set()
                  for name in inspector.get_table_names()}
    finally:
        engine.dispose()
    return _kind(shown, tables)


def _with_installed_driver(parsed: Any, url: str) -> str:
    """``postgresql://`` means psycopg 3 to SQLAlchemy 2.1; use psycopg2 if only it is here."""
    if parsed.drivername != "postgresql":
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
        return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url


def _prepare_sqlite_file(url: str, path: Path, *, read_only: bool) -> bool:
    """Check an SQLite file before SQLAlchemy touches it (see the module docstring); False
    when a reader should see an empty storage instead (the file is missing or has no tables)."""
    if not path.exists():
        if read_only:
            return False
        if not path.parent.is_dir():
            raise StorageError("storage",
                               f"directory {path.parent} of {redact(url)} does not exist")
    elif _kind(url, _sqlite_tables(url, path)) == "empty" and read_only:
        return False
    if read_only:
        return True
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as error:
        raise StorageError("storage", f"cannot open {redact(url)}: {error}") from None
    return True


def _tune_sqlite_engine(engine: Any, *, read_only: bool) -> None:
    from sqlalchemy import event

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if not read_only:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    # Connections opened while Optuna created its tables predate the listeners.
    engine.dispose()


def _open_journal(url: str, *, read_only: bool, heartbeat: tuple[int, int] | None
                  ) -> BaseStorage:
    path = journal_path(url)
    if not path.exists():
        if read_only:
            return EmptyStorage()
        if not path.parent.is_dir():
            raise StorageError("storage", f"directory {path.parent} of {url} does not exist")
    else:
        _check_journal(url, path)
    try:
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        if heartbeat is None:
            return optuna.storages.JournalStorage(backend)
        interval, grace = heartbeat
        return HeartbeatJournalStorage(backend, heartbeat_interval=interval, grace_period=grace,
                                       stale_callback=_REQUEUE_STALE)
    except Exception as error:
        raise StorageError("storage", f"cannot open {url}: {_first_line(error, url)}") from None


def _check_journal(url: str, path: Path) -> None:
    """Refuse a non-empty file whose first line is not an Optuna journal operation."""
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
    except OSError as error:
        raise StorageError("storage", f"cannot read {url}: {error.strerror}") from None
    if not first.strip():
        return
    with contextlib.suppress(ValueError):
        if isinstance(record := json.loads(first), dict) and "op_code" in record:
            return
    raise StorageError("storage", f"{url} is not an Optuna journal file; nothing was changed in "
                       "it: use another file")


def _first_line(error: BaseException, url: str) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return scrub(line, url)
