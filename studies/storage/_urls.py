"""Storage URLs: the default one, what is accepted, and how a URL is shown (password hidden)."""

from __future__ import annotations

import os
import re
from pathlib import Path

HOME_ENV = "WDLAB_HOME"  # data directory of the default SQLite file
STORAGE_ENV = "WDLAB_STORAGE"  # storage URL used when none is given

JOURNAL_PREFIX = "journal://"

ACCEPTED = (
    "sqlite:///PATH.db, a SQLAlchemy URL such as postgresql://USER:PASSWORD@HOST/DB, "
    "or journal:///ABS/PATH.log"
)


class StorageError(ValueError):
    """A storage or study problem a user can fix; the message is one line, ``what: why``.

    ``what`` is the thing at fault (``"storage"``, ``"study"``), ``reason`` what is wrong
    with it and what is allowed. URLs in messages are always redacted.
    """

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")


def data_dir() -> Path:
    """``$WDLAB_HOME``, else ``~/.local/share/wdlab``; created if missing."""
    env = os.environ.get(HOME_ENV, "").strip()
    path = Path(env).expanduser() if env else Path.home() / ".local" / "share" / "wdlab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_storage_url() -> str:
    """``$WDLAB_STORAGE`` if set, else ``sqlite:///<data dir>/studies.db`` (:func:`data_dir`)."""
    env = os.environ.get(STORAGE_ENV, "").strip()
    if env:
        return env
    return f"sqlite:///{data_dir() / 'studies.db'}"


_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<at>@)")


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``; use it wherever a URL is shown.

    ``postgresql://me:secret@db/x`` → ``postgresql://me:***@db/x``. A string SQLAlchemy cannot
    parse is redacted by pattern, so even a malformed URL never leaks its password.
    """
    if url.startswith(JOURNAL_PREFIX):
        return url
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # any unparsable string: fall back to the pattern
        return _PASSWORD.sub(r"\g<head>***\g<at>", url)
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def journal_path(url: str) -> Path:
    """The log file of a ``journal:///ABS/PATH.log`` URL."""
    rest = url[len(JOURNAL_PREFIX) :]
    if not rest or rest.endswith("/"):
        raise StorageError("storage", f"journal URL needs a file path, got {url!r}: use {ACCEPTED}")
    return Path(rest).expanduser()
