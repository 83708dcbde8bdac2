"""The real-program corpus's tools: label checks, compact traces that --analyze reads, the catalogue, the scores."""

from __future__ import annotations

import json
import re
import tempfile
import unittest
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.leak_eval_real import Case, score
from bench.real_corpus.catalogue import FRESH, FRESH_SEED_SHIFT, WORKLOADS, Build
from bench.real_corpus.checks import check_label
from bench.real_corpus.record import COLUMNS, compact, every_kth, traces_of
from monitor.metrics import REPORT_COLUMNS
from tests.helpers import MonitorTestCase

MIB = 1024 * 1024


def sawtooth(n: int, cycle: int, height: float, floor_rise: float) -> np.ndarray:
    """A GC-like sawtooth of `n` samples whose floor gains `floor_rise` bytes over the run."""
    k = np.arange(n)
    return 40 * MIB + height * (k % cycle) / cycle + floor_rise * k / n


class LabelChecksTest(unittest.TestCase):
    def test_rising_floor_under_a_sawtooth_is_a_leak_not_a_no_leak(self) -> None:
        """A sawtooth whose floor gains half a cycle's height passes the leak check and fails the no-leak one."""
        values = sawtooth(400, 80, 60 * MIB, 30 * MIB)
        self.assertTrue(check_label("leak", "memory", values)[0])
        self.assertFalse(check_label("no-leak", "memory", values)[0])

    def test_a_rising_floor_under_a_level_that_stays_is_not_no_leak(self) -> None:
        """Heavy waves at a fixed height, with a floor between them gaining 60 MiB, fail the no-leak check."""
        k = np.arange(400)
        values = np.where(k % 10 < 3, 10 * MIB + 60 * MIB * k / 399, 100 * MIB)
        self.assertEqual(np.median(values[:133]), np.median(values[-133:]))
        self.assertFalse(check_label("no-leak", "memory", values)[0])
        self.assertTrue(check_label("leak", "memory", values)[0])

    def test_flat_floor_sawtooth_is_no_leak(self) -> None:
        """A sawtooth over a flat floor passes the no-leak check and fails the leak one."""
        values = sawtooth(400, 80, 60 * MIB, 0)
        self.assertTrue(check_label("no-leak", "memory", values)[0])
        self.assertFalse(check_label("leak", "memory", values)[0])

    def test_growth_that_stops_within_the_first_third_is_no_leak(self) -> None:
        """Growth over the first 30% only (a warm-up) passes the no-leak check and fails the leak one."""
        values = 20 * MIB + 30 * MIB * np.minimum(np.arange(300) / 90, 1)
        self.assertTrue(check_label("no-leak", "memory", values)[0])
        self.assertFalse(check_label("leak", "memory", values)[0])

    def test_growth_that_stops_at_half_the_run_fails_no_leak(self) -> None:
        """Growth up to the middle of the run rises from the middle third to the last: it fails the no-leak check."""
        values = 20 * MIB + 30 * MIB * np.minimum(np.arange(300) / 150, 1)
        self.assertFalse(check_label("no-leak", "memory", values)[0])

    def test_a_slow_drift_of_six_percent_fails_no_leak(self) -> None:
        """An idle runtime that grows 6% of itself over the run, steadily, is no steady process."""
        values = 7 * MIB * (1 + 0.06 * np.arange(400) / 399)
        self.assertFalse(check_label("no-leak", "memory", values)[0])

    def test_descriptor_leak_under_churn(self) -> None:
        """30 to 124 descriptors under +-30 churn is a leak; the same churn alone is churn."""
        rng = np.random.default_rng(3)
        churn = rng.integers(0, 61, 400)
        leak = 30 + np.round(94 * np.arange(400) / 399) + churn
        self.assertTrue(check_label("leak", "handles", leak)[0])
        self.assertFalse(check_label("no-leak", "handles", leak)[0])
        self.assertTrue(check_label("no-leak", "handles", 30 + churn)[0])
        self.assertFalse(check_label("leak", "handles", 30 + churn)[0])

    def test_a_deep_dip_in_the_middle_third_is_no_rise(self) -> None:
        """A worker that unmaps its memory for a while mid-run and maps it again is no leak."""
        values = np.full(300, 42 * MIB)
        values[120:140] = 2 * MIB
        self.assertTrue(check_label("no-leak", "memory", values)[0])

    def test_a_few_pages_of_drift_are_steady(self) -> None:
        """A 7.65 MB process ending at 7.66 MB passes the no-leak check."""
        values = 7_650_000 + np.round(np.arange(120) / 119 * 3) * 4096
        ok, why = check_label("no-leak", "memory", values)
        self.assertTrue(ok, why)

    def test_unknown_label_is_refused(self) -> None:
        """A label other than leak and no-leak raises rather than passing silently."""
        with self.assertRaises(ValueError):
            check_label("leaky", "memory", np.ones(30))

    @settings(max_examples=60, deadline=None)
    @given(level=st.integers(1, 10**6), n=st.integers(9, 500), metric=st.sampled_from(["memory", "handles"]))
    def test_a_constant_series_is_no_leak(self, level: int, n: int, metric: str) -> None:
        """Whatever its level and length, a constant series passes the no-leak check and fails the leak one."""
        values = np.full(n, float(level * (4096 if metric == "memory" else 1)))
        self.assertTrue(check_label("no-leak", metric, values)[0])
        self.assertFalse(check_label("leak", metric, values)[0])

    @settings(max_examples=60, deadline=None)
    @given(start=st.integers(1, 10**5), extra=st.integers(0, 10**4), n=st.integers(30, 500))
    def test_a_steady_climb_is_a_leak(self, start: int, extra: int, n: int) -> None:
        """Memory that climbs evenly by 200 pages and a tenth of its start, or more, is a leak and not a no-leak."""
        rise = 200 + start // 10 + extra
        values = (start + np.round(rise * np.arange(n) / (n - 1))) * 4096.0
        self.assertTrue(check_label("leak", "memory", values)[0])
        self.assertFalse(check_label("no-leak", "memory", values)[0])


