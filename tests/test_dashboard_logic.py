"""studies.dashboard without Streamlit: options, the form model, processes and their registry,
progress, figures, tables, the report, schedules and the converter."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import sys
import time
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studies import dashboard as dash
from studies.analysis import TRIAL_COLUMNS
from studies.dashboard import forms
from studies.dashboard._runs import RunRecord, storage_key
from studies.plots import landscape_figure
from studies.spec import SpecError, list_presets, load_preset, spec_from_dict

sys.path.insert(0, str(Path(__file__).parent))
from _dashboard_support import TINY_GRID, TINY_TUNE, train_study, use_temp_storage

# --- options and read-only policy ------------------------------------------------------------


def test_options_from_arguments_and_environment() -> None:
    assert dash.options(["--read-only"], {}).read_only
    assert dash.options([], {"WDLAB_READ_ONLY": "1"}).read_only
    assert dash.options([], {"WDLAB_READ_ONLY": "TRUE"}).read_only
    assert not dash.options([], {"WDLAB_READ_ONLY": "0"}).read_only
    assert not dash.options(["-k", "x"], {}).read_only  # a test runner's own arguments
    assert dash.options(["--storage", "sqlite:///a.db"], {}).storage == "sqlite:///a.db"
    assert dash.options(["--storage=sqlite:///b.db"], {}).storage == "sqlite:///b.db"


def test_read_only_refuses_every_action_server_side(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    url = use_temp_storage(monkeypatch, tmp_path)
    monkeypatch.setenv("WDLAB_READ_ONLY", "1")
    spec = load_preset("demo")
    cell = dash.best_spec_cells({}, 1, convention="paper")
    actions = [
        lambda: dash.launch(spec, storage=url),
        lambda: dash.run_demo(url),
        lambda: dash.launch_worker(storage=url, study="demo"),
        lambda: dash.ensure_worker(url, "demo"),
        lambda: dash.cancel_run(url, "demo"),
        lambda: dash.delete(url, "demo"),
        lambda: dash.refine_region(url, "demo", lr_range=(1e-3, 1e-2),
                                   wd_range=(1e-4, 1e-3), count=2),
        lambda: dash.more_seeds(url, "demo", cells=cell, n_seeds=1, trials=pd.DataFrame()),
        lambda: dash.add_tune_trials(url, "demo", 3),
    ]
    for action in actions:
        with pytest.raises(dash.ReadOnlyError, match="read-only"):
            action()
    assert not (tmp_path / "dashboard" / "runs.json").exists()  # nothing was started


# --- the form model ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_round_trips_through_the_form(preset: str) -> None:
    spec = load_preset(preset)
    assembled = forms.assemble(forms.values_from_spec(spec))
    assert assembled.errors == ()
    assert spec_from_dict(assembled.data) == spec


def test_form_is_generated_from_the_spec_fields() -> None:
    grid = forms.items(forms.layout(forms.values_from_spec(load_preset("fig2"))))
    keys = {i.key for i in grid}
    assert {"name", "data.dataset", "lr.min", "weight_decay.convention", "epochs",
            "schedules[0].eta_min", "momentum", "betas", "eps"} <= keys
    assert not any(k.startswith("tune.") for k in keys)  # mode grid: no tuning fields
    assert all(i.help for i in grid)
    tune = {i.key for i in forms.items(forms.layout(forms.values_from_spec(
        load_preset("tune"))))}
    assert {"tune.n_trials", "tune.lr.min", "tune.weight_decay.max"} <= tune
    assert "lr.min" not in tune and "weight_decay.min" not in tune
    assert "momentum" not in tune  # applies only with sgd or sgdw


def test_bad_form_input_names_the_field() -> None:
    values = forms.values_from_spec(load_preset("demo"))
    bad = forms.assemble({**values, "lr.min": "fast"})
    assert [e.path for e in bad.errors] == ["lr.min"]
    assert "must be a number" in str(bad.errors[0])
    bad = forms.assemble({**values, "seeds": "0, x"})
    assert [e.path for e in bad.errors] == ["seeds[1]"]
    with pytest.raises(SpecError) as info:
        spec_from_dict(forms.assemble({**values, "epochs": 0}).data)
    assert info.value.path == "epochs"
    assert forms.nearest_key("epochs", {"epochs", "name"}) == "epochs"
    assert forms.nearest_key("lr.count", {"lr"}) == "lr"
    assert forms.nearest_key("overrides[0].lr", {"overrides", "lr"}) == "overrides"
    warm = forms.renumber({**values, "schedules.@names": ["constant", "warm_restarts"]})
    with pytest.raises(SpecError) as info:
        spec_from_dict(forms.assemble(warm).data)
    assert info.value.path == "schedules[1].t0"  # the error's path is the widget's key
    assert info.value.path in {i.key for i in forms.items(forms.layout(warm))}


def test_schedules_keep_their_fields_when_re_picked() -> None:
    values = forms.values_from_spec(load_preset("fig1-schedules"))
    assert values["schedules.@names"] == ["constant", "step", "cosine"]
    edited = {**values, "schedules[2].eta_min": "0.01"}
    moved = forms.renumber({**edited, "schedules.@names": ["cosine", "warm_restarts"]})
    assert moved["schedules[0].name"] == "cosine" and moved["schedules[0].eta_min"] == "0.01"
    assert not any(k.startswith("schedules[2]") for k in moved)  # step left with its fields
    data = forms.assemble({**moved, "schedules[1].t0": "5"}).data
    assert data["schedules"][0] == {"name": "cosine", "eta_min": 0.01, "warmup_epochs": 0.0}
    assert data["schedules"][1]["name"] == "warm_restarts" and data["schedules"][1]["t0"] == 5
    assert forms.renumber(moved) == moved  # nothing to move once the keys follow the names


def test_numbers_in_text_boxes() -> None:
    assert forms.parse_float("2^-10", "x") == 2.0**-10
    assert forms.parse_float(" 1e-3 ", "x") == 1e-3
    assert forms.parse_float("", "x") is None
    assert forms.parse_list("0.1, 2**-3; 1", "x", item="float") == [0.1, 0.125, 1.0]
    with pytest.raises(SpecError, match="x: must be a finite number"):
        forms.parse_float("inf", "x")


def test_schedule_fields_for_the_schedules_page() -> None:
    items = {i.key for i in forms.schedule_items("warm_restarts")}
    assert items == {"schedules[warm_restarts].eta_min", "schedules[warm_restarts].t0",
                     "schedules[warm_restarts].t_mult",
                     "schedules[warm_restarts].warmup_epochs"}
    params, errors = forms.schedule_params("warm_restarts",
                                           {"schedules[warm_restarts].t0": "ten"})
    assert [e.path for e in errors] == ["t0"]
    params, errors = forms.schedule_params("step", {})
    assert errors == [] and params["milestones"] == [30, 60, 80]


# --- schedules and the converter -----------------------------------------------------------


def test_eta_series_keeps_every_restart_peak() -> None:
    spec = dash.schedule_spec("warm_restarts", {"t0": 10.0, "t_mult": 2.0})
    x, y = dash.eta_series(spec, epochs=1000, steps_per_epoch=400)  # 400k steps, thinned
    assert len(x) < 10_000
    assert dash.restart_epochs(spec, 1000) == [10.0, 30.0, 70.0, 150.0, 310.0, 630.0]
    for restart in (30.0, 310.0):
        k = int(np.searchsorted(x, restart))
        assert y[k] == pytest.approx(1.0) and y[k - 1] < 0.01  # the drop right before it
    with pytest.raises(SpecError, match="t0"):
        dash.schedule_spec("warm_restarts", {"t0": -1.0})


def test_converter_matches_the_paper() -> None:
    out = dash.convert(0.05, convention="pytorch", lr=0.001, batch_size=128,
                       train_size=50_000, epochs=100)
    assert out.paper == pytest.approx(5e-5)
    f = math.sqrt(128 / (50_000 * 100))
    assert out.factor == pytest.approx(f)
    assert out.normalized == pytest.approx(5e-5 / f)
    assert out.timescale_steps == pytest.approx(1 / 5e-5)
    back = dash.convert(out.normalized, convention="normalized", lr=0.001, batch_size=128,
                        train_size=50_000, epochs=100)
    assert back.pytorch == pytest.approx(0.05)
    with pytest.raises(SpecError, match="learning rate"):
        dash.convert(0.1, convention="paper", lr=0.0, batch_size=1, train_size=1, epochs=1)


# --- figures and tables --------------------------------------------------------------------


def _trials(optimizer: str, first: int, *, diverge: bool = False) -> pd.DataFrame:
    rows = []
    for n, (a, w) in enumerate((a, w) for a in range(-10, -6) for w in range(-12, -7)):
        lr, lam = 2.0**a, 2.0**w
        err = 0.05 + 0.01 * (a + 8) ** 2 + 0.005 * (w + 10) ** 2
        diverged = diverge and a == -7
        rows.append({
            "study": "s", "trial": first + n, "state": "COMPLETE", "optimizer": optimizer,
            "schedule": "cosine", "lr": lr, "seed": 0, "weight_decay": lam,
            "wd_convention": "paper", "wd_paper": lam, "wd_pytorch": lam / lr,
            "wd_normalized": lam / 0.01, "diverged": diverged,
            "diverged_epoch": 3.0 if diverged else math.nan,
            "final_test_error": math.nan if diverged else err, "best_test_error": err,
            "final_val_error": err, "best_val_error": err, "final_train_loss": err,
            "final_weight_norm": 1.0, "duration_s": 1.0, "epochs_done": 5,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def test_click_layer_identifies_every_cell() -> None:
    trials = pd.concat([_trials("adam", 0), _trials("adamw", 100, diverge=True)])
    lands = dash.landscapes(trials)
    assert list(lands) == ["adam", "adamw"]
    fig = dash.add_click_layer(landscape_figure(lands), lands)
    layers = [t for t in fig.data if isinstance(t.meta, dict)
              and t.meta.get("role") == dash.CELLS_ROLE]
    assert len(layers) == 2 and all(len(t.x) == 20 for t in layers)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert all(t.hoverinfo == "skip" for t in heat)
    assert "±" not in layers[0].hovertemplate  # one seed per cell: no spread shown
    row = list(layers[1].customdata[7])
    as_sent = {"customdata": {str(k): v for k, v in enumerate(row)}}  # a typed-array row
    (cell,) = dash.picked_cells([{"customdata": row}, {"x": 1}], list(lands))
    assert dash.picked_cells([as_sent], list(lands)) == [cell]
    assert cell.optimizer == "adamw"
    assert dash.cell_trials(lands, cell) == tuple(lands["adamw"].trials[cell.row, cell.col])
    two = dash.picked_cells([{"customdata": list(layers[0].customdata[k])} for k in (0, 19)],
                            list(lands))
    (lr_lo, lr_hi), (wd_lo, wd_hi) = dash.selection_region(lands, two)
    assert (lr_lo, lr_hi, wd_lo, wd_hi) == (2.0**-10, 2.0**-7, 2.0**-12, 2.0**-8)
    (a, b), (c, d) = dash.default_region(lands)
    assert a < b and c < d
    cells = dash.best_spec_cells(lands, 2, convention="paper")
    assert len(cells) == 4 and {c.optimizer for c in cells} == {"adam", "adamw"}


def test_cell_choices_put_the_best_first() -> None:
    trials = pd.concat([_trials("adamw", 100), _trials("adam", 0)])
    labels = list(dash.cell_choices(trials))
    assert labels[0] == "Adam · α=0.00391 · λ=0.000977"  # the best cell first
    assert len(labels) == 40


def test_tables_name_their_conventions() -> None:
    from studies.analysis import summary

    frame = summary(pd.concat([_trials("adam", 0), _trials("adamw", 100)]))
    table = dash.summary_table(frame, convention="pytorch", metric="final_test_error",
                               multiple_schedules=False)
    assert "Best wd = λ/α (PyTorch)" in table.columns and "Best λ (paper)" in table.columns
    assert table["Best"].iloc[0] == "5.00 %"
    assert table["Coupling slope"].iloc[0].startswith(("+", "-"))


def test_report_is_one_offline_file() -> None:
    trials = pd.concat([_trials("adam", 0), _trials("adamw", 100)])
    curves = pd.DataFrame({"study": "s", "trial": np.repeat(trials["trial"].to_numpy(), 3),
                           "epoch": np.tile([1, 2, 3], len(trials)), "train_loss": 1.0,
                           "train_error": 0.5, "val_error": 0.5, "test_error": 0.5, "eta": 1.0,
                           "weight_norm": 1.0, "elapsed_s": 1.0, "eta_epoch_mean": 1.0,
                           "angular_update_bn": 0.01, "angular_update_other": 0.01,
                           "weight_norm_bn": 1.0, "weight_norm_other": 1.0})
    html = dash.study_report(study="s<1>", trials=trials, curves=curves, spec_yaml="a: <b>",
                             description="Adam & <AdamW>", storage_shown="sqlite:///x.db")
    assert html.count("Plotly.newPlot") == 3  # heatmaps, AdamW − Adam difference, curves
    lands = dash.landscapes(trials)
    for sentence in dash.landscape_caption(lands):  # the page's sentences, from this study
        assert f"<p>{escape(sentence)}</p>" in html
    assert html.count("<script type='text/javascript'>") == 1  # plotly.js, embedded once
    assert "<script src" not in html.replace("'", '"').replace('type="text/javascript" ', "")
    assert "Adam &amp; &lt;AdamW&gt;" in html and "a: &lt;b&gt;" in html and "s&lt;1&gt;" in html
    for text in ("λ (paper)", "wd = λ / α", "λ_norm", "Coupling slope"):
        assert text in html


# --- processes, registry, progress ---------------------------------------------------------


def test_tail_keeps_the_last_state_of_progress_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\n 10%\r 50%\r100%\ntwo\n\n")
    assert dash.tail(log, lines=2) == "100%\ntwo"
    assert dash.tail(tmp_path / "missing.log") == ""


def test_a_recycled_pid_is_never_taken_for_a_run(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    url = use_temp_storage(monkeypatch, tmp_path)
    record = RunRecord(study="x", storage_key=storage_key(url), storage_shown="", kind="run",
                       pid=os.getpid(), start_ticks=1, started=time.time(), log="", console="",
                       command=())
    registry = tmp_path / "dashboard" / "runs.json"
    registry.parent.mkdir(parents=True)
    registry.write_text(json.dumps({f"{storage_key(url)}/x": dataclasses.asdict(record)}))
    status = dash.run_status(url, "x")
    assert status is not None and not status.alive and status.state == "ended"
    assert dash.cancel_run(url, "x").state == "ended"  # this test process was not signalled
    registry.write_text("not json")
    assert dash.run_status(url, "x") is None  # a damaged registry only forgets


def test_progress_fraction_and_one_formatter() -> None:
    p = dash.Progress(done=10, total=100, running=4, waiting=86, failed=0, pruned=0,
                      partial=12.0, eta_seconds=88)
    assert p.fraction == pytest.approx(0.12) and p.eta_text == "1 min 28 s"
    assert dash.format_duration(88) == "1 min 28 s" and dash.format_duration(None) == "—"
    assert dash.format_duration(3725) == "1 h 02 min"


def _history(populations: list[tuple[int, int, float, float]], *, startup: float,
             poll: float) -> tuple[list[tuple[float, float]], float, float]:
    """Progress a poller sees of a study trained as ``populations`` (members, epochs,
    seconds per epoch, extra seconds in the first epoch: compiling), one after the other,
    after ``startup`` seconds of launching and loading data. Returns (polls as (time,
    partial), the true end time, total cells)."""
    edges, t, done = [(0.0, 0.0)], startup, 0.0
    for members, epochs, per_epoch, compile_s in populations:
        for epoch in range(1, epochs + 1):
            t += per_epoch + (compile_s if epoch == 1 else 0.0)
            edges.append((t, done + members * epoch / epochs))
        done += members
    polls, now = [], 0.0
    while now <= t + poll:
        polls.append((now, max(p for e, p in edges if e <= now)))
        now += poll
    return polls, t, done


@pytest.mark.parametrize("populations, startup", [
    ([(128, 30, 1.2, 6.0)], 12.0),  # the demo: one population, start-up and a compile
    ([(128, 10, 4.0, 20.0)], 15.0),
    ([(64, 10, 1.0, 5.0), (64, 10, 1.0, 2.0)], 8.0),  # two families, one after the other
    ([(32, 40, 2.0, 0.0)] * 3, 3.0),  # more cells than a population holds
])
def test_eta_is_within_30_percent_after_20_percent_of_the_work(
        populations: list[tuple[int, int, float, float]], startup: float) -> None:
    """The page polls every 1.5 s; from 20 % of the work on, the ETA shown must be within
    ±30 % of the time truly left (the issue: "2 min 54 s" for a 50 s run)."""
    polls, end, total = _history(populations, startup=startup, poll=1.5)
    estimator = dash.EtaEstimator()
    checked = 0
    for now, partial in polls:
        estimator.add(now, partial)
        if partial < 0.2 * total or partial >= total:
            continue
        left = end - now
        eta = estimator.seconds(total)
        assert eta is not None, (now, partial)
        assert abs(eta - left) <= 0.3 * left + 1.5, (now, partial, eta, left)
        checked += 1
    assert checked >= 3
    assert estimator.seconds(total) == 0.0


def test_eta_waits_for_two_steps_and_restarts_when_cells_are_added() -> None:
    estimator = dash.EtaEstimator()
    estimator.add(0.0, 0.0)
    estimator.add(30.0, 0.0)  # start-up: no rate yet
    assert estimator.seconds(10) is None
    estimator.add(40.0, 1.0)  # first step: its time includes the start-up, not a rate
    assert estimator.seconds(10) is None
    estimator.add(50.0, 2.0)
    assert estimator.seconds(10) == pytest.approx(80.0)  # 8 cells at 0.1 cell/s
    estimator.add(55.0, 2.0)  # half-way to the next step
    assert estimator.seconds(10) == pytest.approx(75.0)
    estimator.add(60.0, 1.0)  # cells handed back: start over
    assert estimator.seconds(10) is None


def test_cancel_text_counts_what_is_lost() -> None:
    cost = dash.CancelCost(done=8, training=32, epochs_done=11, epochs=40, seconds=95.0)
    text = dash.cancel_text(cost)
    assert "keeps the 8 finished cells" in text
    assert "discards the 32 cells in training: 11 of 40 epochs each" in text
    assert "1 min 35 s" in text and "from epoch 1" in text
    idle = dash.cancel_text(dash.CancelCost(done=1, training=0, epochs_done=0, epochs=4,
                                            seconds=None))
    assert "keeps the 1 finished cell;" in idle and "nothing is lost" in idle


def test_errors_read_as_sentences() -> None:
    assert forms.sentence(SpecError("lr.max", "must be >= min (0.001), got 1e-05")) == (
        "Largest learning rate must be ≥ min (0.001); you gave 1e-05.")
    assert forms.sentence(SpecError("schedules[1].t0", "must be > 0")) == (
        "T₀ (schedule 2) must be > 0.")
    assert forms.sentence("device: device 'mps' was asked for but Apple MPS is not "
                          "available here") == (
        "Device: device 'mps' was asked for but Apple MPS is not available here.")
    assert forms.sentence(SpecError("α from", "must be a number, got 'x'")) == (
        "α from must be a number; you gave 'x'.")


def test_the_form_checks_training_images_against_the_data() -> None:
    raw = {**TINY_GRID, "data": {**TINY_GRID["data"], "train_size": 5000}}  # digits, 20 %
    with pytest.raises(SpecError, match=r"data.train_size: must be at most 1150 for digits"):
        dash.check_data(spec_from_dict(raw))
    raw["data"]["train_size"] = 1150
    dash.check_data(spec_from_dict(raw))  # the whole training part is fine


def test_the_form_counts_mnist1d_signals_as_the_spec_asks(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("WDLAB_DATA_DIR", str(tmp_path))
    # 1,000 signals: 800 train, of which 720 stay after a validation fraction of 0.1.
    raw = {**TINY_GRID, "data": {"dataset": "mnist1d", "num_samples": 1000, "train_size": 721,
                                 "val_fraction": 0.1}}
    with pytest.raises(SpecError, match=r"data.train_size: must be at most 720 for mnist1d"):
        dash.check_data(spec_from_dict(raw))
    raw["data"]["train_size"] = 720
    dash.check_data(spec_from_dict(raw))


def test_the_description_names_only_the_optimizers_run() -> None:
    preset = load_preset("demo")
    values = forms.values_from_spec(preset)
    assert forms.describe(values, preset) == preset.description
    for chosen in (["sgd"], ["sgd", "sgdw"], ["adamw", "sgdw"]):
        text = forms.describe({**values, "optimizers": chosen}, preset)
        named = {n for n in ("SGDW", "SGD", "AdamW", "Adam")
                 if f"{n} " in text or f"{n}(" in text}
        assert {dash_name(o) for o in chosen} <= named
        assert not any(ch.isdigit() for ch in text.replace("1/√v̂", "").replace("L2", "")), text


def test_the_preset_text_only_while_the_form_is_the_preset() -> None:
    preset = load_preset("demo")
    values = forms.values_from_spec(preset)
    key = next(k for k in values if k.endswith("epochs") and not k.startswith("schedules"))
    changed = forms.describe({**values, key: preset.epochs + 5}, preset)
    assert changed != preset.description and "Adam" in changed  # no "30 epochs" claim
    pytorch = forms.describe({**values, key: preset.epochs + 5,
                              "weight_decay.convention": "pytorch"}, preset)
    assert "wd = λ/α (PyTorch)" in pytorch and "best wd moves" in pytorch


def dash_name(optimizer: str) -> str:
    from studies.analysis import display_name

    return display_name(optimizer)


def test_cell_table_titles_its_columns() -> None:
    rows = pd.DataFrame({"trial": [3], "seed": [0], "state": ["COMPLETE"],
                         "final_test_error": [0.0446], "best_test_error": [0.04],
                         "final_train_loss": [0.0123], "diverged": [False],
                         "epochs_done": [30], "duration_s": [12.3]})
    table = dash.cell_table(rows)
    assert not [c for c in table.columns if "_" in c]
    assert table["Final test error"].iloc[0] == "4.46 %"


def test_exact_text_reads_back_exactly() -> None:
    for x in (0.0009765625, 2.0 ** -13, 0.001, 1 / 3, 0.1 + 0.2, 5e-324):
        assert forms.parse_float(dash.exact_text(x), "x") == x
    assert dash.exact_text(0.0009765625) == "2^-10"


def test_a_failing_run_shows_its_error(monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    url = use_temp_storage(monkeypatch, tmp_path)
    status = dash.launch_worker(storage=url, study="nowhere")
    deadline = time.time() + 120
    while status.alive and time.time() < deadline:
        time.sleep(0.3)
        status = dash.run_status(url, "nowhere")
    assert status.state == "failed" and status.exit_code == 2
    assert "error: study: no study 'nowhere'" in dash.run_log(status)


def test_a_password_never_reaches_the_command_line_or_the_registry(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_temp_storage(monkeypatch, tmp_path)
    url = "postgresql://me:s3cret@127.0.0.1:1/db"
    status = dash.launch_worker(storage=url, study="x")
    assert "s3cret" not in " ".join(status.record.command)
    assert "--storage" not in status.record.command  # it travels in the environment
    assert "s3cret" not in (tmp_path / "dashboard" / "runs.json").read_text()
    dash.cancel_run(url, "x", grace_s=5)


def test_the_demo_never_clobbers_another_study(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    url = use_temp_storage(monkeypatch, tmp_path)
    from studies.runner import create_study

    create_study(spec_from_dict({**TINY_GRID, "name": "demo"}), storage=url)  # not the preset
    try:
        assert dash.run_demo(url) == ("demo-2", "launched")
        assert dash.run_demo(url) == ("demo-2", "running")  # a second click just watches
    finally:
        dash.cancel_run(url, "demo-2", grace_s=30)
    assert dash.existing_spec(url, "demo").to_dict()["data"]["train_size"] == 120


@pytest.mark.slow
def test_launch_watch_and_cancel_a_real_run(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """The CLI in its own process: progress from the storage, a log, SIGTERM hands the
    unfinished cells back and keeps the finished ones, and the study can be resumed."""
    url = use_temp_storage(monkeypatch, tmp_path)
    spec = spec_from_dict({**TINY_GRID, "name": "long", "epochs": 4000})
    status = dash.launch(spec, storage=url)
    assert status.alive and "--storage" in status.record.command
    with pytest.raises(dash.RunError, match="already has a process"):
        dash.launch(spec, storage=url)
    deadline = time.time() + 120
    while time.time() < deadline:
        progress = dash.study_progress(url, "long") if dash.existing_spec(url, "long") else None
        if progress is not None and progress.running and progress.partial > 0:
            break
        assert dash.run_status(url, "long").alive, dash.run_log(dash.run_status(url, "long"))
        time.sleep(0.5)
    else:
        pytest.fail("the run never started training")
    assert 0 < progress.fraction < 1 and progress.total == 12
    final = dash.cancel_run(url, "long")
    assert final.state == "cancelled" and not final.alive
    assert final.exit_code == 143  # the CLI's status for SIGTERM: stopped cleanly
    after = dash.study_progress(url, "long")
    assert after.running == 0 and after.waiting == 12 - after.done
    assert "study long" in dash.run_log(final)
    assert dash.active_runs(url) == {}


@pytest.mark.slow
def test_launching_a_transfer_family_runs_its_members_in_one_process(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As the CLI does: one process, members in turn, recorded under the first member (the
    Run page follows studies, never the family's name, which is no study)."""
    url = use_temp_storage(monkeypatch, tmp_path)
    family = spec_from_dict({**TINY_GRID, "name": "fam", "epochs": 4000,
                             "transfer": {"data": [0.5, 1]}})
    status = dash.launch(family, storage=url)
    try:
        assert status.record.study == "fam-x0.5" and set(dash.active_runs(url)) == {"fam-x0.5"}
        assert status.record.command[status.record.command.index("--study") + 1] == "fam"
        deadline = time.time() + 120
        while not dash.existing_spec(url, "fam-x0.5"):
            assert time.time() < deadline, "the first member was never created"
            time.sleep(0.5)
        dash.cancel_run(url, "fam-x0.5", grace_s=30)
        assert dash.existing_spec(url, "fam-x1") is None  # members run in turn, not at once
        with pytest.raises(SpecError, match="different spec"):  # before any process starts
            dash.launch(spec_from_dict({**family.to_dict(), "epochs": 3000}), storage=url)
    finally:  # whatever failed: no process of this test outlives it
        for study in dash.active_runs(url):
            dash.cancel_run(url, study, grace_s=30)


