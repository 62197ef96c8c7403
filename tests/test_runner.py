"""The runner on real SQLite files: grid and tune studies, resume, extend, stop, dead workers."""

from __future__ import annotations

import math
import threading
import time

import optuna
import pandas as pd
import pytest

from studies.analysis import landscape, summary, validate_curves, validate_trials
from studies.runner import (
    add_trials,
    create_study,
    curves_frame,
    extend_study,
    more_seeds_cells,
    refine_cells,
    run_worker,
    trials_frame,
)
from studies.spec import SpecError, spec_from_dict
from studies.storage import (
    Progress,
    StorageError,
    StoredStudy,
    cell_key,
    list_studies,
    load_spec,
    open_storage,
)


def _url(tmp_path, name="s.db"):
    return f"sqlite:///{tmp_path / name}"


def _keys(frame: pd.DataFrame) -> list[str]:
    return [
        cell_key(optimizer=r.optimizer, lr=r.lr, weight_decay=r.weight_decay, seed=r.seed,
                 schedule=r.schedule)
        for r in frame.itertuples()
    ]


def _spec_keys(cells) -> list[str]:
    return [
        cell_key(optimizer=c.optimizer, lr=c.lr, weight_decay=c.weight_decay, seed=c.seed,
                 schedule=c.schedule)
        for c in cells
    ]


def test_grid_study_trains_every_cell_once_and_tables_feed_analysis(tmp_path, tiny_spec):
    url = _url(tmp_path)
    spec = tiny_spec(seeds=[0, 1])
    seen: list[Progress] = []
    assert create_study(spec, storage=url) == "tiny"
    summary_ = run_worker(storage=url, study_name="tiny", progress=seen.append)
    assert summary_.completed == 16 and summary_.failed == 0 and not summary_.stopped
    assert summary_.cells_done == summary_.cells_total == 16

    trials = validate_trials(trials_frame(url, "tiny"))
    assert sorted(_keys(trials)) == sorted(_spec_keys(spec.cells()))
    assert (trials["state"] == "COMPLETE").all() and not trials["diverged"].any()
    assert trials["final_test_error"].between(0, 1).all()
    assert (trials["epochs_done"] == 2).all()
    # Every weight decay in all three conventions: wd = λ/α, λ_norm = λ/√(b/(B·T)).
    factor = math.sqrt(50 / (100 * 2))
    assert trials["wd_paper"].tolist() == trials["weight_decay"].tolist()
    lam = trials["wd_paper"]
    assert trials["wd_pytorch"].tolist() == pytest.approx((lam / trials["lr"]).tolist())
    assert trials["wd_normalized"].tolist() == pytest.approx((lam / factor).tolist())

    curves = validate_curves(curves_frame(url, "tiny"))
    assert len(curves) == 16 * 2 and set(curves["study"]) == {"tiny"}
    assert curves.groupby("trial")["epoch"].apply(list).map(lambda e: e == [1, 2]).all()
    final = curves[curves["epoch"] == 2].set_index("trial")["test_error"]
    assert final.to_dict() == pytest.approx(trials.set_index("trial")["final_test_error"].to_dict())

    land = landscape(trials, optimizer="adamw")
    assert land.shape == (2, 2) and (land.n_seeds == 2).all()
    assert set(summary(trials)["optimizer"]) == {"adam", "adamw"}
    # Progress: study-wide counts, an ETA, and the final state.
    assert seen[-1].done == 16 and seen[-1].eta_seconds == 0.0
    assert any("epoch 2/2" in p.message for p in seen)

    # The study is a plain Optuna study; value = final test error, one report per epoch.
    study = optuna.load_study(study_name="tiny", storage=url)
    t = study.trials[0]
    assert set(t.params) == {"optimizer", "lr", "weight_decay", "seed", "schedule"}
    assert t.value == pytest.approx(t.user_attrs["metrics"]["final_test_error"])
    assert sorted(t.intermediate_values) == [1, 2]
    assert t.user_attrs["curves"]["val_error"][-1] == pytest.approx(t.intermediate_values[2])


