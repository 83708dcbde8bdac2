"""The drift-free tick schedule on schedule.Scheduler."""

from __future__ import annotations

import time
import unittest

from monitor.sampling.clock import TickClock


class TickClockTest(unittest.TestCase):
    def test_fires_each_planned_tick_on_its_grid(self) -> None:
        """20 ticks at 25 ms fire in order, each close to start + k * interval."""
        fired: list[tuple[int, float]] = []

        def note(k: int) -> bool:
            fired.append((k, time.monotonic()))
            return True

        clock = TickClock(0.025, 20, note)
        start = time.monotonic()
        stats = clock.run(start)
        self.assertEqual([k for k, _ in fired], list(range(1, 21)))
        self.assertEqual((stats.fired, stats.missed), (20, 0))
        worst = max(abs(at - (start + k * 0.025)) for k, at in fired)
        self.assertLess(worst, 0.025)  # generous: shared, noisy machines

    def test_slow_ticks_do_not_accumulate_drift(self) -> None:
        """A tick that takes 15 ms of a 25 ms interval does not push later ticks back."""

        def slow(k: int) -> bool:
            time.sleep(0.015)
            return True

        start = time.monotonic()
        stats = TickClock(0.025, 20, slow).run(start)
        elapsed = time.monotonic() - start
        self.assertEqual(stats.fired, 20)
        # Drifting by the job's run time would take 20 * 0.04 = 0.8 s.
        self.assertLess(elapsed, 0.5 + 0.015 + 0.15)

    def test_stalled_tick_is_skipped_and_counted(self) -> None:
        """A tick that stalls for 3.5 intervals makes the clock skip the ticks it missed, not bunch them."""
        fired: list[int] = []

        def stall_once(k: int) -> bool:
            fired.append(k)
            if k == 2:
                time.sleep(0.175)
            return True

        stats = TickClock(0.05, 10, stall_once).run()
        self.assertGreaterEqual(stats.missed, 2)
        self.assertEqual(stats.fired + stats.missed, 10)
        self.assertEqual(fired, sorted(set(fired)))
        self.assertNotIn(3, fired)

    def test_on_tick_false_stops_early(self) -> None:
        """Returning False from the tick ends the run at once."""
        stats = TickClock(0.01, 100, lambda k: k < 3).run()
        self.assertEqual(stats.fired, 3)

    def test_stopped_callback_ends_the_wait(self) -> None:
        """A stop request during the wait ends the run without firing the pending tick."""
        calls: list[int] = []

        def note(k: int) -> bool:
            calls.append(k)
            return True

        stats = TickClock(5.0, 3, note, stopped=lambda: True).run()
        self.assertEqual((stats.fired, calls), (0, []))


if __name__ == "__main__":
    unittest.main()
