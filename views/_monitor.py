"""The Run page's live view of a study: a timed fragment that polls the storage."""

from __future__ import annotations

import time

import streamlit as st

from studies import dashboard as dash
from studies.plots import landscape_figure
from views import _components as ui


def monitor(ctx: ui.Context, study: str, *, live: bool) -> None:
    """Process state, progress and ETA, the heatmaps filling in, the log tail, and Cancel /
    Resume; polls the storage every LIVE_EVERY_S seconds while the study runs. A launch that
    failed shows its process's error here, on its own study."""

    @st.fragment(run_every=ui.LIVE_EVERY_S if live else None)
    @ui.guarded
    def view() -> None:
        status = dash.run_status(ctx.url, study)
        alive = status is not None and status.alive
        snapshot = ui.live_view(ctx, study)
        st.subheader(f"Study {study}")
        error = dash.run_error(status) if status is not None else None
        if error:
            st.error(f"The process for **{study}** failed: {dash.forms.sentence(error)}",
                     icon=":material/error:")
        if snapshot is None:
            _process_line(ctx, status)
            if alive:
                st.info("Starting: loading data and creating the study…",
                        icon=":material/hourglass_top:")
            elif error:
                st.caption("Nothing was written to the storage. Fix the spec below and "
                           "launch again.")
            _log(ctx, status)
            if live and not alive:
                st.rerun()  # it ended before creating the study: stop polling
            return
        progress = snapshot.progress
        running = alive or progress.running > 0
        _process_line(ctx, status, progress)
        # One estimator per run: a Resume, Refine or More seeds starts a new process, and its
        # rate must not span the idle gap since the last one.
        run_key = status.record.started if status is not None else None
        estimator = st.session_state.setdefault(f"_eta:{study}:{run_key}", dash.EtaEstimator())
        estimator.add(time.time(), progress.partial)
        eta = estimator.seconds(progress.total)
        shown = ("—" if not running else dash.format_duration(eta) if eta is not None
                 else "estimating…")
        st.progress(progress.fraction, text=f"{progress.fraction:.0%} · {progress.done} / "
                    f"{progress.total} cells done · {progress.running} training · "
                    f"{progress.waiting} waiting · ETA {shown}")
        _actions(ctx, study, progress, alive=alive)
        _heatmaps(ctx, study, snapshot.signature, running=progress.running > 0,
                  latest=snapshot.latest)
        _log(ctx, status)
        if live and not running:
            st.rerun()  # stop polling: redraw the page once, without the timer

    view()


def _process_line(ctx: ui.Context, status: dash.RunStatus | None,
                  progress: dash.Progress | None = None) -> None:
    if status is None:
        if progress is not None and progress.running:
            st.caption("Running in a process not started from this dashboard (another "
                       "terminal or machine); shown from the storage.")
        return
    pid = "" if ctx.read_only else f"PID {status.record.pid}, "
    kept = "" if progress is None else (
        f": {progress.done} finished cell{'s' if progress.done != 1 else ''} kept; cells that "
        "were in training restart from epoch 1 on Resume")
    state = status.state
    if state == "ended" and progress is not None and progress.finished:
        state = "finished"
    icon, text = {
        "running": (":green[:material/radio_button_checked:]",
                    f"running ({pid}started {ui.ago(status.record.started)})"),
        "finished": (":green[:material/check_circle:]", "finished"),
        "failed": (":red[:material/cancel:]", f"failed (exit status {status.exit_code})"),
        "cancelled": (":material/stop_circle:", f"cancelled{kept}"),
        "ended": (":material/radio_button_unchecked:", "the process has ended"),
    }[state]
    st.markdown(f"{icon} **{status.record.kind.capitalize()} process:** {text}")


