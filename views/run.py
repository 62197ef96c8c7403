"""Run: launch a study from a preset or a generated form; watch a running one fill in."""

from __future__ import annotations

import streamlit as st

from studies import dashboard as dash
from views import _components as ui
from views import _form as form
from views import _monitor as monitor


def render() -> None:
    ctx = ui.context()
    st.title("Run a study")
    if ctx.error:
        st.error(ctx.error)
        return
    study = ctx.study
    running = bool(study) and ui.is_live(ctx, study)
    if study and (running or dash.run_status(ctx.url, study) or ui.progress(ctx, study)):
        monitor.monitor(ctx, study, live=running)
    with st.expander("Launch a new study", expanded=not running, icon=":material/rocket_launch:"):
        if ctx.read_only:
            st.info("Read-only mode: launching is disabled.", icon=":material/lock:")
        else:
            form.launcher(ctx)


ui.guard(render)
