"""Single and population training: parity, divergence, pruning, chunks, determinism."""

from __future__ import annotations

import math

import pytest
import torch

import core.train._population as population_module
from core.data import load_dataset
from core.models import ModelSpec
from core.schedules import Cosine, WarmRestarts
from core.train import TrainConfig, check_population, train_population, train_single
from core.train._common import errors

MLP = ModelSpec(name="mlp", widths=(32, 32), norm=False)
MLP_NORM = ModelSpec(name="mlp", widths=(32,), norm=True)
CNN = ModelSpec(name="cnn", channels=(8, 8), norm=True)
CNN1D = ModelSpec(name="cnn1d", channels=(8, 8, 8), norm=False)
CNN1D_NORM = ModelSpec(name="cnn1d", channels=(8, 8, 8), norm=True)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split_seed=0, train_size=300)


@pytest.fixture(scope="module")
def mnist1d(tmp_path_factory):
    """A small MNIST-1D from the real generator: 200 training signals of shape (1, 40)."""
    return load_dataset("mnist1d", num_samples=500, train_size=200,
                        data_dir=tmp_path_factory.mktemp("data"))  # fmt: skip


def configs(optimizers, lrs, wds, *, seeds=(0,), epochs=3, **kw):
    return [
        TrainConfig(optimizer=o, lr=lr, weight_decay=wd, seed=s, epochs=epochs, batch_size=64,
                    dtype="float64", **kw)
        for o, lr, wd, s in zip(optimizers, lrs, wds, seeds * len(optimizers), strict=False)
    ]


def assert_same_run(population_result, single_result, tol=1e-9):
    assert population_result.diverged_epoch == single_result.diverged_epoch
    assert len(population_result.history) == len(single_result.history)
    for got, want in zip(population_result.history, single_result.history, strict=True):
        for field in ("train_loss", "train_error", "val_error", "test_error", "val_loss",
                      "test_loss", "weight_norm", "eta"):
            expected = pytest.approx(getattr(want, field), rel=tol, abs=tol)
            assert getattr(got, field) == expected, field


@pytest.mark.parametrize("model", [MLP, MLP_NORM, CNN], ids=["mlp", "mlp-bn", "cnn-bn"])
def test_population_member_equals_single_run_adam_family(digits, model):
    cfgs = configs(["adam", "adamw", "adamw", "adam"], [3e-3, 1e-2, 3e-3, 1e-3],
                   [1e-3, 0.1, 1e-2, 0.0], schedule=Cosine(epochs=3, eta_min=0.1))
    population = train_population(cfgs, model=model, data=digits, device="cpu")
    for config, result in zip(cfgs, population, strict=True):
        assert_same_run(result, train_single(config, model=model, data=digits, device="cpu"))
    # The members really trained differently.
    assert len({r.final.train_loss for r in population}) == len(cfgs)


@pytest.mark.parametrize(
    "model", [CNN1D, CNN1D_NORM, MLP_NORM], ids=["cnn1d", "cnn1d-bn", "mlp-bn"]
)
def test_population_member_equals_single_run_on_mnist1d(mnist1d, model):
    """The 1-D CNN (and the MLP, flattening the signals) train as a population exactly as
    one at a time, members with their own seeds included."""
    cfgs = configs(["adam", "adamw", "adamw", "adam"], [3e-3, 1e-2, 3e-3, 1e-3],
                   [1e-3, 0.1, 1e-2, 0.0], seeds=(0, 1), schedule=Cosine(epochs=3))
    population = train_population(cfgs, model=model, data=mnist1d, device="cpu")
    for config, result in zip(cfgs, population, strict=True):
        assert_same_run(result, train_single(config, model=model, data=mnist1d, device="cpu"))
    assert len({r.final.train_loss for r in population}) == len(cfgs)
    # Training moved the loss down, not just around.
    assert all(r.final.train_loss < r.history[0].train_loss for r in population)


def test_population_member_equals_single_run_sgd_family_with_restarts(digits):
    cfgs = configs(["sgd", "sgdw", "sgdw"], [0.05, 0.1, 0.02], [1e-3, 1e-2, 1e-1],
                   epochs=4, schedule=WarmRestarts(t0=1, t_mult=2))
    population = train_population(cfgs, model=MLP_NORM, data=digits, device="cpu")
    for config, result in zip(cfgs, population, strict=True):
        assert_same_run(result, train_single(config, model=MLP_NORM, data=digits, device="cpu"))


def test_normalized_decay_population_equals_single(digits):
    cfgs = configs(["adamw", "adamw"], [1e-2, 3e-3], [0.05, 0.5], epochs=3,
                   schedule=WarmRestarts(t0=1, t_mult=2), normalized_decay=True)
    population = train_population(cfgs, model=MLP, data=digits, device="cpu")
    for config, result in zip(cfgs, population, strict=True):
        assert_same_run(result, train_single(config, model=MLP, data=digits, device="cpu"))


def test_members_with_different_seeds_see_their_own_data_and_init(digits):
    cfgs = configs(["adamw"] * 3, [1e-2] * 3, [1e-2] * 3, seeds=(0, 1, 2))
    population = train_population(cfgs, model=MLP_NORM, data=digits, device="cpu")
    for config, result in zip(cfgs, population, strict=True):
        assert_same_run(result, train_single(config, model=MLP_NORM, data=digits, device="cpu"))
    assert len({r.final.train_loss for r in population}) == 3


