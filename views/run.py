"""Run: launch a study from a preset or a generated form; watch a running one fill in.

The page opens on the form unless the picked study is running (then on its live view), its
launch failed (then on the error, with the form below to fix it), it was cancelled (then
on its state and Resume) or the user watched it finish here."""

from __future__ import annotations

import streamlit as st

from studies import dashboard as dash
from views import _components as ui
from views import _form as form
from views import _monitor as monitor

WATCHED = "_run_watched"  # studies this session watched running on this page


def render() -> None:
    ctx = ui.context()
    st.title("Run a study")
    if ctx.error:
        st.error(ctx.error)
        return
    study = ctx.study
    running = bool(study) and ui.is_live(ctx, study)
    status = dash.run_status(ctx.url, study) if study else None
    known = bool(study) and (running or status is not None or ui.progress(ctx, study))
    if ctx.read_only:
        if known:
            monitor.monitor(ctx, study, live=running)
        return
    watched = st.session_state.setdefault(WATCHED, set())
    if running:
        watched.add(study)  # watched live here: it stays on top when it ends
    # On top when it needs the user: running or just watched finishing, failed (the error),
    # cancelled (Resume).
    if known and (running or study in watched
                  or (status is not None and status.state in ("failed", "cancelled"))):
        monitor.monitor(ctx, study, live=running)
        with st.expander("Launch a new study", expanded=not running,
                         icon=":material/rocket_launch:"):
            form.launcher(ctx)
        return
    form.launcher(ctx)
    if known:
        with st.expander(f"The picked study, {study}", icon=":material/monitoring:"):
            monitor.monitor(ctx, study, live=False)


ui.guard(render)
