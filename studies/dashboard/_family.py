"""A transfer family as this storage holds it: its members and the fit of their best λ."""

from __future__ import annotations

import pandas as pd

from studies.analysis import transfer_fits, transfer_points
from studies.dashboard._figures import usable_trials
from studies.dashboard._live import counts_signature
from studies.export import trials_frame
from studies.spec import StudySpec, member_name
from studies.storage import StoredStudy, StudyNotFoundError

Member = tuple[str, float, tuple[object, ...]]  # (study, x, cache key)


def family_members(url: str, spec: StudySpec) -> tuple[str, tuple[Member, ...]]:
    """(family, its members here) for a member's spec, each member opened once: x is N, the
    training points it used (``train_size``), or the width scale. A member not in this
    storage, or without N, is left out."""
    t = spec.transfer
    assert t is not None and t.scale is not None, "not a transfer family's member"
    family, found = spec.name.removesuffix(member_name("", t.scale)), []
    for scale in t.scales:
        try:
            study = StoredStudy.open(url, name := member_name(family, scale))
        except StudyNotFoundError:
            continue
        x = study.train_size if t.over == "data" else scale
        if x is not None:
            found.append((name, float(x), counts_signature(study.counts())))
    return family, tuple(found)


def family_fit(url: str, members: tuple[Member, ...], metric: str
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, fits) of :func:`studies.analysis.transfer_points` and ``transfer_fits``."""
    trials = pd.concat([trials_frame(url, name) for name, _, _ in members], ignore_index=True)
    points = transfer_points(usable_trials(trials), {n: x for n, x, _ in members}, metric=metric)
    return points, transfer_fits(points)
