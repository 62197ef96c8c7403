"""Every dashboard page through streamlit.testing.v1.AppTest: no exception, the key widgets,
read-only mode, inline messages for bad input, and a demo launched from Home that fills
every cell of the heatmaps."""

from __future__ import annotations

import json
import re
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


def _demo_shape() -> tuple[int, int]:
    from studies.spec import load_preset

    demo = load_preset("demo")
    first = demo.optimizers[0]
    return len(demo.lr_values(first)), len(demo.weight_decay_values(first))


DEMO_SHAPE = _demo_shape()  # one panel of the demo preset's landscape
PAGES = ("home", "run", "landscape", "curves", "schedules", "study_list")
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
    """The z matrices of the page's landscape heatmaps (NaN: a cell without a value); a
    difference map (its own diverging colour scale, no shared colour axis) is not one."""
    return [plotly_array(d["z"]) for spec in charts(at) for d in spec["data"]
            if d.get("type") == "heatmap" and d.get("coloraxis") == "coloraxis"]


def difference_maps(at: AppTest) -> list[dict[str, Any]]:
    return [d for spec in charts(at) for d in spec["data"]
            if d.get("type") == "heatmap" and d.get("zmid") == 0]


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


def test_landscape_shows_the_difference_map_and_sentences_from_the_study(
        studies_env: Path) -> None:
    at = open_page("landscape", study="tiny")
    (diff,) = difference_maps(at)
    assert diff["name"] == "AdamW − Adam"
    maps = heatmaps(at)  # Adam first, then AdamW (the paper's order)
    np.testing.assert_allclose(plotly_array(diff["z"]), maps[1] - maps[0])
    words = " ".join(m.value for m in at.markdown)
    assert "AdamW" in words and "Adam's" in words
    # One seed in this study: the page must say that no noise was measured, not judge it.
    assert "no noise was measured" in words and "beyond the seed noise" not in words
    at.selectbox(key="ls_aggregate").set_value("median").run()
    assert_clean(at)
    assert any("choose “mean”" in c.value for c in at.caption)


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
    _, equilibrium, _ = charts(at)  # curves, equilibrium telemetry, the schedules
    roles = {(d["name"].split()[0], d["meta"]["role"]) for d in equilibrium["data"]}
    assert {("Adam", "measured"), ("AdamW", "measured")} <= roles
    assert ("Adam", "predicted") not in roles  # Adam + L2: no equilibrium
    assert any("Adam + L2 has none" in t for t in texts(at.caption))


def test_schedules_page(studies_env: Path) -> None:
    at = open_page("schedules")
    (fig,) = [spec for spec in charts(at)]
    assert [d["name"] for d in fig["data"]] == ["constant", "step", "cosine", "warm_restarts"]
    assert any("restarts at epochs 10, 30, 70" in t for t in texts(at.caption))
    (table,) = at.dataframe
    assert list(table.value["convention"]) == list(dash.WD_COLUMN.values())


def test_studies_page(studies_env: Path) -> None:
    at = open_page("study_list", study="tiny")
    (table,) = at.dataframe
    assert set(table.value["Study"]) == {"tiny", "tiny-tune", "tiny-schedules"}
    assert len(at.get("download_button")) == 5
    assert any("Delete" in e.label for e in at.expander)
    at = open_page("study_list", study="tiny-tune")
    assert at.tabs, "Optuna's views"


# --- bad input, bad storage, unexpected errors ---------------------------------------------


def test_bad_form_input_is_reported_at_the_field(studies_env: Path) -> None:
    at = open_page("run")
    at.text_input(key="form:lr.min").set_value("fast").run()
    assert_clean(at)
    errors = texts(at.error)
    assert any("Smallest learning rate must be a number" in t for t in errors)
    assert "Launch" not in labels(at.button)
    at.text_input(key="form:lr.min").set_value("2^-11").run()
    at.number_input(key="form:epochs").set_value(0).run()
    assert any(t.startswith("Epochs must be an integer") and t.endswith("you gave 0.")
               for t in texts(at.error))
    at.number_input(key="form:epochs").set_value(3).run()
    at.text_input(key="form:name").set_value("tiny").run()  # taken, with another spec
    assert any("already exists with a different spec" in t for t in texts(at.error))
    assert "Launch" not in labels(at.button)


