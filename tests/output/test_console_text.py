"""What the console, the log and the summary say: 80-column rows, grouped exits and refusals, counts of PIDs."""

from __future__ import annotations

import dataclasses
import datetime
import io
import logging
import unittest
from typing import Callable

import pandas as pd

from monitor.analysis.summary import analyze
from monitor.analysis.trend import INCONCLUSIVE, LEAK, NO_LEAK, Evidence, Trend, Verdict
from monitor.metrics import CPU, HANDLES, MEMORY, METRICS
from monitor.output.console import LEAK_MARKER, TERMINAL_COLUMNS, Console, ConsoleSink, format_header, format_row
from monitor.output.facts import RunFacts
from monitor.output.frame import FrameSink
from monitor.output.log import LogSink
from monitor.output.summary_text import Summary, format_summary, trend_line
from monitor.output.units import pid_list, plural, processes_and_pids
from monitor.stream import EventKind, ProcessEvent, ProcessReading, Sample, Sink

GIB = 1024**3


def _sample(index: int, pids: list[int], memory: float = 10e6) -> Sample:
    extra = (None,) * (len(METRICS) - 3)  # the metrics after the README's three, not read here
    readings = tuple(ProcessReading(pid, "app", (1.0, memory, 5.0, *extra)) for pid in pids)
    totals = (1.0 * len(pids), memory * len(pids), 5.0 * len(pids), *extra)
    wall = datetime.datetime(2026, 11, 28, 15, 0, index).astimezone()
    return Sample(index, wall, float(index), readings, totals)


class _WithFacts:
    """A sink fed as the run feeds it: the tick's facts first."""

    def __init__(self, make: Callable[[RunFacts], Sink]) -> None:
        self.facts = RunFacts()
        self.sink = make(self.facts)

    def add(self, sample: Sample) -> None:
        self.facts.add(sample)
        self.sink.add(sample)

    def note(self, event: ProcessEvent) -> None:
        self.sink.note(event)

    def close(self) -> None:
        self.sink.close()


def _console_sink() -> tuple[_WithFacts, io.StringIO]:
    out = io.StringIO()
    return _WithFacts(lambda facts: ConsoleSink(Console(out), facts, 1.0, 10.0, 10)), out


def _frame_of(*samples: Sample) -> pd.DataFrame:
    fed = _WithFacts(FrameSink)
    for sample in samples:
        fed.add(sample)
    frame_sink = fed.sink
    assert isinstance(frame_sink, FrameSink)
    return frame_sink.frame()


class MissedTicksTest(unittest.TestCase):
    def test_missed_ticks_are_said_once_when_they_pass_one_percent(self) -> None:
        """Ticks skipped by the clock show as gaps in the tick numbers; the console says so once, past 1%."""
        out = io.StringIO()
        sink = _WithFacts(lambda facts: ConsoleSink(Console(out), facts, 0.01, 10.0, 1000))
        sink.add(_sample(1, [7]))
        sink.add(_sample(10, [7]))  # 8 missed: 0.8%
        self.assertNotIn("Missed", out.getvalue())
        sink.add(_sample(13, [7]))  # 10 missed: 1.0%, not past it
        self.assertNotIn("Missed", out.getvalue())
        sink.add(_sample(15, [7]))  # 11 missed
        sink.add(_sample(40, [7]))
        said = [line for line in out.getvalue().splitlines() if "Missed" in line]
        self.assertEqual(len(said), 1, out.getvalue())
        self.assertIn("Missed 11 of 15 ticks so far", said[0])
        self.assertIn("too slow to sample every 0.01 s", said[0])


