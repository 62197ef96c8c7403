"""Studies: every study in the storage; exports, figures and the one-file report of the
picked one; delete with confirmation; Optuna's own views for tune studies."""

from __future__ import annotations

import streamlit as st

from studies import dashboard as dash
from views import _components as ui
from views import _sections as sections

TABLE, ROWS = "studies_table", "_studies_rows"


def _picked() -> None:
    """A clicked row becomes the study of every page (as if picked in the sidebar)."""
    rows = st.session_state[TABLE].selection.rows
    names = st.session_state.get(ROWS, [])
    if rows and rows[0] < len(names):
        st.session_state[ui.PICKER] = names[rows[0]]


def render() -> None:
    ctx = ui.context()
    st.title("Studies")
    if ctx.error:
        st.error(ctx.error)
        return
    infos = ui.study_infos(ctx.url)
    if not infos:
        st.info("No studies in this storage yet. Run the demo from the Home page.",
                icon=":material/waving_hand:")
        return
    table = dash.studies_table(infos, live=dash.active_runs(ctx.url))
    st.session_state[ROWS] = list(table["Study"])
    st.dataframe(
        table, hide_index=True, width="stretch", on_select=_picked, key=TABLE,
        selection_mode="single-row", column_config={
            # Pixel widths that add up to less than the table's room at 1440 px (≈ 980 px
            # beside the sidebar), so the last column is never clipped.
            "Study": st.column_config.TextColumn(width=90),
            "State": st.column_config.TextColumn(width=80, help=dash.STATE_HELP),
            "Progress": st.column_config.ProgressColumn(
                "Progress", min_value=0.0, max_value=1.0, format="percent", width=95),
            "Cells done": st.column_config.TextColumn(width=80),
            "Optimizers": st.column_config.TextColumn(width=105),
            "Best final test error": st.column_config.TextColumn(width=185),
            "Diverged": st.column_config.NumberColumn(width=70),
            "Kind": st.column_config.TextColumn(width=90, help="Mode · data set"),
            "Created": st.column_config.TextColumn(width=120, help="UTC"),
        })
    info = next((i for i in infos if i.name == ctx.study), None)
    if info is None:
        st.caption("Click a row (or pick a study in the sidebar) for its exports.")
        return
    st.subheader(info.name)
    if info.description:
        st.caption(info.description)
    sections.export_buttons(ctx, info.name)
    if info.mode == "tune":
        sections.optuna_views(ctx, info.name)
    sections.delete_box(ctx, info.name)


ui.guard(render)
