"""The Landscape page's sentences: computed from the study, and true to it."""

from __future__ import annotations

import re

import pandas as pd

from studies.analysis import compare_best, coupling_interval, landscape
from studies.dashboard import landscape_caption
from tests.test_significance import _pair


def _lands(trials: pd.DataFrame) -> dict:
    return {o: landscape(trials, optimizer=o) for o in ("adam", "adamw")}


def _percents(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"(\d+\.\d) (?:%|pp)", text)]


def test_caption_states_the_studys_own_numbers_and_a_significant_gap():
    lands = _lands(_pair(0.003, shift=-0.02))
    best, slopes = landscape_caption(lands)
    cmp_ = compare_best(lands["adamw"], lands["adam"])
    assert best.startswith("AdamW's best final test error")
    lo, gap, hi = _percents(best)
    assert (lo, hi) == (round(100 * cmp_.best_a, 1), round(100 * cmp_.best_b, 1))
    assert gap == round(100 * abs(cmp_.difference), 1)
    assert "beyond the seed noise" in best and "3 seeds per cell" in best
    adam = coupling_interval(lands["adam"])
    assert f"Adam {adam.slope:+.2f} [{adam.low:+.2f}, {adam.high:+.2f}]" in slopes
    assert "apart beyond the seed noise" in slopes and "Adam's best λ moves more" in slopes
    assert slopes.startswith("Coupling slope of the best λ (paper) on α")  # on every axis


def test_caption_says_within_noise_when_the_gap_is_noise():
    best, _ = landscape_caption(_lands(_pair(0.003, shift=0.0)))
    assert "within the seed noise" in best


def test_caption_with_one_seed_says_no_noise_was_measured():
    best, slopes = landscape_caption(_lands(_pair(0.003, seeds=(0,), shift=-0.02)))
    assert "no noise was measured" in best and "beyond" not in best
    assert "(one seed: no interval)" in slopes


def test_caption_needs_both_twins():
    lands = _lands(_pair(0.003))
    assert landscape_caption({"adamw": lands["adamw"]}) == []


def test_summary_table_shows_near_best_noise_and_slope_intervals():
    from studies import dashboard as dash
    from studies.analysis import near_best, summary

    trials = _pair(0.003)
    frame = summary(trials)
    table = dash.summary_table(frame, convention="paper", metric="final_test_error",
                               multiple_schedules=False).set_index("Optimizer")
    adam = landscape(trials, optimizer="adam")
    iv = coupling_interval(adam)
    assert table.loc["Adam", "Coupling slope"].startswith(
        f"{iv.slope:+.2f} [{iv.low:+.2f}, {iv.high:+.2f}]")
    assert table.loc["Adam", "Near best (cells)"] == str(near_best(adam).count)
    assert table.loc["Adam", "Seed noise"].endswith("%")

    lonely = dash.summary_table(summary(_pair(0.003, seeds=(0,))), convention="paper",
                                metric="final_test_error", multiple_schedules=False)
    assert set(lonely["Seed noise"]) == {"not measured"}
    assert all("fit" in c for c in lonely["Coupling slope"])


def test_the_steeper_slope_is_named_by_its_size_not_its_sign():
    from tests.test_significance import LOG2_LR, LOG2_WD, make_trials, valley

    adam = make_trials(valley(-0.1, std=0.002), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                       optimizer="adam", seeds=range(3))
    adamw = make_trials(valley(0.8, std=0.002), log2_lr=LOG2_LR, log2_wd=LOG2_WD,
                        optimizer="adamw", seeds=range(3), first_trial=len(adam))
    _, slopes = landscape_caption(_lands(pd.concat([adam, adamw], ignore_index=True)))
    assert "AdamW's best λ moves more with α" in slopes, slopes


def test_studies_table_gives_each_best_with_one_decimal():
    from studies.dashboard._tables import best_text

    assert best_text({"adam": 0.31, "adamw": 0.302, "sgd": float("nan")},
                     ["sgd", "adam", "adamw"]) == "Adam 31.0 % · AdamW 30.2 %"
    assert best_text({}, ["adam"]) == "—"
