"""The leak verdict judges what a process keeps: the floor under waves and churn, a practical floor, three answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import unittest

import numpy as np

from monitor.analysis.trend import Evidence, Verdict, detect_trend
from monitor.analysis.trend_series import floor_points
from monitor.analysis.trend_statistics import design_effect

PAGE = 4096
MIB = 1024 * 1024


def times(n: int, interval_s: float = 1.0) -> np.ndarray:
    """Evenly spaced sample times."""
    return np.arange(n) * interval_s


def waves(n: int, seed: int, height: float, shrink: float = 0.0) -> np.ndarray:
    """Uneven waves of work (3 to 9 samples of a random height) with a gap of 1 to 3 samples back to 0 after each.

    With `shrink`, the waves lose that share of their height by the end of the run.
    """
    rng = np.random.default_rng(seed)
    values = np.zeros(n)
    at = 0
    while at < n:
        length, gap = int(rng.integers(3, 10)), int(rng.integers(1, 4))
        values[at : at + length] = height * rng.uniform(0.3, 1.0) * (1 - shrink * at / n)
        at += length + gap
    return values


class FloorTest(unittest.TestCase):
    def test_rising_floor_under_big_uneven_waves_is_a_leak(self) -> None:
        """What survives each wave grows 2.5x while the waves shrink and the level stays put: a leak, by the floor."""
        n = 400
        floor = 8 * MIB + np.linspace(0, 12 * MIB, n)
        y = np.round((floor + waves(n, seed=1, height=120 * MIB, shrink=0.3)) / PAGE) * PAGE
        trend = detect_trend(times(n, 0.125), y, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        self.assertIs(trend.decided_by, Evidence.FLOOR)
        assert trend.level is not None and trend.level.low_per_hour is not None
        self.assertLessEqual(trend.level.low_per_hour, 0.0, "the level alone does not show the leak")

    def test_big_sawtooth_on_a_flat_floor_is_no_leak_bounded_by_its_floor(self) -> None:
        """A 60 MiB sawtooth over a flat 20 MiB floor is no leak: the floor's interval ends below the smallest leak."""
        k = np.arange(400)
        y = 20 * MIB + (k % 60) / 60 * 60 * MIB
        trend = detect_trend(times(400, 0.125), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.NO_LEAK)
        assert trend.floor is not None and trend.floor.high_per_hour is not None and trend.min_rate_per_hour
        self.assertLess(trend.floor.high_per_hour, trend.min_rate_per_hour)
        self.assertEqual(trend.floor.source, "drops")

    def test_the_floor_is_read_after_each_deep_drop(self) -> None:
        """The floor's points are the lowest reading after each collection, not the dips within a climb."""
        k = np.arange(300)
        y = (k % 50) * 10.0 + (k // 50) * 7.0
        y[[120, 121]] -= 40.0  # a shallow dip within a climb: no collection
        t, values, how = floor_points(times(300), y, 0.0)
        self.assertEqual(how, "drops")
        self.assertEqual(list(t), [50.0, 100.0, 150.0, 200.0, 250.0])
        self.assertEqual(list(values), [7.0, 14.0, 21.0, 28.0, 35.0])

    def test_a_drop_over_two_samples_is_one_drop(self) -> None:
        """A wave that ends in two steps (halfway down, then to the gap) leaves one floor point, at the gap."""
        y = np.full(60, 100.0)
        for end in (10, 22, 34, 46):
            y[end] = 50.0  # halfway down
            y[end + 1 : end + 3] = 2.0 + end / 10  # the gap: what survives this wave
        t, values, how = floor_points(times(60), y, 0.0)
        self.assertEqual(how, "drops")
        self.assertEqual(list(t), [11.0, 23.0, 35.0, 47.0])
        self.assertEqual(list(values), [3.0, 4.2, 5.4, 6.6])


def sawtooth_over_fresh_floors(seed: int) -> np.ndarray:
    """A 60 MiB sawtooth of 50-sample cycles whose floor is drawn afresh (0 to 12 MiB over 40) for each cycle."""
    k = np.arange(400)
    rng = np.random.default_rng(seed)
    floors = 40 * MIB + rng.uniform(0, 12 * MIB, 9)
    y = floors[k // 50] + 60 * MIB * (k % 50) / 50 + rng.normal(0, 0.3 * MIB, 400)
    return np.round(y / PAGE) * PAGE


class ClimbsTest(unittest.TestCase):
    def test_a_few_cycles_with_an_odd_low_reading_are_read_by_their_climbs(self) -> None:
        """Five cycles over a floor rising 16 MiB, one reading 8 MiB low after a drop: a leak, by the climbs."""
        k = np.arange(120)
        rng = np.random.default_rng(3)
        y = 40 * MIB + 16 * MIB * k / 120 + 60 * MIB * (k % 24) / 24 + rng.normal(0, 0.5 * MIB, 120)
        y[72] -= 8 * MIB  # the lowest reading after the third drop: the drops' minima no longer rise in order
        trend = detect_trend(times(120, 0.42), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        assert trend.floor is not None
        self.assertEqual(trend.floor.source, "climbs")
        self.assertGreater(trend.floor.points, 40)

    def test_floors_drawn_afresh_each_cycle_count_about_once_per_cycle(self) -> None:
        """A sawtooth over floors drawn at random per cycle: its climb-corrected readings are worth about one
        per cycle, not one per reading, so a chance drift of the floors is no leak."""
        trend = detect_trend(times(400, 0.125), sawtooth_over_fresh_floors(10), PAGE)
        self.assertIsNot(trend.verdict, Verdict.LEAK)
        assert trend.floor is not None and trend.floor.effective_points is not None
        self.assertLess(trend.floor.effective_points, 8)

    def test_a_chance_drift_of_few_cycles_is_judged_at_their_own_resolution(self) -> None:
        """Worth about six points, the floors' rank statistic is corrected for moving in whole cycles: no leak."""
        trend = detect_trend(times(400, 0.125), sawtooth_over_fresh_floors(19), PAGE)
        self.assertIsNot(trend.verdict, Verdict.LEAK)

    def test_design_effect_runs_from_one_to_the_cluster_size(self) -> None:
        """Values shared within clusters count once per cluster; clusters with equal means cost nothing."""
        clusters = np.repeat(np.arange(5), 10)
        self.assertAlmostEqual(design_effect(clusters.astype(float), clusters), 10.0)
        alternating = np.tile([0.0, 1.0], 25)
        self.assertAlmostEqual(design_effect(alternating, clusters), 1.0)


class DescriptorTest(unittest.TestCase):
    def test_descriptor_leak_under_open_close_churn_is_a_leak(self) -> None:
        """Descriptors from 30 to about 124 over 400 samples, with open/close churn of 0 to 60 on top, leak."""
        rng = np.random.default_rng(3)
        churn = np.repeat(rng.integers(0, 61, 100), 4)
        y = 30 + np.floor(np.linspace(0, 94, 400)) + churn
        self.assertIs(detect_trend(times(400, 0.125), y, 1).verdict, Verdict.LEAK)

    def test_descriptor_churn_around_a_fixed_mean_is_no_leak(self) -> None:
        """Open/close churn of 0 to 6 descriptors around a fixed set is no leak; of 0 to 60, no alarm either."""
        rng = np.random.default_rng(4)
        small = 30 + np.repeat(rng.integers(0, 7, 100), 4)
        self.assertIs(detect_trend(times(400, 0.125), small, 1).verdict, Verdict.NO_LEAK)
        big = 30 + np.repeat(rng.integers(0, 61, 100), 4)
        self.assertIsNot(detect_trend(times(400, 0.125), big, 1).verdict, Verdict.LEAK)


class PracticalFloorTest(unittest.TestCase):
    def test_a_drift_of_a_few_pages_is_no_leak(self) -> None:
        """A steady 7.65 MB process that ends at 7.66 MB (three pages) is no leak, and the line says why."""
        y = 7_650_000 + np.floor(np.linspace(0, 3, 120)) * PAGE
        trend = detect_trend(times(120), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.NO_LEAK)
        self.assertIn("smallest leak that matters", trend.reason)

    def test_a_lower_smallest_rate_makes_a_small_drift_a_leak(self) -> None:
        """Eight pages in two minutes, a page either way, are no leak by default, and a leak at a page an hour."""
        jitter = np.resize([0, 1, -1, 1, 0, -1, 0, 1, -1, 0], 120)
        y = 7_651_328 + (np.arange(120) * 8 // 119 + jitter) * PAGE
        self.assertIs(detect_trend(times(120), y, PAGE).verdict, Verdict.NO_LEAK)
        trend = detect_trend(times(120), y, PAGE, min_rate_per_hour=PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        self.assertEqual(trend.min_rate_per_hour, PAGE)

    def test_the_default_floor_is_a_share_of_the_size_over_the_run(self) -> None:
        """The default smallest leak is 5% of the median per run length: 5 MiB per 99 s for a 100 MiB process."""
        y = np.full(100, 100.0 * MIB)
        trend = detect_trend(times(101)[1:], y, PAGE)
        assert trend.min_rate_per_hour is not None
        self.assertAlmostEqual(trend.min_rate_per_hour, 5 * MIB / 99 * 3600, delta=1.0)


class ThreeAnswersTest(unittest.TestCase):
    def test_too_little_data_to_bound_the_growth_is_inconclusive_and_says_how_much_longer(self) -> None:
        """Noise of 5% of the size over 30 samples cannot rule out a 5% leak: inconclusive, with the way out."""
        y = 50 * MIB + np.random.default_rng(1).normal(0, 2.5 * MIB, 30)
        trend = detect_trend(times(30), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.INCONCLUSIVE)
        assert trend.longer is not None
        self.assertGreater(trend.longer, 1.0)
        self.assertIn("times as long", trend.reason)
        self.assertIn("more samples at this interval", trend.reason)

    def test_the_same_noise_monitored_long_enough_is_no_leak(self) -> None:
        """The same process watched for 1,200 samples is bounded: no leak."""
        y = 50 * MIB + np.random.default_rng(1).normal(0, 2.5 * MIB, 1200)
        trend = detect_trend(times(1200), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.NO_LEAK)

    def test_a_short_leak_that_pauses_near_the_end_is_never_called_no_leak(self) -> None:
        """30 samples of a V8-like sawtooth over a leak that stops at 80% of the run: not 'no leak'."""
        k = np.arange(30)
        sawtooth = (k % 6) / 6 * 20 * MIB
        y = 20 * MIB + np.minimum(k / (29 * 0.8), 1.0) * 20 * MIB + sawtooth
        y += np.random.default_rng(0).normal(0, 0.3 * MIB, 30)
        trend = detect_trend(times(30, 1.7), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIsNot(trend.verdict, Verdict.NO_LEAK)

    def test_a_leak_interval_is_above_zero_and_its_rate_above_the_smallest_leak(self) -> None:
        """A leak's own numbers back it: the interval's lower end is above 0 and the rate at least the floor."""
        y = 20 * MIB + np.arange(120) * 64 * 1024 + np.random.default_rng(5).normal(0, MIB, 120)
        trend = detect_trend(times(120), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        assert trend.rate_low_per_hour is not None and trend.rate_per_hour is not None and trend.min_rate_per_hour
        self.assertGreater(trend.rate_low_per_hour, 0.0)
        self.assertGreaterEqual(trend.rate_per_hour, trend.min_rate_per_hour)


class SamplingResolutionTest(unittest.TestCase):
    def test_a_sawtooth_sampled_out_of_step_with_its_cycles_is_not_a_leak(self) -> None:
        """10 MiB cycles on a flat floor, 3.875 samples each: the lowest samples drift up by less than one
        interval's climb (a stroboscope), which is not a leak; the resolution says how much growth it hides."""
        n = 30
        y = np.round((20 * MIB + 10 * MIB * ((np.arange(n) / 3.875) % 1.0)) / PAGE) * PAGE
        trend = detect_trend(times(n), y, PAGE)
        self.assertIsNot(trend.verdict, Verdict.LEAK, trend)
        assert trend.resolution_per_hour is not None and trend.floor is not None and trend.min_rate_per_hour
        self.assertGreater(trend.resolution_per_hour, trend.min_rate_per_hour)
        self.assertGreaterEqual(trend.resolution_per_hour, trend.floor.rate_per_hour or 0.0)

    def test_the_same_cycles_over_a_floor_rising_past_the_resolution_are_a_leak(self) -> None:
        """Over a floor that gains three intervals' climb, the same sampling finds the leak."""
        n = 30
        climb = 10 * MIB / 3.875
        y = 20 * MIB + 10 * MIB * ((np.arange(n) / 3.875) % 1.0) + 3 * climb * np.arange(n) / (n - 1)
        trend = detect_trend(times(n), np.round(y / PAGE) * PAGE, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK, trend)

    def test_waves_with_flat_bottoms_keep_an_exact_floor(self) -> None:
        """Square waves (a jump up, a flat top, a flat gap back at the floor) give no resolution: their low samples
        are the floor itself."""
        n = 120
        y = 20 * MIB + 30 * MIB * (np.arange(n) % 4 >= 2)
        trend = detect_trend(times(n), y, PAGE)
        self.assertIsNone(trend.resolution_per_hour)
        self.assertIs(trend.verdict, Verdict.NO_LEAK, trend)


class LazyStatisticsTest(unittest.TestCase):
    def test_scipy_is_loaded_by_the_first_verdict_and_not_before(self) -> None:
        """Importing the detector does not load scipy; a statistic asked before any verdict loads it, no error."""
        code = textwrap.dedent(
            """
            import sys
            import numpy as np
            from monitor.analysis import trend, trend_statistics
            assert "scipy" not in sys.modules, "scipy loaded at import"
            slope = trend_statistics.robust_slope(np.arange(10.0), np.arange(10.0) ** 2)
            assert slope is not None and slope.low > 0, slope
            assert "scipy.stats" in sys.modules
            print(trend.detect_trend(np.arange(20.0), np.arange(20.0), 1.0).verdict)
            """
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "leak")


if __name__ == "__main__":
    unittest.main()
