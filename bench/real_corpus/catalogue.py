"""The workloads of the real-program corpus: what each runs, and what its design says it does.

Every workload is one instance of a family (the same program and shape, other sizes and seeds);
instances alternate between the tune and holdout splits, so every family is in both. A label says,
for one metric, whether the design leaks (`leak`: retained memory or descriptors that grow through
the whole window) or not (`no-leak`: growth that stops within the first third, churn, steady or idle);
checks.py checks it on the recorded trace.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
MEMORY = "memory"
HANDLES = "handles"


@dataclass(frozen=True)
class Build:
    """Where the programs compiled at record time are, and a scratch folder for databases."""

    c_binary: Path
    java_classes: Path
    scratch: Path


@dataclass(frozen=True)
class Label:
    """The design's verdict on one metric, checked on the trace by checks.py, and the shape it has."""

    metric: str
    label: str  # "leak" or "no-leak"
    shape: str  # "leak", "warm-up", "churn" or "steady"


@dataclass(frozen=True)
class Workload:
    """One recording: a family's instance, its command and its labels."""

    family: str
    instance: int
    runtime: str
    kind: str
    labels: tuple[Label, ...]
    command: Callable[[Build, float], list[str]]
    # A reseeded copy recorded apart, after the detector was set: an unseen holdout.
    fresh: bool = False

    @property
    def name(self) -> str:
        """The instance's name, which its trace files start with."""
        return f"{self.family}-{self.instance}"

    @property
    def split(self) -> str:
        """Alternating instances: even ones to tune on, odd ones held out; reseeded copies their own split."""
        if self.fresh:
            return "fresh"
        return "tune" if self.instance % 2 == 0 else "holdout"


Command = Callable[[Build, float], list[str]]


def _shape(args: str, window_s: float, seed: int) -> list[str]:
    return [*args.split(), "--window", f"{window_s:g}", "--seed", str(seed)]


def node(args: str, seed: int, gc: bool = False) -> Command:
    """A workload.js run; with `gc` the heap is collected whenever churn is dropped."""
    flags = ["--expose-gc"] if gc else []
    return lambda build, w: [
        "node",
        *flags,
        str(HERE / "workload.js"),
        *(["--gc"] if gc else []),
        *_shape(args, w, seed),
    ]


def python(args: str, seed: int) -> Command:
    """A workload.py run on this interpreter."""
    return lambda build, w: [sys.executable, str(HERE / "workload.py"), *_shape(args, w, seed)]


def c(args: str, seed: int) -> Command:
    """A run of workload.c, compiled at record time."""
    return lambda build, w: [str(build.c_binary), *_shape(args, w, seed)]


def perl(args: str, seed: int) -> Command:
    """A workload.pl run."""
    return lambda build, w: ["perl", str(HERE / "workload.pl"), *_shape(args, w, seed)]


def java(args: str, seed: int, jvm: str = "-XX:+UseSerialGC -Xms16m -Xmn8m -Xmx1g") -> Command:
    """A Workload.java run, compiled at record time; the default heap grows only as the live set does."""
    return lambda build, w: ["java", "-cp", str(build.java_classes), *jvm.split(), "Workload", *_shape(args, w, seed)]


def sqlite(args: str, seed: int, database: str = ":memory:") -> Command:
    """feed.py's statements piped into sqlite3 (an in-memory database, or a file in the scratch folder)."""

    def command(build: Build, w: float) -> list[str]:
        target = database if database == ":memory:" else str(build.scratch / f"{database}-{seed}.db")
        feed = " ".join([sys.executable, str(HERE / "feed.py"), "sql", *_shape(args, w, seed)])
        return ["sh", "-c", f"rm -f {target}; {feed} | sqlite3 {target}"]

    return command


def xz(mib_per_s: float, preset: str, seed: int) -> Command:
    """feed.py's log-like text at a steady rate, compressed by xz on one thread."""
    return lambda build, w: [
        "sh",
        "-c",
        f"{sys.executable} {HERE / 'feed.py'} data --mib-per-s {mib_per_s} --seconds {w + 30:g} --seed {seed}"
        f" | xz {preset} -T1 > /dev/null",
    ]


def stress_ng(args: str) -> Command:
    """Debian's stress-ng, running past the window."""
    return lambda build, w: ["stress-ng", *args.split(), "--timeout", f"{w + 30:g}s", "--quiet"]


