"""The comparison of two runs on literal series: levels, intervals, verdicts, warm-up, lengths and missing metrics."""

from __future__ import annotations

import tracemalloc
import unittest

import numpy as np

from monitor.analysis.compare import (
    Change,
    RunSeries,
    block_length,
    change_interval,
    compare_runs,
    judge,
    typical_level,
)
from monitor.metrics import BY_COLUMN, CPU, HANDLES, MEMORY

MIB = 1024.0 * 1024.0
MEMORY_ONLY = [BY_COLUMN[MEMORY]]


def steady(level: float, samples: int = 60, interval_s: float = 0.5, seed: int = 0, noise: float = MIB) -> RunSeries:
    """A run of private memory around `level`, with Gaussian noise, one sample every `interval_s`."""
    rng = np.random.default_rng(seed)
    elapsed = np.arange(samples) * interval_s
    return RunSeries(elapsed, {MEMORY: level + rng.normal(0, noise, samples)})


def ar1(samples: int, phi: float, seed: int | np.random.Generator) -> np.ndarray:
    """An AR(1) series with unit innovations."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, samples)
    values = np.empty(samples)
    values[0] = noise[0]
    for k in range(1, samples):
        values[k] = phi * values[k - 1] + noise[k]
    return values


class TypicalLevelTest(unittest.TestCase):
    def test_untied_values_of_even_count_give_the_median(self) -> None:
        """Without ties and with an even count, the level is the ordinary median."""
        self.assertEqual(typical_level(np.array([4.0, 1.0, 3.0, 2.0])), 2.5)

    def test_tied_values_are_interpolated_by_their_share(self) -> None:
        """Three 0s and one 5 (CPU ticks): the level lies 2/3 into the 0 cell [-2.5, 2.5], not at 0."""
        self.assertAlmostEqual(typical_level(np.array([0.0, 0.0, 0.0, 5.0])), -2.5 + 5 * 2 / 3)

    def test_all_equal_values_are_the_level(self) -> None:
        """A constant series has that constant as its level."""
        self.assertEqual(typical_level(np.full(9, 7.0)), 7.0)


class BlockLengthTest(unittest.TestCase):
    def test_blocks_grow_with_autocorrelation(self) -> None:
        """Independent noise is resampled sample by sample; strongly autocorrelated noise in long blocks."""
        independent = np.random.default_rng(1).normal(0, 1, 400)
        self.assertLessEqual(block_length(independent), 2)
        self.assertGreaterEqual(block_length(ar1(400, 0.9, seed=1)), 8)

    def test_autocorrelation_widens_the_interval(self) -> None:
        """The same values in their autocorrelated order get a wider interval than shuffled (independent)."""
        values = ar1(300, 0.9, seed=2)
        shuffled = np.random.default_rng(3).permutation(values)
        times = np.arange(300.0)
        other = ar1(300, 0.9, seed=4)
        ordered_low, ordered_high = change_interval(times, values, times + 0.5, other)
        mixed_low, mixed_high = change_interval(
            times, shuffled, times + 0.5, np.random.default_rng(5).permutation(other)
        )
        self.assertGreater(ordered_high - ordered_low, 1.5 * (mixed_high - mixed_low))

    def test_intervals_hold_a_zero_change_in_autocorrelated_short_runs(self) -> None:
        """200 pairs of 32-sample AR(1) runs (phi 0.7), no change: the 95% interval leaves out 0 in at most 7%."""
        rng = np.random.default_rng(8)
        times = np.arange(32.0)
        misses = 0
        for _ in range(200):
            low, high = change_interval(times, ar1(32, 0.7, rng), times + 0.5, ar1(32, 0.7, rng))
            misses += low > 0 or high < 0
        self.assertLessEqual(misses, 14)


class VerdictTest(unittest.TestCase):
    def test_the_four_verdicts(self) -> None:
        """Inside the tolerance: same; above zero and beyond it: higher; below: lower; otherwise inconclusive."""
        self.assertIs(judge(0.5, -0.9, 0.9, 1.0)[0], Change.SAME)
        self.assertIs(judge(3.0, 2.0, 4.0, 1.0)[0], Change.HIGHER)
        self.assertIs(judge(-3.0, -4.0, -2.0, 1.0)[0], Change.LOWER)
        self.assertIs(judge(1.5, -0.5, 3.5, 1.0)[0], Change.INCONCLUSIVE)  # may be zero
        self.assertIs(judge(0.8, 0.1, 1.6, 1.0)[0], Change.INCONCLUSIVE)  # above zero, within the tolerance

    def test_twenty_mib_more_is_higher_with_an_interval_around_it(self) -> None:
        """60 MiB then 80 MiB under 1 MiB of noise: higher by about 20 MiB, and the interval holds the change."""
        comparison = compare_runs(steady(60 * MIB, seed=1), steady(80 * MIB, seed=2), metrics=MEMORY_ONLY)
        change = comparison.changes[MEMORY]
        self.assertIs(change.verdict, Change.HIGHER)
        assert change.change is not None and change.change_low is not None and change.change_high is not None
        self.assertAlmostEqual(change.change / MIB, 20, delta=1)
        self.assertLessEqual(change.change_low, change.change)
        self.assertLessEqual(change.change, change.change_high)
        self.assertAlmostEqual(change.relative_change or 0.0, 1 / 3, delta=0.02)
        self.assertEqual(comparison.higher([CPU, MEMORY, HANDLES]), [MEMORY])

    def test_the_same_level_twice_is_not_higher(self) -> None:
        """Two independent runs around one level (noise under the 5% tolerance) are same."""
        comparison = compare_runs(steady(60 * MIB, seed=1), steady(60 * MIB, seed=2), metrics=MEMORY_ONLY)
        self.assertIs(comparison.changes[MEMORY].verdict, Change.SAME)

    def test_a_wider_tolerance_turns_a_change_into_same(self) -> None:
        """+4 MiB on 60 MiB is higher at 5% (3 MiB) and same at 10% (6 MiB)."""
        base, cand = steady(60 * MIB, seed=1, noise=0.2 * MIB), steady(64 * MIB, seed=2, noise=0.2 * MIB)
        self.assertIs(compare_runs(base, cand, 5, MEMORY_ONLY).changes[MEMORY].verdict, Change.HIGHER)
        self.assertIs(compare_runs(base, cand, 10, MEMORY_ONLY).changes[MEMORY].verdict, Change.SAME)

    def test_one_quantum_is_the_least_tolerance(self) -> None:
        """5 handles then 6: one handle is the tolerance's floor (5% of 5 is a quarter), so it is same; 7 is higher."""
        times = np.arange(40.0)
        five = RunSeries(times, {HANDLES: np.full(40, 5.0)})
        for handles, verdict in ((6.0, Change.SAME), (7.0, Change.HIGHER)):
            other = RunSeries(times + 0.25, {HANDLES: np.full(40, handles)})
            change = compare_runs(five, other, metrics=[BY_COLUMN[HANDLES]]).changes[HANDLES]
            self.assertIs(change.verdict, verdict, handles)
            self.assertEqual(change.tolerance, 1.0)

    def test_cpu_tolerance_is_at_least_one_clock_tick_per_sample(self) -> None:
        """CPU 10% then 13%: within one tick's 5 points at -s 0.2 (same), beyond 1 point at -s 1 (higher)."""
        rng = np.random.default_rng(6)
        for interval_s, floor, verdict in ((0.2, 5.0, Change.SAME), (1.0, 1.0, Change.HIGHER)):
            times = np.arange(100) * interval_s
            base = RunSeries(times, {CPU: 10 + rng.normal(0, 0.3, 100)})
            cand = RunSeries(times + interval_s / 3, {CPU: 13 + rng.normal(0, 0.3, 100)})
            change = compare_runs(base, cand, metrics=[BY_COLUMN[CPU]]).changes[CPU]
            self.assertAlmostEqual(change.tolerance or 0.0, floor)
            self.assertIs(change.verdict, verdict, interval_s)


