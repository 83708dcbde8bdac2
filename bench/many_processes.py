"""Start N idle processes that all carry one name, cheaply: copies of /bin/sleep run through a symlink.

    python bench/many_processes.py --name fleet-demo -n 1000    # runs until Ctrl-C or SIGTERM

The kernel names a process after the file it was started from, so `sleep` run through a symlink called
NAME shows up as NAME in `ps`, `pgrep` and psutil. Each holds about 110 KiB of private memory and no
CPU; 1,000 start in about 2 s. Linux only. `fleet(name, count)` does the same for a bench.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

# Longer than any bench; the processes are killed at the end anyway.
LIFETIME_S = 86400
# The kernel keeps 15 bytes of a name; a longer one would be cut.
MAX_NAME_BYTES = 15


@contextlib.contextmanager
def fleet(name: str, count: int) -> Iterator[list[int]]:
    """Run `count` sleeping processes named `name` for the duration of the block; yield their PIDs."""
    if not 0 < len(name.encode()) <= MAX_NAME_BYTES or "/" in name:
        raise ValueError(f"a process name takes 1 to {MAX_NAME_BYTES} bytes and no '/', not {name!r}")
    sleep = shutil.which("sleep")
    if sleep is None:
        raise RuntimeError("no sleep binary on PATH")
    with tempfile.TemporaryDirectory(prefix="many-") as folder:
        link = Path(folder) / name
        link.symlink_to(sleep)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for _ in range(count):
                procs.append(
                    subprocess.Popen(
                        [str(link), str(LIFETIME_S)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            yield [proc.pid for proc in procs]
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
            for proc in procs:
                proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help=f"the processes' name, at most {MAX_NAME_BYTES} bytes")
    parser.add_argument("-n", "--count", type=int, default=200, help="how many to start (default 200)")
    args = parser.parse_args()
    # SIGTERM ends the wait below like Ctrl-C does, so the processes are always killed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with fleet(args.name, args.count) as pids:
        print(f"{len(pids)} processes named {args.name} running; stop with Ctrl-C or SIGTERM", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
