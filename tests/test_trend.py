"""The leak trend detector on literal series of each kind, and its score on a small labelled corpus."""

from __future__ import annotations

import math
import unittest

import numpy as np

from bench.leak_corpus import generate
from bench.leak_eval import detector_says_leak, scores
from monitor.trend import INCONCLUSIVE, LEAK, NO_LEAK, detect_trend

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
        y = 300 * MIB + (k % 25) * MIB + (k // 25) * MIB + noise(200, 64 * 1024)
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
        self.assertAlmostEqual(trend.rate_per_hour, 100 * 1024 * 3600, delta=0.02 * 100 * 1024 * 3600)

    def test_fd_leak_in_whole_handles(self) -> None:
        """One descriptor more every 10 samples is a handle leak."""
        y = 20 + np.arange(100) // 10
        trend = detect_trend(times(100, 5.0), y, 1)
        self.assertEqual(trend.verdict, LEAK)
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

    def test_time_to_limit_from_headroom(self) -> None:
        """With 3600 bytes of headroom and 1 byte/s of growth, the limit is one hour away."""
        y = 10_000_000 + np.arange(100) * 10 * PAGE
        trend = detect_trend(times(100, 10 * PAGE), y, PAGE, headroom=3600.0)
        assert trend.hours_to_limit is not None
        self.assertTrue(math.isclose(trend.hours_to_limit, 1.0, rel_tol=0.01))


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
