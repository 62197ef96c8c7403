"""Streamlit pieces shared by the pages: the context and sidebar (storage, study picker, the
study in the URL), the error boundary, and cached reads of a study, refreshed when its trials
change. The logic they call lives in :mod:`studies.dashboard`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.logger import get_logger

from studies import dashboard as dash
from studies import storage
from studies.analysis import summary as analysis_summary
from studies.export import curves_frame, trials_frame
from studies.spec import SpecError

log = get_logger(__name__)

HOME = "views/home.py"
RUN = "views/run.py"
LANDSCAPE = "views/landscape.py"
CURVES = "views/curves.py"
SCHEDULES = "views/schedules.py"
STUDIES = "views/study_list.py"

LIVE_EVERY_S = 1.5  # how often a live view polls the storage
_CTX = "_wdlab_context"
_QP_WRITTEN = "_wdlab_qp_study"
PICKER = "study_picker"
_FLASH = "_wdlab_flash"
_LAUNCHED = "_wdlab_launched"  # studies launched from this session


@dataclass(frozen=True)
class Context:
    """What every page needs to know, decided once per run by the sidebar."""

    url: str  # storage URL (may hold a password: never show it, show ``shown``)
    shown: str  # the URL, redacted
    read_only: bool
    names: tuple[str, ...]  # studies in the storage, plus ones the dashboard is starting
    study: str | None  # the study picked in the sidebar (and in the URL)
    error: str | None  # why the storage cannot be read, if it cannot


def _storage_names(url: str) -> tuple[list[str], str | None]:
    try:
        return storage.study_names(url), None
    except storage.StorageError as error:
        return [], str(error)
    except Exception as error:  # a corrupt file, a database that refuses: say so, plainly
        log.warning("cannot list studies in the storage: %s", error, exc_info=True)
        return [], f"storage: cannot read {storage.redact(url)}: {_line(error)}"


def _line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def sidebar() -> Context:
    """Draw the shared sidebar (storage, study picker, mode) and remember the context."""
    st.session_state.pop(_CTX, None)
    url, read_only = dash.storage_url(), dash.is_read_only()
    shown = storage.redact(url)
    names, error = _storage_names(url)
    with contextlib.suppress(OSError):
        names = names + [s for s in dash.active_runs(url) if s not in names]  # starting
    all_names = tuple(names + _failed_launches(url, names))
    _pick_study(all_names)
    with st.sidebar:
        st.markdown("**Study**")
        if all_names:
            st.selectbox("Study", all_names, key=PICKER, label_visibility="collapsed",
                         help="The study every page shows; it is also in the page's URL.")
        else:
            st.caption("No studies yet.")
        if not read_only:  # a stakeholder needs no storage path
            st.markdown("**Storage**")
            st.code(shown, language=None, wrap_lines=True)
        if error:
            st.error(error)
        if read_only:
            st.info("Read-only mode: launching, cancelling and deleting are off.",
                    icon=":material/lock:")
    ctx = Context(url=url, shown=shown, read_only=read_only, names=all_names,
                  study=st.session_state.get(PICKER) if all_names else None, error=error)
    if ctx.study:
        st.query_params["study"] = st.session_state[_QP_WRITTEN] = ctx.study
    elif "study" in st.query_params:  # e.g. the study just deleted was the last one
        del st.query_params["study"]
    st.session_state[_CTX] = ctx
    return ctx


def remember_launch(study: str) -> None:
    """Keep ``study`` in the picker even if its process fails before creating it, so the
    Run page can show why (instead of switching to another study)."""
    st.session_state.setdefault(_LAUNCHED, {})[study] = None  # an ordered set


def _failed_launches(url: str, known: list[str]) -> list[str]:
    """Studies launched from this session (or named in the URL) whose process ended before
    creating them: they stay pickable, with their error, on the Run page."""
    launched = [*st.session_state.get(_LAUNCHED, {}), st.query_params.get("study")]
    statuses = {name: dash.run_status(url, name) for name in launched if name and name not in known}
    # Starting (its process has not created the study yet) or failed: a finished run of a
    # study that is gone now (deleted elsewhere) is no launch to show.
    return [name for name, s in statuses.items() if s and s.state in ("running", "failed")]


def _pick_study(names: tuple[str, ...]) -> None:
    """Set the picker from the URL when the URL changed (a shared link, a page switch), else
    keep the session's choice; default to the newest study. A study in the URL that is not
    in the storage is said so, never silently replaced."""
    wanted = st.query_params.get("study")
    changed = wanted and wanted != st.session_state.get(_QP_WRITTEN)
    if changed and wanted not in names:
        shown = f"; showing **{names[-1]}** instead" if names else ""
        st.warning(f"There is no study named **{wanted}** in this storage{shown}.",
                   icon=":material/help:")
    if changed and wanted in names:
        st.session_state[PICKER] = wanted
    elif names and st.session_state.get(PICKER) not in names:
        st.session_state[PICKER] = wanted if wanted in names else names[-1]


def context() -> Context:
    """The context the sidebar decided in this run (decided here for a page run alone)."""
    return st.session_state.get(_CTX) or sidebar()


def go(page: str, study: str | None = None) -> None:
    """Switch to ``page``, keeping the study in the URL."""
    st.switch_page(page, query_params={"study": study} if study else None)


def page_link(page: str, label: str, study: str | None, icon: str | None = None) -> None:
    st.page_link(page, label=label, icon=icon, query_params={"study": study} if study else None)


@functools.cache
def warm_up() -> None:
    """Import the heavy modules (torch for the schedules, the figures, the analysis) once per
    server in a background thread, so the first visit of Landscape, Curves or Schedules does
    not wait for them. A page that needs one meanwhile waits on Python's import lock, never
    imports it twice."""
    def load() -> None:
        for name in ("studies.plots", "studies.export", "core.schedules", "studies.runner"):
            try:
                importlib.import_module(name)
            except Exception:  # the page that needs it will say what is wrong
                log.debug("warm-up import of %s failed", name, exc_info=True)

    threading.Thread(target=load, name="wdlab-warm-up", daemon=True).start()


def guard(render: Callable[..., None], *args: Any) -> None:
    """Run a page (or a fragment) so that no exception ever reaches the browser as a
    traceback: known problems become one clear message, anything else a friendly note, with
    the traceback in the server log. Streamlit's own control flow (rerun, stop, switch_page)
    is a BaseException and passes through."""
    for message in st.session_state.pop(_FLASH, []):
        st.success(message, icon=":material/check_circle:")
    try:
        with inline_errors(icon=None):
            render(*args)
    except Exception as error:
        from sqlalchemy.exc import DBAPIError  # comes with optuna

        log.exception("page %s failed", getattr(render, "__qualname__", render))
        if isinstance(error, DBAPIError):
            st.error(f"The storage cannot be read ({context().shown}): {_line(error)}. "
                     "Is it an Optuna database, and reachable?")
        else:
            st.error(f"Something went wrong on this page ({type(error).__name__}: "
                     f"{_line(error)}). The details are in the dashboard's log; the rest of the "
                     "dashboard still works, and running studies are not affected.",
                     icon=":material/warning:")


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """:func:`guard` as a decorator (for fragments)."""
    return functools.wraps(fn)(lambda *args: guard(fn, *args))


@contextlib.contextmanager
def inline_errors(icon: str | None = ":material/error:") -> Iterator[None]:
    """Show an action's refusal (read-only, bad input, a study that is busy) where the action
    was asked for, instead of in place of the whole page."""
    try:
        yield
    except dash.ReadOnlyError as error:
        st.warning(str(error), icon=":material/lock:")
    except (SpecError, storage.StorageError, dash.RunError) as error:
        st.error(say(error), icon=icon)


def say(error: BaseException | str) -> str:
    """An error as a sentence (the field by its label, ≥ for >=): what a page shows."""
    return dash.forms.sentence(error if isinstance(error, SpecError) else str(error))


def flash(message: str, page: str | None = None) -> None:
    """Show ``message`` at the top of the next run: rerun this page, or switch to ``page``."""
    st.session_state.setdefault(_FLASH, []).append(message)
    if page:
        go(page)
    else:
        st.rerun()


@st.cache_data(max_entries=16, show_spinner=False)
def trials(url: str, study: str, sig: tuple[object, ...]) -> pd.DataFrame:
    """The study's trials table; ``sig`` (:func:`studies.dashboard.signature`) is the cache
    key that changes when the study does."""
    return trials_frame(url, study)


@st.cache_data(max_entries=8, show_spinner=False)
def curves(url: str, study: str, sig: tuple[object, ...]) -> pd.DataFrame:
    return curves_frame(url, study)


@st.cache_data(max_entries=4, show_spinner=False)
def tune_figures(url: str, study: str, sig: tuple[object, ...]) -> dict[str, Any]:
    """Optuna's views of a tune study, cached: they load every trial and fit importances."""
    return dash.tune_figures(url, study)


