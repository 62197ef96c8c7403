"""Journal files with heartbeats: a dead worker's cells are re-run, as on the databases.

Optuna 5.0's :class:`~optuna.storages.JournalStorage` has no heartbeats, so a worker killed
mid-trial left its trials RUNNING forever and a resumed study never finished them. This class
adds Optuna's own heartbeat protocol (:class:`optuna.storages._heartbeat.BaseHeartbeat`) to it,
so :func:`optuna.storages.fail_stale_trials`, the stale-trial callback and the runner's
heartbeat thread work unchanged:

* a heartbeat is the trial system attribute ``wdlab:heartbeat`` (Unix time of the worker's
  clock), appended to the journal like any other write;
* a RUNNING trial is stale when its last heartbeat is older than the grace period by the
  checking worker's clock. Workers on several machines sharing one journal file must
  therefore have clocks that agree to well within the grace period (NTP does);
* a RUNNING trial that never recorded a heartbeat is never stale (Optuna's RDB rule too).

Setting a trial FAIL is atomic in the journal (the first FAIL in the log wins; a later one
raises ``UpdateFinishedTrialError``), so exactly one worker runs the callback of a stale trial.
Each heartbeat is a line in the log: about 100 bytes per held trial per interval.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState

HEARTBEAT_ATTR = "wdlab:heartbeat"


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """A :class:`JournalStorage` that records heartbeats (see the module docstring)."""

    def __init__(self, backend: Any, *, heartbeat_interval: int, grace_period: int,
                 stale_callback: Callable[..., None] | None) -> None:
        super().__init__(backend)
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.stale_callback = stale_callback

    def record_heartbeat(self, trial_id: int) -> None:
        # A trial that has just finished needs no heartbeat (a race with the beat thread).
        with contextlib.suppress(UpdateFinishedTrialError):
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now, running = time.time(), (TrialState.RUNNING,)
        return [t._trial_id for t in self.get_all_trials(study_id, deepcopy=False, states=running)
                if isinstance(beat := t.system_attrs.get(HEARTBEAT_ATTR), int | float)
                and now - beat > self.grace_period]

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> Callable[..., None] | None:
        return self.stale_callback
