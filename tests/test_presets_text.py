"""No preset states a result: numbers about a study are computed from the study where shown.

A preset says what it runs (data, model, grid, budget) and what the paper predicts; any
measured outcome (an error rate, a slope, a norm, a time) belongs to the study and is
computed by the page that shows it, or to a dated measurement in the README.
"""

from __future__ import annotations

import re

import pytest

from studies.spec import list_presets, load_preset

# What a stated result looks like: a percentage, a ± interval, a bound on a value, a
# duration, or the word "measured".
RESULT = re.compile(
    r"\d+(?:\.\d+)?\s?%|±|[≥≤<>]\s?\d|\b\d+(?:\.\d+)?\s?(?:s|sec|seconds|min|minutes)\b"
    r"|\bmeasured\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("name", list_presets())
def test_preset_description_states_no_result(name: str) -> None:
    text = load_preset(name).description
    assert not RESULT.findall(text), f"{name}: {RESULT.findall(text)} in {text!r}"


def test_the_check_catches_the_results_old_presets_stated() -> None:
    old = ("Measured on a 2-core CPU with two seeds: mean test error over the grid 9.1 % vs "
           "10.3 % (norm ≥ 1.86 everywhere); slope −0.73 ± 0.17, 75 s.")
    assert len(RESULT.findall(old)) >= 5
