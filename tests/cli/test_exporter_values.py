"""What /metrics serves equals what psutil reads of the same processes at the same moment."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from tests.helpers import LINUX_ONLY, MAIN, ROOT, MonitorTestCase, unique_name
from tests.prometheus import free_port, http_get, wait_until

MIB = 1024 * 1024
INSTANCES = 3  # the workload and its two children, one name
WRITE_MIB = 2  # each instance writes this much, WRITE_AFTER_S after it is ready
WRITE_AFTER_S = 6
ATTEMPTS = 5  # looks at the gauges before one that found the workload still

GAUGES = {
    "procmon_processes": "processes",
    "procmon_private_memory_bytes": "uss",
    "procmon_resident_memory_bytes": "rss",
    "procmon_swapped_memory_bytes": "swap",
    "procmon_open_handles": "fds",
    "procmon_threads": "threads",
}
COUNTERS = {
    "procmon_cpu_seconds_total": "cpu_s",
    "procmon_read_bytes_total": "read_bytes",
    "procmon_write_bytes_total": "write_bytes",
    "procmon_context_switches_total": "switches",
}


def psutil_sums(procs: list[psutil.Process]) -> dict[str, float]:
    """Every served quantity, summed over the processes, as psutil reads them now (switches of every thread)."""
    sums = dict.fromkeys([*GAUGES.values(), *COUNTERS.values()], 0.0)
    for proc in procs:
        with proc.oneshot():
            memory = proc.memory_full_info()
            times = proc.cpu_times()
            io = proc.io_counters()
            sums["processes"] += 1
            sums["uss"] += memory.uss
            sums["rss"] += memory.rss
            sums["swap"] += memory.swap
            sums["fds"] += proc.num_fds()
            sums["threads"] += proc.num_threads()
            sums["cpu_s"] += times.user + times.system
            sums["read_bytes"] += io.read_bytes
            sums["write_bytes"] += io.write_bytes
            for thread in proc.threads():
                switches = psutil.Process(thread.id).num_ctx_switches()
                sums["switches"] += switches.voluntary + switches.involuntary
    return sums


def served(text: str, name: str) -> dict[str, float]:
    """The served value of each compared series for `name`, by psutil's key."""
    keys = {**GAUGES, **COUNTERS}
    values = {}
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        family, _, labels = series.partition("{")
        if family in keys and labels == f'name="{name}"}}':
            values[keys[family]] = float(value)
    return values


@LINUX_ONLY
class ServedValuesTest(MonitorTestCase):
    """An exporter watching three still processes that hold memory, threads and descriptors, then write."""

    def setUp(self) -> None:
        self.name = unique_name("served")
        folder = tempfile.TemporaryDirectory(dir=ROOT)  # on disk: writes to tmpfs count no storage bytes
        self.addCleanup(folder.cleanup)
        workload = self.start_workload(
            self.name,
            *("--children", "2", "--threads", "2", "--hold-mib", "16", "--seconds", "120"),
            *("--write-dir", folder.name, "--write-mib-per-s", "8", "--write-mib", str(WRITE_MIB)),
            *("--write-after", str(WRITE_AFTER_S)),
        )
        root = psutil.Process(workload.pid)
        self.procs = [root, *root.children()]
        self.assertEqual(len(self.procs), INSTANCES)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/metrics"
        logs = Path(folder.name) / "logs"
        exporter = subprocess.Popen(
            [sys.executable, str(MAIN), "--serve", f"127.0.0.1:{port}", "-p", self.name, "-s", "0.25", "-l", str(logs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.addCleanup(_stop, exporter)
        assert exporter.stdout is not None
        self.assertIn("Serving http://", exporter.stdout.readline())
        wait_until(lambda: self._samples() >= 1, 60, "the first sample")

    def _samples(self) -> float:
        for line in http_get(self.url).splitlines():
            if line.startswith("procmon_sample_duration_seconds_count"):
                return float(line.split()[-1])
        return 0.0

    def _bracket(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """psutil's sums, then what a sample taken after them serves, then psutil's sums again."""
        before = psutil_sums(self.procs)
        # Two samples on: the second one started after the look above (the first may have been under way).
        seen = self._samples()
        wait_until(lambda: self._samples() >= seen + 2, 60, "two more samples")
        text = http_get(self.url)
        return before, served(text, self.name), psutil_sums(self.procs)

    def test_gauges_equal_psutils_sums_and_counters_its_increments(self) -> None:
        """Each summed gauge equals psutil's sum while the processes hold still, and each counter grows by what
        psutil's counters grew between two looks, the storage writes made in between included."""
        for _ in range(ATTEMPTS):
            before, shown, after = self._bracket()
            still = {key: before[key] for key in GAUGES.values() if before[key] == after[key]}
            if len(still) == len(GAUGES):
                break
        self.assertEqual(len(still), len(GAUGES), f"the workload's gauges kept moving: {before} then {after}")
        self.assertEqual({key: shown[key] for key in GAUGES.values()}, still)
        # A page or two may be written early (a file's creation); the workload's MiBs come after this look.
        self.assertLess(before["write_bytes"], WRITE_MIB * MIB, "the workload's writes began before the first look")
        first_before, first, first_after = before, shown, after
        # After the writes: every instance has written its MiBs (counted when the pages are dirtied).
        wait_until(
            lambda: psutil_sums(self.procs)["write_bytes"] >= INSTANCES * WRITE_MIB * MIB,
            60,
            "the workload's writes",
        )
        second_before, second, second_after = self._bracket()
        for key in COUNTERS.values():
            grown = second[key] - first[key]
            # Each sample lies between the looks around it, and the counters only grow.
            least, most = second_before[key] - first_after[key], second_after[key] - first_before[key]
            self.assertGreaterEqual(grown, least - 1e-9, key)
            self.assertLessEqual(grown, most + 1e-9, key)
        self.assertGreaterEqual(second["write_bytes"] - first["write_bytes"], INSTANCES * WRITE_MIB * MIB)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
