"""Storage URLs: the default one, what is accepted, and how a URL is shown (password hidden)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

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
        self.what, self.reason = what, reason
        super().__init__(f"{what}: {reason}")


def data_dir() -> Path:
    """``$WDLAB_HOME``, else ``~/.local/share/wdlab``; created if missing."""
    env = os.environ.get(HOME_ENV, "").strip()
    path = Path(env).expanduser() if env else Path.home() / ".local" / "share" / "wdlab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_storage_url() -> str:
    """``$WDLAB_STORAGE`` if set, else ``sqlite:///<data dir>/studies.db`` (:func:`data_dir`)."""
    return os.environ.get(STORAGE_ENV, "").strip() or f"sqlite:///{data_dir() / 'studies.db'}"


def parse(url: str) -> Any:
    """SQLAlchemy's ``URL`` of ``url``; None for a string it cannot parse."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)
    except Exception:
        return None


# A password in the userinfo runs to the *last* '@' before the host: SQLAlchemy stops at the
# first one (``u:p@ss@h`` is user u, password p, host ss@h), but "ss" is still secret.
_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]*:)(?P<password>\S*)(?P<at>@)")
# Query parameters that carry credentials to a driver (``?password=``, ``sslpassword``,
# MySQL's ``passwd``, tokens and keys), and ODBC connection strings with a ``PWD=`` inside.
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"(pwd|password)\s*=", re.IGNORECASE)
HIDDEN = "***"


def redact(url: str) -> str:
    """``url`` with every credential replaced by ``***``; use it wherever a URL is shown:
    the password of the userinfo (``postgresql://me:secret@db/x`` → ``postgresql://me:***@db/x``)
    and the query parameters above. A string SQLAlchemy cannot parse is redacted by pattern,
    so even a malformed URL never leaks its password."""
    if url.startswith(JOURNAL_PREFIX):
        return url
    parsed = parse(url)
    if parsed is None:  # any unparsable string: fall back to the pattern
        return _PASSWORD.sub(rf"\g<head>{HIDDEN}\g<at>", url)
    if parsed.password is None and not any(_is_secret(k, v) for k, v in _query_items(parsed)):
        return url
    host = parsed.host
    if parsed.password is not None and host and "@" in host:
        host = host.rsplit("@", 1)[1]  # the rest of the password was read as the host
    shown = parsed.set(host=host, query={}).render_as_string(hide_password=True)
    if not parsed.query:
        return shown
    from urllib.parse import quote_plus

    parts = [f"{quote_plus(k)}={HIDDEN if _is_secret(k, v) else quote_plus(v)}"
             for k, v in _query_items(parsed)]
    return f"{shown}?{'&'.join(parts)}"


def _query_items(parsed: Any) -> list[tuple[str, str]]:
    return [(key, v) for key in sorted(parsed.query)
            for v in (parsed.query[key] if isinstance(parsed.query[key], tuple)
                      else (parsed.query[key],))]


def _is_secret(key: str, value: str) -> bool:
    return bool(_SECRET_KEY.search(key) or _SECRET_VALUE.search(value))


def secrets_of(url: str) -> list[str]:
    """The credentials in ``url`` (what :func:`redact` hides), longest first; for scrubbing
    them from text that is not a URL, such as a driver's error message. A fragment that
    SQLAlchemy read as part of the host (``u:p@ss@h``) comes with its ``@`` (``ss@``)."""
    found: set[str] = set()
    match = _PASSWORD.search(url)
    if match and match.group("password"):
        found.add(match.group("password"))
    parsed = parse(url)
    if parsed is not None:
        if parsed.password:
            found.add(str(parsed.password))
            if parsed.host and "@" in parsed.host:
                found.add(parsed.host.rsplit("@", 1)[0] + "@")
        found.update(v for k, v in _query_items(parsed) if _is_secret(k, v))
    return sorted(found, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with the URL redacted and every credential of ``url`` in it replaced by
    ``***`` (error messages of drivers may quote a host or a connection string)."""
    text = text.replace(url, redact(url)) if url else text
    for secret in secrets_of(url):
        # Two characters or fewer would mangle every word they occur in (and are no secret).
        if len(secret) > 2:
            text = text.replace(secret, HIDDEN)
    return _PASSWORD.sub(rf"\g<head>{HIDDEN}\g<at>", text)


def journal_path(url: str) -> Path:
    """The log file of a ``journal:///ABS/PATH.log`` URL."""
    rest = url[len(JOURNAL_PREFIX) :]
    if not rest or rest.endswith("/"):
        raise StorageError("storage", f"journal URL needs a file path, got {url!r}: use {ACCEPTED}")
    return Path(rest).expanduser()
