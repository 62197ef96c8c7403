"""The dashboard's options: storage URL and read-only mode, from arguments and environment.

The dashboard takes its options after Streamlit's own, as ``streamlit run app.py --
--read-only --storage URL``; the environment variables ``WDLAB_READ_ONLY`` and
``WDLAB_STORAGE`` do the same. Options are read afresh on every call, so a test can change
the environment, and nothing here is cached in the server.

Read-only mode is a policy the *actions* enforce, not the pages: :func:`require_writable` is
called by every function that launches, cancels, extends or deletes, so a hidden button that
is somehow pressed anyway (a stale page, a crafted request) is still refused.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from studies.storage import default_storage_url

READ_ONLY_ENV = "WDLAB_READ_ONLY"
READ_ONLY_FLAG = "--read-only"
STORAGE_FLAG = "--storage"
_TRUE = frozenset({"1", "true", "yes", "on"})


class ReadOnlyError(PermissionError):
    """An action that writes was asked for while the dashboard is read-only."""

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(
            f"{action} is disabled: this dashboard is read-only "
            f"({READ_ONLY_ENV}=1 or {READ_ONLY_FLAG}); results can be viewed and exported."
        )


@dataclass(frozen=True)
class Options:
    """What the dashboard was started with."""

    read_only: bool  # launching, cancelling, extending and deleting are refused
    storage: str | None  # --storage URL, else None (then studies.storage's default applies)


def options(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
            ) -> Options:
    """Parse ``argv`` (default ``sys.argv[1:]``) and ``environ`` (default ``os.environ``).

    Unknown arguments are ignored: under a test runner ``sys.argv`` holds the runner's own.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    read_only = env.get(READ_ONLY_ENV, "").strip().lower() in _TRUE or READ_ONLY_FLAG in args
    storage = None
    for i, arg in enumerate(args):
        if arg == STORAGE_FLAG and i + 1 < len(args):
            storage = args[i + 1]
        elif arg.startswith(STORAGE_FLAG + "="):
            storage = arg.split("=", 1)[1]
    return Options(read_only=read_only, storage=storage or None)


def is_read_only() -> bool:
    """Whether the dashboard is in read-only mode now."""
    return options().read_only


def require_writable(action: str) -> None:
    """Raise :class:`ReadOnlyError` for ``action`` (e.g. "Launching a study") if read-only."""
    if is_read_only():
        raise ReadOnlyError(action)


def storage_url() -> str:
    """The storage the dashboard shows: ``--storage``, else ``$WDLAB_STORAGE``, else the
    default SQLite file in the data directory (see :func:`studies.storage.default_storage_url`).
    """
    return options().storage or default_storage_url()
