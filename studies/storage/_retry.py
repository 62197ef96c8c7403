"""Re-running a cell whose trial did not finish: a dead worker's (stale heartbeat), a stopped
worker's, or a crashed population's.

The trial itself stays FAIL (its history is kept); a WAITING copy with the same params and the
same cell attributes is enqueued, like :class:`optuna.storages.RetryHeartbeatStaleTrialCallback`
but without the results of the unfinished run (curves flushed mid-run must not show up on a
waiting trial). ``system_attrs["failed_trial"]`` is the first trial of the cell and
``retry_history`` the chain, as Optuna's callback records them.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from studies.storage import layout as L
from studies.storage._journal import HEARTBEAT_ATTR


def requeue(study: optuna.Study, trial: FrozenTrial, *, max_retry: int | None) -> bool:
    """Enqueue a WAITING copy of ``trial`` (a FAIL trial); False if ``max_retry`` re-runs of
    this cell were already made."""
    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if max_retry is not None and len(history) > max_retry:
        return False
    system: dict[str, Any] = {
        # Not the dead run's last heartbeat (journal storages keep it here): the copy would
        # look stale to other workers before anyone has taken it.
        **{k: v for k, v in trial.system_attrs.items() if k != HEARTBEAT_ATTR},
        "failed_trial": trial.system_attrs.get("failed_trial", trial.number),
        "retry_history": history,
    }
    study.add_trial(optuna.trial.create_trial(
        state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
        user_attrs={k: trial.user_attrs[k] for k in L.CELL_ATTRS if k in trial.user_attrs},
        system_attrs=system))
    return True