def _actions(ctx: ui.Context, study: str, progress: dash.Progress, *, alive: bool) -> None:
    links, curves, button, _ = st.columns([1, 1, 1, 3])
    with links:
        ui.page_link(ui.LANDSCAPE, "Landscape", study, icon=":material/grid_on:")
    with curves:
        ui.page_link(ui.CURVES, "Curves", study, icon=":material/show_chart:")
    if ctx.read_only:
        return
    asking = f"_cancel_ask:{study}"
    if alive and not st.session_state.get(asking):
        button.button("Cancel…", icon=":material/stop_circle:", key="cancel",
                      on_click=st.session_state.__setitem__, args=(asking, True),
                      help="Stop the process; you are told first what it would discard.")
    elif alive:
        st.warning(dash.cancel_text(dash.cancel_cost(ctx.url, study)), icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 3])
        if yes.button("Cancel the run", type="primary", key="cancel_confirm"):
            st.session_state.pop(asking, None)
            with ui.inline_errors(), st.spinner("Stopping after the current epoch…"):
                dash.cancel_run(ctx.url, study)
                st.rerun()
        no.button("Keep it running", key="cancel_keep", on_click=st.session_state.pop,
                  args=(asking, None))
    else:
        st.session_state.pop(asking, None)
    resumable = not alive and not progress.running and not progress.finished
    if resumable and button.button("Resume", icon=":material/play_arrow:", key="resume",
                                   help="Start a worker on the cells still to train; cells "
                                   "that were in training start again from epoch 1."):
        with ui.inline_errors():
            dash.ensure_worker(ctx.url, study)
            st.rerun()


def _heatmaps(ctx: ui.Context, study: str, sig: tuple[object, ...], *, running: bool,
              latest: dict[int, tuple[int, float]]) -> None:
    """The heatmaps; while trials run, each running cell at its ``latest`` epoch."""
    trials = ui.trials(ctx.url, study, sig)
    if trials.empty or trials["lr"].isna().all():
        st.caption("No trials yet.")
        return
    spec = ui.stored_spec(ctx.url, study)
    if spec is not None and spec.mode == "tune":
        st.caption(f"Tune study: {(trials['state'] == 'COMPLETE').sum()} trials complete. The "
                   "Landscape page shows where the sampler searched.")
        return
    schedules = dash.schedules_of(trials)
    schedule = schedules[0] if schedules else None
    if latest:  # a population's cells all finish at its end: show them epoch by epoch
        frame = dash.provisional_trials(trials, latest)
        lands = dash.landscapes(frame, metric=dash.LIVE_METRIC, schedule=schedule)
        epoch = max(e for e, _ in latest.values())
        label = "validation error (latest epoch)"
        note = (f"Live: each running cell shows its validation error at its latest epoch "
                f"(up to epoch {epoch}{f' of {spec.epochs}' if spec else ''}); finished cells "
                "their final one. The final test error replaces this view at the end.")
    else:
        lands = ui.landscapes(ctx.url, study, sig, "final_test_error", "paper", "mean",
                              schedule)
        label, note = None, None
    if not lands:
        return
    cells = max(land.value.size for land in lands.values())
    # While cells train, the colours keep one meaning (0–100 %) instead of re-ranging on
    # every poll; the finished map uses its own range.
    # No significance outline on provisional, mid-training values: a t-test of a moving
    # target would claim more than it knows.
    ui.plotly(landscape_figure(lands, metric_label=label, show_best=dash.best_default(cells),
                               fixed_range=running, show_near_best=not latest),
              key="run_landscape")
    if note:
        st.caption(note)
    if len(schedules) > 1:
        st.caption(f"Schedule {schedule}; the Landscape page shows the others.")


def _log(ctx: ui.Context, status: dash.RunStatus | None) -> None:
    """The process's log tail; not in read-only mode (paths, hosts and PIDs are for the
    person running the study, not for an audience)."""
    if status is None or ctx.read_only:
        return
    with st.expander("Log", expanded=status.state == "failed", icon=":material/article:"):
        st.caption("Log file: " + status.record.log)
        st.code(dash.run_log(status, lines=14) or "(nothing logged yet)", language=None)
