"""The facts of each tick, computed once ahead of the sinks: report row, means, the README rule, missing values."""

from __future__ import annotations

import datetime
import unittest

from monitor.metrics import METRICS
from monitor.output.csv_report import report_row
from monitor.output.facts import RunFacts
from monitor.stream import ProcessReading, Sample


def sample(index: int, memory: float | None, *, threads: float | None = 1.0, pid: int = 7) -> Sample:
    values = tuple(
        memory if column == "private_memory" else threads if column == "threads" else 1.0 for column in METRICS
    )
    reading = ProcessReading(pid, "app", values)
    wall = datetime.datetime(2026, 12, 1, 12, 0, index).astimezone()
    return Sample(index, wall, float(index), (reading,), values)


class RunFactsTest(unittest.TestCase):
    def test_the_readme_rule_first_holds_once(self) -> None:
        """A rising series: the rule holds from the 10th sample on, and 'first holds' is said at that one only."""
        facts = RunFacts()
        first = []
        for index in range(1, 16):
            facts.add(sample(index, 1000.0 * index))
            first.append(facts.rule_first_holds)
        self.assertEqual(first.index(True), 9)
        self.assertEqual(first.count(True), 1)
        self.assertTrue(facts.rule.leak)

    def test_a_gap_is_left_out_of_the_rule_not_read_as_zero(self) -> None:
        """A sample with no private memory is no step down: the rule still holds over the gap."""
        facts = RunFacts()
        for index in range(1, 13):
            facts.add(sample(index, None if index == 6 else 1000.0 * index))
        self.assertEqual(facts.rule.steps_down, 0)
        self.assertTrue(facts.rule.leak)

    def test_a_missing_metric_is_new_once(self) -> None:
        """The first sample a metric is missing names it; later ones do not, and the run keeps every PID."""
        facts = RunFacts()
        facts.add(sample(1, 1000.0, threads=None))
        self.assertEqual(facts.newly_missing, [(7, "app", ["threads"])])
        facts.add(sample(2, 1000.0, threads=None, pid=8))
        self.assertEqual(facts.newly_missing, [])
        self.assertEqual(facts.missing, {"threads": {7: "app", 8: "app"}})

    def test_the_row_is_the_report_row_and_means_run(self) -> None:
        """The row is formatted once per sample; the means cover every sample so far."""
        facts = RunFacts()
        facts.add(sample(1, 1000.0))
        facts.add(sample(2, 3000.0))
        self.assertEqual(facts.row, report_row(sample(2, 3000.0)))
        self.assertEqual(facts.means["private_memory"], 2000.0)
        self.assertEqual(facts.samples, 2)


class WholeRunVerdictsTest(unittest.TestCase):
    def test_only_pids_present_in_every_tick_are_judged(self) -> None:
        """A PID that left early or joined late is left out of the per-process verdicts."""
        facts = RunFacts()
        ticks = [[(1, 10), (2, 5)], [(1, 11), (2, 5)], [(1, 12), (3, 9)]]
        now = datetime.datetime.now().astimezone()
        for index, tick in enumerate(ticks, start=1):
            extra = (None,) * (len(METRICS) - 3)
            readings = tuple(ProcessReading(pid, "a", (0.0, memory, 3, *extra)) for pid, memory in tick)
            totals = (0.0, sum(m for _, m in tick), 3 * len(tick), *extra)
            facts.add(Sample(index, now, float(index), readings, totals))
        verdicts = facts.whole_run_verdicts()
        self.assertEqual(list(verdicts), [1])
        self.assertEqual((verdicts[1][1].samples, verdicts[1][1].steps_up), (3, 2))


if __name__ == "__main__":
    unittest.main()
