"""Re-analysing saved reports with --analyze (and --json)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import MonitorTestCase

MIB = 1024 * 1024


def write_report(path: Path, memory: list[int], interval_s: float = 1.0) -> Path:
    """A report in this project's format with the given private-memory series."""
    lines = ["timestamp,cpu_percent,private_memory,handles_fds,process_count"]
    for k, value in enumerate(memory):
        second = k * interval_s
        stamp = f"2026-01-01T00:{int(second // 60):02d}:{second % 60:06.3f}+01:00"
        lines.append(f"{stamp},{k % 3}.5,{value},{10 + k // 4},1")
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
        self.assertEqual(set(first["averages"]), {"cpu_percent", "private_memory", "handles_fds"})
        for metric in ("private_memory", "handles_fds"):
            self.assertEqual(
                {"heuristic", "verdict", "rate_per_hour", "confidence"} - set(first["leak"][metric]), set()
            )
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

    def test_json_without_analyze_is_a_usage_error(self) -> None:
        """--json alone is a usage error (exit 2)."""
        status, _, err = self.run_in_process("-p", "x", "-d", "5", "--json")
        self.assertEqual(status, 2)
        self.assertOneLineError(err)