class ShapesTest(unittest.TestCase):
    def test_a_longer_warm_up_within_the_first_fifth_is_not_a_regression(self) -> None:
        """A candidate busy for its first 18% (the baseline for 2%) has the same CPU after the warm-up."""
        times = np.arange(100) * 0.2
        rng = np.random.default_rng(3)
        base = 3 + rng.normal(0, 0.5, 100)
        cand = 3 + rng.normal(0, 0.5, 100)
        base[:2] = 90.0
        cand[:18] = 90.0
        comparison = compare_runs(
            RunSeries(times, {CPU: base}), RunSeries(times, {CPU: cand}), metrics=[BY_COLUMN[CPU]]
        )
        self.assertIs(comparison.changes[CPU].verdict, Change.SAME)
        self.assertEqual(comparison.changes[CPU].peak_change, 0.0)
        self.assertAlmostEqual(comparison.start_s, 0.2 * times[-1])

    def test_runs_of_different_lengths_and_intervals_are_compared_over_the_same_seconds(self) -> None:
        """A 60 s baseline at 0.25 s against a 7 s candidate at 0.5 s: compared from 1.4 s to 7 s of both, so the
        baseline's growth after 12.5 s, a stretch the candidate never reached, is not taken for a fall."""
        base = steady(60 * MIB, samples=240, interval_s=0.25, seed=1)
        grown = np.asarray(base.values[MEMORY]).copy()
        grown[50:] += 30 * MIB
        cand = steady(60 * MIB, samples=15, interval_s=0.5, seed=2)
        comparison = compare_runs(RunSeries(base.elapsed_s, {MEMORY: grown}), cand, metrics=MEMORY_ONLY)
        self.assertAlmostEqual(comparison.end_s, 7.0)
        self.assertAlmostEqual(comparison.start_s, 1.4)
        change = comparison.changes[MEMORY]
        self.assertEqual((change.baseline_samples, change.candidate_samples), (23, 12))
        self.assertIs(change.verdict, Change.SAME)
        self.assertAlmostEqual(change.peak_change or 0.0, 0.0, delta=4 * MIB)  # peaks up to 7 s as well

    def test_too_few_samples_after_the_warm_up_are_inconclusive(self) -> None:
        """Six samples after the warm-up give no verdict, but the peaks are still compared."""
        base, cand = steady(60 * MIB, samples=8, seed=1), steady(90 * MIB, samples=8, seed=2)
        change = compare_runs(base, cand, metrics=MEMORY_ONLY).changes[MEMORY]
        self.assertIs(change.verdict, Change.INCONCLUSIVE)
        self.assertIn("too few samples", change.reason)
        self.assertIsNone(change.change)
        self.assertAlmostEqual((change.peak_change or 0.0) / MIB, 30, delta=5)

    def test_a_metric_missing_in_one_run_is_reported_missing(self) -> None:
        """A column absent from the candidate, or empty in both runs, is `missing` with numbers left out."""
        times = np.arange(20.0)
        base = RunSeries(times, {CPU: np.full(20, 2.0), HANDLES: np.full(20, np.nan)})
        cand = RunSeries(times, {HANDLES: np.full(20, np.nan)})
        comparison = compare_runs(base, cand, metrics=[BY_COLUMN[CPU], BY_COLUMN[HANDLES]])
        self.assertIs(comparison.changes[CPU].verdict, Change.MISSING)
        self.assertIn("candidate", comparison.changes[CPU].reason)
        self.assertIs(comparison.changes[HANDLES].verdict, Change.MISSING)
        self.assertIn("either run", comparison.changes[HANDLES].reason)
        self.assertIsNone(comparison.changes[CPU].change)

    def test_empty_cells_are_left_out_not_counted(self) -> None:
        """Rows without a value (no process at that tick) do not drag the level to 0."""
        base = steady(60 * MIB, seed=1)
        holes = np.asarray(base.values[MEMORY]).copy()
        holes[::3] = np.nan
        comparison = compare_runs(RunSeries(base.elapsed_s, {MEMORY: holes}), steady(60 * MIB, seed=2), 5, MEMORY_ONLY)
        self.assertIs(comparison.changes[MEMORY].verdict, Change.SAME)

    def test_memory_stays_bounded_however_long_the_runs(self) -> None:
        """Two 50,000-sample runs are reduced to 2,000 bins before resampling: a 10 MiB rise is found with under
        512 MiB of allocations (resampling the raw samples would take several GiB)."""
        base = steady(100 * MIB, samples=50_000, interval_s=0.01, seed=1, noise=5 * MIB)
        cand = steady(110 * MIB, samples=50_000, interval_s=0.01, seed=2, noise=5 * MIB)
        tracemalloc.start()
        self.addCleanup(tracemalloc.stop)
        change = compare_runs(base, cand, metrics=MEMORY_ONLY).changes[MEMORY]
        peak = tracemalloc.get_traced_memory()[1]
        self.assertIs(change.verdict, Change.HIGHER)
        self.assertAlmostEqual((change.change or 0.0) / MIB, 10, delta=0.5)
        self.assertLess(peak, 512 * MIB)


if __name__ == "__main__":
    unittest.main()
