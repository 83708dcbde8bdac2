"""How fast the command line answers: --help, --version and a usage error against a bare `import argparse, psutil`.

    python bench/cli_latency.py [--rounds 5]

Each round runs every command once, interleaved, as a fresh interpreter; the medians over the rounds
are compared. Prints one line per command with its median wall time and its ratio to the bare
import, and PASS when the ratio is at most 3.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import recorded  # noqa: E402

TARGET_RATIO = 3.0
COMMANDS = {
    "bare: python -c 'import argparse, psutil'": [sys.executable, "-c", "import argparse, psutil"],
    "main.py --help": [sys.executable, str(ROOT / "main.py"), "--help"],
    "main.py --version": [sys.executable, str(ROOT / "main.py"), "--version"],
    "main.py -p x -d 0 (usage error)": [sys.executable, str(ROOT / "main.py"), "-p", "x", "-d", "0"],
}


def timed(command: list[str]) -> float:
    """Wall seconds of one run of `command`."""
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(timed(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare = next(iter(medians.values()))
    failed = 0
    for name, median in medians.items():
        ratio = median / bare
        verdict = "" if name.startswith("bare") else ("PASS  " if ratio <= TARGET_RATIO else "FAIL  ")
        failed += verdict.startswith("FAIL")
        print(f"{verdict or '      '}{name:<45} median {median * 1000:6.0f} ms, {ratio:.2f}x the bare import")
    return 1 if failed else 0


if __name__ == "__main__":
    with recorded("cli_latency"):
        status = main()
    sys.exit(status)
