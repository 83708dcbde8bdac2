"""Properties of the leak trend detector over generated series: always a verdict, finite numbers, no warning."""

from __future__ import annotations

import math
import unittest
import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from monitor.analysis.trend import Trend, Verdict, detect_trend
from monitor.analysis.trend_statistics import _average_ranks, design_effect

PAGE = 4096


@st.composite
def series(draw: st.DrawFn, max_size: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Times (uneven, tied or going back) and values (ties, stalls, drops, huge or tiny) of one length."""
    n = draw(st.integers(0, max_size))
    steps = draw(st.lists(st.sampled_from([0.0, 0.001, 0.5, 1.0, 3.0, -2.0, 1e5]), min_size=n, max_size=n))
    scale = draw(st.sampled_from([1e-3, 1.0, 4096.0, 1e15]))
    moves = draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n))
    stall = draw(st.booleans())
    values = np.cumsum(moves) * scale + (0.0 if stall else draw(st.floats(0, 1e6)))
    return np.cumsum(steps), values


@st.composite
def page_series(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Whole pages at evenly spaced times: shifting or scaling them is exact in floating point."""
    n = draw(st.integers(8, 80))
    moves = draw(st.lists(st.integers(-20, 40), min_size=n, max_size=n))
    return np.arange(n, dtype=float), (1000 + np.cumsum(moves)).astype(float) * PAGE


def quiet_trend(t: np.ndarray, y: np.ndarray, quantum: float, min_rate_per_hour: float | None = None) -> Trend:
    """detect_trend with every warning turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return detect_trend(t, y, quantum, min_rate_per_hour=min_rate_per_hour)


def numbers(trend: Trend) -> list[float | None]:
    """Every number a Trend carries that may be None, its evidence's included."""
    found: list[float | None] = [
        trend.rate_per_hour,
        trend.rate_low_per_hour,
        trend.rate_high_per_hour,
        trend.p_value,
        trend.hours_to_limit,
        trend.intercept,
        trend.min_rate_per_hour,
        trend.judged_from_s,
        trend.longer,
    ]
    for growth in (trend.level, trend.floor):
        if growth is not None:
            found += [growth.rate_per_hour, growth.low_per_hour, growth.high_per_hour, growth.p_value]
            found.append(growth.effective_points)
    return found


def judged(trend: Trend) -> tuple:
    """What the detector concluded, apart from the fitted line's intercept (which moves with the values)."""
    return (trend.verdict, trend.rate_per_hour, trend.rate_low_per_hour, trend.rate_high_per_hour, trend.p_value)


class TrendPropertiesTest(unittest.TestCase):
    @settings(max_examples=60, deadline=None)
    @given(series(), st.sampled_from([1e-3, 1.0, PAGE]))
    def test_any_finite_series_gets_a_verdict_and_finite_numbers(self, data: tuple, quantum: float) -> None:
        """Any finite series of any length gives a Verdict, finite-or-None numbers and no warning."""
        t, y = data
        trend = quiet_trend(t, y, quantum)
        self.assertIsInstance(trend.verdict, Verdict)
        self.assertEqual(trend.samples, len(y))
        for number in numbers(trend):
            self.assertTrue(number is None or math.isfinite(number), trend)

    @settings(max_examples=40, deadline=None)
    @given(page_series(), st.sampled_from([-(2**40), 2**40]) | st.integers(-(2**30), 2**30))
    def test_adding_a_constant_keeps_the_verdict(self, data: tuple, pages: int) -> None:
        """With a given smallest leak rate, adding up to 2**40 pages to every value changes no verdict and no statistic.

        (The default rate is a share of the median, which a constant moves on purpose.)
        """
        t, y = data
        rate = 50 * PAGE * 3600.0
        shifted, plain = quiet_trend(t, y + pages * PAGE, PAGE, rate), quiet_trend(t, y, PAGE, rate)
        self.assertEqual(shifted.verdict, plain.verdict)
        self.assertEqual(judged(shifted), judged(plain))

    @settings(max_examples=40, deadline=None)
    @given(page_series(), st.integers(-20, 20))
    def test_scaling_by_a_power_of_two_keeps_the_verdict(self, data: tuple, power: int) -> None:
        """Scaling values and quantum by the same power of two does not change the verdict."""
        t, y = data
        factor = 2.0**power
        self.assertEqual(quiet_trend(t, y * factor, PAGE * factor).verdict, quiet_trend(t, y, PAGE).verdict)

    @settings(max_examples=40, deadline=None)
    @given(
        st.integers(30, 300),
        st.lists(st.integers(-1, 1), min_size=300, max_size=300),
        st.floats(0.1, 10.0),
    )
    def test_clear_linear_leak_with_bounded_noise_stays_a_leak(self, n: int, noise: list[int], step_s: float) -> None:
        """10 pages a sample (over 30% of the size in all) plus noise of at most 5 pages either way is a leak."""
        k = np.arange(n)
        y = (1000 + 10 * k + 5 * np.array(noise[:n])) * PAGE
        self.assertIs(quiet_trend(k * step_s, y.astype(float), PAGE).verdict, Verdict.LEAK)

    @settings(max_examples=40, deadline=None)
    @given(
        st.integers(120, 600),
        st.lists(st.tuples(st.integers(2, 9), st.integers(1, 3), st.floats(0.0, 1.0)), min_size=60, max_size=60),
        st.floats(0.125, 1.0),
        st.floats(1.0, 20.0),
        st.floats(0.1, 5.0),
    )
    def test_a_floor_rising_under_bounded_waves_is_a_leak(
        self, n: int, waves: list[tuple[int, int, float]], rise_share: float, height_to_rise: float, step_s: float
    ) -> None:
        """A floor rising linearly by 12.5% to 100% of the size, under waves up to 20 times that rise that fall
        back to it after at most 9 samples, is a leak from 120 samples on."""
        size = 10_000.0
        rise = rise_share * size
        floor = size + rise * np.arange(n) / (n - 1)
        work = np.zeros(n)
        at, k = 0, 0
        while at < n:
            length, gap, height = waves[k % len(waves)]
            work[at : at + length] = height * height_to_rise * rise
            at, k = at + length + gap, k + 1
        y = np.round(floor + work) * PAGE
        trend = quiet_trend(np.arange(n) * step_s, y, PAGE)
        self.assertIs(trend.verdict, Verdict.LEAK, trend)

    @settings(max_examples=60, deadline=None)
    @given(
        st.integers(30, 400),
        st.floats(2.2, 12.0),
        st.floats(0.0, 1.0),
        st.sampled_from([2.0, 10.0, 60.0]),
        st.floats(0.05, 2.0),
    )
    def test_a_sawtooth_on_a_flat_floor_is_never_a_leak_at_any_sampling_interval(
        self, n: int, samples_per_cycle: float, phase: float, height_mib: float, step_s: float
    ) -> None:
        """Cycles that climb and fall back to the same floor, sampled at any interval: where in its cycle each
        sample falls drifts from cycle to cycle (a stroboscope), and the lowest samples seem to rise by up to
        one interval's climb; that is not a leak."""
        cycle = phase + np.arange(n) / samples_per_cycle
        y = np.round((20 * 2**20 + height_mib * 2**20 * (cycle % 1.0)) / PAGE) * PAGE
        trend = quiet_trend(np.arange(n) * step_s, y, PAGE)
        self.assertIsNot(trend.verdict, Verdict.LEAK, trend)

    @settings(max_examples=60, deadline=None)
    @given(series(max_size=200), st.sampled_from([1.0, PAGE]), st.sampled_from([None, 1.0, 3600.0, 1e9]))
    def test_every_verdict_is_backed_by_its_own_numbers(
        self, data: tuple, quantum: float, min_rate: float | None
    ) -> None:
        """A `no-leak` comes with an interval whose upper end is below the smallest leak rate; a `leak` with an
        interval whose lower end is not below 0 and a rate at that smallest leak or more."""
        t, y = data
        trend = quiet_trend(t, y, quantum, min_rate)
        if trend.verdict is Verdict.NO_LEAK:
            assert trend.rate_high_per_hour is not None and trend.min_rate_per_hour is not None
            self.assertLess(trend.rate_high_per_hour, trend.min_rate_per_hour)
        if trend.verdict is Verdict.LEAK:
            assert trend.rate_low_per_hour is not None and trend.rate_per_hour is not None
            assert trend.min_rate_per_hour is not None
            self.assertGreaterEqual(trend.rate_low_per_hour, 0.0)
            self.assertGreaterEqual(trend.rate_per_hour, trend.min_rate_per_hour)
        if min_rate is not None and trend.min_rate_per_hour is not None:
            self.assertEqual(trend.min_rate_per_hour, min_rate)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.sampled_from([-2.5, -1.0, 0.0, 0.0, 1.0, 3.0, 1e15]) | st.floats(-1e6, 1e6), max_size=80))
    def test_ranks_are_scipys_average_ranks(self, values: list[float]) -> None:
        """Ranks with ties averaged equal scipy's rankdata exactly, ties and empty input included."""
        x = np.array(values, dtype=float)
        np.testing.assert_array_equal(_average_ranks(x), scipy_stats.rankdata(x))

    @settings(max_examples=80, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 6), st.floats(-1e6, 1e6)), min_size=1, max_size=80))
    def test_design_effect_is_finite_between_one_and_the_count(self, pairs: list[tuple[int, float]]) -> None:
        """Any values in any clusters give a design effect from 1 to the number of values, never NaN."""
        clusters = np.array([c for c, _ in pairs])
        x = np.array([v for _, v in pairs])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            effect = design_effect(x, clusters)
        self.assertTrue(math.isfinite(effect))
        self.assertGreaterEqual(effect, 1.0)
        self.assertLessEqual(effect, len(x))


if __name__ == "__main__":
    unittest.main()
