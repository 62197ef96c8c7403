"""Process-tree helpers shared by the tests that check workers die with their parent."""

from __future__ import annotations

from pathlib import Path


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux ``/proc``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                out.append(int(entry.name))
    return out
