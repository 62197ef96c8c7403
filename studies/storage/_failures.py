"""Storage failures a user can fix, told in words: a full disk, a read-only file or database.

Optuna reports a failed commit as ``StorageInternalError("An exception is raised during the
commit. This typically happens due to invalid data in the commit, e.g. exceeding max
length.")``, which hides the real cause two exceptions down. :func:`storage_failure` walks the
chain of causes (``__cause__``, ``__context__``, SQLAlchemy's ``orig``) for the errors a full
disk or a read-only storage give:

* SQLite: ``SQLITE_FULL`` ("database or disk is full", also what a ``max_page_count`` limit
  gives) and ``SQLITE_READONLY`` ("attempt to write a readonly database");
* PostgreSQL: "No space left on device" from the server, "read-only transaction";
* files (journal storages): ``OSError`` with ENOSPC / EDQUOT, EROFS / EACCES / EPERM.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from studies.storage._urls import StorageError, redact, scrub

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_DRIVERS = ("sqlite3", "psycopg", "psycopg2")
_FULL_TEXT = ("database or disk is full", "no space left on device", "disk quota exceeded")
_READ_ONLY_TEXT = ("readonly database", "read-only transaction", "read-only file system",
                   "read only database")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        todo += [e.__cause__, e.__context__, orig if isinstance(orig, BaseException) else None]


def _is_storage_error(e: BaseException, url: str) -> bool:
    """A database driver's or Optuna's error, or an OSError on the storage's own files."""
    if isinstance(e, OSError) and not type(e).__module__.startswith(("sqlite3", "psycopg")):
        from studies.storage._open import _file_of

        path = _file_of(url)
        return path is not None and str(e.filename or "").startswith(str(path))
    return type(e).__module__.split(".")[0] in (*_DRIVERS, "sqlalchemy", "optuna")


def storage_failure(error: BaseException, url: str) -> StorageError | None:
    """A :class:`StorageError` saying "no space left" or "read-only" if that is what lies
    under ``error`` (a write to the storage at ``url`` that failed), else None. The reason
    quoted is the driver's own (SQLAlchemy and Optuna wrap it in long messages)."""
    for kind, errnos, texts in (("full", _FULL_ERRNOS, _FULL_TEXT),
                                ("read-only", _READ_ONLY_ERRNOS, _READ_ONLY_TEXT)):
        found = [e for e in _chain(error) if _is_storage_error(e, url) and (
            (isinstance(e, OSError) and e.errno in errnos)
            or any(t in str(e).lower() for t in texts))]
        if not found:
            continue
        cause = next((e for e in found if isinstance(e, OSError)  # the driver's own, if any
                      or type(e).__module__.split(".")[0] in _DRIVERS), found[0])
        detail = scrub(" ".join(str(cause).split())[:160], url)
        if kind == "full":
            return StorageError("storage", f"no space left on the device of {redact(url)} "
                                f"({detail}); free some space and run the same command again "
                                "(finished cells are kept)")
        return StorageError("storage", f"{redact(url)} is read-only ({detail}); make it writable "
                            "or use another storage")
    return None
