"""The leak trend detector on literal series of each kind, and its score on a small labelled corpus."""

from __future__ import annotations

import math
import unittest
import warnings

import numpy as np

from bench.leak_corpus import generate
from bench.leak_eval import detector_says_leak, scores
from monitor.analysis import trend_statistics
from monitor.analysis.trend import INCONCLUSIVE, LEAK, NO_LEAK, Trend, Verdict, detect_trend
from monitor.analysis.trend_series import monotonic_times

PAGE = 4096
MIB = 1024 * 1024


def times(n: int, interval_s: float = 1.0) -> list[float]:
    """Evenly spaced sample times."""
    return [k * interval_s for k in range(n)]


def noise(n: int, sd: float, seed: int = 1) -> np.ndarray:
    """Reproducible Gaussian noise rounded to whole pages."""
    return np.round(np.random.default_rng(seed).normal(0, sd, n) / PAGE) * PAGE


class DetectTrendTest(unittest.TestCase):
    def test_noisy_linear_leak_is_a_leak_with_its_rate(self) -> None:
        """1 MiB/s plus noise over 120 samples: a leak, rate within 10%, interval around it."""
        t = times(120)
        y = 100 * MIB + np.arange(120) * MIB + noise(120, 2 * MIB)
        trend = detect_trend(t, y, PAGE)
        self.assertEqual(trend.verdict, LEAK)
        assert trend.rate_per_hour is not None and trend.rate_low_per_hour is not None
        assert trend.rate_high_per_hour is not None
        self.assertAlmostEqual(trend.rate_per_hour / (3600 * MIB), 1.0, delta=0.1)
        self.assertLessEqual(trend.rate_low_per_hour, trend.rate_per_hour)
        self.assertGreaterEqual(trend.rate_high_per_hour, trend.rate_per_hour)

    def test_one_gc_dip_does_not_hide_a_leak(self) -> None:
        """A leak with one sharp dip (a collection) is still a leak; the README rule would say no."""
        y = 50 * MIB + np.arange(60) * 256 * 1024.0
        y[30] -= 8 * MIB
        self.assertEqual(detect_trend(times(60), y, PAGE).verdict, LEAK)

    def test_flat_noise_is_not_a_leak(self) -> None:
        """Noise around a constant level is no leak."""
        y = 80 * MIB + noise(200, 300 * 1024)
        self.assertEqual(detect_trend(times(200), y, PAGE).verdict, NO_LEAK)

    def test_long_constant_runs_are_not_a_leak(self) -> None:
        """Readings that stay identical for long stretches, moving a page now and then, are no leak."""
        y = np.repeat([10, 10, 11, 10, 11, 11, 10, 10], 25) * PAGE
        self.assertEqual(detect_trend(times(len(y)), y, PAGE).verdict, NO_LEAK)

    def test_sawtooth_with_flat_floor_is_not_a_leak(self) -> None:
        """A GC sawtooth whose floor stays put is no leak, however steep its ramps."""
        phase = np.arange(200) % 25
        y = 300 * MIB + phase * MIB + noise(200, 64 * 1024)
        self.assertEqual(detect_trend(times(200), y, PAGE).verdict, NO_LEAK)

    def test_sawtooth_with_rising_floor_is_a_leak(self) -> None:
        """The same sawtooth whose floor climbs 1 MiB a cycle is a leak."""
        k = np.arange(200)
        y = 40 * MIB + (k % 25) * MIB + (k // 25) * MIB + noise(200, 64 * 1024)
        self.assertEqual(detect_trend(times(200), y, PAGE).verdict, LEAK)

    def test_warm_up_then_plateau_is_not_a_leak(self) -> None:
        """Growth in the first fifth that then stops is a warm-up, not a leak, and says so."""
        k = np.arange(150)
        y = 40 * MIB + 30 * MIB * (1 - np.exp(-k / 8)) + noise(150, 128 * 1024)
        trend = detect_trend(times(150), y, PAGE)
        self.assertEqual(trend.verdict, NO_LEAK)
        self.assertIn("levels off", trend.reason)

    def test_single_spike_is_not_a_leak(self) -> None:
        """One huge reading near the end does not make a leak."""
        y = 60 * MIB + noise(120, 100 * 1024)
        y[110] += 500 * MIB
        self.assertEqual(detect_trend(times(120), y, PAGE).verdict, NO_LEAK)

    def test_autocorrelated_wander_is_not_a_leak(self) -> None:
        """A slow AR(1) wander that happens to end high is not taken for a trend."""
        rng = np.random.default_rng(7)
        values = [0.0]
        for _ in range(199):
            values.append(0.95 * values[-1] + rng.normal(0, 100 * 1024))
        y = 90 * MIB + np.array(values) - values[0]
        self.assertNotEqual(detect_trend(times(200), y, PAGE).verdict, LEAK)

    def test_uneven_intervals_use_the_timestamps(self) -> None:
        """Samples at irregular times give the rate per real hour, not per row."""
        rng = np.random.default_rng(3)
        t = np.cumsum(rng.uniform(0.5, 3.0, 100))
        y = 10 * MIB + t * 100 * 1024
        trend = detect_trend(t, y, PAGE)
        self.assertEqual(trend.verdict, LEAK)
        assert trend.rate_per_hour is not None
        self.assertAlmostEqual(trend.rate_per_hour, 100 * 1024 * 3600, delta=0.02 * 100 * 1024 * 3600)

    def test_fd_leak_in_whole_handles(self) -> None:
        """One descriptor more every 10 samples is a handle leak."""
        y = 20 + np.arange(100) // 10
        trend = detect_trend(times(100, 5.0), y, 1)
        self.assertEqual(trend.verdict, LEAK)
        assert trend.rate_per_hour is not None
        self.assertAlmostEqual(trend.rate_per_hour, 3600 / 50, delta=3600 / 50 * 0.2)

    def test_a_single_extra_handle_is_not_a_leak(self) -> None:
        """A handle opened once and kept (one step of one) is below the noise floor of two handles."""
        y = np.array([30] * 50 + [31] * 50)
        self.assertEqual(detect_trend(times(100), y, 1).verdict, NO_LEAK)

    def test_too_few_samples_is_inconclusive(self) -> None:
        """Under 8 samples there is no verdict, only 'inconclusive'."""
        trend = detect_trend(times(5), [1, 2, 3, 4, 5], 1)
        self.assertEqual(trend.verdict, INCONCLUSIVE)
        self.assertEqual(trend.confidence, "low")

    def test_clean_leak_has_high_confidence(self) -> None:
        """Twenty samples that each add 1 MiB are a leak called with high confidence, not low."""
        y = 50 * MIB + np.arange(20) * MIB
        trend = detect_trend(times(20, 0.5), y, PAGE)
        self.assertEqual((trend.verdict, trend.confidence), (LEAK, "high"))

    def test_time_to_limit_from_headroom(self) -> None:
        """With 3600 bytes of headroom and 1 byte/s of growth, the limit is one hour away."""
        y = 10_000_000 + np.arange(100) * 10 * PAGE
        trend = detect_trend(times(100, 10 * PAGE), y, PAGE, headroom=3600.0)
        assert trend.hours_to_limit is not None
        self.assertTrue(math.isclose(trend.hours_to_limit, 1.0, rel_tol=0.01))


def finite_or_none(trend: Trend) -> bool:
    """True when every number the trend carries is finite or None."""
    numbers = [trend.rate_per_hour, trend.rate_low_per_hour, trend.rate_high_per_hour, trend.p_value]
    numbers += [trend.hours_to_limit, trend.intercept]
    return all(number is None or math.isfinite(number) for number in numbers)


def quiet_trend(t: object, y: object, quantum: float) -> Trend:
    """detect_trend with every warning turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return detect_trend(t, y, quantum)  # type: ignore[arg-type]


class RobustnessTest(unittest.TestCase):
    def test_uneven_growth_with_slow_steps_is_a_leak(self) -> None:
        """12 samples growing 10 MiB a step except three steps of 2 MiB are a leak, not a crash."""
        steps = [10, 10, 10, 2, 10, 10, 2, 10, 2, 10, 10]
        y = 50 * MIB + np.concatenate(([0], np.cumsum(steps))) * MIB
        trend = quiet_trend(times(12, 0.5), y, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        self.assertTrue(finite_or_none(trend))

    def test_sawtooth_with_one_drop_gives_finite_numbers(self) -> None:
        """A climb, one collection and another climb give a verdict with finite numbers and no warning."""
        y = np.concatenate((np.arange(20), np.arange(20) + 3)) * MIB
        trend = quiet_trend(times(40), y, PAGE)
        self.assertIn(trend.verdict, (Verdict.LEAK, Verdict.NO_LEAK))
        self.assertTrue(finite_or_none(trend))

    def test_tied_timestamps_give_finite_numbers(self) -> None:
        """40 constant samples whose timestamps each appear twice are no leak, with finite numbers."""
        trend = quiet_trend(np.repeat(np.arange(20.0), 2), np.full(40, 5e6), PAGE)
        self.assertIs(trend.verdict, Verdict.NO_LEAK)
        self.assertTrue(finite_or_none(trend))

    def test_tied_times_are_spread_over_the_step_after_them(self) -> None:
        """Four samples stamped per whole second are spread a quarter second apart; a step back is one step."""
        seconds = np.array([10.0, 10, 10, 10, 11, 11, 11, 11, 12, 12, 9, 9])
        expected = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5]
        np.testing.assert_allclose(monotonic_times(seconds), expected)
        # Reading a report repairs its times the same way.
        np.testing.assert_allclose(monotonic_times(seconds), expected)

    def test_all_timestamps_equal_gives_finite_numbers(self) -> None:
        """A leak whose samples all carry the same timestamp still gets a verdict and finite numbers."""
        trend = quiet_trend(np.zeros(30), 10 * MIB + np.arange(30) * MIB, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        self.assertTrue(finite_or_none(trend))

    def test_clock_set_back_an_hour_keeps_a_leak(self) -> None:
        """A 60-sample linear leak whose timestamps jump back one hour at sample 30 is a leak at its own rate."""
        t = np.arange(60.0)
        t[30:] -= 3600
        trend = quiet_trend(t, 10 * MIB + np.arange(60) * 100 * 1024.0, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        assert trend.rate_per_hour is not None
        self.assertAlmostEqual(trend.rate_per_hour / (100 * 1024 * 3600), 1.0, delta=0.05)

    def test_non_finite_values_are_inconclusive(self) -> None:
        """A NaN or infinite value is a caller's error: inconclusive with a reason and no number."""
        for bad in (math.nan, math.inf):
            y = np.arange(20.0) * MIB
            y[7] = bad
            trend = quiet_trend(times(20), y, PAGE)
            with self.subTest(value=bad):
                self.assertIs(trend.verdict, Verdict.INCONCLUSIVE)
                self.assertIn("not finite", trend.reason)
                self.assertIsNone(trend.rate_per_hour)

    def test_times_and_values_of_different_lengths_are_inconclusive(self) -> None:
        """More times than values gives inconclusive with a reason, not an exception."""
        trend = quiet_trend(times(12), np.arange(10.0), 1)
        self.assertIs(trend.verdict, Verdict.INCONCLUSIVE)
        self.assertIn("12 times for 10 values", trend.reason)

    def test_huge_and_tiny_values_give_finite_numbers(self) -> None:
        """Values of 1e15 and of 1e-3 with a quantum to match give verdicts with finite numbers."""
        for scale in (1e15, 1e-3):
            y = scale * (1 + np.arange(50) / 10)
            trend = quiet_trend(times(50), y, scale / 1000)
            with self.subTest(scale=scale):
                self.assertIs(trend.verdict, Verdict.LEAK)
                self.assertTrue(finite_or_none(trend))

    def test_verdict_still_equals_its_old_string(self) -> None:
        """Verdict members compare equal to the strings old callers used, and print as them."""
        self.assertEqual(Verdict.LEAK, "leak")
        self.assertEqual(f"{Verdict.NO_LEAK}", "no-leak")
        self.assertIs(INCONCLUSIVE, Verdict.INCONCLUSIVE)

    def test_judging_series_of_other_lengths_in_between_changes_no_verdict(self) -> None:
        """The Theil-Sen pairs kept between calls give each series the verdict a first call gives it."""
        series = []
        for n, slope in ((3000, 40.0), (448, 0.0), (2500, 900.0), (3000, 0.0), (60, 3000.0)):
            series.append((times(n), 100 * MIB + noise(n, 8 * PAGE, seed=n) + slope * np.arange(n)))
        in_turn = [quiet_trend(t, y, PAGE) for t, y in series]
        for (t, y), trend in zip(series, in_turn):
            trend_statistics._pairs.cache_clear()
            with self.subTest(samples=len(y)):
                self.assertEqual(quiet_trend(t, y, PAGE), trend)

    def test_a_million_samples_still_give_the_right_verdicts(self) -> None:
        """A million-sample leak is a leak at its rate, and the same million samples without the leak are not."""
        n = 1_000_000
        k = np.arange(n)
        flat = np.round((200 * MIB + noise(n, 2 * MIB)) / PAGE) * PAGE
        leak = quiet_trend(k * 0.01, flat + 3000 * k, PAGE)
        self.assertIs(leak.verdict, Verdict.LEAK)
        assert leak.rate_per_hour is not None
        self.assertAlmostEqual(leak.rate_per_hour / (3000 * 100 * 3600), 1.0, delta=0.01)
        self.assertIs(quiet_trend(k * 0.01, flat, PAGE).verdict, Verdict.NO_LEAK)


class HarderShapesTest(unittest.TestCase):
    def test_sawtooth_whose_floor_gains_a_tenth_of_a_cycle_is_a_leak(self) -> None:
        """Eight GC cycles of 20 MiB whose floor gains only 2 MiB over the whole run (7% of the size) are a leak."""
        k = np.arange(400)
        y = 20 * MIB + (k % 50) / 50 * 20 * MIB + k / 400 * 2 * MIB + noise(400, 200 * 1024)
        self.assertIs(detect_trend(times(400), y, PAGE).verdict, Verdict.LEAK)

    def test_strong_ar1_wander_is_not_a_leak(self) -> None:
        """AR(1) wander with phi 0.97 over 400 samples is not a leak."""
        rng = np.random.default_rng(5)
        values = [0.0]
        for _ in range(399):
            values.append(0.97 * values[-1] + rng.normal(0, 100 * 1024))
        y = 90 * MIB + np.round(np.array(values) / PAGE) * PAGE
        self.assertIsNot(detect_trend(times(400), y, PAGE).verdict, Verdict.LEAK)

    def test_leak_with_pauses_and_changing_rate_is_a_leak(self) -> None:
        """Growth at a rate that changes every few samples, with pauses, is a leak."""
        rates = np.repeat(np.random.default_rng(2).choice([0.0, 0.5, 1.0, 3.0], 30), 4)
        y = 20 * MIB + np.cumsum(rates) * 256 * 1024 + noise(120, 64 * 1024)
        self.assertIs(detect_trend(times(120), y, PAGE).verdict, Verdict.LEAK)

    def test_request_churn_freed_within_a_few_samples_is_not_a_leak(self) -> None:
        """Allocations that are all freed one to three samples later are no leak."""
        rng = np.random.default_rng(4)
        y = np.full(200, 70.0 * MIB)
        for start in np.flatnonzero(rng.random(200) < 0.5):
            y[start : start + int(rng.integers(1, 4))] += rng.uniform(0.5, 8) * MIB
        self.assertIs(detect_trend(times(200), np.round(y / PAGE) * PAGE, PAGE).verdict, Verdict.NO_LEAK)


class SustainedGrowthTest(unittest.TestCase):
    def test_short_noisy_leak_is_a_leak(self) -> None:
        """30 samples rising 3 noise spreads in all (9% of the size) are a leak."""
        k = np.arange(30)
        y = 8 * MIB + k / 29 * 3 * 256 * 1024 + noise(30, 256 * 1024, seed=3)
        self.assertIs(detect_trend(times(30), y, PAGE).verdict, Verdict.LEAK)

    def test_warm_up_in_steps_within_the_first_third_is_not_a_leak(self) -> None:
        """Three steps up in the first quarter, then a long flat stretch, are a warm-up."""
        k = np.arange(400)
        y = 60 * MIB + ((k >= 20).astype(float) + (k >= 50) + (k >= 90)) * 8 * MIB + noise(400, 128 * 1024)
        trend = detect_trend(times(400), y, PAGE)
        self.assertIs(trend.verdict, Verdict.NO_LEAK)
        self.assertIn("levels off", trend.reason)

    def test_leak_that_starts_late_is_a_leak(self) -> None:
        """Flat for the first half, then climbing to the end, is a leak."""
        k = np.arange(120)
        y = 120 * MIB + np.clip(k - 60, 0, None) * 64 * 1024 + noise(120, 128 * 1024)
        self.assertIs(detect_trend(times(120), y, PAGE).verdict, Verdict.LEAK)

    def test_two_outliers_do_not_turn_a_steady_leak_into_a_sawtooth(self) -> None:
        """A steady leak with two deep one-sample dips keeps its verdict and rate: the dips are no collections."""
        k = np.arange(2000)
        y = 200 * MIB + k * 4 * PAGE + noise(2000, 64 * 1024)
        y[[700, 1500]] -= 64 * MIB
        trend = detect_trend(times(2000), y, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK)
        assert trend.rate_per_hour is not None
        self.assertAlmostEqual(trend.rate_per_hour / (4 * PAGE * 3600), 1.0, delta=0.05)

    def test_slow_cycle_ending_high_is_not_a_leak(self) -> None:
        """Two and a half slow periods of a load cycle, ending on a rise, raise no alarm."""
        k = np.arange(400)
        y = 200 * MIB + 10 * MIB * np.sin(2 * np.pi * k / 160 - np.pi / 2) + noise(400, 256 * 1024)
        self.assertIsNot(detect_trend(times(400), y, PAGE).verdict, Verdict.LEAK)


class DependentErrorsTest(unittest.TestCase):
    def test_sawtooth_with_flat_floor_and_jittered_intervals_is_not_a_leak(self) -> None:
        """A flat-floor sawtooth that climbs per sample, sampled at intervals jittered by 30%, is no leak."""
        rng = np.random.default_rng(2)
        t = np.cumsum(rng.uniform(0.7, 1.3, 120)) * 5
        y = 300 * MIB + (np.arange(120) % 15) / 15 * 20 * MIB + noise(120, 400 * 1024, seed=2)
        self.assertIs(detect_trend(t, y, PAGE).verdict, Verdict.NO_LEAK)

    def test_shallow_dip_within_a_cycle_does_not_split_it(self) -> None:
        """A dip freeing under half of what a collection frees is no collection: the rising floor stays a leak."""
        k = np.arange(2000)
        y = 20 * MIB + (k % 250) / 250 * 20 * MIB + k / 2000 * 2 * MIB + noise(2000, 200 * 1024)
        y[1100:1110] -= 6 * MIB * (1 - np.arange(10) / 10)
        self.assertIs(detect_trend(times(2000, 5.0), y, PAGE).verdict, Verdict.LEAK)

    def test_long_load_cycle_ending_on_a_rise_is_not_a_leak(self) -> None:
        """Three and a half periods of a smooth load cycle over 2,000 samples, ending on a rise, raise no alarm."""
        k = np.arange(2000)
        y = 200 * MIB + 10 * MIB * np.sin(2 * np.pi * k / 550 + 4.0) + noise(2000, 512 * 1024)
        self.assertIsNot(detect_trend(times(2000, 5.0), y, PAGE).verdict, Verdict.LEAK)


class CorpusScoreTest(unittest.TestCase):
    def test_f1_on_a_small_labelled_corpus(self) -> None:
        """On a small corpus the detector keeps an F1 of at least 0.9 at 120 samples and 0.8 at 30."""
        for n, floor in ((30, 0.8), (120, 0.9)):
            cases = generate(seed=11, lengths=(n,), repeats=1)
            precision, recall, f1 = scores([(case.leak, detector_says_leak(case)) for case in cases])
            with self.subTest(samples=n):
                self.assertGreaterEqual(f1, floor, (precision, recall))


if __name__ == "__main__":
    unittest.main()
