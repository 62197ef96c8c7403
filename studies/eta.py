"""How long a study has left: one estimator and one formatter, for the CLI, the worker's log
and the dashboard.

Progress is counted in cells, a running population adding ``members × epoch / epochs`` as
its epochs end, so it moves in *steps*, one per finished epoch. The time before the first
step is start-up: launching the process, loading the data, building the population and, on
the first epoch, compiling its kernel. None of it comes back, so the rate is measured from
the first step seen to the last one (never from the launch):

    rate = (p_last − p_first) / (t_last − t_first)
    ETA  = (total − p_last) / rate − (now − t_last)

where ``t`` is when a step was first seen. Measured from the launch instead, a 50 s demo
whose first 15 s were start-up was told "2 min 54 s" at 20 % of its work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class EtaEstimator:
    """Feed it ``(time, progress)`` as often as you like; it keeps the steps."""

    steps: list[tuple[float, float]] = field(default_factory=list)
    now: float | None = None

    def add(self, now: float, partial: float) -> None:
        """Record the progress seen at ``now`` (seconds, any clock that only moves on)."""
        if self.steps and partial < self.steps[-1][1]:
            self.steps.clear()  # cells were added or handed back: a new run of steps
        if not self.steps or partial > self.steps[-1][1]:
            self.steps.append((now, partial))
        self.now = now

    def seconds(self, total: float) -> float | None:
        """Seconds left until ``total``; 0 when reached; None until two steps were seen
        after the first observation (the first one may be start-up or mid-epoch)."""
        if not self.steps:
            return None
        t_last, p_last = self.steps[-1]
        if p_last >= total:
            return 0.0
        moving = self.steps[1:]  # the first observation is a baseline, not a step edge
        if len(moving) < 2:
            return None
        t0, p0 = moving[0]
        if t_last <= t0 or p_last <= p0:
            return None
        rate = (p_last - p0) / (t_last - t0)
        spent = (self.now if self.now is not None else t_last) - t_last
        return max(0.0, (total - p_last) / rate - spent)


def format_duration(seconds: float | None) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``; ``"—"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