@pytest.mark.slow
def test_refine_and_more_seeds_add_cells_and_a_worker(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    url = use_temp_storage(monkeypatch, tmp_path)
    name = train_study(url, TINY_GRID)
    added, worker = dash.refine_region(url, name, lr_range=(0.001, 0.004),
                                       wd_range=(0.001, 0.004), count=2, optimizers=["adamw"])
    assert added == 3  # (0.001, 0.001) is already in the study
    assert worker is not None and worker.record.kind == "worker"
    dash.cancel_run(url, name, grace_s=30)
    from studies.export import trials_frame

    trials = trials_frame(url, name)
    lands = dash.landscapes(trials[trials["state"] == "COMPLETE"])
    cells = dash.best_spec_cells(lands, 1, convention="paper")
    added, _ = dash.more_seeds(url, name, cells=cells, n_seeds=2, trials=trials)
    assert added == 4
    dash.cancel_run(url, name, grace_s=30)
    tune = train_study(url, TINY_TUNE)
    budget, _ = dash.add_tune_trials(url, tune, 2)
    assert budget == 6
    dash.cancel_run(url, tune, grace_s=30)
    dash.ensure_worker(url, tune)
    with pytest.raises(dash.RunError, match="cancel it first"):
        dash.delete(url, tune)  # refused while the worker runs
    dash.cancel_run(url, tune, grace_s=30)
    dash.delete(url, tune)
    assert dash.existing_spec(url, tune) is None


# --- refining exactly, and taking added cells back out -------------------------------------


def test_refine_snaps_onto_the_study_grid(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    """A region typed with rounded ends (0.000976562 for 2^-10, as the old 6-digit boxes
    showed it) adds only the truly new points: never a cell a rounding error away."""
    from studies.runner import extend_study
    from studies.storage import StoredStudy

    url = use_temp_storage(monkeypatch, tmp_path)
    raw = {**TINY_GRID, "lr": {"values": [2.0 ** -10, 2.0 ** -8]},
           "weight_decay": {"convention": "paper", "values": [2.0 ** -10, 2.0 ** -8]}}
    from studies.runner import create_study

    name = create_study(spec_from_dict(raw), storage=url)
    cells = dash.refine_plan(url, name, lr_range=(0.000976562, 0.00390625),
                             wd_range=(float(f"{2.0 ** -10:.6g}"), float(f"{2.0 ** -8:.6g}")),
                             count=3, optimizers=["adamw"])
    assert {c.lr for c in cells} == {2.0 ** -10, 2.0 ** -9, 2.0 ** -8}
    assert extend_study(storage=url, study_name=name, cells=cells) == 9 - 4  # 4 were there
    lrs = sorted({c.lr for c in StoredStudy.open(url, name).cells()})
    wds = sorted({c.weight_decay for c in StoredStudy.open(url, name).cells()})
    for axis in (lrs, wds):
        for a, b in itertools.pairwise(axis):
            assert b / a > 1.001, axis  # no near-duplicate coordinates


@pytest.mark.slow
def test_added_cells_can_be_removed_trained_or_not(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from studies.export import trials_frame
    from studies.runner import extend_study, refine_cells, run_worker

    url = use_temp_storage(monkeypatch, tmp_path)
    name = train_study(url, TINY_GRID)
    spec = spec_from_dict(TINY_GRID)
    two = refine_cells(spec, lr_range=(0.002, 0.004), wd_range=(0.002, 0.002), count=(2, 1),
                       optimizers=["adamw"])
    assert extend_study(storage=url, study_name=name, cells=two) == 2
    run_worker(storage=url, study_name=name)  # the added cells train and finish
    assert dash.added_cells(url, name).finished and dash.study_progress(url, name).done == 14
    one = refine_cells(spec, lr_range=(0.006, 0.006), wd_range=(0.002, 0.002), count=1,
                       optimizers=["adamw"])
    assert extend_study(storage=url, study_name=name, cells=one) == 1
    assert dash.remove_added(url, name, finished=False) == 1  # only the untrained one
    added = dash.added_cells(url, name)
    assert (len(added.waiting), len(added.finished)) == (0, 2)
    assert dash.remove_added(url, name, finished=True) == 2
    progress = dash.study_progress(url, name)
    assert (progress.done, progress.total, progress.finished) == (12, 12, True)
    frame = trials_frame(url, name)  # what every page, report and export reads
    assert len(frame) == 12 and set(frame["state"]) == {"COMPLETE"}
    lands = dash.landscapes(frame)
    assert all(land.value.size == 6 for land in lands.values())  # the spec's 2 × 3 again
    assert extend_study(storage=url, study_name=name, cells=two) == 2  # can be added again


@pytest.mark.slow
def test_removing_finished_cells_on_a_journal_is_refused_before_anything_changes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from studies.runner import extend_study, refine_cells, run_worker
    from studies.storage import StorageError

    use_temp_storage(monkeypatch, tmp_path)
    url = f"journal:///{tmp_path / 'j.log'}"
    name = train_study(url, TINY_GRID)
    spec = spec_from_dict(TINY_GRID)
    two = refine_cells(spec, lr_range=(0.002, 0.004), wd_range=(0.002, 0.002), count=(2, 1),
                       optimizers=["adamw"])
    extend_study(storage=url, study_name=name, cells=two)
    run_worker(storage=url, study_name=name)
    one = refine_cells(spec, lr_range=(0.006, 0.006), wd_range=(0.002, 0.002), count=1,
                       optimizers=["adamw"])
    extend_study(storage=url, study_name=name, cells=one)
    before = (dash.added_cells(url, name), dash.study_progress(url, name).total)
    with pytest.raises(StorageError, match="journal"):
        dash.remove_added(url, name, finished=True)
    assert (dash.added_cells(url, name), dash.study_progress(url, name).total) == before
