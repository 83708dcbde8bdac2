"""Reading metrics and finding processes, against real workload processes."""

from __future__ import annotations

import os
import subprocess
import time
import unittest
from unittest import mock

import psutil

from monitor.metrics import HANDLES, MEMORY
from monitor.sampling import finders, probes
from monitor.sampling.finders import NameFinder
from monitor.sampling.limits import headroom
from monitor.sampling.probes import AccessDeniedError, read_process
from monitor.sampling.targets import TargetSet
from monitor.stream import ProcessReading
from tests.helpers import LINUX_ONLY, MonitorTestCase, unique_name
from tests.process_tools import reuse_pid


@LINUX_ONLY
class ReadProcessTest(MonitorTestCase):
    def test_reads_uss_and_descriptors_of_a_real_process(self) -> None:
        """USS grows with a leak and the descriptor count follows opened files."""
        name = unique_name("fds")
        proc = self.start_workload(name, "--fds-per-s", "40", "--leak-mib-per-s", "20")
        target = psutil.Process(proc.pid)
        first = read_process(target, name)
        time.sleep(0.5)
        second = read_process(target, name)
        assert first is not None and second is not None
        self.assertGreater(given(second, HANDLES), given(first, HANDLES) + 5)
        self.assertGreater(given(second, MEMORY) - given(first, MEMORY), 4 * 1024 * 1024)
        self.assertEqual(second.pid, proc.pid)

    def test_exited_process_reads_as_none(self) -> None:
        """A process that has exited gives None, not an exception."""
        proc = self.start_workload(unique_name("gone"), "--seconds", "0.1")
        target = psutil.Process(proc.pid)
        proc.wait()
        self.assertIsNone(read_process(target, "gone"))

    def test_reused_pid_is_not_mistaken_for_the_process(self) -> None:
        """When the PID now belongs to a new process, the old process reads as None and the new one is read."""
        first = subprocess.Popen(["sleep", "60"])
        target = psutil.Process(first.pid)
        # psutil tells processes apart by PID and creation time, kept in clock ticks (10 ms):
        # the second process must be born in a later tick.
        time.sleep(0.05)
        first.kill()
        first.wait()
        second = reuse_pid(first.pid)
        if second is None:
            self.skipTest("the PID could not be handed out again (needs root and /proc/sys/kernel/ns_last_pid)")
        self.addCleanup(second.wait)
        self.addCleanup(second.kill)
        self.assertNotEqual(psutil.Process(second.pid).create_time(), target.create_time())
        self.assertIsNone(read_process(target, "sleep"))
        self.assertIsNotNone(read_process(psutil.Process(second.pid), "sleep"))

    def test_zombie_reads_as_none(self) -> None:
        """A child that exited but was not reaped yet reads as None, not as a process."""
        zombie = subprocess.Popen(["true"])
        self.addCleanup(zombie.wait)
        target = psutil.Process(zombie.pid)
        deadline = time.monotonic() + 10
        while target.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIsNone(read_process(target, "true"))

    def test_access_denied_names_the_pid_and_the_fix(self) -> None:
        """AccessDenied becomes a one-sentence error with the PID and what to do."""
        proc = self.start_workload(unique_name("denied"))
        target = psutil.Process(proc.pid)
        denied = mock.patch.object(psutil.Process, "memory_full_info", side_effect=psutil.AccessDenied(proc.pid))
        with denied, self.assertRaises(AccessDeniedError) as caught:
            read_process(target, "denied")
        self.assertIn(f"pid {proc.pid}", str(caught.exception))
        self.assertIn("same user", str(caught.exception))

    def test_windows_counts_handles(self) -> None:
        """On Windows the handle count comes from num_handles(), not num_fds()."""
        fake = mock.Mock(spec=["num_handles", "num_fds"])
        fake.num_handles.return_value = 321
        with mock.patch.object(probes, "IS_WINDOWS", True):
            self.assertEqual(probes.count_handles(fake), 321)
        fake.num_fds.assert_not_called()


@LINUX_ONLY
class FindTest(MonitorTestCase):
    def test_finds_every_instance_and_skips_the_monitor(self) -> None:
        """A parent with three same-named children is four instances; our own PID never is."""
        name = unique_name("four")
        self.start_workload(name, "--children", "3")
        time.sleep(0.3)
        found = NameFinder(name, exclude={os.getpid()}).find_new()
        self.assertEqual(len(found), 4)
        self.assertNotIn(os.getpid(), [p.pid for p in found])

    def test_new_instances_are_found_once(self) -> None:
        """A second call finds only PIDs that appeared since the first."""
        name = unique_name("late")
        finder = NameFinder(name)
        first = self.start_workload(name)
        self.assertEqual([p.pid for p in finder.find_new()], [first.pid])
        self.assertEqual(finder.find_new(), [])
        second = self.start_workload(name)
        self.assertEqual([p.pid for p in finder.find_new()], [second.pid])

    def test_children_of_other_names_join_with_include_children(self) -> None:
        """--include-children adds descendants whatever their name."""
        name = unique_name("parent")
        parent = self.start_workload(name, "--children", "2", "--child-name", unique_name("kid"))
        time.sleep(0.3)
        plain = TargetSet(finders.by_pid(parent.pid))
        plain.refresh()
        with_children = TargetSet(finders.by_pid(parent.pid), include_children=True)
        with_children.refresh()
        self.assertEqual(len(plain.live), 1)
        self.assertEqual(len(with_children.live), 3)


@LINUX_ONLY
class HeadroomTest(MonitorTestCase):
    def test_one_process_gets_its_open_file_limit_less_its_descriptors(self) -> None:
        """For one process, the descriptor headroom is its RLIMIT_NOFILE soft limit minus its open descriptors."""
        proc = psutil.Process(self.start_workload(unique_name("room")).pid)
        soft, _ = proc.rlimit(psutil.RLIMIT_NOFILE)
        room = headroom([proc])
        self.assertEqual(room[HANDLES], float(soft - proc.num_fds()))
        self.assertGreater(room[MEMORY] or 0.0, 0.0)

    def test_several_processes_have_no_single_descriptor_limit(self) -> None:
        """Two processes share no open-file limit: the descriptor headroom is None, memory is still given."""
        procs = [psutil.Process(self.start_workload(unique_name("room")).pid) for _ in range(2)]
        room = headroom(procs)
        self.assertIsNone(room[HANDLES])
        self.assertGreater(room[MEMORY] or 0.0, 0.0)


def given(reading: ProcessReading, column: str) -> float:
    """A metric the reading must hold."""
    value = reading.value(column)
    assert value is not None, f"{column} missing"
    return value


if __name__ == "__main__":
    unittest.main()