def stress_ng_accumulating(mib: int, every_s: float) -> Command:
    """A shell starting one more stress-ng --vm worker (holding `mib`) every `every_s`, none ending: leaked workers."""

    def command(build: Build, w: float) -> list[str]:
        count = int(w / every_s) + 6
        one = f"stress-ng --vm 1 --vm-bytes {mib}M --vm-hang 0 --timeout {w + 60:g}s --quiet"
        return ["sh", "-c", f"for i in $(seq {count}); do {one} & sleep {every_s:g}; done; wait"]

    return command


def _labels(memory: tuple[str, str] | None, handles: tuple[str, str] | None) -> tuple[Label, ...]:
    labels = []
    if memory:
        labels.append(Label(MEMORY, *memory))
    if handles:
        labels.append(Label(HANDLES, *handles))
    return tuple(labels)


LEAK = ("leak", "leak")
WARM_UP = ("no-leak", "warm-up")
CHURN = ("no-leak", "churn")
STEADY = ("no-leak", "steady")


def family(
    name: str, runtime: str, memory: tuple[str, str] | None, handles: tuple[str, str] | None, kind: str
) -> Callable[..., list[Workload]]:
    """A family's labels; called with its instances' commands, the instances, numbered in order."""
    labels = _labels(memory, handles)

    def instances(*commands: Command) -> list[Workload]:
        return [Workload(name, i, runtime, kind, labels, command) for i, command in enumerate(commands)]

    return instances


SAW = "--pattern sawtooth"
RANDOM = "--pattern random"
WAVES = "--pattern waves"
FDS = "--resource fds"

