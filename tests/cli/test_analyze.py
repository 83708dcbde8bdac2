"""Re-analysing saved reports with --analyze (and --json)."""

from __future__ import annotations

import datetime
import json
import subprocess
import tempfile
import unittest
from pathlib import Path

from monitor.cli.report_files import check_is_report, reports_to_read
from monitor.errors import MonitorError
from monitor.metrics import METRICS
from tests.helpers import MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import mounted_tmpfs

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
            "decided_by",
            "level",
            "floor",
            "min_leak_rate_per_hour",
            "min_leak_rate_rule",
            "resolution_per_hour",
            "judged_from_s",
            "longer",
        }
        for metric in ("private_memory", "handles_fds"):
            self.assertEqual(set(first["leak"][metric]), documented)
            for evidence in ("level", "floor"):
                growth = first["leak"][metric][evidence]
                self.assertLessEqual({"rate_per_hour", "rate_per_hour_90", "p_value", "points"}, set(growth))
            self.assertGreater(first["leak"][metric]["min_leak_rate_per_hour"], 0)
        self.assertIs(first["leak"]["private_memory"]["heuristic"], True)
        self.assertEqual(first["leak"]["private_memory"]["verdict"], "leak")
        self.assertAlmostEqual(first["leak"]["private_memory"]["rate_per_hour"], 3600 * MIB, delta=36 * MIB)
        self.assertEqual(first["leak"]["handles_fds"]["verdict"], "leak")
        self.assertEqual(objects[1]["leak"]["private_memory"]["verdict"], "no-leak")

    def test_min_leak_rate_decides_what_counts_as_a_leak(self) -> None:
        """Eight pages over a 7.65 MB process are no leak by default, and a leak with --min-leak-rate 4KiB/h."""
        base, _, _ = self.make_dirs()
        jitter = [0, 1, -1, 1, 0, -1, 0, 1, -1, 0]
        drift = [7_651_328 + (k * 8 // 39 + jitter[k % 10]) * 4096 for k in range(40)]
        report = write_report(base / "drift.csv", drift)
        status, out, err = self.run_in_process("--analyze", str(report), "--json")
        self.assertEqual(status, 0, err)
        memory = json.loads(out)["leak"]["private_memory"]
        self.assertEqual(memory["verdict"], "no-leak")
        self.assertLess(memory["rate_per_hour_90"][1], memory["min_leak_rate_per_hour"])
        status, out, err = self.run_in_process("--analyze", str(report), "--json", "--min-leak-rate", "4KiB/h")
        self.assertEqual(status, 0, err)
        memory = json.loads(out)["leak"]["private_memory"]
        self.assertEqual((memory["verdict"], memory["min_leak_rate_per_hour"]), ("leak", 4096.0))
        self.assertEqual(memory["min_leak_rate_rule"], "--min-leak-rate")

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

    def test_blank_timestamp_is_one_line_naming_the_file_line_and_exit_1(self) -> None:
        """A report whose sixth line has a blank timestamp: one line naming line 6 and the column, exit 1."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "blank.csv", [50 * MIB] * 12)
        lines = report.read_text().splitlines()
        lines[5] = "," + lines[5].split(",", 1)[1]
        report.write_text("\n".join(lines) + "\n")
        status, out, err = self.run_in_process("--analyze", str(report))
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn(f"{report}: line 6, column timestamp is empty; fix or delete that line", err)
        self.assertEqual(out, "")

    def test_non_finite_value_is_shown_as_written_on_its_line(self) -> None:
        """An 'inf' memory value on the first data row: 'line 2' and "inf" as written, no Python repr, no JSON."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "inf.csv", [50 * MIB] * 12)
        report.write_text(report.read_text().replace(f",{50 * MIB},", ",inf,", 1))
        status, out, err = self.run_in_process("--analyze", str(report), "--json")
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn('line 2, column private_memory: "inf" is not a finite number; fix or delete that line', err)
        self.assertNotIn("float64", err)
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


HEADER = "timestamp,cpu_percent,private_memory,handles_fds,process_count"
DETAIL_HEADER = "timestamp,pid,name,cpu_percent,private_memory,handles_fds"


def row_at(second: float, memory: str = "1000") -> str:
    """One report row at `second`, with `memory` as its private_memory cell."""
    return f"{stamp_at(second)},1.5,{memory},7,1"


def detail_row_at(second: float, pid: int, memory: int = 1000, handles: int = 7, name: str = "app") -> str:
    """One detail CSV row of process `pid` at `second`."""
    return f"{stamp_at(second)},{pid},{name},1.5,{memory},{handles}"


class DetailCsvTest(MonitorTestCase):
    """A per-process detail CSV is judged per PID, never as one process's series of all its rows."""

    def test_two_pids_get_their_own_series_and_verdicts(self) -> None:
        """Interleaved rows of a leaking and a flat PID (the flat one from the 6th second): one JSON line each,
        with its own samples, averages and a rate from the timestamps."""
        base, _, _ = self.make_dirs()
        detail = base / "app_processes.csv"
        rows = [DETAIL_HEADER]
        for second in range(40):
            rows.append(detail_row_at(second, 101, memory=50 * MIB + second * MIB, name="leaky"))
            if second >= 5:
                rows.append(detail_row_at(second, 202, memory=80 * MIB + (second % 2) * 4096, name="flat"))
        detail.write_text("\n".join(rows) + "\n")
        status, out, err = self.run_in_process("--analyze", str(detail), "--json")
        self.assertEqual(status, 0, err)
        lines = {document["pid"]: document for document in map(json.loads, out.splitlines())}
        self.assertEqual(sorted(lines), [101, 202])
        leaky, flat = lines[101], lines[202]
        self.assertEqual((leaky["name"], leaky["samples"]), ("leaky", 40))
        self.assertEqual((flat["name"], flat["samples"]), ("flat", 35))
        self.assertEqual(leaky["averages"]["private_memory"], 50 * MIB + 19.5 * MIB)
        self.assertEqual(leaky["leak"]["private_memory"]["verdict"], "leak")
        self.assertAlmostEqual(leaky["leak"]["private_memory"]["rate_per_hour"], 3600 * MIB, delta=36 * MIB)
        self.assertEqual(flat["leak"]["private_memory"]["verdict"], "no-leak")
        self.assertEqual(flat["peaks"]["private_memory"], 80 * MIB + 4096)

    def test_text_summary_is_labelled_with_each_pid(self) -> None:
        """Without --json each process gets its own summary, headed by its PID and name."""
        base, _, _ = self.make_dirs()
        detail = base / "app_processes.csv"
        rows = [DETAIL_HEADER] + [detail_row_at(s, pid) for s in range(12) for pid in (7, 9)]
        detail.write_text("\n".join(rows) + "\n")
        status, out, err = self.run_in_process("--analyze", str(detail))
        self.assertEqual(status, 0, err)
        headings = [line for line in out.splitlines() if line.startswith("Summary for")]
        self.assertEqual(
            headings,
            [f"Summary for pid {pid} ('app') in '{detail}': 12 samples" for pid in (7, 9)],
        )

    def test_empty_detail_csv_gets_an_empty_summary(self) -> None:
        """A detail CSV with its header only: one summary of 0 samples, not nothing at all."""
        base, _, _ = self.make_dirs()
        detail = base / "app_processes.csv"
        detail.write_text(DETAIL_HEADER + "\n")
        status, out, err = self.run_in_process("--analyze", str(detail))
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out.splitlines()[0], f"Summary for '{detail}': 0 samples")

    def test_a_report_without_samples_has_no_averages(self) -> None:
        """A report with its header only: every average and peak is null in the JSON, none printed as 0."""
        base, _, _ = self.make_dirs()
        report = base / "app.csv"
        report.write_text(HEADER + "\n")
        status, out, err = self.run_in_process("--analyze", str(report), "--json")
        self.assertEqual((status, err), (0, ""))
        document = json.loads(out)
        self.assertEqual(document["samples"], 0)
        self.assertEqual(set(document["averages"].values()), {None})
        self.assertEqual(set(document["peaks"].values()), {None})
        status, out, _ = self.run_in_process("--analyze", str(report))
        self.assertNotIn("Average", out)

    def test_detail_csv_of_a_forking_run_is_judged_per_process(self) -> None:
        """A real run of a forking steady workload and a leaking one under one name: --analyze on its detail
        CSV gives one line per PID the run sampled, each with that PID's rows only; the leaking one leaks."""
        name = unique_name("fork")
        steady = self.start_workload(name, "--children", "2")
        leaking = self.start_workload(name, "--leak-mib-per-s", "20")
        _, reports, _ = self.make_dirs()
        run = self.run_monitor("-p", name, "-d", "3", "-s", "0.2", *self.out_args)
        self.assertEqual(run.returncode, 0, run.stderr)
        detail = only_file(reports, f"{name}_*_processes.csv")
        sampled = {int(pid) for pid in json.loads(only_file(reports, f"{name}_*.json").read_text())["pids"]}
        self.assertEqual(len(sampled), 4)
        self.assertIn(steady.pid, sampled)
        rows = read_csv(detail)
        status, out, err = self.run_in_process("--analyze", str(detail), "--json")
        self.assertIn(status, (0, 3), err)
        documents = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(sorted(d["pid"] for d in documents), sorted(sampled))
        for document in documents:
            own = [row for row in rows if int(row["pid"]) == document["pid"]]
            self.assertEqual(document["samples"], len(own))
            self.assertLess(document["samples"], len(rows))
            mean = sum(int(row["private_memory"]) for row in own) / len(own)
            self.assertAlmostEqual(document["averages"]["private_memory"], mean, delta=1)
        verdicts = {d["pid"]: d["leak"]["private_memory"]["verdict"] for d in documents}
        self.assertEqual(verdicts.pop(leaking.pid), "leak")
        self.assertNotIn("leak", verdicts.values())

    def test_glob_of_a_run_reads_its_report_once(self) -> None:
        """reports/* after a run and --analyze --plot on its detail CSV (report, detail, JSON, charts): one
        summary, the report's, nothing on stderr, exit 0."""
        name = unique_name("glob")
        self.start_workload(name, "--children", "1")
        _, reports, logs = self.make_dirs()
        run = self.run_monitor("-p", name, "-d", "1", "-s", "0.2", "-r", str(reports), "-l", str(logs))
        self.assertEqual(run.returncode, 0, run.stderr)
        detail = only_file(reports, f"{name}_*_processes.csv")
        status, _, err = self.run_in_process("--analyze", str(detail), "--plot")
        self.assertEqual(status, 0, err)
        report = only_file(reports, f"{name}_*[0-9].csv")
        listed = sorted(str(path) for path in reports.iterdir())
        self.assertEqual({Path(path).suffix for path in listed}, {".csv", ".json", ".png"}, listed)
        self.assertEqual(len(list(reports.glob("*_pid*.png"))), 2, listed)
        status, out, err = self.run_in_process("--analyze", *listed)
        self.assertEqual((status, err), (0, ""))
        headings = [line for line in out.splitlines() if line.startswith("Summary for")]
        self.assertEqual(headings, [f"Summary for '{report}': {len(read_csv(report))} samples"])


class ChartTest(MonitorTestCase):
    """--analyze --plot: the summary always, then the chart or one line saying why it is missing."""

    def test_chart_written_is_announced_after_the_summary(self) -> None:
        """The chart is written beside the report, and `Wrote ...png` follows the summary on stdout."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "a.csv", [50 * MIB + k * MIB for k in range(20)])
        status, out, err = self.run_in_process("--analyze", str(report), "--plot")
        self.assertEqual((status, err), (0, ""))
        chart = base / "a.png"
        self.assertEqual(chart.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        self.assertTrue(out.startswith("Summary for"), out)
        self.assertEqual(out.splitlines()[-1], f"Wrote {chart}")

    def test_with_json_stdout_stays_json_lines(self) -> None:
        """With --json, stdout holds only the JSON line; `Wrote ...png` goes to stderr."""
        base, _, _ = self.make_dirs()
        report = write_report(base / "a.csv", [50 * MIB] * 12)
        status, out, err = self.run_in_process("--analyze", str(report), "--plot", "--json")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["samples"], 12)
        self.assertEqual(err, f"Wrote {base / 'a.png'}\n")

    def test_detail_csv_gets_one_chart_per_process(self) -> None:
        """A detail CSV of two PIDs: <stem>_pid<PID>.png for each, each announced."""
        base, _, _ = self.make_dirs()
        detail = base / "app_processes.csv"
        detail.write_text("\n".join([DETAIL_HEADER] + [detail_row_at(s, p) for s in range(10) for p in (3, 4)]) + "\n")
        status, out, err = self.run_in_process("--analyze", str(detail), "--plot")
        self.assertEqual((status, err), (0, ""))
        charts = [base / f"app_processes_pid{pid}.png" for pid in (3, 4)]
        announced = [line for line in out.splitlines() if line.startswith("Wrote")]
        self.assertEqual(announced, [f"Wrote {chart}" for chart in charts])
        self.assertTrue(all(chart.stat().st_size > 0 for chart in charts))

    def test_read_only_report_keeps_its_json_line_and_says_why_no_chart(self) -> None:
        """A report on a read-only mount: the JSON line is printed, one line names the chart, the reason and
        the fix, no file is left there, exit 1."""
        base, _, _ = self.make_dirs()
        folder = mounted_tmpfs(self, base / "readonly", "1m")
        report = write_report(folder / "a.csv", [50 * MIB + k * MIB for k in range(20)])
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        status, out, err = self.run_in_process("--analyze", str(report), "--plot", "--json")
        self.assertEqual(status, 1)
        self.assertEqual(json.loads(out)["leak"]["private_memory"]["verdict"], "leak")
        self.assertOneLineError(err)
        self.assertIn(f"writing the chart {folder / 'a.png'} failed (Read-only file system)", err)
        self.assertIn("copy a.csv to a writable folder", err)
        self.assertEqual(sorted(path.name for path in folder.iterdir()), ["a.csv"])


class ReportsToReadTest(unittest.TestCase):
    def test_files_written_beside_a_given_report_are_left_out(self) -> None:
        """A run's detail CSV, JSON, charts and log go when its report is given; other files stay, in order."""
        given = [
            Path("r/a.csv"),
            Path("r/a.json"),
            Path("r/a.png"),
            Path("r/a_processes.csv"),
            Path("r/a_processes_pid12.png"),
            Path("r/./a.log"),
            Path("r/b_processes.csv"),
            Path("r/b_processes_pid3.png"),
            Path("r/c.json"),
            Path("other/a.json"),
        ]
        self.assertEqual(
            reports_to_read(given),
            [Path("r/a.csv"), Path("r/b_processes.csv"), Path("r/c.json"), Path("other/a.json")],
        )

    def test_chart_json_or_log_given_alone_names_its_report(self) -> None:
        """A chart or JSON given without its report is refused naming the report beside it; a log, whose report
        is in another folder, by the report's name."""
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        base = Path(folder.name)
        for name in ("a.png", "a.json", "a.log", "a_processes.csv"):
            (base / name).write_text("x")
        for name, kind, report in [("a.png", "chart", base / "a.csv"), ("a.json", "JSON summary", base / "a.csv")]:
            with self.assertRaises(MonitorError) as caught:
                check_is_report(base / name)
            expected = f"{base / name}: a run's {kind}, not a CSV report; analyse its report ({report}) instead"
            self.assertEqual(str(caught.exception), expected)
        with self.assertRaisesRegex(MonitorError, r"a run's log, not a CSV report; .*\(a\.csv in the reports folder\)"):
            check_is_report(base / "a.log")
        check_is_report(base / "a_processes.csv")  # a detail CSV is a report
        check_is_report(base / "b.png")  # missing: the reader says so
