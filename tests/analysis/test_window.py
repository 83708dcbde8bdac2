"""The sliding window of the exporter's leak verdicts: bounded memory, order kept, analysis cost bounded."""

from __future__ import annotations

import unittest

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.analysis.trend import Verdict
from monitor.analysis.window import SlidingWindow, WindowedTrend

MIB = 1024 * 1024


class SlidingWindowTest(unittest.TestCase):
    @settings(max_examples=50, deadline=None)
    @given(st.integers(1, 20), st.lists(st.floats(-1e9, 1e9, allow_nan=False), max_size=60))
    def test_window_holds_the_most_recent_samples_in_order(self, capacity: int, values: list[float]) -> None:
        """Whatever is added, the window holds exactly the last `capacity` samples, oldest first."""
        window = SlidingWindow(capacity)
        for k, value in enumerate(values):
            window.add(float(k), value)
        times, kept = window.arrays()
        self.assertEqual(kept.tolist(), values[-capacity:] if values else [])
        self.assertEqual(times.tolist(), [float(k) for k in range(len(values))][-capacity:] if values else [])

    def test_a_window_needs_room_for_one_sample(self) -> None:
        """A capacity below one is refused."""
        with self.assertRaises(ValueError):
            SlidingWindow(0)


class FakeClock:
    """A clock that advances a fixed step at every reading: each analysis seems to take `step_s`."""

    def __init__(self, step_s: float) -> None:
        self.now = 0.0
        self.step_s = step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


class WindowedTrendTest(unittest.TestCase):
    def test_slow_analysis_is_spread_over_ticks(self) -> None:
        """An analysis taking 0.25 s at a 1 s interval, with an eighth of it to spend, runs every second tick."""
        windowed = WindowedTrend(100, interval_s=1.0, quantum=4096, share=0.125, clock=FakeClock(0.25))
        for k in range(100):
            windowed.add(float(k), 50 * MIB)
        self.assertEqual(windowed.analyses, 50)

    def test_fast_analysis_runs_every_tick(self) -> None:
        """An analysis within its share of the interval runs on every tick."""
        windowed = WindowedTrend(100, interval_s=1.0, quantum=4096, share=0.125, clock=FakeClock(0.0625))
        for k in range(30):
            windowed.add(float(k), 50 * MIB)
        self.assertEqual(windowed.analyses, 30)

    def test_refreshes_are_spaced_once_the_window_has_filled(self) -> None:
        """60 s refresh: every tick until a first verdict, a quarter more data apart while filling, then every 60 s."""
        windowed = WindowedTrend(3600, interval_s=1.0, quantum=4096, clock=FakeClock(0.0001), refresh_s=60.0)
        rng = np.random.default_rng(3)
        analysed_at = []
        for k in range(3600):
            before = windowed.analyses
            windowed.add(float(k), 50 * MIB + float(rng.normal(0, 64 * 1024)))
            if windowed.analyses > before:
                analysed_at.append(k)
        self.assertEqual(analysed_at[:8], list(range(8)))  # inconclusive until 8 samples: every tick
        # While it fills, a verdict is refreshed once the data has grown by a quarter, not every tick.
        filling = [k for k in analysed_at if 16 <= k < 240]
        self.assertTrue(all(later - earlier >= earlier // 4 for earlier, later in zip(filling, filling[1:])), filling)
        self.assertLess(len(filling), 20)
        gaps = np.diff(analysed_at[-10:])
        self.assertTrue(all(gap == 60 for gap in gaps), gaps)
        self.assertLess(len(analysed_at), 3600 // 10)

    def test_leak_in_the_window_is_found_and_forgotten_once_it_stops(self) -> None:
        """A leak is a leak while it fills the window, and no longer once the window holds only flat memory."""
        windowed = WindowedTrend(60, interval_s=1.0, quantum=4096)
        rng = np.random.default_rng(1)
        for k in range(60):
            trend = windowed.add(float(k), 50 * MIB + k * MIB + float(rng.normal(0, 64 * 1024)))
        assert trend is not None
        self.assertIs(trend.verdict, Verdict.LEAK)
        for k in range(60, 200):
            trend = windowed.add(float(k), 110 * MIB + float(rng.normal(0, 64 * 1024)))
        assert trend is not None
        self.assertIsNot(trend.verdict, Verdict.LEAK)

    def test_the_window_judges_by_the_practical_floor_it_is_given(self) -> None:
        """Eight pages over a 7.65 MB process in the window: no leak by default, a leak at a floor of a page an hour."""
        jitter = [0, 1, -1, 1, 0, -1, 0, 1, -1, 0]
        drift = [7_651_328 + (k * 8 // 59 + jitter[k % 10]) * 4096 for k in range(60)]
        verdicts = []
        for rate in (None, 4096.0):
            windowed = WindowedTrend(60, interval_s=1.0, quantum=4096, min_rate_per_hour=rate)
            for k, value in enumerate(drift):
                trend = windowed.add(float(k), float(value))
            assert trend is not None
            verdicts.append(trend.verdict)
        self.assertEqual(verdicts, [Verdict.NO_LEAK, Verdict.LEAK])


if __name__ == "__main__":
    unittest.main()