class TableWidthTest(unittest.TestCase):
    def test_widest_usual_row_with_the_leak_marker_fits_80_columns(self) -> None:
        """A row of 16 busy cores, 1023 GiB, 99999 handles and 1000 processes, marker included, is at most 80 wide."""
        values = {CPU: 1599.7, MEMORY: 1023.9 * GIB, HANDLES: 99999}
        averages = {CPU: 1599.9, MEMORY: 1023.9 * GIB, HANDLES: 99999.4}
        row = format_row("15:33:57.755", values, averages, 1000) + LEAK_MARKER
        self.assertLessEqual(len(row), TERMINAL_COLUMNS, row)
        self.assertLessEqual(len(format_header()), TERMINAL_COLUMNS)

    def test_rows_line_up_under_the_header(self) -> None:
        """Every cell ends in the same column as its title, so the table reads as columns."""
        header = format_header()
        row = format_row(
            "15:33:57.755", {CPU: 6.0, MEMORY: 9.1 * 2**20, HANDLES: 5}, {CPU: 3, MEMORY: 9.6e6, HANDLES: 5}, 1
        )
        self.assertEqual(len(row), len(header))
        self.assertTrue(row.endswith("    1"), row)
        self.assertIn("9.1 MiB", row)

    def test_the_first_leak_row_carries_the_marker(self) -> None:
        """Memory rising on every one of 11 samples: exactly one row is marked, and it stays within 80 columns."""
        sink, out = _console_sink()
        for index in range(1, 12):
            sink.add(_sample(index, [7], memory=10e6 + index * 1e6))
        marked = [line for line in out.getvalue().splitlines() if line.endswith(LEAK_MARKER)]
        self.assertEqual(len(marked), 1)
        self.assertLessEqual(len(marked[0]), TERMINAL_COLUMNS)


class RowTextTest(unittest.TestCase):
    def test_each_row_is_the_samples_totals_and_the_means_so_far(self) -> None:
        """The live row holds the clock time, every metric's total and running mean, and the process count."""
        out = io.StringIO()
        facts = RunFacts()
        sink = ConsoleSink(Console(out, live=False), facts, 1.0, 10.0, 10, wide=True)
        values = [(2.5, 9.1 * 2**20, 7.0), (130.0, 3.5 * GIB, 12.0), (None, 1536.0, 9.0)]
        means: dict[str, list[float]] = {CPU: [], MEMORY: [], HANDLES: []}
        expected = []
        for index, (cpu, memory, handles) in enumerate(values, 1):
            extra = tuple(float(index * 1000 + position) for position in range(len(METRICS) - 3))
            totals = (cpu, memory, handles, *extra)
            wall = datetime.datetime(2026, 11, 28, 15, 0, index, 123456 * index).astimezone()
            sample = Sample(index, wall, float(index), (ProcessReading(7, "app", totals),) * index, totals)
            facts.add(sample)
            sink.add(sample)
            for column, value in zip((CPU, MEMORY, HANDLES), (cpu, memory, handles)):
                if value is not None:
                    means[column].append(value)
            averages = {column: sum(seen) / len(seen) for column, seen in means.items()}
            expected.append(
                format_row(wall.strftime("%H:%M:%S.%f")[:-3], dict(zip(METRICS, totals)), averages, index, wide=True)
            )
        self.assertEqual(out.getvalue().splitlines()[1:], expected)


class CountsTest(unittest.TestCase):
    def test_one_sample_is_singular(self) -> None:
        """'1 sample', '2 samples'."""
        self.assertEqual(plural(1, "sample"), "1 sample")
        self.assertEqual(plural(2, "sample"), "2 samples")
        self.assertEqual(plural(3, "process", "processes"), "3 processes")

    def test_many_pids_give_a_count_and_the_first_few(self) -> None:
        """60 PIDs: the count, the first five and how many more; a few PIDs are all named."""
        pids = list(range(100, 160))
        self.assertEqual(processes_and_pids(pids), "60 processes: pids 100, 101, 102, 103, 104 and 55 more")
        self.assertEqual(processes_and_pids([7]), "pid 7")
        self.assertEqual(pid_list([7, 8, 9]), "pids 7, 8, 9")
        self.assertEqual(pid_list(pids, limit=None).count(","), 59)

    def test_summary_of_a_one_sample_run_says_sample(self) -> None:
        """A run of one sample is summarised as '1 sample'."""
        lines = format_summary(Summary("'app'", analyze(_frame_of(_sample(1, [7]))), [7]))
        self.assertEqual(lines[0], "Summary for 'app': 1 sample (pid 7)")


