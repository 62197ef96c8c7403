"""Equilibrium telemetry: hand computations, population vs single parity, the rotational
equilibrium it is compared with, and its way through the runner to the curves table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.data import load_dataset
from core.models import ModelSpec, build_model, normalized_weights
from core.schedules import Cosine
from core.train import TrainConfig, train_population, train_single
from core.train._single import step_telemetry
from core.train._telemetry import FIELDS, FlatTelemetry, epoch_means
from studies.analysis import Cell
from studies.analysis._curves import equilibrium_angular_update, equilibrium_curves
from studies.plots import equilibrium_figure
from studies.runner import create_study, curves_frame, run_worker, trials_frame

MLP_BN = ModelSpec(name="mlp", widths=(32, 32), norm=True)
CNN_BN = ModelSpec(name="cnn", channels=(8, 8), norm=True)
MLP = ModelSpec(name="mlp", widths=(16,), norm=False)
PI = math.pi

# Two members, two tensors of two numbers each: "a" feeds BatchNorm, "b" does not. Member 1
# is member 0 scaled by 2 (same angles, twice the norms).
W = [
    {"a": (1.0, 0.0), "b": (3.0, 4.0)},  # W_0
    {"a": (1.0, 1.0), "b": (3.0, 4.0)},  # W_1: a turns by π/4, b stays
    {"a": (0.0, 2.0), "b": (-3.0, -4.0)},  # W_2: a turns by π/4 again, b by π
]
# Hand computation: angles a: π/4, π/4 → mean π/4; b: 0, π → mean π/2.
# Norms after each step: a: √2, 2 → (√2 + 2)/2; b: 5, 5 → 5.
HAND = {"angular_update_bn": PI / 4, "angular_update_other": PI / 2,
        "weight_norm_bn": (math.sqrt(2) + 2) / 2, "weight_norm_other": 5.0}


def _flat(w: dict, dtype=torch.float64) -> torch.Tensor:
    row = torch.tensor([*w["a"], *w["b"]], dtype=dtype)
    return torch.stack([row, 2 * row])


def test_flat_telemetry_of_two_steps_equals_the_hand_computation():
    flat = _flat(W[0])
    telemetry = FlatTelemetry(flat, [2, 2], [True, False])
    for w in W[1:]:
        telemetry.before()
        flat.copy_(_flat(w))
        telemetry.after()
    members = telemetry.epoch()
    assert members[0] == pytest.approx(HAND, rel=1e-12)
    scaled = {f: v * (2 if f.startswith("weight") else 1) for f, v in HAND.items()}
    assert members[1] == pytest.approx(scaled, rel=1e-12)
    assert telemetry.steps == 0 and not telemetry.sums.any()  # the next epoch starts


def test_step_telemetry_of_two_steps_equals_the_hand_computation():
    params = {n: torch.tensor(W[0][n], dtype=torch.float64) for n in "ab"}
    sums = [0.0] * 4
    for w in W[1:]:
        before = {n: p.clone() for n, p in params.items()}
        for n in "ab":
            params[n].copy_(torch.tensor(w[n]))
        step = step_telemetry(before, params, [("a", True), ("b", False)])
        sums = [s + v for s, v in zip(sums, step, strict=True)]
    assert epoch_means(sums, [1, 1], 2) == pytest.approx(HAND, rel=1e-12)


def test_an_empty_group_gives_nan():
    flat = torch.randn(3, 4, dtype=torch.float64)
    telemetry = FlatTelemetry(flat, [2, 2], [True, True])
    telemetry.before()
    flat.mul_(0.5)
    telemetry.after()
    row = telemetry.epoch()[0]
    assert math.isnan(row["angular_update_other"]) and math.isnan(row["weight_norm_other"])
    # A pure scaling does not rotate: zero up to √ε times the step (‖ΔW‖/‖W‖ = 0.5 here).
    assert row["angular_update_bn"] == pytest.approx(0.0, abs=1e-7)


def test_float32_keeps_small_angles_accurate():
    """A 1e-4 rad step in float32: the naive arccos of the cosine would be off by ~50 %."""
    gen = torch.Generator().manual_seed(0)
    w0 = torch.randn(8, 4096, generator=gen, dtype=torch.float64)
    step = torch.randn(8, 4096, generator=gen, dtype=torch.float64)
    step -= (step * w0).sum(1, keepdim=True) / (w0 * w0).sum(1, keepdim=True) * w0  # ⟂ w0
    step *= 1e-4 * w0.norm(dim=1, keepdim=True) / step.norm(dim=1, keepdim=True)
    w1 = w0 + step
    flat = w0.float()
    telemetry = FlatTelemetry(flat, [4096], [True])
    telemetry.before()
    flat.copy_(w1.float())
    telemetry.after()
    w0f, w1f = w0.float().double(), w1.float().double()  # the float32 weights, exactly
    want = torch.acos((w0f * w1f).sum(1) / (w0f.norm(dim=1) * w1f.norm(dim=1)))
    got = [row["angular_update_bn"] for row in telemetry.epoch()]
    assert got == pytest.approx(want.tolist(), rel=1e-3)
    assert want.tolist() == pytest.approx([1e-4] * 8, rel=1e-2)


@pytest.mark.parametrize("spec", [
    MLP_BN, CNN_BN, ModelSpec(name="cnn1d", channels=(4, 4), norm=True),
    ModelSpec(name="resnet", depth=8, width=4, norm=True),
], ids=["mlp", "cnn", "cnn1d", "resnet"])
def test_normalized_weights_are_exactly_the_scale_invariant_ones(spec):
    shape = {"mlp": (1, 40), "cnn": (1, 8, 8), "cnn1d": (1, 40), "resnet": (3, 8, 8)}[spec.name]
    net = build_model(spec, input_shape=shape, num_classes=10, seed=0).double().train()
    x = torch.randn(16, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    bn = normalized_weights(net)
    base = net(x)
    for name, p in net.named_parameters():
        if p.dim() < 2:
            continue
        with torch.no_grad():
            p.mul_(3.0)
        # Up to BatchNorm's ε (1e-5 against a variance of order 1).
        invariant = torch.allclose(net(x), base, rtol=1e-3, atol=1e-3)
        with torch.no_grad():
            p.div_(3.0)
        assert invariant == (name in bn), name
    assert bn and "classifier.weight" not in bn
    plain = build_model(ModelSpec(name=spec.name, norm=False, widths=spec.widths,
                                  channels=spec.channels, depth=spec.depth, width=spec.width),
                        input_shape=shape, num_classes=10, seed=0)
    assert normalized_weights(plain) == frozenset()


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split_seed=0, train_size=300)


def _configs(optimizers, lrs, wds, dtype="float64", epochs=3):
    return [TrainConfig(optimizer=o, lr=lr, weight_decay=wd, epochs=epochs, batch_size=64,
                        dtype=dtype, schedule=Cosine(epochs=epochs, eta_min=0.1))
            for o, lr, wd in zip(optimizers, lrs, wds, strict=True)]


# float32: the population's batched products and the single run's sum in different orders,
# so their weights drift apart by ~1e-6 per step (more with two threads than one), and an
# angle between consecutive weights is a difference of nearly equal vectors: 1e-3 relative.
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-9), ("float32", 1e-3)])
@pytest.mark.parametrize("model, optimizers, lrs, wds", [
    (MLP_BN, ["adam", "adamw", "adamw"], [3e-3, 1e-2, 1e-3], [1e-3, 0.1, 1e-2]),
    (CNN_BN, ["sgd", "sgdw", "sgdw"], [0.05, 0.1, 0.02], [1e-3, 1e-2, 1e-1]),
    (MLP, ["adamw", "adam"], [1e-2, 3e-3], [0.05, 1e-3]),
], ids=["mlp-bn-adam", "cnn-bn-sgd", "mlp-plain"])
def test_population_telemetry_equals_single_runs(digits, model, optimizers, lrs, wds, dtype,
                                                 tol):
    cfgs = _configs(optimizers, lrs, wds, dtype)
    population = train_population(cfgs, model=model, data=digits, device="cpu")
    for config, result in zip(cfgs, population, strict=True):
        single = train_single(config, model=model, data=digits, device="cpu")
        for got, want in zip(result.history, single.history, strict=True):
            for field in (*FIELDS, "eta_epoch_mean"):
                value = getattr(want, field)
                if field.endswith("_bn") and not model.norm:
                    assert math.isnan(value) and math.isnan(getattr(got, field))
                    continue
                assert value > 0 and getattr(got, field) == pytest.approx(value, rel=tol), field
    # η̄ of the cosine schedule: the mean of η_t over each epoch's steps, not its last value.
    first = population[0].history[0]
    assert first.eta < first.eta_epoch_mean < 1.0


def test_telemetry_off_leaves_nan_and_the_training_unchanged(digits):
    cfgs = _configs(["adamw", "adam"], [1e-2, 3e-3], [0.05, 1e-3], epochs=2)
    on = train_population(cfgs, model=MLP_BN, data=digits, device="cpu")
    off = train_population(cfgs, model=MLP_BN, data=digits, device="cpu", telemetry=False)
    single = train_single(cfgs[0], model=MLP_BN, data=digits, device="cpu", telemetry=False)
    for a, b in zip(on[0].history, off[0].history, strict=True):
        assert (a.train_loss, a.test_error, a.weight_norm) == (b.train_loss, b.test_error,
                                                               b.weight_norm)
        assert all(math.isnan(getattr(b, f)) for f in FIELDS) and b.eta_epoch_mean > 0
    assert all(math.isnan(getattr(single.final, f)) for f in FIELDS)


def test_equilibrium_prediction_against_hand_values():
    # AdamW, η = 0.5, λ = 0.01, β₁ = 0.9: √(2 · 0.5 · 0.01 · 0.1 / 1.9) = √(5.263158e-4).
    assert equilibrium_angular_update("adamw", 0.5, 1e-3, 0.01, beta1=0.9) == pytest.approx(
        0.02294157, rel=1e-6)
    # α drops out of the decoupled prediction; β₁ = 0 gives the textbook √(2ηλ) = 0.1.
    assert equilibrium_angular_update("sgdw", 0.5, 7.0, 0.01, beta1=0.0) == pytest.approx(0.1)
    # SGD + L2: √(2 · 1 · 0.1 · 0.01 / 1.9) = √(1.0526316e-3), coupled to α.
    assert equilibrium_angular_update("sgd", 1.0, 0.1, 0.01, beta1=0.9) == pytest.approx(
        0.03244428, rel=1e-6)
    assert math.isnan(equilibrium_angular_update("adam", 1.0, 0.1, 0.01, beta1=0.9))


def test_decoupled_training_reaches_the_predicted_equilibrium(digits):
    """AdamW and SGDW at two α each settle at √(2ηλ(1−β₁)/(1+β₁)) per step, α or not; the
    momentum factor matters (without it the prediction would be 4.4× too high)."""
    cfgs = [TrainConfig(optimizer=o, lr=lr, weight_decay=0.25, epochs=12, batch_size=32)
            for o, lrs in (("adamw", (2**-9, 2**-6)), ("sgdw", (2**-5, 2**-2))) for lr in lrs]
    results = [r for family in (cfgs[:2], cfgs[2:])
               for r in train_population(family, model=MLP_BN, data=digits, device="cpu")]
    predicted = equilibrium_angular_update("adamw", 1.0, 0.0, 0.25, beta1=0.9)
    measured = [np.mean([m.angular_update_bn for m in r.history[-4:]]) for r in results]
    assert measured == pytest.approx([predicted] * 4, rel=0.15)  # measured: within 7 %


def test_worker_stores_telemetry_and_curves_export_it(tmp_path, tiny_spec):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = tiny_spec(model={"name": "mlp", "widths": [16], "norm": True})
    create_study(spec, storage=url)
    run_worker(storage=url, study_name="tiny")
    curves, trials = curves_frame(url, "tiny"), trials_frame(url, "tiny")
    assert len(curves) == 8 * 2
    for column in ("eta_epoch_mean", *FIELDS):
        assert curves[column].gt(0).all(), column
    cells = [Cell(optimizer=o, lr=0.01, wd_paper=0.01) for o in ("adamw", "adam")]
    frame = equilibrium_curves(curves, trials, cells=cells)
    adamw, adam = (frame[frame["optimizer"] == o] for o in ("adamw", "adam"))
    assert (curves["eta_epoch_mean"] == 1.0).all()  # the constant schedule
    assert adamw["predicted"].tolist() == pytest.approx([math.sqrt(2 * 0.01 * 0.1 / 1.9)] * 2)
    assert adam["predicted"].isna().all() and adam["mean"].gt(0).all()
    fig = equilibrium_figure(curves, trials, cells=cells)
    roles = sorted((t.meta["cell"].split()[0], t.meta["role"]) for t in fig.data)
    assert roles == [("Adam", "measured"), ("AdamW", "measured"), ("AdamW", "predicted")]
    assert "rad" in fig.layout.yaxis.title.text


def test_decay_ratios_follow_the_restart_periods_by_hand():
    """Normalized decay with warm restarts T₀ = 1, T_mult = 2: periods of 1, 2 and 4 epochs, so
    λ_e/λ = √(T₀/T_i) = 1, 1/√2, 1/√2, 1/2, 1/2, 1/2, 1/2; no restarts: 1 throughout."""
    from studies.dashboard import decay_ratios
    from studies.spec import ScheduleSpec

    restarts = ScheduleSpec(name="warm_restarts", t0=1, t_mult=2)
    half = math.sqrt(0.5)
    assert decay_ratios(restarts, epochs=7, steps_per_epoch=5) == pytest.approx(
        [1, half, half, 0.5, 0.5, 0.5, 0.5])
    assert decay_ratios(ScheduleSpec(name="cosine"), epochs=4, steps_per_epoch=3) == (1.0,) * 4
    # A restart inside epoch 2 (T₀ = 1.5): the epoch mixes the two periods' λ.
    straddling = decay_ratios(ScheduleSpec(name="warm_restarts", t0=1.5, t_mult=2), epochs=3,
                              steps_per_epoch=10)
    assert straddling[0] == 1.0 and math.sqrt(1.5 / 3) < straddling[1] < 1.0


def test_equilibrium_under_normalized_restarts_uses_the_lambda_training_applied(tmp_path,
                                                                                tiny_spec):
    """The Curves page's prediction at each epoch is √(2·s̄_e·(1−β₁)/(1+β₁)) with s̄_e the
    epoch's mean η_t·λ_t as core's NormalizedDecay sets λ_t per period, not the first
    period's λ throughout (which would put epochs 4–7 √2 too high)."""
    from core.schedules import NormalizedDecay, period_epochs
    from studies.dashboard import study_decay_ratios
    from studies.runner import core_schedule

    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = tiny_spec(model={"name": "mlp", "widths": [16], "norm": True}, epochs=7,
                     optimizers=["adamw"], lr={"values": [0.01]},
                     weight_decay={"convention": "normalized", "values": [0.05]},
                     schedules=[{"name": "warm_restarts", "t0": 1, "t_mult": 2}])
    create_study(spec, storage=url)
    run_worker(storage=url, study_name="tiny")
    curves, trials = curves_frame(url, "tiny"), trials_frame(url, "tiny")
    cells = [Cell(optimizer="adamw", lr=0.01, wd_paper=float(trials["wd_paper"].iloc[0]))]
    ratios = study_decay_ratios(spec, trials)
    frame = equilibrium_curves(curves, trials, cells=cells, decay_ratios=ratios)

    steps = int(trials["steps_per_epoch"].iloc[0])
    schedule = core_schedule(spec.schedules[0], epochs=7)
    unit = NormalizedDecay(0.05, batch_size=50, train_size=100)
    want = []
    for epoch in range(7):
        shrink = [schedule(t, steps) * unit.paper_lambda(period_epochs(schedule, t, steps, 7))
                  for t in range(epoch * steps, (epoch + 1) * steps)]
        want.append(math.sqrt(2 * np.mean(shrink) * 0.1 / 1.9))
    assert frame["predicted"].tolist() == pytest.approx(want, rel=1e-9)
    without = equilibrium_curves(curves, trials, cells=cells)
    assert without["predicted"].iloc[-1] / frame["predicted"].iloc[-1] == pytest.approx(
        math.sqrt(2), rel=1e-9)
