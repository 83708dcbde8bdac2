"""Finding and reading the processes to watch, against real processes: names, renames, denials, zombies, CPU."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import unittest
import uuid
from contextlib import ExitStack
from typing import Callable

import psutil

from monitor.errors import MonitorError
from monitor.metrics import CPU
from monitor.sampling import finders, handouts
from monitor.sampling.handouts import PidHandouts
from monitor.sampling.probes import read_process
from monitor.sampling.session import Session
from monitor.sampling.signals import StopSignals
from monitor.sampling.targets import TargetSet
from monitor.stream import EventKind, Sample
from tests.helpers import LINUX_ONLY, MAIN, Collector, MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import (
    ROOT_ONLY,
    as_user,
    binary_named,
    nobody,
    reuse_pid,
    start_binary,
    wait_until,
)
from tests.sampling.test_names import FakeMonotonic


@LINUX_ONLY
@ROOT_ONLY
class DeniedTest(MonitorTestCase):
    """The monitor's view is that of the unprivileged user 'nobody'; root's processes are refused to it."""

    def test_unreadable_instance_is_skipped_and_reported_once(self) -> None:
        """Of two instances, the one of another user is skipped with one DENIED event; the other is sampled."""
        name = unique_name("deny")
        program = binary_named(self, name)
        readable = start_binary(self, [program, "60"], user=nobody())
        unreadable = start_binary(self, [program, "60"])
        sink = Collector()
        with as_user(*nobody()):
            session = Session(TargetSet(finders.by_name(name)))
            first = session.start()
            result = session.run(0.1, 3, [sink], StopSignals())
        self.assertEqual([r.pid for r in first], [readable.pid])
        self.assertIsNone(result.error)
        self.assertEqual(result.denied, {unreadable.pid: name})
        self.assertEqual(result.processes, {readable.pid: name})
        denied = [e for e in sink.events if e.kind is EventKind.DENIED]
        self.assertEqual([(e.pid, e.name, e.is_root) for e in denied], [(unreadable.pid, name, True)])
        self.assertEqual({r.pid for s in sink.samples for r in s.readings}, {readable.pid})

    def test_every_instance_unreadable_names_pids_owner_and_fix(self) -> None:
        """When no instance can be read the start fails with one line: the PIDs, their owner and the fix."""
        name = unique_name("denyall")
        program = binary_named(self, name)
        first = start_binary(self, [program, "60"])
        second = start_binary(self, [program, "60"])
        with as_user(*nobody()), self.assertRaises(MonitorError) as caught:
            Session(TargetSet(finders.by_name(name))).start()
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertIn(f"access denied to every instance of '{name}'", message)
        self.assertIn(f"pid {first.pid} (root)", message)
        self.assertIn(f"pid {second.pid} (root)", message)
        self.assertIn("run the monitor as that user", message)

    def test_unreadable_pid_fails_with_one_line(self) -> None:
        """--pid on a process of another user fails at the start, naming the PID and its owner."""
        name = unique_name("denypid")
        proc = start_binary(self, [binary_named(self, name), "60"])
        with as_user(*nobody()), self.assertRaises(MonitorError) as caught:
            Session(TargetSet(finders.by_pid(proc.pid))).start()
        self.assertIn(f"access denied to '{name}': pid {proc.pid} (root)", str(caught.exception))

    def test_last_instance_denied_mid_run_ends_with_the_error(self) -> None:
        """When the only instance becomes unreadable after two samples, the run ends with the error, samples kept."""
        name = unique_name("denylate")
        proc = start_binary(self, [binary_named(self, name), "60"])
        with ExitStack() as stack:

            def lose_rights(sample: Sample) -> None:
                if sample.index == 2:
                    stack.enter_context(as_user(*nobody()))

            sink = Collector(lose_rights)
            session = Session(TargetSet(finders.by_pid(proc.pid)))
            session.start()
            result = session.run(0.1, 6, [sink], StopSignals())
        self.assertEqual(result.samples, 2)
        assert result.error is not None
        self.assertIn(f"access denied to '{name}': pid {proc.pid} (root)", result.error)
        self.assertEqual(result.denied, {proc.pid: name})
        self.assertEqual([e.kind for e in sink.events], [EventKind.DENIED])


@LINUX_ONLY
class DeniedChildTest(MonitorTestCase):
    def test_denied_child_is_not_taken_back_by_the_child_search(self) -> None:
        """A child marked unreadable stays out of the watched set though every child search finds it again."""
        parent = self.start_workload(unique_name("parent"), "--children", "1", "--child-name", unique_name("kid"))
        created = iter(range(1, 1000))
        # Faked: a new value each tick makes every refresh search the children again.
        watched = TargetSet(finders.by_pid(parent.pid), include_children=True, last_created=lambda: next(created))
        watched.refresh()
        self.assertEqual(len(watched.live), 2)
        child = next(proc for pid, proc in watched.live.items() if pid != parent.pid)
        watched.deny(child)
        watched.refresh()
        self.assertEqual(list(watched.live), [parent.pid])


@LINUX_ONLY
class ZombieTest(MonitorTestCase):
    def test_zombie_reads_as_gone(self) -> None:
        """A process that exited but was not reaped reads as None."""
        zombie = self._zombie(unique_name("zmb"))
        self.assertIsNone(read_process(psutil.Process(zombie.pid), "zmb"))

    def test_zombie_present_at_start_is_not_listed(self) -> None:
        """Of a zombie and a live instance with the same name, only the sampled live one is in the run's PIDs."""
        name = unique_name("zmb")
        zombie = self._zombie(name)
        live = start_binary(self, [binary_named(self, name), "60"])
        session = Session(TargetSet(finders.by_name(name)))
        self.assertEqual([r.pid for r in session.start()], [live.pid])
        result = session.run(0.1, 2, [Collector()], StopSignals())
        self.assertEqual(result.processes, {live.pid: name})
        self.assertNotIn(zombie.pid, result.processes)

    def _zombie(self, name: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([str(binary_named(self, name, "/bin/true"))])
        self.addCleanup(proc.wait)
        wait_until(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE, "no zombie")
        return proc


@LINUX_ONLY
class CpuTest(MonitorTestCase):
    def test_first_sample_measures_a_primed_interval(self) -> None:
        """A busy process shows real CPU on the very first sample: the counter was primed at the start."""
        busy = self.start_workload(unique_name("busy"), "--busy")
        session = Session(TargetSet(finders.by_pid(busy.pid)))
        session.start()
        sink = Collector()
        session.run(0.5, 1, [sink], StopSignals())
        self.assertGreater(sink.samples[0].readings[0].value(CPU) or 0.0, 20.0)

    def test_newcomer_counts_its_cpu_since_creation(self) -> None:
        """An instance that starts after the run began shows its CPU since creation at its first tick, not 0."""
        name = unique_name("cpu")
        self.start_workload(name)
        session = Session(TargetSet(finders.by_name(name)))
        session.start()
        busy = self.start_workload(name, "--busy")
        sink = Collector()
        session.run(0.3, 1, [sink], StopSignals())
        readings = {r.pid: r for r in sink.samples[0].readings}
        # Anything clearly above 0 will do: without the newcomer rule the first reading is exactly 0.
        self.assertGreater(readings[busy.pid].value(CPU) or 0.0, 5.0)
        self.assertIn((EventKind.JOINED, busy.pid), [(e.kind, e.pid) for e in sink.events])


@LINUX_ONLY
class LoadavgShortcutTest(MonitorTestCase):
    def test_last_created_pid_names_the_newest_process(self) -> None:
        """/proc/loadavg's last field is the PID of the process just started (retried: others may start too)."""
        for _ in range(20):
            proc = subprocess.Popen(["sleep", "5"])
            newest = handouts.last_created_pid()
            proc.kill()
            proc.wait()
            if newest == proc.pid:
                return
        self.fail("the last created PID never matched a process just started")

    def test_forks_since_boot_counts_a_process_just_started(self) -> None:
        """/proc/stat's count of created processes grows by at least one per process started."""
        before = handouts.forks_since_boot()
        proc = subprocess.Popen(["true"])
        proc.wait()
        after = handouts.forks_since_boot()
        assert before is not None and after is not None
        self.assertGreaterEqual(after - before, 1)

    def test_nothing_created_skips_the_search(self) -> None:
        """While the last created PID stays the same the root finder is not called; a new one calls it again."""
        calls: list[int] = []
        last = {"pid": 10}

        def finder() -> list[psutil.Process]:
            calls.append(1)
            return []

        # Faked: "no process created" cannot be produced for real on a shared machine.
        watched = TargetSet(finder, last_created=lambda: last["pid"])
        watched.refresh()
        watched.refresh()
        self.assertTrue(watched.nothing_created)
        self.assertEqual(len(calls), 1)
        last["pid"] = 11
        watched.refresh()
        self.assertFalse(watched.nothing_created)
        self.assertEqual(len(calls), 2)


@LINUX_ONLY
class BadNamesEndToEndTest(MonitorTestCase):
    def test_name_cut_inside_a_character_runs_to_the_summary(self) -> None:
        """--pid and -p on a program whose kernel name splits a character: exit 0, summary, valid UTF-8 files."""
        name = "ééééééééé" + uuid.uuid4().hex[:4]
        proc = start_binary(self, [binary_named(self, name), "60"])
        for target in (["--pid", str(proc.pid)], ["-p", name]):
            with self.subTest(target=target):
                _, reports, logs = self.make_dirs()
                result = subprocess.run(
                    [sys.executable, str(MAIN), *target, "-d", "1", "-s", "0.25", *self.out_args],
                    capture_output=True,
                    timeout=60,
                )
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn(b"Summary", result.stdout)
                result.stdout.decode("utf-8")
                for path in [*reports.iterdir(), *logs.iterdir()]:
                    path.read_bytes().decode("utf-8")
                names = {row["name"] for row in read_csv(only_file(reports, "*_processes.csv"))}
                self.assertEqual(names, {name})
                summary = json.loads(only_file(reports, "*.json").read_text(encoding="utf-8"))
                self.assertEqual(summary["pids"], {str(proc.pid): name})


def answering(value: int | None) -> Callable[[], int | None]:
    """A reader that always gives `value`."""
    return lambda: value


class PidHandoutsTest(unittest.TestCase):
    def handouts(self, last: int, forks: int) -> tuple[PidHandouts, dict[str, int], FakeMonotonic]:
        """PidHandouts reading a faked last PID, fork count and clock (a real machine creates processes at any time)."""
        state = {"last": last, "forks": forks}
        clock = FakeMonotonic()
        handouts = PidHandouts(lambda: state["last"], lambda: state["forks"], monotonic=clock, recheck_all_s=10.0)
        handouts.look()
        return handouts, state, clock

    def test_only_pids_handed_out_between_the_last_two_looks_may_be_new(self) -> None:
        """Three processes created while the last PID moved from 100 to 105: 101 to 105 may be new, 100 and 106 not."""
        handouts, state, _ = self.handouts(100, 5000)
        self.assertTrue(handouts.may_be_new(7))  # one look says nothing yet
        state.update(last=105, forks=5003)
        handouts.look()
        self.assertEqual([pid for pid in range(95, 110) if handouts.may_be_new(pid)], [101, 102, 103, 104, 105])

    def test_nothing_created_means_no_pid_is_new(self) -> None:
        """With the fork count unchanged, no PID may be new."""
        handouts, _, _ = self.handouts(100, 5000)
        handouts.look()
        self.assertFalse(any(handouts.may_be_new(pid) for pid in range(1, 200)))

    def test_a_pid_cursor_set_back_makes_every_pid_suspect(self) -> None:
        """One process created but the last PID the same (ns_last_pid set back, or a wrap): any PID may be new."""
        handouts, state, _ = self.handouts(100, 5000)
        state.update(forks=5001)
        handouts.look()
        self.assertTrue(handouts.may_be_new(100))
        self.assertTrue(handouts.may_be_new(42))
        state.update(last=20, forks=5002)  # wrapped round pid_max
        handouts.look()
        self.assertTrue(handouts.may_be_new(4_000_000))
        self.assertTrue(handouts.may_be_new(77))

    def test_every_pid_is_suspect_again_once_every_recheck_period(self) -> None:
        """Whatever the counts say, every PID may be new at the first look 10 s after the last such look."""
        handouts, state, clock = self.handouts(100, 5000)
        clock.now += 9.9
        handouts.look()
        self.assertFalse(handouts.may_be_new(42))
        clock.now += 0.1
        handouts.look()
        self.assertTrue(handouts.may_be_new(42))
        clock.now += 1.0
        state.update(last=101, forks=5001)
        handouts.look()
        self.assertEqual([pid for pid in range(95, 110) if handouts.may_be_new(pid)], [101])

    def test_where_the_os_does_not_say_every_pid_may_be_new(self) -> None:
        """Without a last-created PID or a fork count (not Linux) every PID is checked."""
        answers: tuple[tuple[int | None, int | None], ...] = ((None, 5000), (100, None))
        for last, forks in answers:
            handouts = PidHandouts(answering(last), answering(forks))
            handouts.look()
            handouts.look()
            with self.subTest(last=last, forks=forks):
                self.assertTrue(handouts.may_be_new(1234))


@LINUX_ONLY
class ReusedPidSessionTest(MonitorTestCase):
    def test_a_reused_pid_ends_the_watch_instead_of_reading_the_newcomer(self) -> None:
        """Watching one `sleep` by PID: when it dies and a new `sleep` gets its PID, the run ends as exited."""
        first = subprocess.Popen(["sleep", "60"])
        self.addCleanup(first.wait)
        self.addCleanup(first.kill)
        impostor: list[subprocess.Popen[bytes]] = []

        def reuse_after_first_sample(sample: Sample) -> None:
            if sample.index == 1:
                # psutil tells processes apart by creation time in clock ticks (10 ms): be born later.
                time.sleep(0.05)
                first.kill()
                first.wait()
                second = reuse_pid(first.pid)
                if second is not None:
                    impostor.append(second)
                    self.addCleanup(second.wait)
                    self.addCleanup(second.kill)

        sink = Collector(reuse_after_first_sample)
        session = Session(TargetSet(finders.by_pid(first.pid)))
        session.start()
        result = session.run(0.2, 5, [sink], StopSignals())
        if not impostor:
            self.skipTest("the PID could not be handed out again (needs root and /proc/sys/kernel/ns_last_pid)")
        self.assertEqual(result.samples, 1)
        self.assertEqual([event.kind for event in sink.events], [EventKind.EXITED])

    def test_a_pid_reused_while_the_session_starts_is_never_read(self) -> None:
        """A PID reused between finding the process and the first tick gives no sample of the newcomer."""
        first = subprocess.Popen(["sleep", "60"])
        self.addCleanup(first.wait)
        self.addCleanup(first.kill)
        find_first = finders.by_pid(first.pid)
        impostor: list[subprocess.Popen[bytes]] = []

        def reuse_on_first_look() -> int | None:
            if not impostor:
                time.sleep(0.05)  # a later creation time (psutil keeps it in 10 ms ticks)
                first.kill()
                first.wait()
                second = reuse_pid(first.pid)
                if second is None:
                    self.skipTest("the PID could not be handed out again (needs root and /proc/sys/kernel/ns_last_pid)")
                impostor.append(second)
                self.addCleanup(second.wait)
                self.addCleanup(second.kill)
            return handouts.last_created_pid()

        session = Session(TargetSet(find_first), handouts=PidHandouts(last_created=reuse_on_first_look))
        self.assertEqual(session.start(), [])
        result = session.run(0.2, 3, [Collector()], StopSignals())
        self.assertEqual(result.samples, 0)


if __name__ == "__main__":
    unittest.main()
