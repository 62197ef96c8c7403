"""Dashboard entry point: the navigation and the shared sidebar; each page lives in views/.

The pages are in ``views/``, not ``pages/``: Streamlit runs a file of a ``pages/`` folder on
its own, without this script, when a fresh server's first visitor opens its URL directly.

Start it with ``make dashboard`` (``streamlit run app.py``). Options after ``--``:
``--read-only`` (or ``WDLAB_READ_ONLY=1``) for demos, ``--storage URL`` (or
``WDLAB_STORAGE``).
"""

from __future__ import annotations

import streamlit as st

from views import _components as ui

st.set_page_config(
    page_title="Decoupled weight decay lab", page_icon=":material/balance:", layout="wide"
)

navigation = st.navigation(
    [
        st.Page(ui.HOME, title="Home", icon=":material/home:", default=True,
                help="The paper's claim, the update rules, and the demo in one click."),
        st.Page(ui.RUN, title="Run", icon=":material/play_arrow:", url_path="run",
                help="Launch a study from a preset or a form, and watch it fill in."),
        st.Page(ui.LANDSCAPE, title="Landscape", icon=":material/grid_on:", url_path="landscape",
                help="Learning rate × weight decay heatmaps per optimizer (Figures 1 and 2)."),
        st.Page(ui.CURVES, title="Curves", icon=":material/show_chart:", url_path="curves",
                help="Training loss and test error against epochs (Figures 3 and 4)."),
        st.Page(ui.SCHEDULES, title="Schedules", icon=":material/airwave:", url_path="schedules",
                help="Learning-rate schedules η_t and a weight-decay converter."),
        st.Page(ui.STUDIES, title="Studies", icon=":material/folder_open:", url_path="studies",
                help="All studies: export, report, delete; Optuna's views for tune studies."),
    ]
)
ui.guard(ui.sidebar)
navigation.run()
