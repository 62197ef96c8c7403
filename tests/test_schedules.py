"""Schedules as pure functions of the step, normalized decay, and the optimizer driver."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from core.optim import AdamW, param_groups
from core.schedules import (
    Constant,
    Cosine,
    NormalizedDecay,
    ScheduleDriver,
    StepDrop,
    WarmRestarts,
    Warmup,
    eta_curve,
    period_epochs,
)


def test_constant_is_one_everywhere():
    assert {Constant()(s, 7) for s in range(100)} == {1.0}


def test_step_drop_follows_the_paper():
    sched = StepDrop(milestones=(30, 60, 80), factor=0.1)
    spe = 10
    assert sched(29 * spe + 9, spe) == 1.0
    assert sched(30 * spe, spe) == pytest.approx(0.1)
    assert sched(60 * spe, spe) == pytest.approx(0.01)
    assert sched(99 * spe, spe) == pytest.approx(0.001)


def test_cosine_end_points_and_middle():
    sched = Cosine(epochs=10, eta_min=0.1)
    spe = 4
    assert sched(0, spe) == pytest.approx(1.0)
    assert sched(5 * spe, spe) == pytest.approx(0.55)
    assert sched(10 * spe, spe) == pytest.approx(0.1)
    assert sched(25 * spe, spe) == pytest.approx(0.1)  # stays at η_min after the run
    values = [sched(s, spe) for s in range(10 * spe + 1)]
    assert all(a >= b for a, b in itertools.pairwise(values))  # monotone


def test_warm_restarts_fall_at_100_300_700_1500():
    sched = WarmRestarts(t0=100, t_mult=2)
    assert sched.restart_epochs(until=2000) == [100, 300, 700, 1500]
    spe = 3
    for restart, length in ((100, 200), (300, 400), (700, 800), (1500, 1600)):
        assert sched(restart * spe, spe) == pytest.approx(1.0)  # η back at η_max
        assert sched(restart * spe - 1, spe) < 1e-3  # just before: nearly η_min
        assert sched.period(restart * spe, spe) == length
    assert sched.period(0, spe) == 100


def test_warm_restarts_advance_every_batch_fractionally():
    sched = WarmRestarts(t0=2, t_mult=1)
    spe = 4
    # Half-way through the first period (1 epoch = 4 batches in): η = ½.
    assert sched(4, spe) == pytest.approx(0.5)
    # One batch in: T_cur = 0.25 epochs.
    assert sched(1, spe) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25 / 2)))
    assert sched(8, spe) == pytest.approx(1.0)  # restart at epoch 2


def test_warmup_ramps_linearly_then_hands_over():
    sched = Warmup(inner=Cosine(epochs=10), epochs=2)
    spe = 5
    assert sched(0, spe) == pytest.approx(Cosine(epochs=10)(0, spe) / 10)
    assert sched(9, spe) == pytest.approx(Cosine(epochs=10)(9, spe))
    assert sched(30, spe) == pytest.approx(Cosine(epochs=10)(30, spe))


def test_normalized_decay_paper_example_and_periods():
    norm = NormalizedDecay(lambda_norm=0.025, batch_size=128, train_size=50_000)
    assert norm.paper_lambda(100) == pytest.approx(1.265e-4, rel=1e-3)
    sched = WarmRestarts(t0=100, t_mult=2)
    assert period_epochs(sched, 350 * 10, 10, total_epochs=1000) == 400
    assert period_epochs(Cosine(epochs=50), 7, 10, total_epochs=50) == 50
    assert period_epochs(Constant(), 7, 10, total_epochs=30) == 30


def test_driver_sets_eta_and_per_period_lambda():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = AdamW(param_groups(model, weight_decay=0.0), lr=1e-3)
    norm = NormalizedDecay(lambda_norm=0.05, batch_size=10, train_size=1000)
    driver = ScheduleDriver(opt, WarmRestarts(t0=1, t_mult=2), steps_per_epoch=100,
                            total_epochs=7, normalized=norm)
    eta = driver.apply(150)  # epoch 1.5: in the second period (T = 2)
    decayed, kept = opt.param_groups
    assert decayed["eta"] == kept["eta"] == eta == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert decayed["weight_decay"] == pytest.approx(norm.paper_lambda(2))
    assert kept["weight_decay"] == 0.0  # biases stay undecayed
    driver.apply(10)
    assert decayed["weight_decay"] == pytest.approx(norm.paper_lambda(1))


def test_eta_curve_samples_every_step():
    xs, ys = eta_curve(Cosine(epochs=2), epochs=2, steps_per_epoch=3)
    assert xs == pytest.approx([0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])
    assert ys[0] == 1.0 and ys[3] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: StepDrop(milestones=(30, 10)), "milestones"),
        (lambda: StepDrop(milestones=(10,), factor=0.0), "factor"),
        (lambda: Cosine(epochs=0), "epochs"),
        (lambda: Cosine(epochs=10, eta_min=-0.1), "eta_min"),
        (lambda: WarmRestarts(t0=0), "t0"),
        (lambda: WarmRestarts(t0=10, t_mult=0.5), "t_mult"),
        (lambda: Warmup(inner=Constant(), epochs=float("nan")), "warmup_epochs"),
    ],
)
def test_bad_schedule_parameters_name_the_field(factory, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        factory()


def test_bad_steps_per_epoch_is_refused():
    with pytest.raises(ValueError, match="^steps_per_epoch"):
        Constant()(0, 0)
