"""A throwaway PostgreSQL server for tests: initdb into a temp dir, a free port, 127.0.0.1 only.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` OS user
(``runuser``). The server is always stopped (``pg_ctl stop -m immediate``) and, should that
fail, its postmaster is killed by the PID in its own ``postmaster.pid``: nothing else is
touched.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_binary(name: str) -> str | None:
    """``name`` on PATH, else in Debian's versioned directory (not on PATH by default)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", PG_USER, "--", *command]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a fresh, empty PostgreSQL cluster; stop and remove it afterwards.

    Fails (never skips: these tests are the many-workers contract) when the server binaries
    or, as root, the postgres user are missing; ``make test`` installs them.
    """
    initdb, pg_ctl = _server_binary("initdb"), _server_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
                    "/usr/lib/postgresql/*/bin; install them with ./scripts/system-deps.sh")
    root = Path(tempfile.mkdtemp(prefix="wdlab-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(PG_USER)
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"running as root and there is no {PG_USER!r} user for initdb; "
                        "install PostgreSQL with ./scripts/system-deps.sh")
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    port = _free_port()
    started = False
    try:
        subprocess.run(
            _as_server_user([initdb, "-D", str(data), "-A", "trust", "-U", PG_USER,
                             "-E", "UTF8", "--locale=C", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-l", str(root / "server.log"),
                             "-o", options, "-w", "-t", "60", "start"]),
            check=True, capture_output=True, timeout=90,
        )
        started = True
        yield f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _stop(pg_ctl, data)
        shutil.rmtree(root, ignore_errors=True)


def _stop(pg_ctl: str, data: Path) -> None:
    pid_file = data / "postmaster.pid"
    pid = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().splitlines()[0])
    result = subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"]),
        capture_output=True, timeout=60,
    )
    if result.returncode != 0 and pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
