"""Paced input for the corpus's shell workloads: SQL statements for sqlite3, or data for xz.

    python bench/real_corpus/feed.py sql --window 50 --retain 30 --churn 20 --pattern random | sqlite3 :memory:
    python bench/real_corpus/feed.py data --mib-per-s 2 --seconds 90 | xz -6 -T1 > /dev/null

`sql` lays the shape of workload.py (the same options) over three tables of --chunk-kib blobs: rows
are inserted and deleted to keep each table at its share, so the database grows, churns or stays.
`data` writes text that compresses like a log file at a steady rate.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.real_corpus.workload import Churn, retain_target

TABLES = ("held", "retained", "transient")


def sql(args: argparse.Namespace) -> None:
    """Keep the three tables at the shape's counts, one batch of statements per tick."""
    out = sys.stdout
    size = int(args.chunk_kib * 1024)
    per_unit = 1024 / args.chunk_kib
    for table in TABLES:
        out.write(f"CREATE TABLE {table}(id INTEGER PRIMARY KEY, b BLOB);\n")
    counts = dict.fromkeys(TABLES, 0)

    def resize(table: str, count: int) -> None:
        if count > counts[table]:
            rows = ",".join([f"(randomblob({size}))"] * (count - counts[table]))
            out.write(f"INSERT INTO {table}(b) VALUES {rows};\n")
        elif count < counts[table]:
            newest = f"SELECT id FROM {table} ORDER BY id DESC LIMIT {counts[table] - count}"
            out.write(f"DELETE FROM {table} WHERE id IN ({newest});\n")
        counts[table] = count

    resize("held", round(args.base * per_unit))
    churn = Churn(args)
    started = time.monotonic()
    while (s := time.monotonic() - started) < args.seconds:
        amount, ended = churn.target(s)
        resize("transient", 0 if ended else round(amount * per_unit))
        if not args.retain_at_cycle or ended:
            resize("retained", retain_target(args, s / args.window, per_unit))
        if args.query:
            out.write("SELECT count(*), sum(length(b)) FROM held;\n")
        out.flush()
        time.sleep(args.tick)


def data(args: argparse.Namespace) -> None:
    """Log-like lines at --mib-per-s for --seconds."""
    rng = random.Random(args.seed)
    words = [f"{rng.getrandbits(32):08x}" for _ in range(4096)]
    out = sys.stdout.buffer
    started = time.monotonic()
    sent = 0.0
    while (s := time.monotonic() - started) < args.seconds:
        due = args.mib_per_s * 1024 * 1024 * s - sent
        while due > 0:
            line = (
                f"{s:10.3f} level=info id={rng.choice(words)} " + " ".join(rng.choices(words, k=12)) + "\n"
            ).encode()
            out.write(line)
            sent += len(line)
            due -= len(line)
        out.flush()
        time.sleep(args.tick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    shape = modes.add_parser("sql", help="statements for sqlite3")
    for name, default in (
        ("window", 80.0),
        ("seconds", 0.0),
        ("base", 0.0),
        ("retain", 0.0),
        ("ramp-start", 0.0),
        ("ramp-end", 1.0),
        ("churn", 0.0),
        ("cycle", 10.0),
        ("churn-trend", 0.0),
        ("chunk-kib", 64.0),
        ("tick", 0.1),
    ):
        shape.add_argument(f"--{name}", type=float, default=default)
    shape.add_argument("--pattern", choices=("none", "sawtooth", "waves", "random"), default="none")
    shape.add_argument("--retain-at-cycle", action="store_true")
    shape.add_argument("--query", action="store_true", help="also read the held table at every tick")
    shape.add_argument("--seed", type=int, default=1)
    stream = modes.add_parser("data", help="text for a compressor")
    stream.add_argument("--mib-per-s", type=float, default=1.0)
    stream.add_argument("--seconds", type=float, default=90.0)
    stream.add_argument("--tick", type=float, default=0.1)
    stream.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "sql":
        args.seconds = args.seconds or args.window + 30
        sql(args)
    else:
        data(args)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # the reader was ended first: the run is over
        sys.exit(0)
