"""Transfer families: the spec section, its members, and the best-λ fit against N."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studies.analysis import TRIAL_COLUMNS, transfer_fits, transfer_points, transfer_verdict
from studies.analysis._transfer import slope_range
from studies.plots import transfer_figure
from studies.spec import SpecError, load_preset, member_name, spec_from_dict

BASE: dict[str, Any] = {
    "name": "fam",
    "data": {"dataset": "mnist1d"},
    "model": {"name": "mlp", "widths": [64, 64]},
    "optimizers": ["adamw"],
    "lr": {"values": [0.001]},
    "weight_decay": {"convention": "paper", "values": [0.01]},
    "epochs": 2,
    "batch_size": 32,
    "transfer": {"data": [0.25, 0.5, 1, 2]},
}


def spec(**changes: Any) -> Any:
    return spec_from_dict({**BASE, **changes})


def test_data_members_scale_num_samples_and_record_the_family():
    members = spec().members
    assert [m.name for m in members] == ["fam-x0.25", "fam-x0.5", "fam-x1", "fam-x2"]
    assert [m.data.num_samples for m in members] == [1250, 2500, 5000, 10000]
    assert all(m.data.train_size is None and m.model.widths == (64, 64) for m in members)
    assert [m.transfer.scale for m in members] == [0.25, 0.5, 1.0, 2.0]
    for m in members:  # an ordinary study: no members of its own, round-trips
        assert m.members == () and spec_from_dict(m.to_dict()) == m
        assert {k: v for k, v in m.to_dict().items() if k not in ("name", "data", "transfer")} \
            == {k: v for k, v in spec().to_dict().items() if k not in ("name", "data",
                                                                        "transfer")}
    assert member_name("fam", 0.25) == "fam-x0.25"


def test_data_members_scale_train_size_on_other_data_sets():
    family = spec(data={"dataset": "digits", "train_size": 400}, transfer={"data": [0.5, 2]})
    assert [m.data.train_size for m in family.members] == [200, 800]


@pytest.mark.parametrize("model, field, expected", [
    ({"name": "mlp", "widths": [64, 3]}, "widths", [(32, 2), (128, 6)]),
    ({"name": "cnn1d", "channels": [25, 1]}, "channels", [(12, 1), (50, 2)]),  # 0.5 rounds up
    ({"name": "resnet", "width": 16}, "width", [8, 32]),
])
def test_width_members_scale_every_width_to_an_integer_at_least_one(model, field, expected):
    family = spec(model=model, transfer={"width": [0.5, 2]})
    assert [getattr(m.model, field) for m in family.members] == expected
    assert all(m.data.num_samples == 5000 for m in family.members)


@pytest.mark.parametrize("changes, path", [
    ({"transfer": {"data": [1]}}, "transfer.data"),  # fewer than 2
    ({"transfer": {"data": [0.5, 1, 2, 3, 4, 5, 6, 7, 8]}}, "transfer.data"),  # more than 8
    ({"transfer": {"data": [1, 1]}}, "transfer.data[1]"),  # not distinct
    ({"transfer": {"data": [0, 1]}}, "transfer.data[0]"),  # not > 0
    ({"transfer": {"width": [-1, 1]}}, "transfer.width[0]"),
    ({"transfer": {}}, "transfer"),  # neither data nor width
    ({"transfer": {"data": [1, 2], "width": [1, 2]}}, "transfer"),  # both
    ({"transfer": {"data": [0.333, 1]}}, "transfer.data[0]"),  # 1665 signals: not a multiple
    ({"transfer": {"data": [0.001, 1]}}, "transfer.data[0]"),  # 5 signals: below 50
    ({"transfer": {"data": [1, 300]}}, "transfer.data[1]"),  # above the generator's range
    ({"data": {"dataset": "digits"}}, "transfer.data"),  # train_size unknown
    ({"data": {"dataset": "digits", "train_size": 100}, "transfer": {"data": [0.05, 1]}},
     "transfer.data[0]"),  # 5 images
    ({"model": {"name": "mlp", "widths": [2]}, "transfer": {"width": [0.1, 0.2]}},
     "transfer.width[1]"),  # both round to width 1: the same study twice
    ({"transfer": {"width": [1, 2000]}}, "transfer.width[1]"),  # wider than MAX_WIDTH
    ({"transfer": {"data": [1, 2], "scale": 3.0}}, "transfer.scale"),
    ({"name": "n" * 62}, "transfer.data[0]"),  # member name over 64 characters
    ({"mode": "tune", "lr": None, "weight_decay": {"convention": "paper"},
      "tune": {"n_trials": 2, "lr": {"min": 1e-3, "max": 1e-2},
               "weight_decay": {"min": 1e-3, "max": 1e-2}}}, "transfer"),
])
def test_bad_transfer_sections_name_their_field(changes, path):
    with pytest.raises(SpecError) as error:
        spec(**changes)
    assert error.value.path == path, error.value


def test_the_preset_is_a_data_family_of_mnist1d():
    family = load_preset("transfer")
    assert family.transfer.over == "data" and len(family.members) == 4
    assert [m.data.num_samples for m in family.members] == [1250, 2500, 5000, 10000]
    assert family.schedule_names == ("constant",)


# --- the fit --------------------------------------------------------------------------------

LAMBDAS = [2.0**-k for k in range(8, 2, -1)]  # 2^-8 ... 2^-3, ascending


def _member(study: str, best: dict[str, int], *, near: dict[str, int] | None = None
            ) -> list[dict]:
    """Trials of one member on a 1 × 6 grid, two seeds (errors m ± 0.01): each optimizer's best
    column has error 0.10, ``near`` columns 0.101 (within the noise), the rest 0.5."""
    rows = []
    for opt, col in best.items():
        for j, lam in enumerate(LAMBDAS):
            m = 0.10 if j == col else 0.101 if (near or {}).get(opt) == j else 0.5
            for seed, e in ((0, m - 0.01), (1, m + 0.01)):
                rows.append({c: np.nan for c in TRIAL_COLUMNS} | dict(
                    study=study, trial=len(rows), state="COMPLETE", optimizer=opt,
                    schedule="constant", lr=1e-3, seed=seed, weight_decay=lam,
                    wd_convention="paper", wd_paper=lam, wd_pytorch=lam / 1e-3,
                    diverged=False, final_test_error=e))
    return rows


def _family() -> tuple[pd.DataFrame, dict[str, float]]:
    # AdamW's best λ halves as N doubles (2^-4, 2^-5, 2^-6: slope −1); Adam's stays 2^-5.
    rows = (_member("f-x1", {"adamw": 4, "adam": 3}, near={"adamw": 3})
            + _member("f-x2", {"adamw": 3, "adam": 3}) + _member("f-x4", {"adamw": 2, "adam": 3}))
    return pd.DataFrame(rows), {"f-x1": 1000, "f-x2": 2000, "f-x4": 4000}


def test_points_give_each_members_best_lambda_and_its_near_best_range():
    points = transfer_points(*_family())
    adamw = points[points["optimizer"] == "adamw"]
    assert adamw["x"].tolist() == [1000, 2000, 4000]
    assert adamw["best_wd_paper"].tolist() == [2.0**-4, 2.0**-5, 2.0**-6]
    # f-x1: 0.101 vs 0.100 with s_p = 0.01·√2 over two seeds is t ≈ 0.07: within the noise.
    first = adamw.iloc[0]
    assert (first["wd_paper_low"], first["wd_paper_high"], first["n_near_best"]) == (
        2.0**-5, 2.0**-4, 2)
    assert adamw["wd_paper_low"].tolist()[1:] == adamw["best_wd_paper"].tolist()[1:]
    assert not points["at_edge"].any() and points["best_value"].eq(0.10).all()


def test_fit_recovers_the_slopes_by_hand():
    fits = {f.optimizer: f for _, f in transfer_fits(transfer_points(*_family())).iterrows()}
    # log2 λ = −4, −5, −6 at log2 N = log2 1000 + 0, 1, 2: slope −1, λ(1) = 2^-4 · 1000.
    assert fits["adamw"].slope == pytest.approx(-1.0)
    assert fits["adamw"].intercept == pytest.approx(-4 + math.log2(1000))
    assert fits["adam"].slope == pytest.approx(0.0, abs=1e-12)
    assert fits["adam"].intercept == pytest.approx(-5.0)
    assert (fits["adamw"].n, fits["adamw"].at_edge) == (3, 0)
    # Only the line through (1, −5) and (2, −6) passes every near-best range: slope −1 alone.
    assert (fits["adamw"].slope_low, fits["adamw"].slope_high) == pytest.approx((-1, -1))
    words = transfer_verdict(fits["adamw"], "data")
    assert "slope -1.00 over 3 data sizes" in words
    assert "consistent with constant τ_epoch = b/(η̄·λ·N), i.e. λ ∝ 1/N (slope -1), not " \
        "with constant λ (slope 0)" in words
    assert "consistent with constant λ (slope 0), not with" in transfer_verdict(fits["adam"],
                                                                                 "data")
    assert "edge" not in words
    figure = transfer_figure(transfer_points(*_family()), transfer_fits(transfer_points(
        *_family())), over="data")
    assert len(figure.data) == 2 + 2 + 2  # points, fits, references


def test_fit_leaves_out_zero_lambda_and_counts_edges():
    trials, x = _family()
    trials.loc[(trials["study"] == "f-x4") & (trials["optimizer"] == "adamw")
               & (trials["wd_paper"] == 2.0**-6), "final_test_error"] = 0.5
    trials.loc[(trials["study"] == "f-x4") & (trials["optimizer"] == "adamw")
               & (trials["wd_paper"] == 2.0**-8), "final_test_error"] = 0.05
    fits = transfer_fits(transfer_points(trials, x))
    fit = fits[fits["optimizer"] == "adamw"].iloc[0]
    # log2 λ = −4, −5, −8 at log2 N − log2 1000 = 0, 1, 2 (ȳ = −17/3): the slope by hand is
    # Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = (−1·(5/3) + 0·(2/3) + 1·(−7/3)) / 2 = −2.
    assert fit.slope == pytest.approx(-2.0) and fit.at_edge == 1
    assert "1 of the best λ lie on the grid's edge" in transfer_verdict(fit, "data")
    trials.loc[trials["study"] == "f-x4", "wd_paper"] = 0.0  # λ = 0: no logarithm
    trials.loc[trials["study"] == "f-x4", "weight_decay"] = 0.0
    assert transfer_points(trials, x)["best_wd_paper"].eq(0).sum() == 2
    assert transfer_fits(transfer_points(trials, x))["n"].tolist() == [2, 2]


def test_slope_range_by_hand_and_the_verdict_when_the_noise_allows_both():
    # Intervals [0, 1] at u = 0 and [−2, −1] at u = 1: slopes from −1 − 2 = −3 to −2 + 1 = −1.
    u = np.array([0.0, 1.0])
    assert slope_range(u, np.array([0.0, -2.0]), np.array([1.0, -1.0])) == (-3.0, -1.0)
    # Three points not on one line: no slope passes them all.
    flat = np.array([0.0, 0.0, 1.0])
    assert all(map(math.isnan, slope_range(np.array([0.0, 1.0, 2.0]), flat, flat)))
    fit = pd.Series({"optimizer": "adamw", "schedule": "constant", "slope": -0.5, "n": 4,
                     "slope_low": -1.5, "slope_high": 0.3, "at_edge": 0})
    assert "the seed noise cannot tell constant λ (slope 0) from constant τ_epoch" in \
        transfer_verdict(fit, "data")
    assert "no straight line" in transfer_verdict(fit.copy().replace(
        {-1.5: np.nan, 0.3: np.nan}), "data")
