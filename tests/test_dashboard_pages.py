"""Every dashboard page through streamlit.testing.v1.AppTest: no exception, the key widgets,
read-only mode, inline messages for bad input, and a demo launched from Home that fills
every cell of the heatmaps."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from studies import dashboard as dash

sys.path.insert(0, str(Path(__file__).parent))
from _dashboard_support import (
    APP,
    TINY_GRID,
    TINY_TUNE,
    fake_run,
    kill_recorded_runs,
    plotly_array,
    texts,
    train_study,
    use_temp_storage,
)

PAGES = ("home", "run", "landscape", "curves", "schedules", "studies")
FRIENDLY = "Something went wrong"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A storage with a tiny grid study and a tiny tune study, trained in this process."""
    home = tmp_path_factory.mktemp("dashboard")
    with pytest.MonkeyPatch.context() as mp:
        url = use_temp_storage(mp, home)
        train_study(url, TINY_GRID, name="tiny-schedules", optimizers=["adamw"],
                    schedules=[{"name": "constant"}, {"name": "cosine"}])
        train_study(url, TINY_GRID)
        train_study(url, TINY_TUNE)
    return home


@pytest.fixture
def studies_env(populated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_temp_storage(monkeypatch, populated)
    return populated


@pytest.fixture
def empty_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_temp_storage(monkeypatch, tmp_path)
    return tmp_path


def open_page(page: str = "home", study: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if study:
        at.query_params["study"] = study
    at.run()
    if page != "home":
        at.switch_page(f"views/{page}.py").run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [t for t in texts(at.error) if FRIENDLY in t], texts(at.error)


def charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def heatmaps(at: AppTest) -> list[np.ndarray]:
    """The z matrices of the page's heatmaps (NaN: a cell without a value)."""
    return [plotly_array(d["z"]) for spec in charts(at) for d in spec["data"]
            if d.get("type") == "heatmap"]


def labels(widgets: Any) -> list[str]:
    return [w.label for w in widgets]


# --- every page ----------------------------------------------------------------------------


def test_home_calls_to_action_without_studies(empty_env: Path) -> None:
    at = open_page("home")
    assert "Run the demo" in labels(at.button)
    assert any("No studies yet" in t for t in texts(at.info))
    assert at.latex, "the update rules are shown"


@pytest.mark.parametrize("page", PAGES)
def test_pages_without_studies(empty_env: Path, page: str) -> None:
    at = open_page(page)
    assert at.title


def test_home_lists_recent_studies(studies_env: Path) -> None:
    at = open_page("home")
    markdown = " ".join(texts(at.markdown))
    assert "tiny" in markdown and "tiny-tune" in markdown


def test_run_page(studies_env: Path) -> None:
    at = open_page("run", study="tiny")
    assert "Start from preset" in labels(at.selectbox)
    assert "Launch" in labels(at.button)
    assert any("Ready: **demo**" in t for t in texts(at.success))
    assert at.get("progress"), "the study's progress bar"
    maps = heatmaps(at)
    assert len(maps) == 2 and all(np.isfinite(m).all() for m in maps)


def test_landscape_page(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny")
    assert at.title[0].value == "Landscape · tiny"
    maps = heatmaps(at)
    assert [m.shape for m in maps] == [(2, 3), (2, 3)] and all(np.isfinite(m).all() for m in maps)
    layers = [d for spec in charts(at) for d in spec["data"] if d.get("name") == "cells"]
    assert len(layers) == 2  # the click layer
    assert {"Metric", "Over seeds", "Weight-decay axis"} <= set(
        labels(at.selectbox) + labels(at.radio))
    (table,) = at.dataframe
    assert "Coupling slope" in table.value.columns
    assert any("Refine" in e.label for e in at.expander)
    at.radio(key="ls_convention").set_value("pytorch").run()
    assert_clean(at)
    assert "PyTorch" in json.dumps(charts(at)[0]["layout"])


def test_landscape_of_every_schedule(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny-schedules")
    assert at.selectbox(key="ls_schedule").value == dash.ALL_SCHEDULES
    names = [d["name"] for spec in charts(at) for d in spec["data"] if d["type"] == "heatmap"]
    assert names == ["AdamW · constant", "AdamW · cosine"]  # one row per schedule
    (table,) = at.dataframe
    assert list(table.value["Schedule"]) == ["constant", "cosine"]
    at.selectbox(key="ls_schedule").set_value("cosine").run()
    assert_clean(at)
    assert [d["name"] for spec in charts(at) for d in spec["data"]
            if d["type"] == "heatmap"] == ["AdamW"]


def test_landscape_of_a_tune_study(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny-tune")
    assert any("tune study" in t for t in texts(at.info))
    assert len(charts(at)) >= 3  # history, importances, contour, intermediate values
    assert "Add trials" in labels(at.button)


def test_curves_page(studies_env: Path) -> None:
    at = open_page("curves", study="tiny")
    cells = at.multiselect(key="cv_cells")
    assert len(cells.value) == 2  # each optimizer's best cell
    assert len(charts(at)) == 2  # curves and the study's schedules


def test_schedules_page(studies_env: Path) -> None:
    at = open_page("schedules")
    (fig,) = [spec for spec in charts(at)]
    assert [d["name"] for d in fig["data"]] == ["constant", "step", "cosine", "warm_restarts"]
    assert any("restarts at epochs 10, 30, 70" in t for t in texts(at.caption))
    (table,) = at.dataframe
    assert list(table.value["convention"]) == list(dash.WD_COLUMN.values())


def test_studies_page(studies_env: Path) -> None:
    at = open_page("studies", study="tiny")
    (table,) = at.dataframe
    assert set(table.value["Study"]) == {"tiny", "tiny-tune", "tiny-schedules"}
    assert len(at.get("download_button")) == 5
    assert any("Delete" in e.label for e in at.expander)
    at = open_page("studies", study="tiny-tune")
    assert at.tabs, "Optuna's views"


# --- bad input, bad storage, unexpected errors ---------------------------------------------


def test_bad_form_input_is_reported_at_the_field(studies_env: Path) -> None:
    at = open_page("run")
    at.text_input(key="form:lr.min").set_value("fast").run()
    assert_clean(at)
    errors = texts(at.error)
    assert any("lr.min: must be a number" in t for t in errors)
    assert "Launch" not in labels(at.button)
    at.text_input(key="form:lr.min").set_value("2^-11").run()
    at.number_input(key="form:epochs").set_value(0).run()
    assert any("epochs: must be an integer >= 1, got 0" in t for t in texts(at.error))
    at.number_input(key="form:epochs").set_value(3).run()
    at.text_input(key="form:name").set_value("tiny").run()  # taken, with another spec
    assert any("already exists with a different spec" in t for t in texts(at.error))
    assert "Launch" not in labels(at.button)


def test_yaml_editor_reports_its_line(studies_env: Path) -> None:
    at = open_page("run")
    at.radio(key="run_source").set_value("YAML").run()
    at.text_area(key="run_yaml").set_value("name: x\nepochs: [").run()
    assert_clean(at)
    assert any(t.startswith("yaml:") for t in texts(at.error))


def test_bad_refine_input_is_reported_in_place(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny")
    (lr_from,) = [w for w in at.text_input if w.label == "α from"]
    lr_from.set_value("soon")
    (submit,) = [b for b in at.button if b.label == "Add the finer grid"]
    submit.click().run()
    assert_clean(at)
    assert any(t.startswith("α from: must be a number") for t in texts(at.error))
    assert len(heatmaps(at)) == 2  # the rest of the page stays


def test_schedule_and_converter_inputs(studies_env: Path) -> None:
    at = open_page("schedules")
    at.text_input(key="sched:schedules[warm_restarts].t0").set_value("-1").run()
    assert any(t.startswith("t0:") for t in texts(at.error))
    at.text_input(key="wdc_value").set_value("lots").run()
    assert any(t.startswith("weight decay: must be a number") for t in texts(at.error))
    assert_clean(at)


@pytest.mark.parametrize("storage", ["corrupt", "nonsense://x", "sqlite:////no/such/dir/s.db"])
def test_a_bad_storage_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    storage: str) -> None:
    use_temp_storage(monkeypatch, tmp_path)
    if storage == "corrupt":
        (tmp_path / "bad.db").write_bytes(b"this is not a database" * 100)
        storage = f"sqlite:///{tmp_path / 'bad.db'}"
    monkeypatch.setenv("WDLAB_STORAGE", storage)
    for page in PAGES:
        at = open_page(page)
        if storage.startswith("sqlite:////no/"):
            continue  # a missing file is an empty storage
        assert any("storage" in t for t in texts(at.error)), (page, texts(at.error))


def test_an_unexpected_error_shows_a_friendly_message(studies_env: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(dash, "studies_table", broken)
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("views/studies.py").run()
    assert not at.exception
    assert any(FRIENDLY in t and "boom" in t for t in texts(at.error))


def test_url_carries_the_study(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny")
    assert at.sidebar.selectbox[0].value == "tiny"
    assert at.query_params["study"] == "tiny"
    at.sidebar.selectbox[0].set_value("tiny-tune").run()
    assert at.query_params["study"] == "tiny-tune"
    assert at.title[0].value == "Landscape · tiny-tune"
    at.switch_page("views/curves.py").run()
    assert at.title[0].value == "Curves · tiny-tune"  # the pick follows across pages


# --- read-only mode ------------------------------------------------------------------------


def test_read_only_hides_launch_cancel_delete(studies_env: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WDLAB_READ_ONLY", "1")
    home = open_page("home")
    assert "Run the demo" not in labels(home.button)
    assert any("read-only" in t for t in texts(home.info))
    run = open_page("run", study="tiny")
    assert "Launch" not in labels(run.button) and "Start from preset" not in labels(run.selectbox)
    assert not [w for w in run.text_input if w.key and w.key.startswith("form:")]
    land = open_page("landscape", study="tiny")
    assert not any("Refine" in e.label for e in land.expander)
    assert len(heatmaps(land)) == 2  # viewing still works
    tune = open_page("landscape", study="tiny-tune")
    assert "Add trials" not in labels(tune.button)
    studies = open_page("studies", study="tiny")
    assert not any("Delete" in e.label for e in studies.expander)
    assert len(studies.get("download_button")) == 5  # exporting still works


def test_cancel_a_running_process_from_the_run_page(studies_env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = dash.storage_url()
    proc = fake_run(studies_env, url, "tiny")
    try:
        monkeypatch.setenv("WDLAB_READ_ONLY", "1")
        at = open_page("run", study="tiny")
        assert any("running (PID" in t for t in texts(at.markdown))
        assert "Cancel" not in labels(at.button)  # read-only: not offered...
        with pytest.raises(dash.ReadOnlyError):
            dash.cancel_run(url, "tiny")  # ...and refused
        assert proc.poll() is None
        monkeypatch.delenv("WDLAB_READ_ONLY")
        at = open_page("run", study="tiny")
        at.button(key="cancel").click().run()
        assert_clean(at)
        assert proc.wait(timeout=20) == -15  # SIGTERM
        assert dash.run_status(url, "tiny").state == "cancelled"
        assert any("cancelled" in t for t in texts(at.markdown))
    finally:
        if proc.poll() is None:
            proc.kill()


# --- launching ------------------------------------------------------------------------------


@pytest.mark.slow
def test_launch_from_the_yaml_editor(empty_env: Path) -> None:
    import yaml

    try:
        at = open_page("run")
        at.radio(key="run_source").set_value("YAML").run()
        at.text_area(key="run_yaml").set_value(yaml.safe_dump({**TINY_GRID, "name": "mine"}))
        at.run()
        assert any("Ready: **mine**, 12 cells" in t for t in texts(at.success))
        at.button(key="launch").click().run()
        assert_clean(at)
        assert at.query_params["study"] == "mine"
        url = dash.storage_url()
        status = _wait_finished(at, url, "mine", timeout=300)
        assert status.state == "finished", dash.run_log(status)
        maps = heatmaps(at)
        assert [m.shape for m in maps] == [(2, 3), (2, 3)]
        assert all(np.isfinite(m).all() for m in maps)
        assert "study mine" in " ".join(texts(at.code))  # the log tail
    finally:
        kill_recorded_runs(empty_env)


def _wait_finished(at: AppTest, url: str, study: str, *, timeout: float) -> dash.RunStatus:
    """Rerun the page, as its timed fragment does in a browser, until the process ends."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = dash.run_status(url, study)
        assert status is not None
        if not status.alive:
            break
        time.sleep(3)
        at.run()
        assert_clean(at)
    at.run()
    assert_clean(at)
    return status


# --- the demo, launched from Home ----------------------------------------------------------


@pytest.mark.slow
def test_demo_from_home_fills_every_cell(empty_env: Path) -> None:
    try:
        at = open_page("home")
        at.button(key="run_demo").click().run()
        assert_clean(at)
        assert at.title[0].value == "Run a study" and at.query_params["study"] == "demo"
        status = _wait_finished(at, dash.storage_url(), "demo", timeout=900)
        assert status.state == "finished", dash.run_log(status)
        maps = heatmaps(at)
        assert [m.shape for m in maps] == [(8, 8), (8, 8)]
        assert all(np.isfinite(m).all() for m in maps), "every cell of the live view is filled"
        at.switch_page("views/landscape.py").run()
        assert_clean(at)
        maps = heatmaps(at)
        assert [m.shape for m in maps] == [(8, 8), (8, 8)]
        assert all(np.isfinite(m).all() for m in maps)
    finally:
        kill_recorded_runs(empty_env)
