"""studies.plots: figure content (data, axes, overlays, colour axis), not pixels."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from studies.analysis import CURVE_COLUMNS, TRIAL_COLUMNS, Cell, landscape
from studies.plots import (
    BEST_NAME,
    COUPLING_NAME,
    DIVERGED_NAME,
    ERROR_RANGE,
    ISO_GROUP,
    NEAR_BEST_NAME,
    OPTIMIZER_COLORS,
    PARTLY_DIVERGED_NAME,
    SIGNIFICANT_NAME,
    curves_figure,
    difference_figure,
    landscape_figure,
    log2_ticks,
    pow2_label,
    schedule_figure,
)

FACTOR = 2.0**-6
LOG2_LR = [-12, -11, -10, -9, -8, -7, -6]
LOG2_WD = [-14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4]


def make_trials(
    error: Callable[[float, float], float],
    *,
    optimizer: str,
    convention: str = "paper",
    log2_lr: Sequence[float] = LOG2_LR,
    log2_wd: Sequence[float] = LOG2_WD,
    seeds: Sequence[int] = (0,),
    first_trial: int = 0,
    zero_wd: bool = False,
) -> pd.DataFrame:
    wds = [2.0**w for w in log2_wd] + ([0.0] if zero_wd else [])
    rows = []
    cells = itertools.product([2.0**a for a in log2_lr], wds, seeds)
    for n, (lr, wd, seed) in enumerate(cells):
        lam = {"paper": wd, "pytorch": wd * lr, "normalized": wd * FACTOR}[convention]
        err = error(lr, lam) + 0.001 * seed
        rows.append({
            "study": "s", "trial": first_trial + n, "state": "COMPLETE", "optimizer": optimizer,
            "schedule": "cosine", "lr": lr, "seed": seed, "weight_decay": wd,
            "wd_convention": convention, "wd_paper": lam, "wd_pytorch": lam / lr,
            "wd_normalized": lam / FACTOR, "diverged": False, "diverged_epoch": math.nan,
            "final_test_error": err, "best_test_error": err, "final_val_error": err,
            "best_val_error": err, "final_train_loss": err, "final_weight_norm": 1.0,
            "duration_s": 1.0, "epochs_done": 5,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))


def l2(x: float) -> float:
    return math.log2(max(x, 2.0**-40))


def separable(lr: float, lam: float) -> float:
    return 0.06 + 0.003 * (l2(lr) + 8.6) ** 2 + 0.002 * (l2(lam) + 9.4) ** 2


def diagonal(lr: float, lam: float) -> float:
    return 0.08 + 0.001 * (l2(lr) + 8.6) ** 2 + 0.003 * (l2(lr * lam) + 18.4) ** 2


def four_landscapes(**kw: object) -> dict[str, object]:
    fns = {"sgd": diagonal, "sgdw": separable, "adam": diagonal, "adamw": separable}
    out = {}
    for k, (opt, fn) in enumerate(fns.items()):
        trials = make_trials(fn, optimizer=opt, first_trial=1000 * k)
        out[opt] = landscape(trials, optimizer=opt, **kw)
    return out


def traces(fig: go.Figure, kind: type | None = None, role: str | None = None) -> list:
    found = [t for t in fig.data if kind is None or isinstance(t, kind)]
    if role is not None:
        found = [t for t in found if isinstance(t.meta, dict) and t.meta.get("role") == role]
    return found


def test_pow2_labels_and_ticks() -> None:
    assert pow2_label(-10) == "2⁻¹⁰" and pow2_label(3) == "2³" and pow2_label(-9.5) == "2^-9.5"
    vals, text = log2_ticks([2**-3, 2**-1, 2**-2], zero_at=-4)
    assert vals == [-4, -3, -2, -1] and text == ["0", "2⁻³", "2⁻²", "2⁻¹"]
    # Values off the powers of two (a refined grid): ticks on the powers they span, never on
    # irregularly spaced values whose labels would overlap.
    vals, text = log2_ticks([2**-10, 2**-9.5, 2**-9.25, 2**-8])
    assert vals == [-10, -9, -8] and text == ["2⁻¹⁰", "2⁻⁹", "2⁻⁸"]
    vals, text = log2_ticks([2.0**e for e in range(-20, 0)], max_ticks=5)
    assert len(vals) <= 5 and text[0] == "2⁻²⁰"


def test_panels_share_one_colour_axis_and_show_the_data() -> None:
    lands = four_landscapes()
    fig = landscape_figure(lands)
    heatmaps = traces(fig, go.Heatmap)
    assert len(heatmaps) == 4
    assert [a.text for a in fig.layout.annotations] == ["SGD", "SGDW", "Adam", "AdamW"]
    assert {h.coloraxis for h in heatmaps} == {"coloraxis"}
    assert not any(getattr(t.marker, "showscale", None) for t in traces(fig, go.Scatter))
    all_values = np.concatenate([land.value.ravel() for land in lands.values()])
    assert fig.layout.coloraxis.cmin == pytest.approx(all_values.min())
    assert fig.layout.coloraxis.cmax == pytest.approx(all_values.max())
    for h, land in zip(heatmaps, lands.values(), strict=True):
        np.testing.assert_array_equal(np.asarray(h.z), land.value)
        np.testing.assert_allclose(2.0 ** np.asarray(h.x), land.wd)
        np.testing.assert_allclose(2.0 ** np.asarray(h.y), land.lr)
        custom = np.asarray(h.customdata)
        np.testing.assert_array_equal(custom[..., 0], land.cell_lr)  # hover values are exact
        np.testing.assert_array_equal(custom[..., 1], land.cell_wd)
        np.testing.assert_array_equal(custom[..., 2], land.value)
        assert "λ (paper)" in h.hovertemplate and "final test error" in h.hovertemplate
    # One heatmap and one ring of best cells per panel, nothing diverged.
    assert len(fig.data) == 8
    fig.to_json()  # valid for the browser


@pytest.mark.parametrize(
    ("convention", "expected"),
    [("paper", "(paper)"), ("pytorch", "(PyTorch)"), ("normalized", "normalized")],
)
def test_axis_titles_name_the_convention(convention: str, expected: str) -> None:
    trials = make_trials(separable, optimizer="adamw", convention=convention)
    land = landscape(trials, optimizer="adamw", convention=convention)
    fig = landscape_figure({"adamw": land})
    assert expected in fig.layout.xaxis.title.text
    assert fig.layout.yaxis.title.text == "learning rate α"
    assert "2⁻¹²" in fig.layout.yaxis.ticktext and "2⁻⁶" in fig.layout.yaxis.ticktext
    shown = list(fig.layout.xaxis.ticktext)  # thinned to at most 7, every other power here
    assert shown == [pow2_label(w) for w in LOG2_WD[::2]] and fig.layout.xaxis.tickangle == 0


def theory_landscape(axis: str, error: Callable[[float, float], float] = separable, **kw):
    trials = make_trials(error, optimizer="adamw", **kw)
    trials = trials.assign(eta_mean=0.5, steps_per_epoch=10.0,
                           shrink_per_step=0.5 * trials["wd_paper"])
    return landscape(trials, optimizer="adamw", convention=axis)


@pytest.mark.parametrize(("axis", "expected"), [
    ("shrink", ["per-step shrink s = η̄·λ (paper λ", "η̄ = mean schedule multiplier over the "
                "run = 0.5"]),
    ("tau_epoch", ["EMA timescale τ_epoch = 1/(η̄·λ·S) epochs (paper λ)", "run = 0.5",
                   "S = 10 steps per epoch"]),
    ("alpha_lambda", ["α·λ (paper λ; for L2: the effective decay of normalized layers)"]),
])
def test_theory_axes_are_titled_with_their_definition_and_eta(axis: str, expected: list[str]
                                                               ) -> None:
    fig = landscape_figure({"adamw": theory_landscape(axis)}, show_iso=True, show_coupling=True)
    # once, under the panels (the panel titles are annotations above them)
    (definition,) = (a.text for a in fig.layout.annotations if a.yanchor == "top")
    for text in expected:
        assert text in definition
    assert not traces(fig, role=ISO_GROUP)  # lines of constant s, τ or α·λ are the columns
    (points, _) = traces(fig, role=COUPLING_NAME)
    assert "best λ per α (paper λ), slope" in points.name
    # α·λ values typed on the paper axis are not drawn here either (they raised KeyError)
    typed = landscape_figure({"adamw": theory_landscape(axis)}, iso_products=[2**-20])
    assert not traces(typed, role=ISO_GROUP)


def test_theory_axes_place_cells_and_the_coupling_fit_at_their_coordinates() -> None:
    shrink = theory_landscape("shrink")
    fig = landscape_figure({"adamw": shrink}, show_coupling=True)
    heat = traces(fig, go.Heatmap)[0]
    np.testing.assert_allclose(heat.x, np.array(LOG2_WD) - 1)  # log₂(½·λ)
    (points, _) = traces(fig, role=COUPLING_NAME)
    paper, _ = traces(landscape_figure({"adamw": theory_landscape("paper")}, show_coupling=True),
                      role=COUPLING_NAME)
    np.testing.assert_allclose(points.x, np.asarray(paper.x) - 1)  # the same best λ, shifted
    tau = landscape_figure({"adamw": theory_landscape("tau_epoch", zero_wd=True)})
    heat = traces(tau, go.Heatmap)[0]
    np.testing.assert_allclose(heat.x[1:], -np.log2(0.5 * 10 * 2.0 ** np.array(LOG2_WD)))
    assert heat.x[0] == pytest.approx(max(heat.x[1:]) + 1)  # λ = 0: τ = ∞, one step right
    assert tau.layout.xaxis.ticktext[-1] == "∞"
    assert tau.layout.xaxis.tickvals[-1] == pytest.approx(heat.x[0])


def test_circled_cells_are_exactly_the_k_best() -> None:
    trials = make_trials(diagonal, optimizer="sgd")
    fig = landscape_figure({"sgd": landscape(trials, optimizer="sgd")}, show_best=7)
    (ring,) = traces(fig, role=BEST_NAME)
    assert ring.marker.symbol == "circle-open" and ring.marker.color == "black"
    circled = set(zip(2.0 ** np.asarray(ring.y), 2.0 ** np.asarray(ring.x), strict=True))
    best = trials.nsmallest(7, "final_test_error")
    assert circled == set(zip(best["lr"], best["wd_paper"], strict=True))
    assert len(ring.x) == 7 and ring.name == "7 best"


def test_diverged_cells_are_crossed_and_not_circled() -> None:
    trials = make_trials(separable, optimizer="adamw", seeds=(0, 1))
    best = trials.nsmallest(1, "final_test_error").iloc[0]
    dead = [(best["lr"], best["wd_paper"]), (2.0**-6, 2.0**-4)]
    for lr, wd in dead:
        hit = (trials["lr"] == lr) & (trials["wd_paper"] == wd)
        trials.loc[hit, ["diverged", "final_test_error"]] = [True, 0.9]
    half = (trials["lr"] == 2.0**-12) & (trials["wd_paper"] == 2.0**-14) & (trials["seed"] == 0)
    trials.loc[half, "diverged"] = True
    lands = {
        "adamw": landscape(trials, optimizer="adamw"),
        "adam": landscape(trials.assign(optimizer="adam"), optimizer="adam"),
    }
    fig = landscape_figure(lands)
    crosses = traces(fig, role=DIVERGED_NAME)
    assert len(crosses) == 2 and crosses[0].marker.symbol == "x"
    assert [c.showlegend for c in crosses] == [True, False]  # one legend entry
    marked = set(zip(2.0 ** np.asarray(crosses[0].y), 2.0 ** np.asarray(crosses[0].x), strict=True))
    assert marked == set(dead)
    (partly, _) = traces(fig, role=PARTLY_DIVERGED_NAME)
    assert (2.0 ** partly.y[0], 2.0 ** partly.x[0]) == (2.0**-12, 2.0**-14)
    ring = traces(fig, role=BEST_NAME)[0]
    circled = set(zip(2.0 ** np.asarray(ring.y), 2.0 ** np.asarray(ring.x), strict=True))
    assert not circled & (set(dead) | {(2.0**-12, 2.0**-14)})
    heat = traces(fig, go.Heatmap)[0]
    lr_row = LOG2_LR.index(round(math.log2(best["lr"])))
    wd_col = LOG2_WD.index(round(math.log2(best["wd_paper"])))
    assert np.isnan(np.asarray(heat.z)[lr_row, wd_col])
    # heatmap, ring, crosses, thin crosses and the near-best outline per panel
    assert len(fig.data) == 2 * 5
    assert len(traces(fig, role=NEAR_BEST_NAME)) == 2


def test_sheared_landscape_is_drawn_as_squares_at_true_coordinates() -> None:
    trials = make_trials(separable, optimizer="adamw", convention="pytorch", log2_wd=[-4, -2, 0])
    land = landscape(trials, optimizer="adamw", convention="paper")
    assert not land.rectangular
    fig = landscape_figure({"adamw": land})
    assert not traces(fig, go.Heatmap)
    squares = fig.data[0]
    assert squares.marker.symbol == "square" and squares.marker.coloraxis == "coloraxis"
    got = sorted(zip(np.asarray(squares.y), np.asarray(squares.x), strict=True))
    want = sorted((a, a + w) for a in LOG2_LR for w in (-4, -2, 0))  # log2(λ) = log2(α·wd)
    np.testing.assert_allclose(got, want)
    values = dict(zip(zip(squares.y, squares.x, strict=True), squares.marker.color, strict=True))
    assert values[(-8.0, -10.0)] == pytest.approx(separable(2**-8, 2**-10))
    assert "(paper)" in fig.layout.xaxis.title.text


def test_zero_weight_decay_column_sits_left_of_the_grid() -> None:
    trials = make_trials(separable, optimizer="adam", zero_wd=True)
    fig = landscape_figure({"adam": landscape(trials, optimizer="adam")})
    heat = traces(fig, go.Heatmap)[0]
    assert heat.x[0] == LOG2_WD[0] - 1 and list(heat.x[1:]) == LOG2_WD
    assert fig.layout.xaxis.tickvals[0] == LOG2_WD[0] - 1 and fig.layout.xaxis.ticktext[0] == "0"


def test_iso_lines_follow_constant_products() -> None:
    lands = four_landscapes(convention="pytorch")
    fig = landscape_figure(lands, iso_products=[2**-14, 2**-12])
    lines = traces(fig, role=ISO_GROUP)
    assert len(lines) == 2 * 4
    for line in lines:
        np.testing.assert_allclose(
            np.asarray(line.x) + np.asarray(line.y), math.log2(line.meta["product"])
        )
    assert sum(line.showlegend for line in lines) == 2
    assert "τ" in lines[0].name  # PyTorch axis: EMA timescale 1/(α·wd)

    auto = landscape_figure({"sgd": lands["sgd"]}, show_iso=True)
    (line,) = traces(auto, role=ISO_GROUP)
    land = lands["sgd"]
    i, j = land.best(1)[0]
    assert line.meta["product"] == pytest.approx(land.cell_lr[i, j] * land.cell_wd[i, j])
    assert not traces(landscape_figure(lands), role=ISO_GROUP)


def test_coupling_overlay_marks_each_rows_best() -> None:
    land = four_landscapes()["sgd"]
    fig = landscape_figure({"sgd": land}, show_coupling=True)
    points, fit_line = traces(fig, role=COUPLING_NAME)
    assert "slope -1.0" in points.name or "slope -0.9" in points.name
    assert points.name.startswith("SGD: ") and "(fit)" in points.name  # one seed: no interval
    assert len(points.y) >= 3 and np.all(np.diff(points.x) < 0)  # best λ falls as α grows
    assert len(fit_line.x) == 2


def test_coupling_overlay_gives_the_seed_noise_interval_when_measured() -> None:
    from studies.analysis import coupling_interval

    trials = make_trials(diagonal, optimizer="adam", seeds=(0, 1, 2))
    trials["final_test_error"] += np.random.default_rng(0).normal(0, 0.002, len(trials))
    land = landscape(trials, optimizer="adam")
    points, _ = traces(landscape_figure({"adam": land}, show_coupling=True), role=COUPLING_NAME)
    iv = coupling_interval(land)
    assert points.name.endswith(f"[{iv.low:+.2f}, {iv.high:+.2f}]")


def test_mixed_conventions_are_refused() -> None:
    lands = four_landscapes()
    other = landscape(
        make_trials(separable, optimizer="adamw"), optimizer="adamw", convention="pytorch"
    )
    with pytest.raises(ValueError, match="convention"):
        landscape_figure({"sgd": lands["sgd"], "adamw": other})
    with pytest.raises(ValueError):
        landscape_figure({})


def test_grid_of_panels() -> None:
    fig = landscape_figure(four_landscapes(), cols=2)
    heat = traces(fig, go.Heatmap)
    assert [h.xaxis for h in heat] == ["x", "x2", "x3", "x4"]
    assert fig.layout.yaxis3.title.text == "learning rate α" and not fig.layout.yaxis2.title.text


def make_curves(trials: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for t in trials.itertuples():
        for epoch in range(1, 5):
            err = 1.0 / epoch + 0.01 * t.seed + t.lr
            rows.append({
                "trial": t.trial, "epoch": epoch, "train_loss": 2 * err, "train_error": err,
                "val_error": err, "test_error": err, "eta": 1.0, "weight_norm": 1.0,
                "elapsed_s": float(epoch),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def test_curves_figure_lines_bands_and_palette() -> None:
    adam = make_trials(diagonal, optimizer="adam", log2_lr=[-10, -8], log2_wd=[-8], seeds=(0, 1))
    adamw = make_trials(
        separable, optimizer="adamw", log2_lr=[-10], log2_wd=[-8], seeds=(0, 1), first_trial=100
    )
    trials = pd.concat([adam, adamw], ignore_index=True)
    cells = [
        Cell(optimizer="adam", lr=2**-10, wd_paper=2**-8),
        Cell(optimizer="adam", lr=2**-8, wd_paper=2**-8),
        Cell(optimizer="adamw", lr=2**-10, wd_paper=2**-8),
    ]
    fig = curves_figure(make_curves(trials), trials, cells=cells)
    assert [a.text for a in fig.layout.annotations] == ["training loss", "test error"]
    means = traces(fig, role="mean")
    bands = traces(fig, role="band")
    assert len(means) == len(bands) == 3 * 2
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type != "log"
    assert fig.layout.yaxis2.tickformat == ".0%" and fig.layout.yaxis.tickformat is None
    first = means[0]
    np.testing.assert_allclose(first.y, 2 * (1 / np.arange(1, 5) + 0.005 + 2**-10))
    np.testing.assert_allclose(bands[0].y[:4], first.y + 2 * 0.01 / math.sqrt(2))  # mean + std
    colors = {t.name: t.line.color for t in means}
    assert [colors[t.name] for t in means[:3]] == [
        OPTIMIZER_COLORS["adam"],
        OPTIMIZER_COLORS["adam"],
        OPTIMIZER_COLORS["adamw"],
    ]
    assert means[0].line.dash != means[1].line.dash  # two Adam cells told apart
    assert [t.showlegend for t in means] == [True] * 3 + [False] * 3

    minmax = curves_figure(make_curves(trials), trials, cells=cells[:1], band="minmax")
    band = traces(minmax, role="band")[0]
    np.testing.assert_allclose(band.y[:4], 2 * (1 / np.arange(1, 5) + 0.01 + 2**-10))
    assert not traces(
        curves_figure(make_curves(trials), trials, cells=cells, band=None), role="band"
    )
    with pytest.raises(ValueError, match="band"):
        curves_figure(make_curves(trials), trials, cells=cells, band="iqr")


def test_palette_gives_every_optimizer_a_clearly_different_hue() -> None:
    import colorsys

    assert set(OPTIMIZER_COLORS) == {"sgd", "sgdw", "adam", "adamw"}

    def hue(c: str) -> float:
        r, g, b = (int(c[k : k + 2], 16) / 255 for k in (1, 3, 5))
        return 360 * colorsys.rgb_to_hsv(r, g, b)[0]

    hues = {name: hue(c) for name, c in OPTIMIZER_COLORS.items()}
    for a, b in (("sgd", "sgdw"), ("adam", "adamw"), ("adam", "sgd"), ("adamw", "sgdw")):
        gap = abs(hues[a] - hues[b]) % 360
        assert min(gap, 360 - gap) >= 30, (a, b, hues)


def test_schedule_figure() -> None:
    epochs = np.linspace(0, 10, 101)
    cosine = 0.5 * (1 + np.cos(np.pi * epochs / 10))
    fig = schedule_figure({"cosine": (epochs, cosine), "constant": (epochs, np.ones_like(epochs))})
    assert [t.name for t in fig.data] == ["cosine", "constant"]
    np.testing.assert_array_equal(fig.data[0].y, cosine)
    np.testing.assert_array_equal(fig.data[0].x, epochs)
    assert fig.layout.xaxis.title.text == "epoch" and "η_t" in fig.layout.yaxis.title.text
    with pytest.raises(ValueError):
        schedule_figure({"bad": ([0, 1], [1.0])})


def test_metric_kind_decides_scale_circles_and_units() -> None:
    trials = make_trials(separable, optimizer="adamw", seeds=(0, 1))
    trials["final_weight_norm"] = 2.0 ** (-np.log2(trials["wd_paper"]) / 2)  # 2 … 128
    error = landscape_figure({"adamw": landscape(trials, optimizer="adamw")})
    assert error.layout.coloraxis.colorbar.tickformat == ".0%"
    assert "%}" in traces(error, go.Heatmap)[0].hovertemplate.split("<br>")[2]
    assert traces(error, role=BEST_NAME)

    norm_land = landscape(trials, optimizer="adamw", metric="final_weight_norm")
    norm = landscape_figure({"adamw": norm_land}, show_best=10)
    assert not traces(norm, role=BEST_NAME)  # the smallest norm is no goal
    assert not traces(norm, role=NEAR_BEST_NAME)
    heat = traces(norm, go.Heatmap)[0]
    np.testing.assert_allclose(np.asarray(heat.z), np.log10(norm_land.value))
    cax = norm.layout.coloraxis
    assert cax.cmin == pytest.approx(math.log10(norm_land.value.min()))
    assert all(float(t) == pytest.approx(10**v, rel=1e-2)
               for v, t in zip(cax.colorbar.tickvals, cax.colorbar.ticktext, strict=True))


def test_fixed_range_pins_errors_while_a_study_fills_in() -> None:
    trials = make_trials(separable, optimizer="adamw")
    land = landscape(trials, optimizer="adamw")
    free = landscape_figure({"adamw": land})
    fixed = landscape_figure({"adamw": land}, fixed_range=True)
    assert free.layout.coloraxis.cmin == pytest.approx(np.nanmin(land.value))
    assert (fixed.layout.coloraxis.cmin, fixed.layout.coloraxis.cmax) == ERROR_RANGE


def test_difference_figure_is_centred_on_zero_and_dots_cells_beyond_noise() -> None:
    from studies.analysis import difference

    rng = np.random.default_rng(0)
    trials = make_trials(separable, optimizer="adam", seeds=(0, 1, 2))
    trials["final_test_error"] += rng.normal(0, 0.002, len(trials))
    better = trials.assign(optimizer="adamw", trial=trials["trial"] + len(trials))
    better["final_test_error"] -= np.where(better["lr"] > 2.0**-8, 0.05, 0.0)
    both = pd.concat([trials, better], ignore_index=True)
    diff = difference(landscape(both, optimizer="adamw"), landscape(both, optimizer="adam"))
    fig = difference_figure(diff)
    heat = traces(fig, go.Heatmap)[0]
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    (dots,) = traces(fig, role=SIGNIFICANT_NAME)
    dotted_rows = set(np.asarray(dots.y).round(9))
    assert dotted_rows == {float(a) for a in LOG2_LR if a > -8}
    assert len(dots.x) == sum(a > -8 for a in LOG2_LR) * len(LOG2_WD)
    assert "AdamW − Adam" in fig.layout.title.text and "beyond seed noise" in fig.layout.title.text
    one = make_trials(separable, optimizer="adam")
    one_w = one.assign(optimizer="adamw", trial=one["trial"] + len(one))
    one_w["final_test_error"] -= 0.05
    pair = pd.concat([one, one_w], ignore_index=True)
    lonely = difference_figure(difference(landscape(pair, optimizer="adamw"),
                                          landscape(pair, optimizer="adam")))
    assert "no noise measured" in lonely.layout.title.text and not traces(lonely,
                                                                          role=SIGNIFICANT_NAME)


def test_near_best_outline_marks_exactly_the_cells_within_the_noise() -> None:
    """A study whose answer is known: seeds ± 0.01 around each cell's mean (seed noise
    0.01·√(4/3) over 4 seeds); the best cell at 10 %, three cells 0.2 pp behind (far inside
    the noise), one cell 5 pp behind, the rest at 30 %. Exactly the best and the three
    close cells must be outlined."""
    close = {(2.0**-10, 2.0**-8), (2.0**-9, 2.0**-9), (2.0**-8, 2.0**-10)}
    offsets = {0: -0.01, 1: 0.01, 2: -0.01, 3: 0.01}

    def error(lr: float, lam: float) -> float:
        if (lr, lam) == (2.0**-9, 2.0**-8):
            return 0.10
        if (lr, lam) in close:
            return 0.102
        if (lr, lam) == (2.0**-10, 2.0**-10):
            return 0.15
        return 0.30

    trials = make_trials(error, optimizer="adamw", seeds=(0, 1, 2, 3))
    trials["final_test_error"] += trials["seed"].map(offsets) - 0.001 * trials["seed"]
    fig = landscape_figure({"adamw": landscape(trials, optimizer="adamw")})
    (outline,) = traces(fig, role=NEAR_BEST_NAME)
    outlined = {(2.0**y, 2.0**x) for x, y in zip(outline.x, outline.y, strict=True)}
    assert outlined == close | {(2.0**-9, 2.0**-8)}


def test_panels_with_the_same_alpha_rows_label_them_once() -> None:
    fig = landscape_figure(four_landscapes(), cols=4)
    shown = [fig.layout[f"yaxis{k if k > 1 else ''}"].showticklabels for k in range(1, 5)]
    assert shown == [None, False, False, False]
    other = make_trials(separable, optimizer="sgd", log2_lr=[-7, -6, -5])
    lands = {"adamw": four_landscapes()["adamw"], "sgd": landscape(other, optimizer="sgd")}
    fig = landscape_figure(lands)
    assert fig.layout.yaxis2.showticklabels is None  # other α rows keep their labels
    gap = fig.layout.xaxis2.domain[0] - fig.layout.xaxis.domain[1]
    shared = landscape_figure({k: four_landscapes()[k] for k in ("adam", "adamw")})
    assert gap > shared.layout.xaxis2.domain[0] - shared.layout.xaxis.domain[1]  # room for them


def test_no_near_best_outline_over_a_median_or_minimum() -> None:
    trials = make_trials(separable, optimizer="adamw", seeds=(0, 1, 2))
    for aggregate, outlined in (("mean", True), ("median", False), ("min", False)):
        land = landscape(trials, optimizer="adamw", aggregate=aggregate)
        assert bool(traces(landscape_figure({"adamw": land}), role=NEAR_BEST_NAME)) is outlined


def test_coupling_legend_says_why_there_is_no_slope() -> None:
    """Two α rows give no least-squares slope with an error: the legend says so, never nan."""
    land = landscape(make_trials(separable, optimizer="adamw", log2_lr=[-8, -7]),
                     optimizer="adamw")
    points = traces(landscape_figure({"adamw": land}, show_coupling=True), role=COUPLING_NAME)[0]
    assert "nan" not in points.name and "no slope: 2 rows" in points.name
