"""Properties of the comparison over any series a report can hold (Hypothesis)."""

from __future__ import annotations

import json
import math
import unittest
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.analysis.compare import Change, RunSeries, compare_runs
from monitor.metrics import BY_COLUMN, CPU, HANDLES, MEMORY, METRIC_TABLE
from monitor.output.compare_json import comparison_document
from monitor.output.compare_text import RunLabel, format_comparison

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JUDGED = [BY_COLUMN[CPU], BY_COLUMN[MEMORY], BY_COLUMN[HANDLES]]
TWENTY = np.arange(20.0)  # the times of a run of 20 samples
FLIPPED = {Change.HIGHER: Change.LOWER, Change.LOWER: Change.HIGHER}


@st.composite
def runs(draw: Any, min_samples: int = 0, values: Any = None) -> RunSeries:
    """A run: forward (sometimes repeated) times, and CPU, memory and handles series, any of them with holes."""
    samples = draw(st.integers(min_samples, 80))
    steps = draw(st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.5, 1.0, 1.7]), min_size=samples, max_size=samples))
    elapsed = np.cumsum(steps) - (steps[0] if steps else 0.0)
    level = draw(st.sampled_from([0.0, 3.0, 60 * 2**20, 5.0]))
    spread = draw(st.sampled_from([0.0, 1.0, 0.05, 0.5]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    series = {}
    for metric in JUDGED:
        noise = rng.normal(level, spread * max(level, 1.0), samples)
        shaped = np.round(noise / metric.quantum) * metric.quantum  # whole pages, whole handles
        if values is not None:
            shaped = np.array(draw(st.lists(values, min_size=samples, max_size=samples)), dtype=float)
        if draw(st.booleans()):
            shaped[rng.random(samples) < 0.2] = np.nan
        series[metric.column] = np.maximum(shaped, 0.0) if values is None else shaped
    return RunSeries(np.asarray(elapsed, dtype=float), series)


@st.composite
def alike_runs(draw: Any) -> tuple[RunSeries, RunSeries, float]:
    """Two quiet runs at levels up to 20% apart, and a tolerance; the gap is often just beyond the tolerance,
    where which level the tolerance is taken of decides the verdict."""
    samples = draw(st.integers(10, 60))
    pct = draw(st.sampled_from([5.0, 10.0]))
    beyond = st.floats(1.0, 1.1).map(lambda over: over * pct / 100)
    share = draw(st.floats(-0.2, 0.2) | beyond | beyond.map(lambda gap: -gap))
    noise = draw(st.sampled_from([0.0, 0.0001, 0.001]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    base, cand = {}, {}
    for metric in JUDGED:
        level = draw(st.sampled_from([60 * 2**20, 400.0, 3e9]))
        base[metric.column] = level + rng.normal(0, noise * level, samples)
        cand[metric.column] = level * (1 + share) + rng.normal(0, noise * level, samples)
    times = np.arange(samples) * 0.5
    return RunSeries(times, base), RunSeries(times + 0.013, cand), pct


def numbers_in(value: Any) -> list[float]:
    """Every float inside a JSON-like document."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers_in(item)]
    if isinstance(value, list):
        return [n for item in value for n in numbers_in(item)]
    return []


class CompareProperties(unittest.TestCase):
    @EXAMPLES
    @given(runs(), runs(), st.floats(0, 50))
    def test_swapping_the_runs_flips_higher_and_lower(self, base: RunSeries, cand: RunSeries, pct: float) -> None:
        """Baseline and candidate swapped: higher becomes lower and back; same and inconclusive stay."""
        self.assert_swap_flips(base, cand, pct)

    @EXAMPLES
    @given(alike_runs())
    def test_swapping_runs_near_each_other_flips_higher_and_lower(
        self, runs: tuple[RunSeries, RunSeries, float]
    ) -> None:
        """The same for a candidate within 20% of the baseline, where the tolerance decides."""
        self.assert_swap_flips(*runs)

    def assert_swap_flips(self, base: RunSeries, cand: RunSeries, pct: float) -> None:
        forward = compare_runs(base, cand, pct, JUDGED)
        backward = compare_runs(cand, base, pct, JUDGED)
        for column, change in forward.changes.items():
            expected = FLIPPED.get(change.verdict, change.verdict)
            self.assertIs(backward.changes[column].verdict, expected, (column, change))

    @EXAMPLES
    @given(runs())
    def test_a_run_compared_with_itself_is_same(self, run: RunSeries) -> None:
        """Every metric a run has enough samples of is same against itself, with a change of 0."""
        for column, change in compare_runs(run, run, metrics=JUDGED).changes.items():
            if change.verdict is Change.MISSING or "too few" in change.reason:
                continue
            self.assertIs(change.verdict, Change.SAME, column)
            self.assertEqual(change.change, 0.0)

    @EXAMPLES
    @given(runs(min_samples=12), st.floats(-0.95, 0.95))
    def test_a_constant_below_the_tolerance_keeps_same(self, run: RunSeries, share: float) -> None:
        """The run against itself plus a constant under the tolerance (one quantum, or 4% of its level) is same."""
        itself = compare_runs(run, run, metrics=JUDGED).changes
        for metric in JUDGED:
            level = itself[metric.column].baseline_level
            if level is None:
                continue
            shift = share * max(metric.quantum, 0.04 * abs(level))
            shifted = RunSeries(run.elapsed_s, {metric.column: np.asarray(run.values[metric.column]) + shift})
            change = compare_runs(run, shifted, metrics=[metric]).changes[metric.column]
            self.assertIs(change.verdict, Change.SAME, (metric.column, shift, change))

    @EXAMPLES
    @example(
        RunSeries(np.arange(20.0), {CPU: np.full(20, 1e308)}),
        RunSeries(np.arange(20.0), {CPU: np.full(20, -1e308)}),
        5.0,
    )
    @given(
        runs(values=st.floats(allow_nan=False, allow_infinity=False)),
        runs(values=st.floats(allow_nan=False, allow_infinity=False)),
        st.floats(0, 1000),
    )
    def test_any_input_gives_finite_or_null_numbers_and_strict_json(
        self, base: RunSeries, cand: RunSeries, pct: float
    ) -> None:
        """Huge, negative, constant, empty or holed series: every number is finite or null, the JSON strict, the text
        free of nan and inf."""
        comparison = compare_runs(base, cand, pct, METRIC_TABLE)
        document = comparison_document(RunLabel("a.csv", 1), RunLabel("b.csv", 2), comparison, [CPU, MEMORY])
        text = json.dumps(document, allow_nan=False)
        self.assertTrue(all(math.isfinite(n) for n in numbers_in(json.loads(text))))
        lines = format_comparison(RunLabel("a.csv", 1), RunLabel("b.csv", 2), comparison)
        self.assertNotRegex("\n".join(lines).lower(), r"\b(nan|inf|infinity)\b")


if __name__ == "__main__":
    unittest.main()
