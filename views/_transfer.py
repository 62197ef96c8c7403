"""The Landscape page's transfer section: where a family's best λ lies against N or width."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from studies.analysis import transfer_fits, transfer_points, transfer_verdict
from studies.plots import X_TITLES, metric_label, transfer_figure
from studies.spec import member_name
from studies.storage import StoredStudy
from views import _components as ui


def section(ctx: ui.Context, spec: Any, metric: str = "final_test_error") -> None:
    """Shown when the picked study is a member of a transfer family: the members' best paper
    λ against N (training points used) or the width multiple, the fits, both hypotheses."""
    if spec is None or spec.transfer is None or spec.transfer.scale is None:
        return
    t, frames, x = spec.transfer, [], {}
    family = spec.name.removesuffix(member_name("", t.scale))
    st.markdown(f"#### Transfer family {family}: best λ (paper) against "
                f"{'the data size N' if t.over == 'data' else 'the width'}")
    for s in t.scales:
        if (sig := ui.study_signature(ctx, name := member_name(family, s))) is not None:
            size = StoredStudy.open(ctx.url, name).train_size if t.over == "data" else s
            if size is not None:  # a study made without the attribute has no N to place
                frames.append(ui.trials(ctx.url, name, sig))
                x[name] = size
    if not frames:  # e.g. a member renamed on its own: its family is not in this storage
        st.caption(f"No member of the family {family!r} is in this storage under its "
                   "member name, so there is nothing to fit.")
        return
    trials = pd.concat(frames, ignore_index=True)
    points = transfer_points(trials[trials["optimizer"].notna()], x, metric=metric)
    fits = transfer_fits(points)
    ui.plotly(transfer_figure(points, fits, over=t.over), key="transfer_figure")
    st.markdown("\n".join(f"- {transfer_verdict(f, t.over)}" for _, f in fits.iterrows())
                or "Fewer than two members with results: nothing to fit yet.")
    st.caption(f"{len(x)} of {len(t.scales)} members in this storage. Best cell by mean "
               f"{metric_label(metric)} over the seeds; the bar spans the paper λ of the cells "
               "indistinguishable from it (one-sided pooled t-test, α = 0.05); the dashed line "
               "is the least-squares fit of log₂(best λ) on log₂ x.")
    st.dataframe(points.rename(columns={"x": X_TITLES[t.over].split(" (")[0]}),
                 hide_index=True)