def test_resume_reruns_nothing_and_stored_spec_round_trips(tmp_path, tiny_spec):
    url = _url(tmp_path)
    spec = tiny_spec()
    create_study(spec, storage=url)
    run_worker(storage=url, study_name="tiny")
    assert load_spec(url, "tiny") == spec
    assert create_study(spec, storage=url) == "tiny"  # same spec: a no-op resume
    again = run_worker(storage=url, study_name="tiny")
    assert again.completed == 0 and again.populations == 0
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 8

    with pytest.raises(StorageError, match=r"'tiny' already exists .*--study NEWNAME"):
        create_study(tiny_spec(epochs=3), storage=url)
    # Another name for the changed spec is a new study; the stored spec carries that name.
    assert create_study(tiny_spec(epochs=3), storage=url, study_name="tiny-3") == "tiny-3"
    assert load_spec(url, "tiny-3") == tiny_spec(epochs=3, name="tiny-3")


def test_a_spec_stored_before_a_field_existed_still_resumes(tmp_path, tiny_spec):
    """A study stored by an older version lacks fields added since (here: the model's
    norm switch, which the ResNet gained); running the same spec again resumes it instead
    of calling it different."""
    url = _url(tmp_path)
    resnet = {"name": "resnet", "depth": 8, "width": 4}
    spec = tiny_spec(model=resnet)
    create_study(spec, storage=url)
    storage = open_storage(url)
    study_id = storage.get_study_id_from_name("tiny")
    old = storage.get_study_user_attrs(study_id)["spec"]
    del old["model"]["norm"]  # as a version before the switch stored it
    storage.set_study_user_attr(study_id, "spec", old)
    assert create_study(spec, storage=url) == "tiny"
    with pytest.raises(StorageError, match="different spec"):
        create_study(tiny_spec(model={**resnet, "norm": False}), storage=url)


def test_invalid_input_writes_nothing(tmp_path, tiny_spec):
    url = _url(tmp_path)
    with pytest.raises(SpecError, match=r"^data: .*train_size"):
        create_study(tiny_spec(data={"dataset": "digits", "train_size": 100_000}), storage=url)
    with pytest.raises(StorageError, match=r"^study: name must be"):
        create_study(tiny_spec(), storage=url, study_name="bad name!")
    assert not (tmp_path / "s.db").exists()
    with pytest.raises(StorageError, match="cannot parse"):
        create_study(tiny_spec(), storage="no-such-scheme")


def test_diverged_cell_is_complete_and_flagged(tmp_path, tiny_spec):
    url = _url(tmp_path)
    spec = tiny_spec(optimizers=["sgd"], lr={"values": [0.01, 1000.0]},
                     weight_decay={"convention": "paper", "values": [0.0]})
    create_study(spec, storage=url)
    result = run_worker(storage=url, study_name="tiny")
    assert result.completed == 2 and result.diverged == 1 and result.failed == 0
    trials = trials_frame(url, "tiny").set_index("lr")
    assert (trials["state"] == "COMPLETE").all()
    bad, good = trials.loc[1000.0], trials.loc[0.01]
    assert bad["diverged"] and bad["diverged_epoch"] == 1 and math.isnan(bad["final_test_error"])
    assert not good["diverged"] and math.isnan(good["diverged_epoch"])
    value = {t.params["lr"]: t.value for t in optuna.load_study(study_name="tiny",
                                                                storage=url).trials}
    assert value[1000.0] == 1.0
    info = list_studies(url)[0]
    assert info.diverged == 1 and info.state == "finished"


def test_tune_study_with_pruning_runs_its_budget(tmp_path, tiny_spec):
    url = _url(tmp_path)
    spec = tiny_spec(
        mode="tune", lr=None, weight_decay={"convention": "pytorch"}, epochs=4,
        tune={"sampler": "tpe", "n_trials": 10, "pruner": "median", "trials_per_batch": 5,
              "lr": {"min": 1e-4, "max": 1.0}, "weight_decay": {"min": 1e-5, "max": 1e-1}},
    )
    create_study(spec, storage=url)
    result = run_worker(storage=url, study_name="tiny")
    study = optuna.load_study(study_name="tiny", storage=url)
    states = [t.state.name for t in study.trials]
    assert len(states) == 10 and set(states) <= {"COMPLETE", "PRUNED"}
    assert result.completed + result.pruned == 10 and result.populations == 2
    # The objective is the validation error in tune mode (the sampler never sees test data).
    done = [t for t in study.trials if t.state.name == "COMPLETE" and not t.user_attrs["diverged"]]
    assert all(t.value == t.user_attrs["metrics"]["final_val_error"] for t in done)
    trials = trials_frame(url, "tiny")
    assert (trials["wd_convention"] == "pytorch").all()
    lam = trials["weight_decay"] * trials["lr"]
    assert trials["wd_paper"].tolist() == pytest.approx(lam.tolist())

    assert add_trials(url, "tiny", 3) == 13
    more = run_worker(storage=url, study_name="tiny")
    assert more.completed + more.pruned == 3
    assert list_studies(url)[0].cells_total == 13