class GroupedEventsTest(unittest.TestCase):
    def test_exits_of_one_tick_are_one_line(self) -> None:
        """Three instances exiting in one tick give one line with the count and the PIDs, before the next row."""
        sink, out = _console_sink()
        sink.add(_sample(1, [1, 2, 3, 4]))
        for pid in (1, 2, 3):
            sink.note(ProcessEvent(EventKind.EXITED, pid, "x", 12, True))
        sink.add(_sample(2, [4]))
        lines = out.getvalue().splitlines()
        self.assertIn("3 processes of 'x' exited after 12 samples: pids 1, 2, 3", lines)
        self.assertEqual(sum("exited" in line for line in lines), 1)
        self.assertLess(lines.index("3 processes of 'x' exited after 12 samples: pids 1, 2, 3"), len(lines) - 1)

    def test_the_last_exit_is_said_when_the_run_closes(self) -> None:
        """The exit that ends the run (no row follows it) is printed when the sink closes."""
        sink, out = _console_sink()
        sink.add(_sample(1, [9]))
        sink.note(ProcessEvent(EventKind.EXITED, 9, "x", 1, True))
        sink.close()
        self.assertTrue(out.getvalue().endswith("process 'x' (pid 9) exited after 1 sample\n"), out.getvalue())

    def test_refused_instances_are_one_line_with_the_fix(self) -> None:
        """Two instances refused at one tick: one console line with the count, the PIDs and how to include them."""
        sink, out = _console_sink()
        sink.note(ProcessEvent(EventKind.DENIED, 812, "python3", 0, True))
        sink.note(ProcessEvent(EventKind.DENIED, 813, "python3", 0, True))
        sink.add(_sample(1, [7]))
        self.assertIn(
            "2 instances of 'python3' could not be read (access denied): pids 812, 813; "
            "run as their owner or as root to include them",
            out.getvalue().splitlines(),
        )

    def test_the_log_names_every_refused_pid_once(self) -> None:
        """Seven refused instances: one log line naming all seven PIDs."""
        stream = io.StringIO()
        log = logging.getLogger("test.denied.log")
        log.propagate = False
        handler = logging.StreamHandler(stream)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self.addCleanup(log.removeHandler, handler)
        sink = LogSink(log, RunFacts())
        for pid in range(800, 807):
            sink.note(ProcessEvent(EventKind.DENIED, pid, "python3", 0, True))
        sink.close()
        lines = stream.getvalue().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("7 instances of 'python3' could not be read (access denied): pids 800, 801", lines[0])
        self.assertIn("806", lines[0])

    def test_summary_names_refused_instances(self) -> None:
        """The summary says which instances were skipped, with the sentence the console used."""
        frame = _frame_of(_sample(1, [7]))
        lines = format_summary(Summary("'python3'", analyze(frame), [7], denied={812: "python3"}))
        self.assertIn(
            "1 instance of 'python3' could not be read (access denied): pid 812; "
            "run as its owner or as root to include it",
            lines,
        )


class LimitLineTest(unittest.TestCase):
    def _leak(self, hours_to_limit: float | None) -> Trend:
        return Trend(LEAK, 3.6e9, 3.5e9, 3.7e9, "high", 1e-6, 100, hours_to_limit, "keeps growing", 0.0)

    def test_a_known_limit_gives_the_time_left(self) -> None:
        """A leak with 2.2 h to the limit names the limit and the time left."""
        line = trend_line(self._leak(2.2), MEMORY)
        self.assertTrue(line.startswith("Memory trend: LEAK, +3.4 GiB/h"), line)
        self.assertTrue(line.endswith("; at this rate the machine's available memory runs out in about 2.2 h"), line)
        handles = trend_line(self._leak(2.2), HANDLES)
        self.assertTrue(handles.endswith("the process's open-file limit is reached in about 2.2 h"), handles)

    def test_verdict_lines_do_not_nest_brackets(self) -> None:
        """A reason in brackets is not put inside another pair of brackets."""
        trend = Trend(NO_LEAK, 0.0, -1.0, 1.0, "low", 0.5, 100, None, "growth levels off (warm-up, not a leak)", 0.0)
        line = trend_line(trend, MEMORY)
        self.assertEqual(line.count("("), line.count(")"), line)
        self.assertNotRegex(line, r"\([^()]*\(", line)

    def test_minutes_and_days_are_used_for_short_and_long_times(self) -> None:
        """Under an hour in minutes, from two days in days."""
        self.assertTrue(trend_line(self._leak(0.25), MEMORY).endswith("about 15 min"))
        self.assertTrue(trend_line(self._leak(72.0), MEMORY).endswith("about 3.0 days"))

    def test_an_unknown_limit_says_nothing_about_it(self) -> None:
        """No limit known: no 'limit' clause."""
        self.assertNotIn("limit", trend_line(self._leak(None), MEMORY))


