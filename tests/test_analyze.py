"""Re-analysing saved reports with --analyze (and --json)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from monitor.metrics import METRICS
from tests.helpers import MonitorTestCase

MIB = 1024 * 1024


def stamp_at(second: float) -> str:
    """An ISO 8601 timestamp `second` seconds after 2026-01-01T10:00 (+01:00)."""
    moment = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    return (moment + datetime.timedelta(seconds=second)).isoformat(timespec="milliseconds")


def write_report(path: Path, memory: list[int], interval_s: float = 1.0, seconds: list[float] | None = None) -> Path:
    """A report in the README's columns (no elapsed_s) with the given private-memory series and times."""
    lines = ["timestamp,cpu_percent,private_memory,handles_fds,process_count"]
    for k, value in enumerate(memory):
        second = k * interval_s if seconds is None else seconds[k]
        lines.append(f"{stamp_at(second)},{k % 3}.5,{value},{10 + k // 4},1")
    path.write_text("\n".join(lines) + "\n")
    return path


class AnalyzeReportsTest(MonitorTestCase):
    def test_json_lines_carry_the_documented_fields(self) -> None:
        """--json prints one object per report with samples, averages and both verdicts per metric."""
        base, _, _ = self.make_dirs()
        leaky = write_report(base / "a.csv", [50 * MIB + k * MIB for k in range(40)])
        flat = write_report(base / "b.csv", [50 * MIB + (k % 2) * 4096 for k in range(40)])
        status, out, err = self.run_in_process("--analyze", str(leaky), str(flat), "--json")
        self.assertEqual(status, 0, err)
        objects = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([o["file"] for o in objects], [str(leaky), str(flat)])
        first = objects[0]
        self.assertEqual(first["samples"], 40)
        self.assertEqual(set(first["averages"]), set(METRICS))
        documented = {
            "heuristic",
            "verdict",
            "rate_per_hour",
            "rate_per_hour_90",
            "confidence",
            "p_value",
            "hours_to_limit",
            "reason",
        }
        for metric in ("private_memory", "handles_fds"):
            self.assertEqual(set(first["leak"][metric]), documented)
        self.assertIs(first["leak"]["private_memory"]["heuristic"], True)
        self.assertEqual(first["leak"]["private_memory"]["verdict"], "leak")
        self.assertAlmostEqual(first["leak"]["private_memory"]["rate_per_hour"], 3600 * MIB, delta=36 * MIB)
        self.assertEqual(first["leak"]["handles_fds"]["verdict"], "leak")
        self.assertEqual(objects[1]["leak"]["private_memory"]["verdict"], "no-leak")

    def test_bad_files_are_reported_and_the_rest_analysed(self) -> None:
        """A missing and a malformed report each get one error line; the good one is still analysed; exit 1."""
        base, _, _ = self.make_dirs()
        good = write_report(base / "good.csv", [50 * MIB] * 12)
        malformed = base / "bad.csv"
        malformed.write_text("timestamp,cpu_percent,private_memory,handles_fds\n2026-01-01T00:00:00+00:00,x,y,z\n")
        status, out, err = self.run_in_process("--analyze", str(base / "missing.csv"), str(malformed), str(good))
        self.assertEqual(status, 1)
        self.assertEqual(len(err.strip().splitlines()), 2, err)
        self.assertIn("missing.csv: no such file", err)
        self.assertIn("bad.csv", err)
        self.assertNotIn("Traceback", err)
        self.assertIn("Summary for", out)
        self.assertIn("No memory leak detected", out)
        self.assertIn("Memory trend: no leak", out)

    def test_plain_summary_has_both_leak_lines(self) -> None:
        """Without --json the summary shows the README rule's line and the trend lines."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "a.csv", [50 * MIB + k * MIB for k in range(40)])
        status, out, _ = self.run_in_process("--analyze", str(report))
        self.assertEqual(status, 0)
        self.assertIn("WARNING: potential memory leak detected", out)
        self.assertRegex(out, r"Memory trend: LEAK, \+3\.\d GiB/h \(90%: .*\), \w+ confidence")
        self.assertIn("Handles/FDs trend: LEAK", out)

    def test_uneven_leak_with_slow_steps_is_a_leak(self) -> None:
        """12 samples growing 10 MiB per 0.5 s step but three steps of 2 MiB: no crash, verdict leak."""
        base, _, _ = self.make_dirs()
        steps = [10, 10, 2, 10, 10, 2, 10, 10, 2, 10, 10]
        memory = [100 * MIB]
        for step in steps:
            memory.append(memory[-1] + step * MIB)
        report = write_report(base / "uneven.csv", memory, interval_s=0.5)
        status, out, err = self.run_in_process("--analyze", str(report), "--json")
        self.assertIn(status, (0, 3), err)
        self.assertEqual(err, "")
        self.assertEqual(json.loads(out)["leak"]["private_memory"]["verdict"], "leak")

    def test_duplicate_timestamps_give_strict_json_and_no_warning(self) -> None:
        """40 constant samples whose timestamps each appear twice: strict JSON (no NaN), nothing on stderr."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "ties.csv", [50 * MIB] * 40, seconds=[float(k // 2) for k in range(40)])
        result = self.run_monitor("--analyze", str(report), "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        document = json.loads(result.stdout, parse_constant=self.fail)
        self.assertEqual(document["samples"], 40)
        self.assertNotEqual(document["leak"]["private_memory"]["verdict"], "leak")

    def test_blank_timestamp_is_one_line_and_exit_1(self) -> None:
        """A report with one blank timestamp cell: one line naming the row and column, exit 1."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "blank.csv", [50 * MIB] * 12)
        lines = report.read_text().splitlines()
        lines[5] = "," + lines[5].split(",", 1)[1]
        report.write_text("\n".join(lines) + "\n")
        status, out, err = self.run_in_process("--analyze", str(report))
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("row 5, column timestamp is empty", err)
        self.assertEqual(out, "")

    def test_non_finite_value_is_one_line_and_exit_1(self) -> None:
        """An 'inf' memory value is rejected with the row and column, never written as Infinity."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "inf.csv", [50 * MIB] * 12)
        report.write_text(report.read_text().replace(f",{50 * MIB},", ",inf,", 1))
        status, out, err = self.run_in_process("--analyze", str(report), "--json")
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("row 1, column private_memory is not a finite number", err)
        self.assertEqual(out, "")

    def test_clock_stepping_back_an_hour_keeps_the_leak(self) -> None:
        """A 60-sample linear leak whose timestamps jump back one hour at sample 30 is still a leak."""
        base, _, _ = self.make_dirs()
        seconds = [float(k) if k < 30 else float(k) - 3600.0 for k in range(60)]
        report = write_report(base / "ntp.csv", [50 * MIB + k * MIB for k in range(60)], seconds=seconds)
        status, out, err = self.run_in_process("--analyze", str(report), "--json")
        self.assertEqual(status, 0, err)
        leak = json.loads(out)["leak"]["private_memory"]
        self.assertEqual(leak["verdict"], "leak")
        self.assertAlmostEqual(leak["rate_per_hour"], 3600 * MIB, delta=360 * MIB)

    def test_columns_are_found_by_name_not_position(self) -> None:
        """A report whose columns come in another order, with an extra one, reads the same."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "a.csv", [50 * MIB + k * MIB for k in range(40)])
        rows = [line.split(",") for line in report.read_text().splitlines()]
        shuffled = base / "shuffled.csv"
        shuffled.write_text("\n".join(",".join([r[3], r[2], "x", r[0], r[1]]) for r in rows) + "\n")
        outputs = [self.run_in_process("--analyze", str(path), "--json")[1] for path in (report, shuffled)]
        first, second = (json.loads(text) for text in outputs)
        self.assertEqual(first["leak"], second["leak"])
        self.assertEqual(first["averages"], second["averages"])

    def test_json_without_analyze_is_a_usage_error(self) -> None:
        """--json alone is a usage error (exit 2)."""
        status, _, err = self.run_in_process("-p", "x", "-d", "5", "--json")
        self.assertEqual(status, 2)
        self.assertOneLineError(err)