def test_extend_study_adds_only_new_cells(tmp_path, tiny_spec):
    url = _url(tmp_path)
    spec = tiny_spec(optimizers=["adamw"])
    create_study(spec, storage=url)
    run_worker(storage=url, study_name="tiny")
    # A finer grid over the same region: 3 × 3 with the 2 × 2 corners already there.
    cells = refine_cells(spec, lr_range=(0.001, 0.01), wd_range=(0.0001, 0.01), count=3)
    assert len(cells) == 9
    assert extend_study(storage=url, study_name="tiny", cells=cells) == 5
    assert extend_study(storage=url, study_name="tiny", cells=cells) == 0
    assert list_studies(url)[0].cells_total == 9
    result = run_worker(storage=url, study_name="tiny")
    assert result.completed == 5
    seeds = more_seeds_cells(spec, seeds=[7], cells=StoredStudy.open(url, "tiny").cells())
    assert len(seeds) == 9 and {c.seed for c in seeds} == {7}
    assert extend_study(storage=url, study_name="tiny", cells=seeds) == 9
    with pytest.raises(SpecError, match=r"cells\[0\]\.optimizer"):
        extend_study(storage=url, study_name="tiny",
                     cells=refine_cells(tiny_spec(), lr_range=(0.1, 0.1), wd_range=(0.1, 0.1),
                                        count=1, optimizers=["adam"]))
    trials = trials_frame(url, "tiny")
    assert len(trials) == 18 and sorted(set(_keys(trials))) == sorted(_keys(trials))


def test_stop_hands_cells_back_and_resume_finishes(tmp_path, tiny_spec):
    url = _url(tmp_path)
    create_study(tiny_spec(epochs=3), storage=url)
    stop = threading.Event()

    def progress(p: Progress) -> None:
        if "epoch 1/3" in p.message:
            stop.set()

    first = run_worker(storage=url, study_name="tiny", stop=stop, progress=progress,
                       max_members=2)
    assert first.stopped and first.interrupted == 2 and first.completed == 0
    study = optuna.load_study(study_name="tiny", storage=url)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(failed) == 2 and all(t.user_attrs["interrupted"] for t in failed)
    assert list_studies(url)[0].state == "partial"

    second = run_worker(storage=url, study_name="tiny")
    assert second.completed == 8
    trials = trials_frame(url, "tiny")
    done = trials[trials["state"] == "COMPLETE"]
    assert sorted(_keys(done)) == sorted(_spec_keys(tiny_spec(epochs=3).cells()))
    # The retried trials carry the cell's attributes, not the interrupted run's results.
    assert list_studies(url)[0].state == "finished"


def test_killed_worker_trial_goes_stale_and_is_rerun(tmp_path, tiny_dict, env,
                                                     spawn_worker, short_heartbeats):
    url = _url(tmp_path)
    spec = spec_from_dict(tiny_dict(optimizers=["adamw"], epochs=30, lr={"values": [0.001]},
                                    data={"dataset": "digits", "train_size": 200}))
    create_study(spec, storage=url)
    storage = open_storage(url, read_only=True)
    victim = spawn_worker(url, "tiny")
    deadline = time.time() + 90
    while time.time() < deadline:  # wait until it is mid-trial: some epochs reported
        running = [t for t in storage.get_all_trials(storage.get_study_id_from_name("tiny"))
                   if t.state.name == "RUNNING" and t.intermediate_values]
        if running:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the worker never started training")
    victim.kill()
    victim.wait(timeout=30)

    result = run_worker(storage=url, study_name="tiny")  # waits for staleness (3 s), re-runs
    assert result.completed == 2
    study = optuna.load_study(study_name="tiny", storage=url)
    states = sorted(t.state.name for t in study.trials)
    assert states.count("COMPLETE") == 2 and states.count("FAIL") >= 1
    dead = [t for t in study.trials if t.state.name == "FAIL"]
    assert all("metrics" not in t.user_attrs for t in dead)  # killed before its results
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") is not None]
    assert retried and all(t.state.name == "COMPLETE" for t in retried)
    assert {t.system_attrs["failed_trial"] for t in retried} == {t.number for t in dead}
    trials = trials_frame(url, "tiny")
    done = trials[trials["state"] == "COMPLETE"]
    assert sorted(_keys(done)) == sorted(_spec_keys(spec.cells()))
