"""Properties of report reading and run analysis over any data a user's CSV can hold (Hypothesis)."""

from __future__ import annotations

import datetime
import json
import math
import tempfile
import unittest
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.analysis.summary import analyze
from monitor.analysis.trend_series import monotonic_times
from monitor.errors import MonitorError
from monitor.output.csv_cells import shown
from monitor.output.saved_report import per_process, read_report
from monitor.output.summary_json import summary_document

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.timezone.utc)

seconds_lists = st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=60)
rows = st.lists(
    st.tuples(
        st.floats(-7200, 7200, allow_nan=False),  # seconds from START: uneven, duplicate, backward
        st.floats(0, 1e4, allow_nan=False),  # cpu %
        st.integers(0, 2**50),  # private memory, bytes
        st.integers(0, 2**20),  # handles
    ),
    max_size=60,
)

# Free text, and the spellings of numbers that are not finite.
cell_texts = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e999", "", " ", "2026-03-01T12:00:00+00:00", "12"]),
)


def write_rows(folder: Path, data: list[tuple[float, float, int, int]]) -> Path:
    """A report in the README's columns holding `data`."""
    path = folder / "report.csv"
    lines = ["timestamp,cpu_percent,private_memory,handles_fds,process_count"]
    for second, cpu, memory, handles in data:
        stamp = (START + datetime.timedelta(seconds=second)).isoformat(timespec="milliseconds")
        lines.append(f"{stamp},{cpu!r},{memory},{handles},1")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def numbers_in(value: Any) -> list[float]:
    """Every float inside a JSON-like document."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [number for item in value.values() for number in numbers_in(item)]
    if isinstance(value, list):
        return [number for item in value for number in numbers_in(item)]
    return []


class ElapsedFromWallClockTest(unittest.TestCase):
    @EXAMPLES
    @given(seconds_lists)
    def test_elapsed_never_goes_back_and_keeps_every_sample(self, seconds: list[float]) -> None:
        """Any wall-clock series gives one finite, non-decreasing elapsed time per sample, starting at 0."""
        elapsed = monotonic_times(np.asarray(seconds))
        self.assertEqual(len(elapsed), len(seconds))
        self.assertTrue(np.isfinite(elapsed).all())
        if len(seconds):
            self.assertEqual(elapsed[0], 0.0)
            self.assertTrue((np.diff(elapsed) >= 0).all())

    @EXAMPLES
    @given(st.lists(st.floats(0.001, 100, allow_nan=False), min_size=1, max_size=40))
    def test_a_clock_that_only_moves_forward_is_kept_as_it_is(self, steps: list[float]) -> None:
        """Increasing timestamps are only shifted to start at 0."""
        seconds = np.cumsum(steps)
        np.testing.assert_allclose(monotonic_times(seconds), seconds - seconds[0], rtol=1e-9, atol=1e-9)

    def test_backward_step_becomes_the_median_step(self) -> None:
        """A clock stepping back an hour between two 1 s samples counts as one ordinary step."""
        seconds = np.array([0.0, 1.0, 2.0, -3598.0, -3597.0])
        np.testing.assert_allclose(monotonic_times(seconds), [0.0, 1.0, 2.0, 3.0, 4.0])


class ReadAndAnalyzeTest(unittest.TestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)

    @EXAMPLES
    @given(rows)
    def test_any_report_gives_strict_json_and_no_warning(self, data: list[tuple[float, float, int, int]]) -> None:
        """Any finite report, with uneven, tied or backward times, is read and analysed without a warning;
        its summary is strict JSON with finite numbers only."""
        path = write_rows(self.folder, data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = read_report(path)
            analysis = analyze(frame)
            document = summary_document(path, analysis)
        self.assertEqual(analysis.samples, len(data))
        text = json.dumps(document, allow_nan=False)
        self.assertTrue(all(math.isfinite(number) for number in numbers_in(json.loads(text))))
        for leak in document["leak"].values():
            self.assertIn(leak["verdict"], {"leak", "no-leak", "inconclusive"})

    @EXAMPLES
    @given(rows)
    def test_values_read_back_are_the_values_written(self, data: list[tuple[float, float, int, int]]) -> None:
        """Memory and handles come back exactly, one row per row written, with elapsed_s never going back."""
        frame = read_report(write_rows(self.folder, data))
        self.assertEqual(frame["private_memory"].tolist(), [memory for _, _, memory, _ in data])
        self.assertEqual(frame["handles_fds"].tolist(), [handles for _, _, _, handles in data])
        self.assertTrue((np.diff(frame["elapsed_s"].to_numpy()) >= 0).all())

    @settings(max_examples=150, deadline=None)
    @given(st.tuples(st.one_of(st.just("2026-03-01T12:00:00+00:00"), cell_texts), cell_texts, cell_texts, cell_texts))
    def test_any_cell_text_is_read_or_refused_in_one_sentence(self, cells: tuple[str, ...]) -> None:
        """Whatever one row holds, reading either succeeds or raises MonitorError naming the file."""
        path = self.folder / "odd.csv"
        row = ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)
        path.write_text(f"timestamp,cpu_percent,private_memory,handles_fds\n{row}\n", encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                frame = read_report(path)
            except MonitorError as exc:
                self.assertIn(str(path), str(exc))
                self.assertNotIn("\n", str(exc))
            else:
                self.assertTrue(np.isfinite(frame[["cpu_percent", "private_memory", "handles_fds"]].to_numpy()).all())

    @EXAMPLES
    @given(
        st.lists(
            st.tuples(st.integers(1, 6), st.floats(-3600, 3600, allow_nan=False), st.integers(0, 2**50)),
            max_size=60,
        )
    )
    def test_detail_rows_split_by_pid_are_each_process_own_rows(self, data: list[tuple[int, float, int]]) -> None:
        """Any interleaving of several PIDs' rows splits into one series per PID, in order of first appearance,
        holding exactly that PID's rows in file order, with its own elapsed time from 0 that never goes back."""
        path = self.folder / "app_processes.csv"
        lines = ["timestamp,pid,name,cpu_percent,private_memory,handles_fds"]
        for pid, second, memory in data:
            stamp = (START + datetime.timedelta(seconds=second)).isoformat(timespec="milliseconds")
            lines.append(f"{stamp},{pid},p{pid},1.0,{memory},3")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            processes = per_process(read_report(path))
            analyses = [analyze(process.frame) for process in processes]
        self.assertEqual([process.pid for process in processes], list(dict.fromkeys(pid for pid, _, _ in data)))
        for process, analysis in zip(processes, analyses):
            self.assertEqual(process.name, f"p{process.pid}")
            own = [memory for pid, _, memory in data if pid == process.pid]
            self.assertEqual(process.frame["private_memory"].tolist(), own)
            self.assertEqual(analysis.samples, len(own))
            elapsed = process.frame["elapsed_s"].to_numpy()
            self.assertEqual(elapsed[0], 0.0)
            self.assertTrue(np.isfinite(elapsed).all() and (np.diff(elapsed) >= 0).all())


