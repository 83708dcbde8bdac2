"""A process's CPU % is the rate of its CPU seconds, as psutil's cpu_percent() gives it."""

from __future__ import annotations

import time

import psutil

from monitor.sampling.probes import read_process
from tests.helpers import MonitorTestCase, unique_name

SPAN_S = 1.0


class CpuPercentTest(MonitorTestCase):
    def test_cpu_percent_of_a_busy_process_agrees_with_psutils_over_the_same_span(self) -> None:
        """Between two readings of a busy process, its CPU % is what psutil's cpu_percent() says over the
        same span (read just outside it), within a few points; the priming reading says 0 as psutil's first
        call does."""
        workload = self.start_workload(unique_name("busy"), "--busy", "--seconds", "60")
        ours, theirs = psutil.Process(workload.pid), psutil.Process(workload.pid)
        theirs.cpu_percent()
        first = read_process(ours, "busy")
        assert first is not None
        self.assertEqual(first.value("cpu_percent"), 0.0)
        time.sleep(SPAN_S)
        second = read_process(ours, "busy", previous=first)
        psutils = theirs.cpu_percent()
        assert second is not None
        measured = second.value("cpu_percent")
        assert measured is not None
        self.assertGreater(psutils, 10.0, "the busy workload hardly ran")
        self.assertAlmostEqual(measured, psutils, delta=max(5.0, psutils * 0.05))
