"""The drift-free tick schedule on schedule.Scheduler, driven by a fake monotonic clock and sleep."""

from __future__ import annotations

import math
import time
import unittest
from typing import Callable

from monitor.sampling.clock import TickClock


class FakeTime:
    """A monotonic clock that moves only when the code under test sleeps or a tick takes time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.during_sleep: Callable[[], None] = lambda: None

    def monotonic(self) -> float:
        """The fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time instead of waiting."""
        self.sleeps.append(seconds)
        self.now += seconds
        self.during_sleep()

    def clock(
        self,
        interval_s: float,
        planned: int,
        on_tick: Callable[[int], bool],
        stopped: Callable[[], bool] = lambda: False,
    ) -> TickClock:
        """A TickClock on this fake time."""
        return TickClock(interval_s, planned, on_tick, sleep=self.sleep, stopped=stopped, monotonic=self.monotonic)


class TickClockTest(unittest.TestCase):
    def test_fires_each_planned_tick_on_its_grid(self) -> None:
        """Ten ticks of 0.5 s fire in order, each exactly at start + k * interval, with no lateness."""
        fake = FakeTime()
        fired: list[tuple[int, float]] = []

        def note(k: int) -> bool:
            fired.append((k, fake.now))
            return True

        stats = fake.clock(0.5, 10, note).run()
        self.assertEqual(fired, [(k, 1000.0 + 0.5 * k) for k in range(1, 11)])
        self.assertEqual((stats.fired, stats.missed, stats.max_lateness_s), (10, 0, 0.0))

    def test_slow_ticks_do_not_accumulate_drift(self) -> None:
        """A tick that takes 60% of the interval does not push the later ticks back."""
        fake = FakeTime()
        fired: list[float] = []

        def slow(k: int) -> bool:
            fired.append(fake.now)
            fake.now += 0.6
            return True

        stats = fake.clock(1.0, 5, slow).run()
        self.assertEqual(fired, [1001.0, 1002.0, 1003.0, 1004.0, 1005.0])
        self.assertEqual(stats.fired, 5)
        for slept in fake.sleeps[1:]:
            self.assertAlmostEqual(slept, 0.4)

    def test_lateness_is_measured_against_the_grid(self) -> None:
        """A sleep that overshoots by 30 ms shows as 30 ms of lateness, and the tick still fires."""
        fake = FakeTime()

        def oversleep(seconds: float) -> None:
            fake.now += seconds + 0.03

        clock = TickClock(1.0, 3, lambda k: True, sleep=oversleep, monotonic=fake.monotonic)
        stats = clock.run()
        self.assertEqual((stats.fired, stats.missed), (3, 0))
        self.assertAlmostEqual(stats.max_lateness_s, 0.03)

    def test_stalled_tick_is_skipped_and_counted(self) -> None:
        """A tick that stalls for 3.7 intervals makes the clock skip ticks 3 to 5, not bunch them."""
        fake = FakeTime()
        fired: list[tuple[int, float]] = []

        def stall_once(k: int) -> bool:
            fired.append((k, fake.now))
            if k == 2:
                fake.now += 3.7
            return True

        stats = fake.clock(1.0, 10, stall_once).run()
        self.assertEqual([k for k, _ in fired], [1, 2, 6, 7, 8, 9, 10])
        self.assertEqual(dict(fired)[6], 1006.0)
        self.assertEqual((stats.fired, stats.missed), (7, 3))

    def test_tick_less_than_half_an_interval_late_still_fires(self) -> None:
        """A stall of 1.4 intervals leaves the next tick 0.4 interval late: it fires at once, none is missed."""
        fake = FakeTime()
        fired: list[tuple[int, float]] = []

        def stall_once(k: int) -> bool:
            fired.append((k, fake.now))
            if k == 1:
                fake.now += 1.4
            return True

        stats = fake.clock(1.0, 4, stall_once).run()
        self.assertEqual(fired, [(1, 1001.0), (2, 1002.4), (3, 1003.0), (4, 1004.0)])
        self.assertEqual(stats.missed, 0)
        self.assertAlmostEqual(stats.max_lateness_s, 0.4)

    def test_stall_past_the_last_tick_ends_the_run(self) -> None:
        """A stall that outlasts the planned ticks counts them as missed and returns."""
        fake = FakeTime()

        def stall(k: int) -> bool:
            fake.now += 50.0
            return True

        stats = fake.clock(1.0, 5, stall).run()
        self.assertEqual((stats.fired, stats.missed), (1, 4))

    def test_on_tick_false_stops_early(self) -> None:
        """Returning False from the tick ends the run at once."""
        fake = FakeTime()
        stats = fake.clock(0.01, 100, lambda k: k < 3).run()
        self.assertEqual(stats.fired, 3)

    def test_stop_requested_during_the_sleep_fires_no_more_ticks(self) -> None:
        """A stop signal that arrives during the wait for tick 3 ends the run without firing it."""
        fake = FakeTime()
        fired: list[int] = []
        stop = {"requested": False}

        def note(k: int) -> bool:
            fired.append(k)
            if k == 2:
                # The signal arrives while the clock sleeps towards tick 3.
                fake.during_sleep = lambda: stop.update(requested=True)
            return True

        stats = fake.clock(1.0, 5, note, stopped=lambda: stop["requested"]).run()
        self.assertEqual(fired, [1, 2])
        self.assertEqual(stats.fired, 2)

    def test_sleep_cut_short_waits_again_for_the_grid(self) -> None:
        """A sleep that returns early (a signal that does not stop) is resumed; the tick fires on time."""
        fake = FakeTime()
        fired: list[float] = []

        def short_sleep(seconds: float) -> None:
            fake.now += seconds / 2

        def note(k: int) -> bool:
            fired.append(fake.now)
            return True

        TickClock(1.0, 2, note, sleep=short_sleep, monotonic=fake.monotonic).run()
        self.assertEqual(len(fired), 2)
        self.assertGreaterEqual(fired[0], 1001.0)
        self.assertGreaterEqual(fired[1], 1002.0)

    def test_zero_negative_or_non_finite_interval_is_refused(self) -> None:
        """No clock can be built with a period that is 0, negative, infinite or NaN."""
        for interval in (0.0, -1.0, 1e-400, math.inf, math.nan):
            with self.subTest(interval=interval), self.assertRaises(ValueError):
                TickClock(interval, 3, lambda k: True)

    def test_real_clock_keeps_to_the_grid(self) -> None:
        """On the real clock, 20 ticks at 25 ms fire in order, each close to start + k * interval."""
        fired: list[tuple[int, float]] = []

        def note(k: int) -> bool:
            fired.append((k, time.monotonic()))
            return True

        start = time.monotonic()
        stats = TickClock(0.025, 20, note).run(start)
        self.assertEqual([k for k, _ in fired], list(range(1, 21)))
        self.assertEqual(stats.fired + stats.missed, 20)
        for k, at in fired:
            self.assertGreaterEqual(at, start + k * 0.025)


if __name__ == "__main__":
    unittest.main()