# Text without digits is never a finite number nor a time: a cell certain to be refused.
digit_free = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Nd"]), max_size=12)
# What may come before the bad row: a good row (its note cell spanning 0 to 2 lines), a blank line, spaces.
lines_before = st.lists(
    st.one_of(st.integers(0, 2), st.sampled_from(["", "   ", "\t"])),
    max_size=12,
)


class BadCellPositionTest(unittest.TestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.path = Path(folder.name) / "bad.csv"

    @settings(max_examples=120, deadline=None)
    @given(
        lines_before,
        st.sampled_from(["timestamp", "cpu_percent", "private_memory", "handles_fds"]),
        digit_free,
        st.sampled_from(["\n", "\r\n"]),
    )
    def test_a_refused_cell_is_named_by_its_line_and_shown_as_written(
        self, before: list[int | str], column: str, cell: str, newline: str
    ) -> None:
        """Whatever blank lines and multi-line cells come first, the error names the line the bad row starts
        on (the header is line 1) and shows the cell as written, on one line."""
        header = ["timestamp", "cpu_percent", "private_memory", "handles_fds", "note"]
        good = {"timestamp": "2026-03-01T12:00:00+00:00", "cpu_percent": "1.5", "private_memory": "4096"}
        good["handles_fds"] = "3"
        lines, line = [",".join(header)], 2
        for item in before:
            if isinstance(item, str):
                lines.append(item)
                line += 1
            else:
                note = '"' + "x\n" * item + 'y"'  # a quoted cell spanning item + 1 lines
                lines.append(",".join([*good.values(), note.replace("\n", newline)]))
                line += item + 1
        bad = good | {column: '"' + cell.replace('"', '""') + '"'}
        lines.append(",".join([*bad.values(), "z"]))
        self.path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
        with self.assertRaises(MonitorError) as caught:
            read_report(self.path)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertIn(f"{self.path}: line {line}, column {column}", message)
        if cell.strip():
            self.assertIn(f"column {column}: {shown(cell)} is not", message)
        else:
            self.assertIn(f"column {column} is empty", message)


if __name__ == "__main__":
    unittest.main()
