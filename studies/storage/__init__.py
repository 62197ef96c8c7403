"""Where studies live: Optuna storages (SQLite by default, PostgreSQL, journal files).

* :func:`default_storage_url` — ``$WDLAB_STORAGE``, else an SQLite file in ``$WDLAB_HOME``
  (default ``~/.local/share/wdlab``).
* :func:`open_storage` — an Optuna storage tuned for live dashboards and many workers (WAL,
  busy timeout, atomic trial claims, heartbeats that re-run a dead worker's cells).
* :class:`StoredStudy` — one study read as this project laid it out: its decoded spec, its
  mode (:class:`GridMode` / :class:`TuneMode`: total, done count, cells) and its
  :class:`Progress`; :func:`list_studies` / :class:`StudyInfo`, :func:`load_spec`.
* :func:`delete_study`; :class:`StudyNotFoundError`, :class:`StorageError`.
* :func:`redact` — a URL with its credentials hidden; use it wherever a URL is shown;
  :func:`scrub` — the same for any text that may quote one (a driver's error message).
* :func:`study_lock` — the lock a creator or extender of a study holds (exactly-once enqueue);
  :func:`storage_failure` — a full disk or a read-only storage under an exception, in words.

The studies are plain Optuna studies (``optuna.load_study`` and optuna-dashboard open them);
:mod:`studies.storage.layout` documents the attributes this project stores in them and maps
a grid cell to a trial's params (:func:`~studies.storage.layout.cell_params`,
:func:`~studies.storage.layout.cell_of`).
"""

from studies.storage import layout
from studies.storage._failures import storage_failure
from studies.storage._lock import Stopped, being_created, study_lock
from studies.storage._modes import GridMode, TuneMode, study_mode
from studies.storage._open import MAX_RETRY, forget_storages, open_storage, storage_exists
from studies.storage._read import TrialRecord, rdb_of, read_trials, study_id_of
from studies.storage._retry import requeue
from studies.storage._stored import Progress, StoredStudy, StudyInfo, list_studies, load_spec
from studies.storage._studies import (
    StudyDeletedError,
    StudyNotFoundError,
    check_study_name,
    delete_study,
    require_study,
    study_names,
)
from studies.storage._urls import (
    STORAGE_ENV,
    StorageError,
    data_dir,
    default_storage_url,
    redact,
    scrub,
)
from studies.storage.layout import SCHEMA_VERSION, cell_key

__all__ = [
    "MAX_RETRY", "SCHEMA_VERSION", "STORAGE_ENV", "GridMode", "Progress", "Stopped", "StorageError",
    "StoredStudy", "StudyDeletedError", "StudyInfo", "StudyNotFoundError", "TrialRecord",
    "TuneMode", "being_created", "cell_key", "check_study_name", "data_dir", "default_storage_url",
    "delete_study", "forget_storages", "layout", "list_studies", "load_spec", "open_storage",
    "rdb_of", "read_trials", "redact", "requeue", "require_study", "scrub", "storage_exists",
    "storage_failure", "study_id_of", "study_lock", "study_mode", "study_names",
]