WORKLOADS: list[Workload] = [
    # Memory leaks.
    *family("node-gc-leak", "node", LEAK, STEADY, "V8 sawtooth of a few cycles over a rising floor")(
        node(f"--base 10 --retain 30 --churn 60 {SAW} --cycle 12", 1),
        node(f"--base 10 --retain 25 --churn 50 {SAW} --cycle 10", 2),
        node(f"--base 5 --retain 40 --churn 80 {SAW} --cycle 16", 3),
        node(f"--base 5 --retain 15 --churn 40 {SAW} --cycle 8", 4),
    ),
    *family("node-gc-call-leak", "node", LEAK, STEADY, "V8 sawtooth, gc() at cycle ends, rising floor")(
        node(f"--retain 16 --churn 60 {SAW} --cycle 12", 1, gc=True),
        node(f"--retain 10 --churn 40 {SAW} --cycle 16", 2, gc=True),
    ),
    *family("python-wave-floor-leak", "python", LEAK, STEADY, "a little kept after each wave of heavy uneven churn")(
        python(f"--base 4 --retain 20 --retain-at-cycle --churn 160 {WAVES} --cycle 4 --churn-trend -0.5", 1),
        python(f"--base 6 --retain 14 --retain-at-cycle --churn 120 {WAVES} --cycle 3 --churn-trend -0.4", 2),
    ),
    *family("c-wave-floor-leak", "c", LEAK, STEADY, "a little kept after each wave of uneven churn (mmap)")(
        c(f"--alloc mmap --base 4 --retain 8 --retain-at-cycle --churn 100 {WAVES} --cycle 3 --churn-trend -0.4", 1),
        c(f"--alloc mmap --base 3 --retain 6 --retain-at-cycle --churn 80 {WAVES} --cycle 4 --churn-trend -0.3", 2),
    ),
    *family("java-leak", "java", LEAK, STEADY, "a growing live set under young-generation churn (serial GC)")(
        java(f"--retain 40 --churn 20 {RANDOM} --cycle 0.5", 1),
        java(f"--retain 25 --churn 30 {SAW} --cycle 10", 2),
    ),
    *family("c-leak-pause", "c", LEAK, STEADY, "a malloc leak that pauses over the last sixth")(
        c(f"--retain 12 --ramp-end 0.85 --churn 4 {RANDOM} --cycle 0.3", 1),
        c(f"--retain 8 --ramp-end 0.9 --churn 2 {RANDOM} --cycle 0.5", 2),
    ),
    *family("node-leak-pause", "node", LEAK, STEADY, "a V8 heap leak that pauses near the end")(
        node(f"--retain 20 --ramp-end 0.85 --churn 30 {SAW} --cycle 8", 1),
        node(f"--retain 15 --ramp-end 0.8 --churn 10 {RANDOM} --cycle 0.5", 2),
    ),
    *family("perl-leak", "perl", LEAK, STEADY, "strings retained under churn")(
        perl(f"--retain 20 --churn 10 {RANDOM} --cycle 0.5", 1),
        perl(f"--retain 10 --churn 20 {SAW} --cycle 15", 2),
    ),
    *family("sqlite-leak", "sqlite3", LEAK, None, "an in-memory table that keeps growing, another that churns")(
        sqlite(f"--retain 30 --churn 10 {RANDOM} --cycle 1", 1),
        sqlite(f"--retain 20 --churn 20 {SAW} --cycle 15", 2),
    ),
    *family("stress-ng-leaked-workers", "stress-ng", LEAK, LEAK, "a shell starting vm workers it never ends")(
        stress_ng_accumulating(4, 5),
        stress_ng_accumulating(6, 7),
    ),
    # Memory without a leak.
    *family("node-churn", "node", CHURN, STEADY, "V8 churn over a flat floor")(
        node(f"--base 10 --churn 60 {SAW} --cycle 15", 1),
        node(f"--base 5 --churn 80 {SAW} --cycle 10", 2),
        node(f"--churn 40 {RANDOM} --cycle 1", 3),
        node(f"--churn 50 {WAVES} --cycle 6", 4),
    ),
    *family("node-idle", "node", STEADY, STEADY, "an idle event loop, holding a fixed heap or none")(
        node("--tick 1", 1),
        node("--base 20 --tick 1", 2),
    ),
    *family("python-warm-up", "python", WARM_UP, STEADY, "buffers filled in the first fifth, then kept")(
        python(f"--retain 40 --ramp-end 0.2 --churn 4 {RANDOM} --cycle 0.5", 1),
        python(f"--retain 25 --ramp-end 0.25 --churn 10 {SAW} --cycle 5", 2),
    ),
    *family("c-malloc-churn", "c", CHURN, STEADY, "mid-sized malloc churn, freed oldest or newest first")(
        c(f"--chunk-kib 256 --churn 40 {RANDOM} --cycle 1 --churn-trend -0.6", 1),
        c(f"--chunk-kib 512 --churn 30 {RANDOM} --cycle 2 --churn-trend -0.6", 2),
        c(f"--chunk-kib 256 --churn 40 {SAW} --cycle 8 --release newest", 3),
        c(f"--chunk-kib 512 --churn 30 {RANDOM} --cycle 1 --release newest", 4),
    ),
    *family("tiny-drift", "c", STEADY, STEADY, "a steady process that ends a few pages larger")(
        c("--base 7 --retain 0.0117 --chunk-kib 4", 1),
        c("--base 12 --retain 0.0195 --chunk-kib 4", 2),
    ),
    *family("tiny-drift-python", "python", STEADY, STEADY, "a steady interpreter that ends a few pages larger")(
        python("--base 4 --retain 0.0234 --chunk-kib 4", 1),
        python("--base 1 --retain 0.0117 --chunk-kib 4", 2),
    ),
    *family("java-churn", "java", CHURN, STEADY, "request churn on a fixed, pre-touched G1 heap")(
        java(f"--churn 30 {RANDOM} --cycle 1", 1, jvm="-Xms128m -Xmx128m -XX:+AlwaysPreTouch"),
        java(f"--base 20 --churn 10 {RANDOM} --cycle 0.5", 2, jvm="-Xms96m -Xmx96m -XX:+AlwaysPreTouch"),
    ),
    *family("xz-warm-up", "xz", WARM_UP, STEADY, "xz filling its dictionary, then steady")(
        xz(2, "-6", 1),
        xz(1, "-5", 2),
    ),
    *family("stress-ng-vm-churn", "stress-ng", CHURN, STEADY, "vm workers that map, fill, hold and unmap")(
        stress_ng("--vm 1 --vm-bytes 40M --vm-hang 2"),
        stress_ng("--vm 2 --vm-bytes 24M --vm-hang 3"),
    ),
    *family("stress-ng-vm-steady", "stress-ng", STEADY, STEADY, "vm workers that fill their memory once and wait")(
        stress_ng("--vm 1 --vm-bytes 32M --vm-hang 0"),
        stress_ng("--vm 2 --vm-bytes 16M --vm-hang 0"),
    ),
    *family("sqlite-file-churn", "sqlite3", CHURN, None, "a database file under insert/delete churn, small cache")(
        sqlite(f"--base 10 --churn 10 {RANDOM} --cycle 1 --query", 1, database="churn"),
        sqlite(f"--base 20 --churn 20 {SAW} --cycle 10 --query", 2, database="churn"),
    ),
    *family("perl-steady", "perl", STEADY, STEADY, "an idle or steadily churning interpreter")(
        perl("", 1),
        perl(f"--base 30 --churn 10 {RANDOM} --cycle 0.5", 2),
    ),
    # Descriptor leaks.
    *family("python-fd-leak", "python", STEADY, LEAK, "descriptors leaked under open/close churn")(
        python(f"{FDS} --base 25 --retain 94 --churn 60 {RANDOM} --cycle 0.5", 1),
        python(f"{FDS} --base 10 --retain 60 --churn 30 {RANDOM} --cycle 0.3", 2),
    ),
    *family("node-fd-leak", "node", STEADY, LEAK, "descriptors leaked under open/close churn")(
        node(f"{FDS} --base 13 --retain 94 --churn 60 {RANDOM} --cycle 0.5", 1),
        node(f"{FDS} --retain 40 --churn 20 {SAW} --cycle 10", 2),
    ),
    # Perl's and Java's leaked handles hold a little memory each: their memory is not labelled.
    *family("perl-fd-leak", "perl", None, LEAK, "descriptors leaked under open/close churn")(
        perl(f"{FDS} --base 27 --retain 94 --churn 60 {RANDOM} --cycle 0.4", 1),
        perl(f"{FDS} --retain 30 --churn 10 {RANDOM} --cycle 1", 2),
    ),
    *family("java-fd-leak", "java", None, LEAK, "streams leaked under open/close churn")(
        java(f"{FDS} --retain 80 --churn 40 {RANDOM} --cycle 0.5", 1),
        java(f"{FDS} --retain 50 --churn 60 {WAVES} --cycle 5", 2),
    ),
    *family("c-fd-leak-pause", "c", STEADY, LEAK, "a descriptor leak that pauses near the end, under churn")(
        c(f"{FDS} --base 27 --retain 60 --ramp-end 0.85 --churn 30 {RANDOM} --cycle 0.5", 1),
        c(f"{FDS} --retain 20 --ramp-end 0.9 --churn 6 {RANDOM} --cycle 0.3", 2),
    ),
    # Descriptors without a leak.
    *family("python-fd-churn", "python", STEADY, CHURN, "open/close churn")(
        python(f"{FDS} --base 25 --churn 60 {RANDOM} --cycle 0.5", 1),
        python(f"{FDS} --churn 40 {WAVES} --cycle 4", 2),
    ),
    *family("node-fd-churn", "node", STEADY, CHURN, "open/close churn")(
        node(f"{FDS} --base 13 --churn 60 {RANDOM} --cycle 0.5", 1),
        node(f"{FDS} --churn 30 {SAW} --cycle 10", 2),
    ),
    *family("java-fd-warm-up", "java", STEADY, WARM_UP, "a pool of streams opened in the first fifth, then churn")(
        java(f"{FDS} --retain 40 --ramp-end 0.15 --churn 10 {RANDOM} --cycle 0.5", 1),
        java(f"{FDS} --retain 25 --ramp-end 0.25 --churn 4 {RANDOM} --cycle 0.3", 2),
    ),
]


