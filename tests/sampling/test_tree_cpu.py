"""The CPU of a watched tree as the kernel accounts it: children that live and die between two samples count."""

from __future__ import annotations

import shutil
import signal
import sys
import textwrap
import unittest

from monitor.sampling.tree_cpu import CpuAccount, TreeCpu
from tests.helpers import LINUX_ONLY, ROOT, MonitorTestCase, only_file, read_csv
from tests.process_tools import wait_until
from tests.prometheus import free_port, http_get

RUSAGE = ROOT / "tests" / "workloads" / "rusage.py"
SHORT_CHILDREN = ROOT / "tests" / "workloads" / "short_children.py"
# How far the report's CPU may be from the kernel's account of the same tree.
TOLERANCE = 0.05


def account(pid: int, seconds: float, parent: int | None = 1, root: int = 1, age_s: float | None = None) -> CpuAccount:
    return CpuAccount(("proc", pid), pid, parent, root, seconds, age_s)


class TreeCpuTest(unittest.TestCase):
    """The accounting rules, on literal accounts."""

    def test_growth_of_members_present_at_both_ticks_is_counted(self) -> None:
        """A member's account grows by what it spent."""
        cpu = TreeCpu()
        cpu.start([account(1, 2.0, parent=None), account(2, 1.0)])
        self.assertEqual(cpu.advance([account(1, 2.5, parent=None), account(2, 1.25)], 1.0), {1: 0.75})
        self.assertEqual(cpu.total_s, 0.75)

    def test_child_born_and_reaped_between_ticks_counts_through_its_parent(self) -> None:
        """A child never seen alive is in its parent's reaped account."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None)])
        self.assertEqual(cpu.advance([account(1, 0.4, parent=None)], 0.5), {1: 0.4})

    def test_child_seen_alive_then_reaped_is_not_counted_twice(self) -> None:
        """What was counted of a child while it lived is taken off its parent's jump when it is reaped."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None), account(2, 0.1)])
        cpu.advance([account(1, 0.0, parent=None), account(2, 0.3)], 0.5)
        # Child 2 ended at 0.35 s and its parent reaped it.
        cpu.advance([account(1, 0.35, parent=None)], 0.5)
        self.assertAlmostEqual(cpu.total_s, 0.25)

    def test_grandchild_reaped_by_a_child_that_was_reaped_in_turn(self) -> None:
        """Both gone in one interval: the root's jump holds the grandchild's account once."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None), account(2, 0.0, parent=1), account(3, 0.1, parent=2)])
        # Grandchild 3 ends at 0.2 s, child 2 (which spent 0.05 s) reaps it and ends, the root reaps 2.
        spent = cpu.advance([account(1, 0.25, parent=None)], 0.5)
        self.assertAlmostEqual(spent[1], 0.15)

    def test_member_reaped_outside_the_tree_loses_only_its_last_part(self) -> None:
        """An orphan collected by init takes what it spent after its last reading; nothing is taken off."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None), account(2, 0.2, parent=99)])
        self.assertEqual(cpu.advance([account(1, 0.0, parent=None)], 0.5), {1: 0.0})

    def test_newcomer_older_than_the_interval_counts_its_share(self) -> None:
        """A member found late counts its average rate since creation over the interval only."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None)])
        spent = cpu.advance([account(1, 0.0, parent=None), account(2, 4.0, age_s=8.0)], 1.0)
        self.assertAlmostEqual(spent[1], 0.5)

    def test_zombie_keeps_its_final_account_until_reaped(self) -> None:
        """An exited member read as a zombie adds its last part once; its reaping adds nothing more."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None), account(2, 0.1)])
        cpu.advance([account(1, 0.0, parent=None), account(2, 0.3)], 0.5)  # now a zombie with its final account
        cpu.advance([account(1, 0.0, parent=None), account(2, 0.3)], 0.5)
        cpu.advance([account(1, 0.3, parent=None)], 0.5)
        self.assertAlmostEqual(cpu.total_s, 0.2)

    def test_time_dropped_by_the_kernel_shows_as_zero_not_negative(self) -> None:
        """A child reaped without a wait takes its time away: the share is 0, never below."""
        cpu = TreeCpu()
        cpu.start([account(1, 0.0, parent=None), account(2, 0.3)])
        self.assertEqual(cpu.advance([account(1, 0.0, parent=None)], 0.5), {1: 0.0})