@pytest.fixture(params=["one slice", "a slice per member"])
def slicing(request, monkeypatch):
    """Run a test with the population's members in one slice, and again with each member in
    its own slice (a cache budget of one byte), so that masks and callbacks cross slices."""
    if request.param != "one slice":
        monkeypatch.setattr(population_module, "CACHE_BYTES", 1)
    return request.param


def test_a_diverging_member_is_flagged_and_leaves_the_others_untouched(digits, slicing):
    cfgs = configs(["adam", "adam", "adamw"], [3e-3, 1e4, 1e-2], [1e-3, 0.0, 0.1])
    population = train_population(cfgs, model=MLP, data=digits, device="cpu")
    exploded = population[1]
    assert exploded.diverged and exploded.diverged_epoch == 1 and exploded.history == []
    alone = train_single(cfgs[1], model=MLP, data=digits, device="cpu")
    assert alone.diverged_epoch == exploded.diverged_epoch
    for i in (0, 2):
        assert not population[i].diverged
        assert all(math.isfinite(m.train_loss) for m in population[i].history)
        assert_same_run(population[i], train_single(cfgs[i], model=MLP, data=digits,
                                                    device="cpu"))


def test_a_pruned_member_stops_without_disturbing_the_others(digits, slicing):
    cfgs = configs(["adam", "adamw", "adamw"], [3e-3, 1e-2, 3e-3], [1e-3, 0.1, 1e-2], epochs=4)
    seen = []

    def prune_member_1_after_epoch_2(epoch, metrics):
        seen.append((epoch, sorted(metrics)))
        return [1] if epoch == 2 else None

    population = train_population(cfgs, model=MLP, data=digits, device="cpu",
                                  callback=prune_member_1_after_epoch_2)
    assert population[1].stopped_epoch == 2 and len(population[1].history) == 2
    assert seen == [(1, [0, 1, 2]), (2, [0, 1, 2]), (3, [0, 2]), (4, [0, 2])]
    for i in (0, 2):
        assert_same_run(population[i], train_single(cfgs[i], model=MLP, data=digits,
                                                    device="cpu"))
    full = train_single(cfgs[1], model=MLP, data=digits, device="cpu")
    assert_same_run(population[1], type(full)(config=full.config, history=full.history[:2]))


def test_chunked_population_equals_one_chunk(digits):
    cfgs = configs(["adam", "adamw", "adamw", "adam", "adamw"], [3e-3, 1e-2, 3e-3, 1e-3, 1e-3],
                   [1e-3, 0.1, 1e-2, 0.0, 1.0], epochs=2)
    whole = train_population(cfgs, model=MLP, data=digits, device="cpu")
    chunked = train_population(cfgs, model=MLP, data=digits, device="cpu", max_members=2)
    for a, b in zip(whole, chunked, strict=True):
        assert_same_run(a, b, tol=1e-12)


def test_single_training_is_deterministic_for_a_seed(digits):
    config = TrainConfig(optimizer="adamw", lr=3e-3, weight_decay=1e-2, seed=7, epochs=2)
    first = train_single(config, model=MLP_NORM, data=digits, device="cpu")
    again = train_single(config, model=MLP_NORM, data=digits, device="cpu")
    other = train_single(TrainConfig(optimizer="adamw", lr=3e-3, weight_decay=1e-2, seed=8,
                                     epochs=2), model=MLP_NORM, data=digits, device="cpu")
    strip = lambda r: [(m.train_loss, m.test_error, m.weight_norm) for m in r.history]  # noqa: E731
    assert strip(first) == strip(again)
    assert strip(first) != strip(other)


def test_population_training_is_deterministic_in_float32(digits):
    cfgs = [TrainConfig(optimizer="adamw", lr=lr, weight_decay=1e-2, epochs=2)
            for lr in (1e-3, 1e-2)]
    a = train_population(cfgs, model=MLP, data=digits, device="cpu")
    b = train_population(cfgs, model=MLP, data=digits, device="cpu")
    timeless = lambda r: [(m.train_loss, m.test_error, m.weight_norm) for m in r.history]  # noqa: E731
    assert [timeless(r) for r in a] == [timeless(r) for r in b]


def test_mixed_families_cannot_share_a_population():
    cfgs = [TrainConfig(optimizer="adam", lr=1e-3, weight_decay=0.0),
            TrainConfig(optimizer="sgd", lr=1e-3, weight_decay=0.0)]
    with pytest.raises(ValueError, match="config 1"):
        check_population(cfgs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"optimizer": "rmsprop"}, "optimizer"), ({"lr": -1.0}, "lr"),
     ({"weight_decay": float("nan")}, "weight_decay"), ({"epochs": 0}, "epochs"),
     ({"dtype": "float16"}, "dtype")],
)
def test_bad_config_names_the_field(kwargs, field):
    base = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0} | kwargs
    with pytest.raises(ValueError, match=f"^{field}"):
        TrainConfig(**base)


def test_error_count_is_argmax_over_the_class_axis_ties_included():
    """``errors`` takes max(dim=1).indices for speed; it must count exactly what argmax does,
    in both layouts, when two classes tie for the largest logit (the first one wins)."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randint(0, 3, (6, 4, 50), generator=gen).float()  # many ties
    targets = torch.randint(0, 4, (6, 50), generator=gen)
    want = (logits.argmax(dim=1) != targets).sum(dim=-1)
    torch.testing.assert_close(errors(logits, targets), want)
    single = logits[0].T.contiguous()  # (B, C)
    assert int(errors(single, targets[0])) == int(want[0])
