"""Errors of report reading as --analyze prints them: the file's line, the column, the cell as written."""

from __future__ import annotations

from tests.cli.test_analyze import DETAIL_HEADER, HEADER, detail_row_at, row_at, stamp_at
from tests.helpers import MonitorTestCase


class ReportErrorMessageTest(MonitorTestCase):
    """Each error names the file's line (header is line 1) and shows the cell as the user wrote it."""

    def _error_for(self, name: str, text: str) -> str:
        base, _, _ = self.make_dirs()
        path = base / name
        path.write_text(text, encoding="utf-8")
        status, out, err = self.run_in_process("--analyze", str(path))
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertEqual(out, "")
        return err

    def test_overflowing_number_is_shown_as_written(self) -> None:
        """'1e999' (read as infinity) is shown as 1e999, not as inf or a numpy repr."""
        err = self._error_for("big.csv", f"{HEADER}\n{row_at(0)}\n{row_at(1, memory='1e999')}\n")
        self.assertIn('line 3, column private_memory: "1e999" is not a finite number', err)

    def test_values_no_process_has_are_named(self) -> None:
        """A negative size, or one so large its sums overflow (1e308), is named: never a warning or a wrong average."""
        err = self._error_for("neg.csv", f"{HEADER}\n{row_at(0)}\n{row_at(1, memory='-5')}\n")
        self.assertIn('line 3, column private_memory: "-5" is not a value from 0 to 2^64', err)
        err = self._error_for("huge.csv", f"{HEADER}\n{row_at(0, memory='1e308')}\n{row_at(1, memory='1e308')}\n")
        self.assertIn('line 2, column private_memory: "1e308" is not a value from 0 to 2^64', err)

    def test_blank_lines_count_as_lines(self) -> None:
        """Blank lines and a line of spaces before the bad row move its line number, as an editor shows it."""
        err = self._error_for("gaps.csv", f"{HEADER}\n{row_at(0)}\n\n   \n{row_at(1, memory='lots')}\n")
        self.assertIn('line 5, column private_memory: "lots" is not a finite number', err)

    def test_quoted_cell_over_two_lines_is_named_by_its_first_line(self) -> None:
        """A quoted cell holding a newline: the row after it is named by its own line, the newline shown as \\n."""
        text = f'{HEADER}\n{row_at(0)}\n"{stamp_at(1)}",1,"12\n34",5,1\n'
        err = self._error_for("split.csv", text)
        self.assertIn('line 3, column private_memory: "12\\n34" is not a finite number', err)

    def test_bad_timestamp_is_shown_as_written(self) -> None:
        """A timestamp that is not ISO 8601 is quoted as written, on its line."""
        err = self._error_for("when.csv", f"{HEADER}\n{row_at(0)}\nyesterday,1,2,3,1\n")
        self.assertIn('line 3, column timestamp: "yesterday" is not an ISO 8601 time', err)

    def test_rows_out_of_the_order_they_were_taken_are_refused(self) -> None:
        """elapsed_s going back (rows sorted by another column, reversed): refused at the first such line.

        Judged as written, a leak read backwards would be called no leak; a wall-clock stamp may step
        back (the clock was set), elapsed_s may not.
        """
        rows = [f"{row_at(second, memory=str(1000 + 100 * second))},{second}" for second in range(12)]
        in_order = f"{HEADER},elapsed_s\n" + "\n".join(rows) + "\n"
        base, _, _ = self.make_dirs()
        (base / "ok.csv").write_text(in_order, encoding="utf-8")
        status, _, err = self.run_in_process("--analyze", str(base / "ok.csv"))
        self.assertEqual(status, 0, err)
        err = self._error_for("reversed.csv", f"{HEADER},elapsed_s\n" + "\n".join(reversed(rows)) + "\n")
        self.assertIn('line 3, elapsed_s "10" is earlier than the row before it', err)
        self.assertIn("sorted by elapsed_s", err)

    def test_a_file_without_the_report_columns_names_what_is_missing_once(self) -> None:
        """A CSV with none of the columns lists them once; one with some names those it lacks."""
        err = self._error_for("notes.csv", "a,b\n1,2\n")
        self.assertIn("(none of its columns timestamp, cpu_percent, private_memory, handles_fds)", err)
        err = self._error_for("half.csv", "timestamp,cpu_percent\n2026-01-01T00:00:00,1\n")
        self.assertIn("(no column private_memory, handles_fds; a report has timestamp, cpu_percent,", err)

    def test_row_with_extra_cells_names_its_line(self) -> None:
        """A row with one cell too many: its line and both counts, not pandas' 'C error' text."""
        err = self._error_for("extra.csv", f"{HEADER}\n{row_at(0)}\n{row_at(1)},7\n")
        self.assertIn("line 3 has 6 cells, the header 5; fix or delete that line", err)
        self.assertNotIn("C error", err)

    def test_unclosed_quote_names_its_line(self) -> None:
        """A quote never closed: the line it opens on."""
        err = self._error_for("quote.csv", f'{HEADER}\n{row_at(0)}\n"{row_at(1)}\n')
        self.assertIn('the quote (") opened on line 3 is never closed', err)

    def test_binary_file_is_not_utf8_text(self) -> None:
        """A binary file named .csv: 'not UTF-8 text' and the byte, without Python's codec message."""
        base, _, _ = self.make_dirs()
        binary = base / "binary.csv"
        binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
        status, _, err = self.run_in_process("--analyze", str(binary))
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("not a CSV report (not UTF-8 text: byte 0x89 at offset 0)", err)
        self.assertNotIn("codec", err)

    def test_pid_that_is_not_a_whole_number_is_named(self) -> None:
        """A detail CSV whose pid cell is 12.5: its line and the cell."""
        text = f"{DETAIL_HEADER}\n{detail_row_at(0, 12)}\n{stamp_at(1)},12.5,app,1,2,3\n"
        err = self._error_for("odd_processes.csv", text)
        self.assertIn('line 3, column pid: "12.5" is not a process ID', err)

    def test_bad_cell_deep_in_a_long_report_gives_no_pandas_warning(self) -> None:
        """A bad cell 300,000 rows down (where pandas would warn about mixed types): one line, its line number."""
        base, _, _ = self.make_dirs()
        report = base / "long.csv"
        good = row_at(0)
        lines = [HEADER, *([good] * 300_000), row_at(1, memory="oops"), good]
        report.write_text("\n".join(lines) + "\n")
        result = self.run_monitor("--analyze", str(report), timeout=120)
        self.assertEqual(result.returncode, 1)
        self.assertOneLineError(result.stderr)
        self.assertIn('line 300002, column private_memory: "oops" is not a finite number', result.stderr)
        self.assertNotIn("Warning", result.stderr)


class BooleanCellTest(MonitorTestCase):
    def test_true_false_column_is_not_read_as_numbers(self) -> None:
        """A cpu_percent column holding only TRUE/FALSE (which pandas reads as booleans) is refused, not 1 and 0."""
        base, _, _ = self.make_dirs()
        report = base / "flags.csv"
        report.write_text(f"{HEADER}\n{stamp_at(0)},TRUE,1000,7,1\n{stamp_at(1)},FALSE,1000,7,1\n")
        status, out, err = self.run_in_process("--analyze", str(report))
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn('line 2, column cpu_percent: "TRUE" is not a finite number', err)
        self.assertEqual(out, "")