MIB = 1024.0 * 1024.0


class VerdictLineTest(unittest.TestCase):
    def _trend(self, verdict: Verdict, rate: float, low: float, high: float, reason: str) -> Trend:
        """A verdict whose smallest leak that matters is 1 MiB/h."""
        return Trend(
            verdict,
            rate,
            low,
            high,
            "high",
            0.2,
            120,
            None,
            reason,
            0.0,
            min_rate_per_hour=1.0 * MIB,
            decided_by=Evidence.LEVEL,
        )

    def test_no_leak_shows_its_upper_end_under_the_smallest_leak_in_one_unit(self) -> None:
        """An upper end of 0.999 MiB/h and a floor of 1 MiB/h are told apart, in MiB/h both."""
        line = trend_line(self._trend(NO_LEAK, 0.5 * MIB, 0.0, 0.999 * MIB, "below"), MEMORY)
        self.assertTrue(line.endswith("(90%: 0.000 to 0.999 MiB/h), under 1.000 MiB/h"), line)

    def test_inconclusive_says_what_would_settle_it_beside_its_numbers(self) -> None:
        """An inconclusive line keeps the reason, then the growth and the smallest leak that matters."""
        reason = "the data cannot yet tell growth that matters from noise: a run about 2 times as long would settle it"
        line = trend_line(self._trend(INCONCLUSIVE, 0.5 * MIB, -2.0 * MIB, 3.0 * MIB, reason), MEMORY)
        self.assertIn(f"inconclusive: {reason}; +0.5 MiB/h (90%: -2.0 to 3.0 MiB/h)", line)
        self.assertTrue(line.endswith("the smallest leak that matters 1.0 MiB/h"), line)

    def test_growth_within_the_sampling_resolution_is_measured_against_it(self) -> None:
        """When cycles sampled out of step could make the growth, the line compares it with that resolution."""
        trend = dataclasses.replace(
            self._trend(INCONCLUSIVE, 1.5 * MIB, 1.2 * MIB, 4.0 * MIB, "why"), resolution_per_hour=2.0 * MIB
        )
        line = trend_line(trend, MEMORY)
        self.assertTrue(line.endswith("the smallest growth these samples can tell apart 2.0 MiB/h"), line)

    def test_the_smallest_leak_sets_the_unit_so_that_it_never_reads_zero(self) -> None:
        """Growth in GiB/h beside a smallest leak of 1 MiB/h is written in MiB/h, not as a floor of 0.0 GiB/h."""
        line = trend_line(
            self._trend(INCONCLUSIVE, -0.4 * 1024 * MIB, -3.5 * 1024 * MIB, 2.9 * 1024 * MIB, "?"), MEMORY
        )
        self.assertTrue(
            line.endswith("-409.6 MiB/h (90%: -3584.0 to 2969.6 MiB/h), the smallest leak that matters 1.0 MiB/h"), line
        )

    def test_no_verdict_line_nests_brackets(self) -> None:
        """Whatever the verdict, a line has no bracket inside another."""
        for verdict in (LEAK, NO_LEAK, INCONCLUSIVE):
            for metric in (MEMORY, HANDLES):
                line = trend_line(self._trend(verdict, 0.5 * MIB, 0.1 * MIB, 0.9 * MIB, "why"), metric)
                self.assertEqual(line.count("("), line.count(")"), line)
                self.assertNotRegex(line, r"\([^()]*\(", line)


if __name__ == "__main__":
    unittest.main()