def test_yaml_editor_reports_its_line(studies_env: Path) -> None:
    at = open_page("run")
    at.radio(key="run_source").set_value("YAML").run()
    at.text_area(key="run_yaml").set_value("name: x\nepochs: [").run()
    assert_clean(at)
    assert any(t.startswith("YAML: ") for t in texts(at.error))


def test_bad_refine_input_is_reported_in_place(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny")
    (lr_from,) = [w for w in at.text_input if w.label == "α from"]
    lr_from.set_value("soon")
    (submit,) = [b for b in at.button if b.label == "Add the finer grid"]
    submit.click().run()
    assert_clean(at)
    assert any(t.startswith("α from must be a number") for t in texts(at.error))
    assert len(heatmaps(at)) == 2  # the rest of the page stays


def test_schedule_and_converter_inputs(studies_env: Path) -> None:
    at = open_page("schedules")
    at.text_input(key="sched:schedules[warm_restarts].t0").set_value("-1").run()
    assert any(t.startswith("T0 ") for t in texts(at.error))
    at.text_input(key="wdc_value").set_value("lots").run()
    assert any(t.startswith("Weight decay must be a number") for t in texts(at.error))
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
    at.switch_page("views/study_list.py").run()
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
    assert not [t for t in texts(home.info) if "demo cannot be launched" in t]  # no dead panel
    assert not home.sidebar.code, "no storage path for an audience"
    run = open_page("run", study="tiny")
    assert "Launch" not in labels(run.button) and "Start from preset" not in labels(run.selectbox)
    assert not [w for w in run.text_input if w.key and w.key.startswith("form:")]
    land = open_page("landscape", study="tiny")
    assert not any("Refine" in e.label for e in land.expander)
    assert len(heatmaps(land)) >= 2  # viewing still works
    tune = open_page("landscape", study="tiny-tune")
    assert "Add trials" not in labels(tune.button)
    studies = open_page("study_list", study="tiny")
    assert not any("Delete" in e.label for e in studies.expander)
    assert len(studies.get("download_button")) == 5  # exporting still works


def test_read_only_home_offers_the_demo_results(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url = use_temp_storage(monkeypatch, tmp_path)
    from studies.runner import create_study
    from studies.spec import load_preset

    create_study(load_preset("demo"), storage=url)
    monkeypatch.setenv("WDLAB_READ_ONLY", "1")
    home = open_page("home")
    links = home.get("page_link")
    assert any(link.proto.label == "Open the demo results"
               and "study=demo" in link.proto.query_string for link in links)


def test_read_only_shows_no_pid_or_log(studies_env: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = dash.storage_url()
    proc = fake_run(studies_env, url, "tiny")
    try:
        monkeypatch.setenv("WDLAB_READ_ONLY", "1")
        at = open_page("run", study="tiny")
        shown = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.code))
        assert "running (started" in shown
        assert "PID" not in shown and "fake.log" not in shown and str(studies_env) not in shown
        assert not [e for e in at.expander if e.label == "Log"]
    finally:
        proc.kill()


def _busy_study(home: Path, url: str, *, training: int, epoch: int) -> None:
    """Study "busy" (TINY_GRID): ``training`` cells claimed and at ``epoch`` of 2, as a
    worker in the middle of a population leaves them; nothing trains."""
    from optuna.trial import TrialState

    from studies.runner import create_study
    from studies.spec import spec_from_dict
    from studies.storage import read_trials, require_study

    create_study(spec_from_dict({**TINY_GRID, "name": "busy"}), storage=url)
    storage, study_id = require_study(url, "busy", read_only=False)
    for r in read_trials(storage, study_id)[:training]:
        storage.set_trial_state_values(r.trial_id, state=TrialState.RUNNING)
        for e in range(1, epoch + 1):
            storage.set_trial_intermediate_value(r.trial_id, e, 0.5)


def test_cancel_says_what_it_discards_then_cancels(empty_env: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = dash.storage_url()
    _busy_study(empty_env, url, training=4, epoch=1)
    proc = fake_run(empty_env, url, "busy")
    try:
        monkeypatch.setenv("WDLAB_READ_ONLY", "1")
        at = open_page("run", study="busy")
        assert "Cancel…" not in labels(at.button)  # read-only: not offered...
        with pytest.raises(dash.ReadOnlyError):
            dash.cancel_run(url, "busy")  # ...and refused
        assert proc.poll() is None
        monkeypatch.delenv("WDLAB_READ_ONLY")
        at = open_page("run", study="busy")
        assert any("running (PID" in t for t in texts(at.markdown))
        at.button(key="cancel").click().run()
        assert_clean(at)
        assert proc.poll() is None, "nothing is cancelled before the user confirms"
        (warning,) = [t for t in texts(at.warning) if "Cancelling now" in t]
        assert "keeps the 0 finished cells" in warning
        assert "discards the 4 cells in training: 1 of 2 epochs each" in warning
        assert "from epoch 1" in warning
        at.button(key="cancel_keep").click().run()
        assert proc.poll() is None and not [t for t in texts(at.warning) if "Cancelling" in t]
        at.button(key="cancel").click().run()
        at.button(key="cancel_confirm").click().run()
        assert_clean(at)
        assert proc.wait(timeout=20) == -15  # SIGTERM
        assert dash.run_status(url, "busy").state == "cancelled"
        assert any("cancelled: 0 finished cells kept; cells that were in training restart "
                   "from epoch 1" in t for t in texts(at.markdown))
    finally:
        if proc.poll() is None:
            proc.kill()


# --- the study in the URL ------------------------------------------------------------------


def test_an_unknown_study_in_the_url_is_said(studies_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["study"] = "nope"
    at.run()
    assert_clean(at)
    (warning,) = [t for t in texts(at.warning) if "no study named **nope**" in t]
    assert f"showing **{at.sidebar.selectbox[0].value}** instead" in warning
    assert at.query_params["study"] == at.sidebar.selectbox[0].value  # the URL says so too


def test_deleting_the_last_study_clears_the_url(empty_env: Path) -> None:
    from studies.runner import create_study
    from studies.spec import spec_from_dict

    create_study(spec_from_dict({**TINY_GRID, "name": "gone"}), storage=dash.storage_url())
    at = open_page("study_list", study="gone")
    at.text_input(key="delete_confirm").set_value("gone").run()
    at.button(key="delete").click().run()
    assert_clean(at)
    assert dash.existing_spec(dash.storage_url(), "gone") is None
    assert "study" not in at.query_params


# --- the Run page ---------------------------------------------------------------------------


def test_run_page_opens_on_the_form_when_nothing_runs(studies_env: Path) -> None:
    at = open_page("run", study="tiny")
    assert "Launch a new study" not in [e.label for e in at.expander]  # the form, unfolded
    assert "The picked study, tiny" in [e.label for e in at.expander]


def test_form_and_yaml_carry_every_field(studies_env: Path) -> None:
    import yaml

    at = open_page("run")
    at.text_input(key="form:name").set_value("roundtrip").run()
    at.number_input(key="form:epochs").set_value(7).run()
    at.multiselect(key="form:optimizers").set_value(["sgd", "sgdw"]).run()
    before = {k: at.session_state[k] for k in at.session_state
              if isinstance(k, str) and k.startswith("form:")}
    at.radio(key="run_source").set_value("YAML").run()
    assert_clean(at)
    data = yaml.safe_load(at.text_area(key="run_yaml").value)
    assert data["name"] == "roundtrip" and data["epochs"] == 7
    assert data["optimizers"] == ["sgd", "sgdw"]
    at.radio(key="run_source").set_value("Form").run()  # unchanged: every field as it was
    after = {k: at.session_state[k] for k in at.session_state
             if isinstance(k, str) and k.startswith("form:")}
    assert after == before
    at.radio(key="run_source").set_value("YAML").run()
    edited = at.text_area(key="run_yaml").value.replace("epochs: 7", "epochs: 9")
    at.text_area(key="run_yaml").set_value(edited).run()
    at.radio(key="run_source").set_value("Form").run()
    assert_clean(at)
    assert at.number_input(key="form:epochs").value == 9
    assert at.text_input(key="form:name").value == "roundtrip"
    assert at.multiselect(key="form:optimizers").value == ["sgd", "sgdw"]
    assert any("Ready: **roundtrip**" in t for t in texts(at.success))


def test_a_broken_yaml_keeps_the_yaml_view(studies_env: Path) -> None:
    at = open_page("run")
    at.radio(key="run_source").set_value("YAML").run()
    at.text_area(key="run_yaml").set_value("name: x\nepochs: [").run()
    at.radio(key="run_source").set_value("Form").run()
    assert_clean(at)
    assert at.radio(key="run_source").value == "YAML"
    assert any("Fix the YAML before switching" in t for t in texts(at.warning))


def test_the_description_follows_the_optimizers(studies_env: Path) -> None:
    from studies.spec import load_preset

    preset = load_preset("demo")
    at = open_page("run")
    assert at.text_area(key="form:description").value == preset.description
    at.multiselect(key="form:optimizers").set_value(["sgd", "sgdw"]).run()
    text = at.text_area(key="form:description").value
    assert "SGDW" in text and "Adam" not in text
    at.multiselect(key="form:optimizers").set_value(["adam", "adamw"]).run()
    assert at.text_area(key="form:description").value == preset.description
    at.text_area(key="form:description").set_value("My own words.").run()
    at.multiselect(key="form:optimizers").set_value(["adamw"]).run()
    assert at.text_area(key="form:description").value == "My own words."


def test_the_form_refuses_more_training_images_than_the_data_has(studies_env: Path) -> None:
    at = open_page("run")
    at.number_input(key="form:data.train_size").set_value(5000).run()
    assert_clean(at)
    assert any(re.match(r"Training images must be at most \d+ for \w+", t)
               for t in texts(at.error)), texts(at.error)
    assert "Launch" not in labels(at.button)


@pytest.mark.slow
def test_a_failed_launch_stays_on_its_study_and_says_why(studies_env: Path) -> None:
    """A spec the form accepts but the process refuses (a device this machine lacks: Apple
    MPS never exists on Linux) must keep the page on its own study, with the error."""
    import yaml

    try:
        at = open_page("run", study="tiny")
        at.radio(key="run_source").set_value("YAML").run()
        spec = {**TINY_GRID, "name": "broken", "device": "mps"}
        at.text_area(key="run_yaml").set_value(yaml.safe_dump(spec)).run()
        at.button(key="launch").click().run()
        assert_clean(at)
        url = dash.storage_url()
        status = _wait_finished(at, url, "broken", timeout=120)
        assert status.state == "failed"
        for _ in range(2):  # the page as it stays, and as a reload finds it
            assert at.query_params["study"] == "broken"
            assert at.sidebar.selectbox[0].value == "broken"
            assert at.title[0].value == "Run a study"
            failed = [t for t in texts(at.error) if "The process for **broken** failed" in t]
            assert failed and "MPS" in failed[0], texts(at.error)
            at.run()
    finally:
        kill_recorded_runs(studies_env)


# --- Landscape: best cells, refining, removing ---------------------------------------------


def test_best_cells_circled_scale_with_the_grid(studies_env: Path) -> None:
    at = open_page("landscape", study="tiny")  # 2 × 3 cells per panel
    (best,) = [w for w in at.number_input if w.label == "Best cells circled"]
    assert best.value == 1


def test_cells_added_by_refine_can_be_removed(empty_env: Path) -> None:
    from studies.runner import extend_study, refine_cells
    from studies.spec import spec_from_dict

    url = dash.storage_url()
    name = train_study(url, TINY_GRID)
    spec = spec_from_dict(TINY_GRID)
    cells = refine_cells(spec, lr_range=(0.002, 0.004), wd_range=(0.002, 0.004), count=2,
                         optimizers=["adamw"])
    assert extend_study(storage=url, study_name=name, cells=cells) == 4
    assert dash.study_progress(url, name).total == 16
    at = open_page("landscape", study=name)
    at.button(key="remove_waiting").click().run()
    assert_clean(at)
    assert any("Removed 4 added cells" in t for t in texts(at.success))
    assert dash.added_cells(url, name).total == 0
    progress = dash.study_progress(url, name)
    assert progress.total == 12 and progress.finished


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
        # Watched finishing here: its heatmaps stay on top, not folded under the form.
        assert "The picked study, mine" not in [e.label for e in at.expander]
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
        assert [m.shape for m in maps[:2]] == [DEMO_SHAPE, DEMO_SHAPE]
        assert all(np.isfinite(m).all() for m in maps), "every cell of the live view is filled"
        at.switch_page("views/landscape.py").run()
        assert_clean(at)
        maps = heatmaps(at)
        assert [m.shape for m in maps[:2]] == [DEMO_SHAPE, DEMO_SHAPE]
        assert all(np.isfinite(m).all() for m in maps)
    finally:
        kill_recorded_runs(empty_env)
