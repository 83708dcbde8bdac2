"""A real Prometheus server for the exporter tests: started on a free loopback port, queried through its HTTP API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

from tests import process_tools

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")

# CI installs Debian's prometheus package (.ci/run); elsewhere the tests that need it are skipped.
NEEDS_PROMETHEUS = unittest.skipUnless(
    (PROMETHEUS and PROMTOOL) or os.environ.get("CI"),
    "needs Debian's prometheus package (apt-get install prometheus)",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str, timeout_s: float = 5.0) -> str:
    """The body of a GET request."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return str(response.read().decode("utf-8"))


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a readiness condition over HTTP (a server not answering yet counts as not ready)."""

    def answered() -> bool:
        try:
            return condition()
        except (OSError, urllib.error.URLError, ValueError):
            return False

    process_tools.wait_until(answered, f"timed out after {timeout_s:g} s waiting for {what}", timeout_s)


class PrometheusServer:
    """Prometheus scraping `targets` every second, with its data in a temporary folder; stopped at cleanup."""

    def __init__(self, test: unittest.TestCase, targets: list[str], scrape_interval_s: int = 1) -> None:
        assert PROMETHEUS is not None, "prometheus is not installed (apt-get install prometheus)"
        folder = tempfile.TemporaryDirectory()
        test.addCleanup(folder.cleanup)
        base = Path(folder.name)
        config = base / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {scrape_interval_s}s\n"
            f"  evaluation_interval: {scrape_interval_s}s\n"
            "scrape_configs:\n"
            "  - job_name: procmon\n"
            "    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n",
            encoding="utf-8",
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = (base / "prometheus.log").open("w")
        test.addCleanup(self._log.close)
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        test.addCleanup(self._stop)
        wait_until(lambda: http_get(f"{self.url}/-/ready").strip() != "", 30, "Prometheus to be ready")

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector of a PromQL expression, as Prometheus' API returns it."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
        answer = json.loads(http_get(url))
        if answer.get("status") != "success":
            raise AssertionError(f"query {expression!r} failed: {answer}")
        return list(answer["data"]["result"])

    def values(self, expression: str) -> dict[str, float]:
        """The value of each series of an expression, by its `name` label (or '' when it has none)."""
        return {row["metric"].get("name", ""): float(row["value"][1]) for row in self.query(expression)}

    def _stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
