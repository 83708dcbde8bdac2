"""Process names: what a process is called, and which names -p matches (kernel names, renames, bad bytes)."""

from __future__ import annotations

import datetime
import os
import subprocess
import time
import unicodedata
import unittest
import uuid

import psutil
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.sampling.finders import NameFinder
from monitor.sampling.names import clean_name, kernel_name, name_matches, process_name
from monitor.sampling.targets import TargetSet
from tests.helpers import LINUX_ONLY, MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import binary_named, start_binary, start_controlled, wait_until


class FakeMonotonic:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CleanNameTest(unittest.TestCase):
    def test_undecodable_bytes_become_backslash_escapes(self) -> None:
        """A name cut inside a character (lone surrogate from psutil) becomes valid text with an escape."""
        raw = os.fsdecode("ééééééé".encode() + b"\xc3")
        self.assertEqual(clean_name(raw), "ééééééé\\xc3")
        clean_name(raw).encode("utf-8")  # valid UTF-8: no exception

    def test_valid_names_are_unchanged(self) -> None:
        """Ordinary names, accents included, pass through as they are."""
        for name in ("python3", "ééé", "a b", "chrome.exe"):
            self.assertEqual(clean_name(name), name)

    def test_control_characters_become_escapes(self) -> None:
        """A name that would clear the terminal or split a line is shown with escapes instead."""
        self.assertEqual(clean_name("nu\x1b[2Jx"), "nu\\x1b[2Jx")
        self.assertEqual(clean_name("a\nb\tc\x7f"), "a\\nb\\tc\\x7f")

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.characters(codec=None)))
    def test_any_name_comes_out_printable(self, name: str) -> None:
        """Whatever a process is called (lone surrogates included), its shown name is valid UTF-8, holds no
        control character, and cleaning it again changes nothing."""
        shown = clean_name(name)
        shown.encode("utf-8")
        self.assertFalse([char for char in shown if unicodedata.category(char) == "Cc"], shown)
        self.assertEqual(clean_name(shown), shown)


class NameMatchTest(MonitorTestCase):
    def test_posix_names_match_exactly(self) -> None:
        """On Linux a name matches only itself, case included."""
        self.assertTrue(name_matches("chrome", "chrome", windows=False))
        self.assertFalse(name_matches("Chrome", "chrome", windows=False))
        self.assertFalse(name_matches("chrome.exe", "chrome", windows=False))

    def test_windows_names_ignore_case_and_exe(self) -> None:
        """On Windows 'chrome', 'Chrome.EXE' and 'chrome.exe' all name chrome.exe."""
        self.assertTrue(name_matches("chrome.exe", "chrome", windows=True))
        self.assertTrue(name_matches("Chrome.EXE", "chrome", windows=True))
        self.assertTrue(name_matches("chrome.exe", "CHROME.exe", windows=True))
        self.assertFalse(name_matches("chromium.exe", "chrome", windows=True))

    @LINUX_ONLY
    def test_kernel_name_and_full_name_of_a_long_name_both_match(self) -> None:
        """For a 29-byte program name, both the kernel's 15-byte name and the full name find it."""
        name = f"lp{uuid.uuid4().hex[:6]}-very-long-process-name"
        proc = start_binary(self, [binary_named(self, name), "60"])
        self.assertEqual(kernel_name(proc.pid), name[:15].encode())
        self.assertEqual([p.pid for p in NameFinder(name[:15]).find_new()], [proc.pid])
        self.assertEqual([p.pid for p in NameFinder(name).find_new()], [proc.pid])
        self.assertEqual(NameFinder(name[:14]).find_new(), [])
        self.assertEqual(NameFinder(name + "x").find_new(), [])

    @LINUX_ONLY
    def test_name_cut_inside_a_character_matches_and_reads_cleanly(self) -> None:
        """A program whose 15-byte kernel name splits an 'é' is found by its full name and by its cut name."""
        name = "ééééééééé" + uuid.uuid4().hex[:4]
        proc = start_binary(self, [binary_named(self, name), "60"])
        cut = os.fsdecode(name.encode()[:15])  # what a shell passes for those 15 bytes
        self.assertEqual([p.pid for p in NameFinder(name).find_new()], [proc.pid])
        self.assertIn(proc.pid, [p.pid for p in NameFinder(cut).find_new()])
        self.assertIn(proc.pid, [p.pid for p in NameFinder(clean_name(cut)).find_new()])
        self.assertEqual(process_name(psutil.Process(proc.pid)), name)

    @LINUX_ONLY
    def test_renamed_name_cut_inside_a_character_is_escaped(self) -> None:
        """A process that renamed itself to a name cut inside a character reads as valid text with an escape."""
        ctl = start_controlled(self, "éééééééé")  # 16 bytes: the kernel keeps 15
        self.assertEqual(process_name(psutil.Process(ctl.pid)), "ééééééé\\xc3")