# Fresh instances: one per family (its instances taken in turn), seeds shifted by this much, numbered
# from FRESH_FIRST + the instance they copy. stress-ng's vm workers draw their own randomness.
FRESH_SEED_SHIFT = 100
FRESH_FIRST = 10


def _reseeded(command: Command, shift: int) -> Command:
    """The same command with every `--seed N` (an argument, or inside a shell line) raised by `shift`."""

    def run(build: Build, w: float) -> list[str]:
        words = command(build, w)
        out = []
        for i, word in enumerate(words):
            if i and words[i - 1] == "--seed":
                word = str(int(word) + shift)
            out.append(re.sub(r"--seed (\d+)", lambda m: f"--seed {int(m.group(1)) + shift}", word))
        return out

    return run


def fresh_workloads() -> list[Workload]:
    """One reseeded instance of every family, the family's instances taken in turn."""
    families: dict[str, list[Workload]] = {}
    for workload in WORKLOADS:
        families.setdefault(workload.family, []).append(workload)
    chosen = [members[i % len(members)] for i, members in enumerate(families.values())]
    return [
        replace(
            w,
            instance=FRESH_FIRST + w.instance,
            command=_reseeded(w.command, FRESH_SEED_SHIFT),
            fresh=True,
        )
        for w in chosen
    ]


FRESH: list[Workload] = fresh_workloads()
