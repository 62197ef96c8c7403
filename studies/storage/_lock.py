"""One writer at a time for a study's structure: creating it, enqueueing its cells, extending it.

Two ``run`` commands started together on a new study used to enqueue every cell twice: the
second one's resume saw ``cells_enqueued`` unset while the first was still enqueueing, and
enqueued the missing cells again. Whoever creates, resumes or extends a study now holds
:func:`study_lock` while it reads what is there and enqueues what is missing, so any number of
racing creators enqueue each cell exactly once.

The lock is one the operating system or the database server releases when its holder dies
(SIGKILL included), so a creator killed mid-enqueue never blocks the next one, which finishes
the enqueueing:

* SQLite and journal files: ``flock`` on a small companion file ``<file>.create-lock``
  (created next to the storage by the first writer, never by a reader; flock is not SQLite's
  own locking, which a lock on the database file itself could disturb);
* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) keyed by the study
  name, held on a connection of its own;
* other databases are refused for creating and extending studies (no lock of theirs is used
  here; workers still run on them).

Waiting is polled so that a stop request (SIGINT/SIGTERM) is honoured while another process
holds the lock (:class:`Stopped`). :func:`being_created` tells a reader, without
taking the lock, whether a writer holds it right now.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from optuna.storages import BaseStorage

from studies.storage._open import _file_of
from studies.storage._read import rdb_of
from studies.storage._urls import StorageError, parse, redact

POLL_S = 0.1  # how often a waiting writer tries the lock again
LOCK_SUFFIX = ".create-lock"


class Stopped(Exception):
    """A stop (SIGINT/SIGTERM) was requested while waiting for a study's lock or while
    enqueueing under it; the next creator finishes whatever was left half done."""


def _backend(url: str) -> str:
    parsed = parse(url)  # files (SQLite, journals) are told apart before, by _file_of
    return "" if parsed is None else parsed.get_backend_name()


def _pg_key(study: str) -> int:
    """A signed 64-bit advisory-lock key for ``study`` (stable across processes)."""
    digest = hashlib.blake2b(f"wdlab-study:{study}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def study_lock(url: str, storage: BaseStorage, study: str, *,
               stop: threading.Event | None = None,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of ``study`` in the storage at ``url`` (opened as ``storage``).

    Blocks while another process or thread holds it, calling ``on_wait`` once; raises
    :class:`Stopped` if ``stop`` is set meanwhile, :class:`StorageError` for a storage
    that has no lock here (see the module docstring).
    """
    path = _file_of(url)
    if path is None and _backend(url) != "postgresql":
        raise StorageError("storage", f"creating or extending studies in {redact(url)} is not "
                           "supported: use SQLite, PostgreSQL or a journal file (workers may "
                           "still join existing studies there)")
    with (_file_lock(url, path, stop=stop, on_wait=on_wait) if path is not None
          else _pg_lock(storage, study, stop=stop, on_wait=on_wait)):
        yield


def being_created(url: str, storage: BaseStorage, study: str) -> bool:
    """Whether a writer holds the lock of ``study`` now. Takes nothing and creates nothing."""
    try:
        path, backend = _file_of(url), _backend(url)
    except Exception:
        return False
    if path is not None:
        try:
            fd = os.open(Path(str(path) + LOCK_SUFFIX), os.O_RDONLY)
        except OSError:
            return False  # no lock file: no writer ever held it
        try:
            return not _flock(fd, exclusive=False)  # closing the file lets go of a lock taken
        except OSError:
            return False
        finally:
            os.close(fd)
    rdb = rdb_of(storage)
    if backend != "postgresql" or rdb is None:
        return False
    from sqlalchemy import text

    key = _pg_key(study)
    with rdb.engine.connect() as connection:
        free = connection.execute(text("SELECT pg_try_advisory_lock_shared(:k)"),
                                  {"k": key}).scalar()
        if free:
            connection.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": key})
        connection.rollback()
    return not free


def _poll(take: Callable[[], bool], stop: threading.Event | None,
          on_wait: Callable[[], None] | None) -> None:
    """Call ``take`` every :data:`POLL_S` until it gets the lock, ``on_wait`` before the first
    wait; :class:`Stopped` once ``stop`` is set."""
    stop, waited = stop or threading.Event(), False
    while not take():
        if stop.is_set():
            raise Stopped
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        stop.wait(POLL_S)


def _flock(fd: int, *, exclusive: bool) -> bool:
    """``flock`` without blocking; False when another holder has the lock."""
    import fcntl

    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


@contextlib.contextmanager
def _file_lock(url: str, path: Path, *, stop: threading.Event | None,
               on_wait: Callable[[], None] | None) -> Iterator[None]:
    import fcntl

    lock = Path(str(path) + LOCK_SUFFIX)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise StorageError("storage", f"cannot create the lock file {lock} of {redact(url)}: "
                           f"{error.strerror}") from None
    try:
        # One open file description per acquisition: threads exclude each other too.
        _poll(lambda: _flock(fd, exclusive=True), stop, on_wait)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _pg_lock(storage: BaseStorage, study: str, *, stop: threading.Event | None,
             on_wait: Callable[[], None] | None) -> Iterator[None]:
    from sqlalchemy import text

    rdb = rdb_of(storage)
    assert rdb is not None, "a PostgreSQL URL opens an RDBStorage"
    key = _pg_key(study)
    connection: Any = rdb.engine.connect()

    def take() -> bool:
        held = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        connection.commit()  # the lock is the session's; no transaction stays open
        return bool(held)

    try:
        _poll(take, stop, on_wait)
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()
            except Exception:
                # A connection whose lock state is unknown must not go back to the pool:
                # closing it for good makes the server release the lock.
                connection.invalidate()
                raise
    finally:
        connection.close()
