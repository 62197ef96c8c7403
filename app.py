"""Dashboard entry point: the navigation and the shared sidebar; each page lives in views/.

The pages are in ``views/``, not ``pages/``: Streamlit runs a file of a ``pages/`` folder on
its own, without this script, when a fresh server's first visitor opens its URL directly.

Start it with ``make dashboard`` (``streamlit run app.py``). Options after ``--``:
``--read-only`` (or ``WDLAB_READ_ONLY=1``) for demos, ``--storage URL`` (or
``WDLAB_STORAGE``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from views import _components as ui

# A local icon: a ":material/...:" page icon is fetched from a font CDN, which fails offline.
ICON = Path(__file__).parent / "static" / "favicon.png"
st.set_page_config(page_title="Decoupled weight decay lab", page_icon=str(ICON), layout="wide",
                   initial_sidebar_state="auto")
# Streamlit's "auto" keeps the sidebar open down to 768 px; below NARROW_PX it would squeeze
# the figures, so fold it once per browser tab (the user can open it again).
NARROW_PX = 1000
st.html(f"""<script>
(() => {{
  if (window.innerWidth >= {NARROW_PX} || sessionStorage.getItem("wdlab-folded")) return;
  let tries = 0;
  const fold = () => {{
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (button) {{ sessionStorage.setItem("wdlab-folded", "1"); button.click(); }}
    else if (tries++ < 50) setTimeout(fold, 100);
  }};
  fold();
}})();
</script>""", unsafe_allow_javascript=True)
# Less empty space above each page's title, so the Landscape heatmaps fit a 900 px window.
st.html('<style>[data-testid="stMainBlockContainer"] { padding-top: 3rem; }</style>')

ui.warm_up()
navigation = st.navigation([
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
])
ui.guard(ui.sidebar)
navigation.run()