@st.cache_data(max_entries=32, show_spinner=False)
def landscapes(url: str, study: str, sig: tuple[object, ...], metric: str, convention: str,
               aggregate: str, schedule: str | None) -> dict[str, Any]:
    frame = trials(url, study, sig)
    if schedule == dash.ALL_SCHEDULES:
        return dash.landscapes_by_schedule(frame, metric=metric, convention=convention,
                                           aggregate=aggregate)
    return dash.landscapes(frame, metric=metric, convention=convention, aggregate=aggregate,
                           schedule=schedule)


@st.cache_data(max_entries=32, show_spinner=False)
def summary(url: str, study: str, sig: tuple[object, ...], metric: str, aggregate: str
            ) -> pd.DataFrame:
    frame = trials(url, study, sig)
    frame = frame[frame["optimizer"].notna()]
    if frame.empty:
        return pd.DataFrame()
    return analysis_summary(frame, metric=metric, aggregate=aggregate)


@st.cache_data(ttl=2.0, max_entries=4, show_spinner=False)
def study_infos(url: str) -> list[Any]:
    return storage.list_studies(url)


@st.cache_data(max_entries=16, show_spinner=False)
def stored_spec(url: str, study: str) -> Any:
    try:
        return storage.load_spec(url, study)
    except storage.StorageError:
        return None