@LINUX_ONLY
class CommandTreeCpuTest(MonitorTestCase):
    """Under `-- COMMAND`, the report accounts the CPU the kernel accounts to the command's tree."""

    def assert_report_matches_kernel(self, *command: str) -> None:
        base, reports, _ = self.make_dirs()
        kernel_file = base / "kernel"
        result = self.run_monitor(
            "-d", "300", "-s", "0.5", "-q", *self.out_args, "--", sys.executable, str(RUSAGE), str(kernel_file),
            *command, timeout=300,
        )  # fmt: skip
        self.assertEqual(result.returncode, 0, result.stderr)
        kernel_s = float(kernel_file.read_text())
        rows = read_csv(only_file(reports, "*[0-9].csv"))
        # CPU % x interval, summed; the first row's interval (since the priming read) is its cpu_seconds.
        accounted = float(rows[0]["cpu_seconds"])
        for before, row in zip(rows, rows[1:]):
            interval_s = float(row["elapsed_s"]) - float(before["elapsed_s"])
            accounted += float(row["cpu_percent"]) / 100 * interval_s
        self.assertGreater(kernel_s, 0.5, "the workload did too little to compare")
        self.assertAlmostEqual(accounted, kernel_s, delta=TOLERANCE * kernel_s, msg=f"{len(rows)} rows")
        self.assertAlmostEqual(float(rows[-1]["cpu_seconds"]), kernel_s, delta=TOLERANCE * kernel_s)
        # The last row, which holds only what the tree spent after its last sample, is a valid report row.
        status, out, err = self.run_in_process("--analyze", str(only_file(reports, "*[0-9].csv")))
        self.assertEqual(status, 0, err)
        self.assertIn(f"{len(rows)} samples", out)

    def test_shell_loop_of_short_busy_children(self) -> None:
        """20 children of 0.2 s each, each started and reaped by a shell between or across samples."""
        base, _, _ = self.make_dirs()
        script = base / "parent.sh"
        script.write_text(
            "#!/bin/sh\ni=0\nwhile [ $i -lt 20 ]; do\n  timeout 0.2 sh -c 'while :; do :; done'\n  i=$((i+1))\ndone\n"
        )
        script.chmod(0o755)
        self.assert_report_matches_kernel(str(script))

    @unittest.skipUnless(shutil.which("make") and shutil.which("gcc"), "make and gcc are needed (Debian: make gcc)")
    def test_make_of_small_c_files(self) -> None:
        """`make -j2` of 20 small C files: a compiler per file, each gone within a fraction of a second."""
        base, _, _ = self.make_dirs()
        build = base / "build"
        build.mkdir()
        objects = []
        for index in range(20):
            # Enough code for the optimiser to take a tenth of a second or so per file.
            (build / f"unit{index}.c").write_text(
                "".join(
                    f"int f{index}_{n}(int x) {{ int s = 0; "
                    f"for (int i = 0; i < x; i++) s += i * {n} % (x + 1); return s; }}\n"
                    for n in range(60)
                )
            )
            objects.append(f"unit{index}.o")
        (build / "Makefile").write_text(f"all: {' '.join(objects)}\n%.o: %.c\n\tgcc -O2 -c $< -o $@\n")
        self.assert_report_matches_kernel("make", "-s", "-j2", "-C", str(build))
        self.assertTrue((build / "unit19.o").exists())

    def test_multiprocessing_pool_of_short_tasks(self) -> None:
        """A Pool whose workers each take two short tasks and are replaced: processes come and go all run long."""
        program = textwrap.dedent(
            """
            import multiprocessing, time

            def spin(_):
                end = time.process_time() + 0.1
                while time.process_time() < end:
                    pass

            if __name__ == "__main__":
                with multiprocessing.Pool(2, maxtasksperchild=2) as pool:
                    pool.map(spin, range(24), chunksize=1)
            """
        )
        base, _, _ = self.make_dirs()
        script = base / "pool.py"
        script.write_text(program)
        self.assert_report_matches_kernel(sys.executable, str(script))


@LINUX_ONLY
class IncludeChildrenCpuTest(MonitorTestCase):
    """With --include-children, a watched process's short children count in its tree's CPU."""

    def test_short_children_of_a_watched_process(self) -> None:
        """12 children of 0.2 s each, forked and reaped by a process the monitor did not start."""
        base, reports, _ = self.make_dirs()
        go, done = base / "go", base / "done"
        root = self.start_script(SHORT_CHILDREN, str(go), str(done))
        monitor = self.start_monitor("--pid", str(root.pid), "--include-children", "-d", "300", "-s", "0.5",
                                     *self.out_args)  # fmt: skip
        self.wait_for_rows(monitor, 1)
        go.touch()
        wait_until(done.exists, "the children to finish", timeout_s=120)
        children_s = float(done.read_text())
        report = only_file(reports, "*[0-9].csv")
        # Two more rows: the one after the last reaping holds it.
        rows_at_done = len(read_csv(report))
        wait_until(lambda: len(read_csv(report)) >= rows_at_done + 2, "two more rows", timeout_s=60)
        root.kill()
        self.rest_of_output(monitor, timeout=60)
        rows = read_csv(report)
        # Everything but the children is the idle root and the monitor's own reads of it.
        accounted = float(rows[-1]["cpu_seconds"])
        self.assertAlmostEqual(accounted, children_s, delta=TOLERANCE * children_s + 0.05, msg=f"{len(rows)} rows")

    def test_exporter_counts_the_short_children_of_a_watched_process(self) -> None:
        """--serve with --include-children: procmon_cpu_seconds_total grows by what the short children spent."""
        base, _, logs = self.make_dirs()
        go, done = base / "go", base / "done"
        root = self.start_script(SHORT_CHILDREN, str(go), str(done))
        port = free_port()
        exporter = self.start_monitor(
            "--serve", f"127.0.0.1:{port}", "--pid", str(root.pid), "--include-children", "-s", "0.5", "-l", str(logs)
        )
        assert exporter.stdout is not None
        self.assertIn("Serving http://", exporter.stdout.readline())
        url = f"http://127.0.0.1:{port}/metrics"
        go.touch()
        wait_until(done.exists, "the children to finish", timeout_s=120)
        children_s = float(done.read_text())
        samples_at_done = served(url, "procmon_sample_duration_seconds_count")
        wait_until(lambda: served(url, "procmon_sample_duration_seconds_count") >= samples_at_done + 2, "two samples")
        cpu_s = served(url, "procmon_cpu_seconds_total{")
        self.assertAlmostEqual(cpu_s, children_s, delta=TOLERANCE * children_s + 0.05)
        exporter.send_signal(signal.SIGTERM)
        self.assertEqual(exporter.wait(30), 143)


def served(url: str, prefix: str) -> float:
    """The value of the one series of a scrape whose line starts with `prefix`."""
    lines = [line for line in http_get(url).splitlines() if line.startswith(prefix)]
    if len(lines) != 1:
        raise AssertionError(f"expected one {prefix} line, got {lines}")
    return float(lines[0].split()[-1])


if __name__ == "__main__":
    unittest.main()