@LINUX_ONLY
class RenameTest(MonitorTestCase):
    def test_process_renamed_after_listing_is_found_at_the_next_recheck(self) -> None:
        """A listed process that renames itself is found once the recheck second has passed, not before."""
        ctl = start_controlled(self, unique_name("old"))
        new = unique_name("new")
        clock = FakeMonotonic()
        finder = NameFinder(new, monotonic=clock)
        self.assertEqual(finder.find_new(), [])
        ctl.command(f"name {new}")
        self.assertEqual(finder.find_new(), [])
        clock.now += 1.0
        self.assertEqual([p.pid for p in finder.find_new()], [ctl.pid])
        clock.now += 1.0
        self.assertEqual(finder.find_new(), [])

    def test_wrapper_that_execs_the_program_is_found(self) -> None:
        """A shell that ends in `exec program` is found under the program's name once it has exec'd."""
        name = unique_name("exec")
        program = binary_named(self, name)
        shell = subprocess.Popen(["sh", "-c", f'read line; exec "{program}" 60'], stdin=subprocess.PIPE)
        self.addCleanup(shell.communicate)
        self.addCleanup(shell.kill)
        wait_until(lambda: kernel_name(shell.pid) == b"sh", "the shell did not start")
        finder = NameFinder(name, recheck_s=0.0)
        self.assertEqual(finder.find_new(), [])
        assert shell.stdin is not None
        shell.stdin.write(b"go\n")
        shell.stdin.flush()
        wait_until(lambda: kernel_name(shell.pid) == name.encode(), "the shell did not exec")
        self.assertEqual([p.pid for p in finder.find_new()], [shell.pid])

    def test_recheck_runs_even_when_no_process_was_created(self) -> None:
        """With nothing created (the /proc/loadavg shortcut), a rename is still found at the recheck."""
        ctl = start_controlled(self, unique_name("old"))
        new = unique_name("new")
        clock = FakeMonotonic()
        # Faked: on a shared machine another process may be created at any moment, so
        # "nothing created since the last tick" cannot be produced for real.
        watched = TargetSet(NameFinder(new, monotonic=clock), last_created=lambda: 4242)
        watched.refresh()
        ctl.command(f"name {new}")
        self.assertEqual(watched.refresh(), [])
        self.assertTrue(watched.nothing_created)
        clock.now += 1.0
        self.assertEqual([p.pid for p in watched.refresh()], [ctl.pid])

    def test_rename_joins_a_running_monitor_within_a_second(self) -> None:
        """`-p NAME`: a process that renames itself to NAME mid-run is sampled within about one second."""
        name = unique_name("join")
        self.start_workload(name)
        ctl = start_controlled(self, unique_name("other"))
        _, reports, _ = self.make_dirs()
        monitor = self.start_monitor("-p", name, "-d", "5", "-s", "0.25", *self.out_args)
        assert monitor.stdout is not None and monitor.stderr is not None
        self.assertTrue(monitor.stdout.readline().startswith("Monitoring"))
        monitor.stdout.readline()  # the table header: sampling has started
        renamed_at = time.time()
        ctl.command(f"name {name}")
        monitor.stdout.read()
        err = monitor.stderr.read()
        self.assertEqual(monitor.wait(30), 0, err)
        detail = read_csv(only_file(reports, f"{name}_*_processes.csv"))
        joined = [row["timestamp"] for row in detail if int(row["pid"]) == ctl.pid]
        self.assertTrue(joined, "the renamed process was never sampled")
        first = datetime_from_iso(joined[0])
        # The recheck second plus one interval; the rule itself is timed on a fake clock
        # (test_process_renamed_after_listing_is_found_at_the_next_recheck), so a busy machine gets a second of room.
        self.assertLess(first - renamed_at, 1.0 + 0.25 + 1.0)


def datetime_from_iso(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp with offset."""
    return datetime.datetime.fromisoformat(text).timestamp()


if __name__ == "__main__":
    unittest.main()
