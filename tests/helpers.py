"""Shared test helpers: start real workload processes, run the monitor, read what it wrote."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import unittest
import uuid
from pathlib import Path
from typing import Callable

from monitor.cli import main
from monitor.stream import ProcessEvent, Sample, Sink

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "tests" / "workloads" / "workload.py"
MAIN = ROOT / "main.py"

LINUX_ONLY = unittest.skipUnless(sys.platform.startswith("linux"), "workloads rename themselves with prctl (Linux)")


def unique_name(prefix: str) -> str:
    """A process name no other process on the machine has (at most 15 bytes, as Linux keeps)."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"[:15]


class MonitorTestCase(unittest.TestCase):
    """A test case that starts workloads and monitor runs and always cleans them up."""

    def make_dirs(self) -> tuple[Path, Path, Path]:
        """A fresh temporary folder with reports/ and logs/ paths inside (not created).

        Also sets self.out_args to the matching ["-r", reports, "-l", logs, "--no-plot"]: drawing a chart
        takes a second, so only the tests about charts (and file placement) draw one.
        """
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        base = Path(tmp.name)
        self.out_args = ["-r", str(base / "reports"), "-l", str(base / "logs"), "--no-plot"]
        return base, base / "reports", base / "logs"

    def start_workload(self, name: str, *args: str) -> subprocess.Popen[str]:
        """Start tests/workloads/workload.py as `name`, wait until it runs, reap it (and its children) at cleanup."""
        return self.start_script(WORKLOAD, "--name", name, *args)

    def start_script(self, script: Path, *args: str) -> subprocess.Popen[str]:
        """Start a workload script with --announce in a session of its own, wait for 'ready', reap it at cleanup."""
        proc = subprocess.Popen(
            [sys.executable, str(script), "--announce", *args],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.addCleanup(_reap_group, proc)
        assert proc.stdout is not None
        self.assertEqual(proc.stdout.readline().strip(), "ready", f"{script.name} did not start")
        return proc

    def run_monitor(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `python main.py ARGS` in a subprocess, as a user would."""
        return subprocess.run(
            [sys.executable, str(MAIN), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def start_monitor(self, *args: str) -> subprocess.Popen[str]:
        """Start `python main.py ARGS` without waiting; killed at cleanup if still running."""
        proc = subprocess.Popen(
            [sys.executable, str(MAIN), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.addCleanup(_reap, proc)
        return proc

    def wait_for_rows(self, monitor: subprocess.Popen[str], rows: int = 1) -> list[str]:
        """Read stdout until the table header and `rows` rows are out: the signal handlers are in place by then."""
        assert monitor.stdout is not None
        lines: list[str] = []
        header_at = None
        while header_at is None or len(lines) - header_at - 1 < rows:
            line = monitor.stdout.readline()
            if not line:
                self.fail(f"the monitor ended before {rows} rows: {lines}")
            lines.append(line.rstrip("\n"))
            if header_at is None and line.startswith("time "):
                header_at = len(lines) - 1
        return lines

    def rest_of_output(self, monitor: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
        """What is left on stdout and stderr once the monitor ends (after wait_for_rows: communicate() would skip
        what the line reader already buffered)."""
        assert monitor.stdout is not None and monitor.stderr is not None
        out = monitor.stdout.read()
        err = monitor.stderr.read()
        monitor.wait(timeout)
        return out, err

    def run_main(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Like run_monitor, but through monitor.cli.main in this process: no interpreter start-up to pay."""
        status, out, err = self.run_in_process(*args)
        return subprocess.CompletedProcess(list(args), status, out, err)

    def run_in_process(self, *args: str) -> tuple[int, str, str]:
        """Call monitor.cli.main in this process; returns (status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        status = main(list(args), stdout=out, stderr=err)
        return status, out.getvalue(), err.getvalue()

    def assertOneLineError(self, stderr: str) -> None:  # noqa: N802 - unittest naming
        """stderr holds exactly one line and no traceback."""
        lines = stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr, got: {stderr!r}")
        self.assertNotIn("Traceback", stderr)


def smaps_private_bytes(pid: int) -> int:
    """Private memory straight from /proc/PID/smaps_rollup (Private_Clean + Private_Dirty), without psutil."""
    private = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            private += int(line.split()[1]) * 1024
    return private


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def only_file(folder: Path, pattern: str) -> Path:
    """The single file in `folder` matching `pattern`."""
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise AssertionError(f"expected one {pattern} in {folder}, found {found}")
    return found[0]


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def _reap_group(proc: subprocess.Popen[str]) -> None:
    # The workload runs in its own session, so this also ends any children it forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


class Collector(Sink):
    """A sink that keeps what it is given; `on_add` runs after each sample."""

    def __init__(self, on_add: Callable[[Sample], None] = lambda sample: None) -> None:
        self.samples: list[Sample] = []
        self.events: list[ProcessEvent] = []
        self._on_add = on_add

    def add(self, sample: Sample) -> None:
        """Keep the sample."""
        self.samples.append(sample)
        self._on_add(sample)

    def note(self, event: ProcessEvent) -> None:
        """Keep the event."""
        self.events.append(event)
