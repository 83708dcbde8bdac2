"""Kernel names read through kept /proc/PID/comm descriptors, and the rename recheck that needs no listing."""

from __future__ import annotations

import gc
import os
import unittest

from monitor.sampling.finders import NameFinder
from monitor.sampling.names import KernelNames
from tests.helpers import LINUX_ONLY, unique_name
from tests.process_tools import reuse_pid, start_controlled, wait_until


def open_descriptors() -> int:
    """How many descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


@LINUX_ONLY
class KernelNamesTest(unittest.TestCase):
    def test_a_kept_descriptor_reads_the_name_after_a_rename(self) -> None:
        """The first read keeps the descriptor open; a later read through it shows the name as it is now."""
        old, new = unique_name("old"), unique_name("new")
        ctl = start_controlled(self, old)
        names = KernelNames()
        self.assertEqual(names.read(ctl.pid), old.encode())
        self.assertEqual(names.kept, 1)
        ctl.command(f"name {new}")
        self.assertEqual(names.read(ctl.pid), new.encode())
        self.assertEqual(names.kept, 1)

    def test_a_gone_process_has_no_name_and_its_descriptor_is_closed(self) -> None:
        """Once the process is gone (reaped), its name reads as None and nothing stays open for it."""
        ctl = start_controlled(self, unique_name("gone"))
        names = KernelNames()
        names.read(ctl.pid)
        ctl.proc.kill()
        ctl.proc.wait()
        self.assertIsNone(names.read(ctl.pid))
        self.assertEqual(names.kept, 0)

    def test_a_reused_pid_reads_the_name_of_its_new_holder(self) -> None:
        """A descriptor belongs to the process opened: when another process takes the PID, its name is read."""
        first = unique_name("first")
        ctl = start_controlled(self, first)
        names = KernelNames()
        names.read(ctl.pid)
        ctl.proc.kill()
        ctl.proc.wait()
        second = reuse_pid(ctl.pid)
        if second is None:
            self.skipTest("reusing a PID needs root and a writable /proc/sys/kernel/ns_last_pid")
        self.addCleanup(second.wait)
        self.addCleanup(second.kill)
        # The new holder is read at once (under its parent's name until its exec of sleep completes).
        self.assertNotIn(names.read(ctl.pid), (None, first.encode()))
        wait_until(lambda: names.read(ctl.pid) == b"sleep", "the new holder's exec")

    def test_descriptors_beyond_the_limit_are_closed_and_all_close_with_the_reader(self) -> None:
        """At most `limit` descriptors stay open, names past it are read all the same, and dropping the
        reader closes what it kept."""
        first, second = unique_name("one"), unique_name("two")
        procs = [start_controlled(self, first), start_controlled(self, second)]
        gc.collect()  # readers dropped by earlier tests close theirs now, not in the middle of the count
        before = open_descriptors()
        names = KernelNames(limit=1)
        self.assertEqual([names.read(ctl.pid) for ctl in procs], [first.encode(), second.encode()])
        self.assertEqual(names.kept, 1)
        self.assertEqual(open_descriptors(), before + 1)
        del names
        gc.collect()
        self.assertEqual(open_descriptors(), before)


@LINUX_ONLY
class RecheckWithoutListingTest(unittest.TestCase):
    def test_recheck_reads_again_only_the_pids_listed_before(self) -> None:
        """recheck() finds a listed process that took the name, but not a process started since the listing,
        which the next find_new() finds."""
        wanted = unique_name("want")
        renamed = start_controlled(self, unique_name("other"))
        finder = NameFinder(wanted)
        self.assertEqual(finder.find_new(), [])
        started_since = start_controlled(self, wanted)
        renamed.command(f"name {wanted}")
        self.assertEqual([proc.pid for proc in finder.recheck()], [renamed.pid])
        self.assertEqual([proc.pid for proc in finder.find_new()], [started_since.pid])


if __name__ == "__main__":
    unittest.main()
