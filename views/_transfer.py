"""The Landscape page's transfer section: where a family's best λ lies against N or width."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studies import dashboard as dash
from studies.analysis import ALPHA, transfer_verdict
from studies.plots import X_TITLES, metric_label, transfer_figure
from views import _components as ui


@st.cache_data(max_entries=8, show_spinner=False)
def _fit(url: str, members: tuple[dash.Member, ...], metric: str) -> tuple[Any, Any]:
    """Cached on the members' keys: the fit reads every member's trials and tests cells."""
    return dash.family_fit(url, members, metric)


def section(ctx: ui.Context, spec: Any, metric: str = "final_test_error") -> None:
    """Shown when the picked study is a member of a transfer family: the members' best paper
    λ against N (training points used) or the width multiple, the fits, both hypotheses."""
    if spec is None or spec.transfer is None or spec.transfer.scale is None:
        return
    t = spec.transfer
    family, members = dash.family_members(ctx.url, spec)
    st.markdown(f"#### Transfer family {family}: best λ (paper) against "
                f"{'the data size N' if t.over == 'data' else 'the width'}")
    if not members:  # e.g. a member renamed on its own: its family is not in this storage
        st.caption(f"No member of the family {family!r} is in this storage under its "
                   "member name, so there is nothing to fit.")
        return
    points, fits = _fit(ctx.url, members, metric)
    ui.plotly(transfer_figure(points, fits, over=t.over), key="transfer_figure")
    st.markdown("\n".join(f"- {transfer_verdict(f, t.over)}" for _, f in fits.iterrows())
                or "Fewer than two members with results: nothing to fit yet.")
    st.caption(f"{len(members)} of {len(t.scales)} members in this storage. Best cell by mean "
               f"{metric_label(metric)} over the seeds; the bar spans the paper λ of the cells "
               f"indistinguishable from it (one-sided pooled t-test at {100 * ALPHA:g} %); the "
               "dashed line is the least-squares fit of log₂(best λ) on log₂ x.")
    st.dataframe(points.rename(columns={"x": X_TITLES[t.over].split(" (")[0]}),
                 hide_index=True)