def full_report(path: Path, rows: int) -> Path:
    """A report in every column the monitor writes, the last row the tree's CPU-only end row."""
    lines = [",".join(REPORT_COLUMNS)]
    for k in range(rows):
        cells = {column: "0" for column in REPORT_COLUMNS}
        cells.update(
            timestamp=f"2026-01-01T10:{k // 60:02d}:{k % 60:02d}.000+01:00",
            cpu_percent="1.25",
            private_memory=str(20 * MIB + k * 64 * 1024),
            handles_fds=str(7 + k // 2),
            process_count="1",
            elapsed_s=f"{k:.6f}",
            swapped_memory="",
        )
        lines.append(",".join(cells[column] for column in REPORT_COLUMNS))
    end = dict.fromkeys(REPORT_COLUMNS, "")
    end.update(timestamp="2026-01-01T11:00:00.000+01:00", cpu_percent="0.5", process_count="0", elapsed_s="3600")
    lines.append(",".join(end[column] for column in REPORT_COLUMNS))
    path.write_text("\n".join(lines) + "\n")
    return path


class TraceFilesTest(MonitorTestCase):
    def test_a_compact_trace_is_read_by_analyze(self) -> None:
        """The compact trace keeps only its columns, drops the process-less end row, and --analyze judges it."""
        base, _, _ = self.make_dirs()
        frame = compact(full_report(base / "full.csv", 40))
        self.assertEqual(tuple(frame.columns), COLUMNS)
        self.assertEqual(len(frame), 40)
        trace = base / "trace.csv"
        frame.to_csv(trace, index=False)
        status, out, err = self.run_in_process("--analyze", str(trace), "--json")
        self.assertEqual(status, 0, err)
        leak = json.loads(out)["leak"]
        self.assertEqual(leak["private_memory"]["verdict"], "leak")
        self.assertEqual(leak["handles_fds"]["verdict"], "leak")

    def test_every_kth_keeps_the_length_and_both_ends(self) -> None:
        """A shorter trace has exactly the length asked for, evenly spaced, from the first row to the last."""
        frame = pd.DataFrame({"elapsed_s": np.arange(397) * 0.125})
        for length in (30, 120):
            short = every_kth(frame, length)
            self.assertEqual(len(short), length)
            self.assertEqual(short["elapsed_s"].iloc[0], 0.0)
            self.assertEqual(short["elapsed_s"].iloc[-1], frame["elapsed_s"].iloc[-1])
            steps = np.diff(short["elapsed_s"].to_numpy())
            self.assertLess(steps.max() - steps.min(), 0.126)


class SeparateRunsTest(unittest.TestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.out = Path(folder.name)
        self.workload = next(w for w in WORKLOADS if w.family == "tiny-drift")

    def frames(self, long_values: np.ndarray) -> dict[int, pd.DataFrame]:
        """A 400-sample run with these memory values and a steady 30-sample run beside it."""
        steady = np.full(30, 7 * MIB)

        def frame(values: np.ndarray) -> pd.DataFrame:
            n = len(values)
            return pd.DataFrame(
                {
                    "timestamp": ["2026-01-01T10:00:00"] * n,
                    "cpu_percent": 0.0,
                    "private_memory": values.astype("int64"),
                    "handles_fds": 5,
                    "process_count": 1,
                    "elapsed_s": np.arange(n) * 50 / n,
                    "swapped_memory": 0,
                }
            )

        return {400: frame(long_values), 30: frame(steady)}

    def test_a_run_of_its_own_is_checked_on_its_own(self) -> None:
        """A steady 30-sample run is kept beside a 400-sample run that fails the same label, when recorded apart."""
        rising = 7 * MIB + np.arange(400) * 16 * 1024
        rows = traces_of(self.workload, self.frames(rising), self.out, one_run=False)
        status = {(r["samples"], r["metric"]): r["status"] for r in rows}
        self.assertEqual(status[("400", "memory")], "dropped")
        self.assertEqual(status[("30", "memory")], "kept")
        self.assertTrue((self.out / f"{self.workload.name}_30.csv").is_file())

    def test_a_trace_taken_from_one_run_needs_the_whole_run_to_pass(self) -> None:
        """Taken from one run, the same 30-sample trace is dropped with the whole run that fails."""
        rising = 7 * MIB + np.arange(400) * 16 * 1024
        rows = traces_of(self.workload, self.frames(rising), self.out, one_run=True)
        status = {(r["samples"], r["metric"]): r["status"] for r in rows}
        self.assertEqual(status[("30", "memory")], "dropped")


class CatalogueTest(unittest.TestCase):
    def test_fresh_instances_are_reseeded_copies_in_their_own_split(self) -> None:
        """One fresh instance per family, split `fresh`, every --seed raised, in arguments and shell lines alike."""
        self.assertEqual(sorted(w.family for w in FRESH), sorted({w.family for w in WORKLOADS}))
        build = Build(Path("/b/workload"), Path("/b/classes"), Path("/b/scratch"))
        originals = {(w.family, w.instance): w for w in WORKLOADS}
        for fresh in FRESH:
            self.assertEqual(fresh.split, "fresh")
            original = originals[(fresh.family, fresh.instance - 10)]
            words, before = fresh.command(build, 50), original.command(build, 50)
            seeds = [int(m) for m in re.findall(r"--seed[ =]?(\d+)", " ".join(words))]
            old = [int(m) for m in re.findall(r"--seed[ =]?(\d+)", " ".join(before))]
            self.assertEqual(seeds, [seed + FRESH_SEED_SHIFT for seed in old], fresh.name)
            self.assertEqual(len(words), len(before))

    def test_every_family_is_in_both_splits(self) -> None:
        """Tuning and reporting halves both hold an instance of every family."""
        splits: dict[str, set[str]] = {}
        for workload in WORKLOADS:
            splits.setdefault(workload.family, set()).add(workload.split)
        self.assertEqual({family for family, seen in splits.items() if seen != {"tune", "holdout"}}, set())

    def test_labels_match_their_shapes_and_names_are_unique(self) -> None:
        """A leak label has the leak shape, a no-leak label a warm-up, churn or steady one; names are unique."""
        for workload in WORKLOADS:
            for label in workload.labels:
                expected = {"leak"} if label.label == "leak" else {"warm-up", "churn", "steady"}
                self.assertIn(label.shape, expected, workload.name)
        names = [workload.name for workload in WORKLOADS]
        self.assertEqual(len(names), len(set(names)))


def case(leak: bool, verdict: str, samples: int = 120) -> Case:
    """One judged trace."""
    return Case("f.csv", "family", "memory", leak, samples, verdict, "")


class ScoresTest(unittest.TestCase):
    def test_scores_count_inconclusive_as_not_a_leak(self) -> None:
        """Precision, recall and F1 from literal verdicts, with false alarms and leaks called no-leak named."""
        cases = [
            case(True, "leak"),
            case(True, "leak"),
            case(True, "no-leak"),
            case(True, "inconclusive"),
            case(False, "leak"),
            case(False, "no-leak"),
        ]
        row = score(cases, "memory", 120)
        self.assertEqual((row.cases, row.leaks, row.false_alarms, row.missed_as_no_leak), (6, 4, 1, 1))
        self.assertAlmostEqual(row.precision, 2 / 3)
        self.assertAlmostEqual(row.recall, 2 / 4)
        self.assertAlmostEqual(row.f1, 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
        self.assertAlmostEqual(row.inconclusive, 1 / 6)
        self.assertIn("false alarms", row.failures)
        self.assertIn("leaks called no-leak", row.failures)

    def test_perfect_verdicts_meet_every_target(self) -> None:
        """All leaks found and no false alarm: F1 1 and no target missed, at any length."""
        for samples in (30, 120, 400):
            row = score([case(True, "leak", samples), case(False, "no-leak", samples)], "memory", samples)
            self.assertEqual((row.f1, row.failures), (1.0, ()))

    def test_a_false_alarm_at_30_samples_is_allowed_but_lowers_f1(self) -> None:
        """Short series may alarm falsely (F1 still >= 0.85 here); 120 samples may not."""
        cases = [case(True, "leak", 30)] * 9 + [case(False, "leak", 30)] + [case(False, "no-leak", 30)] * 5
        row = score(cases, "memory", 30)
        self.assertEqual(row.failures, ())
        self.assertAlmostEqual(row.precision, 0.9)