def live_view(ctx: Context, study: str) -> Any:
    """:func:`studies.dashboard.live_view` (signature, progress, latest validation errors in
    one read), None when the study is not in the storage (yet)."""
    with contextlib.suppress(storage.StudyNotFoundError):
        return dash.live_view(ctx.url, study)
    return None


def study_signature(ctx: Context, study: str) -> tuple[object, ...] | None:
    """The cache key of ``study``, None when it is not in the storage (yet)."""
    with contextlib.suppress(storage.StudyNotFoundError):
        return dash.signature(ctx.url, study)
    return None


def progress(ctx: Context, study: str) -> Any:
    """The study's progress, None when it is not in the storage (yet)."""
    with contextlib.suppress(storage.StudyNotFoundError):
        return dash.study_progress(ctx.url, study)
    return None


def is_live(ctx: Context, study: str) -> bool:
    """Whether the study is changing: trials running, or a process of this dashboard about
    to run them (a worker still starting)."""
    with contextlib.suppress(storage.StudyNotFoundError):
        if dash.running_count(ctx.url, study):
            return True
    return (status := dash.run_status(ctx.url, study)) is not None and status.alive


def open_study(ctx: Context, page: str, what: str) -> tuple[str, tuple[object, ...]] | None:
    """Title the page, then (study, cache key) of the picked study once it is in the storage;
    None, with a call to action shown, when no study is picked or it is starting."""
    st.title(f"{page} · {ctx.study}" if ctx.study else page)
    if ctx.error:
        st.error(ctx.error)
    elif not ctx.study:
        st.info(f"No study to show {what} for yet. Run the demo from the Home page, or "
                "launch a study on the Run page.", icon=":material/info:")
        page_link(HOME, "Home: run the demo", None, icon=":material/home:")
    elif (sig := study_signature(ctx, ctx.study)) is None:
        st.info(f"Study **{ctx.study}** is starting: its process is loading data and creating "
                "it in the storage. This page fills in as soon as it exists.",
                icon=":material/hourglass_top:")
        page_link(RUN, "Watch it on the Run page", ctx.study, icon=":material/play_arrow:")
    else:
        return ctx.study, sig
    return None


def plotly(fig: Any, *, key: str | None = None, **kwargs: Any) -> Any:
    """A Plotly figure, or the caption that says why there is none (a string in its place)."""
    if isinstance(fig, str):
        return st.caption(fig)
    config = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
    return st.plotly_chart(fig, key=key, config=config, theme=None, **kwargs)


def ago(t: float) -> str:
    s = max(0, round(time.time() - t))
    return f"{s} s ago" if s < 120 else f"{s // 60} min ago"
