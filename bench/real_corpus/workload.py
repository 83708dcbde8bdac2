"""One workload of the real-program corpus on CPython: memory in anonymous mappings, or descriptors.

    python bench/real_corpus/workload.py --window 50 --base 5 --retain 20 --churn 120 --pattern waves --cycle 8

The shape is laid out over the recording window (--window seconds), as in the other runtimes'
workloads: --base is held from the start, --retain is added between --ramp-start and --ramp-end
(fractions of the window; only when a churn cycle ends with --retain-at-cycle), and --churn comes
and goes by --pattern (sawtooth: grows over each --cycle and is dropped; waves: uneven waves with
gaps; random: a new random amount every --cycle), scaled by 1 + --churn-trend x the share of the
window gone. Memory is held in anonymous mmaps written page by page, so what is freed goes back to
the system at once (a malloc'd buffer might stay resident: glibc's adaptive mmap threshold);
descriptors are /dev/null.
"""

from __future__ import annotations

import argparse
import mmap
import os
import random
import time

KIB = 1024
PAGE = 4096


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=80.0, help="seconds the shape is laid out over")
    parser.add_argument("--seconds", type=float, default=0.0, help="run this long (default: window + 30)")
    parser.add_argument("--resource", choices=("memory", "fds"), default="memory")
    parser.add_argument("--base", type=float, default=0.0, help="MiB or descriptors held from the start")
    parser.add_argument("--retain", type=float, default=0.0, help="MiB or descriptors added over the ramp")
    parser.add_argument("--ramp-start", type=float, default=0.0, help="share of the window where retention starts")
    parser.add_argument("--ramp-end", type=float, default=1.0, help="share of the window where retention stops")
    parser.add_argument("--retain-at-cycle", action="store_true", help="retain only when a churn cycle ends")
    parser.add_argument("--churn", type=float, default=0.0, help="MiB or descriptors that come and go")
    parser.add_argument("--pattern", choices=("none", "sawtooth", "waves", "random"), default="none")
    parser.add_argument("--cycle", type=float, default=10.0, help="seconds per churn cycle")
    parser.add_argument("--churn-trend", type=float, default=0.0, help="churn scaled by 1 + this x share of window")
    parser.add_argument("--chunk-kib", type=float, default=64.0, help="size of one memory unit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick", type=float, default=0.05)
    args = parser.parse_args()
    if not args.seconds:
        args.seconds = args.window + 30
    return args


class Pool:
    """Units of one resource held together: grown and shrunk to a count."""

    def __init__(self, resource: str, chunk_bytes: int) -> None:
        self.resource = resource
        self.chunk_bytes = chunk_bytes
        self.units: list[object] = []

    def resize(self, count: int) -> None:
        while len(self.units) < count:
            self.units.append(self._make())
        while len(self.units) > count:
            self._release(self.units.pop())

    def _make(self) -> object:
        if self.resource == "fds":
            return os.open(os.devnull, os.O_RDONLY)
        chunk = mmap.mmap(-1, self.chunk_bytes)
        for offset in range(0, self.chunk_bytes, PAGE):
            chunk[offset] = 1
        return chunk

    def _release(self, unit: object) -> None:
        if isinstance(unit, int):
            os.close(unit)
        elif isinstance(unit, mmap.mmap):
            unit.close()


class Churn:
    """The churn's schedule: the amount wanted at a time, and whether a cycle ended since the last call."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.last_cycle = 0
        self.wave_end = self.next_wave = self.next_random = 0.0
        self.height = self.amount = 0.0

    def target(self, s: float) -> tuple[float, bool]:
        a = self.args
        scale = max(1 + a.churn_trend * s / a.window, 0.0)
        if a.pattern == "sawtooth":
            cycle = int(s // a.cycle)
            ended, self.last_cycle = cycle != self.last_cycle, cycle
            return a.churn * scale * (s % a.cycle) / a.cycle, ended
        if a.pattern == "waves":
            ended = False
            if s >= self.next_wave:
                self.height = a.churn * scale * (0.3 + 0.7 * self.rng.random())
                self.wave_end = s + a.cycle * (0.5 + self.rng.random())
                self.next_wave = self.wave_end + a.cycle * (0.15 + 0.35 * self.rng.random())
            if s >= self.wave_end and self.height > 0:
                self.height, ended = 0.0, True
            return self.height, ended
        if a.pattern == "random":
            if s >= self.next_random:
                self.amount = a.churn * scale * self.rng.random()
                self.next_random = s + a.cycle
            return self.amount, False
        return 0.0, False


def retain_target(args: argparse.Namespace, share: float, per_unit: float) -> int:
    """Units retained once `share` of the window has gone."""
    span = max(args.ramp_end - args.ramp_start, 1e-9)
    done = min(max((share - args.ramp_start) / span, 0.0), 1.0)
    return round(args.retain * per_unit * done)


def main() -> None:
    args = parse_args()
    chunk_bytes = int(args.chunk_kib * KIB)
    per_unit = 1024 / args.chunk_kib if args.resource == "memory" else 1.0
    base, retained, transient = (Pool(args.resource, chunk_bytes) for _ in range(3))
    base.resize(round(args.base * per_unit))
    churn = Churn(args)
    started = time.monotonic()
    while (s := time.monotonic() - started) < args.seconds:
        amount, ended = churn.target(s)
        transient.resize(0 if ended else round(amount * per_unit))
        if not args.retain_at_cycle or ended:
            retained.resize(retain_target(args, s / args.window, per_unit))
        time.sleep(args.tick)


if __name__ == "__main__":
    main()
